/* Stress (2): cross-thread free.
 *
 * Producer threads allocate blocks (tiny 1..15 B, small, and large), fill
 * them with a keyed pattern and hand them through a bounded queue to consumer
 * threads, which verify them, sometimes realloc them, hold a few for a while
 * and free them in a shuffled order. Producers also free some blocks locally
 * so local and remote frees hit the same spans, and they exit before the
 * consumers are done, so consumers free objects whose allocating thread (and
 * its cache) is gone.
 *
 * After each round (all threads joined) goalloc_get_stats must show the
 * memory reclaimed: alloc_objects/alloc_bytes back near the starting values,
 * no live large objects left, and heap_inuse not growing round after round.
 *
 * Arguments: producers=4 consumers=4 items=<per producer> rounds=3
 * big=<per mille> maxbig=<bytes> seed=<n>. */
#include "stress_common.h"

typedef struct {
  void *p;
  size_t n;
  uint64_t key;
} item_t;

#define QCAP 512
#define HOLD 32

/* Mutex + condition variables: simple, and every hand-off is a
 * happens-before edge that ThreadSanitizer understands, so a TSan report
 * points at the allocator, not at the queue. */
static struct {
  pthread_mutex_t mu;
  pthread_cond_t not_empty, not_full;
  item_t buf[QCAP];
  unsigned head, count;
  unsigned producers_left;
} q = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER,
       {{0}}, 0, 0, 0};

static void q_push(item_t it) {
  pthread_mutex_lock(&q.mu);
  while (q.count == QCAP)
    pthread_cond_wait(&q.not_full, &q.mu);
  q.buf[(q.head + q.count) % QCAP] = it;
  q.count++;
  pthread_cond_signal(&q.not_empty);
  pthread_mutex_unlock(&q.mu);
}

/* Returns 0 once the queue is empty and every producer has finished. */
static int q_pop(item_t *it) {
  pthread_mutex_lock(&q.mu);
  while (q.count == 0 && q.producers_left > 0)
    pthread_cond_wait(&q.not_empty, &q.mu);
  int got = q.count > 0;
  if (got) {
    *it = q.buf[q.head];
    q.head = (q.head + 1) % QCAP;
    q.count--;
    pthread_cond_signal(&q.not_full);
  }
  pthread_mutex_unlock(&q.mu);
  return got;
}

static void producer_done(void) {
  pthread_mutex_lock(&q.mu);
  q.producers_left--;
  pthread_cond_broadcast(&q.not_empty);
  pthread_mutex_unlock(&q.mu);
}

typedef struct {
  pthread_t tid;
  unsigned long items;
  unsigned big_permille;
  size_t max_big;
  uint64_t seed;
  unsigned long sent, local, received, reallocs, tiny, large;
} role_t;

static void *producer_main(void *arg) {
  role_t *w = arg;
  rng_t r = {w->seed};
  for (unsigned long i = 0; i < w->items; i++) {
    item_t it;
    it.n = rng_size(&r, w->big_permille, w->max_big);
    it.p = rng_below(&r, 8) ? S_MALLOC(it.n) : S_CALLOC(1, it.n);
    check_block(it.p, it.n, 0, "producer alloc");
    it.key = rng_next(&r);
    pat_fill(it.p, 0, it.n, it.key);
    if (it.n < 16)
      w->tiny++;
    if (it.n > 32 * KIB)
      w->large++;
    if (rng_below(&r, 4) == 0) {
      /* A local free between remote ones: same spans, both paths. */
      pat_check(it.p, 0, it.n, it.key, "producer local free");
      S_FREE(it.p);
      w->local++;
    } else {
      q_push(it);
      w->sent++;
    }
  }
  producer_done();
  return NULL;
}

static void consume_one(role_t *w, rng_t *r, item_t *it) {
  pat_check(it->p, 0, it->n, it->key, "consumer received");
  if (rng_below(r, 8) == 0) {
    /* realloc of a block owned by another (possibly dead) thread */
    size_t n = rng_size(r, w->big_permille, w->max_big);
    void *p = S_REALLOC(it->p, n);
    check_block(p, n, 0, "consumer realloc");
    size_t keep = n < it->n ? n : it->n;
    pat_check(p, 0, keep, it->key, "consumer after realloc");
    pat_fill(p, keep, n, it->key);
    it->p = p;
    it->n = n;
    w->reallocs++;
  }
  pat_check(it->p, 0, it->n, it->key, "consumer before free");
  S_FREE(it->p);
  it->p = NULL;
}

static void *consumer_main(void *arg) {
  role_t *w = arg;
  rng_t r = {w->seed};
  item_t hold[HOLD];
  unsigned nhold = 0;
  item_t it;
  while (q_pop(&it)) {
    w->received++;
    /* Keep up to HOLD blocks and free a random one: frees come out of
     * allocation order and some blocks outlive their producer. */
    if (nhold < HOLD) {
      hold[nhold++] = it;
      continue;
    }
    unsigned k = (unsigned)rng_below(&r, HOLD);
    item_t out = hold[k];
    hold[k] = it;
    consume_one(w, &r, &out);
  }
  while (nhold > 0) {
    unsigned k = (unsigned)rng_below(&r, nhold);
    item_t out = hold[k];
    hold[k] = hold[--nhold];
    consume_one(w, &r, &out);
  }
  return NULL;
}

