// The pacer's arithmetic against numbers worked out by hand from the
// formulas in docs/GC.md (Go's mgcpacer.go); each expectation shows its
// derivation.
#include <gtest/gtest.h>

#include "gc_util.h"

namespace {
constexpr uint64_t MiB = 1ULL << 20;
constexpr uint64_t GiB = 1ULL << 30;

ga_gc_pacer_t pacer(int64_t gogc, uint64_t limit = GA_GC_PACER_NO_LIMIT) {
  ga_gc_pacer_t p;
  ga_gc_pacer_init(&p, gogc, limit);
  return p;
}
}  // namespace

TEST(Pacer, WorkerSplit) {
  struct {
    int ncpu, dedicated;
    double fractional;
  } cases[] = {
      // 0.25 per CPU; dedicated = round(total); more than 30% off -> one
      // fewer if over, and the rest as a fractional per-CPU goal.
      {1, 0, 0.25},         // total .25: round 0, error -100% -> frac .25/1
      {2, 0, 0.25},         // total .5: round 1, +100% -> 0, frac .5/2
      {3, 0, 0.25},         // total .75: round 1, +33% -> 0, frac .75/3
      {4, 1, 0},            // total 1: exact
      {5, 1, 0},            // total 1.25: round 1, -20%: within 30%
      {6, 1, 0.5 / 6},      // total 1.5: round 2, +33% -> 1, frac .5/6
      {7, 2, 0},            // total 1.75: round 2, +14%
      {8, 2, 0},            // total 2
      {10, 3, 0},           // total 2.5: round 3, +20%
      {64, 16, 0},
  };
  for (auto &c : cases) {
    int d;
    double f;
    ga_gc_pacer_worker_split(c.ncpu, &d, &f);
    EXPECT_EQ(d, c.dedicated) << "ncpu " << c.ncpu;
    EXPECT_DOUBLE_EQ(f, c.fractional) << "ncpu " << c.ncpu;
  }
}

TEST(Pacer, FractionalWorkerScheduling) {
  ga_gc_pacer_t p = pacer(100);
  ga_gc_pacer_start_cycle(&p, 0, 2);  // fractional goal .25
  ASSERT_DOUBLE_EQ(p.fractional_goal, 0.25);
  // 20 ms of 100: 0.2 <= .25, may run; 30 of 100: .3 > .25, may not.
  EXPECT_TRUE(ga_gc_pacer_fractional_should_start(&p, 20000000, 100000000));
  EXPECT_FALSE(ga_gc_pacer_fractional_should_start(&p, 30000000, 100000000));
  // Stops only past 1.2 * .25 = .3.
  EXPECT_FALSE(ga_gc_pacer_fractional_should_stop(&p, 29000000, 100000000));
  EXPECT_TRUE(ga_gc_pacer_fractional_should_stop(&p, 31000000, 100000000));
  EXPECT_TRUE(ga_gc_pacer_fractional_should_stop(&p, 0, 0));
  ga_gc_pacer_start_cycle(&p, 0, 4);  // no fractional worker with 4 CPUs
  EXPECT_FALSE(ga_gc_pacer_fractional_should_start(&p, 0, 100000000));
}

TEST(Pacer, HeapGoalFromGogc) {
  ga_gc_pacer_t p = pacer(100);
  p.heap_marked = 100 * MiB;
  p.last_stack_scan = 2 * MiB;
  p.globals_scan = 2 * MiB;
  ga_gc_pacer_commit(&p);
  // 100 + (100 + 2 + 2) * 100/100 = 204 MiB
  EXPECT_EQ(ga_gc_pacer_heap_goal(&p), 204 * MiB);

  ga_gc_pacer_set_gc_percent(&p, 50);
  // 100 + 104 * 50/100 = 152 MiB
  EXPECT_EQ(ga_gc_pacer_heap_goal(&p), 152 * MiB);

  ga_gc_pacer_set_gc_percent(&p, 300);
  // 100 + 104 * 3 = 412 MiB
  EXPECT_EQ(ga_gc_pacer_heap_goal(&p), 412 * MiB);

  ga_gc_pacer_set_gc_percent(&p, GA_GC_PACER_OFF);
  EXPECT_EQ(ga_gc_pacer_heap_goal(&p), UINT64_MAX);
}

