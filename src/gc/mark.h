/* gc/mark.h: conservative marking (mark.c): in a pause, or concurrently
 * with the program (docs/GC.md, "Concurrent mark"). */
#ifndef GA_GC_MARK_H
#define GA_GC_MARK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint64_t marked_bytes, marked_objects, scanned_bytes;
} ga_gc_mark_stats_t;
extern ga_gc_mark_stats_t ga_gc_mark_stats;

/* A marker's local gray buffer (Go's gcWork): one per thread that marks
 * (the cycle's thread, an assisting mutator). Overflow goes to the global
 * list under its lock; a marker that runs dry takes a batch back. */
#define GA_GC_WORK_BUF 256
typedef struct ga_gc_work {
  size_t n;
  uint64_t marked_bytes, marked_objects, scanned_bytes;
  struct {
    uintptr_t lo, hi;
  } buf[GA_GC_WORK_BUF];
} ga_gc_work_t;

/* Prepares the global gray list; false if the OS refused its address
 * space. concurrent: markers may run while the program does (span
 * metadata may change under them: every value is checked before use). */
bool ga_gc_mark_begin(bool concurrent);
void ga_gc_mark_end(void);

/* Scans [lo, hi) for candidate pointers (a ga_gc_range_fn; arg is the
 * ga_gc_work_t, NULL for the cycle's own). Marks and queues what it finds. */
void ga_gc_mark_range(uintptr_t lo, uintptr_t hi, void *arg);
void ga_gc_mark_pointer(uintptr_t v);
/* Scans gray objects until the local buffer and the global list are
 * empty, then publishes the statistics. */
void ga_gc_mark_drain(ga_gc_work_t *w);
/* Scans at least budget bytes of gray objects if there are any (an
 * assist); returns the bytes scanned. Leaves nothing in w. */
int64_t ga_gc_mark_drain_some(ga_gc_work_t *w, int64_t budget);
/* Called by the cycle's own drain (w NULL) during a concurrent mark with
 * the bytes it scanned since it last reported, after publishing them to
 * ga_gc_mark_stats: every GA_GC_PROGRESS_BYTES and when a drain ends. Set
 * by the collector; NULL: not called. */
#define GA_GC_PROGRESS_BYTES (256 << 10)
extern void (*ga_gc_mark_progress)(int64_t work);
extern int ga_gc_mark_hungry;
/* Is anything on the global gray list (a racy hint)? */
bool ga_gc_mark_gray_available(void);
extern bool ga_gc_mark_balance;
/* Scans every allocated object of manual scanned spans (uncollectable
 * roots). Concurrently: the spans are listed under the heap lock and
 * scanned after it. */
void ga_gc_mark_manual_roots(ga_gc_work_t *w);
/* A ga_gc_dirty_fn: queues the pages [lo, hi) (page-aligned) for
 * rescanning: the drain then scans the objects on them that are marked
 * (collectable) or allocated (manual scanned), only the part of each that
 * lies in [lo, hi). arg is the ga_gc_work_t. */
void ga_gc_mark_rescan(uintptr_t lo, uintptr_t hi, void *arg);
/* After marking: is the object holding p reachable (manual: always)? */
bool ga_gc_is_marked(uintptr_t p);

#endif
