/* gc/pacer.h: when to start a collection and how much marking each
 * allocation must pay for: the Go runtime's pacer (mgcpacer.go, Go 1.21
 * shape: cons/mark-based runway, memory limit, max-of-last-5 smoothing).
 *
 * The model. GOGC sets how much the heap may grow over what the last mark
 * found live (plus the roots: stacks and globals) before the next cycle
 * must be done: goal = marked + (marked + stacks + globals) * GOGC/100, at
 * least 4 MiB * GOGC/100; a soft memory limit may lower it. A cycle must
 * start early enough that, with background workers at 25% of the CPU, it
 * finishes marking by the goal: the runway (bytes the program will allocate
 * while the cycle marks) is cons/mark * 0.75/0.25 * expected scan work,
 * where cons/mark (allocation rate over scan rate, both per CPU-second) is
 * measured at the end of each cycle; trigger = goal - runway, kept between
 * 45/64 and 61/64 of the way from marked to goal (Go's 0.7 and 0.95). If
 * the program allocates faster than predicted, assists make it pay: every
 * byte allocated during mark costs assist_work_per_byte = remaining scan
 * work / remaining heap before the goal; a goroutine (thread) in debt first
 * steals credit the background workers have banked, else scans at least
 * 64 KiB of work itself, so assists are few and amortised.
 *
 * Who touches what: the fields under "configuration" and "last cycle" are
 * written only by the one thread running the cycle's start or end (the
 * collector holds its own cycle lock around ga_gc_pacer_start_cycle /
 * end_cycle / reset_live / commit). heap_live, heap_scan and the *_scan_work
 * counters are updated by many threads with atomic adds
 * (ga_gc_pacer_note_*), bg_scan_credit likewise (steals may race and drive
 * it below zero, as in Go: later steals just fail until it recovers); the
 * assist ratios are stored as a pair of doubles that may be read torn in
 * the sense Go accepts (each is individually atomic on x86-64 loads of
 * aligned 8 bytes and changes slowly). Everything else here is a pure
 * function of its arguments and the state. */
#ifndef GA_GC_PACER_H
#define GA_GC_PACER_H

#include <stdbool.h>
#include <stdint.h>

#define GA_GC_PACER_GOAL_UTILIZATION 0.25       /* gcGoalUtilization */
#define GA_GC_PACER_HEAP_MINIMUM (4ULL << 20)   /* defaultHeapMinimum */
#define GA_GC_PACER_TRIGGER_DEN 64              /* triggerRatioDen */
#define GA_GC_PACER_MIN_TRIGGER_NUM 45          /* ~0.7 */
#define GA_GC_PACER_MAX_TRIGGER_NUM 61          /* ~0.95 */
#define GA_GC_PACER_MIN_RUNWAY (64ULL << 10)    /* goal >= triggered + 64 KiB */
#define GA_GC_PACER_OVER_ASSIST_WORK (64 << 10) /* gcOverAssistWork */
#define GA_GC_PACER_LIMIT_HEADROOM_PCT 3        /* memoryLimitHeapGoalHeadroomPercent */
#define GA_GC_PACER_LIMIT_MIN_HEADROOM (1ULL << 20)
#define GA_GC_PACER_MAX_OVERSHOOT 1.1
#define GA_GC_PACER_NO_LIMIT UINT64_MAX
#define GA_GC_PACER_OFF (-1)

typedef struct {
  /* configuration */
  int64_t gc_percent;     /* GOGC; GA_GC_PACER_OFF (<0) disables the GOGC goal */
  uint64_t memory_limit;  /* soft limit in bytes, GA_GC_PACER_NO_LIMIT if none */
  uint64_t heap_minimum;  /* 4 MiB * GOGC/100 */

  /* memory-limit inputs, kept current by the allocator's statistics */
  uint64_t mapped_ready;  /* mapped, not released to the OS */
  uint64_t heap_free;     /* free, not released */
  uint64_t heap_alloc;    /* bytes in objects */

  /* the last cycle (written at mark termination) */
  uint64_t heap_marked;      /* live heap found by the last mark */
  uint64_t last_heap_scan;   /* heap scan work it did (bytes) */
  uint64_t last_stack_scan;  /* stack bytes it scanned */
  uint64_t globals_scan;     /* bytes of data-segment and other roots */
  double cons_mark;          /* smoothed cons/mark estimate */
  double last_cons_mark[4];  /* the last four measurements, oldest first */

  /* derived by commit */
  uint64_t gc_percent_heap_goal;
  uint64_t runway;
  uint64_t sweep_dist_min_trigger; /* optional floor for the goal (0 = none) */

  /* the cycle in progress (or the heap growing towards the next one) */
  uint64_t triggered;        /* heap_live when the cycle began; UINT64_MAX between cycles */
  uint64_t heap_live;        /* bytes in objects (grows with allocation) */
  uint64_t heap_scan;        /* scannable bytes in the heap */
  uint64_t max_stack_scan;   /* all allocated stack, worst case */
  int64_t heap_scan_work, stack_scan_work, globals_scan_work;
  int64_t bg_scan_credit;    /* work the background workers banked for assists */
  int64_t stolen_work;       /* of which assists took, since init (statistics) */
  int64_t assist_time_ns;    /* CPU time spent in assists this cycle */
  /* CPU time the background workers marked this cycle, if measured (set
   * before end_cycle); 0: they are taken to have had the 25% Go gives
   * them. */
  int64_t worker_time_ns;
  int64_t idle_mark_time_ns; /* CPU time idle workers marked */
  uint64_t mark_start_ns;
  double assist_work_per_byte;
  double assist_bytes_per_work;

  /* worker split chosen at cycle start */
  int dedicated_workers;
  double fractional_goal;    /* per-CPU utilization fractional workers aim for */
  int ncpu;                  /* the CPUs the split is for */
  /* Whole cache lines: during a mark the counters above are written by
   * every allocating thread and the cycle's progress reports, and the
   * words the allocation paths read (ga_gc_mode and its neighbours) must
   * not share a line with them. */
} __attribute__((aligned(64))) ga_gc_pacer_t;

