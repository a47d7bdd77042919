/* frag - fragmentation and RSS: phases of alternating size ranges, most
 * objects freed between phases.
 *
 *   frag [-n MIB_PER_PHASE] [-p PHASES] [-k KEEP_PER_MILLE] [-z SETTLE_MS] [-s SEED]
 *
 * Phase k allocates MIB_PER_PHASE MiB (default 64) of objects from size range
 * k mod 4: 16..128, 256..2048, 16..64, 2048..16384 bytes, writes all of them
 * (so the pages are resident), then frees all but KEEP_PER_MILLE per mille
 * (default 50, chosen at random) before the next phase.  The survivors pin
 * the pages they sit on, so an allocator that cannot reuse the holes for the
 * next phase's sizes grows.  After PHASES phases (default 8) all survivors
 * but one in ten are freed.
 *
 * Prints on stderr: final_rss_now_kb (right after the last frees), then,
 * after sleeping SETTLE_MS (default 200; time for background page release),
 * final_rss_kb, and bench_idle_ms=SETTLE_MS (bench/run subtracts it from
 * the wall time).  Peak RSS is measured by the runner.
 */
#include <time.h>

#include "common.h"

typedef struct {
  void *p;
  uint32_t size;
  uint64_t id;
} obj_t;

static const size_t ranges[4][2] = {{16, 128}, {256, 2048}, {16, 64}, {2048, 16384}};

int main(int argc, char **argv) {
  bench_name = "frag";
  opts_t o = {.iters = 64, .seed = 1};
  parse_opts(argc, argv, &o, "pkz", "[-n MIB_PER_PHASE] [-p PHASES] [-k KEEP_PER_MILLE] [-z SETTLE_MS] [-s SEED]");
  size_t per_phase = (size_t)o.iters << 20;
  long phases = opt_x(&o, 'p', 8), keep = opt_x(&o, 'k', 50), settle = opt_x(&o, 'z', 200);
  if (keep > 1000) die("bad parameters");

  rng_t r;
  rng_seed(&r, (uint64_t)o.seed);
  uint64_t next_id = 1;
  size_t kept_cap = 1024, nkept = 0;
  obj_t *kept = xmalloc(kept_cap * sizeof *kept);
  size_t cur_cap = 1024;
  obj_t *cur = xmalloc(cur_cap * sizeof *cur);

  for (long ph = 0; ph < phases; ph++) {
    size_t lo = ranges[ph % 4][0], hi = ranges[ph % 4][1];
    size_t bytes = 0, n = 0;
    while (bytes < per_phase) {
      if (n == cur_cap) {
        cur_cap *= 2;
        cur = realloc(cur, cur_cap * sizeof *cur);
        if (!cur) die("out of memory");
      }
      size_t s = (size_t)rng_range(&r, lo, hi);
      void *p = xmalloc(s);
      memset(p, (int)(n & 0xff), s);
      stamp(p, s, next_id);
      cur[n++] = (obj_t){p, (uint32_t)s, next_id++};
      bytes += s;
    }
    /* Free all but the survivors, in a random order so holes scatter. */
    for (size_t i = n; i > 1; i--) {
      size_t j = (size_t)rng_range(&r, 0, i - 1);
      obj_t t = cur[i - 1];
      cur[i - 1] = cur[j];
      cur[j] = t;
    }
    for (size_t i = 0; i < n; i++) {
      stamp_check(cur[i].p, cur[i].size, cur[i].id, "frag phase");
      if (rng_range(&r, 0, 999) < (uint64_t)keep) {
        if (nkept == kept_cap) {
          kept_cap *= 2;
          kept = realloc(kept, kept_cap * sizeof *kept);
          if (!kept) die("out of memory");
        }
        kept[nkept++] = cur[i];
      } else {
        free(cur[i].p);
      }
    }
  }
  size_t left = 0;
  for (size_t i = 0; i < nkept; i++) {
    stamp_check(kept[i].p, kept[i].size, kept[i].id, "frag survivor");
    if (i % 10 == 0)
      kept[left++] = kept[i];
    else
      free(kept[i].p);
  }
  fprintf(stderr, "final_rss_now_kb=%ld\n", rss_kb());
  if (settle > 0) {
    struct timespec ts = {settle / 1000, (settle % 1000) * 1000000};
    while (nanosleep(&ts, &ts) && errno == EINTR) {}
  }
  report_final_rss();
  fprintf(stderr, "bench_idle_ms=%ld\n", settle);
  for (size_t i = 0; i < left; i++) {
    stamp_check(kept[i].p, kept[i].size, kept[i].id, "frag final");
    free(kept[i].p);
  }
  free(kept);
  free(cur);
  return 0;
}
