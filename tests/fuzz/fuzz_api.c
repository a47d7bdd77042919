/* libFuzzer target for goalloc's public API.
 *
 * The input is a little program: each operation is an opcode byte followed by
 * its operands (slot, size, alignment...). Bytes missing at the end read as 0,
 * so every input is valid and mutations near the end stay meaningful. The
 * operations run against a shadow model of up to NSLOTS live blocks:
 *
 *  - every block holds a pattern derived from (seed, offset) over its requested
 *    size and a second pattern over the rest of its usable size; it is checked
 *    before free/realloc, after trim, and on demand;
 *  - realloc keeps the pattern over min(old, new) bytes; a failed realloc
 *    leaves the old block intact;
 *  - calloc returns zeros, pointers have the promised alignment, usable_size is
 *    >= the request and stable, live blocks never overlap;
 *  - impossible requests fail with NULL and ENOMEM (EINVAL/ENOMEM returned by
 *    posix_memalign, which leaves *out untouched);
 *  - goalloc_get_stats' alloc_objects tracks the number of live blocks and is
 *    back at its starting value once the input's blocks are all freed.
 *
 * Any violation prints what was expected and aborts, which libFuzzer (or
 * driver_main.c) turns into a saved crash input. FUZZ_TRACE=1 in the
 * environment prints every operation as a C-like statement, to turn a crash
 * input into a standalone reproducer. */
#include "goalloc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The real size classes give the "boundary" sizes; without the header (the
 * target is public-API only otherwise) powers of two and their halves do. */
#if __has_include("sizeclasses_table.h")
#include "sizeclasses_table.h"
#define HAVE_CLASS_TABLE 1
#endif

/* The pattern loops touch every byte of every block: instrumenting them for
 * coverage (libFuzzer's comparison tracing) or UBSan makes them the whole
 * cost of a run while telling nothing about the allocator. */
#if defined(__clang__)
#define HOT_LOOP __attribute__((noinline, no_sanitize("coverage", "undefined")))
#else
#define HOT_LOOP __attribute__((noinline, no_sanitize_undefined))
#endif

#define NSLOTS 256
/* Caps the bytes live at once so a run stays fast and far from the RSS limit;
 * a request that would pass it is shrunk instead of skipped. */
#define LIVE_BUDGET ((size_t)16 << 20)
#define PAGE 4096u

enum kind {
  K_MALLOC,        /* malloc/calloc/realloc family: free_sized allowed */
  K_ALIGNED_ALLOC, /* aligned_alloc: free_aligned_sized allowed */
  K_OTHER,         /* posix_memalign, memalign, valloc, pvalloc: free only */
};

struct slot {
  unsigned char *p;
  size_t req;    /* requested size */
  size_t usable; /* goalloc_usable_size at allocation */
  size_t align;  /* alignment asked for (aligned_alloc's, for free_aligned_sized) */
  uint64_t seed; /* pattern seed of the contents */
  unsigned char kind;
  bool live;
};

static struct slot slots[NSLOTS];
static size_t nlive;      /* live slots */
static size_t nlive_zero; /* live slots whose request was 0 bytes */
static size_t live_bytes; /* sum of usable sizes of live slots */
static uint64_t seed_ctr;
static uint64_t base_objects; /* alloc_objects when the input started */
static unsigned long op_no;   /* operation number within the input, for messages */
static int trace;

/* ---------------------------------------------------------------- errors */

static void fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void fail(const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "\ngoalloc-fuzz: FAILURE at operation %lu: ", op_no);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\n");
  fflush(stderr);
  abort();
}

#define TR(...)                                                                \
  do {                                                                         \
    if (trace) fprintf(stderr, __VA_ARGS__);                                   \
  } while (0)

/* ---------------------------------------------------------------- input */

struct reader {
  const uint8_t *d;
  size_t n, i;
};

static uint8_t rd8(struct reader *r) { return r->i < r->n ? r->d[r->i++] : 0; }
static uint16_t rd16(struct reader *r) {
  uint16_t lo = rd8(r);
  return (uint16_t)(lo | (uint16_t)rd8(r) << 8);
}

#ifdef HAVE_CLASS_TABLE
#define NBOUND (GA_NUM_SIZE_CLASSES - 1)
static size_t boundary(unsigned i) { return ga_class_size[1 + i % NBOUND]; }
#else
#define NBOUND 24
static size_t boundary(unsigned i) {
  i %= NBOUND;
  return (size_t)(i & 1 ? 3 : 2) << (2 + i / 2); /* 8, 12, 16, 24, ... */
}
#endif

