/* large - large objects, 64 KiB to 8 MiB.
 *
 *   large [-n OPS] [-w SLOTS] [-a MIN_KIB] [-b MAX_KIB] [-s SEED]
 *
 * SLOTS live blocks (default 12) of log-uniform sizes MIN..MAX (default
 * 64 KiB..8 MiB).  Each of OPS operations (default 4000) replaces a random
 * slot's block: check a few of its pages, free it, allocate a new one and
 * write one word in every 4 KiB page (the program uses all of its memory,
 * so page faults and zeroing of fresh pages count, as they do in real
 * programs).
 */
#include "common.h"

#define PAGE 4096

typedef struct {
  uint64_t *p;
  size_t size;
  uint64_t id;
} blk_t;

static inline uint64_t word(uint64_t id, size_t pg) { return mix64(id * 1000003 + pg); }

static void fill(blk_t *b) {
  size_t pages = b->size / PAGE;
  for (size_t pg = 0; pg < pages; pg++) b->p[pg * (PAGE / 8)] = word(b->id, pg);
  ((uint8_t *)b->p)[b->size - 1] = (uint8_t)b->id;
}

static void check(blk_t *b, rng_t *r) {
  size_t pages = b->size / PAGE;
  for (int i = 0; i < 4; i++) {
    size_t pg = i == 0 ? 0 : i == 1 ? pages - 1 : (size_t)rng_range(r, 0, pages - 1);
    if (b->p[pg * (PAGE / 8)] != word(b->id, pg))
      corrupt("block %p (size %zu) page %zu overwritten", (void *)b->p, b->size, pg);
  }
  if (((uint8_t *)b->p)[b->size - 1] != (uint8_t)b->id)
    corrupt("block %p (size %zu) last byte overwritten", (void *)b->p, b->size);
}

int main(int argc, char **argv) {
  bench_name = "large";
  opts_t o = {.iters = 4000, .seed = 1};
  parse_opts(argc, argv, &o, "wab", "[-n OPS] [-w SLOTS] [-a MIN_KIB] [-b MAX_KIB] [-s SEED]");
  size_t nslots = (size_t)opt_x(&o, 'w', 12);
  size_t lo = (size_t)opt_x(&o, 'a', 64) << 10, hi = (size_t)opt_x(&o, 'b', 8192) << 10;
  if (nslots < 1 || lo < PAGE || hi < lo) die("bad parameters");
  rng_t r;
  rng_seed(&r, (uint64_t)o.seed);
  blk_t *slot = xmalloc(nslots * sizeof *slot);
  uint64_t next_id = 1;
  for (size_t i = 0; i < nslots; i++) {
    slot[i].size = (size_t)rng_logrange(&r, lo, hi);
    slot[i].id = next_id++;
    slot[i].p = xmalloc(slot[i].size);
    fill(&slot[i]);
  }
  for (long op = 0; op < o.iters; op++) {
    blk_t *b = &slot[rng_range(&r, 0, nslots - 1)];
    check(b, &r);
    free(b->p);
    b->size = (size_t)rng_logrange(&r, lo, hi);
    b->id = next_id++;
    b->p = xmalloc(b->size);
    if ((uintptr_t)b->p & 15) corrupt("block %p misaligned", (void *)b->p);
    fill(b);
  }
  for (size_t i = 0; i < nslots; i++) {
    check(&slot[i], &r);
    free(slot[i].p);
  }
  free(slot);
  report_final_rss();
  return 0;
}
