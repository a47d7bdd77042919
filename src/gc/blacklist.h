/* gc/blacklist.h: heap pages that false pointers hit (Boehm's black
 * lists, "Space Efficient Conservative Garbage Collection", PLDI 1993).
 *
 * A conservative collector takes any word that looks like a pointer into
 * an allocated object for a real one. Some of those words are not
 * pointers (integers, stale stack slots, floating-point bits) and keep
 * pointing at the same addresses cycle after cycle. When such a word
 * points at a free page, nothing is lost yet; but an object allocated
 * there later would be retained by it for as long as the word lives, and
 * a large object (interior pointers count) or a scanned one (it retains
 * what it points to) can retain a lot. So markers note the free pages
 * that scanned words point at, and the page allocator keeps large objects
 * and spans of scanned small objects off them (pagealloc.c). Spans of
 * small noscan objects may use them: a false pointer there retains one
 * pointer-free object at most (Boehm's rule too).
 *
 * Each arena has two bitmaps, one per mark-cycle parity
 * (ga_gc_mark_cycle & 1): the current cycle's markers set bits in theirs
 * (relaxed atomic ORs, without a lock: several markers run at once), and
 * the other holds the previous cycle's. A page counts as blacklisted while
 * either bitmap has it, so a page no false pointer hits any more is free
 * for everything again after two cycles. ga_gc_blacklist_begin clears the
 * bitmap of the cycle that starts, under the heap lock, before any marker
 * of that cycle runs; the page allocator reads both under the heap lock.
 *
 * Only pages of the page allocator's arenas are noted: huge arenas hold
 * one object each and are never reused, and a word outside every arena
 * says nothing about pages the heap may get later (Boehm also notes
 * addresses near the heap: not done here). The blacklist never grows the
 * heap: when every run that fits holds a blacklisted page, one is used. */
#ifndef GA_GC_BLACKLIST_H
#define GA_GC_BLACKLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "options.h"

/* Some page was noted since the start: the page allocator checks runs. */
extern bool ga_gc_blacklist_used;
/* Pages the current (or last) cycle's markers noted. */
extern uint64_t ga_gc_blacklist_noted;

/* A marker found v, inside arena a, on a page that belongs to no span. */
static inline void ga_gc_blacklist_note(ga_arena_t *a, uintptr_t v) {
  if (!ga_option(GA_OPT_GC_BLACKLIST) || a->huge) return;
  uint32_t par = __atomic_load_n(&ga_gc_mark_cycle, __ATOMIC_RELAXED) & 1;
  size_t pg = (v >> GA_PAGE_SHIFT) & (GA_PAGES_PER_ARENA - 1);
  uint64_t *w = &a->gc_black[par][pg >> 6], bit = (uint64_t)1 << (pg & 63);
  if (__atomic_load_n(w, __ATOMIC_RELAXED) & bit) return;
  if (__atomic_fetch_or(w, bit, __ATOMIC_RELAXED) & bit) return;
  __atomic_fetch_add(&ga_gc_blacklist_noted, 1, __ATOMIC_RELAXED);
  if (!__atomic_load_n(&a->gc_black_any[par], __ATOMIC_RELAXED))
    __atomic_store_n(&a->gc_black_any[par], 1, __ATOMIC_RELAXED);
  if (!__atomic_load_n(&ga_gc_blacklist_used, __ATOMIC_RELAXED))
    __atomic_store_n(&ga_gc_blacklist_used, true, __ATOMIC_RELAXED);
}

/* A mark cycle with stamp cycle (ga_gc_mark_cycle) begins: its bitmap is
 * emptied. heap_locked: the caller holds the heap lock (else it is taken). */
void ga_gc_blacklist_begin(uint32_t cycle, bool heap_locked);

/* Heap lock held. The arena's blacklisted pages (both bitmaps) into out;
 * false, out untouched, if it has none. */
bool ga_gc_blacklist_get(const ga_arena_t *a, uint64_t out[GA_ARENA_WORDS]);

#endif
