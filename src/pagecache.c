/* pagecache.c: a per-thread cache of freed large spans.
 *
 * Go gives each P a pageCache (mpagecache.go): a 64-page chunk of its own,
 * from which small spans are allocated without the heap lock. Ours plays
 * that part for large objects (> 32 KiB), whose every malloc and free
 * otherwise takes the heap lock, searches and updates the page bitmap and
 * its summaries, and rewrites spans[] for every page.
 *
 * free() of a large object puts its span in the calling thread's cache
 * (ga_pagecache_put). The span stays whole: its pages stay allocated in the
 * page allocator and spans[] keeps pointing at it, but it is DEAD and out
 * of pageInUse (heap.h: ga_heap_large_to_cache), so a second free() of it,
 * or of a pointer inside it, is reported exactly as before, and heap walks
 * (statistics, fork) do not see it. malloc() of a large object takes the
 * smallest cached span that is big enough (ga_pagecache_get); a longer one
 * is split (ga_heap_split_cached: the smaller part gets the new
 * descriptor), the rest stays cached, or goes to the heap when it is too
 * short for a large object. A hit takes no heap lock, touches no bitmap,
 * and its pages are resident; calloc clears them (needzero).
 *
 * Cached pages are hidden from the heap, which would otherwise grow into
 * fresh pages (page faults, RSS) while they sit here. So the cache gives
 * its spans back: all of them on a miss (before the heap's best fit runs),
 * before the heap makes a small span for this thread (heap.c), the ones
 * overlapping a block that realloc grows in place (release_range), and
 * the old block of a realloc that moved never enters it (large.c).
 *
 * Invariants:
 *  - Every cached span is class 0, DEAD, not in a huge arena group, at most
 *    GA_PAGECACHE_MAX_PAGES pages, and in exactly one cache.
 *  - A cache holds at most GA_PAGECACHE_SLOTS spans and
 *    GA_PAGECACHE_MAX_PAGES pages, oldest first; putting a span in a full
 *    cache gives the oldest ones back to the heap.
 *  - Cached pages go back to the heap, where the scavenger finds them: a
 *    running background scavenger stays awake while any cache holds pages
 *    and every period gives back the spans cached two periods ago or
 *    earlier (ga_pagecache_flush_old; the same wait as for recently freed
 *    heap pages); malloc_trim empties every cache (ga_pagecache_flush_all);
 *    a thread's cache is emptied when the thread exits (pthread key
 *    destructor; after it, that thread caches nothing more); a fork child
 *    empties the caches of the threads that did not survive.
 *  - ga_pagecache_spans/pages are the totals over all caches; a span
 *    leaves them in the same heap-lock section that gives it back to the
 *    heap (ga_heap_free_cached), so statistics never count it twice.
 *
 * Locks: each cache has a mutex, taken by its thread around every operation
 * (uncontended but for the scavenger, trim and fork) and by whoever
 * empties it; list_lock protects the list of caches. Order: (scavenger
 * lock ->) list_lock -> cache lock. Nothing else is taken while a cache
 * lock is held: spans go back to the heap (heap lock) after it is dropped.
 * fork holds list_lock, every cache lock and the caches' fixalloc after the
 * mcentral locks and before the heap lock (heap.c: ga_heap_lock_all). */
#include "pagecache.h"

#include <pthread.h>

#include "arena.h"
#include "fixalloc.h"
#include "heap.h"
#include "options.h"
#include "pagealloc.h"
#include "scavenger.h"

#define MIN_PAGES 5 /* the shortest large object: 32 KiB + 1 byte */

typedef struct ga_pagecache {
  ga_mutex_t lock;
  uint32_t n; /* spans in span[], oldest first */
  size_t pages;
  ga_span_t *span[GA_PAGECACHE_SLOTS];
  uint32_t gen[GA_PAGECACHE_SLOTS]; /* ga_pages_gen when cached */
  struct ga_pagecache *next, *prev; /* all caches, under list_lock */
} ga_pagecache_t;

uint64_t ga_pagecache_spans, ga_pagecache_pages;

static __thread ga_pagecache_t *tls_pc __attribute__((tls_model("initial-exec")));
static __thread bool tls_exited __attribute__((tls_model("initial-exec")));
static ga_mutex_t list_lock = GA_MUTEX_INIT;
static ga_pagecache_t *all;
static ga_fixalloc_t pc_fixalloc = GA_FIXALLOC_INIT(sizeof(ga_pagecache_t));
static pthread_key_t key;
static int key_state; /* 0: not created yet, 1: created, 2: failed; under list_lock */

static void count(int64_t spans, int64_t pages) {
  __atomic_fetch_add(&ga_pagecache_spans, (uint64_t)spans, __ATOMIC_RELAXED);
  __atomic_fetch_add(&ga_pagecache_pages, (uint64_t)pages, __ATOMIC_RELAXED);
}

