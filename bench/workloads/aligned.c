/* aligned - posix_memalign with alignments 16..4096.
 *
 *   aligned [-n OPS] [-w SLOTS] [-s SEED]
 *
 * SLOTS live blocks (default 10000).  Each of OPS operations (default 3M)
 * replaces a random slot's block with posix_memalign(ALIGN, SIZE): ALIGN a
 * random power of two in 16..4096 (smaller alignments more often: 16, 32
 * and 64 make 3/4 of the calls), SIZE random in 8..2*ALIGN.  Every result
 * is checked for its alignment and stamped; stamps are checked before free.
 */
#include "common.h"

int main(int argc, char **argv) {
  bench_name = "aligned";
  opts_t o = {.iters = 3000000, .seed = 1};
  parse_opts(argc, argv, &o, "w", "[-n OPS] [-w SLOTS] [-s SEED]");
  size_t nslots = (size_t)opt_x(&o, 'w', 10000);
  if (nslots < 1) die("bad parameters");
  void **ptr = xmalloc(nslots * sizeof *ptr);
  uint32_t *size = xmalloc(nslots * sizeof *size);
  uint64_t *id = xmalloc(nslots * sizeof *id);
  rng_t r;
  rng_seed(&r, (uint64_t)o.seed);
  uint64_t next_id = 1;
  memset(ptr, 0, nslots * sizeof *ptr);
  for (long op = 0; op < o.iters + (long)nslots; op++) {
    size_t i = op < (long)nslots ? (size_t)op : (size_t)rng_range(&r, 0, nslots - 1);
    if (ptr[i]) {
      stamp_check(ptr[i], size[i], id[i], "aligned");
      free(ptr[i]);
    }
    uint64_t x = rng_next(&r);
    unsigned k = (unsigned)(x & 15);
    /* 0-3: 16, 4-7: 32, 8-11: 64, then 128, 256, 512, 1024..4096 share the rest */
    unsigned shift = k < 12 ? 4 + k / 4 : 7 + (unsigned)((x >> 4) % 6);
    size_t align = (size_t)1 << shift;
    size_t s = 8 + (size_t)((x >> 16) % (2 * align - 7));
    void *p;
    int rc = posix_memalign(&p, align, s);
    if (rc) die("posix_memalign(%zu, %zu) failed: %d", align, s, rc);
    if ((uintptr_t)p & (align - 1))
      corrupt("call %ld: posix_memalign(%zu, %zu) returned %p", op, align, s, p);
    ptr[i] = p;
    size[i] = (uint32_t)s;
    id[i] = next_id++;
    stamp(p, s, id[i]);
  }
  for (size_t i = 0; i < nslots; i++) {
    stamp_check(ptr[i], size[i], id[i], "aligned final");
    free(ptr[i]);
  }
  free(ptr);
  free(size);
  free(id);
  report_final_rss();
  return 0;
}