TEST(Pacer, HeapMinimumScalesWithGogc) {
  ga_gc_pacer_t p = pacer(100);
  p.heap_marked = 1 * MiB;
  ga_gc_pacer_commit(&p);
  // 1 + 1 = 2 MiB is under the 4 MiB * 100/100 minimum.
  EXPECT_EQ(ga_gc_pacer_heap_goal(&p), 4 * MiB);
  ga_gc_pacer_set_gc_percent(&p, 200);
  // 1 + 2 = 3 MiB < 8 MiB.
  EXPECT_EQ(p.heap_minimum, 8 * MiB);
  EXPECT_EQ(ga_gc_pacer_heap_goal(&p), 8 * MiB);
  ga_gc_pacer_set_gc_percent(&p, 50);
  // 1 + 0.5 MiB < 2 MiB.
  EXPECT_EQ(ga_gc_pacer_heap_goal(&p), 2 * MiB);
}

TEST(Pacer, MemoryLimitGoal) {
  ga_gc_pacer_t p = pacer(100, 100 * MiB);
  p.heap_marked = 50 * MiB;
  p.mapped_ready = 90 * MiB;
  p.heap_free = 10 * MiB;
  p.heap_alloc = 60 * MiB;
  ga_gc_pacer_commit(&p);
  // non-heap = 90 - 10 - 60 = 20 MiB, no overage: 100 - 20 = 80 MiB;
  // headroom = 83886080 / 100 * 3 = 838860 * 3 = 2516580;
  // goal = 83886080 - 2516580 = 81369500 (< GOGC goal of 100 MiB).
  EXPECT_EQ(ga_gc_pacer_memory_limit_goal(&p), 81369500u);
  EXPECT_EQ(ga_gc_pacer_heap_goal(&p), 81369500u);

  // Over the limit: mapped 110 MiB, overage 10 MiB, non-heap 20 MiB:
  // 100 - 30 = 70 MiB = 73400320; headroom 734003 * 3 = 2202009;
  // goal 71198311.
  p.mapped_ready = 110 * MiB;
  p.heap_free = 30 * MiB;
  EXPECT_EQ(ga_gc_pacer_memory_limit_goal(&p), 71198311u);

  // Non-heap memory alone over the limit: the goal collapses to the
  // marked heap (collect continuously).
  p.heap_free = 0;
  p.heap_alloc = 0;
  EXPECT_EQ(ga_gc_pacer_memory_limit_goal(&p), 50 * MiB);

  // A tiny limit: 3% of 2 MiB is under the 1 MiB minimum headroom:
  // goal = 2 MiB - 1 MiB = 1 MiB, but never below the marked heap.
  ga_gc_pacer_t q = pacer(100, 2 * MiB);
  q.heap_marked = 512 * 1024;
  EXPECT_EQ(ga_gc_pacer_memory_limit_goal(&q), 1 * MiB);
  q.heap_marked = 1536 * 1024;
  EXPECT_EQ(ga_gc_pacer_memory_limit_goal(&q), 1536u * 1024);

  // GOGC off with a limit: the limit alone sets the goal.
  ga_gc_pacer_t r = pacer(GA_GC_PACER_OFF, 100 * MiB);
  EXPECT_EQ(ga_gc_pacer_heap_goal(&r), 100 * MiB - (100 * MiB / 100 * 3));
  ga_gc_pacer_t none = pacer(100);
  EXPECT_EQ(ga_gc_pacer_memory_limit_goal(&none), UINT64_MAX);
}

