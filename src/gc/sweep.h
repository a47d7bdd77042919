/* gc/sweep.h: turning marks into free slots (sweep.c explains the protocol
 * between the pause and the spans' owners). */
#ifndef GA_GC_SWEEP_H
#define GA_GC_SWEEP_H

#include <stdbool.h>
#include <stdint.h>

#include "span.h"

typedef struct {
  bool leak;        /* report garbage instead of freeing it */
  ga_span_t *empty; /* central spans the pause emptied, freed after it */
  uint32_t gen;     /* the background sweep: ga_gc_sweepgen it sweeps to */
} ga_gc_sweep_ctx_t;

typedef struct {
  uint64_t garbage_objects, garbage_bytes, skipped_spans;
  uint64_t young_bytes; /* unmarked large objects spared as young */
} ga_gc_sweep_stats_t;
extern ga_gc_sweep_stats_t ga_gc_sweep_stats;

/* Pages of owned spans whose computed garbage frees every object, not yet
 * applied by their owners (who do it at their next slow path): in use for
 * the heap, free for the trigger (collector.c). Without it, a cycle that
 * ended with the program's garbage still owed started the next one at
 * once (gc_pacer: every other cycle began at 3/64 of the way to the goal). */
extern uint64_t ga_gc_sweep_owed_bytes;
/* The span's garbage was applied, or the span is freed: not owed. */
void ga_gc_sweep_forget_owed(ga_span_t *s);

bool ga_gc_sweep_begin(ga_gc_sweep_ctx_t *ctx);
/* In the pause, after marking (every allocator lock held). */
void ga_gc_sweep_pause(ga_gc_sweep_ctx_t *ctx);
/* The lazy sweep's part of the pause: bumps ga_gc_sweepgen, sweeps every
 * cache's current spans and the large spans (central and listed owned
 * spans are left to ga_gc_sweep_background and their owners). */
void ga_gc_sweep_pause_lazy(ga_gc_sweep_ctx_t *ctx);
/* After the pause (no lock held): claims and sweeps every other span,
 * frees large garbage, and returns when no span is left unswept. */
void ga_gc_sweep_background(ga_gc_sweep_ctx_t *ctx);
/* A cache takes central span s (central lock held): swept first. */
void ga_gc_sweep_central_taken(ga_span_t *s);
/* After the world restarted and the allocator locks are released. */
void ga_gc_sweep_after(ga_gc_sweep_ctx_t *ctx);

#endif