int main(int argc, char **argv) {
  stress_require_goalloc();
  unsigned np = (unsigned)arg_ul(argc, argv, "producers", 4);
  unsigned nc = (unsigned)arg_ul(argc, argv, "consumers", 4);
  unsigned long items = arg_ul(argc, argv, "items", 40000);
  unsigned rounds = (unsigned)arg_ul(argc, argv, "rounds", 3);
  unsigned big = (unsigned)arg_ul(argc, argv, "big", 10);
  size_t max_big = arg_ul(argc, argv, "maxbig", 1 * MIB);
  uint64_t seed = arg_ul(argc, argv, "seed", 777);
  if (np == 0 || nc == 0 || rounds == 0 || np > 64 || nc > 64)
    stress_fail("bad producers/consumers/rounds");

  static role_t prod[64], cons[64];
  double t0 = now_sec();
  /* Warm up so that the start values include whatever the main thread and
   * libc set up once (thread cache, stdio, the first thread's TLS). */
  for (int i = 0; i < 64; i++)
    S_FREE(S_MALLOC((size_t)i * 16 + 1));
  goalloc_stats_t start = stats_now();
  uint64_t inuse_first = 0;
  unsigned long sent = 0, received = 0, tiny = 0, large = 0, reallocs = 0, local = 0;

  for (unsigned round = 0; round < rounds; round++) {
    q.producers_left = np;
    for (unsigned i = 0; i < np; i++) {
      memset(&prod[i], 0, sizeof prod[i]);
      prod[i].items = items;
      prod[i].big_permille = big;
      prod[i].max_big = max_big;
      prod[i].seed = seed * 7919u + round * 131u + i;
      int rc = pthread_create(&prod[i].tid, NULL, producer_main, &prod[i]);
      if (rc)
        stress_fail("pthread_create: %s", strerror(rc));
    }
    for (unsigned i = 0; i < nc; i++) {
      memset(&cons[i], 0, sizeof cons[i]);
      cons[i].big_permille = big;
      cons[i].max_big = max_big;
      cons[i].seed = seed * 104729u + round * 137u + i;
      int rc = pthread_create(&cons[i].tid, NULL, consumer_main, &cons[i]);
      if (rc)
        stress_fail("pthread_create: %s", strerror(rc));
    }
    unsigned long rsent = 0, rrecv = 0;
    for (unsigned i = 0; i < np; i++) {
      pthread_join(prod[i].tid, NULL);
      rsent += prod[i].sent;
      local += prod[i].local;
      tiny += prod[i].tiny;
      large += prod[i].large;
    }
    for (unsigned i = 0; i < nc; i++) {
      pthread_join(cons[i].tid, NULL);
      rrecv += cons[i].received;
      reallocs += cons[i].reallocs;
    }
    if (rsent != rrecv)
      stress_fail("round %u: %lu blocks sent but %lu received", round, rsent, rrecv);
    sent += rsent;
    received += rrecv;

    goalloc_stats_t st = stats_now();
    stress_log("round %u: alloc_objects %" PRIu64 " (start %" PRIu64 "), alloc_bytes %" PRIu64
               " (start %" PRIu64 "), large_objects %" PRIu64 ", heap_inuse %.1f MiB, "
               "threads %" PRIu64,
               round, st.alloc_objects, start.alloc_objects, st.alloc_bytes, start.alloc_bytes,
               st.large_objects, mib(st.heap_inuse), st.threads);
    /* All blocks are freed and all workers joined, so apart from a few
     * libc-internal objects (thread DTVs kept with cached stacks) the heap
     * must be back where it started. Leaked remote frees would leave tens of
     * thousands of objects here. */
    if (st.alloc_objects > start.alloc_objects + 256)
      stress_fail("round %u: %" PRIu64 " objects still allocated, %" PRIu64 " at start: "
                  "cross-thread frees not reclaimed",
                  round, st.alloc_objects, start.alloc_objects);
    if (st.alloc_bytes > start.alloc_bytes + 1 * MIB)
      stress_fail("round %u: %" PRIu64 " bytes still allocated, %" PRIu64 " at start", round,
                  st.alloc_bytes, start.alloc_bytes);
    if (st.large_objects > start.large_objects)
      stress_fail("round %u: %" PRIu64 " large objects live, %" PRIu64 " at start", round,
                  st.large_objects, start.large_objects);
    /* Memory freed remotely must be reused: the footprint after later rounds
     * stays that of the first one (leaks would add the whole round). */
    if (round == 0)
      inuse_first = st.heap_inuse;
    else if (st.heap_inuse > inuse_first + inuse_first / 4 + 16 * MIB)
      stress_fail("round %u: heap_inuse %.1f MiB after round 0 but %.1f MiB now", round,
                  mib(inuse_first), mib(st.heap_inuse));
  }
  if (tiny == 0 || large == 0 || reallocs == 0 || local == 0)
    stress_fail("workload degenerated: tiny %lu large %lu reallocs %lu local %lu", tiny, large,
                reallocs, local);
  stress_log("xfree OK (%s): %u producers, %u consumers, %u rounds: %lu blocks (%lu tiny, "
             "%lu large), %lu freed by a consumer, %lu locally, %lu remote reallocs, %.2f s",
             S_API, np, nc, rounds, sent + local, tiny, large, received, local, reallocs,
             now_sec() - t0);
  return 0;
}
