/* Stress (4): thread churn.
 *
 * 20,000 short-lived threads, run in batches, each allocate and free a
 * little; one in four leaves a block behind that the main thread frees while
 * the next batch is running (a remote free into the cache of a thread that
 * has exited). Thread caches must be released at thread exit, so:
 *   - goalloc_get_stats().threads is back to its starting value (+1 slack)
 *     after every batch is joined,
 *   - heap_inuse, metadata_bytes and RSS measured after the first tenth of
 *     the threads do not grow with the number of threads that follow,
 *   - alloc_objects is back near its starting value at the end.
 *
 * Arguments: threads=20000 batch=50 ops=<per thread> seed=<n>. */
#include "stress_common.h"

typedef struct {
  pthread_t tid;
  uint64_t seed;
  unsigned long ops;
  /* what the thread leaves for the main thread to free */
  void *left;
  size_t left_n;
  uint64_t left_key;
} job_t;

static void *job_main(void *arg) {
  job_t *j = arg;
  rng_t r = {j->seed};
  enum { NTAB = 8 };
  struct {
    void *p;
    size_t n;
    uint64_t key;
  } tab[NTAB] = {{0}};
  /* One thread in 64 also takes a large block. */
  unsigned big = rng_below(&r, 64) == 0 ? 1000 : 0;
  for (unsigned long i = 0; i < j->ops; i++) {
    unsigned k = (unsigned)rng_below(&r, NTAB);
    if (tab[k].p) {
      pat_check(tab[k].p, 0, tab[k].n, tab[k].key, "thread free");
      S_FREE(tab[k].p);
    }
    tab[k].n = rng_size(&r, big, 512 * KIB);
    big = 0;
    tab[k].p = S_MALLOC(tab[k].n);
    check_block(tab[k].p, tab[k].n, 0, "thread malloc");
    tab[k].key = rng_next(&r);
    pat_fill(tab[k].p, 0, tab[k].n, tab[k].key);
  }
  int leave = rng_below(&r, 4) == 0;
  for (unsigned k = 0; k < NTAB; k++) {
    if (!tab[k].p)
      continue;
    if (leave) {
      j->left = tab[k].p;
      j->left_n = tab[k].n;
      j->left_key = tab[k].key;
      leave = 0;
      continue;
    }
    pat_check(tab[k].p, 0, tab[k].n, tab[k].key, "thread exit free");
    S_FREE(tab[k].p);
  }
  return NULL;
}

static void free_left(job_t *jobs, unsigned n) {
  for (unsigned i = 0; i < n; i++)
    if (jobs[i].left) {
      pat_check(jobs[i].left, 0, jobs[i].left_n, jobs[i].left_key, "left-over block");
      S_FREE(jobs[i].left);
      jobs[i].left = NULL;
    }
}

int main(int argc, char **argv) {
  stress_require_goalloc();
  unsigned long nthreads = arg_ul(argc, argv, "threads", 20000);
  unsigned batch = (unsigned)arg_ul(argc, argv, "batch", 50);
  unsigned long ops = arg_ul(argc, argv, "ops", 24);
  uint64_t seed = arg_ul(argc, argv, "seed", 99);
  if (batch == 0 || batch > 1000 || nthreads < 10 * (unsigned long)batch)
    stress_fail("need 1 <= batch <= 1000 and threads >= 10 * batch");
  double t0 = now_sec();

  /* Two job arrays: the previous batch's left-overs are freed while the
   * current batch runs. */
  job_t *jobs[2];
  for (int i = 0; i < 2; i++) {
    jobs[i] = S_CALLOC(batch, sizeof(job_t));
    if (!jobs[i])
      stress_fail("no job table");
  }
  for (int i = 0; i < 64; i++)
    S_FREE(S_MALLOC((size_t)i * 16 + 1));
  goalloc_stats_t start = stats_now();
  goalloc_stats_t warm = start;
  size_t warm_rss = 0;
  unsigned long nbatches = nthreads / batch, warm_at = nbatches / 10;
  uint64_t max_threads = 0;

  for (unsigned long b = 0; b < nbatches; b++) {
    job_t *cur = jobs[b & 1], *prev = jobs[(b & 1) ^ 1];
    for (unsigned i = 0; i < batch; i++) {
      cur[i].seed = seed * 1000003u + b * batch + i;
      cur[i].ops = ops;
      cur[i].left = NULL;
      int rc = pthread_create(&cur[i].tid, NULL, job_main, &cur[i]);
      if (rc)
        stress_fail("pthread_create (thread %lu): %s", b * batch + i, strerror(rc));
    }
    free_left(prev, batch);
    for (unsigned i = 0; i < batch; i++) {
      int rc = pthread_join(cur[i].tid, NULL);
      if (rc)
        stress_fail("pthread_join: %s", strerror(rc));
    }
    goalloc_stats_t st = stats_now();
    if (st.threads > max_threads)
      max_threads = st.threads;
    /* Every thread of this batch has exited, so its cache must be gone. */
    if (st.threads > start.threads + 1)
      stress_fail("after %lu threads exited, goalloc reports %" PRIu64 " thread caches "
                  "(%" PRIu64 " at start): caches not released at thread exit",
                  (b + 1) * batch, st.threads, start.threads);
    if (b == warm_at) {
      warm = st;
      warm_rss = rss_bytes();
    }
  }
  free_left(jobs[(nbatches - 1) & 1], batch);
  goalloc_stats_t end = stats_now();
  size_t end_rss = rss_bytes();
  stress_log("start: threads %" PRIu64 " objects %" PRIu64 "; after %lu threads: heap_inuse "
             "%.1f MiB metadata %.1f MiB rss %.1f MiB; end: threads %" PRIu64 " objects %" PRIu64
             " heap_inuse %.1f MiB metadata %.1f MiB rss %.1f MiB",
             start.threads, start.alloc_objects, (warm_at + 1) * batch, mib(warm.heap_inuse),
             mib(warm.metadata_bytes), mib(warm_rss), end.threads, end.alloc_objects,
             mib(end.heap_inuse), mib(end.metadata_bytes), mib(end_rss));

  if (end.threads > start.threads + 1)
    stress_fail("%" PRIu64 " thread caches at the end, %" PRIu64 " at start", end.threads,
                start.threads);
  /* 18,000 more threads after the warm point: anything kept per thread
   * (a cache, a span, a page) would add tens of MiB. */
  if (end.heap_inuse > warm.heap_inuse + 8 * MIB)
    stress_fail("heap_inuse grew with the thread count: %.1f MiB -> %.1f MiB",
                mib(warm.heap_inuse), mib(end.heap_inuse));
  if (end.metadata_bytes > warm.metadata_bytes + 8 * MIB)
    stress_fail("metadata grew with the thread count: %.1f MiB -> %.1f MiB",
                mib(warm.metadata_bytes), mib(end.metadata_bytes));
  if (end_rss > warm_rss + 16 * MIB)
    stress_fail("RSS grew with the thread count: %.1f MiB -> %.1f MiB", mib(warm_rss),
                mib(end_rss));
  if (end.alloc_objects > start.alloc_objects + 256)
    stress_fail("%" PRIu64 " objects allocated at the end, %" PRIu64 " at start",
                end.alloc_objects, start.alloc_objects);
  for (int i = 0; i < 2; i++)
    S_FREE(jobs[i]);
  stress_log("thread_churn OK (%s): %lu threads in batches of %u, at most %" PRIu64
             " thread caches after a batch, %.2f s",
             S_API, nbatches * batch, batch, max_threads, now_sec() - t0);
  return 0;
}
