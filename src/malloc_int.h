/* malloc_int.h: goalloc's internal entry points (the public names in
 * include/goalloc.h and preload/ are thin wrappers over these). */
#ifndef GA_MALLOC_H
#define GA_MALLOC_H

#include <stdbool.h>
#include <stddef.h>

#include "os.h"

void ga_init(void);
extern bool ga_initialized;
extern size_t ga_tiny_limit, ga_tiny_limit_noscan;

void *ga_malloc(size_t size);
void *ga_malloc_noscan(size_t size);
/* The collect and leak modes: plain malloc becomes the collector's. */
void ga_malloc_hook_collector(void);
/* Any allocation kind (GA_KIND_* in sizeclasses.h), never tiny. */
void *ga_alloc_kind(size_t size, unsigned kind, bool zero);
void ga_free(void *p);
void ga_free_named(void *p, const char *fn);
/* noscan_request: the caller promised pointer-free memory (tiny allowed). */
void *ga_calloc(size_t n, size_t size, bool noscan_request);
void *ga_realloc(void *p, size_t size);
void *ga_aligned(size_t align, size_t size, const char *fn);
size_t ga_usable_size(const void *p);
int ga_trim(size_t pad);
/* Takes / releases every allocator lock in order (fork). */
void ga_lock_all(void);
void ga_unlock_all(void);
/* The same but the scavenger's pass lock (the collector's pause): a pass
 * holds it across many madvise calls (up to 18 ms seen in a GCBench pause
 * that waited for it); the pause does not need it, since the scavenger
 * changes the heap only under the heap lock, and no pause step takes it. */
void ga_lock_heap_all(void);
void ga_unlock_heap_all(void);

/* Statistics (stats.c), gathered on request by walking span metadata. */
struct goalloc_stats;
void ga_stats_collect(struct goalloc_stats *st);
void ga_stats_print(int fd);

/* Bad free: one line naming the call, the pointer and the problem; abort
 * unless GOALLOC_ON_ERROR=warn. */
GA_COLD void ga_report_bad_free(const char *fn, void *p, const char *problem);

#endif
