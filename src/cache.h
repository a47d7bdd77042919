/* cache.h: the per-thread cache (Go's mcache).
 *
 * Each thread has one cache, reached through an initial-exec TLS pointer.
 * For every span class it has a current span (alloc[]) that malloc's fast
 * path allocates from without a lock or an atomic, plus the other spans the
 * thread owns: partial (free slots) and full. Go gives spans back to mcentral
 * when they fill up and gets them back through the sweeper; with explicit
 * free we keep them instead (as mimalloc keeps pages with their heap), so
 * that free() by the owning thread is a plain bit clear on any span it owns.
 * A span that becomes empty (and is not current) is kept on the class's
 * empty list while the cache keeps under GA_CACHE_EMPTY_BYTES of them, so a
 * program that frees a batch and allocates it again does not go through the
 * heap lock for every span; past that, empty spans go back to the heap.
 * All of a thread's spans go to mcentral (empty ones to the heap) when it
 * exits; malloc_trim gives the calling thread's empty spans back.
 *
 * Frees by other threads go to the span's xfree list (span.h) and the span
 * is queued once on its owner's remote stack, a lock-free LIFO that only
 * the owner empties (one atomic exchange takes all of it, so there is no ABA
 * problem). The owner drains it whenever it refills a span.
 *
 * The current span of each class carries one extra count in allocCount, the
 * cache's hold (span->held): it can never look empty, so free()'s fast path
 * tests allocCount == 0 without also asking whether the span is current.
 *
 * Before a thread's first allocation its TLS pointer is &ga_empty_cache,
 * whose current spans are all ga_empty_span: the fast path fails on them and
 * the slow path creates the real cache. */
#ifndef GA_CACHE_H
#define GA_CACHE_H

#include "os.h"
#include "sizeclasses.h"
#include "span.h"

typedef struct ga_cache {
  ga_span_t *alloc[GA_NUM_CACHE_CLASSES];
  /* Tiny allocator (tiny.c): current 16-byte block and the offset of its
   * first free byte. */
  uintptr_t tiny;
  uintptr_t tinyoffset;
  ga_span_t *tinyspan;
  ga_span_t *remote; /* remote stack; pushed by any thread, taken by owner */
  ga_span_list_t partial[GA_NUM_CACHE_CLASSES];
  ga_span_list_t full[GA_NUM_CACHE_CLASSES];
  ga_span_list_t empty[GA_NUM_CACHE_CLASSES];
  size_t empty_bytes; /* bytes of spans on the empty lists */
  /* Collector. busy: the owner is inside a slow path (its lists and spans
   * may be half-way through a change), so a pause must not judge its spans
   * (gc/sweep.c); written by the owner only, read in a pause. sweep_needed:
   * set in a pause when this cache's spans got sweepBits. */
  int busy;
  int sweep_needed;
  int sweep_owed; /* the background sweep gave some of its spans sweepBits:
                   * becomes sweep_needed when that sweep ends (gc/sweep.c) */
  struct ga_cache *next, *prev; /* all caches, under ga_caches_lock */
} ga_cache_t;

#define GA_CACHE_EMPTY_BYTES (1 << 20)

extern ga_cache_t ga_empty_cache;
extern __thread ga_cache_t *ga_tls_cache;

/* Allocates a slot of span class spc when the fast path could not. NULL
 * with errno ENOMEM. */
void *ga_cache_alloc_slow(ga_cache_t *c, unsigned spc);
/* After the owner cleared a slot of s that left it empty or no longer full. */
void ga_cache_after_local_free(ga_cache_t *c, ga_span_t *s);
/* Frees slot idx of s, owned by c (the owner's thread). */
void ga_cache_free_local(ga_cache_t *c, ga_span_t *s, uintptr_t p, uint32_t idx, const char *fn);
/* Frees object p (slot idx) of a small span the calling thread does not
 * own: through the owner's remote stack, or through mcentral. */
void ga_span_free_remote(ga_span_t *s, uintptr_t p, uint32_t idx, const char *fn);
/* Clears the slots of a list of remotely freed objects of s. */
void ga_span_apply_frees(ga_span_t *s, void *list);
void ga_cache_drain_remote(ga_cache_t *c);
/* Applies the garbage a collection found in the cache's spans (owner). */
void ga_cache_sweep(ga_cache_t *c);
/* Owner-side marks around slow paths (see busy above). The signal fences
 * keep the compiler from moving the slow path's stores across them; the
 * pause reads busy in a signal handler's aftermath on this same thread's
 * state, so no CPU fence is needed. */
static inline void ga_cache_busy_enter(ga_cache_t *c) {
  c->busy++;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
}
static inline void ga_cache_busy_exit(ga_cache_t *c) {
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  c->busy--;
}
/* Every cache, for the collector (caches lock held). */
void ga_caches_for_each(void (*fn)(ga_cache_t *c, void *arg), void *arg);
/* Gives the cache's empty spans back to the heap. */
void ga_cache_free_empty(ga_cache_t *c);

/* The calling thread's real cache, creating it if needed; NULL if no memory. */
ga_cache_t *ga_cache_get(void);
/* Gives a cache's spans to mcentral and frees the cache. */
void ga_cache_release(ga_cache_t *c);

void ga_caches_init(void);
extern ga_mutex_t ga_caches_lock;
extern uint64_t ga_caches_live;
/* fork support (malloc.c calls these from its atfork handlers). */
void ga_caches_lock_all(void);
void ga_caches_unlock_all(void);
void ga_caches_fork_child(void);

#endif
