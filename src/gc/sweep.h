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
} ga_gc_sweep_ctx_t;

typedef struct {
  uint64_t garbage_objects, garbage_bytes, skipped_spans;
  uint64_t young_bytes; /* unmarked large objects spared as young */
} ga_gc_sweep_stats_t;
extern ga_gc_sweep_stats_t ga_gc_sweep_stats;

bool ga_gc_sweep_begin(ga_gc_sweep_ctx_t *ctx);
/* In the pause, after marking (every allocator lock held). */
void ga_gc_sweep_pause(ga_gc_sweep_ctx_t *ctx);
/* After the world restarted and the allocator locks are released. */
void ga_gc_sweep_after(ga_gc_sweep_ctx_t *ctx);

#endif
