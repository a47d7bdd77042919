/* api.c: the public goalloc_* entry points of include/goalloc.h. */
#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#include "goalloc.h"
#include "malloc_int.h"


static bool valid_align(size_t a) { return a && (a & (a - 1)) == 0; }

void *goalloc_malloc(size_t size) { return ga_malloc(size); }
void goalloc_free(void *p) { ga_free(p); }
void *goalloc_calloc(size_t n, size_t size) { return ga_calloc(n, size, false); }
void *goalloc_realloc(void *p, size_t size) { return ga_realloc(p, size); }

void *goalloc_reallocarray(void *p, size_t n, size_t size) {
  size_t total;
  if (__builtin_mul_overflow(n, size, &total)) {
    errno = ENOMEM;
    return NULL;
  }
  return ga_realloc(p, total);
}

int goalloc_posix_memalign(void **out, size_t align, size_t size) {
  if (!valid_align(align) || align % sizeof(void *)) return EINVAL;
  int saved = errno;
  void *p = ga_aligned(align, size, "posix_memalign");
  if (!p) {
    int e = errno;
    errno = saved;
    return e ? e : ENOMEM;
  }
  *out = p;
  errno = saved;
  return 0;
}

void *goalloc_aligned_alloc(size_t align, size_t size) {
  if (!valid_align(align)) {
    errno = EINVAL;
    return NULL;
  }
  return ga_aligned(align, size, "aligned_alloc");
}

void *goalloc_memalign(size_t align, size_t size) {
  /* glibc's memalign rounds a non-power-of-two alignment up. */
  if (align == 0) align = 1;
  if (!valid_align(align)) {
    if (align > ((size_t)1 << 62)) {
      errno = EINVAL;
      return NULL;
    }
    size_t a = 1;
    while (a < align) a <<= 1;
    align = a;
  }
  return ga_aligned(align, size, "memalign");
}

static size_t page_size(void) {
  long p = sysconf(_SC_PAGESIZE);
  return p > 0 ? (size_t)p : 4096;
}

void *goalloc_valloc(size_t size) { return ga_aligned(page_size(), size, "valloc"); }

void *goalloc_pvalloc(size_t size) {
  size_t ps = page_size();
  if (size > SIZE_MAX - ps) {
    errno = ENOMEM;
    return NULL;
  }
  size_t rounded = (size + ps - 1) & ~(ps - 1);
  return ga_aligned(ps, rounded ? rounded : ps, "pvalloc");
}

size_t goalloc_usable_size(const void *p) { return ga_usable_size(p); }
void goalloc_free_sized(void *p, size_t size) { ga_free_named(p, "free_sized"); }
void goalloc_free_aligned_sized(void *p, size_t align, size_t size) {
  ga_free_named(p, "free_aligned_sized");
}
int goalloc_trim(size_t pad) { return ga_trim(pad); }
void *goalloc_malloc_noscan(size_t size) { return ga_malloc_noscan(size); }
void *goalloc_calloc_noscan(size_t n, size_t size) { return ga_calloc(n, size, true); }

int goalloc_get_stats(goalloc_stats_t *st) {
  if (!st || st->struct_size != sizeof(goalloc_stats_t)) {
    errno = EINVAL;
    return -1;
  }
  ga_init();
  ga_stats_collect(st);
  return 0;
}

void goalloc_print_stats(int fd) {
  ga_init();
  ga_stats_print(fd);
}

const char *goalloc_version(void) {
#define STR2(x) #x
#define STR(x) STR2(x)
  return STR(GOALLOC_VERSION_MAJOR) "." STR(GOALLOC_VERSION_MINOR) "." STR(GOALLOC_VERSION_PATCH);
}
