#include "heap.h"

#include <errno.h>

#include "arena.h"
#include "fixalloc.h"
#include "gc/concurrent.h"
#include "gc/dirty.h"
#include "gc/sweep.h"
#include "pagecache.h"
#include "pagealloc.h"
#include "scavenger.h"
#include "tiny.h"

ga_mutex_t ga_heap_lock = GA_MUTEX_INIT;
ga_heap_stats_t ga_heap_stats;
uint64_t ga_heap_inuse_bytes;
uint64_t ga_heap_inuse_peak;
uint32_t ga_gc_cycle;
uint32_t ga_gc_sweepgen;
/* Huge spans (one arena group each) are not in the page allocator's
 * arenas; the collector visits them through this list (heap lock). */
static ga_span_t *huge_spans;
/* While a concurrent mark runs, freed huge groups stay mapped (markers may
 * be reading them) and are unmapped when it ends (ga_heap_defer_unmap). */
static bool defer_unmap;
static ga_arena_t *deferred_huge;
/* large_objects and large_pages also change without the heap lock when the
 * page cache splits a span (ga_heap_split_cached): relaxed atomics. */
#define STAT_ADD(f, v) __atomic_fetch_add(&ga_heap_stats.f, (uint64_t)(v), __ATOMIC_RELAXED)
static ga_fixalloc_t span_fixalloc = GA_FIXALLOC_INIT(sizeof(ga_span_t));

/* Heap lock held: the only writers of ga_heap_inuse_bytes. */
static void inuse_add(uint64_t bytes) {
  uint64_t v = ga_heap_inuse_bytes + bytes;
  __atomic_store_n(&ga_heap_inuse_bytes, v, __ATOMIC_RELAXED);
  if (v > __atomic_load_n(&ga_heap_inuse_peak, __ATOMIC_RELAXED))
    __atomic_store_n(&ga_heap_inuse_peak, v, __ATOMIC_RELAXED);
}

uint64_t ga_heap_take_inuse_peak(void) {
  /* Reset to 0, not to the heap now: called at a cycle's end, when the
   * heap still holds the garbage the sweep found, which would make the
   * next peak at least that even if the heap never got there again.
   * Without the heap lock: a raise racing with the reset is lost, which
   * only makes the next peak a little lower. */
  uint64_t now = __atomic_load_n(&ga_heap_inuse_bytes, __ATOMIC_RELAXED);
  uint64_t peak = __atomic_exchange_n(&ga_heap_inuse_peak, 0, __ATOMIC_RELAXED);
  return peak > now ? peak : now;
}

static void record(ga_span_t *s, uintptr_t base, size_t npages) {
  s->base = base;
  s->npages = npages;
  s->state = GA_SPAN_INUSE;
  ga_arena_set_spans(base, npages, s);
  ga_arena_t *a = ga_arena_of(base);
  size_t pg = (base >> GA_PAGE_SHIFT) & (GA_PAGES_PER_ARENA - 1);
  __atomic_fetch_or(&a->page_inuse[pg >> 6], (uint64_t)1 << (pg & 63), __ATOMIC_RELAXED);
}

static void set_large_bit(ga_span_t *s, bool on) {
  ga_arena_t *a = ga_arena_of(s->base);
  size_t pg = (s->base >> GA_PAGE_SHIFT) & (GA_PAGES_PER_ARENA - 1);
  if (on) __atomic_fetch_or(&a->page_large[pg >> 6], (uint64_t)1 << (pg & 63), __ATOMIC_RELAXED);
  else __atomic_fetch_and(&a->page_large[pg >> 6], ~((uint64_t)1 << (pg & 63)), __ATOMIC_RELAXED);
}

static void unrecord(ga_span_t *s) {
  ga_arena_t *a = ga_arena_of(s->base);
  size_t pg = (s->base >> GA_PAGE_SHIFT) & (GA_PAGES_PER_ARENA - 1);
  set_large_bit(s, false);
  __atomic_fetch_and(&a->page_inuse[pg >> 6], ~((uint64_t)1 << (pg & 63)), __ATOMIC_RELAXED);
  ga_arena_set_spans(s->base, s->npages, NULL);
  s->state = GA_SPAN_DEAD;
}

static ga_span_t *alloc_huge(size_t npages, size_t align_pages) {
  /* Arenas are 64 MiB aligned; larger alignments align the reservation. */
  size_t n = (npages + GA_PAGES_PER_ARENA - 1) / GA_PAGES_PER_ARENA;
  ga_arena_t *a = ga_arena_create(n, true, align_pages * GA_PAGE_SIZE);
  if (!a) return NULL;
  ga_span_t *s = ga_fixalloc_alloc(&span_fixalloc);
  if (!s) {
    ga_arena_destroy_huge(a);
    return NULL;
  }
  record(s, a->base, npages);
  s->needzero = false;
  ga_heap_stats.huge_pages += npages;
  return s;
}

