/* gc/concurrent.c: the parts of a concurrent cycle outside marking itself
 * (Go's gcStart / gcBgMarkWorker / gcAssistAlloc / gcMarkDone roles; the
 * phases are driven from collector.c).
 *
 * Without compiler write barriers, a concurrent mark is made correct by
 * rescanning, in the final pause, everything the program may have changed
 * since it was scanned (Boehm's mostly-parallel collector):
 *   - the roots (data, TLS, user roots, stacks and registers) in full;
 *   - the heap pages written since the cycle began, through gc/dirty
 *     (userfaultfd write-protect, asynchronous): of the objects on them,
 *     those that count as scanned (marked, or manual scanned) are scanned
 *     again over the written part.
 * Why that suffices: at the end, take any reachable object and a path to
 * it from a root. Its first unmarked object's predecessor is a root
 * (rescanned), a gray object (drained), or a marked object that was
 * scanned after tracking began (so its pointers were seen) unless written
 * since, in which case its page is dirty and it is rescanned. Objects
 * allocated during mark are white: nothing special is needed for them
 * (the argument above covers them), the pause traces those still
 * reachable and the others are garbage already. (Allocate-black was tried:
 * everything allocated during a long mark then floated to the next cycle
 * and had to be rescanned, being on written pages.) Pre-cleaning rounds
 * (roots, stacks read while threads run, and the pages written since the
 * last round, while the program runs) shrink what is left for the pause.
 *
 * Tracking: every arena the page allocator has, and every huge group, is
 * registered once (ga_arena_t.gc_tracked) and its written state reset at
 * each cycle's start. Arenas made during a cycle are untracked until a
 * pre-cleaning round registers them and rescans them whole; the final
 * pause rescans any still untracked arena whole. The walks over tracked
 * arenas skip 4 MiB chunks where nothing counts as scanned
 * (collect_scanned_chunks, arena.h's gc_chunk_cycle / gc_chunk_manual);
 * their written state stays for a later walk.
 *
 * Assists (Go's gcAssistAlloc): a thread in debt for what it allocated
 * during the mark scans gray objects in proportion: by default (scan work
 * left / heap left before the goal) + 1, so at least a byte per byte,
 * which makes the program pay for the pages it dirties (docs/GC.md,
 * "Assists and pacing"); with credit, the pacer's own ratio.
 * With GOALLOC_GC_CREDIT=1, Go's pacing in full: assists first steal the
 * credit background marking banked, and background marking aims at Go's
 * 25% of the CPU (gcBackgroundUtilization). The cycle's thread marks flat
 * out, but it is one thread the kernel schedules among the program's (a
 * fifth of a CPU with 8 busy threads on 2 CPUs), so allocating threads make
 * up the shortfall in fractional slices (Go's fractional workers, run on
 * the mutator's thread): every ALLOC_FLUSH bytes a thread allocates during
 * the mark it compares the background CPU time (the cycle thread's,
 * published by collector.c, plus the slices') with 25% of the CPUs since
 * the mark began, and when behind scans FRACTION_WORK bytes, banked as
 * credit.
 *
 * Mutators mark in assists and slices, bracketed by their record's gc_inop
 * (Dekker-style with ga_gc_phase). The final pause must not start while one
 * is in progress (a mark set after the sweep cleared the bits would survive
 * into the next cycle, gc/mark.c):
 * ga_gc_conc_stop_mutator_marking sets the phase to termination and waits
 * for every gc_inop to drop.
 *
 * The worker: one background thread, started on the first automatic cycle
 * (every signal blocked, never registered: it holds no program pointers),
 * runs whole automatic cycles so the allocating thread that crossed the
 * trigger does not wait for the mark. Explicit collections run on the
 * caller's thread. */
#include "gc/concurrent.h"

#include <sched.h>

#include "arena.h"
#include "gc/collector.h"
#include "gc/dirty.h"
#include "gc/stw.h"
#include "heap.h"
#include "options.h"
#include "os.h"
#include "pagealloc.h"

