#include "central.h"

#include "cache.h"
#include "gc/collector.h"
#include "gc/sweep.h"
#include "heap.h"
#include "malloc_int.h"
#include "os.h"

ga_central_t ga_central[GA_NUM_CACHE_CLASSES];

/* Lock held: tells lock-free peekers whether the partial list has spans. */
static void publish(ga_central_t *ct) {
  __atomic_store_n(&ct->nonempty, ct->partial.first != NULL, __ATOMIC_RELAXED);
}

static void set_owner(ga_span_t *s, ga_cache_t *c) {
  ga_spin_lock(&s->xlock);
  GA_STORE(s->owner, c);
  GA_STORE(s->fastowner, s->tiny ? NULL : c);
  ga_spin_unlock(&s->xlock);
}

ga_span_t *ga_central_cache_span(unsigned spc, ga_cache_t *c, bool warm) {
  ga_central_t *ct = &ga_central[spc];
  /* Racy peek: most of the time central is empty and we go to the heap
   * without touching the lock. */
  if (__atomic_load_n(&ct->nonempty, __ATOMIC_RELAXED)) {
    ga_mutex_lock(&ct->lock);
    ga_span_t *s = ga_span_list_pop(&ct->partial);
    publish(ct);
    if (s) {
      /* Unswept since the last pause: swept here, before any owner. */
      if (!ga_gc_span_swept(s)) ga_gc_sweep_central_taken(s);
      set_owner(s, c);
    }
    ga_mutex_unlock(&ct->lock);
    if (s) {
      ga_span_rescan(s);
      return s;
    }
  }
  unsigned sc = ga_spanclass_sizeclass(spc);
  ga_span_t *s = ga_heap_alloc_span(ga_class_npages[sc], 1, spc);
  if (!s) return NULL;
  set_owner(s, c);
  /* On pages never used or given back, for a thread that filled its last
   * span of this class: it will very likely fill this one too, touching
   * every page, each touch a fault. One call makes them resident instead
   * (13 us a fault on the tenth session's PVM guest against 7 a page
   * populated; GCBench with malloc/free: 100k faults -> 8k, same peak
   * RSS). Not a thread's first span of a class: a program with many
   * threads that each use a few slots of many classes would make up to 80
   * KiB resident per class and thread. Not with the collector on: the
   * program then outruns the cycle's marking and its heap overshoots the
   * goal by more (gc_retain_one_cpu: the scavenger gave back 30-80 MiB of
   * a churn instead of 0-5); the full GCBench took 26% less wall time with
   * it, worth having once pacing holds the heap near its goal. */
  if (warm && !s->needzero && __atomic_load_n(&ga_gc_mode, __ATOMIC_RELAXED) == 0)
    ga_os_populate((void *)s->base, s->npages * GA_PAGE_SIZE);
  return s;
}

bool ga_central_free(ga_span_t *s, uintptr_t p, uint32_t idx, const char *fn) {
  ga_central_t *ct = &ga_central[ga_span_cache_class(s)];
  ga_mutex_lock(&ct->lock);
  ga_spin_lock(&s->xlock);
  bool owned = s->owner != NULL;
  ga_spin_unlock(&s->xlock);
  if (owned) {
    ga_mutex_unlock(&ct->lock);
    return false;
  }
  if (!ga_span_bit(s, idx)) {
    ga_mutex_unlock(&ct->lock);
    ga_report_bad_free(fn, (void *)p, "double free");
    return true;
  }
  ga_span_clear_bit(s, idx);
  ga_span_count(s, -1);
  if (s->allocCount == 0) {
    ga_span_list_remove(s->list == GA_LIST_CFULL ? &ct->full : &ct->partial, s);
    publish(ct);
    ga_mutex_unlock(&ct->lock);
    ga_heap_free_span(s);
    return true;
  }
  if (s->list == GA_LIST_CFULL) {
    ga_span_list_remove(&ct->full, s);
    ga_span_list_push(&ct->partial, s, GA_LIST_CPARTIAL);
    publish(ct);
  }
  ga_mutex_unlock(&ct->lock);
  return true;
}

bool ga_central_uncache_span(unsigned spc, ga_span_t *s) {
  ga_central_t *ct = &ga_central[spc];
  ga_mutex_lock(&ct->lock);
  /* Central spans are swept (the pause sweeps them, under these locks):
   * this one is swept for the last cycle first, by its owner (the caller)
   * or by the background sweep, which is waited for, so nothing writes its
   * sweep state once it changes hands (gc/sweep.c). */
  ga_gc_sweep_ensure(s);
  ga_spin_lock(&s->xlock);
  if (s->xqueued) {
    ga_spin_unlock(&s->xlock);
    ga_mutex_unlock(&ct->lock);
    return false;
  }
  GA_STORE(s->owner, NULL);
  GA_STORE(s->fastowner, NULL);
  void *list = s->xfree;
  s->xfree = NULL;
  ga_spin_unlock(&s->xlock);
  ga_span_apply_frees(s, list);
  /* Garbage the collector queued for the last owner (a thread that
   * vanished in a fork child): applied now, after the remote frees, as
   * the owner would have (gc/sweep.c); central spans carry none. */
  if (ga_gc_span_pending(s)) ga_gc_sweep_owned_span(s);
  if (s->allocCount == 0) {
    ga_mutex_unlock(&ct->lock);
    ga_heap_free_span(s);
    return true;
  }
  if (s->allocCount == s->nelems)
    ga_span_list_push(&ct->full, s, GA_LIST_CFULL);
  else
    ga_span_list_push(&ct->partial, s, GA_LIST_CPARTIAL);
  publish(ct);
  ga_mutex_unlock(&ct->lock);
  return true;
}

/* The collector's pause (every central lock held by the caller): clears
 * the garbage slots g[] of s, an unowned span, and fixes its list. A span
 * left empty is taken off the lists and returned through *empty (linked by
 * next) for the caller to free once it has released the heap lock. */
void ga_central_sweep_span(ga_span_t *s, const uint64_t *g, ga_span_t **empty) {
  ga_central_t *ct = &ga_central[ga_span_cache_class(s)];
  if (!ga_span_free_slots(s, g)) return;
  if (s->allocCount == 0) {
    ga_span_list_remove(s->list == GA_LIST_CFULL ? &ct->full : &ct->partial, s);
    publish(ct);
    s->list = GA_LIST_NONE;
    s->next = *empty;
    *empty = s;
  } else if (s->list == GA_LIST_CFULL) {
    ga_span_list_remove(&ct->full, s);
    ga_span_list_push(&ct->partial, s, GA_LIST_CPARTIAL);
    publish(ct);
  }
}