ga_span_t *ga_heap_alloc_span(size_t npages, size_t align_pages, unsigned spanclass) {
  ga_span_t *s = NULL;
  uintptr_t open_hi = 0;
  /* A small span from the heap: the thread's cached large spans go back
   * first (pagecache.h), so that their resident pages are used rather than
   * fresh ones. */
  if (spanclass != 0) ga_pagecache_flush_mine();
  ga_mutex_lock(&ga_heap_lock);
  if (npages > GA_PAGES_PER_ARENA || (align_pages > 1 && npages + align_pages > GA_PAGES_PER_ARENA)) {
    s = alloc_huge(npages, align_pages);
  } else {
    bool needzero;
    /* Off blacklisted pages: large objects and scanned small ones (a
     * false pointer would retain them and what they point to:
     * gc/blacklist.h). */
    bool avoid = spanclass == 0 || !(spanclass & 1);
    uintptr_t base = spanclass == 0 && align_pages <= 1
                         ? ga_pages_alloc_best(npages, avoid, &needzero)
                         : ga_pages_alloc(npages, align_pages, spanclass != 0, avoid, &needzero);
    if (base) {
      s = ga_fixalloc_alloc(&span_fixalloc);
      if (!s) {
        ga_pages_free(base, npages);
      } else {
        record(s, base, npages);
        s->needzero = needzero;
      }
    }
  }
  if (s) {
    /* Born swept (gc/sweep.c): the pause that bumps the generation holds
     * the heap lock. */
    __atomic_store_n(&s->sweepgen, ga_gc_sweepgen, __ATOMIC_RELEASE);
    inuse_add(s->npages * GA_PAGE_SIZE);
    if (spanclass == 0) {
      s->gcgen = UINT32_MAX; /* young until ga_large_alloc has the pointer: gc/sweep.c */
      s->gcflags = 0;
      s->gcmarkBits[0] = 0;
      s->site = 0;
      set_large_bit(s, true);
      if (ga_arena_of(s->base)->huge) {
        s->prev = NULL;
        s->next = huge_spans;
        if (huge_spans) huge_spans->prev = s;
        huge_spans = s;
      }
      STAT_ADD(large_objects, 1);
      STAT_ADD(large_pages, npages);
      s->elemsize = 0; /* large: size is npages */
      s->nelems = 1;
      s->allocCount = 1;
    }
    if (GA_UNLIKELY(__atomic_load_n(&ga_gc_phase, __ATOMIC_RELAXED) == GA_GC_MARK))
      open_hi = ga_gc_conc_open_run(s->base, s->npages);
  }
  ga_mutex_unlock(&ga_heap_lock);
  if (open_hi) ga_gc_dirty_open(s->base, open_hi - s->base);
  if (!s) {
    errno = ENOMEM;
    return NULL;
  }
  if (spanclass != 0) {
    ga_span_init_small(s, spanclass);
    if (s->tiny && !ga_tiny_span_init(s)) {
      ga_heap_free_span(s);
      errno = ENOMEM;
      return NULL;
    }
  }
  return s;
}

static void free_span(ga_span_t *s, bool cached) {
  if (s->tinyref) ga_tiny_span_release(s);
  /* Every path applies a span's pending garbage before freeing it (which
   * clears this); one that did not must not leave its pages counted. */
  if (GA_UNLIKELY(s->sweep_empties)) ga_gc_sweep_forget_owed(s);
  ga_mutex_lock(&ga_heap_lock);
  if (cached) {
    /* Out of the page cache's counts in the same critical section as out
     * of the heap's, so statistics (taken under the heap lock) never see
     * the span twice or not at all. */
    __atomic_fetch_sub(&ga_pagecache_spans, 1, __ATOMIC_RELAXED);
    __atomic_fetch_sub(&ga_pagecache_pages, s->npages, __ATOMIC_RELAXED);
  }
  __atomic_store_n(&ga_heap_inuse_bytes, ga_heap_inuse_bytes - s->npages * GA_PAGE_SIZE,
                   __ATOMIC_RELAXED);
  if (s->spanclass == 0) { /* tiny spans have the 16 B noscan class */
    if (ga_arena_of(s->base)->huge) {
      if (s->prev) s->prev->next = s->next; else huge_spans = s->next;
      if (s->next) s->next->prev = s->prev;
    }
    STAT_ADD(large_objects, -1);
    STAT_ADD(large_pages, -s->npages);
  }
  uintptr_t base = s->base;
  size_t npages = s->npages;
  unrecord(s);
  ga_arena_t *a = ga_arena_of(base);
  if (a->huge) {
    ga_heap_stats.huge_pages -= npages;
    if (defer_unmap) {
      a->gc_next = deferred_huge;
      deferred_huge = a;
    } else {
      ga_arena_destroy_huge(a);
    }
  } else {
    ga_pages_free(base, npages);
  }
  GA_STORE(s->owner, NULL);
  GA_STORE(s->fastowner, NULL);
  s->list = GA_LIST_NONE;
  s->tiny = 0;
  s->spanclass = 0;
  ga_fixalloc_free(&span_fixalloc, s);
  ga_mutex_unlock(&ga_heap_lock);
  ga_scavenger_kick();
}