int ga_gc_phase;
uint64_t ga_gc_assist_bytes;
uint64_t ga_gc_assists;
uint64_t ga_gc_assist_steals;
uint64_t ga_gc_assist_cpu_ns;
uint64_t ga_gc_assist_goal = UINT64_MAX;
uint64_t ga_gc_assist_expected;
uint64_t ga_gc_worker_cpu_ns;
uint64_t ga_gc_fraction_cpu_ns;
uint64_t ga_gc_fraction_bytes;
uint64_t ga_gc_fractions;

/* ---- tracked ranges ---- */

typedef struct {
  uintptr_t lo, hi;
  ga_arena_t *a;
} range_t;

#define RANGES_RESERVE ((size_t)1 << 24)
static range_t *ranges; /* the cycle's thread only (gc_lock) */
static size_t nranges;

static void add_huge(ga_span_t *s, void *arg) {
  (void)arg;
  ga_arena_t *a = ga_arena_of(s->base);
  if (!a || nranges >= RANGES_RESERVE / sizeof(range_t)) return;
  ranges[nranges++] = (range_t){a->base, a->base + a->ngroup * GA_ARENA_SIZE, a};
}

/* Lists the heap's arenas; locked: take the heap lock (else the caller
 * holds it). */
static bool snapshot(bool locked) {
  if (!ranges && !(ranges = ga_os_reserve(RANGES_RESERVE, 4096))) return false;
  nranges = 0;
  if (locked) ga_mutex_lock(&ga_heap_lock);
  for (size_t k = 0; k < ga_pages_arena_count(); k++) {
    ga_arena_t *a = ga_pages_arena(k);
    if (nranges < RANGES_RESERVE / sizeof(range_t))
      ranges[nranges++] = (range_t){a->base, a->base + a->usable_pages * GA_PAGE_SIZE, a};
  }
  ga_heap_for_each_huge_span(add_huge, NULL);
  if (locked) ga_mutex_unlock(&ga_heap_lock);
  return true;
}

/* The pages of r written since the last collect, rescanned through fn(w),
 * in the chunks that hold something counted as scanned (an object marked
 * for scanning this cycle, or a manual scanned span: arena.h); the others'
 * pages keep their written state (no object on them was scanned, so
 * nothing there needs a rescan yet; a later walk that covers the chunk
 * reports those writes too). At 3 GB of heap about half the chunks hold
 * no such object at the final pause (GCBench), and the kernel's walk
 * costs per page-table entry. Huge groups are collected whole. */
static size_t collect_scanned_chunks(const range_t *r, ga_gc_work_t *w, bool last) {
  size_t (*collect)(uintptr_t, size_t, ga_gc_dirty_fn, void *) = last ? ga_gc_dirty_peek : ga_gc_dirty_collect;
  ga_arena_t *a = r->a;
  if (a->huge || r->hi - r->lo > GA_ARENA_SIZE) return collect(r->lo, r->hi - r->lo, ga_gc_mark_rescan, w);
  uint32_t cyc = __atomic_load_n(&ga_gc_mark_cycle, __ATOMIC_RELAXED);
  const uintptr_t chunk = (uintptr_t)1 << GA_CHUNK_SHIFT;
  size_t pages = 0;
  uintptr_t run = 0;
  for (uintptr_t p = r->lo;; p += chunk) {
    size_t c = (p >> GA_CHUNK_SHIFT) & (GA_CHUNKS_PER_ARENA - 1);
    bool want = p < r->hi && (__atomic_load_n(&a->gc_chunk_cycle[c], __ATOMIC_RELAXED) == cyc ||
                              __atomic_load_n(&a->gc_chunk_manual[c], __ATOMIC_RELAXED));
    if (want && !run) run = p;
    if (!want && run) {
      uintptr_t end = p < r->hi ? p : r->hi;
      pages += collect(run, end - run, ga_gc_mark_rescan, w);
      run = 0;
    }
    if (p >= r->hi) break;
  }
  return pages;
}

bool ga_gc_conc_available(void) {
  if (!ga_option(GA_OPT_GC_CONCURRENT)) return false;
  return ga_gc_dirty_init() && ga_gc_dirty_mode() == GA_GC_DIRTY_UFFD;
}

static int opening;

#define OPEN_PAGES ((size_t)(2 << 20) >> GA_PAGE_SHIFT)
/* One call costs about three faults (49 us against 16 here); from 64 KiB
 * on it saves most of them. */
