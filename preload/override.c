/* override.c: the libc allocation names, exported so that goalloc replaces
 * glibc's malloc whether preloaded (LD_PRELOAD) or linked (-lgoalloc).
 *
 * glibc's manual ("Replacing malloc") lists what a replacement must define:
 * malloc, free, calloc, realloc, and for full coverage aligned_alloc,
 * malloc_usable_size, memalign, posix_memalign, pvalloc, valloc; we add the
 * rest of glibc's <malloc.h> surface, C23's free_sized/free_aligned_sized,
 * and the __libc_* names some programs call to reach "the real malloc".
 * Each is a thin wrapper; the compiler turns most into a single jump. */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "goalloc.h"
#include "malloc_int.h"

#define EXPORT __attribute__((visibility("default")))

EXPORT void *malloc(size_t size) { return ga_malloc(size); }
EXPORT void free(void *p) { ga_free(p); }
EXPORT void cfree(void *p) { ga_free(p); }
EXPORT void *calloc(size_t n, size_t size) { return ga_calloc(n, size, false); }
EXPORT void *realloc(void *p, size_t size) { return ga_realloc(p, size); }
EXPORT void *reallocarray(void *p, size_t n, size_t size) { return goalloc_reallocarray(p, n, size); }
EXPORT int posix_memalign(void **out, size_t align, size_t size) {
  return goalloc_posix_memalign(out, align, size);
}
EXPORT void *aligned_alloc(size_t align, size_t size) { return goalloc_aligned_alloc(align, size); }
EXPORT void *memalign(size_t align, size_t size) { return goalloc_memalign(align, size); }
EXPORT void *valloc(size_t size) { return goalloc_valloc(size); }
EXPORT void *pvalloc(size_t size) { return goalloc_pvalloc(size); }
EXPORT size_t malloc_usable_size(void *p) { return ga_usable_size(p); }
EXPORT int malloc_trim(size_t pad) { return ga_trim(pad); }
EXPORT void malloc_stats(void) { goalloc_print_stats(2); }

EXPORT void free_sized(void *p, size_t size);
EXPORT void free_aligned_sized(void *p, size_t align, size_t size);
void free_sized(void *p, size_t size) { ga_free_named(p, "free_sized"); }
void free_aligned_sized(void *p, size_t align, size_t size) {
  ga_free_named(p, "free_aligned_sized");
}

/* mallopt: every parameter is accepted and ignored (1 = success, as glibc
 * returns): goalloc's tunables are its GOALLOC_* variables; M_ARENA_MAX,
 * M_MMAP_THRESHOLD and the like describe glibc's design, not ours. */
EXPORT int mallopt(int param, int value) { return 1; }

static void fill_mallinfo2(struct mallinfo2 *mi) {
  goalloc_stats_t st;
  st.struct_size = sizeof st;
  memset(mi, 0, sizeof *mi);
  if (goalloc_get_stats(&st)) return;
  mi->arena = st.heap_inuse + st.heap_free;     /* memory obtained and resident */
  mi->ordblks = 1;
  mi->hblks = st.large_objects;
  mi->hblkhd = st.large_bytes;
  mi->uordblks = st.alloc_bytes;                /* bytes in allocated blocks */
  mi->fordblks = st.heap_inuse + st.heap_free - st.alloc_bytes; /* free bytes */
  mi->keepcost = st.heap_free;                  /* what malloc_trim would release */
}

EXPORT struct mallinfo2 mallinfo2(void) {
  struct mallinfo2 mi;
  fill_mallinfo2(&mi);
  return mi;
}

EXPORT struct mallinfo mallinfo(void) {
  struct mallinfo2 m2;
  struct mallinfo mi;
  fill_mallinfo2(&m2);
  /* The old struct has int fields: saturate instead of wrapping. */
#define SAT(x) ((x) > (size_t)__INT_MAX__ ? __INT_MAX__ : (int)(x))
  mi.arena = SAT(m2.arena);
  mi.ordblks = SAT(m2.ordblks);
  mi.smblks = 0;
  mi.hblks = SAT(m2.hblks);
  mi.hblkhd = SAT(m2.hblkhd);
  mi.usmblks = 0;
  mi.fsmblks = 0;
  mi.uordblks = SAT(m2.uordblks);
  mi.fordblks = SAT(m2.fordblks);
  mi.keepcost = SAT(m2.keepcost);
  return mi;
}

EXPORT int malloc_info(int options, FILE *fp) {
  /* An XML report would need stdio from inside the allocator; say so. */
  errno = ENOSYS;
  return -1;
}

/* glibc-internal names that some programs and libraries call directly. */
EXPORT void *__libc_malloc(size_t size) { return ga_malloc(size); }
EXPORT void __libc_free(void *p) { ga_free(p); }
EXPORT void *__libc_calloc(size_t n, size_t size) { return ga_calloc(n, size, false); }
EXPORT void *__libc_realloc(void *p, size_t size) { return ga_realloc(p, size); }
EXPORT void *__libc_memalign(size_t align, size_t size) { return goalloc_memalign(align, size); }
EXPORT void *__libc_valloc(size_t size) { return goalloc_valloc(size); }
EXPORT void *__libc_pvalloc(size_t size) { return goalloc_pvalloc(size); }
EXPORT int __posix_memalign(void **out, size_t align, size_t size) {
  return goalloc_posix_memalign(out, align, size);
}