void ga_heap_free_span(ga_span_t *s) { free_span(s, false); }
void ga_heap_free_cached(ga_span_t *s) { free_span(s, true); }

bool ga_heap_grow_large(ga_span_t *s, size_t npages) {
  ga_pagecache_release_range(s->base + s->npages * GA_PAGE_SIZE, npages - s->npages);
  ga_mutex_lock(&ga_heap_lock);
  bool ok = ga_pages_extend(s->base, s->npages, npages - s->npages);
  if (ok) {
    ga_arena_set_spans(s->base + s->npages * GA_PAGE_SIZE, npages - s->npages, s);
    STAT_ADD(large_pages, npages - s->npages);
    inuse_add((npages - s->npages) * GA_PAGE_SIZE);
    uintptr_t old_end = s->base + s->npages * GA_PAGE_SIZE;
    s->npages = npages;
    /* For the collector's written-page walks (arena.h): the new part
     * counts as scanned wherever the block does (marked before it grew, or
     * manual scanned). Stamping when it is not marked only adds a walk. */
    if (!(s->gcflags & GA_SPAN_NOSCAN)) {
      uintptr_t new_end = s->base + npages * GA_PAGE_SIZE;
      if (s->gcflags & GA_SPAN_MANUAL) ga_arena_note_manual_scanned(old_end, new_end);
      else ga_arena_stamp_scanned(old_end, new_end);
    }
  }
  ga_mutex_unlock(&ga_heap_lock);
  return ok;
}

void ga_heap_shrink_large(ga_span_t *s, size_t npages) {
  uintptr_t tail = s->base + npages * GA_PAGE_SIZE;
  size_t n = s->npages - npages;
  if (ga_arena_of(s->base)->huge) {
    /* A huge group is unmapped whole when freed: keep its pages with the
     * span, only give the memory of the tail back now. */
    ga_os_unuse((void *)tail, n * GA_PAGE_SIZE);
    return;
  }
  ga_mutex_lock(&ga_heap_lock);
  ga_arena_set_spans(tail, n, NULL);
  ga_pages_free(tail, n);
  STAT_ADD(large_pages, -n);
  __atomic_store_n(&ga_heap_inuse_bytes, ga_heap_inuse_bytes - n * GA_PAGE_SIZE, __ATOMIC_RELAXED);
  s->npages = npages;
  ga_mutex_unlock(&ga_heap_lock);
  ga_scavenger_kick();
}

/* ---- large spans kept by the page cache (pagecache.c) ---- */

void ga_heap_large_to_cache(ga_span_t *s) {
  ga_arena_t *a = ga_arena_of(s->base);
  size_t pg = (s->base >> GA_PAGE_SHIFT) & (GA_PAGES_PER_ARENA - 1);
  __atomic_fetch_and(&a->page_inuse[pg >> 6], ~((uint64_t)1 << (pg & 63)), __ATOMIC_RELAXED);
  s->needzero = true;
  __atomic_store_n(&s->state, GA_SPAN_DEAD, __ATOMIC_RELAXED);
}

void ga_heap_large_from_cache(ga_span_t *s) {
  ga_arena_t *a = ga_arena_of(s->base);
  size_t pg = (s->base >> GA_PAGE_SHIFT) & (GA_PAGES_PER_ARENA - 1);
  /* For the collector: a new large object, young (gc/sweep.c) from before
   * a pause can see it in use until ga_large_alloc holds its pointer. */
  s->gcgen = UINT32_MAX;
  s->gcflags = 0;
  s->gcmarkBits[0] = 0;
  s->site = 0;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  __atomic_store_n(&s->state, GA_SPAN_INUSE, __ATOMIC_RELAXED);
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  __atomic_fetch_or(&a->page_inuse[pg >> 6], (uint64_t)1 << (pg & 63), __ATOMIC_RELAXED);
}