#define OPEN_MIN ((size_t)64 << 10)

uintptr_t ga_gc_conc_open_run(uintptr_t base, size_t npages) {
  ga_arena_t *a = ga_arena_of(base);
  if (!a || a->huge || !__atomic_load_n(&opening, __ATOMIC_RELAXED)) return 0;
  uintptr_t end = base + npages * GA_PAGE_SIZE;
  uint32_t cycle = __atomic_load_n(&ga_gc_mark_cycle, __ATOMIC_RELAXED);
  if (a->gc_open_cycle == cycle && base >= a->gc_open_lo && end <= a->gc_open_hi) return 0;
  /* The free run after the span, in this arena; a large span only up to
   * OPEN_PAGES (a block used sparsely would save no faults, and one call
   * over 64 MiB takes 20 ms here). */
  uintptr_t hi = npages >= OPEN_PAGES ? base + OPEN_PAGES * GA_PAGE_SIZE
                                      : ga_pages_free_run_end(a, end, OPEN_PAGES - npages);
  if (hi - base < OPEN_MIN) return 0;
  a->gc_open_lo = base;
  a->gc_open_hi = hi;
  a->gc_open_cycle = cycle;
  return hi;
}

bool ga_gc_conc_begin(void) {
  /* In a fork child the descriptors are new (gc/dirty re-probes): without
   * precise tracking the cycle must not be concurrent. */
  if (!ga_gc_dirty_init()) return false;
  ga_heap_defer_unmap(true);
  __atomic_store_n(&opening, 1, __ATOMIC_RELAXED);
  if (!snapshot(true)) return false;
  for (size_t i = 0; i < nranges; i++) {
    range_t *r = &ranges[i];
    if (r->a->gc_tracked) {
      if (!ga_gc_dirty_reset(r->lo, r->hi - r->lo)) return false;
    } else {
      if (!ga_gc_dirty_track(r->lo, r->hi - r->lo)) return false;
      r->a->gc_tracked = true;
    }
  }
  return true;
}

size_t ga_gc_conc_preclean(ga_gc_work_t *w) {
  size_t pages = 0;
  __atomic_store_n(&opening, 0, __ATOMIC_RELAXED);
  if (!snapshot(true)) return 0;
  for (size_t i = 0; i < nranges; i++) {
    range_t *r = &ranges[i];
    if (r->a->gc_tracked) {
      pages += collect_scanned_chunks(r, w, false);
    } else if (ga_gc_dirty_track(r->lo, r->hi - r->lo)) {
      /* Written before tracking: rescan whole, once. */
      r->a->gc_tracked = true;
      ga_gc_mark_rescan(r->lo, r->hi, w);
      pages += (r->hi - r->lo) / 4096;
    }
    ga_gc_mark_drain(w);
  }
  return pages;
}

/* The final pause only peeks at the written state: tracking is suspended
 * when the cycle ends (ga_gc_conc_end) and reset at the next one's start,
 * so protecting the pages again would be a page-table update and a TLB
 * flush on every CPU per written run, for nothing. (Walking half the
 * pieces on a helper thread while the world is stopped was tried: the two
 * walks slowed each other, written pages took 1.38 ms against 0.73 at
 * GCBench's heaps over 1 GB.) */
void ga_gc_conc_rescan_final(void) {
  if (!snapshot(false)) return;
  for (size_t i = 0; i < nranges; i++) {
    range_t *r = &ranges[i];
    if (r->a->gc_tracked) collect_scanned_chunks(r, NULL, true);
    else ga_gc_mark_rescan(r->lo, r->hi, NULL);
  }
}

void ga_gc_conc_end(void) {
  /* Between cycles nothing needs the writes: without this, every page the
   * program writes after the final pause would take a write-protect fault
   * (a hypervisor exit on a VM) until the next cycle's reset (GCBench at
   * 64 MiB, with the scavenger's goal already in: page faults 310k ->
   * 170k, wall 4.5 -> 3.4 s; gc_quiet_pages). */
  if (snapshot(true))
    for (size_t i = 0; i < nranges; i++)
      if (ranges[i].a->gc_tracked) ga_gc_dirty_suspend(ranges[i].lo, ranges[i].hi - ranges[i].lo);
  ga_heap_defer_unmap(false);
}

