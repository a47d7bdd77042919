/* pagecache.h: a per-thread cache of freed large spans (see pagecache.c). */
#ifndef GA_PAGECACHE_H
#define GA_PAGECACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "span.h"

#define GA_PAGECACHE_SLOTS 8                                   /* spans per thread */
#define GA_PAGECACHE_MAX_PAGES ((32u << 20) >> GA_PAGE_SHIFT)  /* 32 MiB per thread */

/* free() of a large object: keeps its span in the calling thread's cache;
 * false if it does not fit (huge, cache off): give it to the heap. */
bool ga_pagecache_put(ga_span_t *s);
/* malloc() of a large object: an in-use span of exactly npages pages from
 * the calling thread's cache, or NULL. On a miss the cache is given back
 * to the heap first, so that the heap's best fit can use its pages. */
ga_span_t *ga_pagecache_get(size_t npages);
/* Gives the calling thread's cached spans back to the heap: before the
 * heap makes a small span (heap.c), so that it gets resident pages rather
 * than fresh ones, and the blocks' neighbours can still grow into them. */
void ga_pagecache_flush_mine(void);

/* realloc growing a large block in place: the spans of the calling
 * thread's cache that overlap [base, base + npages pages) go back to the
 * heap, so that the block can grow into their pages. */
void ga_pagecache_release_range(uintptr_t base, size_t npages);

/* The background scavenger, once per period: gives back to the heap every
 * span cached at generation gen - 2 or before (ga_pages_gen). */
void ga_pagecache_flush_old(uint32_t gen);
/* malloc_trim: every cache, now. */
void ga_pagecache_flush_all(void);

/* Totals over all caches (relaxed atomics; stats.c subtracts them from the
 * heap's large-object counts, the scavenger stays awake while pages != 0). */
extern uint64_t ga_pagecache_spans, ga_pagecache_pages;

/* fork (heap.c's lock_all/unlock_all/reset_locks call these): every cache's
 * lock is held across fork; the child gives the caches of the threads that
 * did not survive back to the heap. */
void ga_pagecache_lock_all(void);
void ga_pagecache_unlock_all(void);
void ga_pagecache_fork_child(void);

#endif