bool ga_heap_split_cached(ga_span_t *s, size_t npages, ga_span_t **head, ga_span_t **tail) {
  ga_span_t *n = ga_fixalloc_alloc(&span_fixalloc);
  if (!n) return false;
  size_t rest = s->npages - npages;
  n->spanclass = 0;
  n->elemsize = 0;
  n->nelems = 1;
  n->allocCount = 1;
  n->needzero = true;
  n->state = GA_SPAN_DEAD;
  /* The new descriptor takes the smaller part: fewer spans[] entries. */
  if (npages <= rest) {
    n->base = s->base;
    n->npages = npages;
    s->base += npages * GA_PAGE_SIZE;
    s->npages = rest;
    *head = n;
    *tail = s;
  } else {
    n->base = s->base + npages * GA_PAGE_SIZE;
    n->npages = rest;
    s->npages = npages;
    *head = s;
    *tail = n;
  }
  ga_arena_set_spans(n->base, n->npages, n);
  /* Both parts' first pages: the lazy sweep's pause finds large spans
   * only through these bits, and a span it never visits keeps its mark
   * into the next cycle, whose mark then never scans it (review: live
   * objects held only by such a block were freed). */
  set_large_bit(n, true);
  set_large_bit(s, true);
  STAT_ADD(large_objects, 1);
  return true;
}

void ga_heap_for_each_span(void (*fn)(ga_span_t *s, void *arg), void *arg) {
  /* Huge groups are not in the page allocator's list and are not visited:
   * they hold one large object each, counted in ga_heap_stats. */
  for (size_t k = 0; k < ga_pages_arena_count(); k++) {
    ga_arena_t *a = ga_pages_arena(k);
    for (size_t w = 0; w < GA_ARENA_WORDS; w++) {
      uint64_t bits = a->page_inuse[w];
      while (bits) {
        size_t pg = w * 64 + (size_t)__builtin_ctzll(bits);
        bits &= bits - 1;
        ga_span_t *s = a->spans[pg];
        if (s) fn(s, arg);
      }
    }
  }
}

void ga_heap_for_each_span_chunked(void (*fn)(ga_span_t *s, void *arg), void *arg) {
  for (size_t k = 0;; k++) {
    ga_mutex_lock(&ga_heap_lock);
    bool more = k < ga_pages_arena_count();
    ga_arena_t *a = more ? ga_pages_arena(k) : NULL;
    ga_mutex_unlock(&ga_heap_lock);
    if (!more) return;
    for (size_t w0 = 0; w0 < GA_ARENA_WORDS; w0 += 16) {
      ga_mutex_lock(&ga_heap_lock);
      for (size_t w = w0; w < w0 + 16 && w < GA_ARENA_WORDS; w++) {
        uint64_t bits = __atomic_load_n(&a->page_inuse[w], __ATOMIC_RELAXED);
        while (bits) {
          size_t pg = w * 64 + (size_t)__builtin_ctzll(bits);
          bits &= bits - 1;
          ga_span_t *s = a->spans[pg];
          if (s) fn(s, arg);
        }
      }
      ga_mutex_unlock(&ga_heap_lock);
    }
  }
}

void ga_heap_for_each_large_span(void (*fn)(ga_span_t *s, void *arg), void *arg) {
  for (size_t k = 0; k < ga_pages_arena_count(); k++) {
    ga_arena_t *a = ga_pages_arena(k);
    for (size_t w = 0; w < GA_ARENA_WORDS; w++) {
      uint64_t bits = __atomic_load_n(&a->page_large[w], __ATOMIC_RELAXED);
      while (bits) {
        size_t pg = w * 64 + (size_t)__builtin_ctzll(bits);
        bits &= bits - 1;
        ga_span_t *s = a->spans[pg];
        if (s && s->spanclass == 0 && s->base == a->base + pg * GA_PAGE_SIZE) fn(s, arg);
      }
    }
  }
}

void ga_heap_defer_unmap(bool on) {
  ga_mutex_lock(&ga_heap_lock);
  defer_unmap = on;
  if (!on) {
    while (deferred_huge) {
      ga_arena_t *a = deferred_huge;
      deferred_huge = a->gc_next;
      ga_arena_destroy_huge(a);
    }
  }
  ga_mutex_unlock(&ga_heap_lock);
}

void ga_heap_for_each_huge_span(void (*fn)(ga_span_t *s, void *arg), void *arg) {
  for (ga_span_t *s = huge_spans, *next; s; s = next) {
    next = s->next;
    fn(s, arg);
  }
}

void ga_heap_lock_all(void) {
  ga_pagecache_lock_all(); /* before the heap lock: see pagecache.c */
  ga_mutex_lock(&ga_heap_lock);
  ga_mutex_lock(&span_fixalloc.lock);
  ga_tiny_lock();
}
void ga_heap_unlock_all(void) {
  ga_tiny_unlock();
  ga_mutex_unlock(&span_fixalloc.lock);
  ga_mutex_unlock(&ga_heap_lock);
  ga_pagecache_unlock_all();
}
void ga_heap_reset_locks(void) {
  ga_tiny_reset_lock();
  ga_mutex_reset(&span_fixalloc.lock);
  ga_mutex_reset(&ga_heap_lock);
  ga_pagecache_fork_child(); /* gives dead threads' cached spans to the heap */
}