void ga_gc_pacer_init(ga_gc_pacer_t *p, int64_t gc_percent, uint64_t memory_limit);
void ga_gc_pacer_set_gc_percent(ga_gc_pacer_t *p, int64_t gc_percent);
void ga_gc_pacer_set_memory_limit(ga_gc_pacer_t *p, uint64_t limit);

/* Recomputes the GOGC goal and the runway from the last cycle (Go's commit). */
void ga_gc_pacer_commit(ga_gc_pacer_t *p);
/* The memory-limit goal alone (UINT64_MAX without a limit). */
uint64_t ga_gc_pacer_memory_limit_goal(const ga_gc_pacer_t *p);
/* The heap goal: min(GOGC goal, limit goal) with Go's adjustments. */
uint64_t ga_gc_pacer_heap_goal(const ga_gc_pacer_t *p);
/* The heap_live at which the next cycle starts; *goal gets the goal. */
uint64_t ga_gc_pacer_trigger(const ga_gc_pacer_t *p, uint64_t *goal);

/* Dedicated workers and the fractional utilization goal for 25% of ncpu. */
void ga_gc_pacer_worker_split(int ncpu, int *dedicated, double *fractional_goal);
/* Should a fractional worker that has marked for self_ns of the delta_ns
 * since the cycle began start (or go on) marking? */
bool ga_gc_pacer_fractional_should_start(const ga_gc_pacer_t *p, int64_t self_ns, int64_t delta_ns);
bool ga_gc_pacer_fractional_should_stop(const ga_gc_pacer_t *p, int64_t self_ns, int64_t delta_ns);

/* Mark start: records triggered = heap_live, clears the cycle's counters,
 * splits the workers and computes the first assist ratio. */
void ga_gc_pacer_start_cycle(ga_gc_pacer_t *p, uint64_t now_ns, int ncpu);
/* Recomputes the assist ratio from work done and heap allocated so far. */
void ga_gc_pacer_revise(ga_gc_pacer_t *p);
/* Mark termination: measures this cycle's cons/mark; false (nothing
 * measured) if nothing was allocated during the mark. */
bool ga_gc_pacer_end_cycle(ga_gc_pacer_t *p, uint64_t now_ns, int ncpu);
/* After mark: the marked heap becomes the base of the next goal, the
 * scan work just done the estimate of the next cycle's (Go's resetLive). */
void ga_gc_pacer_reset_live(ga_gc_pacer_t *p, uint64_t bytes_marked);

/* Concurrent counters. */
void ga_gc_pacer_note_alloc(ga_gc_pacer_t *p, int64_t bytes, int64_t scan_bytes);
void ga_gc_pacer_note_scan_work(ga_gc_pacer_t *p, int64_t heap, int64_t stack, int64_t globals);

/* Assists. *balance is a thread's gcAssistBytes: allocation during mark
 * subtracts the size; when it goes negative the thread calls
 * ga_gc_pacer_assist_plan, which steals background credit first and returns
 * the scan work the thread must still do itself (0 if the steal covered
 * it); after scanning, ga_gc_pacer_assist_done credits what it did. */
int64_t ga_gc_pacer_assist_plan(ga_gc_pacer_t *p, int64_t *balance);
void ga_gc_pacer_assist_done(const ga_gc_pacer_t *p, int64_t *balance, int64_t work_done);
/* A background worker banks the scan work it did as credit for assists. */
void ga_gc_pacer_flush_bg_credit(ga_gc_pacer_t *p, int64_t work);

#endif
