/* gc/pacer.c: see pacer.h. Each function follows the Go function named in
 * its comment; the arithmetic (integer where Go's is, float64 where Go's
 * is, same order of operations) is kept so that the numbers match Go's for
 * the same inputs. */
#include "gc/pacer.h"

#include <string.h>

static inline uint64_t ld64(const uint64_t *x) { return __atomic_load_n(x, __ATOMIC_RELAXED); }
static inline int64_t lds64(const int64_t *x) { return __atomic_load_n(x, __ATOMIC_RELAXED); }
/* The generic builtins: the _n forms take integers and pointers only. */
static inline double ldd(const double *x) {
  double v;
  __atomic_load(x, &v, __ATOMIC_RELAXED);
  return v;
}
static inline void std_(double *x, double v) { __atomic_store(x, &v, __ATOMIC_RELAXED); }

void ga_gc_pacer_init(ga_gc_pacer_t *p, int64_t gc_percent, uint64_t memory_limit) {
  memset(p, 0, sizeof *p);
  p->triggered = UINT64_MAX;
  p->memory_limit = memory_limit;
  ga_gc_pacer_set_gc_percent(p, gc_percent);
}

/* setGCPercent */
void ga_gc_pacer_set_gc_percent(ga_gc_pacer_t *p, int64_t gc_percent) {
  if (gc_percent < 0) gc_percent = GA_GC_PACER_OFF;
  p->gc_percent = gc_percent;
  p->heap_minimum = gc_percent < 0 ? 0 : GA_GC_PACER_HEAP_MINIMUM * (uint64_t)gc_percent / 100;
  ga_gc_pacer_commit(p);
}

void ga_gc_pacer_set_memory_limit(ga_gc_pacer_t *p, uint64_t limit) {
  p->memory_limit = limit;
  ga_gc_pacer_commit(p);
}

/* commit */
void ga_gc_pacer_commit(ga_gc_pacer_t *p) {
  uint64_t goal = UINT64_MAX;
  if (p->gc_percent >= 0)
    goal = p->heap_marked +
           (p->heap_marked + p->last_stack_scan + p->globals_scan) * (uint64_t)p->gc_percent / 100;
  if (goal < p->heap_minimum) goal = p->heap_minimum;
  p->gc_percent_heap_goal = goal;
  /* cons/mark is per CPU-second; weigh it by the CPU split we aim for
   * (75% mutator, 25% marking) to get bytes allocated per byte scanned. */
  double expected = (double)(p->last_heap_scan + p->last_stack_scan + p->globals_scan);
  p->runway = (uint64_t)((p->cons_mark * (1 - GA_GC_PACER_GOAL_UTILIZATION) /
                          GA_GC_PACER_GOAL_UTILIZATION) *
                         expected);
}

/* memoryLimitHeapGoal */
uint64_t ga_gc_pacer_memory_limit_goal(const ga_gc_pacer_t *p) {
  uint64_t limit = p->memory_limit;
  if (limit == GA_GC_PACER_NO_LIMIT) return UINT64_MAX;
  uint64_t mapped = ld64(&p->mapped_ready), hfree = ld64(&p->heap_free),
           halloc = ld64(&p->heap_alloc);
  /* Memory that counts against the limit but can never hold objects. */
  uint64_t nonheap = hfree + halloc <= mapped ? mapped - hfree - halloc : 0;
  uint64_t overage = mapped > limit ? mapped - limit : 0;
  if (nonheap + overage >= limit) return p->heap_marked;
  uint64_t goal = limit - (nonheap + overage);
  uint64_t headroom = goal / 100 * GA_GC_PACER_LIMIT_HEADROOM_PCT;
  if (headroom < GA_GC_PACER_LIMIT_MIN_HEADROOM) headroom = GA_GC_PACER_LIMIT_MIN_HEADROOM;
  if (goal < headroom || goal - headroom < headroom) goal = headroom;
  else goal -= headroom;
  if (goal < p->heap_marked) goal = p->heap_marked;
  return goal;
}

