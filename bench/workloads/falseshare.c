/* falseshare - allocator-induced false sharing (cache-scratch shape).
 *
 *   falseshare [-t THREADS] [-n ROUNDS] [-o OBJSIZE] [-w WRITES] [-s SEED]
 *
 * The main thread allocates one small object (OBJSIZE bytes, default 8) per
 * thread back to back (an allocator typically puts them on one cache line)
 * and hands object i to thread i.  Each thread then runs ROUNDS/THREADS rounds
 * (default 40000 rounds in total): WRITES (default 1000) passes of byte-wise
 * increments over its object, a check of the result, a free, and a malloc of
 * a new object of the same size for the next round.  The first object was
 * written by a thread that did not allocate it; if the allocator hands the
 * freed object (or its neighbours) back to the same thread, every later
 * round keeps sharing a cache line with the other threads (passive false
 * sharing); if it hands threads neighbouring objects from one pool, active
 * false sharing.  An allocator that keeps threads' objects on separate lines
 * runs this at the speed of the cache.
 */
#include <pthread.h>

#include "common.h"

static long rounds_per_thread, writes;
static size_t objsize;
static pthread_barrier_t start;

typedef struct {
  unsigned id;
  unsigned char *first;
} arg_t;

static void *run(void *vp) {
  arg_t *a = vp;
  volatile unsigned char *p = a->first;
  pthread_barrier_wait(&start);
  for (long r = 0; r < rounds_per_thread; r++) {
    for (size_t j = 0; j < objsize; j++) p[j] = (unsigned char)(a->id + j);
    for (long w = 0; w < writes; w++)
      for (size_t j = 0; j < objsize; j++) p[j]++;
    for (size_t j = 0; j < objsize; j++)
      if (p[j] != (unsigned char)(a->id + j + (size_t)writes))
        corrupt("thread %u round %ld: object %p byte %zu is %u, expected %u", a->id, r, (void *)p, j,
                p[j], (unsigned char)(a->id + j + (size_t)writes));
    free((void *)p);
    p = xmalloc(objsize);
  }
  free((void *)p);
  return NULL;
}

int main(int argc, char **argv) {
  bench_name = "falseshare";
  opts_t o = {.threads = 2, .iters = 40000, .seed = 1};
  parse_opts(argc, argv, &o, "ow", "[-t THREADS] [-n ROUNDS] [-o OBJSIZE] [-w WRITES] [-s SEED]");
  unsigned n = (unsigned)o.threads;
  objsize = (size_t)opt_x(&o, 'o', 8);
  writes = opt_x(&o, 'w', 1000);
  rounds_per_thread = o.iters / (long)n;
  if (objsize < 1) die("bad parameters");

  arg_t *args = xmalloc(n * sizeof *args);
  pthread_t *tid = xmalloc(n * sizeof *tid);
  for (unsigned i = 0; i < n; i++) {
    args[i].id = i;
    args[i].first = xmalloc(objsize);
  }
  pthread_barrier_init(&start, NULL, n);
  for (unsigned i = 0; i < n; i++)
    if (pthread_create(&tid[i], NULL, run, &args[i])) die("pthread_create failed");
  for (unsigned i = 0; i < n; i++) pthread_join(tid[i], NULL);
  pthread_barrier_destroy(&start);
  free(args);
  free(tid);
  report_final_rss();
  return 0;
}
