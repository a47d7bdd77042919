/* Stress (1): multi-thread churn.
 *
 * N threads each keep a working set of blocks of random sizes (1 B .. 64 KiB,
 * a few up to 1 MiB) obtained through every allocation entry point, and
 * replace, resize and free them at random. Every block carries a pattern
 * keyed by a per-block random value; it is checked before each free and
 * realloc and by random spot checks, so overlapping blocks, double hand-outs
 * and allocator writes into live objects are caught. calloc'd blocks must
 * read as zero even when their memory is being reused.
 *
 * Arguments (all optional): threads=8 ops=<per thread> slots=<working set>
 * big=<per mille of big blocks> maxbig=<bytes> seed=<n>. */
#include "stress_common.h"

typedef struct {
  unsigned char *p;
  size_t n;
  uint64_t key;
} slot_t;

typedef struct {
  pthread_t tid;
  unsigned id;
  unsigned long ops;
  unsigned long nslots;
  unsigned big_permille;
  size_t max_big;
  uint64_t seed;
  /* results, for the summary line */
  unsigned long allocs, frees, reallocs, callocs, aligned;
} worker_t;

static void alloc_slot(worker_t *w, rng_t *r, slot_t *s) {
  size_t n = rng_size(r, w->big_permille, w->max_big);
  void *p = NULL;
  size_t align = 0;
  uint64_t how = rng_below(r, 100);
  if (how < 66) {
    p = S_MALLOC(n);
    check_block(p, n, 0, "malloc");
  } else if (how < 78) {
    /* Both argument orders: the product is what matters. */
    int split = rng_below(r, 2) && n % 4 == 0;
    p = split ? S_CALLOC(n / 4, 4) : S_CALLOC(1, n);
    check_block(p, n, 0, "calloc");
    size_t i;
    for (i = 0; i < n; i++)
      if (((unsigned char *)p)[i] != 0)
        stress_fail("calloc(%zu) = %p: byte %zu is 0x%02x, not zero", n, p, i,
                    ((unsigned char *)p)[i]);
    w->callocs++;
  } else if (how < 88) {
    /* Mostly modest alignments, sometimes a page or more. */
    align = (size_t)1 << rng_range(r, 3, rng_below(r, 8) ? 12 : 16);
    int rc = S_MEMALIGN(&p, align, n);
    if (rc != 0)
      stress_fail("posix_memalign(%zu, %zu) failed: %d", align, n, rc);
    check_block(p, n, align, "posix_memalign");
    w->aligned++;
  } else if (how < 94) {
    align = (size_t)1 << rng_range(r, 4, 13);
    n = (n + align - 1) & ~(align - 1); /* C11 wants a multiple */
    p = S_ALIGNED_ALLOC(align, n);
    check_block(p, n, align, "aligned_alloc");
    w->aligned++;
  } else {
    p = S_REALLOC(NULL, n);
    check_block(p, n, 0, "realloc(NULL)");
  }
  if (align && ((uintptr_t)p & (align - 1)))
    stress_fail("aligned allocation %p not aligned to %zu", p, align);
  s->p = p;
  s->n = n;
  s->key = rng_next(r);
  pat_fill(s->p, 0, s->n, s->key);
  w->allocs++;
}

static void free_slot(worker_t *w, slot_t *s) {
  pat_check(s->p, 0, s->n, s->key, "before free");
  S_FREE(s->p);
  s->p = NULL;
  w->frees++;
}

static void realloc_slot(worker_t *w, rng_t *r, slot_t *s) {
  pat_check(s->p, 0, s->n, s->key, "before realloc");
  size_t n;
  uint64_t how = rng_below(r, 4);
  if (how == 0)
    n = s->n + rng_range(r, 1, 64); /* small growth: often in place */
  else if (how == 1 && s->n > 1)
    n = rng_range(r, 1, s->n - 1); /* shrink */
  else
    n = rng_size(r, w->big_permille, w->max_big);
  void *p = S_REALLOC(s->p, n);
  check_block(p, n, 0, "realloc");
  size_t keep = n < s->n ? n : s->n;
  pat_check(p, 0, keep, s->key, "after realloc");
  /* The pattern is positional, so growing just extends it. */
  pat_fill(p, keep, n, s->key);
  s->p = p;
  s->n = n;
  w->reallocs++;
}

