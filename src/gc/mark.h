/* gc/mark.h: conservative marking (mark.c). All of it runs in a pause. */
#ifndef GA_GC_MARK_H
#define GA_GC_MARK_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
  uint64_t marked_bytes, marked_objects, scanned_bytes;
} ga_gc_mark_stats_t;
extern ga_gc_mark_stats_t ga_gc_mark_stats;

/* Prepares the gray stack; false if the OS refused its address space. */
bool ga_gc_mark_begin(void);
void ga_gc_mark_end(void);
/* Scans [lo, hi) for candidate pointers (a ga_gc_range_fn). Marks and
 * queues what it finds; ga_gc_mark_drain scans the queue to empty. */
void ga_gc_mark_range(uintptr_t lo, uintptr_t hi, void *arg);
void ga_gc_mark_pointer(uintptr_t v);
void ga_gc_mark_drain(void);
/* Scans every object of manual scanned spans (uncollectable roots). */
void ga_gc_mark_manual_roots(void);
/* After marking: is the object holding p reachable (manual: always)? */
bool ga_gc_is_marked(uintptr_t p);

#endif