TEST(Pacer, TriggerFromRunway) {
  ga_gc_pacer_t p = pacer(100);
  p.heap_marked = 64 * MiB;
  p.last_heap_scan = 32 * MiB;
  // goal = 64 + 64 = 128 MiB. Bounds: (128-64)/64 = 1 MiB steps:
  // min = 45 + 64 = 109 MiB, max = 61 + 64 = 125 MiB (goal - 4 MiB = 124
  // is not above it).
  uint64_t goal;

  // cons/mark .1: runway = .1 * .75/.25 * 32 MiB = 10066329.6 -> 10066329;
  // trigger = 134217728 - 10066329 = 124151399, inside the bounds.
  p.cons_mark = 0.1;
  ga_gc_pacer_commit(&p);
  EXPECT_EQ(p.runway, 10066329u);
  EXPECT_EQ(ga_gc_pacer_trigger(&p, &goal), 124151399u);
  EXPECT_EQ(goal, 128 * MiB);

  // cons/mark .5: runway = 1.5 * 32 = 48 MiB; 128 - 48 = 80 MiB is below
  // the 45/64 floor: 109 MiB.
  p.cons_mark = 0.5;
  ga_gc_pacer_commit(&p);
  EXPECT_EQ(p.runway, 48 * MiB);
  EXPECT_EQ(ga_gc_pacer_trigger(&p, nullptr), 109 * MiB);

  // cons/mark .01: runway = .03 * 32 MiB = 1006632.96 -> 1006632;
  // 134217728 - 1006632 = 133211096 is above the 61/64 ceiling: 125 MiB.
  p.cons_mark = 0.01;
  ga_gc_pacer_commit(&p);
  EXPECT_EQ(ga_gc_pacer_trigger(&p, nullptr), 125 * MiB);

  // Runway longer than the goal: the floor.
  p.cons_mark = 100;
  ga_gc_pacer_commit(&p);
  EXPECT_EQ(ga_gc_pacer_trigger(&p, nullptr), 109 * MiB);
}

TEST(Pacer, TriggerCeilingForLargeHeaps) {
  ga_gc_pacer_t p = pacer(100);
  p.heap_marked = 1 * GiB;
  p.cons_mark = 0;  // no runway needed
  ga_gc_pacer_commit(&p);
  // goal 2 GiB; 61/64 of the way is 1 GiB + 976 MiB = 2000 MiB, but goal -
  // 4 MiB = 2044 MiB is higher and becomes the ceiling.
  uint64_t goal;
  EXPECT_EQ(ga_gc_pacer_trigger(&p, &goal), 2044 * MiB);
  EXPECT_EQ(goal, 2 * GiB);
}

TEST(Pacer, GoalKeepsMinimumRunwayAfterLateTrigger) {
  ga_gc_pacer_t p = pacer(100);
  p.heap_marked = 64 * MiB;
  ga_gc_pacer_commit(&p);
  // The cycle started at 127.99 MiB, 10 KiB short of the 128 MiB goal: the
  // goal moves to triggered + 64 KiB.
  p.heap_live = 128 * MiB - 10 * 1024;
  ga_gc_pacer_start_cycle(&p, 0, 4);
  EXPECT_EQ(p.triggered, 128 * MiB - 10 * 1024);
  EXPECT_EQ(ga_gc_pacer_heap_goal(&p), 128 * MiB - 10 * 1024 + 64 * 1024);
  ga_gc_pacer_reset_live(&p, 64 * MiB);
  EXPECT_EQ(ga_gc_pacer_heap_goal(&p), 128 * MiB);
}

TEST(Pacer, AssistRatioSteadyState) {
  ga_gc_pacer_t p = pacer(100);
  p.heap_marked = 64 * MiB;
  p.last_heap_scan = 32 * MiB;
  ga_gc_pacer_commit(&p);  // goal 128 MiB
  p.heap_live = 100 * MiB;
  p.heap_scan = 64 * MiB;
  ga_gc_pacer_start_cycle(&p, 0, 4);
  // Nothing scanned yet: 32 MiB of work over 28 MiB of heap.
  EXPECT_DOUBLE_EQ(p.assist_work_per_byte, 32.0 / 28.0);
  EXPECT_DOUBLE_EQ(p.assist_bytes_per_work, 28.0 / 32.0);
  // 8 MiB scanned, 4 MiB allocated: 24 MiB of work over 24 MiB of heap.
  ga_gc_pacer_note_scan_work(&p, 6 * MiB, 1 * MiB, 1 * MiB);
  ga_gc_pacer_note_alloc(&p, 4 * MiB, 0);
  ga_gc_pacer_revise(&p);
  EXPECT_DOUBLE_EQ(p.assist_work_per_byte, 1.0);
  // Work nearly done: at least 1000 units remain.
  ga_gc_pacer_note_scan_work(&p, 24 * MiB - 10, 0, 0);
  ga_gc_pacer_revise(&p);
  EXPECT_DOUBLE_EQ(p.assist_work_per_byte, 1000.0 / (24.0 * MiB));
}