static void *worker_main(void *arg) {
  worker_t *w = arg;
  rng_t r = {w->seed};
  slot_t *slots = S_CALLOC(w->nslots, sizeof(slot_t));
  if (!slots)
    stress_fail("cannot allocate slot table");
  for (unsigned long op = 0; op < w->ops; op++) {
    slot_t *s = &slots[rng_below(&r, w->nslots)];
    if (s->p == NULL) {
      alloc_slot(w, &r, s);
    } else {
      uint64_t how = rng_below(&r, 100);
      if (how < 45) {
        free_slot(w, s);
      } else if (how < 75) {
        realloc_slot(w, &r, s);
      } else {
        free_slot(w, s);
        alloc_slot(w, &r, s);
      }
    }
    /* Spot check another live block's ends: corruption caused by other
     * threads' activity shows up long before that block is freed. */
    slot_t *o = &slots[rng_below(&r, w->nslots)];
    if (o->p) {
      size_t edge = o->n < 64 ? o->n : 64;
      pat_check(o->p, 0, edge, o->key, "spot check");
      pat_check(o->p, o->n - edge, o->n, o->key, "spot check");
    }
  }
  for (unsigned long i = 0; i < w->nslots; i++)
    if (slots[i].p)
      free_slot(w, &slots[i]);
  S_FREE(slots);
  return NULL;
}

int main(int argc, char **argv) {
  stress_require_goalloc();
  unsigned nthreads = (unsigned)arg_ul(argc, argv, "threads", 8);
  unsigned long ops = arg_ul(argc, argv, "ops", 60000);
  unsigned long nslots = arg_ul(argc, argv, "slots", 1000);
  unsigned big = (unsigned)arg_ul(argc, argv, "big", 5);
  size_t max_big = arg_ul(argc, argv, "maxbig", 1 * MIB);
  uint64_t seed = arg_ul(argc, argv, "seed", 20240601);
  if (nthreads == 0 || nslots == 0)
    stress_fail("threads and slots must be positive");

  worker_t *ws = S_CALLOC(nthreads, sizeof(worker_t));
  if (!ws)
    stress_fail("cannot allocate worker table");
  double t0 = now_sec();
  for (unsigned i = 0; i < nthreads; i++) {
    ws[i].id = i;
    ws[i].ops = ops;
    ws[i].nslots = nslots;
    ws[i].big_permille = big;
    ws[i].max_big = max_big;
    ws[i].seed = seed * 1000003u + i;
    int rc = pthread_create(&ws[i].tid, NULL, worker_main, &ws[i]);
    if (rc)
      stress_fail("pthread_create: %s", strerror(rc));
  }
  unsigned long allocs = 0, frees = 0, reallocs = 0, callocs = 0, aligned = 0;
  for (unsigned i = 0; i < nthreads; i++) {
    pthread_join(ws[i].tid, NULL);
    allocs += ws[i].allocs;
    frees += ws[i].frees;
    reallocs += ws[i].reallocs;
    callocs += ws[i].callocs;
    aligned += ws[i].aligned;
  }
  /* Every slot was freed at the end; the counts must agree. */
  if (allocs != frees)
    stress_fail("bookkeeping: %lu allocs vs %lu frees", allocs, frees);
  if (allocs == 0 || reallocs == 0 || callocs == 0 || aligned == 0)
    stress_fail("workload degenerated: allocs %lu reallocs %lu callocs %lu aligned %lu", allocs,
                reallocs, callocs, aligned);
  S_FREE(ws);
  stress_log("churn OK (%s): %u threads, %lu allocs (%lu calloc, %lu aligned), %lu reallocs, "
             "%.2f s",
             S_API, nthreads, allocs, callocs, aligned, reallocs, now_sec() - t0);
  return 0;
}