/* A size drawn from one of several ranges chosen by the first byte, so that
 * tiny, small, class-boundary, page-boundary and large sizes all stay
 * reachable by a one-byte mutation. */
static size_t rd_size(struct reader *r) {
  uint8_t k = rd8(r);
  int delta = (int)((k >> 3) % 3) - 1; /* -1, 0, +1 around a boundary */
  size_t s;
  switch (k & 7) {
  case 0: return rd8(r) % 17; /* 0..16: tiny allocator territory */
  case 1: return 17 + rd16(r) % 1008;
  case 2: return 1025 + rd16(r) % (32768 - 1024);
  case 3: s = boundary(rd8(r)); break;
  case 4: s = (size_t)(1 + rd8(r) % 40) * 8192; break; /* whole runtime pages */
  case 5: return 32769 + rd16(r); /* just above the small/large limit */
  case 6: return 32769 + (size_t)rd16(r) * 4; /* large, up to ~288 KiB */
  default: s = (size_t)1 << (rd8(r) % 21); break; /* powers of two up to 1 MiB */
  }
  return s + (size_t)delta; /* s >= 1 so this never wraps */
}

/* Alignments 1..64 KiB, and occasionally up to 2 MiB. */
static size_t rd_align(struct reader *r) {
  uint8_t b = rd8(r);
  unsigned shift = b >= 0xF0 ? 17 + b % 5 : b % 17;
  return (size_t)1 << shift;
}

/* Requests no 64-bit Linux process can satisfy: above PTRDIFF_MAX or far
 * above any user address space (2^57 covers 5-level paging). */
static size_t rd_impossible(struct reader *r) {
  uint8_t b = rd8(r);
  uint16_t j = rd16(r);
  switch (b % 6) {
  case 0: return SIZE_MAX - j;
  case 1: return (size_t)PTRDIFF_MAX + 1 + j;
  case 2: return (size_t)PTRDIFF_MAX - j;
  case 3: return ((size_t)1 << 57) + j;
  case 4: return ((size_t)1 << 62) + (size_t)j * 4096;
  default: return SIZE_MAX - (size_t)j * 4096;
  }
}

/* ---------------------------------------------------------------- contents */

/* Word w of a block is seed ^ (w * K): distinct per block and per position,
 * and cheap enough (one add and one xor per word in the loops below) that
 * checking whole blocks stays affordable. */
#define PAT_K 0x9E3779B97F4A7C15ull
static inline uint64_t pat_word(uint64_t seed, uint64_t w) { return seed ^ (w * PAT_K); }
static inline uint8_t pat_byte(uint64_t seed, size_t i) {
  return (uint8_t)(pat_word(seed, i >> 3) >> (8 * (i & 7)));
}
/* Tail bytes (beyond the request, within usable size) use a different stream
 * so a realloc that copies too little or too much shows up. */
static inline uint64_t tail_seed(uint64_t seed) { return seed ^ 0xA5A5A5A5C3C3C3C3ull; }

/* Byte i of the pattern is byte i%8 of word i/8, whatever the alignment of
 * the block, so refilling a sub-range continues the same pattern. */
HOT_LOOP static void pat_fill(unsigned char *p, size_t from, size_t to, uint64_t seed) {
  size_t i = from;
  for (; i < to && (i & 7); i++) p[i] = pat_byte(seed, i);
  uint64_t acc = (i >> 3) * PAT_K;
  for (; i + 8 <= to; i += 8, acc += PAT_K) {
    uint64_t w = seed ^ acc;
    memcpy(p + i, &w, 8);
  }
  for (; i < to; i++) p[i] = pat_byte(seed, i);
}

/* Offset of the first byte in [from, to) not matching the pattern, or SIZE_MAX. */
HOT_LOOP static size_t pat_find_bad(const unsigned char *p, size_t from, size_t to, uint64_t seed) {
  size_t i = from;
  for (; i < to && (i & 7); i++)
    if (p[i] != pat_byte(seed, i)) return i;
  uint64_t acc = (i >> 3) * PAT_K, diff = 0;
  /* OR differences over chunks (no early exit keeps the loop vectorizable),
   * then find the byte in the first bad chunk. */
  for (; i + 512 <= to; i += 512) {
    for (size_t k = 0; k < 512; k += 8, acc += PAT_K) {
      uint64_t w;
      memcpy(&w, p + i + k, 8);
      diff |= w ^ seed ^ acc;
    }
    if (diff) break;
  }
  for (; i < to; i++)
    if (p[i] != pat_byte(seed, i)) return i;
  return SIZE_MAX;
}

