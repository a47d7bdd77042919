/* Shared helpers for the goalloc stress programs.
 *
 * Every program calls the allocator through the S_* macros below. The normal
 * build links libgoalloc.so and uses the libc names, so it tests what a real
 * program sees. The sanitizer builds (-DSTRESS_GOALLOC_API) link a static
 * sanitized build of core_src and use the goalloc_* names, because
 * ThreadSanitizer intercepts malloc/free itself and the core build does not
 * export the libc names anyway. */
#ifndef STRESS_COMMON_H
#define STRESS_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "goalloc.h"

#ifdef STRESS_GOALLOC_API
#define S_API "goalloc_*"
#define S_MALLOC(n) goalloc_malloc(n)
#define S_CALLOC(k, n) goalloc_calloc((k), (n))
#define S_REALLOC(p, n) goalloc_realloc((p), (n))
#define S_FREE(p) goalloc_free(p)
#define S_MEMALIGN(pp, a, n) goalloc_posix_memalign((pp), (a), (n))
#define S_ALIGNED_ALLOC(a, n) goalloc_aligned_alloc((a), (n))
#define S_USABLE(p) goalloc_usable_size(p)
#define S_TRIM(pad) goalloc_trim(pad)
#else
#define S_API "libc names"
#define S_MALLOC(n) malloc(n)
#define S_CALLOC(k, n) calloc((k), (n))
#define S_REALLOC(p, n) realloc((p), (n))
#define S_FREE(p) free(p)
#define S_MEMALIGN(pp, a, n) posix_memalign((pp), (a), (n))
#define S_ALIGNED_ALLOC(a, n) aligned_alloc((a), (n))
#define S_USABLE(p) malloc_usable_size(p)
#define S_TRIM(pad) malloc_trim(pad)
#endif

#define KIB ((size_t)1024)
#define MIB ((size_t)1024 * 1024)

/* ---- failure reporting ------------------------------------------------ */

/* Uses write(2) on a stack buffer: callable in a forked child and from any
 * thread, and never allocates from the heap under test. */
__attribute__((format(printf, 1, 2), noreturn)) static void
stress_fail(const char *fmt, ...) {
  char buf[512];
  int n = snprintf(buf, sizeof buf, "stress FAIL [pid %d]: ", (int)getpid());
  va_list ap;
  va_start(ap, fmt);
  n += vsnprintf(buf + n, sizeof buf - (size_t)n - 2, fmt, ap);
  va_end(ap);
  if (n > (int)sizeof buf - 2)
    n = (int)sizeof buf - 2;
  buf[n++] = '\n';
  ssize_t w = write(2, buf, (size_t)n);
  (void)w;
  abort();
}

__attribute__((format(printf, 1, 2))) static void stress_log(const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
  va_end(ap);
  if (n > (int)sizeof buf - 2)
    n = (int)sizeof buf - 2;
  buf[n++] = '\n';
  ssize_t w = write(1, buf, (size_t)n);
  (void)w;
}

/* ---- deterministic random numbers (splitmix64) ------------------------ */

typedef struct {
  uint64_t s;
} rng_t;

static inline uint64_t rng_next(rng_t *r) {
  uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static inline uint64_t rng_below(rng_t *r, uint64_t n) { return rng_next(r) % n; }

/* Inclusive range [lo, hi]. */
static inline size_t rng_range(rng_t *r, size_t lo, size_t hi) {
  return lo + (size_t)rng_below(r, (uint64_t)(hi - lo) + 1);
}

/* Size mix used by the programs: many tiny (tiny allocator) and small
 * (size-classed) objects, some up to 64 KiB (crossing the 32 KiB large-object
 * threshold), and big_permille per thousand up to max_big. */
static inline size_t rng_size(rng_t *r, unsigned big_permille, size_t max_big) {
  uint64_t x = rng_below(r, 1000);
  if (x < big_permille && max_big > 64 * KIB)
    return rng_range(r, 64 * KIB + 1, max_big);
  x = rng_below(r, 100);
  if (x < 30)
    return rng_range(r, 1, 15);
  if (x < 70)
    return rng_range(r, 16, 512);
  if (x < 88)
    return rng_range(r, 513, 8 * KIB);
  return rng_range(r, 8 * KIB + 1, 64 * KIB);
}

/* ---- content patterns ------------------------------------------------- */

/* Byte i of a block holds byte (i % 8) of pat_word(key, i / 8). Every block
 * gets its own random key, so two live blocks that overlap, or a block handed
 * out twice, or a stray write by the allocator (free-list link, header) all
 * show up as a mismatch. */
static inline uint64_t pat_word(uint64_t key, size_t j) {
  return key ^ ((uint64_t)(j + 1) * 0x9E3779B97F4A7C15ull);
}

static inline unsigned char pat_byte(uint64_t key, size_t i) {
  return (unsigned char)(pat_word(key, i >> 3) >> ((i & 7) * 8));
}

/* Fills bytes [from, n). */
static inline void pat_fill(void *p, size_t from, size_t n, uint64_t key) {
  unsigned char *b = p;
  size_t i = from;
  for (; i < n && (i & 7); i++)
    b[i] = pat_byte(key, i);
  for (; i + 8 <= n; i += 8) {
    uint64_t w = pat_word(key, i >> 3);
    memcpy(b + i, &w, 8);
  }
  for (; i < n; i++)
    b[i] = pat_byte(key, i);
}

/* Checks bytes [from, n); returns the first bad offset or SIZE_MAX. */
static inline size_t pat_find_bad(const void *p, size_t from, size_t n, uint64_t key) {
  const unsigned char *b = p;
  size_t i = from;
  for (; i < n && (i & 7); i++)
    if (b[i] != pat_byte(key, i))
      return i;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    memcpy(&w, b + i, 8);
    if (w != pat_word(key, i >> 3))
      break;
  }
  for (; i < n; i++)
    if (b[i] != pat_byte(key, i))
      return i;
  return SIZE_MAX;
}