TEST(Pacer, AssistRatioWhenTheHeapGrows) {
  ga_gc_pacer_t p = pacer(100);
  p.heap_marked = 64 * MiB;
  p.last_heap_scan = 32 * MiB;
  ga_gc_pacer_commit(&p);  // goal 128 MiB
  p.heap_live = 100 * MiB;
  p.heap_scan = 64 * MiB;
  ga_gc_pacer_start_cycle(&p, 0, 4);  // triggered at 100 MiB
  // 40 MiB scanned, more than the 32 expected: extrapolate the goal to the
  // worst case (64 MiB of scannable heap):
  // ext = (128 - 100) / 32 * 64 + 100 = 156 MiB (under the hard goal,
  // 2 * 128 = 256); work left = 64 - 40 = 24 MiB; with heap_live 110 MiB,
  // heap left = 46 MiB.
  ga_gc_pacer_note_scan_work(&p, 40 * MiB, 0, 0);
  ga_gc_pacer_note_alloc(&p, 10 * MiB, 0);
  ga_gc_pacer_revise(&p);
  EXPECT_DOUBLE_EQ(p.assist_work_per_byte, 24.0 / 46.0);

  // Past even the extended goal (live 160 MiB > 156): goal * 1.1 =
  // 171.6 MiB = 179935641.6 -> 179935641; heap left = 179935641 - 167772160
  // = 12163481; work left = 64 MiB - 40 MiB = 25165824.
  ga_gc_pacer_note_alloc(&p, 50 * MiB, 0);
  ga_gc_pacer_revise(&p);
  EXPECT_DOUBLE_EQ(p.assist_work_per_byte, 25165824.0 / 12163481.0);
}

TEST(Pacer, AssistHardGoalCap) {
  ga_gc_pacer_t p = pacer(100);
  p.heap_marked = 64 * MiB;
  p.last_heap_scan = 1 * MiB;
  ga_gc_pacer_commit(&p);  // goal 128 MiB
  p.heap_live = 120 * MiB;
  p.heap_scan = 1 * GiB;
  ga_gc_pacer_start_cycle(&p, 0, 4);
  ga_gc_pacer_note_scan_work(&p, 2 * MiB, 0, 0);
  ga_gc_pacer_revise(&p);
  // ext = 8/1 * 1024 + 120 MiB, far above the hard goal 256 MiB: capped.
  // work left = 1024 - 2 = 1022 MiB, heap left = 256 - 120 = 136 MiB.
  EXPECT_DOUBLE_EQ(p.assist_work_per_byte, 1022.0 / 136.0);
}

TEST(Pacer, AssistPlanOverAssistsAndStealsCredit) {
  ga_gc_pacer_t p = pacer(100);
  p.assist_work_per_byte = 0.5;
  p.assist_bytes_per_work = 2.0;

  // 1000 bytes of debt = 500 units, under 64 KiB: over-assist to 65536
  // units, worth 131072 bytes. No credit: the thread does it all.
  int64_t bal = -1000;
  EXPECT_EQ(ga_gc_pacer_assist_plan(&p, &bal), 65536);
  EXPECT_EQ(bal, -1000);
  ga_gc_pacer_assist_done(&p, &bal, 65536);
  EXPECT_EQ(bal, -1000 + 1 + 131072);  // 130073

  // Enough credit: steal all 65536 units, the balance gains 131072.
  ga_gc_pacer_flush_bg_credit(&p, 100000);
  bal = -1000;
  EXPECT_EQ(ga_gc_pacer_assist_plan(&p, &bal), 0);
  EXPECT_EQ(bal, 130072);
  EXPECT_EQ(p.bg_scan_credit, 100000 - 65536);

  // Partial credit (34464 units): steal it (1 + 2 * 34464 bytes), scan
  // the other 31072 units.
  bal = -1000;
  EXPECT_EQ(ga_gc_pacer_assist_plan(&p, &bal), 65536 - 34464);
  EXPECT_EQ(bal, -1000 + 1 + 68928);
  EXPECT_EQ(p.bg_scan_credit, 0);

  // A big debt: 1 MiB at .5 = 524288 units, no over-assist.
  bal = -(int64_t)MiB;
  EXPECT_EQ(ga_gc_pacer_assist_plan(&p, &bal), 524288);

  // No debt, no assist.
  bal = 5;
  EXPECT_EQ(ga_gc_pacer_assist_plan(&p, &bal), 0);
  EXPECT_EQ(bal, 5);
}

