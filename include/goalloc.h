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

/* ---- The collector (docs/GC.md) ----
 *
 * Off by default. GOALLOC_GC=collect makes every malloc'ed object
 * collectable (free() still works), GOALLOC_GC=leak reports unreachable
 * objects instead of freeing them. Without GOALLOC_GC, the first call to
 * goalloc_gc_malloc (or GC_INIT / GC_MALLOC through <gc.h>) turns the
 * collector on in "api" mode, where only objects from goalloc_gc_malloc*
 * are collected and plain malloc memory is neither scanned nor collected
 * (as with the Boehm collector). Call it before creating threads, or create
 * threads with pthread_create while libgoalloc is loaded (it registers
 * them), or register them with goalloc_gc_register_thread. */
enum { GOALLOC_GC_OFF = 0, GOALLOC_GC_API = 1, GOALLOC_GC_COLLECT = 2, GOALLOC_GC_LEAK = 3 };

/* Collectable, scanned for pointers, zeroed (GC_MALLOC). */
GOALLOC_API void *goalloc_gc_malloc(size_t size);
/* Collectable, never scanned, not zeroed (GC_MALLOC_ATOMIC). */
GOALLOC_API void *goalloc_gc_malloc_noscan(size_t size);
/* Scanned, never collected: a root until free()d (GC_MALLOC_UNCOLLECTABLE). */
GOALLOC_API void *goalloc_gc_malloc_uncollectable(size_t size);
/* The start of the allocated block that contains p (any interior
 * address), or NULL if p is not inside one (GC_base). */
GOALLOC_API void *goalloc_gc_base(const void *p);
/* realloc keeping the kind (collectable/scanned) of p; NULL p: gc_malloc. */
GOALLOC_API void *goalloc_gc_realloc(void *p, size_t size);
/* Turns the collector on in api mode if it is off; returns the mode. */
GOALLOC_API int goalloc_gc_init(void);
GOALLOC_API int goalloc_gc_mode(void);
/* A full collection now (blocking). No-op while disabled or off. */
GOALLOC_API void goalloc_gc_collect(void);
/* Nesting counter, as GC_disable/GC_enable: no automatic collection while
 * disabled (explicit goalloc_gc_collect still collects). */
GOALLOC_API void goalloc_gc_disable(void);
GOALLOC_API void goalloc_gc_enable(void);
/* Extra root ranges [lo, hi): 0 on success, -1 if the table is full. */
GOALLOC_API int goalloc_gc_add_roots(void *lo, void *hi);
GOALLOC_API int goalloc_gc_remove_roots(void *lo, void *hi);
/* Threads not created with pthread_create while libgoalloc was loaded.
 * 0 on success, 1 if the thread was registered already, -1 on failure. */
GOALLOC_API int goalloc_gc_register_thread(void);
GOALLOC_API int goalloc_gc_unregister_thread(void);
/* fn(obj, arg) runs once, after a collection finds obj unreachable, on the
 * collecting thread with the world running; obj is freed at a later cycle
 * if still unreachable. fn NULL removes the finalizer. 0 on success. */
GOALLOC_API int goalloc_gc_register_finalizer(void *obj, void (*fn)(void *obj, void *arg),
                                              void *arg);
/* GOGC: percent growth over the live heap before the next cycle; < 0: off.
 * Returns the previous value. */
GOALLOC_API int goalloc_gc_set_percent(int percent);

typedef struct goalloc_gc_stats {
  size_t struct_size;          /* sizeof(goalloc_gc_stats_t) of the caller */
  int mode;                    /* GOALLOC_GC_* */
  uint64_t cycles;             /* completed collections */
  uint64_t pauses;             /* stop-the-world pauses (one per cycle today) */
  uint64_t heap_live;          /* bytes in use as the pacer counts them */
  uint64_t heap_goal;          /* heap size the next cycle should end its marking by */
  uint64_t last_marked;        /* bytes the last cycle found reachable */
  uint64_t freed_objects;      /* objects reclaimed (or reported in leak mode), total */
  uint64_t freed_bytes;
  uint64_t pause_total_ns;     /* sum of all stop-the-world pauses */
  uint64_t pause_max_ns;
  uint64_t pause_p99_ns;       /* 99th percentile of the last 1024 pauses */
  uint64_t last_pause_ns;
  uint64_t mark_total_ns;      /* wall time of whole cycles */
  /* Heap pages that belonged to no live span when the last cycle's
   * marking found them pointed at (false pointers, stale values; also
   * pages the heap holds back): large and scanned objects are kept off them
   * (GOALLOC_GC_BLACKLIST). Added last: a caller built with the header
   * before it passes the shorter struct_size and gets the fields before. */
  uint64_t blacklisted_pages;
  /* Pacing (Go's pacer; added after blacklisted_pages, so a caller built
   * before passes a shorter struct_size and gets the fields before). */
  uint64_t heap_trigger;       /* in-use heap at which the next cycle starts */
  uint64_t heap_marked;        /* the live heap the pacer counts from */
  double cons_mark;            /* allocation rate / scan rate, per CPU-second, smoothed */
  uint64_t assists;            /* assists that scanned, total */
  uint64_t assist_bytes;       /* bytes they scanned */
  uint64_t assist_steals;      /* assists paid (in part) with the worker's credit */
  uint64_t assist_cpu_ns;      /* CPU time in assists */
  uint64_t worker_credit_bytes; /* scan work the collecting thread banked for assists */
  uint64_t stolen_bytes;       /* of which assists took */
  uint64_t fractions;          /* fractional mark slices allocating threads ran */
  uint64_t fraction_bytes;     /* bytes they scanned */
  uint64_t fraction_cpu_ns;    /* CPU time in them */
  double last_mark_utilization; /* the last mark's background CPU share (goal 0.25) */
  uint64_t mark_alloc_bytes;   /* allocated while cycles marked (the pacer's count), total */
  uint64_t gc_cpu_ns;          /* CPU time of collections, slices and assists, total */
} goalloc_gc_stats_t;
GOALLOC_API int goalloc_gc_get_stats(goalloc_gc_stats_t *st);

/* Leak mode: collects, then writes unreachable never-freed objects grouped
 * by allocation site (with backtraces) to fd. Returns the number of leaked
 * objects; -1 if not in leak mode. */
GOALLOC_API long goalloc_gc_leak_report(int fd);

#ifdef __cplusplus
}
#endif
#endif