/* ---- mutators that mark ---- */

static void wait_inop(const ga_gc_thread_t *t, void *arg) {
  (void)arg;
  while (__atomic_load_n(&t->gc_inop, __ATOMIC_SEQ_CST)) sched_yield();
}

void ga_gc_conc_stop_mutator_marking(void) {
  /* Sequentially consistent on both sides: either the thread sees the
   * phase change, or this sees its gc_inop. */
  __atomic_exchange_n(&ga_gc_phase, GA_GC_MARK_TERM, __ATOMIC_SEQ_CST);
  ga_gc_stw_for_each_thread(wait_inop, NULL);
}

/* Allocation during the mark reaches the pacer's heap_live in batches,
 * and the fractional check runs once a batch. */
#define ALLOC_FLUSH (64u << 10)
/* A fractional slice's work: about 0.1 ms of scanning. */
#define FRACTION_WORK ((int64_t)256 << 10)

/* GOALLOC_GC_CREDIT (read at the collector's start). */
bool ga_gc_credit;

/* Is background marking behind its share of the CPU? (Go's
 * fractionalUtilizationGoal, summed over the CPUs: the pacer's split.) */
static bool fraction_behind(void) {
  int64_t elapsed = (int64_t)(ga_os_nanotime() - ga_gc_pacer.mark_start_ns);
  if (elapsed <= 0) return false;
  double goal = (double)ga_gc_pacer.dedicated_workers +
                ga_gc_pacer.fractional_goal * (double)ga_gc_pacer.ncpu;
  uint64_t have = __atomic_load_n(&ga_gc_worker_cpu_ns, __ATOMIC_RELAXED) +
                  __atomic_load_n(&ga_gc_fraction_cpu_ns, __ATOMIC_RELAXED);
  return (double)have < goal * (double)elapsed;
}

static int64_t mark_some(int64_t work, uint64_t *cpu, bool hungry) {
  /* Most assists find the global gray list empty (the cycle's thread holds
   * what is gray in its own buffer): no clock read for them. The clock is a
   * system call, and one inside the gc_inop bracket is a point where the
   * thread may be preempted while the cycle waits for the bracket. */
  *cpu = 0;
  if (!ga_gc_mark_gray_available()) {
    /* The cycle's drain shares its buffer (gc/mark.c): in credit mode, and
     * past the heap goal early in the mark (assist_floor). */
    if (hungry) __atomic_store_n(&ga_gc_mark_hungry, 1, __ATOMIC_RELAXED);
    return 0;
  }
  uint64_t t0 = ga_os_thread_cpu_ns();
  ga_gc_work_t w;
  w.n = 0;
  w.marked_bytes = w.marked_objects = w.scanned_bytes = 0;
  int64_t done = ga_gc_mark_drain_some(&w, work);
  *cpu = ga_os_thread_cpu_ns() - t0;
  return done;
}

/* Without credit: the debt times (scan work left / heap left before the
 * goal) + 1, at most ASSIST_MAX; the debt is then forgiven, paid or not
 * (no gray work left to take). The work expected is the last cycle's
 * marked bytes and the heap the in-use heap, where the pacer's own ratio
 * (Go's revise) counts the last cycle's scan work, pre-cleaning rescans
 * included, and the gross allocation since the cycle began. The one:
 * objects allocated during the mark are white here (Go allocates them
 * black), so each byte allocated may add a byte of scan work that neither
 * estimate holds. This is the ratio used before the pacer was wired in;
 * it needs nothing shared updated during the mark. Interleaved GCBench
 * runs with the pacer's ratio instead (floored at 1, or plus 1) had longer
 * longest pauses (medians 2.7-3.5 ms against 1.3-1.4), but those builds
 * also wrote the pacer's counters during the mark next to words every
 * allocation reads (since fixed: ga_gc_pacer_t is cache-aligned), and
 * this machine's noise is large, so the question is open
 * (docs/benchmarks-gc.md, 2026-11-25). */
