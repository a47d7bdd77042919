/* arena.h: 64 MiB heap arenas and the index that maps any address to its
 * span in O(1) (Go's heapArena and mheap.arenas).
 *
 * The heap is made of 64 MiB arenas reserved from the OS. Each arena's
 * metadata lives outside the heap, in its own mapping: the page-to-span map
 * (spans[]: for an in-use span, every one of its pages points to it; free
 * pages point to nothing), Go's pageInUse bitmap (the first page of each
 * in-use span), and the page allocator's bitmaps and summaries.
 *
 * The arena index is Go's two-level arenas[L1][L2] with Go's amd64 shape:
 * user addresses have 47 bits, an arena covers 26 of them, so the index
 * needs 21 bits; L1 has 0 bits (one entry) and L2 has 21 (a 16 MiB table of
 * pointers, reserved lazily, touched only where arenas exist).
 *
 * Locking: arenas are created and their index entries written under the
 * heap lock; the index is read without a lock (an entry goes from NULL to an
 * arena once, and back to NULL only when a huge allocation is unmapped, after
 * which no valid pointer refers to it). spans[] entries are written under the
 * heap lock and read without one by free() and the collector: a pointer the
 * program legitimately holds keeps its span in use. */
#ifndef GA_ARENA_H
#define GA_ARENA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sizeclasses.h"

#define GA_ARENA_SHIFT 26
#define GA_ARENA_SIZE ((size_t)1 << GA_ARENA_SHIFT)
#define GA_PAGES_PER_ARENA (GA_ARENA_SIZE / GA_PAGE_SIZE) /* 8192 */
#define GA_ARENA_WORDS (GA_PAGES_PER_ARENA / 64)          /* 128 */
#define GA_CHUNK_PAGES 512 /* Go's pallocChunkPages: the summary unit */
#define GA_CHUNKS_PER_ARENA (GA_PAGES_PER_ARENA / GA_CHUNK_PAGES)
#define GA_CHUNK_SHIFT (GA_PAGE_SHIFT + 9) /* 4 MiB */
#define GA_ADDR_BITS 47
#define GA_ARENA_L1_BITS 0
#define GA_ARENA_L2_BITS (GA_ADDR_BITS - GA_ARENA_SHIFT - GA_ARENA_L1_BITS)

struct ga_span;

typedef struct ga_arena {
  struct ga_span *spans[GA_PAGES_PER_ARENA]; /* first: free() indexes it */
  uint64_t page_inuse[GA_ARENA_WORDS];       /* first page of each in-use span */
  uint64_t page_large[GA_ARENA_WORDS];       /* first page of each large span the heap
                                              * made (in use or in a page cache): the
                                              * lazy sweep's pause visits only these */
  /* Page allocator state (pagealloc.c), under the heap lock. */
  uint64_t page_alloc[GA_ARENA_WORDS]; /* 1: page belongs to a span */
  uint64_t page_scav[GA_ARENA_WORDS];  /* 1: free page given back to the OS (reads zero) */
  uint16_t sum_start[GA_CHUNKS_PER_ARENA], sum_max[GA_CHUNKS_PER_ARENA],
      sum_end[GA_CHUNKS_PER_ARENA];
  uint32_t max_free; /* longest free run in the arena */
  uint32_t free_gen[GA_CHUNKS_PER_ARENA]; /* ga_pages_gen when pages of the chunk were last freed */
  uintptr_t base;
  size_t ngroup;     /* huge allocations: arenas in this contiguous group */
  size_t usable_pages; /* pages backed by the reservation (less near OOM) */
  bool huge;         /* one object over several arenas, outside the page allocator */
  /* Collector (gc/concurrent.c): registered for dirty-page tracking; and
   * the link of huge groups whose unmapping waits for the end of marking. */
  bool gc_tracked;
  struct ga_arena *gc_next;
  /* The pages a concurrent mark opened ahead of the allocator here
   * (gc/concurrent.h, ga_gc_conc_open_run), valid while gc_open_cycle is
   * ga_gc_mark_cycle (heap lock). */
  uintptr_t gc_open_lo, gc_open_hi;
  uint32_t gc_open_cycle;
  /* Per chunk, for the written-page walks (gc/concurrent.c): the mark
   * cycle (ga_gc_mark_cycle) in which a scanned object there was marked
   * (set by markers, gc/mark.c), and whether a manual scanned span was
   * ever made there (sticky; set under the heap lock or by the span's
   * owner). A chunk with neither holds nothing that counts as scanned, so
   * its written pages need no rescan. */
  uint32_t gc_chunk_cycle[GA_CHUNKS_PER_ARENA];
  uint8_t gc_chunk_manual[GA_CHUNKS_PER_ARENA];
  /* The collector's blacklist (gc/blacklist.h): free pages that scanned
   * words pointed at, one bitmap per mark-cycle parity, and whether each
   * has a bit set. */
  uint64_t gc_black[2][GA_ARENA_WORDS];
  uint8_t gc_black_any[2];
} ga_arena_t;

typedef ga_arena_t *ga_arena_l2_t[(size_t)1 << GA_ARENA_L2_BITS];
extern ga_arena_l2_t *ga_arena_l1[1 << GA_ARENA_L1_BITS];

