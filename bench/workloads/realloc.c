/* realloc - growth by realloc from 16 bytes to several MiB.
 *
 *   realloc [-n BUFFERS] [-k LIVE] [-m MAX_KIB] [-s SEED]
 *
 * LIVE buffers (default 8) grow at once, so a buffer cannot always grow in
 * place.  Each starts as malloc(16) and has a log-uniform target size in
 * 1 KiB..MAX_KIB KiB (default 8192).  A random live buffer grows by one
 * step per operation: +1..64 bytes while under 4 KiB (string building),
 * by 1.25..2x above (vector doubling).  A buffer that reached its target is
 * checked and freed and a new one takes its place, BUFFERS times (default
 * 3000).  One byte in 256 of every buffer is written with a function of its
 * position; after each realloc the first bytes, the byte before the old end
 * and four random written positions are checked.
 */
#include "common.h"

typedef struct {
  uint8_t *p;
  size_t size, target, marked; /* marked: bytes [0, marked) have their marks */
  uint64_t id;
} buf_t;

static inline uint8_t mark(uint64_t id, size_t off) {
  return (uint8_t)(id * 0x9e37 + (off >> 8) * 131 + (off >> 16));
}

static void write_marks(buf_t *b) {
  size_t off = (b->marked + 255) & ~(size_t)255;
  for (; off < b->size; off += 256) b->p[off] = mark(b->id, off);
  b->marked = b->size;
}

static void check(buf_t *b, rng_t *r, const char *what) {
  uint64_t h;
  memcpy(&h, b->p + 8, 8);
  if (h != mix64(b->id)) corrupt("%s: buffer %llu header lost", what, (unsigned long long)b->id);
  size_t last = (b->marked - 1) & ~(size_t)255;
  if (last >= 256 && b->p[last] != mark(b->id, last))
    corrupt("%s: buffer %llu byte %zu lost", what, (unsigned long long)b->id, last);
  size_t nmarks = (b->marked + 255) / 256;
  for (int i = 0; i < 4 && nmarks > 1; i++) {
    size_t off = (size_t)rng_range(r, 1, nmarks - 1) * 256;
    if (b->p[off] != mark(b->id, off))
      corrupt("%s: buffer %llu byte %zu lost", what, (unsigned long long)b->id, off);
  }
}

static void start(buf_t *b, rng_t *r, uint64_t id, size_t maxb) {
  b->id = id;
  b->size = 16;
  b->target = (size_t)rng_logrange(r, 1024, maxb);
  b->p = xmalloc(16);
  uint64_t h = mix64(id);
  memcpy(b->p, &id, 8);
  memcpy(b->p + 8, &h, 8);
  b->marked = 16;
}

int main(int argc, char **argv) {
  bench_name = "realloc";
  opts_t o = {.iters = 3000, .seed = 1};
  parse_opts(argc, argv, &o, "km", "[-n BUFFERS] [-k LIVE] [-m MAX_KIB] [-s SEED]");
  size_t live = (size_t)opt_x(&o, 'k', 8), maxb = (size_t)opt_x(&o, 'm', 8192) << 10;
  if (live < 1 || maxb < 2048) die("bad parameters");
  rng_t r;
  rng_seed(&r, (uint64_t)o.seed);
  buf_t *bufs = xmalloc(live * sizeof *bufs);
  uint64_t next_id = 1;
  for (size_t i = 0; i < live; i++) start(&bufs[i], &r, next_id++, maxb);
  long done = 0;
  while (done < o.iters) {
    buf_t *b = &bufs[rng_range(&r, 0, live - 1)];
    size_t ns;
    if (b->size < 4096)
      ns = b->size + (size_t)rng_range(&r, 1, 64);
    else
      ns = b->size + b->size * (size_t)rng_range(&r, 64, 256) / 256;
    uint8_t *np = realloc(b->p, ns);
    if (!np) die("realloc(%zu) returned NULL", ns);
    b->p = np;
    b->size = ns;
    check(b, &r, "realloc");
    write_marks(b);
    if (b->size >= b->target) {
      check(b, &r, "realloc final");
      free(b->p);
      done++;
      start(b, &r, next_id++, maxb);
    }
  }
  for (size_t i = 0; i < live; i++) free(bufs[i].p);
  free(bufs);
  report_final_rss();
  return 0;
}