#define ASSIST_MIN ((int64_t)64 << 10)
#define ASSIST_MAX 16

static int64_t assist_floor(int64_t *balance, bool *hungry) {
  uint64_t inuse = __atomic_load_n(&ga_heap_inuse_bytes, __ATOMIC_RELAXED);
  uint64_t goal = __atomic_load_n(&ga_gc_assist_goal, __ATOMIC_RELAXED);
  uint64_t expect = __atomic_load_n(&ga_gc_assist_expected, __ATOMIC_RELAXED);
  uint64_t done = __atomic_load_n(&ga_gc_mark_stats.scanned_bytes, __ATOMIC_RELAXED);
  uint64_t left = expect > done ? expect - done : 0;
  uint64_t runway = goal > inuse ? goal - inuse : 0;
  /* Past the goal and no gray work to take: the cycle's thread holds it
   * all in its depth-first buffer while the program runs free. Ask it to
   * share (gc/mark.c), so that assists slow the program where the heap
   * overshoots. Only before the first pre-cleaning round: later, shared
   * work and heavy assists kept rounds from converging (GCBench: 16
   * rounds, longest pause 4.5 ms against 2.7 in the median of 4 runs). */
  if (!runway && __atomic_load_n(&opening, __ATOMIC_RELAXED)) *hungry = true;
  int64_t ratio = runway < ((uint64_t)1 << 20) ? ASSIST_MAX : (int64_t)(left / runway) + 1;
  if (ratio > ASSIST_MAX) ratio = ASSIST_MAX;
  int64_t work = ratio * -*balance;
  *balance = 0;
  return work;
}

void ga_gc_conc_after_alloc(size_t size) {
  ga_gc_thread_t *self = ga_gc_stw_self();
  if (!self) return;
  /* Go's heapLive: gross, frees count only at the next cycle. By default
   * the pacer needs it only at mark termination: the thread's running
   * total, which the collector sums at mark start and in the final pause
   * (nothing shared is read or written per allocation); with credit the
   * assist ratio follows it during the mark, in 64 KiB batches per
   * thread. */
  self->gc_allocated += size;
  bool slice = false;
  if (ga_gc_credit) {
    /* The balance belongs to one cycle (Go resets every gcAssistBytes at
     * mark start; here the thread notices). Without credit it is only a
     * debt under ASSIST_MIN, which may carry over. */
    uint32_t cycle = __atomic_load_n(&ga_gc_cycle, __ATOMIC_RELAXED);
    if (GA_UNLIKELY(self->gc_epoch != cycle)) {
      self->gc_epoch = cycle;
      self->gc_balance = 0;
      self->gc_unflushed = 0;
    }
    self->gc_unflushed += size < ((size_t)1 << 30) ? (uint32_t)size : (uint32_t)1 << 30;
    if (self->gc_unflushed >= ALLOC_FLUSH) {
      /* Every byte counts as scannable (the worst case the pacer's
       * heap_scan stands for). */
      ga_gc_pacer_note_alloc(&ga_gc_pacer, self->gc_unflushed, self->gc_unflushed);
      self->gc_unflushed = 0;
      slice = fraction_behind();
    }
  }
  /* Counted without the handshake (a full barrier), which is paid only
   * for a slice or when the debt is due: with credit, when the balance
   * turns negative (an assist or a steal then brings it back to at least
   * zero, over-assisting to 64 KiB of work); without, at ASSIST_MIN. */
  self->gc_balance -= (int64_t)size;
  if (self->gc_balance > (ga_gc_credit ? -1 : -ASSIST_MIN) && !slice) return;
  /* Nested (a signal handler that allocates during an assist): the outer
   * call's gc_inop must not be cleared under it. */
  if (__atomic_load_n(&self->gc_inop, __ATOMIC_RELAXED)) return;
  __atomic_exchange_n(&self->gc_inop, 1, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&ga_gc_phase, __ATOMIC_SEQ_CST) == GA_GC_MARK) {
    uint64_t cpu;
    if (slice) {
      /* A fractional slice: background work, banked for assists. */
      int64_t done = mark_some(FRACTION_WORK, &cpu, ga_gc_mark_balance);
      __atomic_fetch_add(&ga_gc_fraction_cpu_ns, cpu, __ATOMIC_RELAXED);
      if (done > 0) {
        ga_gc_pacer_flush_bg_credit(&ga_gc_pacer, done);
        __atomic_fetch_add(&ga_gc_fraction_bytes, (uint64_t)done, __ATOMIC_RELAXED);
        __atomic_fetch_add(&ga_gc_fractions, 1, __ATOMIC_RELAXED);
      }
    }
    int64_t work = 0;
    bool hungry = ga_gc_mark_balance;
    if (!ga_gc_credit) {
      if (self->gc_balance <= -ASSIST_MIN) work = assist_floor(&self->gc_balance, &hungry);
    } else {
      /* Go's gcAssistAlloc: the work owed is the debt times the pacer's
       * assist ratio (scan work left / heap left before the goal), at
       * least 64 KiB; the background's banked credit pays first. */
      int64_t before = self->gc_balance;
      work = ga_gc_pacer_assist_plan(&ga_gc_pacer, &self->gc_balance);
      if (self->gc_balance != before) __atomic_fetch_add(&ga_gc_assist_steals, 1, __ATOMIC_RELAXED);
    }
    if (work > 0) {
      /* CPU time, as Go's assistTime is time on a P: wall time would count
       * the waits for a CPU (8 busy threads on 2 CPUs). */
      int64_t done = mark_some(work, &cpu, hungry);
      if (done > 0) {
        __atomic_fetch_add(&ga_gc_pacer.assist_time_ns, (int64_t)cpu, __ATOMIC_RELAXED);
        __atomic_fetch_add(&ga_gc_assist_cpu_ns, cpu, __ATOMIC_RELAXED);
        __atomic_fetch_add(&ga_gc_assist_bytes, (uint64_t)done, __ATOMIC_RELAXED);
        __atomic_fetch_add(&ga_gc_assists, 1, __ATOMIC_RELAXED);
      }
      /* Short of gray work (the worker holds it in its own buffer, or is
       * between rounds): Go parks the assist until credit or work appears;
       * here what was not done is forgiven as if done, so the thread comes
       * back after as many bytes as a full assist pays for, not at its
       * next allocation. */
      if (ga_gc_credit) ga_gc_pacer_assist_done(&ga_gc_pacer, &self->gc_balance, done < work ? work : done);
    }
  } else {
    self->gc_balance = 0; /* marking is over */
  }
  __atomic_store_n(&self->gc_inop, 0, __ATOMIC_RELEASE);
}

