/* threadchurn - many short-lived threads that allocate.
 *
 *   threadchurn [-t CONCURRENT] [-n THREADS] [-a ALLOCS] [-s SEED]
 *
 * THREADS threads in total (default 2000), at most CONCURRENT (default 1)
 * alive at once; thread k is joined before thread k + CONCURRENT starts.
 * Each thread allocates ALLOCS objects (default 2000) of random sizes
 * 16..1024 and stamps them, frees nine in ten of them (checked) before it
 * exits, and leaves the tenth on a global list.  Every thread starts by
 * taking up to ALLOCS/10 objects left by threads that have already exited
 * and freeing them: memory allocated by a dead thread's cache, freed by
 * another thread.
 */
#include <pthread.h>

#include "common.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static void *leftovers; /* list linked through word 0 */
static long nleft;
static long allocs;
static uint64_t seed;

static void *run(void *arg) {
  uint64_t k = (uint64_t)(uintptr_t)arg;
  /* Adopt the leftovers of dead threads. */
  long take = allocs / 10;
  pthread_mutex_lock(&lock);
  void *mine = leftovers;
  void *last = NULL;
  long n = 0;
  for (void *b = leftovers; b && n < take; n++) {
    last = b;
    memcpy(&b, b, sizeof b);
  }
  if (last) {
    memcpy(&leftovers, last, sizeof leftovers);
    void *nil = NULL;
    memcpy(last, &nil, sizeof nil);
  } else {
    mine = NULL;
  }
  nleft -= n;
  pthread_mutex_unlock(&lock);
  while (mine) {
    void *next;
    memcpy(&next, mine, sizeof next);
    stamp_check_w1(mine, 16, 1024, "threadchurn leftover");
    free(mine);
    mine = next;
  }

  rng_t r;
  rng_seed(&r, seed * 65537 + k);
  void **ptr = xmalloc((size_t)allocs * sizeof *ptr);
  uint32_t *size = xmalloc((size_t)allocs * sizeof *size);
  for (long i = 0; i < allocs; i++) {
    size[i] = (uint32_t)rng_range(&r, 16, 1024);
    ptr[i] = xmalloc(size[i]);
    stamp(ptr[i], size[i], k << 20 | (uint64_t)i);
  }
  void *keep = NULL, *keep_last = NULL;
  long nkeep = 0;
  for (long i = 0; i < allocs; i++) {
    stamp_check(ptr[i], size[i], k << 20 | (uint64_t)i, "threadchurn");
    if (i % 10 == 9) {
      memcpy(ptr[i], &keep, sizeof keep);
      if (!keep) keep_last = ptr[i];
      keep = ptr[i];
      nkeep++;
    } else {
      free(ptr[i]);
    }
  }
  free(ptr);
  free(size);
  if (keep) {
    pthread_mutex_lock(&lock);
    memcpy(keep_last, &leftovers, sizeof leftovers);
    leftovers = keep;
    nleft += nkeep;
    pthread_mutex_unlock(&lock);
  }
  return NULL;
}

int main(int argc, char **argv) {
  bench_name = "threadchurn";
  opts_t o = {.threads = 1, .iters = 2000, .seed = 1};
  parse_opts(argc, argv, &o, "a", "[-t CONCURRENT] [-n THREADS] [-a ALLOCS] [-s SEED]");
  long conc = o.threads, total = o.iters;
  allocs = opt_x(&o, 'a', 2000);
  seed = (uint64_t)o.seed;
  if (allocs < 10 || allocs >= (1 << 20)) die("bad parameters");
  pthread_t *tid = xmalloc((size_t)conc * sizeof *tid);
  for (long k = 0; k < total; k++) {
    if (k >= conc) pthread_join(tid[k % conc], NULL);
    if (pthread_create(&tid[k % conc], NULL, run, (void *)(uintptr_t)(k + 1)))
      die("pthread_create failed");
  }
  for (long k = total > conc ? total - conc : 0; k < total; k++) pthread_join(tid[k % conc], NULL);
  long n = 0;
  while (leftovers) {
    void *next;
    memcpy(&next, leftovers, sizeof next);
    stamp_check_w1(leftovers, 16, 1024, "threadchurn final");
    free(leftovers);
    leftovers = next;
    n++;
  }
  if (n != nleft) corrupt("%ld leftovers found, %ld expected", n, nleft);
  free(tid);
  report_final_rss();
  return 0;
}