HOT_LOOP static size_t find_nonzero(const unsigned char *p, size_t n) {
  size_t i = 0;
  uint64_t acc = 0;
  for (; i + 512 <= n; i += 512) { /* as in pat_find_bad */
    for (size_t k = 0; k < 512; k += 8) {
      uint64_t w;
      memcpy(&w, p + i + k, 8);
      acc |= w;
    }
    if (acc) break;
  }
  for (; i < n; i++)
    if (p[i] != 0) return i;
  return SIZE_MAX;
}

static void dump_around(const unsigned char *p, size_t off, size_t len, uint64_t seed, bool zero) {
  size_t a = off > 16 ? off - 16 : 0, b = off + 16 < len ? off + 16 : len;
  fprintf(stderr, "  offset  got  want\n");
  for (size_t i = a; i < b; i++)
    fprintf(stderr, "  %6zu   %02x   %02x%s\n", i, p[i], zero ? 0 : pat_byte(seed, i),
            i == off ? "  <== first difference" : "");
}

static void slot_describe(int idx, const struct slot *s) {
  fprintf(stderr, "  slot %d: p=%p req=%zu usable=%zu align=%zu kind=%d\n", idx, (void *)s->p,
          s->req, s->usable, s->align, s->kind);
}

/* Checks a live block's contents and that usable_size has not changed. */
static void verify(int idx, const char *when) {
  struct slot *s = &slots[idx];
  size_t bad = pat_find_bad(s->p, 0, s->req, s->seed);
  if (bad != SIZE_MAX) {
    slot_describe(idx, s);
    dump_around(s->p, bad, s->req, s->seed, false);
    fail("contents of slot %d corrupted at offset %zu (%s)", idx, bad, when);
  }
  bad = pat_find_bad(s->p, s->req, s->usable, tail_seed(s->seed));
  if (bad != SIZE_MAX) {
    slot_describe(idx, s);
    dump_around(s->p, bad, s->usable, tail_seed(s->seed), false);
    fail("bytes past the request (within usable size) of slot %d corrupted at offset %zu (%s)",
         idx, bad, when);
  }
  size_t us = goalloc_usable_size(s->p);
  if (us != s->usable) {
    slot_describe(idx, s);
    fail("goalloc_usable_size(%p) changed from %zu to %zu (%s)", (void *)s->p, s->usable, us,
         when);
  }
}

/* ---------------------------------------------------------------- model */

static size_t natural_align(size_t n) {
  if (n == 0) return 1;
  if (n >= 16) return 16;
  return n & -n; /* largest power of two dividing n */
}

static void slot_drop(int idx) {
  struct slot *s = &slots[idx];
  s->live = false;
  nlive--;
  if (s->req == 0) nlive_zero--;
  live_bytes -= s->usable;
}

/* Blocks are intervals [p, p + usable); a 0-byte block with usable 0 is a
 * point and overlaps nothing. */
HOT_LOOP static void check_overlap(int idx, const unsigned char *p, size_t len) {
  if (len == 0) return;
  for (int j = 0; j < NSLOTS; j++) {
    const struct slot *o = &slots[j];
    if (!o->live || j == idx || o->usable == 0) continue;
    if (p < o->p + o->usable && o->p < p + len) {
      slot_describe(j, o);
      fail("new block %p..%p (slot %d) overlaps the live block of slot %d", (const void *)p,
           (const void *)(p + len), idx, j);
    }
  }
}

/* Records a fresh block in slot idx (which must be empty) after checking
 * alignment, usable size, overlap and (for calloc) zero contents, then fills
 * it with a new pattern. */
static void adopt(int idx, void *ptr, size_t req, size_t align, enum kind kind, bool zeroed,
                  const char *what) {
  struct slot *s = &slots[idx];
  unsigned char *p = ptr;
  if (p == NULL) {
    if (req == 0) return; /* malloc(0) may return NULL */
    fail("%s(%zu) returned NULL for a satisfiable request (%zu bytes live), errno %d", what, req,
         live_bytes, errno);
  }
  if ((uintptr_t)p & (align - 1))
    fail("%s(%zu) returned %p, not aligned to %zu", what, req, (void *)p, align);
  size_t us = goalloc_usable_size(p);
  if (us < req) fail("%s(%zu) returned %p with usable size %zu < request", what, req, (void *)p, us);
  check_overlap(idx, p, us);
  if (zeroed) {
    size_t i = find_nonzero(p, req);
    if (i != SIZE_MAX) {
      dump_around(p, i, req, 0, true);
      fail("%s: %zu-byte block %p not zeroed at offset %zu", what, req, (void *)p, i);
    }
  }
  s->p = p;
  s->req = req;
  s->usable = us;
  s->align = align;
  s->kind = (unsigned char)kind;
  s->seed = ++seed_ctr * 0x2545F4914F6CDD1Dull;
  s->live = true;
  nlive++;
  if (req == 0) nlive_zero++;
  live_bytes += us;
  pat_fill(p, 0, req, s->seed);
  pat_fill(p, req, us, tail_seed(s->seed));
}

