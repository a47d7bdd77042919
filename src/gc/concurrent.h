/* gc/concurrent.h: what the concurrent cycle needs besides marking
 * (concurrent.c): dirty tracking of the heap, the background worker and
 * assists. */
#ifndef GA_GC_CONCURRENT_H
#define GA_GC_CONCURRENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gc/mark.h"

/* ga_gc_phase: what a cycle is doing. */
enum { GA_GC_IDLE = 0, GA_GC_MARK = 1, GA_GC_MARK_TERM = 2 };
extern int ga_gc_phase;
/* Assists: the cycle's heap goal, and the scan work expected (the last
 * cycle's marked bytes), for the assist ratio. */
extern uint64_t ga_gc_assist_above;
extern uint64_t ga_gc_assist_expected_scan;
/* Bytes scanned by assists (statistics). */
extern uint64_t ga_gc_assist_bytes;

/* Can cycles be concurrent here (precise dirty tracking and the option)? */
bool ga_gc_conc_available(void);
/* At a cycle's start: huge arenas stay mapped from now on, every heap
 * arena is tracked and its written pages forgotten. False if the kernel
 * refused (the cycle then runs stop-the-world). */
bool ga_gc_conc_begin(void);
/* One pre-cleaning round, concurrently: rescans what was written since the
 * last round (or since begin) and drains; returns the pages rescanned. */
size_t ga_gc_conc_preclean(ga_gc_work_t *w);
/* In the final pause (allocator locks held): rescans the pages written
 * since the last round and arenas made since. */
void ga_gc_conc_rescan_final(void);
/* After the final pause. */
void ga_gc_conc_end(void);
/* Sets the phase to mark termination and waits until no thread is inside
 * an assist. */
void ga_gc_conc_stop_mutator_marking(void);

/* From ga_gc_alloc while ga_gc_phase is not idle: charges the thread for
 * the allocation and makes it assist when it owes enough. */
void ga_gc_conc_after_alloc(size_t size);

/* The background worker (Go's gcBgMarkWorker, here one thread that runs
 * whole automatic cycles). Returns false if it could not be started. */
bool ga_gc_worker_kick(void);
/* In a fork child: no worker, no registration, no cycle. */
void ga_gc_conc_fork_child(void);
/* collector.c: the worker's body, one automatic cycle. */
void ga_gc_collect_background(void);

#endif
