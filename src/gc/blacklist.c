/* gc/blacklist.c: the blacklist's cycle turnover and its reads by the page
 * allocator (the design is in blacklist.h). */
#include "gc/blacklist.h"

#include <string.h>

#include "heap.h"
#include "pagealloc.h"

bool ga_gc_blacklist_used;
uint64_t ga_gc_blacklist_noted;

void ga_gc_blacklist_begin(uint32_t cycle, bool heap_locked) {
  __atomic_store_n(&ga_gc_blacklist_noted, 0, __ATOMIC_RELAXED);
  if (!__atomic_load_n(&ga_gc_blacklist_used, __ATOMIC_RELAXED)) return;
  unsigned par = cycle & 1;
  if (!heap_locked) ga_mutex_lock(&ga_heap_lock);
  /* No marker runs: the last cycle's have finished, this one's have not
   * started. */
  for (size_t k = 0; k < ga_pages_arena_count(); k++) {
    ga_arena_t *a = ga_pages_arena(k);
    if (!a->gc_black_any[par]) continue;
    memset(a->gc_black[par], 0, sizeof a->gc_black[par]);
    a->gc_black_any[par] = 0;
  }
  if (!heap_locked) ga_mutex_unlock(&ga_heap_lock);
}

bool ga_gc_blacklist_get(const ga_arena_t *a, uint64_t out[GA_ARENA_WORDS]) {
  bool b0 = __atomic_load_n(&a->gc_black_any[0], __ATOMIC_RELAXED);
  bool b1 = __atomic_load_n(&a->gc_black_any[1], __ATOMIC_RELAXED);
  if (!b0 && !b1) return false;
  for (size_t i = 0; i < GA_ARENA_WORDS; i++)
    out[i] = (b0 ? __atomic_load_n(&a->gc_black[0][i], __ATOMIC_RELAXED) : 0) |
             (b1 ? __atomic_load_n(&a->gc_black[1][i], __ATOMIC_RELAXED) : 0);
  return true;
}
