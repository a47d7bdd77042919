#include "cache.h"

#include <errno.h>
#include <pthread.h>

#include "central.h"
#include "fixalloc.h"
#include "gc/collector.h"
#include "heap.h"
#include "malloc_int.h"
#include "scavenger.h"
#include "tiny.h"

/* Statically initialised: a library constructor that runs before ours may
 * call malloc, and the fast path reads alloc[] before any init. */
ga_cache_t ga_empty_cache = {.alloc = {[0 ... GA_NUM_CACHE_CLASSES - 1] = &ga_empty_span}};
__thread ga_cache_t *ga_tls_cache __attribute__((tls_model("initial-exec"))) = &ga_empty_cache;

ga_mutex_t ga_caches_lock = GA_MUTEX_INIT;
uint64_t ga_caches_live;
static ga_cache_t *all_caches;
static ga_fixalloc_t cache_fixalloc = GA_FIXALLOC_INIT(sizeof(ga_cache_t));
static pthread_key_t cache_key;
static bool key_ok;

static void cache_destructor(void *arg);

void ga_caches_init(void) {
  /* pthread_key_create allocates nothing in glibc, so it is safe here. */
  key_ok = pthread_key_create(&cache_key, cache_destructor) == 0;
}

ga_cache_t *ga_cache_get(void) {
  ga_cache_t *c = ga_tls_cache;
  if (c != &ga_empty_cache) return c;
  ga_init();
  c = ga_fixalloc_alloc(&cache_fixalloc);
  if (!c) return NULL;
  for (unsigned i = 0; i < GA_NUM_CACHE_CLASSES; i++) c->alloc[i] = &ga_empty_span;
  ga_mutex_lock(&ga_caches_lock);
  c->next = all_caches;
  if (all_caches) all_caches->prev = c;
  all_caches = c;
  __atomic_fetch_add(&ga_caches_live, 1, __ATOMIC_RELAXED);
  ga_mutex_unlock(&ga_caches_lock);
  ga_tls_cache = c;
  /* glibc runs key destructors at thread exit (not for the main thread's
   * exit(), where the cache simply dies with the process). */
  if (key_ok) pthread_setspecific(cache_key, c);
  if (GA_UNLIKELY(ga_gc_mode)) ga_gc_thread_started();
  return c;
}

/* Destructor rounds this thread has seen (cache_destructor). */
static __thread uint8_t exit_rounds __attribute__((tls_model("initial-exec")));

static void cache_destructor(void *arg) {
  ga_cache_t *c = arg;
  /* glibc runs the key destructors in rounds, in key order, and runs another
   * round while some destructor set a value again. Keys created after ours
   * (the program's) have their destructors run after ours in the first
   * round; they may still use objects the collector must see, reachable
   * only from this thread's stack or TLS. So the first round only sets the
   * value again: the thread stays registered with the collector, with its
   * cache, through every first-round destructor, and lets go in the
   * second (test gc_key_dtor). Only with the collector on: a thread whose
   * first allocation comes in the last round would keep its cache (glibc
   * runs 4 rounds); and a destructor of round 2 or later that holds the
   * only pointer to a collectable object is not covered. */
  if (ga_gc_mode && exit_rounds++ == 0 && key_ok && pthread_setspecific(cache_key, c) == 0)
    return;
  /* Busy from before the thread stops being stopped by collections until
   * the cache is gone (ga_cache_release frees it). */
  ga_cache_busy_enter(c);
  if (GA_UNLIKELY(ga_gc_mode)) ga_gc_thread_exiting();
  if (ga_tls_cache == c) ga_tls_cache = &ga_empty_cache;
  ga_cache_release(c);
}

void ga_caches_for_each(void (*fn)(ga_cache_t *c, void *arg), void *arg) {
  for (ga_cache_t *c = all_caches; c; c = c->next) fn(c, arg);
}

/* ---- freeing ---- */