TEST(Pacer, ConsMarkMeasuredAndSmoothedAsMaxOfLastFive) {
  ga_gc_pacer_t p = pacer(100);
  p.heap_marked = 64 * MiB;
  ga_gc_pacer_commit(&p);
  // Cycle 1: triggered at 100 MiB, 120 MiB at the end, 40 MiB scanned in
  // 10 ms on 4 CPUs with 4 ms of assists: utilization = .25 + 4/(10*4) =
  // .35; cons/mark = (20 * .35) / (40 * .65) = 7/26.
  p.heap_live = 100 * MiB;
  ga_gc_pacer_start_cycle(&p, 1000000000, 4);
  ga_gc_pacer_note_alloc(&p, 20 * MiB, 0);
  ga_gc_pacer_note_scan_work(&p, 40 * MiB, 0, 0);
  __atomic_fetch_add(&p.assist_time_ns, 4000000, __ATOMIC_RELAXED);
  ga_gc_pacer_end_cycle(&p, 1010000000, 4);
  const double first = (20.0 * 0.35) / (40.0 * 0.65);
  EXPECT_NEAR(p.cons_mark, 7.0 / 26.0, 1e-12);
  EXPECT_DOUBLE_EQ(p.cons_mark, first);

  // Then cycles measuring 1/9 each (10 MiB allocated, 30 MiB scanned, no
  // assists: (10 * .25) / (30 * .75) = 1/9): the first reading stays the
  // maximum for four more cycles, then drops out.
  const double later = (10.0 * 0.25) / (30.0 * 0.75);
  for (int cycle = 2; cycle <= 6; cycle++) {
    ga_gc_pacer_reset_live(&p, 64 * MiB);
    ga_gc_pacer_commit(&p);
    p.heap_live = 100 * MiB;
    ga_gc_pacer_start_cycle(&p, 0, 4);
    ga_gc_pacer_note_alloc(&p, 10 * MiB, 0);
    ga_gc_pacer_note_scan_work(&p, 30 * MiB, 0, 0);
    ga_gc_pacer_end_cycle(&p, 10000000, 4);
    if (cycle <= 5) EXPECT_DOUBLE_EQ(p.cons_mark, first) << "cycle " << cycle;
    else EXPECT_DOUBLE_EQ(p.cons_mark, later) << "cycle " << cycle;
  }

  // Nothing allocated during mark: no measurement, estimate unchanged.
  p.heap_live = 100 * MiB;
  ga_gc_pacer_start_cycle(&p, 0, 4);
  ga_gc_pacer_end_cycle(&p, 10000000, 4);
  EXPECT_DOUBLE_EQ(p.cons_mark, later);
}

TEST(Pacer, ConsMarkUsesTheWorkersMeasuredTime) {
  // The worker thread had 2 ms of CPU in a 10 ms mark on 2 CPUs (10%, not
  // the 25% Go assumes), assists 1 ms (5%): utilization .15; 30 MiB
  // allocated, 20 MiB scanned: cons/mark = (30 * .15) / (20 * .85) = 9/34.
  ga_gc_pacer_t p = pacer(100);
  p.heap_marked = 64 * MiB;
  ga_gc_pacer_commit(&p);
  p.heap_live = 100 * MiB;
  ga_gc_pacer_start_cycle(&p, 1000000000, 2);
  EXPECT_EQ(p.worker_time_ns, 0);  // forgotten at each start
  ga_gc_pacer_note_alloc(&p, 30 * MiB, 0);
  ga_gc_pacer_note_scan_work(&p, 20 * MiB, 0, 0);
  __atomic_fetch_add(&p.assist_time_ns, 1000000, __ATOMIC_RELAXED);
  p.worker_time_ns = 2000000;
  ga_gc_pacer_end_cycle(&p, 1010000000, 2);
  EXPECT_NEAR(p.cons_mark, 9.0 / 34.0, 1e-12);

  // Measured times that overlap the mark's ends may sum past the CPUs:
  // utilization is capped at .95 (30 * .95 / (20 * .05) = 28.5), never a
  // division by zero or a negative estimate.
  ga_gc_pacer_t q = pacer(100);
  q.heap_marked = 64 * MiB;
  ga_gc_pacer_commit(&q);
  q.heap_live = 100 * MiB;
  ga_gc_pacer_start_cycle(&q, 1000000000, 2);
  ga_gc_pacer_note_alloc(&q, 30 * MiB, 0);
  ga_gc_pacer_note_scan_work(&q, 20 * MiB, 0, 0);
  q.worker_time_ns = 20000000;
  __atomic_fetch_add(&q.assist_time_ns, 5000000, __ATOMIC_RELAXED);
  ga_gc_pacer_end_cycle(&q, 1010000000, 2);
  EXPECT_NEAR(q.cons_mark, 30.0 * 0.95 / (20.0 * 0.05), 1e-9);
  EXPECT_EQ(q.ncpu, 2);
}