/* Shrinks a request that would push the live total past the budget. */
static size_t budget(size_t n) {
  if (n > 4096 && live_bytes + n > LIVE_BUDGET) return n % 4096;
  return n;
}

static void release(int idx, int how) {
  struct slot *s = &slots[idx];
  verify(idx, "before free");
  /* Pick the free variant the block's origin allows. */
  if (how == 1 && s->kind == K_MALLOC) {
    TR("goalloc_free_sized(s[%d], %zu);\n", idx, s->req);
    goalloc_free_sized(s->p, s->req);
  } else if (how == 2 && s->kind == K_ALIGNED_ALLOC) {
    TR("goalloc_free_aligned_sized(s[%d], %zu, %zu);\n", idx, s->align, s->req);
    goalloc_free_aligned_sized(s->p, s->align, s->req);
  } else {
    TR("goalloc_free(s[%d]);\n", idx);
    goalloc_free(s->p);
  }
  slot_drop(idx);
}

/* Allocation ops put their block in slot idx, freeing what was there. */
static void vacate(int idx) {
  if (slots[idx].live) release(idx, 0);
}

/* Ops that need a live block take the first live slot at or after the given
 * one, so random inputs rarely waste an op on an empty slot. */
static int find_live(int idx) {
  for (int k = 0; k < NSLOTS; k++) {
    int j = (idx + k) % NSLOTS;
    if (slots[j].live) return j;
  }
  return -1;
}

static void check_stats(const char *when) {
  goalloc_stats_t st;
  memset(&st, 0, sizeof st);
  st.struct_size = sizeof st;
  if (goalloc_get_stats(&st) != 0) fail("goalloc_get_stats failed (%s), errno %d", when, errno);
  /* Zero-byte blocks may or may not be objects (a shared zero-size base is
   * allowed), so they only widen the accepted range. */
  uint64_t lo = base_objects + (nlive - nlive_zero), hi = base_objects + nlive;
  if (st.alloc_objects < lo || st.alloc_objects > hi)
    fail("alloc_objects = %llu (%s), expected %llu..%llu: %zu live blocks (%zu of 0 bytes) on "
         "top of the %llu objects at input start",
         (unsigned long long)st.alloc_objects, when, (unsigned long long)lo,
         (unsigned long long)hi, nlive, nlive_zero, (unsigned long long)base_objects);
  if (st.large_objects > st.alloc_objects)
    fail("large_objects %llu > alloc_objects %llu (%s)", (unsigned long long)st.large_objects,
         (unsigned long long)st.alloc_objects, when);
}

/* ---------------------------------------------------------------- ops */

static void do_malloc(int idx, size_t n, bool noscan) {
  vacate(idx);
  errno = 0;
  void *p = noscan ? goalloc_malloc_noscan(n) : goalloc_malloc(n);
  TR("s[%d] = goalloc_malloc%s(%zu); /* %p */\n", idx, noscan ? "_noscan" : "", n, p);
  adopt(idx, p, n, natural_align(n), K_MALLOC, false, noscan ? "malloc_noscan" : "malloc");
}

static void do_calloc(int idx, size_t total, unsigned cnt, bool noscan) {
  size_t el = total / cnt, n = el * cnt;
  vacate(idx);
  errno = 0;
  void *p = noscan ? goalloc_calloc_noscan(cnt, el) : goalloc_calloc(cnt, el);
  TR("s[%d] = goalloc_calloc%s(%u, %zu); /* %p */\n", idx, noscan ? "_noscan" : "", cnt, el, p);
  adopt(idx, p, n, natural_align(n), K_MALLOC, true, noscan ? "calloc_noscan" : "calloc");
}

/* realloc / reallocarray of slot idx to n bytes (cnt elements for
 * reallocarray). An empty slot passes NULL, which is malloc. The kept prefix
 * is checked where the allocator left it, before anything is refilled. */