static void list_fix_after_free(ga_cache_t *c, ga_span_t *s) {
  unsigned spc = ga_span_cache_class(s);
  if (s == c->alloc[spc]) return; /* the current span stays, even empty */
  if (s->allocCount == 0) {
    if (s->list == GA_LIST_PARTIAL) ga_span_list_remove(&c->partial[spc], s);
    else if (s->list == GA_LIST_FULL) ga_span_list_remove(&c->full[spc], s);
    /* Garbage the collector queued here was freed some other way (the
     * remote drain): stale sweep bits must not outlive the objects, or the
     * next objects in these slots would be swept (gc/sweep.c). The span
     * is swept first (or waited for while the background sweep writes its
     * bits); with no object left, applying the bits frees nothing. */
    ga_gc_sweep_ensure(s);
    size_t bytes = s->npages * GA_PAGE_SIZE;
    if (c->empty_bytes + bytes <= GA_CACHE_EMPTY_BYTES) {
      ga_span_list_push(&c->empty[spc], s, GA_LIST_EMPTY);
      c->empty_bytes += bytes;
    } else {
      ga_heap_free_span(s);
    }
  } else if (s->list == GA_LIST_FULL && s->allocCount <= s->mark) {
    s->mark = 0;
    ga_span_list_remove(&c->full[spc], s);
    ga_span_list_push(&c->partial[spc], s, GA_LIST_PARTIAL);
  }
}

void ga_cache_after_local_free(ga_cache_t *c, ga_span_t *s) {
  int saved = errno; /* free() preserves errno; the heap may touch it */
  ga_gc_park_if_stopping();
  ga_cache_busy_enter(c);
  list_fix_after_free(c, s);
  ga_cache_busy_exit(c);
  errno = saved;
}

void ga_cache_free_local(ga_cache_t *c, ga_span_t *s, uintptr_t p, uint32_t idx, const char *fn) {
  if (GA_UNLIKELY(!ga_span_bit(s, idx))) {
    ga_report_bad_free(fn, (void *)p, "double free");
    return;
  }
  ga_span_clear_bit(s, idx);
  ga_span_count(s, -1);
  __asm__ volatile("" : : "r"(p) : "memory"); /* p stays visible until the bit is clear */
  if (s->allocCount == s->mark) list_fix_after_free(c, s);
}

void ga_span_apply_frees(ga_span_t *s, void *list) {
  while (list) {
    uintptr_t p = (uintptr_t)list;
    list = *(void **)list;
    long idx = ga_span_object_index(s, p);
    if (idx < 0 || !ga_span_bit(s, (uint32_t)idx)) {
      /* The same object was pushed twice before the owner drained: we only
       * see it now, and the list may loop back on itself, so the rest of it
       * is abandoned (leaked) rather than walked forever. */
      ga_report_bad_free("free", (void *)p, "double free (detected late, freed by another thread)");
      break;
    }
    ga_span_clear_bit(s, (uint32_t)idx);
    ga_span_count(s, -1);
  }
}

void ga_span_free_remote(ga_span_t *s, uintptr_t p, uint32_t idx, const char *fn) {
  if (!ga_span_is_allocated(s, idx)) {
    ga_report_bad_free(fn, (void *)p, "double free");
    return;
  }
  for (;;) {
    ga_spin_lock(&s->xlock);
    ga_cache_t *o = GA_LOAD(s->owner);
    if (o) {
      *(void **)p = s->xfree;
      s->xfree = (void *)p;
      if (!s->xqueued) {
        s->xqueued = true;
        ga_span_t *head = __atomic_load_n(&o->remote, __ATOMIC_RELAXED);
        do {
          s->xnext = head;
        } while (!__atomic_compare_exchange_n(&o->remote, &head, s, true, __ATOMIC_RELEASE,
                                              __ATOMIC_RELAXED));
      }
      ga_spin_unlock(&s->xlock);
      return;
    }
    ga_spin_unlock(&s->xlock);
    if (ga_central_free(s, p, idx, fn)) return;
  }
}