static inline void pat_check(const void *p, size_t from, size_t n, uint64_t key,
                             const char *what) {
  size_t bad = pat_find_bad(p, from, n, key);
  if (bad != SIZE_MAX)
    stress_fail("%s: block %p size %zu corrupted at offset %zu: byte 0x%02x, want 0x%02x",
                what, p, n, bad, ((const unsigned char *)p)[bad], pat_byte(key, bad));
}

/* ---- per-allocation contract checks ---------------------------------- */

/* goalloc contract: 16-byte alignment for sizes >= 16, else the largest
 * power of two dividing the size; usable size covers the request. */
static inline void check_block(const void *p, size_t n, size_t align, const char *what) {
  if (p == NULL)
    stress_fail("%s(%zu) returned NULL (errno %d)", what, n, errno);
  size_t want = n >= 16 ? 16 : (n & (~n + 1));
  if (align > want)
    want = align;
  if (want > 1 && ((uintptr_t)p & (want - 1)))
    stress_fail("%s(%zu) returned %p, not %zu-byte aligned", what, n, p, want);
  size_t us = S_USABLE((void *)p);
  if (us < n)
    stress_fail("%s(%zu) returned %p with usable size %zu", what, n, p, us);
}

/* ---- which allocator is running --------------------------------------- */

#ifndef STRESS_GOALLOC_API
#include <dlfcn.h>
/* The normal build calls the libc names; make sure they really resolve to
 * goalloc (linked or LD_PRELOADed), or the test would pass on glibc. */
static inline void stress_require_goalloc(void) {
  static const char *const names[] = {"malloc", "free", "realloc", "calloc"};
  for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++) {
    Dl_info di;
    void *f = dlsym(RTLD_DEFAULT, names[i]);
    if (!f || !dladdr(f, &di) || !di.dli_fname || !strstr(di.dli_fname, "goalloc"))
      stress_fail("%s() resolves to %s, not to goalloc", names[i],
                  f && dladdr(f, &di) && di.dli_fname ? di.dli_fname : "nothing");
  }
}
#else
static inline void stress_require_goalloc(void) {}
#endif

/* ---- process and heap measurements ------------------------------------ */

static inline size_t rss_bytes(void) {
  /* Raw read(2): stdio would allocate a buffer from the heap under test. */
  char buf[128];
  int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    stress_fail("cannot open /proc/self/statm (errno %d)", errno);
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0)
    stress_fail("cannot read /proc/self/statm");
  buf[n] = 0;
  unsigned long size = 0, resident = 0;
  if (sscanf(buf, "%lu %lu", &size, &resident) != 2)
    stress_fail("cannot parse /proc/self/statm: %s", buf);
  return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

static inline goalloc_stats_t stats_now(void) {
  goalloc_stats_t st;
  memset(&st, 0, sizeof st);
  st.struct_size = sizeof st;
  if (goalloc_get_stats(&st) != 0)
    stress_fail("goalloc_get_stats failed (errno %d)", errno);
  return st;
}

static inline double mib(uint64_t b) { return (double)b / (double)MIB; }

/* ---- arguments ---------------------------------------------------------- */

/* Programs take optional "name=value" arguments (e.g. ops=2000 threads=4)
 * so that meson can run the same source small under the sanitizers. */
static inline unsigned long arg_ul(int argc, char **argv, const char *name, unsigned long def) {
  size_t len = strlen(name);
  for (int i = 1; i < argc; i++)
    if (strncmp(argv[i], name, len) == 0 && argv[i][len] == '=')
      return strtoul(argv[i] + len + 1, NULL, 0);
  return def;
}

static inline double now_sec(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#endif