TEST(Pacer, ReviseWithoutAGoalAsksAFiniteRatio) {
  // GOGC off and no memory limit: the goal is UINT64_MAX. As an int64 it
  // was -1, the heap left clamped to 1 byte, and a 64 KiB debt owed all
  // the work left (4 TB in the review's reproducer). Now the goal is
  // INT64_MAX / 2: 96 MiB of work over ~4.6e18 bytes.
  ga_gc_pacer_t p = pacer(GA_GC_PACER_OFF);
  p.heap_marked = 64 * MiB;
  p.last_heap_scan = 96 * MiB;
  ga_gc_pacer_commit(&p);
  EXPECT_EQ(ga_gc_pacer_heap_goal(&p), UINT64_MAX);
  p.heap_live = 100 * MiB;
  ga_gc_pacer_start_cycle(&p, 0, 2);
  double expect = (double)(96 * MiB) / (double)(INT64_MAX / 2 - 100 * (int64_t)MiB);
  EXPECT_NEAR(p.assist_work_per_byte, expect, expect * 1e-9);
  int64_t bal = -(int64_t)(64 << 10);
  EXPECT_EQ(ga_gc_pacer_assist_plan(&p, &bal), GA_GC_PACER_OVER_ASSIST_WORK);
}

TEST(Pacer, FirstCycleWithoutAnEstimateAssumesTheWorstCase) {
  // No cycle has measured its scan work (expected 0): the goal is not
  // stretched by a ratio to zero (it divided by zero and turned the
  // bytes-per-work ratio to ~1e11); the work expected is the worst case,
  // every scannable byte: 50 MiB left over the heap left before the goal.
  ga_gc_pacer_t p = pacer(100);
  p.heap_marked = 32 * MiB;
  ga_gc_pacer_commit(&p);
  uint64_t goal = ga_gc_pacer_heap_goal(&p);
  EXPECT_EQ(goal, 64 * MiB);
  p.heap_live = 48 * MiB;
  p.heap_scan = 60 * MiB;
  ga_gc_pacer_start_cycle(&p, 0, 2);
  ga_gc_pacer_note_scan_work(&p, 10 * MiB, 0, 0);
  ga_gc_pacer_revise(&p);
  EXPECT_NEAR(p.assist_work_per_byte, 50.0 / 16.0, 1e-12);
  EXPECT_NEAR(p.assist_bytes_per_work, 16.0 / 50.0, 1e-12);
}

TEST(Pacer, ResetLiveFeedsTheNextGoal) {
  ga_gc_pacer_t p = pacer(100);
  p.heap_live = 50 * MiB;
  ga_gc_pacer_start_cycle(&p, 0, 4);
  ga_gc_pacer_note_scan_work(&p, 12 * MiB, 3 * MiB, 1 * MiB);
  ga_gc_pacer_reset_live(&p, 40 * MiB);
  EXPECT_EQ(p.heap_marked, 40 * MiB);
  EXPECT_EQ(p.heap_live, 40 * MiB);
  EXPECT_EQ(p.heap_scan, 12 * MiB);
  EXPECT_EQ(p.last_heap_scan, 12 * MiB);
  EXPECT_EQ(p.last_stack_scan, 3 * MiB);
  EXPECT_EQ(p.triggered, UINT64_MAX);
  p.globals_scan = 1 * MiB;
  ga_gc_pacer_commit(&p);
  // 40 + (40 + 3 + 1) = 84 MiB
  EXPECT_EQ(ga_gc_pacer_heap_goal(&p), 84 * MiB);
  // runway with cons/mark 0 is 0: trigger at the 61/64 ceiling:
  // 40 + (44 MiB / 64) * 61 = 40 MiB + 41.9375 MiB.
  EXPECT_EQ(ga_gc_pacer_trigger(&p, nullptr), 40 * MiB + 44 * MiB / 64 * 61);
}