static void drain_remote(ga_cache_t *c) {
  ga_span_t *s = __atomic_exchange_n(&c->remote, NULL, __ATOMIC_ACQUIRE);
  while (s) {
    /* Read the link before clearing xqueued: once it is clear, a pusher may
     * queue the span again and overwrite xnext. */
    ga_span_t *next = s->xnext;
    ga_spin_lock(&s->xlock);
    void *list = s->xfree;
    s->xfree = NULL;
    s->xqueued = false;
    ga_spin_unlock(&s->xlock);
    ga_span_apply_frees(s, list);
    list_fix_after_free(c, s);
    s = next;
  }
}

/* Objects on the remote lists may be garbage the last collection found
 * (a thread freed them before the pause and nothing points to them but the
 * list), so the sweep drains first: its bits then only clear slots that
 * are still allocated. Every drain goes through here for that reason. */
void ga_cache_drain_remote(ga_cache_t *c) {
  if (GA_UNLIKELY(__atomic_load_n(&c->sweep_needed, __ATOMIC_RELAXED))) ga_cache_sweep(c);
  else if (__atomic_load_n(&c->remote, __ATOMIC_RELAXED)) drain_remote(c);
}

static void sweep_list(ga_cache_t *c, ga_span_list_t *l) {
  for (ga_span_t *s = l->first, *next; s; s = next) {
    next = s->next;
    /* Only spans swept for the last cycle: the background sweep may be
     * writing the others' bits (it flags the cache when it is done). */
    if (ga_gc_span_swept(s) && ga_gc_span_pending(s) && ga_gc_sweep_owned_span(s))
      list_fix_after_free(c, s);
  }
}

void ga_cache_sweep(ga_cache_t *c) {
  ga_cache_busy_enter(c);
  __atomic_store_n(&c->sweep_needed, 0, __ATOMIC_RELAXED);
  drain_remote(c);
  for (unsigned spc = 0; spc < GA_NUM_CACHE_CLASSES; spc++) {
    ga_span_t *s = c->alloc[spc];
    /* Current spans are always swept (the pause sweeps them). */
    if (s != &ga_empty_span && ga_gc_span_swept(s) && ga_gc_span_pending(s))
      ga_gc_sweep_owned_span(s);
    sweep_list(c, &c->partial[spc]);
    sweep_list(c, &c->full[spc]);
  }
  ga_cache_busy_exit(c);
}

/* ---- allocation ---- */

static void *alloc_slow(ga_cache_t *c, unsigned spc);

void *ga_cache_alloc_slow(ga_cache_t *c, unsigned spc) {
  if (c == &ga_empty_cache) {
    c = ga_cache_get();
    if (!c) {
      errno = ENOMEM;
      return NULL;
    }
  }
  /* A collection may start here: the cache is consistent (not busy). */
  if (GA_UNLIKELY(ga_gc_auto)) ga_gc_poll();
  ga_gc_park_if_stopping();
  ga_cache_busy_enter(c);
  ga_cache_drain_remote(c);
  void *p = alloc_slow(c, spc);
  ga_cache_busy_exit(c);
  /* Here and on large frees, not on small frees: glibc frees a dead
   * thread's TLS with its stack-cache lock held, which pthread_create
   * takes (stress_thread_churn hung there). */
  ga_scavenger_start_pending();
  return p;
}