/* Cache lock held. n is also read without the lock by its thread's get.
 * The span stays in the global counts: the caller takes it out when it
 * is allocated again (count), or ga_heap_free_cached does. */
static ga_span_t *take_slot(ga_pagecache_t *pc, uint32_t i) {
  ga_span_t *s = pc->span[i];
  for (uint32_t j = i + 1; j < pc->n; j++) {
    pc->span[j - 1] = pc->span[j];
    pc->gen[j - 1] = pc->gen[j];
  }
  __atomic_store_n(&pc->n, pc->n - 1, __ATOMIC_RELAXED);
  pc->pages -= s->npages;
  return s;
}

/* Cache lock held. Spans pushed out to make room are linked on *out. */
static void insert(ga_pagecache_t *pc, ga_span_t *s, uint32_t gen, ga_span_t **out) {
  while (pc->n && (pc->n == GA_PAGECACHE_SLOTS || pc->pages + s->npages > GA_PAGECACHE_MAX_PAGES)) {
    ga_span_t *old = take_slot(pc, 0);
    old->next = *out;
    *out = old;
  }
  pc->span[pc->n] = s;
  pc->gen[pc->n] = gen;
  __atomic_store_n(&pc->n, pc->n + 1, __ATOMIC_RELAXED);
  pc->pages += s->npages;
  count(1, (int64_t)s->npages);
}

/* Cache lock held: every span of pc onto *out. */
static void take_all(ga_pagecache_t *pc, ga_span_t **out) {
  while (pc->n) {
    ga_span_t *s = take_slot(pc, pc->n - 1);
    s->next = *out;
    *out = s;
  }
}

/* No lock held: spans taken out of a cache go back to the heap. */
static void give_back(ga_span_t *list) {
  while (list) {
    ga_span_t *next = list->next;
    list->next = NULL;
    ga_heap_free_cached(list);
    list = next;
  }
}

static void unlink_cache(ga_pagecache_t *pc) {
  if (pc->prev) pc->prev->next = pc->next; else all = pc->next;
  if (pc->next) pc->next->prev = pc->prev;
  pc->next = pc->prev = NULL;
}

static void destructor(void *arg) {
  ga_pagecache_t *pc = arg;
  tls_exited = true; /* a later destructor's free() goes straight to the heap */
  if (tls_pc == pc) tls_pc = NULL;
  ga_mutex_lock(&list_lock);
  unlink_cache(pc); /* now nobody else can reach it */
  ga_mutex_unlock(&list_lock);
  ga_span_t *out = NULL;
  ga_mutex_lock(&pc->lock);
  take_all(pc, &out);
  ga_mutex_unlock(&pc->lock);
  give_back(out);
  ga_fixalloc_free(&pc_fixalloc, pc);
}

static ga_pagecache_t *create(void) {
  ga_pagecache_t *pc = ga_fixalloc_alloc(&pc_fixalloc);
  if (!pc) return NULL;
  ga_mutex_lock(&list_lock);
  /* pthread_key_create allocates nothing in glibc. */
  if (key_state == 0) key_state = pthread_key_create(&key, destructor) == 0 ? 1 : 2;
  bool keyed = key_state == 1;
  if (keyed) {
    pc->next = all;
    if (all) all->prev = pc;
    all = pc;
  }
  ga_mutex_unlock(&list_lock);
  /* Without a destructor the cache would outlive its thread: no cache. The
   * main thread's destructor never runs; its cache dies with the process. */
  if (keyed && pthread_setspecific(key, pc) == 0) {
    tls_pc = pc;
    return pc;
  }
  if (keyed) {
    ga_mutex_lock(&list_lock);
    unlink_cache(pc);
    ga_mutex_unlock(&list_lock);
  }
  ga_fixalloc_free(&pc_fixalloc, pc);
  return NULL;
}

bool ga_pagecache_put(ga_span_t *s) {
  if (!ga_option(GA_OPT_LARGE_CACHE) || s->npages > GA_PAGECACHE_MAX_PAGES || tls_exited ||
      ga_arena_of(s->base)->huge)
    return false;
  ga_pagecache_t *pc = tls_pc;
  if (!pc && !(pc = create())) return false;
  ga_heap_large_to_cache(s);
  uint32_t gen = __atomic_load_n(&ga_pages_gen, __ATOMIC_RELAXED);
  ga_span_t *out = NULL;
  ga_mutex_lock(&pc->lock);
  insert(pc, s, gen, &out);
  ga_mutex_unlock(&pc->lock);
  give_back(out);
  ga_scavenger_kick(); /* it ages the caches */
  return true;
}