/* heapGoalInternal */
static uint64_t goal_internal(const ga_gc_pacer_t *p, uint64_t *min_trigger) {
  uint64_t goal = p->gc_percent_heap_goal;
  *min_trigger = 0;
  uint64_t limit_goal = ga_gc_pacer_memory_limit_goal(p);
  if (limit_goal < goal) return limit_goal; /* the limit rules: no push-backs */
  if (p->sweep_dist_min_trigger > goal) goal = p->sweep_dist_min_trigger;
  *min_trigger = p->sweep_dist_min_trigger;
  /* Keep some distance between trigger and goal so the assist ratio stays
   * finite even if the cycle started late. */
  if (p->triggered != UINT64_MAX && goal < p->triggered + GA_GC_PACER_MIN_RUNWAY)
    goal = p->triggered + GA_GC_PACER_MIN_RUNWAY;
  return goal;
}

uint64_t ga_gc_pacer_heap_goal(const ga_gc_pacer_t *p) {
  uint64_t min_trigger;
  return goal_internal(p, &min_trigger);
}

/* trigger */
uint64_t ga_gc_pacer_trigger(const ga_gc_pacer_t *p, uint64_t *goal_out) {
  uint64_t min_trigger, goal = goal_internal(p, &min_trigger);
  if (goal_out) *goal_out = goal;
  uint64_t marked = p->heap_marked;
  if (marked >= goal) return goal;
  if (min_trigger < marked) min_trigger = marked;
  uint64_t step = (goal - marked) / GA_GC_PACER_TRIGGER_DEN;
  uint64_t lower = step * GA_GC_PACER_MIN_TRIGGER_NUM + marked;
  if (min_trigger < lower) min_trigger = lower;
  uint64_t max_trigger = step * GA_GC_PACER_MAX_TRIGGER_NUM + marked;
  /* Large heaps: the last 4 MiB are runway enough for a cycle with little
   * to scan. */
  if (goal > GA_GC_PACER_HEAP_MINIMUM && goal - GA_GC_PACER_HEAP_MINIMUM > max_trigger)
    max_trigger = goal - GA_GC_PACER_HEAP_MINIMUM;
  if (max_trigger < min_trigger) max_trigger = min_trigger;
  uint64_t trigger = p->runway > goal ? min_trigger : goal - p->runway;
  if (trigger < min_trigger) trigger = min_trigger;
  if (trigger > max_trigger) trigger = max_trigger;
  return trigger;
}

/* startCycle: the worker split */
void ga_gc_pacer_worker_split(int ncpu, int *dedicated, double *fractional_goal) {
  double total = (double)ncpu * GA_GC_PACER_GOAL_UTILIZATION;
  int ded = (int)(total + 0.5);
  double err = (double)ded / total - 1;
  double frac = 0;
  /* Rounding off by more than 30% (ncpu <= 3 or 6): fractional workers
   * make up the rest. */
  if (err < -0.3 || err > 0.3) {
    if ((double)ded > total) ded--;
    frac = (total - (double)ded) / (double)ncpu;
  }
  *dedicated = ded;
  *fractional_goal = frac;
}

/* findRunnableGCWorker's fractional check */
bool ga_gc_pacer_fractional_should_start(const ga_gc_pacer_t *p, int64_t self_ns, int64_t delta_ns) {
  if (p->fractional_goal == 0) return false;
  return !(delta_ns > 0 && (double)self_ns / (double)delta_ns > p->fractional_goal);
}

/* pollFractionalWorkerExit: 20% slack so it is not behind right away */
bool ga_gc_pacer_fractional_should_stop(const ga_gc_pacer_t *p, int64_t self_ns, int64_t delta_ns) {
  if (delta_ns <= 0) return true;
  return (double)self_ns / (double)delta_ns > 1.2 * p->fractional_goal;
}

/* startCycle */
void ga_gc_pacer_start_cycle(ga_gc_pacer_t *p, uint64_t now_ns, int ncpu) {
  __atomic_store_n(&p->heap_scan_work, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&p->stack_scan_work, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&p->globals_scan_work, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&p->bg_scan_credit, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&p->assist_time_ns, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&p->idle_mark_time_ns, 0, __ATOMIC_RELAXED);
  p->worker_time_ns = 0;
  p->mark_start_ns = now_ns;
  p->triggered = ld64(&p->heap_live);
  ga_gc_pacer_worker_split(ncpu, &p->dedicated_workers, &p->fractional_goal);
  p->ncpu = ncpu;
  ga_gc_pacer_revise(p);
}