static void *alloc_slow(ga_cache_t *c, unsigned spc) {
  ga_span_t *s = c->alloc[spc];
  bool rescanned = false, warm = s != &ga_empty_span; /* filled a span of this class */
  for (;;) {
    uint32_t idx = ga_span_next_free_index(s);
    if (idx < s->nelems) return (void *)ga_span_take_slot(s, idx);
    if (s != &ga_empty_span) {
      /* Slots freed below freeindex: search the span again from the start
       * (what sweeping does for Go) before giving it up. A span comes back to be allocated from (rescanned now, or from the
       * partial list later) only with a quarter of its slots free, so each
       * refill serves many allocations instead of one or two. */
      uint32_t quarter = s->nelems / 4 ? s->nelems / 4 : 1;
      if (s->nelems - (s->allocCount - 1) >= quarter && !rescanned) {
        ga_span_rescan(s);
        rescanned = true;
        continue;
      }
      ga_span_count(s, -1); /* drop the cache's hold (see cache.h) */
      GA_STORE(s->held, 0);
      s->mark = s->nelems - quarter;
      ga_span_list_push(&c->full[spc], s, GA_LIST_FULL);
    }
    rescanned = false;
    /* Oldest partial span first: it has had the longest to collect frees,
     * so it serves the most allocations before the next switch. */
    s = ga_span_list_pop_oldest(&c->partial[spc]);
    if (!s && (s = ga_span_list_pop(&c->empty[spc])) != NULL)
      c->empty_bytes -= s->npages * GA_PAGE_SIZE;
    if (s) {
      /* Swept for the last cycle before anything is allocated from it
       * (gc/sweep.c): its garbage becomes free slots first. */
      ga_gc_sweep_ensure(s);
      ga_span_rescan(s);
    } else {
      s = ga_central_cache_span(spc, c, warm);
      if (!s) {
        c->alloc[spc] = &ga_empty_span;
        errno = ENOMEM;
        return NULL;
      }
      if (ga_gc_sweep_ensure(s)) ga_span_rescan(s);
    }
    s->list = GA_LIST_NONE;
    ga_span_count(s, 1); /* the cache's hold */
    s->mark = 0;
    GA_STORE(s->held, 1);
    GA_STORE(c->alloc[spc], s);
    /* A pause between the sweep above and the store (this cache is busy,
     * so the pause did not wait for it) left s unswept for its cycle and
     * not current when it looked: sweep it now, before the first slot is
     * taken. A pause after the store finds it current and sweeps it. */
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    if (!ga_gc_span_swept(s)) {
      ga_gc_sweep_ensure(s);
      ga_span_rescan(s);
    }
  }
}

/* ---- release ---- */

static bool release_list(ga_span_list_t *l, unsigned spc, uint8_t which) {
  bool all = true;
  ga_span_t *s = l->first;
  while (s) {
    ga_span_t *next = s->next;
    ga_span_list_remove(l, s);
    if (!ga_central_uncache_span(spc, s)) {
      ga_span_list_push(l, s, which);
      all = false;
    }
    s = next;
  }
  return all;
}

void ga_cache_free_empty(ga_cache_t *c) {
  for (unsigned spc = 0; spc < GA_NUM_CACHE_CLASSES; spc++) {
    ga_span_t *s;
    while ((s = ga_span_list_pop(&c->empty[spc])) != NULL) ga_heap_free_span(s);
  }
  c->empty_bytes = 0;
}

void ga_cache_release(ga_cache_t *c) {
  ga_cache_busy_enter(c);
  ga_tiny_drop_block(c);
  for (;;) {
    ga_cache_drain_remote(c);
    ga_cache_free_empty(c); /* the drain may have emptied spans */
    bool done = true;
    for (unsigned spc = 0; spc < GA_NUM_CACHE_CLASSES; spc++) {
      ga_span_t *s = c->alloc[spc];
      if (s != &ga_empty_span) {
        if (s->held) {
          ga_span_count(s, -1);
          GA_STORE(s->held, 0);
        }
        if (ga_central_uncache_span(spc, s)) c->alloc[spc] = &ga_empty_span;
        else done = false;
      }
      /* Spans on the full list may have been pushed to partial by a drain;
       * both lists are released the same way. */
      if (!release_list(&c->partial[spc], spc, GA_LIST_PARTIAL)) done = false;
      if (!release_list(&c->full[spc], spc, GA_LIST_FULL)) done = false;
    }
    if (done) break;
  }
  ga_mutex_lock(&ga_caches_lock);
  if (c->prev) c->prev->next = c->next; else all_caches = c->next;
  if (c->next) c->next->prev = c->prev;
  __atomic_fetch_sub(&ga_caches_live, 1, __ATOMIC_RELAXED);
  ga_mutex_unlock(&ga_caches_lock);
  ga_cache_busy_exit(c);
  ga_fixalloc_free(&cache_fixalloc, c);
}

