/* Stress (5): memory goes back to the OS.
 *
 * Builds a ~256 MiB heap of small, medium and large blocks, touches every
 * page, then frees it in random order, keeping a small live set: a few MiB
 * allocated beforehand plus every 509th block of the big heap (scattered,
 * so they pin some spans). Then:
 *   mode=trim      malloc_trim(0) must return 1 and RSS must drop right away
 *                  to the pre-heap RSS + the pages the kept blocks can pin
 *                  + a small margin (run with GOALLOC_SCAVENGE=0, so the drop
 *                  is the trim's doing);
 *   mode=scavenge  no trim: the background scavenger must bring RSS down to
 *                  the same bound plus its retained 10%; we poll for up to
 *                  wait_ms (bounded waiting, not a timing assertion).
 *
 * Arguments: mode=trim|scavenge mib=256 wait_ms=5000 seed=<n>. */
#include "stress_common.h"

typedef struct {
  void *p;
  size_t n;
} blk_t;

/* Largest span a small (<= 32 KiB) object can live in, in Go's size class
 * table: one kept small block pins at most this much. */
#define MAX_SMALL_SPAN (80 * KIB)
#define MARGIN (16 * MIB)

int main(int argc, char **argv) {
  stress_require_goalloc();
  const char *mode = "trim";
  for (int i = 1; i < argc; i++)
    if (strncmp(argv[i], "mode=", 5) == 0)
      mode = argv[i] + 5;
  int trim = strcmp(mode, "trim") == 0;
  if (!trim && strcmp(mode, "scavenge") != 0)
    stress_fail("mode must be trim or scavenge");
  size_t total = arg_ul(argc, argv, "mib", 256) * MIB;
  unsigned long wait_ms = arg_ul(argc, argv, "wait_ms", 5000);
  rng_t r = {arg_ul(argc, argv, "seed", 31337)};
  double t0 = now_sec();

  /* The pre-existing live set: 4 MiB in mixed sizes that stays allocated. */
  enum { NPRE = 2048 };
  blk_t pre[NPRE];
  for (int i = 0; i < NPRE; i++) {
    pre[i].n = rng_range(&r, 16, 4 * KIB);
    pre[i].p = S_MALLOC(pre[i].n);
    check_block(pre[i].p, pre[i].n, 0, "malloc");
    memset(pre[i].p, 0x5a, pre[i].n);
  }
  /* The block table is allocated and touched before the baseline, so the
   * baseline includes it: 1/4 small (16 B..1 KiB), 1/4 medium (1..32 KiB),
   * 1/2 large (32 KiB..4 MiB). */
  size_t cap = total / 4 / 256 + total / 4 / (8 * KIB) + total / 2 / (64 * KIB) + 1024;
  blk_t *tab = S_CALLOC(cap, sizeof(blk_t));
  if (!tab)
    stress_fail("no block table");
  memset(tab, 0, cap * sizeof(blk_t));
  size_t base_rss = rss_bytes();

  size_t nblk = 0, got = 0;
  size_t budget[3] = {total / 4, total / 4, total / 2};
  for (int kind = 0; kind < 3; kind++) {
    for (size_t sum = 0; sum < budget[kind] && nblk < cap;) {
      size_t n = kind == 0   ? rng_range(&r, 16, 1 * KIB)
                 : kind == 1 ? rng_range(&r, 1 * KIB + 1, 32 * KIB)
                             : rng_range(&r, 32 * KIB + 1, 4 * MIB);
      void *p = S_MALLOC(n);
      check_block(p, n, 0, "malloc");
      memset(p, (int)(nblk & 0xff) | 1, n); /* touch every page */
      tab[nblk].p = p;
      tab[nblk].n = n;
      nblk++;
      sum += n;
      got += n;
    }
  }
  size_t peak_rss = rss_bytes();
  if (peak_rss < base_rss + got / 2)
    stress_fail("touching %.1f MiB raised RSS only from %.1f to %.1f MiB", mib(got),
                mib(base_rss), mib(peak_rss));

  /* Shuffle, then free all but every 509th block. */
  for (size_t i = nblk - 1; i > 0; i--) {
    size_t j = (size_t)rng_below(&r, i + 1);
    blk_t t = tab[i];
    tab[i] = tab[j];
    tab[j] = t;
  }
  size_t pinned = 0, kept = 0;
  for (size_t i = 0; i < nblk; i++) {
    unsigned char *p = tab[i].p;
    if (i % 509 == 0) {
      pinned += tab[i].n <= 32 * KIB ? MAX_SMALL_SPAN : tab[i].n + 8 * KIB;
      kept++;
      continue;
    }
    /* Content check on the ends only: the point here is footprint. */
    if (p[0] != ((unsigned char *)p)[tab[i].n - 1])
      stress_fail("block %p (%zu bytes) corrupted", (void *)p, tab[i].n);
    S_FREE(p);
    tab[i].p = NULL;
  }
  size_t freed_rss = rss_bytes();
  goalloc_stats_t st0 = stats_now();

  size_t limit = base_rss + pinned + MARGIN;
  size_t rss = 0;
  if (trim) {
    int rc = S_TRIM(0);
    rss = rss_bytes();
    stress_log("trim: returned %d; rss base %.1f MiB, peak %.1f MiB, after free %.1f MiB, "
               "after trim %.1f MiB (limit %.1f MiB: %zu kept blocks may pin %.1f MiB)",
               rc, mib(base_rss), mib(peak_rss), mib(freed_rss), mib(rss), mib(limit), kept,
               mib(pinned));
    if (rc != 1)
      stress_fail("malloc_trim(0) returned %d after freeing %.1f MiB", rc, mib(got));
    if (rss > limit)
      stress_fail("RSS after malloc_trim(0) is %.1f MiB, expected at most %.1f MiB", mib(rss),
                  mib(limit));
  } else {
    /* The scavenger keeps ~10% of the live heap on top. */
    limit += (base_rss + pinned) / 10;
    double start = now_sec(), waited = 0;
    for (;;) {
      rss = rss_bytes();
      waited = now_sec() - start;
      if (rss <= limit || waited * 1000 >= (double)wait_ms)
        break;
      struct timespec ts = {0, 20 * 1000 * 1000};
      nanosleep(&ts, NULL);
    }
    stress_log("scavenge: rss base %.1f MiB, peak %.1f MiB, after free %.1f MiB, "
               "after %.2f s %.1f MiB (limit %.1f MiB: %zu kept blocks may pin %.1f MiB)",
               mib(base_rss), mib(peak_rss), mib(freed_rss), waited, mib(rss), mib(limit), kept,
               mib(pinned));
    if (rss > limit)
      stress_fail("background scavenger left RSS at %.1f MiB after %.1f s, expected at most "
                  "%.1f MiB",
                  mib(rss), waited, mib(limit));
  }
  goalloc_stats_t st1 = stats_now();
  stress_log("stats: heap_inuse %.1f MiB, heap_free %.1f -> %.1f MiB, heap_released %.1f -> "
             "%.1f MiB, scavenged_total %.1f -> %.1f MiB",
             mib(st1.heap_inuse), mib(st0.heap_free), mib(st1.heap_free),
             mib(st0.heap_released), mib(st1.heap_released), mib(st0.scavenged_total),
             mib(st1.scavenged_total));

  /* The kept blocks and the live set are intact and freeable. */
  for (size_t i = 0; i < nblk; i++)
    if (tab[i].p) {
      unsigned char *p = tab[i].p;
      if (p[0] != p[tab[i].n - 1] || p[tab[i].n / 2] != p[0])
        stress_fail("kept block %p (%zu bytes) corrupted", (void *)p, tab[i].n);
      S_FREE(p);
    }
  for (int i = 0; i < NPRE; i++) {
    unsigned char *p = pre[i].p;
    for (size_t k = 0; k < pre[i].n; k++)
      if (p[k] != 0x5a)
        stress_fail("live block %p (%zu bytes) corrupted at %zu", (void *)p, pre[i].n, k);
    S_FREE(p);
  }
  S_FREE(tab);
  stress_log("rss_return OK (%s, %s): %.1f MiB in %zu blocks, %.2f s", S_API, mode, mib(got),
             nblk, now_sec() - t0);
  return 0;
}
