/* gc/collector.h: what the allocator sees of the collector (collector.c). */
#ifndef GA_GC_COLLECTOR_H
#define GA_GC_COLLECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "span.h"

struct ga_cache;

/* GOALLOC_GC_* of include/goalloc.h. Set once (options at init, or the
 * first goalloc_gc_* call), read without a lock. */
extern int ga_gc_mode;
/* collect and leak modes: plain malloc is collectable and scanned. */
extern bool ga_gc_hooked;
/* Automatic collections are armed: slow paths compare the heap with the
 * trigger. */
extern bool ga_gc_auto;
extern uint64_t ga_gc_trigger;
/* Twice the goal (collector.c, hold_back): past it an allocating thread
 * waits for a collection that another thread is running. */
extern uint64_t ga_gc_hard_limit;
extern uint64_t ga_heap_inuse_bytes;

void ga_gc_init_from_options(void);
/* From malloc.c's constructor: libc is up, threads may register. */
void ga_gc_constructor(void);
void ga_gc_collect_auto(void);
extern uint64_t ga_gc_sweep_owed_bytes; /* gc/sweep.h */
/* The in-use heap the trigger compares: without the pages of owned spans
 * the last sweep emptied and their owners have not applied yet. */
static inline uint64_t ga_gc_trigger_heap(uint64_t inuse) {
  uint64_t owed = __atomic_load_n(&ga_gc_sweep_owed_bytes, __ATOMIC_RELAXED);
  return owed < inuse ? inuse - owed : 0;
}
/* Called where the caller's cache is consistent (never inside a busy
 * section, cache.h). */
static inline void ga_gc_poll(void) {
  uint64_t inuse = __atomic_load_n(&ga_heap_inuse_bytes, __ATOMIC_RELAXED);
  if (GA_UNLIKELY(ga_gc_trigger_heap(inuse) >= __atomic_load_n(&ga_gc_trigger, __ATOMIC_RELAXED) ||
                  inuse >= __atomic_load_n(&ga_gc_hard_limit, __ATOMIC_RELAXED)))
    ga_gc_collect_auto();
}

/* Set while a collection takes the allocator's locks and holds its pause:
 * a thread about to enter a slow path waits outside it (ga_gc_park)
 * rather than block inside it on a lock the collection holds, where its
 * cache would be busy and its spans left unswept (gc/sweep.c). Waiting at
 * the entry is the same as being stopped there, which is always allowed. */
extern int ga_gc_stopping;
void ga_gc_park(void);
static inline void ga_gc_park_if_stopping(void) {
  if (GA_UNLIKELY(__atomic_load_n(&ga_gc_stopping, __ATOMIC_RELAXED))) ga_gc_park();
}

/* Allocation of a given kind for the collector's modes (leak sites, zeroing). */
void *ga_gc_alloc(size_t size, unsigned kind, bool zero);
void *ga_gc_alloc_aligned(size_t size, size_t align);

/* Thread registration (stop-the-world needs every thread that may hold
 * pointers). */
void ga_gc_thread_started(void);
void ga_gc_thread_exiting(void);

/* sweep.c: the owner of s applies its sweepBits; true if slots were freed. */
bool ga_gc_sweep_owned_span(ga_span_t *s);
/* The owner of s (or the central lock holder taking it from its owner):
 * makes sure s is swept for the last cycle (claims and sweeps it, or
 * waits while the background sweep does) and applies its pending
 * sweepBits. True if slots were freed. Before s is allocated from, and
 * before its pending bits are dropped or it changes hands (gc/sweep.c). */
bool ga_gc_sweep_ensure_slow(ga_span_t *s);
static inline bool ga_gc_span_swept(const ga_span_t *s) {
  uint32_t g = __atomic_load_n(&ga_gc_sweepgen, __ATOMIC_ACQUIRE);
  return __atomic_load_n(&s->sweepgen, __ATOMIC_ACQUIRE) == g;
}
/* sweep_pending is written by whoever holds the span's sweep claim and
 * published by its release store of sweepgen: read it only after
 * ga_gc_span_swept said yes (acquire), as an atomic. */
static inline bool ga_gc_span_pending(const ga_span_t *s) {
  return __atomic_load_n(&s->sweep_pending, __ATOMIC_RELAXED) != 0;
}
static inline bool ga_gc_sweep_ensure(ga_span_t *s) {
  if (ga_gc_span_swept(s) && !ga_gc_span_pending(s)) return false;
  return ga_gc_sweep_ensure_slow(s);
}

void ga_gc_fork_prepare(void);
void ga_gc_fork_prepare_late(void);
void ga_gc_fork_parent_early(void);
void ga_gc_fork_parent(void);
void ga_gc_fork_child(void);
void ga_gc_fork_child_late(void);

#endif
