/* common.h - shared helpers for the goalloc benchmark workloads.
 *
 * Every workload is a small, deterministic C program: fixed seeds, no timing
 * of its own (bench/run measures wall time, CPU time and peak RSS from the
 * outside).  Each one stamps the blocks it allocates and checks the stamps
 * before it frees them; any mismatch prints "CORRUPT: ..." on stderr and
 * exits with status 3, which bench/run reports as a failure instead of a time.
 *
 * Common options:  -t THREADS  -n ITERATIONS  -s SEED  (plus per-workload
 * ones, see each file's header).  Every program prints its final RSS on
 * stderr as "final_rss_kb=N" (read from /proc/self/statm).
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define UNUSED __attribute__((unused))
#define NOINLINE __attribute__((noinline))
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

/* ---- failure reporting --------------------------------------------------- */

static const char *bench_name = "workload";

__attribute__((noreturn, unused, format(printf, 1, 2))) static void corrupt(const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "CORRUPT: %s: ", bench_name);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  fflush(stderr);
  _exit(3);
}

__attribute__((noreturn, unused, format(printf, 1, 2))) static void die(const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "ERROR: %s: ", bench_name);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  fflush(stderr);
  _exit(2);
}

static inline void *xmalloc(size_t n) {
  void *p = malloc(n);
  if (UNLIKELY(!p)) die("malloc(%zu) returned NULL", n);
  return p;
}

/* ---- deterministic pseudo-random numbers ---------------------------------- */

/* The splitmix64 finaliser: a bijective 64-bit mixer. */
static inline uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

/* xorshift64* generator; state must never be zero. */
typedef struct { uint64_t s; } rng_t;

static inline void rng_seed(rng_t *r, uint64_t seed) {
  r->s = mix64(seed) | 1;
}
static inline uint64_t rng_next(rng_t *r) {
  uint64_t x = r->s;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  r->s = x;
  return x * 0x2545f4914f6cdd1dull;
}
/* Uniform in [lo, hi] (inclusive); the multiply-shift map has negligible bias here. */
static inline uint64_t rng_range(rng_t *r, uint64_t lo, uint64_t hi) {
  uint64_t span = hi - lo + 1;
  return lo + (uint64_t)(((unsigned __int128)rng_next(r) * span) >> 64);
}
/* Log-uniform in [lo, hi]: as many blocks of each power-of-two band. */
static inline uint64_t rng_logrange(rng_t *r, uint64_t lo, uint64_t hi) {
  int lb = 63 - __builtin_clzll(lo), hb = 63 - __builtin_clzll(hi);
  int b = (int)rng_range(r, (uint64_t)lb, (uint64_t)hb);
  uint64_t a = (uint64_t)1 << b, z = a * 2 - 1;
  if (a < lo) a = lo;
  if (z > hi) z = hi;
  return rng_range(r, a, z);
}

/* ---- block stamps ------------------------------------------------------- */

/* A stamped block of SIZE bytes carrying a 40-bit id:
 *   size >= 16: word 0 = mix64(id), word 1 = id | size << 40, and the last
 *               byte (when it lies past word 1) = low byte of mix64(id) ^ 0xa5;
 *   size <  16: every byte is a function of (id, index).
 * Word 1 alone identifies the block, so a workload may reuse word 0 as a
 * list link and still check the block (stamp_check_w1). Sizes are < 2^24. */
#define ID_MASK ((1ull << 40) - 1)

static inline void stamp(void *p, size_t size, uint64_t id) {
  uint8_t *b = p;
  id &= ID_MASK;
  if (size >= 16) {
    uint64_t h = mix64(id), w1 = id | ((uint64_t)size << 40);
    memcpy(b, &h, 8);
    memcpy(b + 8, &w1, 8);
    if (size > 16) b[size - 1] = (uint8_t)h ^ 0xa5;
  } else {
    uint64_t h = mix64(id ^ 0x5555);
    for (size_t i = 0; i < size; i++) b[i] = (uint8_t)(h >> (8 * (i & 7))) + (uint8_t)i;
  }
}