/* fork child: collects the spans of caches that died with their threads.
 * Their lists cannot be trusted (a thread may have been stopped halfway
 * through moving a span between them), so ownership is rebuilt from the
 * spans themselves. */
static ga_span_t *orphans;

static void fork_fix_span(ga_span_t *s, void *arg) {
  ga_cache_t *mine = arg;
  s->xlock.locked = 0; /* a thread that is gone may have held it */
  if (s->spanclass == 0) return; /* large: owned by the heap */
  ga_cache_t *o = s->owner;
  if (o == NULL) return; /* in mcentral: consistent, its lock was held */
  if (o == mine) {
    /* Our spans stay ours; a drain of our remote stack cannot have been
     * running (we were forking), but pushes by other threads may have been
     * halfway: requeue whatever xfree holds. */
    s->xqueued = false;
    return;
  }
  s->next = orphans;
  orphans = s;
}

void ga_caches_fork_child(void) {
  ga_mutex_reset(&ga_caches_lock);
  ga_mutex_reset(&cache_fixalloc.lock);
  ga_cache_t *mine = ga_tls_cache;
  if (mine != &ga_empty_cache) mine->remote = NULL;
  orphans = NULL;
  ga_heap_for_each_span(fork_fix_span, mine);
  /* Our own spans with remote frees pending go back on our stack. */
  if (mine != &ga_empty_cache) {
    for (unsigned spc = 0; spc < GA_NUM_CACHE_CLASSES; spc++) {
      ga_span_list_t *lists[] = {&mine->partial[spc], &mine->full[spc]};
      for (unsigned k = 0; k < 2; k++)
        for (ga_span_t *s = lists[k]->first; s; s = s->next)
          if (s->xfree && !s->xqueued) {
            s->xqueued = true;
            s->xnext = mine->remote;
            mine->remote = s;
          }
      ga_span_t *cur = mine->alloc[spc];
      if (cur != &ga_empty_span && cur->xfree && !cur->xqueued) {
        cur->xqueued = true;
        cur->xnext = mine->remote;
        mine->remote = cur;
      }
    }
  }
  /* Orphans: drop the dead cache's hold, apply pending remote frees, hand
   * to mcentral (or the heap when empty). */
  while (orphans) {
    ga_span_t *s = orphans;
    orphans = s->next;
    if (s->held) {
      s->allocCount--;
      GA_STORE(s->held, 0);
    }
    s->xqueued = false;
    s->list = GA_LIST_NONE;
    s->next = s->prev = NULL;
    s->mark = 0;
    ga_central_uncache_span(ga_span_cache_class(s), s);
  }
  /* The dead caches themselves: freed without walking their lists. */
  ga_cache_t *c = all_caches;
  while (c) {
    ga_cache_t *next = c->next;
    if (c != mine) {
      if (c->prev) c->prev->next = c->next; else all_caches = c->next;
      if (c->next) c->next->prev = c->prev;
      ga_caches_live--;
      ga_fixalloc_free(&cache_fixalloc, c);
    }
    c = next;
  }
}

void ga_caches_lock_all(void) {
  ga_mutex_lock(&ga_caches_lock);
  ga_mutex_lock(&cache_fixalloc.lock);
}
void ga_caches_unlock_all(void) {
  ga_mutex_unlock(&cache_fixalloc.lock);
  ga_mutex_unlock(&ga_caches_lock);
}
