/* gc/concurrent.h: what the concurrent cycle needs besides marking
 * (concurrent.c): dirty tracking of the heap, the background worker and
 * assists. */
#ifndef GA_GC_CONCURRENT_H
#define GA_GC_CONCURRENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gc/mark.h"
#include "gc/pacer.h"

/* ga_gc_phase: what a cycle is doing. */
/* SETUP: the cycle has begun (the pacer counts allocation from here) but
 * tracking is being turned on and nothing is gray yet: no assists. */
enum { GA_GC_IDLE = 0, GA_GC_MARK = 1, GA_GC_MARK_TERM = 2, GA_GC_MARK_SETUP = 3 };
extern int ga_gc_phase;
/* The pacer (gc/pacer.h; collector.c owns it): assists read its ratio and
 * bank or steal its credit, allocation during the mark grows its heap_live. */
extern ga_gc_pacer_t ga_gc_pacer;
/* Assist statistics since the process started: bytes scanned by assists,
 * assists that scanned, assists paid in whole or part with the background
 * worker's credit, and the CPU time assists took. */
extern uint64_t ga_gc_assist_bytes;
extern uint64_t ga_gc_assists;
extern uint64_t ga_gc_assist_steals;
extern uint64_t ga_gc_assist_cpu_ns;
/* For assists without credit: the cycle's heap goal and the scan work
 * expected (the last cycle's marked bytes); set with the trigger. */
extern uint64_t ga_gc_assist_goal;
extern uint64_t ga_gc_assist_expected;
/* This cycle's background marking, in CPU time: the cycle's thread (as
 * collector.c last published it) and the fractional slices allocating
 * threads ran; both reset at mark start. Slices' work and count since the
 * process started. */
extern uint64_t ga_gc_worker_cpu_ns;
extern uint64_t ga_gc_fraction_cpu_ns;
extern uint64_t ga_gc_fraction_bytes;
extern uint64_t ga_gc_fractions;
/* GOALLOC_GC_CREDIT: assists steal the background's banked credit, and
 * allocating threads run fractional slices when background marking is
 * below 25% of the CPUs (Go's pacing); off: assists scan at least a byte
 * per byte allocated, no slices. */
extern bool ga_gc_credit;

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

/* Pages opened ahead of the allocator during a mark. A page the mark found
 * free is written soon after the heap hands it out (the allocator clears
 * and carves it), and each first write to a protected page is a fault: 16
 * us on the PVM guest of the tenth session, against 1.3 us a page for one
 * ioctl that opens 2 MiB. So when the heap makes a span during the mark it
 * opens, in one ioctl, the span and the free pages after it (first fit
 * hands them out next). An opened page reads as written: always safe (at
 * worst a rescan of a page that holds nothing marked; nothing marked is on
 * free pages). Only until the first pre-cleaning round: opened pages count
 * as written in every round after, and rounds opening 2 MiB at a time
 * never got below PRECLEAN_ENOUGH (16 rounds, 25-48k pages, in GCBench at
 * 64 MiB). An arena's record of what it opened (ga_arena_t.gc_open_*) is
 * stamped with the mark cycle (ga_gc_mark_cycle) and not trusted across
 * cycles. */
/* Heap lock held, s just made: the end of what to open from s->base, or 0
 * (nothing new to open, or too little to be worth an ioctl). */
uintptr_t ga_gc_conc_open_run(uintptr_t base, size_t npages);
/* Sets the phase to mark termination and waits until no thread is inside
 * an assist. */
void ga_gc_conc_stop_mutator_marking(void);

/* From ga_gc_alloc while ga_gc_phase is not idle: charges the thread for
 * the allocation, makes it assist when it owes enough, and run a
 * fractional slice when background marking is behind its CPU share. */
void ga_gc_conc_after_alloc(size_t size);

/* The background worker (Go's gcBgMarkWorker, here one thread that runs
 * whole automatic cycles). Returns false if it could not be started. */
bool ga_gc_worker_kick(void);
/* In a fork child: no worker, no registration, no cycle. */
void ga_gc_conc_fork_child(void);
/* collector.c: the worker's body, one automatic cycle. */
void ga_gc_collect_background(void);

#endif