/* revise */
void ga_gc_pacer_revise(ga_gc_pacer_t *p) {
  int64_t gc_percent = p->gc_percent < 0 ? 100000 : p->gc_percent;
  uint64_t live = ld64(&p->heap_live), scan = ld64(&p->heap_scan);
  int64_t work = lds64(&p->heap_scan_work) + lds64(&p->stack_scan_work) +
                 lds64(&p->globals_scan_work);
  /* No goal (GOGC off, no limit) is UINT64_MAX: as int64 it would be -1,
   * and every assist would owe all the work left (Go's goal stays below
   * its maxInt64 memory limit). */
  uint64_t ugoal = ga_gc_pacer_heap_goal(p);
  int64_t goal = ugoal > (uint64_t)INT64_MAX / 2 ? INT64_MAX / 2 : (int64_t)ugoal;
  int64_t expected = (int64_t)(p->last_heap_scan + p->last_stack_scan + p->globals_scan);
  /* Worst case: everything scannable is live, all stack must be scanned. */
  int64_t max_work = (int64_t)(scan + p->max_stack_scan + p->globals_scan);
  if (max_work < 0) max_work = 0;
  if (expected <= 0) {
    /* No cycle has measured its work yet (Go's estimate always holds its
     * stacks and globals): assume the worst, without stretching the goal
     * by a ratio to nothing. */
    expected = max_work;
  } else if (work > expected) {
    /* More work than last cycle's: the heap is growing. Stretch the goal in
     * proportion so the assist ratio stays steady, at most to the goal of
     * the next cycle (goal * (1 + GOGC/100)). */
    double trig = p->triggered > (uint64_t)goal ? (double)goal : (double)p->triggered;
    double ext = ((double)goal - trig) / (double)expected * (double)max_work + trig;
    expected = max_work;
    double hard = (1.0 + (double)gc_percent / 100.0) * (double)goal;
    if (ext > hard) ext = hard;
    goal = ext >= (double)(INT64_MAX / 2) ? INT64_MAX / 2 : (int64_t)ext;
  }
  if ((int64_t)live > goal) {
    /* Past even that: aim 10% further and assume the worst. */
    double over = (double)goal * GA_GC_PACER_MAX_OVERSHOOT;
    goal = over >= (double)(INT64_MAX / 2) ? INT64_MAX / 2 : (int64_t)over;
    expected = max_work;
  }
  int64_t work_left = expected - work;
  if (work_left < 1000) work_left = 1000; /* racy marking may overshoot */
  int64_t heap_left = goal - (int64_t)live;
  if (heap_left <= 0) heap_left = 1;
  std_(&p->assist_work_per_byte, (double)work_left / (double)heap_left);
  std_(&p->assist_bytes_per_work, (double)heap_left / (double)work_left);
}

/* endCycle */
bool ga_gc_pacer_end_cycle(ga_gc_pacer_t *p, uint64_t now_ns, int ncpu) {
  double util = GA_GC_PACER_GOAL_UTILIZATION;
  int64_t duration = (int64_t)(now_ns - p->mark_start_ns);
  if (duration > 0) {
    /* Not in Go, whose workers are scheduled to 25% of the Ps: a worker
     * thread gets what the kernel gives it among the program's threads
     * (a fifth of a CPU with 8 busy ones on 2), so its measured time is
     * used when the caller has it. */
    if (p->worker_time_ns > 0) util = (double)p->worker_time_ns / (double)(duration * ncpu);
    util += (double)lds64(&p->assist_time_ns) / (double)(duration * ncpu);
  }
  /* Not in Go either (its assist time is bounded by the mutators' CPU
   * time): measured times may overlap the duration's ends; at 1 or above
   * the formula below would divide by zero or turn negative. */
  if (util > 0.95) util = 0.95;
  uint64_t live = ld64(&p->heap_live);
  if (live <= p->triggered) return false; /* nothing allocated during mark: no signal */
  double idle = 0;
  if (duration > 0) idle = (double)lds64(&p->idle_mark_time_ns) / (double)(duration * ncpu);
  double work = (double)(lds64(&p->heap_scan_work) + lds64(&p->stack_scan_work) +
                         lds64(&p->globals_scan_work));
  /* (bytes allocated / mutator CPU) / (bytes scanned / GC CPU); the wall
   * time and the CPU count cancel out. */
  double current = ((double)(live - p->triggered) * (util + idle)) / (work * (1 - util));
  /* Max over this and the last four: a noisy low reading would start the
   * next cycle late and force assists; a high one only starts it early. */
  double cm = current;
  for (int i = 0; i < 4; i++)
    if (p->last_cons_mark[i] > cm) cm = p->last_cons_mark[i];
  p->cons_mark = cm;
  memmove(&p->last_cons_mark[0], &p->last_cons_mark[1], 3 * sizeof(double));
  p->last_cons_mark[3] = current;
  return true;
}