static void do_realloc(int idx, size_t n, unsigned cnt, bool array) {
  struct slot old = slots[idx];
  size_t el = n / cnt;
  if (array) n = el * cnt;
  if (!old.live) {
    errno = 0;
    void *p = array ? goalloc_reallocarray(NULL, cnt, el) : goalloc_realloc(NULL, n);
    TR("s[%d] = goalloc_realloc%s(NULL, %zu); /* %p */\n", idx, array ? "array" : "", n, p);
    adopt(idx, p, n, natural_align(n), K_MALLOC, false, array ? "reallocarray" : "realloc");
    return;
  }
  verify(idx, "before realloc");
  errno = 0;
  unsigned char *q = array ? goalloc_reallocarray(old.p, cnt, el) : goalloc_realloc(old.p, n);
  if (array)
    TR("s[%d] = goalloc_reallocarray(s[%d] /* %p */, %u, %zu); /* %p */\n", idx, idx,
       (void *)old.p, cnt, el, (void *)q);
  else
    TR("s[%d] = goalloc_realloc(s[%d] /* %p size %zu */, %zu); /* %p */\n", idx, idx,
       (void *)old.p, old.req, n, (void *)q);
  if (q == NULL) {
    if (n == 0) {
      slot_drop(idx); /* freed, as glibc does; a leak shows in the stats check */
      return;
    }
    fail("realloc(%p, %zu) returned NULL for a satisfiable request, errno %d", (void *)old.p, n,
         errno);
  }
  slot_drop(idx);
  size_t align = natural_align(n);
  if ((uintptr_t)q & (align - 1))
    fail("realloc(%p, %zu) returned %p, not aligned to %zu", (void *)old.p, n, (void *)q, align);
  size_t us = goalloc_usable_size(q);
  if (us < n)
    fail("realloc(%p, %zu) returned %p with usable size %zu < request", (void *)old.p, n,
         (void *)q, us);
  check_overlap(idx, q, us);
  size_t keep = old.req < n ? old.req : n;
  size_t bad = pat_find_bad(q, 0, keep, old.seed);
  if (bad != SIZE_MAX) {
    slot_describe(idx, &old);
    fprintf(stderr, "  new block %p usable %zu\n", (void *)q, us);
    dump_around(q, bad, keep, old.seed, false);
    fail("realloc(%p, %zu) -> %p lost contents at offset %zu of the %zu kept bytes",
         (void *)old.p, n, (void *)q, bad, keep);
  }
  struct slot *s = &slots[idx];
  s->p = q;
  s->req = n;
  s->usable = us;
  s->align = align;
  s->kind = K_MALLOC;
  s->seed = old.seed; /* the kept prefix already holds this pattern */
  s->live = true;
  nlive++;
  if (n == 0) nlive_zero++;
  live_bytes += us;
  pat_fill(q, keep, n, s->seed);
  pat_fill(q, n, us, tail_seed(s->seed));
}

static void do_posix_memalign(int idx, size_t align, size_t n) {
  vacate(idx);
  void *out = (void *)&slots; /* sentinel: must be left alone on failure */
  int rc = goalloc_posix_memalign(&out, align, n);
  TR("rc = goalloc_posix_memalign(&s[%d], %zu, %zu); /* %d, %p */\n", idx, align, n, rc, out);
  bool valid = align >= sizeof(void *) && (align & (align - 1)) == 0;
  if (!valid) {
    if (rc != EINVAL) fail("posix_memalign(alignment %zu) returned %d, not EINVAL", align, rc);
    if (out != (void *)&slots) fail("posix_memalign with a bad alignment modified *out");
    return;
  }
  if (rc != 0) fail("posix_memalign(%zu, %zu) failed with %d", align, n, rc);
  adopt(idx, out, n, align, K_OTHER, false, "posix_memalign");
}

static void do_aligned(int idx, size_t align, size_t n, int which) {
  vacate(idx);
  errno = 0;
  void *p;
  size_t want = align;
  const char *what;
  enum kind kind = K_OTHER;
  switch (which) {
  case 0:
    p = goalloc_aligned_alloc(align, n);
    what = "aligned_alloc";
    kind = K_ALIGNED_ALLOC;
    break;
  case 1:
    p = goalloc_memalign(align, n);
    what = "memalign";
    break;
  case 2:
    p = goalloc_valloc(n);
    what = "valloc";
    want = align = PAGE;
    break;
  default:
    p = goalloc_pvalloc(n);
    what = "pvalloc";
    want = align = PAGE;
    break;
  }
  TR("s[%d] = goalloc_%s(%zu, %zu); /* %p */\n", idx, what, align, n, p);
  if (which == 3 && p != NULL) {
    /* pvalloc rounds the request up to whole pages (glibc: pvalloc(0) is
     * not a page, so 0 stays 0). */
    size_t rounded = (n + PAGE - 1) & ~(size_t)(PAGE - 1);
    size_t us = goalloc_usable_size(p);
    if (us < rounded) fail("pvalloc(%zu) gave usable size %zu < %zu", n, us, rounded);
  }
  adopt(idx, p, n, want, kind, false, what);
}

