/* larson - server simulation in the style of Larson & Krishnan's benchmark.
 *
 *   larson [-t THREADS] [-n OPS] [-w SLOTS] [-a MIN] [-b MAX] [-h HANDOFF] [-s SEED]
 *
 * Each thread owns SLOTS blocks (default 1000) of random sizes MIN..MAX
 * (default 16..1024).  OPS operations in total (default 8M, split evenly
 * between the threads): pick a random slot, check its block, replace it with
 * a new one.  One replaced block in HANDOFF (default 8) is not freed by its
 * owner but pushed onto the inbox of another (random) thread, which checks
 * and frees it the next time it drains its inbox (every 64 operations): the
 * pattern of a server whose requests are answered by other workers.  An
 * inbox holds at most 512 blocks (a descheduled receiver must not turn the
 * benchmark into a measure of the scheduler); past that the owner frees.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "common.h"

typedef struct {
  _Alignas(64) _Atomic(void *) inbox; /* Treiber stack, drained whole */
  _Atomic long pending;                /* blocks in the inbox (approximate) */
  _Atomic int done;                    /* owner finished: hand nothing more */
  long ops;
  unsigned id;
} worker_t;

#define INBOX_MAX 512

static worker_t *workers;
static unsigned nthreads;
static size_t nslots, lo, hi, handoff;
static uint64_t seed;
static pthread_barrier_t start;

static void push(worker_t *w, void *b) {
  atomic_fetch_add_explicit(&w->pending, 1, memory_order_relaxed);
  void *head = atomic_load_explicit(&w->inbox, memory_order_relaxed);
  do memcpy(b, &head, sizeof head);
  while (!atomic_compare_exchange_weak_explicit(&w->inbox, &head, b, memory_order_release,
                                                memory_order_relaxed));
}

static size_t drain(worker_t *w) {
  void *b = atomic_exchange_explicit(&w->inbox, NULL, memory_order_acquire);
  size_t n = 0;
  while (b) {
    void *next;
    memcpy(&next, b, sizeof next);
    stamp_check_w1(b, lo, hi, "larson inbox");
    free(b);
    b = next;
    n++;
  }
  if (n) atomic_fetch_sub_explicit(&w->pending, (long)n, memory_order_relaxed);
  return n;
}

static void *run(void *arg) {
  worker_t *w = arg;
  rng_t r;
  rng_seed(&r, seed * 1000003 + w->id);
  void **ptr = xmalloc(nslots * sizeof *ptr);
  uint32_t *size = xmalloc(nslots * sizeof *size);
  uint64_t *id = xmalloc(nslots * sizeof *id);
  uint64_t next_id = (uint64_t)w->id << 32;
  for (size_t i = 0; i < nslots; i++) {
    size[i] = (uint32_t)rng_range(&r, lo, hi);
    id[i] = next_id++;
    ptr[i] = xmalloc(size[i]);
    stamp(ptr[i], size[i], id[i]);
  }
  pthread_barrier_wait(&start);
  for (long op = 0; op < w->ops; op++) {
    uint64_t x = rng_next(&r);
    size_t i = (size_t)(((unsigned __int128)x * nslots) >> 64);
    stamp_check(ptr[i], size[i], id[i], "larson slot");
    if (nthreads > 1 && (x >> 8) % handoff == 0) {
      /* A receiver that is not scheduled (or has finished) must not let
       * its inbox grow without bound: then the owner frees the block. */
      worker_t *to = &workers[(w->id + 1 + (unsigned)((x >> 16) % (nthreads - 1))) % nthreads];
      if (atomic_load_explicit(&to->pending, memory_order_relaxed) < INBOX_MAX &&
          !atomic_load_explicit(&to->done, memory_order_relaxed))
        push(to, ptr[i]);
      else
        free(ptr[i]);
    } else {
      free(ptr[i]);
    }
    size_t s = lo + (size_t)((x & 0xffffffff) % (hi - lo + 1));
    size[i] = (uint32_t)s;
    id[i] = next_id++;
    ptr[i] = xmalloc(s);
    stamp(ptr[i], s, id[i]);
    if ((op & 63) == 63) drain(w);
  }
  atomic_store(&w->done, 1);
  drain(w);
  for (size_t i = 0; i < nslots; i++) {
    stamp_check(ptr[i], size[i], id[i], "larson final");
    free(ptr[i]);
  }
  free(ptr);
  free(size);
  free(id);
  return NULL;
}

int main(int argc, char **argv) {
  bench_name = "larson";
  opts_t o = {.threads = 1, .iters = 8000000, .seed = 1};
  parse_opts(argc, argv, &o, "wabh",
             "[-t THREADS] [-n OPS] [-w SLOTS] [-a MIN] [-b MAX] [-h HANDOFF] [-s SEED]");
  nthreads = (unsigned)o.threads;
  nslots = (size_t)opt_x(&o, 'w', 1000);
  lo = (size_t)opt_x(&o, 'a', 16);
  hi = (size_t)opt_x(&o, 'b', 1024);
  handoff = (size_t)opt_x(&o, 'h', 8);
  seed = (uint64_t)o.seed;
  if (nslots < 1 || lo < 16 || hi < lo || hi >= (1u << 24) || handoff < 1) die("bad parameters");

  workers = aligned_alloc(64, nthreads * sizeof *workers);
  if (!workers) die("out of memory");
  pthread_t *tid = xmalloc(nthreads * sizeof *tid);
  pthread_barrier_init(&start, NULL, nthreads);
  for (unsigned t = 0; t < nthreads; t++) {
    atomic_init(&workers[t].inbox, NULL);
    atomic_init(&workers[t].pending, 0);
    atomic_init(&workers[t].done, 0);
    workers[t].id = t;
    workers[t].ops = o.iters / (long)nthreads;
  }
  for (unsigned t = 0; t < nthreads; t++)
    if (pthread_create(&tid[t], NULL, run, &workers[t])) die("pthread_create failed");
  for (unsigned t = 0; t < nthreads; t++) pthread_join(tid[t], NULL);
  /* Blocks still in inboxes when their owners finished. */
  for (unsigned t = 0; t < nthreads; t++) drain(&workers[t]);
  pthread_barrier_destroy(&start);
  free(tid);
  free(workers);
  report_final_rss();
  return 0;
}
