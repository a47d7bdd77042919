/* tiny.h: the tiny allocator (Go's mcache.tiny).
 *
 * Requests under 16 bytes that hold no pointers are packed into 16-byte
 * blocks, each object aligned by its size as Go does (8 for multiples of 8,
 * 4 for multiples of 4, 2 for even sizes). A cache has one current block and
 * the offset of its first free byte; a new block replaces it only if it has
 * more room left.
 *
 * Go never frees a tiny object: the block dies when the GC finds none of
 * them reachable. Here free() must make a block reusable once all its
 * objects are freed, so each block has a 64-bit word of state in its span
 * (span->tinyref, metadata outside the heap):
 *   bits  0..15  an object starts at this offset and is live
 *   bits 16..31  an object boundary (start or end) was here: gives
 *                malloc_usable_size and tells a double free from a bogus one
 *   bit  32      the block is some cache's current block
 * Objects may be freed by any thread, so the word is updated with atomic
 * and/or; when a free leaves it with no live object and no holder, the
 * block's 16-byte slot is freed like any small object. Tiny blocks live in
 * spans of their own (GA_TINY_SPAN_CLASS), so free() can tell them from
 * ordinary 16-byte objects. */
#ifndef GA_TINY_H
#define GA_TINY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cache.h"
#include "span.h"

#define GA_TINY_HELD ((uint64_t)1 << 32)

bool ga_tiny_span_init(ga_span_t *s);
void ga_tiny_span_release(ga_span_t *s);

static inline uint64_t *ga_tiny_ref(const ga_span_t *s, uintptr_t p) {
  return &s->tinyref[(p - s->base) >> 4];
}

/* Size 1..15. */
static inline void *ga_tiny_alloc_fast(ga_cache_t *c, size_t size);
void *ga_tiny_alloc_slow(ga_cache_t *c, size_t size);
void ga_tiny_free(ga_cache_t *c, ga_span_t *s, uintptr_t p, const char *fn);
size_t ga_tiny_usable(const ga_span_t *s, uintptr_t p);
/* p starts a live tiny object of s. */
bool ga_tiny_live(const ga_span_t *s, uintptr_t p);
void ga_tiny_lock(void);
void ga_tiny_unlock(void);
void ga_tiny_reset_lock(void);
/* The cache lets go of its current block (thread exit). */
void ga_tiny_drop_block(ga_cache_t *c);

static inline size_t ga_tiny_align(size_t size) {
  if ((size & 7) == 0) return 8;
  if ((size & 3) == 0) return 4;
  if ((size & 1) == 0) return 2;
  return 1;
}

static inline uint64_t ga_tiny_bits(size_t off, size_t size) {
  uint64_t b = (uint64_t)1 << off | (uint64_t)1 << (16 + off);
  if (off + size < 16) b |= (uint64_t)1 << (16 + off + size);
  return b;
}

static inline void *ga_tiny_alloc_fast(ga_cache_t *c, size_t size) {
  size_t a = ga_tiny_align(size);
  size_t off = (c->tinyoffset + a - 1) & ~(a - 1);
  if (GA_LIKELY(off + size <= GA_TINY_SIZE && c->tiny)) {
    __atomic_fetch_or(ga_tiny_ref(c->tinyspan, c->tiny), ga_tiny_bits(off, size),
                      __ATOMIC_RELAXED);
    c->tinyoffset = off + size;
    return (void *)(c->tiny + off);
  }
  return ga_tiny_alloc_slow(c, size);
}

#endif