static void expect_enomem(void *p, const char *what, size_t a, size_t b) {
  if (p != NULL) fail("%s(%zu, %zu) succeeded (%p) for an impossible request", what, a, b, p);
  if (errno != ENOMEM) fail("%s(%zu, %zu) returned NULL with errno %d, not ENOMEM", what, a, b, errno);
}

/* Impossible requests of every entry point; realloc ones must leave the old
 * block as it was. */
static void do_impossible(struct reader *r, int idx) {
  uint8_t which = rd8(r);
  size_t n = rd_impossible(r);
  size_t a = rd_align(r);
  void *p;
  errno = 0;
  TR("/* impossible request #%d, size %zu, align %zu, slot %d */\n", which % 13, n, a, idx);
  switch (which % 13) {
  case 0: expect_enomem(goalloc_malloc(n), "malloc", n, 0); break;
  case 1: expect_enomem(goalloc_malloc_noscan(n), "malloc_noscan", n, 0); break;
  case 2: { /* n*m overflows, or the product is too big */
    size_t m = 2 + rd8(r);
    expect_enomem(goalloc_calloc(m, n / 2 + 1), "calloc", m, n / 2 + 1);
    break;
  }
  case 3: {
    size_t m = (size_t)1 << (32 + rd8(r) % 8);
    expect_enomem(goalloc_calloc_noscan(m, m), "calloc_noscan", m, m);
    break;
  }
  case 4: expect_enomem(goalloc_aligned_alloc(a, n), "aligned_alloc", a, n); break;
  case 5: expect_enomem(goalloc_memalign(a, n), "memalign", a, n); break;
  case 6: expect_enomem(goalloc_valloc(n), "valloc", n, 0); break;
  case 7: expect_enomem(goalloc_pvalloc(n), "pvalloc", n, 0); break;
  case 8: {
    p = (void *)&slots;
    if (a < sizeof(void *)) a = sizeof(void *);
    int rc = goalloc_posix_memalign(&p, a, n);
    if (rc != ENOMEM) fail("posix_memalign(%zu, %zu) returned %d, not ENOMEM", a, n, rc);
    if (p != (void *)&slots) fail("failed posix_memalign(%zu, %zu) modified *out", a, n);
    break;
  }
  case 9:
  case 10:
  case 11:
  case 12: {
    int j = find_live(idx);
    void *old = j >= 0 ? slots[j].p : NULL;
    switch (which % 13) {
    case 9: p = goalloc_realloc(old, n); break;
    case 10: p = goalloc_reallocarray(old, 2 + rd8(r), n / 2 + 1); break;
    case 11: p = goalloc_reallocarray(old, (size_t)1 << 33, (size_t)1 << 31); break;
    default: p = goalloc_realloc(old, (size_t)PTRDIFF_MAX + 1); break;
    }
    expect_enomem(p, "realloc/reallocarray", (size_t)(uintptr_t)old, n);
    if (j >= 0) verify(j, "after a failed realloc");
    break;
  }
  }
}

/* Checks both ends of a block and a few bytes in every 4 KiB page of it: a
 * page wrongly returned to the OS (or handed to someone else) shows there, at
 * a fraction of a full check's cost. Full checks still happen at free. */
static bool range_ok(const struct slot *s, size_t a, size_t b) {
  size_t r = b < s->req ? b : s->req;
  if (a < r && pat_find_bad(s->p, a, r, s->seed) != SIZE_MAX) return false;
  a = a > s->req ? a : s->req;
  return a >= b || pat_find_bad(s->p, a, b, tail_seed(s->seed)) == SIZE_MAX;
}

static void verify_sampled(int idx, const char *when) {
  const struct slot *s = &slots[idx];
  if (s->usable <= 4 * PAGE) {
    verify(idx, when);
    return;
  }
  bool ok = range_ok(s, 0, 64) && range_ok(s, s->usable - 64, s->usable) &&
            goalloc_usable_size(s->p) == s->usable;
  for (size_t off = (PAGE - ((uintptr_t)s->p & (PAGE - 1))) & (PAGE - 1); ok && off < s->usable;
       off += PAGE)
    ok = range_ok(s, off, off + 16 < s->usable ? off + 16 : s->usable);
  if (!ok) verify(idx, when); /* finds and reports the first bad byte */
}