/* resetLive */
void ga_gc_pacer_reset_live(ga_gc_pacer_t *p, uint64_t bytes_marked) {
  p->heap_marked = bytes_marked;
  __atomic_store_n(&p->heap_live, bytes_marked, __ATOMIC_RELAXED);
  __atomic_store_n(&p->heap_scan, (uint64_t)lds64(&p->heap_scan_work), __ATOMIC_RELAXED);
  p->last_heap_scan = (uint64_t)lds64(&p->heap_scan_work);
  p->last_stack_scan = (uint64_t)lds64(&p->stack_scan_work);
  p->triggered = UINT64_MAX;
}

void ga_gc_pacer_note_alloc(ga_gc_pacer_t *p, int64_t bytes, int64_t scan_bytes) {
  __atomic_fetch_add(&p->heap_live, (uint64_t)bytes, __ATOMIC_RELAXED);
  __atomic_fetch_add(&p->heap_scan, (uint64_t)scan_bytes, __ATOMIC_RELAXED);
}

void ga_gc_pacer_note_scan_work(ga_gc_pacer_t *p, int64_t heap, int64_t stack, int64_t globals) {
  if (heap) __atomic_fetch_add(&p->heap_scan_work, heap, __ATOMIC_RELAXED);
  if (stack) __atomic_fetch_add(&p->stack_scan_work, stack, __ATOMIC_RELAXED);
  if (globals) __atomic_fetch_add(&p->globals_scan_work, globals, __ATOMIC_RELAXED);
}

/* gcAssistAlloc, up to the point where it scans */
int64_t ga_gc_pacer_assist_plan(ga_gc_pacer_t *p, int64_t *balance) {
  if (*balance >= 0) return 0;
  double wpb = ldd(&p->assist_work_per_byte);
  double bpw = ldd(&p->assist_bytes_per_work);
  int64_t debt = -*balance;
  int64_t work = (int64_t)(wpb * (double)debt);
  if (work < GA_GC_PACER_OVER_ASSIST_WORK) {
    /* Over-assist: do at least 64 KiB of work and bank the surplus, so the
     * next allocations need not assist at all. */
    work = GA_GC_PACER_OVER_ASSIST_WORK;
    debt = (int64_t)(bpw * (double)work);
  }
  int64_t credit = lds64(&p->bg_scan_credit);
  if (credit > 0) {
    int64_t stolen;
    if (credit < work) {
      stolen = credit;
      *balance += 1 + (int64_t)(bpw * (double)stolen);
    } else {
      stolen = work;
      *balance += debt;
    }
    __atomic_fetch_sub(&p->bg_scan_credit, stolen, __ATOMIC_RELAXED);
    __atomic_fetch_add(&p->stolen_work, stolen, __ATOMIC_RELAXED);
    work -= stolen;
  }
  return work;
}

/* gcAssistAlloc1: "1+" rounds up so even tiny work earns credit. */
void ga_gc_pacer_assist_done(const ga_gc_pacer_t *p, int64_t *balance, int64_t work_done) {
  double bpw = ldd(&p->assist_bytes_per_work);
  *balance += 1 + (int64_t)(bpw * (double)work_done);
}

/* gcFlushBgCredit (without the queue of parked assists: the collector
 * wakes those itself before banking the rest). */
void ga_gc_pacer_flush_bg_credit(ga_gc_pacer_t *p, int64_t work) {
  __atomic_fetch_add(&p->bg_scan_credit, work, __ATOMIC_RELAXED);
}
