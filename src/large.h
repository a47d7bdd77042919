/* large.h: objects over 32 KiB (Go's largeAlloc): a class-0 span of whole
 * pages each, straight from the heap; over 64 MiB, an arena group of its
 * own (arena.c). free() keeps the span in the thread's page cache
 * (pagecache.c), from which the next large malloc() that fits takes it;
 * spans that are not reused soon go back to the heap, and the scavenger
 * gives their pages back to the OS. */
#ifndef GA_LARGE_H
#define GA_LARGE_H

#include <stdbool.h>
#include <stddef.h>

#include "span.h"

/* kind: GA_KIND_* (sizeclasses.h). */
void *ga_large_alloc(size_t size, size_t align, bool zero, unsigned kind);
void ga_large_free(ga_span_t *s, uintptr_t p, const char *fn);
static inline size_t ga_large_usable(const ga_span_t *s) { return s->npages * GA_PAGE_SIZE; }

#endif