/* Checks every live block, e.g. after trim returned pages to the OS. */
static void verify_all(const char *when) {
  for (int j = 0; j < NSLOTS; j++)
    if (slots[j].live) verify_sampled(j, when);
}

static void do_trim(struct reader *r) {
  uint8_t b = rd8(r);
  size_t pad = b < 192 ? 0 : (size_t)1 << (b % 24);
  int rc = goalloc_trim(pad);
  TR("goalloc_trim(%zu); /* %d */\n", pad, rc);
  if (rc != 0 && rc != 1) fail("goalloc_trim returned %d", rc);
  verify_all("after trim");
  if (pad == 0) {
    goalloc_stats_t st;
    memset(&st, 0, sizeof st);
    st.struct_size = sizeof st;
    if (goalloc_get_stats(&st) != 0) fail("goalloc_get_stats failed after trim");
    if (st.heap_free != 0)
      fail("goalloc_trim(0) left heap_free = %llu bytes of free pages backed",
           (unsigned long long)st.heap_free);
  }
}

enum {
  OP_MALLOC,
  OP_MALLOC_NOSCAN,
  OP_CALLOC,
  OP_CALLOC_NOSCAN,
  OP_REALLOC,
  OP_REALLOC_REL, /* grow or shrink by a small delta: the in-place paths */
  OP_REALLOCARRAY,
  OP_POSIX_MEMALIGN,
  OP_ALIGNED_ALLOC,
  OP_MEMALIGN,
  OP_VALLOC,
  OP_FREE,
  OP_FREE_SIZED,
  OP_USABLE_SIZE,
  OP_TRIM,
  OP_STATS,
  OP_CHECK,
  OP_IMPOSSIBLE,
  OP_BURST,      /* many same-size blocks: fills spans */
  OP_FREE_RANGE, /* frees a run of slots: empties spans */
  OP_REWRITE,    /* new contents for a live block */
  OP_COUNT
};

