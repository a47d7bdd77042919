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
 * span, a large allocation that the thread's page cache cannot serve),
 * never per small object. Lock order: central lock -> page cache locks
 * (pagecache.c) -> heap lock -> fixalloc lock. */
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
/* on: freed huge arena groups stay mapped until called with off (a
 * concurrent mark reads the heap without its lock: gc/mark.c). */
void ga_heap_defer_unmap(bool on);
/* Large spans only: grow to npages in place if the pages after it are free;
 * shrink to npages, giving the tail back. */
bool ga_heap_grow_large(ga_span_t *s, size_t npages);
void ga_heap_shrink_large(ga_span_t *s, size_t npages);

/* The page cache (pagecache.c) keeps freed large spans whole: pages still
 * allocated, spans[] still pointing at the span. While cached a span is
 * DEAD (free() reports it as not allocated) and out of pageInUse, so heap
 * walks do not see it; it still counts in ga_heap_stats (stats.c subtracts
 * the cached spans). No lock needed: the caller owns the span. */
void ga_heap_large_to_cache(ga_span_t *s);
void ga_heap_large_from_cache(ga_span_t *s);
/* Splits a cached span of more than npages pages: *head gets its first
 * npages pages, *tail the rest. One of the two is s, the other a new
 * descriptor (for the smaller part, whose spans[] entries are rewritten).
 * false if no descriptor could be had. */
bool ga_heap_split_cached(ga_span_t *s, size_t npages, ga_span_t **head, ga_span_t **tail);
/* ga_heap_free_span for a span leaving a page cache: takes it out of the
 * cache's counts (ga_pagecache_spans/pages) under the heap lock. */
void ga_heap_free_cached(ga_span_t *s);

typedef struct {
  uint64_t large_objects, large_pages;
  uint64_t huge_pages;
} ga_heap_stats_t;
extern ga_heap_stats_t ga_heap_stats; /* huge_pages under ga_heap_lock; the rest atomic */

/* Calls fn for every in-use span (heap lock held by the caller), except
 * huge ones (arena groups of their own): ga_heap_for_each_huge_span. */
void ga_heap_for_each_span(void (*fn)(ga_span_t *s, void *arg), void *arg);
/* Like ga_heap_for_each_span without the heap lock held by the caller:
 * takes it around every 1024 pages (fn runs with it held). */
void ga_heap_for_each_span_chunked(void (*fn)(ga_span_t *s, void *arg), void *arg);
/* Large spans in the page allocator's arenas (heap lock held; in use or
 * cached: the callee checks the state). */
void ga_heap_for_each_large_span(void (*fn)(ga_span_t *s, void *arg), void *arg);
void ga_heap_for_each_huge_span(void (*fn)(ga_span_t *s, void *arg), void *arg);
/* Bytes of pages in in-use spans (written under the heap lock, read racily
 * by the collector's trigger). */
extern uint64_t ga_heap_inuse_bytes;
/* The highest ga_heap_inuse_bytes since the last ga_heap_take_inuse_peak
 * (the collector's scavenger pacing: the heap reaches that again each
 * cycle). */
extern uint64_t ga_heap_inuse_peak;
uint64_t ga_heap_take_inuse_peak(void);

/* fork: the child resets every heap-level lock. */
void ga_heap_lock_all(void);
void ga_heap_unlock_all(void);
void ga_heap_reset_locks(void);

#endif
