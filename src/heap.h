/* heap.h: the page heap (Go's mheap).
 *
 * The heap turns page runs from the page allocator into spans: it allocates
 * the span descriptor (fixalloc), fills the arena's page-to-span map and
 * pageInUse bit, and undoes all of it when a span is freed. Small spans go
 * to mcentral/mcache; large objects (> 32 KiB) get a class-0 span of their
 * own; requests over one arena get a huge arena group (arena.c).
 *
 * One lock, ga_heap_lock, protects the page allocator, the arenas and the
 * span descriptors' allocation, as mheap.lock does in Go. It is taken only
 * when a span is created or freed (a cache refill that finds no partial
 * span, a large allocation), never per small object. Lock order: central
 * lock -> heap lock -> fixalloc lock. */
#ifndef GA_HEAP_H
#define GA_HEAP_H

#include <stdbool.h>
#include <stddef.h>

#include "os.h"
#include "span.h"

extern ga_mutex_t ga_heap_lock;

/* A new in-use span of npages pages (aligned to align_pages pages) for span
 * class spanclass (0 = large object). NULL with errno ENOMEM. */
ga_span_t *ga_heap_alloc_span(size_t npages, size_t align_pages, unsigned spanclass);
void ga_heap_free_span(ga_span_t *s);
/* Large spans only: grow to npages in place if the pages after it are free;
 * shrink to npages, giving the tail back. */
bool ga_heap_grow_large(ga_span_t *s, size_t npages);
void ga_heap_shrink_large(ga_span_t *s, size_t npages);

typedef struct {
  uint64_t large_objects, large_pages;
  uint64_t huge_pages;
} ga_heap_stats_t;
extern ga_heap_stats_t ga_heap_stats; /* under ga_heap_lock */

/* Calls fn for every in-use span (heap lock held by the caller), except
 * huge ones (arena groups of their own): ga_heap_for_each_huge_span. */
void ga_heap_for_each_span(void (*fn)(ga_span_t *s, void *arg), void *arg);
void ga_heap_for_each_huge_span(void (*fn)(ga_span_t *s, void *arg), void *arg);
/* Bytes of pages in in-use spans (written under the heap lock, read racily
 * by the collector's trigger). */
extern uint64_t ga_heap_inuse_bytes;

/* fork: the child resets every heap-level lock. */
void ga_heap_lock_all(void);
void ga_heap_unlock_all(void);
void ga_heap_reset_locks(void);

#endif
