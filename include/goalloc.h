/* goalloc: a malloc built on the Go runtime's allocator design.
 *
 * The libc names (malloc, free, ...) are exported by libgoalloc itself; this
 * header declares the goalloc_-prefixed entry points, which behave exactly as
 * their libc counterparts, plus what libc has no name for: pointer-free
 * (noscan) allocation, statistics as a struct, and the version. */
#ifndef GOALLOC_H
#define GOALLOC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GOALLOC_VERSION_MAJOR 0
#define GOALLOC_VERSION_MINOR 1
#define GOALLOC_VERSION_PATCH 0

#define GOALLOC_API __attribute__((visibility("default")))

GOALLOC_API void *goalloc_malloc(size_t size);
GOALLOC_API void goalloc_free(void *p);
GOALLOC_API void *goalloc_calloc(size_t n, size_t size);
GOALLOC_API void *goalloc_realloc(void *p, size_t size);
GOALLOC_API void *goalloc_reallocarray(void *p, size_t n, size_t size);
GOALLOC_API int goalloc_posix_memalign(void **out, size_t align, size_t size);
GOALLOC_API void *goalloc_aligned_alloc(size_t align, size_t size);
GOALLOC_API void *goalloc_memalign(size_t align, size_t size);
GOALLOC_API void *goalloc_valloc(size_t size);
GOALLOC_API void *goalloc_pvalloc(size_t size);
GOALLOC_API size_t goalloc_usable_size(const void *p);
GOALLOC_API void goalloc_free_sized(void *p, size_t size);
GOALLOC_API void goalloc_free_aligned_sized(void *p, size_t align, size_t size);
/* Returns every free page to the OS; 1 if memory was released, else 0. */
GOALLOC_API int goalloc_trim(size_t pad);

/* Memory the caller promises never holds pointers into the goalloc heap:
 * the collector (when on) never scans it. With the collector off it is
 * ordinary memory; freeing it with free() is correct. */
GOALLOC_API void *goalloc_malloc_noscan(size_t size);
GOALLOC_API void *goalloc_calloc_noscan(size_t n, size_t size);

/* Statistics. All byte counts are exact at the moment of the call except
 * where noted; taking them walks the heap's metadata (never the objects)
 * and briefly takes the heap lock, so it is not for hot loops. */
typedef struct goalloc_stats {
  size_t struct_size;        /* sizeof(goalloc_stats_t) of the caller */
  uint64_t heap_mapped;      /* bytes of address space in arenas */
  uint64_t heap_inuse;       /* bytes of pages in in-use spans */
  uint64_t heap_free;        /* bytes of free pages still backed by memory */
  uint64_t heap_released;    /* bytes of free pages given back to the OS */
  uint64_t alloc_bytes;      /* bytes in allocated objects (rounded to size class) */
  uint64_t alloc_objects;    /* allocated objects (small + large) */
  uint64_t small_spans;      /* in-use spans of small objects */
  uint64_t large_objects;    /* live large (> 32 KiB) objects */
  uint64_t large_bytes;      /* bytes in live large objects' spans */
  uint64_t metadata_bytes;   /* bytes mapped for metadata outside the heap */
  uint64_t arenas;           /* 64 MiB arenas reserved */
  uint64_t threads;          /* live per-thread caches */
  uint64_t scavenged_total;  /* bytes given back to the OS since start */
  uint64_t peak_rss;         /* process peak RSS in bytes (from the kernel) */
  uint64_t rss;              /* process current RSS in bytes */
} goalloc_stats_t;

/* Fills *st (st->struct_size must be set); 0 on success, -1 (EINVAL) else. */
GOALLOC_API int goalloc_get_stats(goalloc_stats_t *st);
/* Prints a human-readable summary to the file descriptor. */
GOALLOC_API void goalloc_print_stats(int fd);
/* "major.minor.patch" */
GOALLOC_API const char *goalloc_version(void);

#ifdef __cplusplus
}
#endif
#endif