ga_span_t *ga_pagecache_get(size_t npages) {
  ga_pagecache_t *pc = tls_pc;
  if (!pc || !__atomic_load_n(&pc->n, __ATOMIC_RELAXED)) return NULL;
  ga_mutex_lock(&pc->lock);
  uint32_t best = UINT32_MAX;
  for (uint32_t i = 0; i < pc->n; i++) {
    size_t np = pc->span[i]->npages;
    if (np >= npages && (best == UINT32_MAX || np < pc->span[best]->npages)) {
      best = i;
      if (np == npages) break;
    }
  }
  if (best == UINT32_MAX) {
    /* A miss: the request goes to the heap. Give the cached spans back
     * first, so that its best fit can use them and their free neighbours
     * (hidden from it, they made the heap grow). */
    ga_span_t *out = NULL;
    take_all(pc, &out);
    ga_mutex_unlock(&pc->lock);
    give_back(out);
    return NULL;
  }
  uint32_t gen = pc->gen[best];
  ga_span_t *s = take_slot(pc, best);
  ga_mutex_unlock(&pc->lock);
  count(-1, -(int64_t)s->npages);
  if (s->npages > npages) {
    ga_span_t *head, *tail;
    if (!ga_heap_split_cached(s, npages, &head, &tail)) {
      ga_heap_free_span(s);
      return NULL;
    }
    s = head;
    if (tail->npages >= MIN_PAGES) {
      ga_span_t *out = NULL;
      ga_mutex_lock(&pc->lock);
      insert(pc, tail, gen, &out);
      ga_mutex_unlock(&pc->lock);
      give_back(out);
    } else {
      ga_heap_free_span(tail);
    }
  }
  ga_heap_large_from_cache(s);
  return s;
}

void ga_pagecache_flush_mine(void) {
  ga_pagecache_t *pc = tls_pc;
  if (!pc || !__atomic_load_n(&pc->n, __ATOMIC_RELAXED)) return;
  ga_span_t *out = NULL;
  ga_mutex_lock(&pc->lock);
  take_all(pc, &out);
  ga_mutex_unlock(&pc->lock);
  give_back(out);
}

void ga_pagecache_release_range(uintptr_t base, size_t npages) {
  ga_pagecache_t *pc = tls_pc;
  if (!pc || !__atomic_load_n(&pc->n, __ATOMIC_RELAXED)) return;
  uintptr_t end = base + npages * GA_PAGE_SIZE;
  ga_span_t *out = NULL;
  ga_mutex_lock(&pc->lock);
  for (uint32_t i = 0; i < pc->n;) {
    ga_span_t *s = pc->span[i];
    if (s->base < end && base < s->base + s->npages * GA_PAGE_SIZE) {
      take_slot(pc, i);
      s->next = out;
      out = s;
    } else {
      i++;
    }
  }
  ga_mutex_unlock(&pc->lock);
  give_back(out);
}

static void flush(bool old_only, uint32_t gen) {
  ga_span_t *out = NULL;
  ga_mutex_lock(&list_lock);
  for (ga_pagecache_t *pc = all; pc; pc = pc->next) {
    if (!__atomic_load_n(&pc->n, __ATOMIC_RELAXED)) continue;
    ga_mutex_lock(&pc->lock);
    for (uint32_t i = 0; i < pc->n;) {
      if (!old_only || gen - pc->gen[i] >= 2) {
        ga_span_t *s = take_slot(pc, i);
        s->next = out;
        out = s;
      } else {
        i++;
      }
    }
    ga_mutex_unlock(&pc->lock);
  }
  ga_mutex_unlock(&list_lock);
  give_back(out);
}

void ga_pagecache_flush_old(uint32_t gen) { flush(true, gen); }
void ga_pagecache_flush_all(void) { flush(false, 0); }

void ga_pagecache_lock_all(void) {
  ga_mutex_lock(&list_lock);
  for (ga_pagecache_t *pc = all; pc; pc = pc->next) ga_mutex_lock(&pc->lock);
  ga_mutex_lock(&pc_fixalloc.lock);
}

void ga_pagecache_unlock_all(void) {
  ga_mutex_unlock(&pc_fixalloc.lock);
  for (ga_pagecache_t *pc = all; pc; pc = pc->next) ga_mutex_unlock(&pc->lock);
  ga_mutex_unlock(&list_lock);
}

/* The heap's locks are already reset: the dead threads' spans go back. */
void ga_pagecache_fork_child(void) {
  ga_mutex_reset(&list_lock);
  ga_mutex_reset(&pc_fixalloc.lock);
  ga_span_t *out = NULL;
  ga_pagecache_t *pc = all;
  while (pc) {
    ga_pagecache_t *next = pc->next;
    ga_mutex_reset(&pc->lock);
    if (pc != tls_pc) {
      take_all(pc, &out);
      unlink_cache(pc);
      ga_fixalloc_free(&pc_fixalloc, pc);
    }
    pc = next;
  }
  give_back(out);
}
