/* churn - single-thread churn of small objects with a working set.
 *
 *   churn [-n OPS] [-w SLOTS] [-a MIN] [-b MAX] [-s SEED]
 *
 * SLOTS live blocks (default 20000) of random sizes MIN..MAX (default
 * 8..512).  Each of OPS operations (default 10M) picks a random slot, checks
 * and frees its block and puts a freshly allocated, stamped block of a new
 * random size there.  At the end every block is checked and freed.
 */
#include "common.h"

int main(int argc, char **argv) {
  bench_name = "churn";
  opts_t o = {.iters = 10000000, .seed = 1};
  parse_opts(argc, argv, &o, "wab", "[-n OPS] [-w SLOTS] [-a MIN] [-b MAX] [-s SEED]");
  size_t nslots = (size_t)opt_x(&o, 'w', 20000);
  size_t lo = (size_t)opt_x(&o, 'a', 8), hi = (size_t)opt_x(&o, 'b', 512);
  if (nslots < 1 || lo < 1 || hi < lo || hi >= (1u << 24)) die("bad parameters");

  void **ptr = xmalloc(nslots * sizeof *ptr);
  uint32_t *size = xmalloc(nslots * sizeof *size);
  uint64_t *id = xmalloc(nslots * sizeof *id);
  rng_t r;
  rng_seed(&r, (uint64_t)o.seed);
  uint64_t next_id = 1;

  for (size_t i = 0; i < nslots; i++) {
    size[i] = (uint32_t)rng_range(&r, lo, hi);
    id[i] = next_id++;
    ptr[i] = xmalloc(size[i]);
    stamp(ptr[i], size[i], id[i]);
  }
  for (long op = 0; op < o.iters; op++) {
    uint64_t x = rng_next(&r);
    size_t i = (size_t)(((unsigned __int128)x * nslots) >> 64);
    stamp_check(ptr[i], size[i], id[i], "churn");
    free(ptr[i]);
    size_t s = lo + (size_t)((x & 0xffffffff) % (hi - lo + 1));
    size[i] = (uint32_t)s;
    id[i] = next_id++;
    ptr[i] = xmalloc(s);
    stamp(ptr[i], s, id[i]);
  }
  for (size_t i = 0; i < nslots; i++) {
    stamp_check(ptr[i], size[i], id[i], "churn final");
    free(ptr[i]);
  }
  free(ptr);
  free(size);
  free(id);
  report_final_rss();
  return 0;
}