/* ---- the worker ---- */

static int requested; /* futex word */
static bool started;
static ga_mutex_t start_lock = GA_MUTEX_INIT;

static void *worker_main(void *arg) {
  (void)arg;
  for (;;) {
    while (!__atomic_exchange_n(&requested, 0, __ATOMIC_ACQUIRE))
      if (ga_os_idle_wait(&requested, 0)) return NULL; /* the program has ended (os.c) */
    ga_gc_collect_background();
  }
  return NULL;
}

bool ga_gc_worker_kick(void) {
  if (!__atomic_load_n(&started, __ATOMIC_ACQUIRE)) {
    ga_mutex_lock(&start_lock);
    if (!started && ga_os_thread_start(worker_main)) __atomic_store_n(&started, true, __ATOMIC_RELEASE);
    ga_mutex_unlock(&start_lock);
    if (!started) return false;
  }
  __atomic_store_n(&requested, 1, __ATOMIC_RELEASE);
  ga_os_futex_wake(&requested);
  return true;
}

static void untrack_huge(ga_span_t *s, void *arg) {
  (void)arg;
  ga_arena_t *a = ga_arena_of(s->base);
  if (a) a->gc_tracked = false;
}

void ga_gc_conc_fork_child(void) {
  /* The child's mappings lost their registration (gc/dirty.h). */
  ga_gc_dirty_atfork_child();
  for (size_t k = 0; k < ga_pages_arena_count(); k++) ga_pages_arena(k)->gc_tracked = false;
  ga_heap_for_each_huge_span(untrack_huge, NULL);
  started = false;
  requested = 0;
  ga_mutex_reset(&start_lock);
  ga_gc_phase = GA_GC_IDLE;
}