static inline ga_arena_t *ga_arena_of(uintptr_t p) {
  uintptr_t i = p >> GA_ARENA_SHIFT;
  if (GA_ARENA_L1_BITS == 0) {
    ga_arena_l2_t *l2 = ga_arena_l1[0];
    if (i >> GA_ARENA_L2_BITS || !l2) return NULL;
    return (*l2)[i];
  }
  uintptr_t l1 = i >> GA_ARENA_L2_BITS;
  if (l1 >> GA_ARENA_L1_BITS || !ga_arena_l1[l1]) return NULL;
  return (*ga_arena_l1[l1])[i & (((uintptr_t)1 << GA_ARENA_L2_BITS) - 1)];
}

/* The fast path's lookup: no range check. An address outside the 47-bit
 * range wraps onto some arena slot, so the caller must check that p lies
 * inside the span it gets (free() does: offset < span->limit). */
extern ga_arena_l2_t ga_arena_l2_0;
static inline struct ga_span *ga_span_of_unchecked(uintptr_t p) {
  ga_arena_t *a = ga_arena_l2_0[(p >> GA_ARENA_SHIFT) & (((uintptr_t)1 << GA_ARENA_L2_BITS) - 1)];
  if (!a) return NULL;
  return a->spans[(p >> GA_PAGE_SHIFT) & (GA_PAGES_PER_ARENA - 1)];
}

/* Go's spanOf: the span owning address p, or NULL. */
static inline struct ga_span *ga_span_of(uintptr_t p) {
  ga_arena_t *a = ga_arena_of(p);
  if (!a) return NULL;
  return a->spans[(p >> GA_PAGE_SHIFT) & (GA_PAGES_PER_ARENA - 1)];
}

/* The current mark cycle's stamp for gc_chunk_cycle (bumped by
 * ga_gc_mark_begin; never 0, which fresh arenas hold). */
extern uint32_t ga_gc_mark_cycle;

/* Stamps the chunk of arena a holding p with cycle cyc. Checked first:
 * the store is paid once per chunk and cycle, not per marked object. */
static inline void ga_arena_stamp_chunk(ga_arena_t *a, uintptr_t p, uint32_t cyc) {
  uint32_t *c = &a->gc_chunk_cycle[(p >> GA_CHUNK_SHIFT) & (GA_CHUNKS_PER_ARENA - 1)];
  if (__atomic_load_n(c, __ATOMIC_RELAXED) != cyc) __atomic_store_n(c, cyc, __ATOMIC_RELAXED);
}

/* Stamps the chunks of [lo, hi) with the current mark cycle: a scanned
 * object there counts as scanned (a large block grown in place after it
 * was marked). Huge groups need none (their walk is whole). */
static inline void ga_arena_stamp_scanned(uintptr_t lo, uintptr_t hi) {
  uint32_t cyc = __atomic_load_n(&ga_gc_mark_cycle, __ATOMIC_RELAXED);
  for (uintptr_t p = lo & ~(((uintptr_t)1 << GA_CHUNK_SHIFT) - 1); p < hi;
       p += (uintptr_t)1 << GA_CHUNK_SHIFT) {
    ga_arena_t *a = ga_arena_of(p);
    if (!a || a->huge) return;
    ga_arena_stamp_chunk(a, p, cyc);
  }
}

/* Marks the chunks of [lo, hi) as holding a manual scanned span (see
 * gc_chunk_manual); huge groups need none (their walk is whole). */
static inline void ga_arena_note_manual_scanned(uintptr_t lo, uintptr_t hi) {
  for (uintptr_t p = lo & ~(((uintptr_t)1 << GA_CHUNK_SHIFT) - 1); p < hi;
       p += (uintptr_t)1 << GA_CHUNK_SHIFT) {
    ga_arena_t *a = ga_arena_of(p);
    if (!a || a->huge) return;
    uint8_t *m = &a->gc_chunk_manual[(p >> GA_CHUNK_SHIFT) & (GA_CHUNKS_PER_ARENA - 1)];
    if (!__atomic_load_n(m, __ATOMIC_RELAXED)) __atomic_store_n(m, 1, __ATOMIC_RELAXED);
  }
}

/* Heap lock held. Reserves n contiguous arenas (huge: one object spans
 * them all) at an address aligned to max(64 MiB, align) and registers them
 * in the index. NULL if the OS refuses. */
ga_arena_t *ga_arena_create(size_t n, bool huge, size_t align);
/* Heap lock held. When a whole arena cannot be reserved (RLIMIT_AS, no
 * overcommit), an arena whose first part only is mapped, so that small
 * allocations keep working: the largest of 32 MiB, 16 MiB, ... 256 KiB that
 * the OS grants at a 64 MiB-aligned address. */
ga_arena_t *ga_arena_create_partial(void);
/* Heap lock held. Unregisters and unmaps a huge group. */
void ga_arena_destroy_huge(ga_arena_t *first);

/* Sets spans[] for npages pages starting at base (may cross into the next
 * arenas of a huge group). */
void ga_arena_set_spans(uintptr_t base, size_t npages, struct ga_span *s);

extern uint64_t ga_arenas_reserved; /* arenas currently reserved */
extern uintptr_t ga_arena_lo, ga_arena_hi; /* hull of all arenas ever reserved */

#endif