static void run_op(struct reader *r) {
  uint8_t op = rd8(r) % OP_COUNT;
  int idx = rd8(r) % NSLOTS;
  switch (op) {
  case OP_MALLOC:
  case OP_MALLOC_NOSCAN: {
    size_t n = budget(rd_size(r));
    do_malloc(idx, n, op == OP_MALLOC_NOSCAN);
    break;
  }
  case OP_CALLOC:
  case OP_CALLOC_NOSCAN: {
    size_t n = budget(rd_size(r));
    unsigned cnt = 1 + rd8(r) % 16;
    do_calloc(idx, n, cnt, op == OP_CALLOC_NOSCAN);
    break;
  }
  case OP_REALLOC: {
    size_t n = rd_size(r);
    int j = rd8(r) & 1 ? find_live(idx) : idx;
    if (j < 0) j = idx;
    if (!slots[j].live || n > slots[j].usable) n = budget(n); /* only growth costs */
    uint8_t zero = rd8(r);
    if (zero == 0xFF) n = 0; /* realloc(p, 0) stays reachable but rare */
    do_realloc(j, n, 1, false);
    break;
  }
  case OP_REALLOC_REL: {
    int j = find_live(idx);
    if (j < 0) j = idx;
    size_t cur = slots[j].live ? slots[j].req : 0;
    uint8_t b = rd8(r);
    size_t d = rd8(r);
    if (b & 1) d <<= (b >> 1) % 14; /* from a byte to ~1 MiB */
    size_t n;
    if (b & 0x80) n = d < cur ? cur - d : 1;
    else n = budget(cur + d);
    if (n == 0) n = 1;
    do_realloc(j, n, 1, false);
    break;
  }
  case OP_REALLOCARRAY: {
    int j = find_live(idx);
    if (j < 0) j = idx;
    size_t n = budget(rd_size(r));
    unsigned cnt = 1 + rd8(r) % 16;
    if (n / cnt == 0) n = cnt; /* keep it clear of realloc(p, 0) */
    do_realloc(j, n, cnt, true);
    break;
  }
  case OP_POSIX_MEMALIGN: {
    uint8_t b = rd8(r);
    size_t a;
    if (b >= 0xF8) {
      static const size_t bad[] = {0, 1, 2, 4, 24, 48, 3, (size_t)1 << 63 | 8};
      a = bad[b & 7];
    } else {
      a = (size_t)8 << (b % 14); /* 8..64 KiB */
    }
    size_t n = budget(rd_size(r));
    do_posix_memalign(idx, a, n);
    break;
  }
  case OP_ALIGNED_ALLOC:
  case OP_MEMALIGN: {
    size_t a = rd_align(r);
    size_t n = budget(rd_size(r));
    do_aligned(idx, a, n, op == OP_ALIGNED_ALLOC ? 0 : 1);
    break;
  }
  case OP_VALLOC: {
    uint8_t b = rd8(r);
    size_t n = budget(rd_size(r));
    do_aligned(idx, PAGE, n, 2 + (b & 1));
    break;
  }
  case OP_FREE:
  case OP_FREE_SIZED: {
    int j = find_live(idx);
    if (j < 0) {
      TR("goalloc_free(NULL);\n");
      goalloc_free(NULL);
      goalloc_free_sized(NULL, 0);
      goalloc_free_aligned_sized(NULL, 16, 0);
      break;
    }
    release(j, op == OP_FREE ? 0 : 1 + (slots[j].kind == K_ALIGNED_ALLOC));
    break;
  }
  case OP_USABLE_SIZE: {
    int j = find_live(idx);
    if (j < 0) {
      size_t us = goalloc_usable_size(NULL);
      if (us != 0) fail("goalloc_usable_size(NULL) = %zu, not 0", us);
      break;
    }
    verify(j, "usable_size op"); /* includes usable_size == recorded */
    break;
  }
  case OP_TRIM: do_trim(r); break;
  case OP_STATS: check_stats("stats op"); break;
  case OP_CHECK: {
    int j = find_live(idx);
    if (j >= 0) verify(j, "check op");
    break;
  }
  case OP_IMPOSSIBLE: do_impossible(r, idx); break;
  case OP_BURST: {
    unsigned cnt = 1 + rd8(r) % 64;
    size_t n = rd_size(r);
    if (n > 4096) n %= 4096; /* bursts are about filling small spans */
    uint8_t b = rd8(r);
    for (unsigned k = 0; k < cnt; k++) {
      int j = (idx + (int)k) % NSLOTS;
      if (b & 1) {
        vacate(j);
        errno = 0;
        void *p = goalloc_calloc(1, n);
        TR("s[%d] = goalloc_calloc(1, %zu); /* %p */\n", j, n, p);
        adopt(j, p, n, natural_align(n), K_MALLOC, true, "calloc");
      } else {
        do_malloc(j, n, b & 2);
      }
    }
    break;
  }
  case OP_FREE_RANGE: {
    unsigned cnt = 1 + rd8(r) % 128;
    uint8_t b = rd8(r);
    for (unsigned k = 0; k < cnt; k++) {
      /* Backwards or strided, so spans empty in different orders. */
      int j = b & 1 ? (idx + NSLOTS - (int)k) % NSLOTS : (idx + (int)k * (1 + (b >> 1) % 4)) % NSLOTS;
      if (slots[j].live) release(j, (b >> 3) % 3);
    }
    break;
  }
  case OP_REWRITE: {
    int j = find_live(idx);
    if (j < 0) break;
    verify(j, "before rewrite");
    struct slot *s = &slots[j];
    s->seed = ++seed_ctr * 0x2545F4914F6CDD1Dull;
    pat_fill(s->p, 0, s->req, s->seed);
    pat_fill(s->p, s->req, s->usable, tail_seed(s->seed));
    break;
  }
  }
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  const char *t = getenv("FUZZ_TRACE");
  trace = t != NULL && *t != '\0' && *t != '0';
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct reader r = {data, size, 0};
  memset(slots, 0, sizeof slots);
  nlive = nlive_zero = live_bytes = 0;
  seed_ctr = 0;
  op_no = 0;

  goalloc_stats_t st;
  memset(&st, 0, sizeof st);
  st.struct_size = sizeof st;
  if (goalloc_get_stats(&st) != 0) fail("goalloc_get_stats failed at input start");
  base_objects = st.alloc_objects;
  TR("/* input of %zu bytes, %llu objects live at start */\n", size,
     (unsigned long long)base_objects);

  while (r.i < r.n) {
    op_no++;
    run_op(&r);
  }

  /* Free everything, in an order the input's last byte picks. */
  op_no++;
  bool backwards = size > 0 && (data[size - 1] & 1);
  for (int k = 0; k < NSLOTS; k++) {
    int j = backwards ? NSLOTS - 1 - k : k;
    if (slots[j].live) release(j, (j + (int)size) % 3);
  }
  check_stats("after freeing everything at the end of the input");
  TR("/* end of input */\n");
  return 0;
}