static inline void stamp_check(const void *p, size_t size, uint64_t id, const char *what) {
  const uint8_t *b = p;
  id &= ID_MASK;
  if (size >= 16) {
    uint64_t h = mix64(id), w0, w1, want1 = id | ((uint64_t)size << 40);
    memcpy(&w0, b, 8);
    memcpy(&w1, b + 8, 8);
    if (UNLIKELY(w0 != h || w1 != want1 || (size > 16 && b[size - 1] != ((uint8_t)h ^ 0xa5))))
      corrupt("%s: block %p (size %zu, id %llu) overwritten: %016llx %016llx", what, (void *)b, size,
              (unsigned long long)id, (unsigned long long)w0, (unsigned long long)w1);
  } else {
    uint64_t h = mix64(id ^ 0x5555);
    for (size_t i = 0; i < size; i++)
      if (UNLIKELY(b[i] != (uint8_t)((uint8_t)(h >> (8 * (i & 7))) + (uint8_t)i)))
        corrupt("%s: block %p (size %zu, id %llu) byte %zu overwritten", what, (void *)b, size,
                (unsigned long long)id, i);
  }
}

/* Checks a block of size >= 16 from word 1 and the last byte only (word 0
 * may have been reused as a link); returns the block's size. */
static inline size_t stamp_check_w1(const void *p, size_t minsize, size_t maxsize, const char *what) {
  const uint8_t *b = p;
  uint64_t w1;
  memcpy(&w1, b + 8, 8);
  size_t size = (size_t)(w1 >> 40);
  uint64_t id = w1 & ID_MASK;
  if (UNLIKELY(size < minsize || size > maxsize || size < 16))
    corrupt("%s: block %p header overwritten: %016llx", what, (void *)b, (unsigned long long)w1);
  if (UNLIKELY(size > 16 && b[size - 1] != ((uint8_t)mix64(id) ^ 0xa5)))
    corrupt("%s: block %p (size %zu, id %llu) tail overwritten", what, (void *)b, size,
            (unsigned long long)id);
  return size;
}

/* ---- options ------------------------------------------------------------ */

typedef struct {
  long threads;   /* -t */
  long iters;     /* -n */
  long seed;      /* -s */
  long extra[26]; /* other single-letter options, by letter */
  int has[26];
} opts_t;

/* Parses "-x N" pairs; letters in `allowed` besides t, n, s are accepted. */
UNUSED static void parse_opts(int argc, char **argv, opts_t *o, const char *allowed, const char *usage) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (a[0] != '-' || !a[1] || a[2] || i + 1 >= argc ||
        (a[1] != 't' && a[1] != 'n' && a[1] != 's' && !strchr(allowed, a[1]))) {
      fprintf(stderr, "usage: %s %s\n", argv[0], usage);
      exit(2);
    }
    char *end;
    errno = 0;
    long v = strtol(argv[++i], &end, 0);
    if (*end || errno || v < 0) {
      fprintf(stderr, "%s: bad value for %s: %s\n", argv[0], a, argv[i]);
      exit(2);
    }
    switch (a[1]) {
    case 't': o->threads = v; break;
    case 'n': o->iters = v; break;
    case 's': o->seed = v; break;
    default:
      if (a[1] >= 'a' && a[1] <= 'z') {
        o->extra[a[1] - 'a'] = v;
        o->has[a[1] - 'a'] = 1;
      }
    }
  }
  if (o->threads < 1) o->threads = 1;
}

static inline long opt_x(const opts_t *o, char c, long def) {
  return o->has[c - 'a'] ? o->extra[c - 'a'] : def;
}

/* ---- RSS ---------------------------------------------------------------- */

UNUSED static long rss_kb(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long size = 0, res = 0;
  if (f) {
    if (fscanf(f, "%ld %ld", &size, &res) != 2) res = 0;
    fclose(f);
  }
  return res * (sysconf(_SC_PAGESIZE) / 1024);
}

UNUSED static void report_final_rss(void) {
  fprintf(stderr, "final_rss_kb=%ld\n", rss_kb());
}

#endif
