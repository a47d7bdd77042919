/* gc/collector.c: the collector's driver (Go's mgc.go): modes, the cycle,
 * pacing, finalizers, statistics and the goalloc_gc_* API.
 *
 * A cycle marks concurrently with the program where the kernel tracks
 * written pages (cycle_concurrent; gc/concurrent.c says why it is correct),
 * then pauses once; otherwise (GOALLOC_GC_CONCURRENT=0, leak mode, no
 * tracking) the pause does all of it (cycle_locked). The pause: under
 * gc_lock (one cycle at a time) and the dynamic loader's lock (so no
 * stopped thread is inside dlopen), close the gate (threads about to enter
 * an allocator slow path wait outside it), take every allocator lock in
 * their order (so no stopped thread holds one and the heap's metadata holds
 * still), stop the world, mark from the roots (data segments, static TLS,
 * user roots, every registered thread's stack and registers, uncollectable
 * objects; in a concurrent cycle also the heap pages written since the last
 * pre-cleaning round), keep finalizable objects alive one more cycle,
 * decide every span's garbage (gc/sweep.c), restart. Large garbage and
 * emptied unowned spans are freed right after; owned spans are swept by
 * their threads.
 *
 * Lock order: gc_lock -> loader lock -> allocator locks (malloc.c's
 * ga_lock_all; the pause takes them but the scavenger's pass lock,
 * ga_lock_heap_all) -> fin_lock -> the stop-the-world registry lock. fork takes
 * gc_lock first too (ga_gc_fork_prepare).
 *
 * Modes (GOALLOC_GC, include/goalloc.h): off; api (the first goalloc_gc_*
 * or GC_* call: only gc_malloc'ed objects are collectable); collect (plain
 * malloc is collectable: ga_gc_hooked); leak (like collect, but garbage is
 * reported, never freed, and nothing collects automatically). */
#include "gc/collector.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "cache.h"
#include "gc/blacklist.h"
#include "gc/concurrent.h"
#include "gc/dirty.h"
#include "gc/leak.h"
#include "gc/maps.h"
#include "gc/mark.h"
#include "gc/pacer.h"
#include "gc/roots.h"
#include "gc/signals.h"
#include "gc/stw.h"
#include "gc/sweep.h"
#include "goalloc.h"
#include "heap.h"
#include "large.h"
#include "malloc_int.h"
#include "options.h"
#include "scavenger.h"
#include "tiny.h"

int ga_gc_mode;
bool ga_gc_hooked;
bool ga_gc_auto;
uint64_t ga_gc_trigger = UINT64_MAX;
uint64_t ga_gc_hard_limit = UINT64_MAX;
static uint64_t held_back; /* hold_back calls (GCTRACE) */
int ga_gc_stopping;

void ga_gc_park(void) {
  /* Only a thread the pause will stop waits: an unregistered one (goalloc's
   * own threads) may hold a lock the pause needs, and a registered one
   * whose signals glibc blocked (thread exit) would never be stopped. */
  if (!ga_gc_stw_self()) return;
  sigset_t cur;
  if (ga_os_sigmask(SIG_BLOCK, NULL, &cur) != 0 || sigismember(&cur, ga_gc_stw_signal())) return;
  while (__atomic_load_n(&ga_gc_stopping, __ATOMIC_ACQUIRE)) ga_os_futex_wait(&ga_gc_stopping, 1);
}

/* Around a pause that holds the allocator's locks; called with the loader
 * lock held, so no parked thread holds it. */
static void stopping_begin(void) { __atomic_store_n(&ga_gc_stopping, 1, __ATOMIC_RELEASE); }
static void stopping_end(void) {
  __atomic_store_n(&ga_gc_stopping, 0, __ATOMIC_RELEASE);
  ga_os_futex_wake_all(&ga_gc_stopping);
}

static ga_mutex_t gc_lock = GA_MUTEX_INIT;
/* Held-back threads (hold_back) sleep on this word, bumped when a
 * collection releases gc_lock; never on gc_lock's own word: its unlock
 * wakes a single waiter, which could then be a held-back thread instead of
 * a thread waiting for the lock, and that one would sleep on a free lock
 * for good (gc_stress hung so; tests/gcmode/gc_hold_back_wake). */
static int collections_ended;
/* stats and the pacer's goal, for readers (goalloc_gc_get_stats, GC_*
 * queries): taken briefly by the cycle's thread when it updates them, so a
 * reader never waits for a whole cycle (a concurrent mark lasts seconds at
 * a GB, and finalizers run under gc_lock). Inside gc_lock when both. */
static ga_mutex_t stats_lock = GA_MUTEX_INIT;
static ga_mutex_t enable_lock = GA_MUTEX_INIT;
/* One leak report at a time (exit, signal); taken before gc_lock. */
static ga_mutex_t leak_report_lock = GA_MUTEX_INIT;
static pid_t gc_lock_owner;
static int disabled;       /* goalloc_gc_disable nesting */
static uint64_t last_cycle_end_ns; /* written under gc_lock, read racily (periodic_main) */
static int periodic_child_pending; /* a fork child restarts periodic_main lazily */
/* An automatic cycle was requested from the worker and has not ended;
 * kick_cycle: stats.cycles at the request. */
static int kick_pending;
static uint64_t kick_cycle;
static void periodic_start(void);
static bool constructed;   /* libc is up: threads may register */
static bool trace;
ga_gc_pacer_t ga_gc_pacer;
static uint64_t start_ns;

/* Statistics (gc_lock). */
#define NPAUSES 1024
static uint64_t pauses[NPAUSES];
static uint64_t npauses;
static goalloc_gc_stats_t stats;

/* ---- finalizers: an open-addressing table keyed by object ---- */

typedef struct {
  uintptr_t obj; /* 0 free, 1 deleted */
  void (*fn)(void *, void *);
  void *arg;
} fin_t;
static ga_mutex_t fin_lock = GA_MUTEX_INIT;
static fin_t *fins;     /* in OS memory: never scanned as a root */
static size_t fin_cap, fin_count, fin_used;
static fin_t *fin_queue; /* to run after the pause */
static size_t fin_nqueue;
#define FIN_RESERVE ((size_t)1 << 30)

static size_t fin_hash(uintptr_t p, size_t cap) {
  return (size_t)((p >> 4) * 0x9E3779B97F4A7C15ull >> 20) & (cap - 1);
}

static bool fin_grow(void) {
  size_t ncap = fin_cap ? fin_cap * 2 : 1024;
  if (ncap * sizeof(fin_t) * 2 > FIN_RESERVE) return false;
  fin_t *n = ga_os_reserve(ncap * sizeof(fin_t), 4096);
  if (!n) return false;
  for (size_t i = 0; i < fin_cap; i++) {
    if (fins[i].obj <= 1) continue;
    size_t h = fin_hash(fins[i].obj, ncap);
    while (n[h].obj) h = (h + 1) & (ncap - 1);
    n[h] = fins[i];
  }
  if (fins) ga_os_release(fins, fin_cap * sizeof(fin_t));
  fins = n;
  fin_cap = ncap;
  fin_used = fin_count;
  return true;
}

static fin_t *fin_find(uintptr_t obj) {
  if (!fin_cap) return NULL;
  for (size_t h = fin_hash(obj, fin_cap);; h = (h + 1) & (fin_cap - 1)) {
    if (fins[h].obj == obj) return &fins[h];
    if (!fins[h].obj) return NULL;
  }
}

int goalloc_gc_register_finalizer(void *obj, void (*fn)(void *, void *), void *arg) {
  uintptr_t p = (uintptr_t)obj;
  if (!p) return -1;
  goalloc_gc_init();
  int rc = 0;
  ga_mutex_lock(&fin_lock);
  fin_t *f = fin_find(p);
  if (!fn) {
    if (f) {
      f->obj = 1;
      fin_count--;
    }
  } else if (f) {
    f->fn = fn;
    f->arg = arg;
  } else if ((fin_used + 1) * 2 > fin_cap && !fin_grow()) {
    rc = -1;
  } else {
    size_t h = fin_hash(p, fin_cap);
    while (fins[h].obj > 1) h = (h + 1) & (fin_cap - 1);
    if (!fins[h].obj) fin_used++;
    fins[h] = (fin_t){p, fn, arg};
    fin_count++;
  }
  ga_mutex_unlock(&fin_lock);
  return rc;
}

/* In the pause, after marking from the roots: objects with a finalizer
 * that nothing reaches are queued, and they (and what they point to) are
 * kept for this cycle so the finalizer sees them whole (Boehm's rule). */
static void fin_scan(void) {
  fin_nqueue = 0;
  if (!fin_count) return;
  if (!fin_queue && !(fin_queue = ga_os_reserve(FIN_RESERVE, 4096))) return;
  for (size_t i = 0; i < fin_cap; i++) {
    if (fins[i].obj <= 1 || ga_gc_is_marked(fins[i].obj)) continue;
    fin_queue[fin_nqueue++] = fins[i];
    fins[i].obj = 1;
    fin_count--;
  }
  for (size_t i = 0; i < fin_nqueue; i++) ga_gc_mark_pointer(fin_queue[i].obj);
  ga_gc_mark_drain(NULL);
}

/* ---- the cycle ---- */

typedef struct {
  bool leak;
  bool concurrent; /* a concurrent mark before the pause */
  ga_gc_sweep_ctx_t sweep;
  uint64_t pause_ns, inuse_before, stop_ns;
  uint64_t conc_ns; /* concurrent: the mark before the pause */
  uint64_t begin_ns, first_ns; /* of which tracking, the first full mark */
  int rounds;
  uint64_t gate_ns, roots_ns, rescan_ns, drain_ns, sweep_ns; /* the pause, in parts */
  uint64_t slow_ns; /* of gate_ns: waiting for threads inside slow paths */
  uint64_t markend_ns; /* the pause: ga_gc_mark_end (gives the gray list back) */
  uint64_t restart_ns; /* the pause: waking the world (locks and gate are
                        * released just before) */
  uint64_t bgsweep_ns; /* the rest, after the pause */
  size_t preclean_pages;
  size_t last_round_pages; /* the last pre-cleaning round's, its time, and */
  uint64_t last_round_ns;
  uint64_t last_round_marked; /* the bytes marked meanwhile */
  unsigned nthreads;
  bool ok;
  /* Pacing (concurrent cycles): the marked heap, trigger and goal the
   * cycle started against, the heap at its start, the cycle thread's CPU
   * time at its start and for the mark, the cons/mark it measured. */
  bool paced;
  uint64_t p_marked, p_trigger, p_goal, p_triggered;
  uint64_t cpu0, mark_cpu_ns, fraction_cpu_ns;
  uint64_t alloc0, mark_alloc; /* allocated in marks before, and during this one */
  double p_cons_mark;
  bool p_measured; /* something was allocated during the mark: cons/mark measured */
  double mark_util; /* background CPU share during the mark */
} cycle_t;

/* ---- anonymous memory as roots (collect and leak modes) ----
 * A program that malloc()s does not expect its own mmap()ed memory to hide
 * pointers from the allocator: CPython keeps most of its objects in arenas
 * it maps itself, and they point to malloc'ed blocks. So in the modes that
 * collect plain malloc memory, every private anonymous read-write mapping
 * is a root, minus goalloc's own (the heap, its metadata: os.c's registry),
 * minus registered threads' stacks (scanned from their stack pointer
 * instead, so dead frames do not hide leaks), and minus the loaded
 * objects' writable segments, whose .bss tails are anonymous mappings too:
 * they are DATA roots already, except goalloc's own .bss (16 MiB of
 * metadata, scanned here every pause until 2026-11-24), and minus the
 * frames of goalloc's own threads (their 8 MiB stacks, where stale values
 * from marking kept garbage and could hide leaks; their TLS and thread
 * descriptor above the frames are scanned, os.c). Read through a copy: threads
 * the pause does not stop (one past its last key destructor, on its way
 * out, freeing glibc's cached thread stacks) may unmap any of it between
 * /proc/self/maps and the scan (CPython's test_threading_local crashed the
 * collector that way, ~1 run in 200). */
static ga_os_range_t *excl;
static size_t nexcl, excl_cap;
#define EXCL_RESERVE ((size_t)1 << 26)

static void copy_reservations(const ga_os_range_t *r, size_t n, void *arg) {
  if (n > excl_cap) n = excl_cap;
  memcpy(excl, r, n * sizeof *r);
  nexcl = n;
}

static void add_excl(uintptr_t lo, uintptr_t hi, void *arg) {
  (void)arg;
  if (nexcl >= excl_cap || hi <= lo) return;
  size_t i = nexcl;
  while (i > 0 && excl[i - 1].lo > lo) {
    excl[i] = excl[i - 1];
    i--;
  }
  excl[i].lo = lo;
  excl[i].hi = hi;
  nexcl++;
}

static void add_stack_excl(const ga_gc_thread_t *t, void *arg) { add_excl(t->stack_lo, t->stack_hi, arg); }

static void scan_anon(uintptr_t lo, uintptr_t hi, void *arg) {
  uintptr_t frames_top = ga_os_internal_frames_top(lo, hi);
  if (frames_top) lo = frames_top & ~(uintptr_t)7;
  /* First exclusion that ends after lo (exclusions may overlap: stacks
   * were merged in by start address only). */
  size_t a = 0, b = nexcl;
  while (a < b) {
    size_t mid = (a + b) / 2;
    if (excl[mid].lo < lo && excl[mid].hi <= lo) a = mid + 1;
    else b = mid;
  }
  if (a > 0) a--;
  uintptr_t cur = lo;
  for (size_t i = a; i < nexcl && excl[i].lo < hi && cur < hi; i++) {
    if (excl[i].hi <= cur) continue;
    if (excl[i].lo > cur) ga_gc_roots_scan_copied(cur, excl[i].lo, true, ga_gc_mark_range, NULL);
    cur = excl[i].hi;
  }
  if (cur < hi) ga_gc_roots_scan_copied(cur, hi, true, ga_gc_mark_range, NULL);
}

static void mark_anon_roots(void) {
  if (!excl) {
    excl = ga_os_reserve(EXCL_RESERVE, 4096);
    if (!excl) return;
    excl_cap = EXCL_RESERVE / sizeof *excl;
  }
  ga_os_for_each_reservation(copy_reservations, NULL);
  ga_gc_stw_for_each_thread(add_stack_excl, NULL);
  ga_gc_roots_for_each_data_segment(add_excl, NULL);
  ga_gc_maps_for_each_anon(scan_anon, NULL);
}

/* Data, TLS, user roots, stacks and registers (the world is stopped; the
 * main thread's stack counts only if it is registered), and in the hooked
 * modes the program's anonymous memory. */
static void mark_roots(bool anon) {
  unsigned kinds = GA_GC_ROOTS_DATA | GA_GC_ROOTS_USER | GA_GC_ROOTS_TLS;
  ga_gc_roots_for_each_kind(kinds, ga_gc_mark_range, NULL);
  ga_gc_stw_for_each_stack(ga_gc_mark_range, NULL);
  if (anon && ga_gc_hooked) mark_anon_roots();
}

static void count_busy(ga_cache_t *c, void *arg) {
  if (__atomic_load_n(&c->busy, __ATOMIC_RELAXED)) ++*(int *)arg;
}

/* With the gate closed (ga_gc_stopping), a thread inside a slow path
 * finishes it and waits at its next one; waiting (at most 1 ms) for that
 * before taking the locks keeps its spans from being skipped as busy. */
static void wait_slow_paths(void) {
  uint64_t t0 = ga_os_nanotime();
  for (;;) {
    int n = 0;
    ga_mutex_lock(&ga_caches_lock);
    ga_caches_for_each(count_busy, &n);
    ga_mutex_unlock(&ga_caches_lock);
    if (!n || ga_os_nanotime() - t0 > 1000000) return;
    sched_yield();
  }
}

/* The pause's start and end, around either kind of cycle (inside the
 * loader lock). The pause is counted from the gate closing: a thread that
 * waited at it was held that long. */
static void pause_begin(cycle_t *cy) {
  cy->pause_ns = ga_os_nanotime();
  stopping_begin();
  wait_slow_paths();
  cy->slow_ns = ga_os_nanotime() - cy->pause_ns;
  ga_lock_heap_all();
  ga_mutex_lock(&fin_lock);
  uint64_t ts = ga_os_nanotime();
  cy->gate_ns = ts - cy->pause_ns;
  cy->nthreads = ga_gc_stw_stop_world();
  cy->stop_ns = ga_os_nanotime() - ts;
}

static void pause_end(cycle_t *cy) {
  /* Locks and the gate first, the world last: released after the restart,
   * they kept slow paths waiting while the restarted threads had the CPUs
   * and this one waited its turn to unlock (up to 9 ms of GCBench's pauses
   * on 2 CPUs). The stopped threads hold none of them; unregistered ones
   * may take them now, as they may at any time outside a pause. */
  ga_mutex_unlock(&fin_lock);
  ga_unlock_heap_all();
  stopping_end();
  /* The pause ends when the world is released (the wake-up issued).
   * With more runnable threads than CPUs this thread then waits its turn
   * for a CPU, often for milliseconds, while the others run: shown in
   * GCTRACE as "restart", not counted as pause. */
  uint64_t t0 = ga_os_nanotime();
  cy->pause_ns = t0 - cy->pause_ns;
  ga_gc_stw_start_world();
  cy->restart_ns = ga_os_nanotime() - t0;
}

static void cycle_locked(void *arg) {
  cycle_t *cy = arg;
  pause_begin(cy);
  cy->inuse_before = ga_heap_inuse_bytes;
  cy->sweep.leak = cy->leak;
  cy->ok = ga_gc_mark_begin(false) && ga_gc_sweep_begin(&cy->sweep);
  if (cy->ok) {
    mark_roots(true);
    ga_gc_mark_drain(NULL);
    ga_gc_mark_manual_roots(NULL);
    if (!cy->leak) fin_scan();
    ga_gc_sweep_pause(&cy->sweep);
    ga_gc_mark_end();
    __atomic_store_n(&ga_gc_cycle, ga_gc_cycle + 1, __ATOMIC_RELAXED);
  }
  pause_end(cy);
}

/* ---- the concurrent cycle (gc/concurrent.c explains why it is correct) ----
 *   begin: huge arenas stay mapped, heap arenas tracked, written state
 *     reset; the phase becomes MARK (allocating threads assist);
 *   concurrently: roots, other threads' stacks (read while they run),
 *     uncollectable objects, drain; pre-cleaning rounds (roots and stacks
 *     again, the pages written since the last round) until few pages are
 *     written per round;
 *   termination: mutators stop assisting;
 *   the pause (every lock, as a stop-the-world cycle): roots, stacks and
 *     registers, the program's anonymous memory (hooked modes), the pages
 *     written since the last round, drain, finalizers, sweep; the phase
 *     becomes IDLE.
 * New objects are white: the pause traces those still reachable (most
 * were found by the last round), the rest are garbage already. */

/* ---- pacing (gc/pacer, Go's mgcpacer.go) ----
 * The pacer's heap_live: at a cycle's start, the in-use heap
 * (ga_heap_inuse_bytes, the unit of the trigger and goal); at mark
 * termination it has grown by what threads allocated during the mark
 * (gross: frees do not count, as in Go; the in-use heap would hide
 * allocation that reuses the spans the last sweep emptied). By default it
 * is the threads' running totals (ga_gc_thread_t.gc_allocated, with
 * ga_gc_exited_allocated for threads gone) summed in the final pause minus
 * the same sum at mark start; the scan work is the
 * bytes the markers scanned (ga_gc_mark_stats). Mark termination measures
 * cons/mark from them and from the CPU time the cycle's thread, the slices
 * and the assists had. With GOALLOC_GC_CREDIT the pacer also follows the
 * mark as it goes: allocation reaches heap_live in 64 KiB batches per
 * thread, and the cycle's own drain reports its work every
 * GA_GC_PROGRESS_BYTES (mark_progress): banked as credit that assists
 * steal before scanning themselves, and the assist ratio revised. */
static int ncpu = 1;
static int64_t cycle_credit;  /* work the cycle's own drain banked (gc_lock) */
static uint64_t gc_cpu_ns;    /* CPU time of cycles' threads, since start (gc_lock) */
static uint64_t mark_cpu0;    /* the cycle thread's CPU time at its start (cycle_t.cpu0) */
static uint64_t fraction_total_ns; /* slices' CPU time, ended cycles (gc_lock) */

static void publish_worker_cpu(void) {
  __atomic_store_n(&ga_gc_worker_cpu_ns, ga_os_thread_cpu_ns() - mark_cpu0, __ATOMIC_RELAXED);
}

static void pacer_sync_live(uint64_t inuse) {
  int64_t d = (int64_t)(inuse - __atomic_load_n(&ga_gc_pacer.heap_live, __ATOMIC_RELAXED));
  /* Less in use than the last cycle left live (frees, then an explicit
   * cycle): heap_live follows, heap_scan (the scannable worst case) is not
   * taken below what it holds. */
  if (d) ga_gc_pacer_note_alloc(&ga_gc_pacer, d, d > 0 ? d : 0);
}

static void pacer_sync_work(void) {
  int64_t d = (int64_t)__atomic_load_n(&ga_gc_mark_stats.scanned_bytes, __ATOMIC_RELAXED) -
              __atomic_load_n(&ga_gc_pacer.heap_scan_work, __ATOMIC_RELAXED);
  if (d) ga_gc_pacer_note_scan_work(&ga_gc_pacer, d, 0, 0);
}

/* ga_gc_mark_progress: the cycle's own drain scanned work bytes. */
static void mark_progress(int64_t work) {
  if (__atomic_load_n(&ga_gc_phase, __ATOMIC_RELAXED) != GA_GC_MARK) return;
  ga_gc_pacer_flush_bg_credit(&ga_gc_pacer, work);
  cycle_credit += work;
  pacer_sync_work();
  ga_gc_pacer_revise(&ga_gc_pacer);
  publish_worker_cpu();
}

static void sum_allocated(const ga_gc_thread_t *t, void *arg) {
  *(uint64_t *)arg += __atomic_load_n(&t->gc_allocated, __ATOMIC_RELAXED);
}

/* Bytes allocated during marks so far, every thread's (the registry lock,
 * or the world stopped, keeps the list still; the counts are the owners'
 * and read whole). */
static uint64_t allocated_in_marks(void) {
  uint64_t sum = __atomic_load_n(&ga_gc_exited_allocated, __ATOMIC_RELAXED);
  ga_gc_stw_for_each_thread(sum_allocated, &sum);
  return sum;
}

/* Mark start: the heap now is where the cycle started (Go's triggered);
 * the first assist ratio. */
static void pacer_start(cycle_t *cy, uint64_t now) {
  cy->paced = true;
  cy->p_marked = ga_gc_pacer.heap_marked;
  cy->p_trigger = ga_gc_pacer_trigger(&ga_gc_pacer, &cy->p_goal);
  pacer_sync_live(__atomic_load_n(&ga_heap_inuse_bytes, __ATOMIC_RELAXED));
  cycle_credit = 0;
  mark_cpu0 = cy->cpu0; /* taken at the cycle's start, a moment before */
  __atomic_store_n(&ga_gc_exited_unflushed, 0, __ATOMIC_RELAXED);
  cy->alloc0 = ga_gc_credit ? 0 : allocated_in_marks();
  __atomic_store_n(&ga_gc_worker_cpu_ns, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&ga_gc_fraction_cpu_ns, 0, __ATOMIC_RELAXED);
  ga_gc_pacer_start_cycle(&ga_gc_pacer, now, ncpu);
  cy->p_triggered = ga_gc_pacer.triggered;
}

/* Mark termination: all the work (the pause's included) against what was
 * allocated meanwhile, with the CPU the cycle's thread and the assists
 * really had (our worker is a thread the kernel schedules among the
 * program's, not Go's 25% of the Ps). */
static void pacer_end(cycle_t *cy) {
  if (!ga_gc_credit) ga_gc_pacer_note_alloc(&ga_gc_pacer, (int64_t)cy->mark_alloc, (int64_t)cy->mark_alloc);
  else {
    /* Exited threads' last partial batches. */
    int64_t rest = (int64_t)__atomic_load_n(&ga_gc_exited_unflushed, __ATOMIC_RELAXED);
    if (rest) ga_gc_pacer_note_alloc(&ga_gc_pacer, rest, rest);
  }
  pacer_sync_work();
  cy->mark_cpu_ns = ga_os_thread_cpu_ns() - mark_cpu0;
  cy->fraction_cpu_ns = __atomic_load_n(&ga_gc_fraction_cpu_ns, __ATOMIC_RELAXED);
  fraction_total_ns += cy->fraction_cpu_ns;
  ga_gc_pacer.worker_time_ns = (int64_t)(cy->mark_cpu_ns + cy->fraction_cpu_ns);
  uint64_t live = __atomic_load_n(&ga_gc_pacer.heap_live, __ATOMIC_RELAXED);
  cy->mark_alloc = live > ga_gc_pacer.triggered ? live - ga_gc_pacer.triggered : 0;
  cy->p_measured = ga_gc_pacer_end_cycle(&ga_gc_pacer, ga_os_nanotime(), ncpu);
  cy->p_cons_mark = cy->p_measured ? ga_gc_pacer.last_cons_mark[3] : 0;
  uint64_t wall = ga_os_nanotime() - ga_gc_pacer.mark_start_ns;
  cy->mark_util = wall ? (double)ga_gc_pacer.worker_time_ns / ((double)wall * ncpu) : 0;
}

/* 16, not 8: at 3 GB of heap GCBench's cycles often ran out of rounds
 * with thousands of pages still written per round, and the pause traced
 * what was built meanwhile (longest pause per run, median of 5-8
 * interleaved runs, in three comparisons: 1.07/1.35/2.51 ms against
 * 1.36/2.19/4.19 ms with 8; wall and peak RSS within noise). Rounds are
 * cheap once few pages are written. */
#define PRECLEAN_ROUNDS 16
#define PRECLEAN_ENOUGH 256 /* pages: few enough to leave to the pause */
#define PRECLEAN_SHORT_NS 1000000 /* and a round this short from its stack scan */

/* Returns when the stack scan began (the rest follows it). */
static uint64_t mark_roots_running(void) {
  unsigned kinds = GA_GC_ROOTS_DATA | GA_GC_ROOTS_USER | GA_GC_ROOTS_TLS;
  ga_gc_roots_for_each_kind(kinds, ga_gc_mark_range, NULL);
  uint64_t t = ga_os_nanotime();
  ga_gc_stw_scan_stacks_running(ga_gc_mark_range, NULL);
  return t;
}

static void pause_final(void *arg) {
  cycle_t *cy = arg;
  pause_begin(cy);
  /* The world is stopped: every thread's count for this mark holds still. */
  if (cy->paced && !ga_gc_credit) cy->mark_alloc = allocated_in_marks() - cy->alloc0;
  uint64_t t2 = ga_os_nanotime();
  cy->inuse_before = ga_heap_inuse_bytes;
  mark_roots(true);
  uint64_t t3 = ga_os_nanotime();
  ga_gc_conc_rescan_final();
  uint64_t t4 = ga_os_nanotime();
  ga_gc_mark_drain(NULL);
  fin_scan();
  uint64_t t5 = ga_os_nanotime();
  ga_gc_sweep_pause_lazy(&cy->sweep);
  cy->sweep_ns = ga_os_nanotime() - t5;
  cy->roots_ns = t3 - t2;
  cy->rescan_ns = t4 - t3;
  cy->drain_ns = t5 - t4;
  uint64_t t6 = ga_os_nanotime();
  ga_gc_mark_end();
  cy->markend_ns = ga_os_nanotime() - t6;
  __atomic_store_n(&ga_gc_cycle, ga_gc_cycle + 1, __ATOMIC_RELAXED);
  __atomic_store_n(&ga_gc_phase, GA_GC_IDLE, __ATOMIC_RELAXED);
  pause_end(cy);
}

static void cycle_concurrent(cycle_t *cy) {
  cy->sweep.leak = false;
  uint64_t t0 = ga_os_nanotime();
  /* Allocation counts from here: write-protecting a large heap takes
   * milliseconds (10 ms at 80 MB here), and what the program allocated
   * meanwhile went uncounted, so cons/mark read low and the trigger stayed
   * late while the heap overshot its goal by more every cycle (gc_retain:
   * 78 to 85 MB against a goal of 77). */
  __atomic_store_n(&ga_gc_phase, GA_GC_MARK_SETUP, __ATOMIC_SEQ_CST);
  pacer_start(cy, t0);
  if (!ga_gc_mark_begin(true) || !ga_gc_sweep_begin(&cy->sweep) || !ga_gc_conc_begin()) {
    /* The kernel refused tracking (or memory ran out): one pause instead. */
    __atomic_store_n(&ga_gc_phase, GA_GC_IDLE, __ATOMIC_SEQ_CST);
    ga_gc_conc_end();
    cy->concurrent = false;
    cy->paced = false;
    ga_gc_pacer.triggered = UINT64_MAX;
    ga_gc_roots_with_loader_locked(cycle_locked, cy);
    return;
  }
  uint64_t t1 = ga_os_nanotime();
  cy->begin_ns = t1 - t0;
  __atomic_store_n(&ga_gc_phase, GA_GC_MARK, __ATOMIC_SEQ_CST);
  mark_roots_running();
  if (ga_gc_credit) publish_worker_cpu(); /* the slices' reference (drains publish too) */
  ga_gc_mark_manual_roots(NULL);
  ga_gc_mark_drain(NULL);
  cy->first_ns = ga_os_nanotime() - t1;
  /* Each round rescans what the program wrote and grays what it made
   * reachable during the last one; what the last round leaves is traced
   * in the pause. */
  for (int r = 0; r < PRECLEAN_ROUNDS; r++) {
    uint64_t m0 = __atomic_load_n(&ga_gc_mark_stats.marked_bytes, __ATOMIC_RELAXED);
    uint64_t tr = mark_roots_running();
    if (ga_gc_credit) publish_worker_cpu();
    size_t pages = ga_gc_conc_preclean(NULL);
    cy->preclean_pages += pages;
    cy->last_round_pages = pages;
    cy->last_round_ns = ga_os_nanotime() - tr;
    cy->last_round_marked = __atomic_load_n(&ga_gc_mark_stats.marked_bytes, __ATOMIC_RELAXED) - m0;
    cy->rounds++;
    /* Done when few pages were written and the round was short from its
     * stack scan on: what the program builds in that window, reachable
     * from its stacks, is traced in the pause (GCBench: last rounds of
     * 10-20 ms with a hundred pages left drains of 1-4.6 ms). Timed from
     * the stack scan, not the round's start: rescanning large data
     * segments made every round long with nothing new (review: 16 rounds
     * for a program with 64 MiB of .bss). */
    if (pages < PRECLEAN_ENOUGH && cy->last_round_ns < PRECLEAN_SHORT_NS) break;
  }
  ga_gc_conc_stop_mutator_marking();
  /* What assists left on the gray list when their budget ran out (they
   * have all stopped now): traced while the program runs, not in the
   * pause. */
  ga_gc_mark_drain(NULL);
  cy->conc_ns = ga_os_nanotime() - t1;
  ga_gc_roots_with_loader_locked(pause_final, cy);
  pacer_end(cy); /* before the end's unprotect walk, which is not marking */
  ga_gc_conc_end();
  cy->ok = true;
}

static bool concurrent;          /* cycles are concurrent (decided at enable) */

/* The hard limit: twice the goal, at least HARD_EXTRA_MIN above it. */
#define HARD_EXTRA_MIN ((uint64_t)32 << 20)

static void set_trigger(void) {
  uint64_t goal = ga_gc_pacer_heap_goal(&ga_gc_pacer);
  uint64_t trigger = goal;
  /* Concurrent: start early enough that marking ends near the goal, by the
   * runway the measured cons/mark predicts (between 45/64 and 61/64 of the
   * way from the marked heap to the goal). Stop-the-world: at the goal. */
  if (concurrent) trigger = ga_gc_pacer_trigger(&ga_gc_pacer, &goal);
  __atomic_store_n(&ga_gc_assist_goal, goal, __ATOMIC_RELAXED);
  __atomic_store_n(&ga_gc_assist_expected, stats.last_marked ? stats.last_marked : ga_gc_pacer.heap_marked,
                   __ATOMIC_RELAXED);
  __atomic_store_n(&ga_gc_trigger, trigger, __ATOMIC_RELAXED);
  uint64_t extra = goal > HARD_EXTRA_MIN ? goal : HARD_EXTRA_MIN;
  __atomic_store_n(&ga_gc_hard_limit, goal > UINT64_MAX - extra ? UINT64_MAX : goal + extra,
                   __ATOMIC_RELAXED);
}

/* The scavenger's goals after a cycle (Go's gcPaceScavenger): keep the
 * heap that was in use at this mark's end, scaled by how the goal moved,
 * plus 10% (retainExtraPercent); with a memory limit, release down to 95%
 * of it (reduceExtraPercent). Without them the scavenger would give back
 * what the sweep freed, and the program, growing back to the goal, would
 * fault it in again: GCBench at 64 MiB spent a third of its CPU time on
 * those faults and madvise calls. Unlike Go, the goal kept is the larger
 * of the last two cycles': a program's live heap often alternates between
 * cycles (GCBench's goal went 207, 140, 207, 154 MB), and our scavenger
 * releases within tens of milliseconds, not at Go's 1% of a CPU, so a
 * one-cycle dip released 50 MB that the next cycle faulted back in. A heap
 * that stays smaller is released one cycle later. Nor is it less than the
 * highest the heap reached since the last cycle (below). No GOGC goal
 * (off): the default allowance. */
static void pace_scavenger(uint64_t inuse_at_mark_end, uint64_t last_goal) {
  static uint64_t prev_retain; /* under stats_lock */
  uint64_t goal = ga_gc_pacer_heap_goal(&ga_gc_pacer);
  uint64_t retain = 0, limit = 0, peak = ga_heap_take_inuse_peak();
  if (ga_gc_pacer.gc_percent >= 0 && last_goal && goal < UINT64_MAX / 4) {
    double r = (double)inuse_at_mark_end * ((double)goal / (double)last_goal) * 1.1;
    /* A cycle that began far past its goal (the first, one after the
     * collector was disabled) would scale by a hundredfold. */
    double cap = (double)(goal > inuse_at_mark_end ? goal : inuse_at_mark_end) * 1.1;
    retain = (uint64_t)(r < cap ? r : cap);
    /* The heap goes on growing after the mark's end, until each thread
     * applies what the sweep found in its own spans, and past the goal
     * when the mark lacks CPU: gc_retain under parallel tests peaked at
     * 103 MB against an 86 MB retained goal and released the difference
     * every cycle. What the heap really reached since the last cycle is
     * what it grows back into. */
    if (peak > retain) retain = peak;
  }
  uint64_t keep = retain > prev_retain ? retain : prev_retain;
  prev_retain = retain;
  retain = keep;
  uint64_t growth = ga_gc_pacer.gc_percent >= 0 ? (uint64_t)ga_gc_pacer.gc_percent * 11 / 10 + 10 : 0;
  if (ga_gc_pacer.memory_limit != GA_GC_PACER_NO_LIMIT) {
    limit = (uint64_t)((double)ga_gc_pacer.memory_limit * 0.95);
    if (!limit) limit = 1; /* 0 would mean no limit */
  }
  ga_scavenger_set_goals(retain, growth, limit);
}

/* GOALLOC_GCTRACE=1: one line per cycle, in the spirit of Go's
 * GODEBUG=gctrace=1. "heap A -> B" is the in-use heap at the pause and
 * what remains once the garbage found is freed (owners free theirs at
 * their next refill). */
static goalloc_gc_stats_t trace_prev; /* the statistics at the last line */

static void trace_line(const cycle_t *cy, uint64_t wall_ns) {
  uint64_t now = ga_os_nanotime() - start_ns;
  uint64_t garbage = cy->leak ? 0 : ga_gc_sweep_stats.garbage_bytes;
  uint64_t after = cy->inuse_before > garbage ? cy->inuse_before - garbage : 0;
#define MS(ns) (unsigned long)((ns) / 1000000), (unsigned long)((ns) / 1000 % 1000)
#define FRAC64(x, span) \
  (unsigned long)(64.0 * (double)(x) / (double)(span)), (unsigned long)(6400.0 * (double)(x) / (double)(span)) % 100
#define FIX4(d) (unsigned long)(d), (unsigned long)((d) * 10000) % 10000
  char conc[448] = "", pace[640] = "";
  if (cy->concurrent)
    ga_snprintf(conc, sizeof conc,
                "concurrent mark %lu.%03lu ms (tracking %lu.%03lu, first %lu.%03lu, %d rounds, %lu pages rescanned (last round %lu in %lu.%03lu ms, %lu KB marked), assists %lu MB, %lu held back), pause: gate %lu.%03lu (slow paths %lu.%03lu), "
                "roots %lu.%03lu, written pages %lu.%03lu, drain %lu.%03lu, sweep %lu.%03lu, mark end %lu.%03lu, restart %lu.%03lu ms, background sweep %lu.%03lu ms; ",
                MS(cy->conc_ns), MS(cy->begin_ns), MS(cy->first_ns), cy->rounds,
                (unsigned long)cy->preclean_pages, (unsigned long)cy->last_round_pages, MS(cy->last_round_ns),
                (unsigned long)(cy->last_round_marked >> 10),
                (unsigned long)((stats.assist_bytes - trace_prev.assist_bytes) >> 20),
                (unsigned long)__atomic_exchange_n(&held_back, 0, __ATOMIC_RELAXED),
                MS(cy->gate_ns), MS(cy->slow_ns), MS(cy->roots_ns),
                MS(cy->rescan_ns), MS(cy->drain_ns), MS(cy->sweep_ns), MS(cy->markend_ns), MS(cy->restart_ns), MS(cy->bgsweep_ns));
  if (cy->paced) {
    /* Where the cycle started and the next will, as Go's trigger ratio
     * (n/64 of the way from the marked heap to the goal). */
    uint64_t span = cy->p_goal > cy->p_marked ? cy->p_goal - cy->p_marked : 1;
    uint64_t at = cy->p_triggered > cy->p_marked ? cy->p_triggered - cy->p_marked : 0;
    uint64_t ngoal, ntrig = ga_gc_pacer_trigger(&ga_gc_pacer, &ngoal);
    uint64_t nmarked = ga_gc_pacer.heap_marked;
    uint64_t nspan = ngoal > nmarked ? ngoal - nmarked : 1;
    uint64_t nat = ntrig > nmarked ? ntrig - nmarked : 0;
    char cm[32] = "none (nothing allocated)", next[160] = "next: no goal (GOGC off)";
    if (cy->p_measured) ga_snprintf(cm, sizeof cm, "%lu.%04lu", FIX4(cy->p_cons_mark));
    if (ngoal != UINT64_MAX)
      ga_snprintf(next, sizeof next, "next: marked %lu KB, trigger %lu KB (%lu.%02lu/64), goal %lu KB",
                  (unsigned long)(nmarked >> 10), (unsigned long)(ntrig >> 10), FRAC64(nat, nspan),
                  (unsigned long)(ngoal >> 10));
    ga_snprintf(pace, sizeof pace,
                "pacer: started at %lu MB (%lu.%02lu/64, goal %lu MB), background cpu %lu.%03lu ms + %lu slices %lu.%03lu ms (%lu%% of %d cpus), cons/mark %s "
                "(smoothed %lu.%04lu), assists %lu (cpu %lu.%03lu ms, %lu paid with credit, %lu KB stolen; banked %lu KB by the cycle's thread, %lu KB by slices), "
                "%s; ",
                (unsigned long)(cy->p_triggered >> 20), FRAC64(at, span), (unsigned long)(cy->p_goal >> 20),
                MS(cy->mark_cpu_ns), (unsigned long)(stats.fractions - trace_prev.fractions),
                MS(cy->fraction_cpu_ns), (unsigned long)(cy->mark_util * 100), ncpu, cm, FIX4(ga_gc_pacer.cons_mark),
                (unsigned long)(stats.assists - trace_prev.assists),
                MS(stats.assist_cpu_ns - trace_prev.assist_cpu_ns),
                (unsigned long)(stats.assist_steals - trace_prev.assist_steals),
                (unsigned long)((stats.stolen_bytes - trace_prev.stolen_bytes) >> 10),
                (unsigned long)((stats.worker_credit_bytes - trace_prev.worker_credit_bytes) >> 10),
                (unsigned long)((stats.fraction_bytes - trace_prev.fraction_bytes) >> 10), next);
  }
  /* Go's "N%": the collector's share of the CPU time available since the
   * program started (its threads' and the assists'). */
  uint64_t avail = now * (uint64_t)ncpu;
  uint64_t share = avail ? stats.gc_cpu_ns * 1000 / avail : 0;
  trace_prev = stats;
  /* One write: a line written in pieces could be cut by the program's own
   * output. */
  char line[1536];
  size_t len = ga_snprintf(line, sizeof line - 1,
            "gc %lu @%lu.%03lus %lu.%lu%% cpu: %s%spause %lu.%03lu ms (stop %lu.%03lu), cycle %lu.%03lu ms, "
            "%u threads, heap %lu -> %lu MB (goal %lu MB), marked %lu MB, %s %lu objects (%lu KB), skipped %lu spans, %lu pages blacklisted\n",
            (unsigned long)stats.cycles, (unsigned long)(now / 1000000000),
            (unsigned long)(now / 1000000 % 1000), (unsigned long)(share / 10), (unsigned long)(share % 10),
            conc, pace, MS(cy->pause_ns), MS(cy->stop_ns), MS(wall_ns),
            cy->nthreads + 1, (unsigned long)(cy->inuse_before >> 20), (unsigned long)(after >> 20),
            (unsigned long)(ga_gc_pacer_heap_goal(&ga_gc_pacer) >> 20),
            (unsigned long)(ga_gc_mark_stats.marked_bytes >> 20), cy->leak ? "unreachable" : "freed",
            (unsigned long)ga_gc_sweep_stats.garbage_objects,
            (unsigned long)(ga_gc_sweep_stats.garbage_bytes >> 10),
            (unsigned long)ga_gc_sweep_stats.skipped_spans,
            (unsigned long)__atomic_load_n(&ga_gc_blacklist_noted, __ATOMIC_RELAXED));
  if (len > sizeof line - 2) {
    len = sizeof line - 2;
    line[len++] = '\n';
  }
  for (size_t off = 0; off < len;) {
    ssize_t w = write(2, line + off, len - off);
    if (w <= 0) break;
    off += (size_t)w;
  }
#undef FIX4
#undef FRAC64
#undef MS
}

static void run_finalizers(void) {
  /* The queue is ours until the next cycle, which needs gc_lock: held. */
  for (size_t i = 0; i < fin_nqueue; i++) fin_queue[i].fn((void *)fin_queue[i].obj, fin_queue[i].arg);
  fin_nqueue = 0;
}

static pid_t my_tid(void) { return gettid(); }

static bool collect_inner(bool leak, bool wait, bool kicked);

/* One collection. Returns false if one was already running on this thread
 * (a finalizer that collects). kicked: the worker's, for the request made
 * at kick_cycle, which a cycle that ended meanwhile fulfilled. */
static GA_NOINLINE bool collect_as(bool leak, bool wait, bool kicked) {
  bool entered = ga_gc_stw_enter();
  bool ok = collect_inner(leak, wait, kicked);
  if (entered) ga_gc_stw_leave();
  return ok;
}

static bool collect(bool leak, bool wait) { return collect_as(leak, wait, false); }

static GA_NOINLINE bool collect_inner(bool leak, bool wait, bool kicked) {
  pid_t self = my_tid();
  if (__atomic_load_n(&gc_lock_owner, __ATOMIC_RELAXED) == self) return false;
  if (wait) {
    ga_mutex_lock(&gc_lock);
  } else {
    /* An automatic cycle never waits for another one: that one is doing
     * the work, and this thread may hold the loader lock (a malloc inside
     * a dl_iterate_phdr callback), which the running cycle needs. */
    int expected = 0;
    if (!__atomic_compare_exchange_n(&gc_lock.state, &expected, 1, false, __ATOMIC_ACQUIRE,
                                     __ATOMIC_RELAXED))
      return false;
  }
  if (kicked && __atomic_load_n(&stats.cycles, __ATOMIC_RELAXED) !=
                    __atomic_load_n(&kick_cycle, __ATOMIC_RELAXED)) {
    /* The thread that asked ran the cycle itself while this one waited
     * for the lock (it reached the goal first): a second one now would
     * start at once, short of the trigger (gc_pacer under load: at 5/64). */
    ga_mutex_unlock(&gc_lock);
    return true;
  }
  gc_lock_owner = self;
  uint64_t t0 = ga_os_nanotime();
  cycle_t cy = {.leak = leak, .concurrent = concurrent && !leak, .cpu0 = ga_os_thread_cpu_ns()};
  if (leak) ga_gc_leak_reset();
  if (cy.concurrent) cycle_concurrent(&cy);
  else ga_gc_roots_with_loader_locked(cycle_locked, &cy);
  if (cy.ok) {
    ga_gc_sweep_after(&cy.sweep);
    if (cy.concurrent) {
      /* The sweep the (lazy) pause left, before the next cycle may mark. */
      uint64_t ts = ga_os_nanotime();
      ga_gc_sweep_background(&cy.sweep);
      ga_gc_sweep_after(&cy.sweep);
      cy.bgsweep_ns = ga_os_nanotime() - ts;
    }
    uint64_t wall = ga_os_nanotime() - t0;
    __atomic_store_n(&last_cycle_end_ns, t0 + wall, __ATOMIC_RELAXED);
    ga_mutex_lock(&stats_lock);
    stats.cycles++;
    stats.pauses++;
    stats.last_pause_ns = cy.pause_ns;
    stats.pause_total_ns += cy.pause_ns;
    if (cy.pause_ns > stats.pause_max_ns) stats.pause_max_ns = cy.pause_ns;
    pauses[npauses++ % NPAUSES] = cy.pause_ns;
    stats.mark_total_ns += wall;
    stats.last_marked = ga_gc_mark_stats.marked_bytes;
    stats.blacklisted_pages = __atomic_load_n(&ga_gc_blacklist_noted, __ATOMIC_RELAXED);
    stats.freed_objects += ga_gc_sweep_stats.garbage_objects;
    stats.freed_bytes += ga_gc_sweep_stats.garbage_bytes;
    /* The live heap for pacing: what is in use minus what this cycle found
     * dead (owned spans give theirs back lazily), and minus the unmarked
     * large objects spared as young: counted as live, a program that
     * allocates mostly large objects would see its goal grow every cycle. */
    uint64_t dead = ga_gc_sweep_stats.garbage_bytes + ga_gc_sweep_stats.young_bytes;
    uint64_t live = cy.inuse_before > dead ? cy.inuse_before - dead : 0;
    if (leak) live = cy.inuse_before;
    pacer_sync_work();
    if (cy.paced) {
      stats.cons_mark = ga_gc_pacer.cons_mark;
      stats.last_mark_utilization = cy.mark_util;
      stats.mark_alloc_bytes += cy.mark_alloc;
      stats.worker_credit_bytes += (uint64_t)cycle_credit;
    }
    stats.stolen_bytes = (uint64_t)__atomic_load_n(&ga_gc_pacer.stolen_work, __ATOMIC_RELAXED);
    gc_cpu_ns += ga_os_thread_cpu_ns() - cy.cpu0;
    stats.assists = __atomic_load_n(&ga_gc_assists, __ATOMIC_RELAXED);
    stats.assist_bytes = __atomic_load_n(&ga_gc_assist_bytes, __ATOMIC_RELAXED);
    stats.assist_steals = __atomic_load_n(&ga_gc_assist_steals, __ATOMIC_RELAXED);
    stats.assist_cpu_ns = __atomic_load_n(&ga_gc_assist_cpu_ns, __ATOMIC_RELAXED);
    stats.fractions = __atomic_load_n(&ga_gc_fractions, __ATOMIC_RELAXED);
    stats.fraction_bytes = __atomic_load_n(&ga_gc_fraction_bytes, __ATOMIC_RELAXED);
    stats.fraction_cpu_ns = fraction_total_ns;
    stats.gc_cpu_ns = gc_cpu_ns + stats.assist_cpu_ns + stats.fraction_cpu_ns;
    uint64_t last_goal = ga_gc_pacer_heap_goal(&ga_gc_pacer);
    ga_gc_pacer_reset_live(&ga_gc_pacer, live);
    ga_gc_pacer.heap_alloc = live;
    ga_gc_pacer.mapped_ready = cy.inuse_before;
    ga_gc_pacer_commit(&ga_gc_pacer);
    __atomic_store_n(&kick_pending, 0, __ATOMIC_RELAXED); /* before the new trigger */
    set_trigger();
    if (!leak) pace_scavenger(cy.inuse_before, last_goal);
    ga_mutex_unlock(&stats_lock);
    if (trace) trace_line(&cy, wall);
    ga_gc_pacer.heap_scan_work = 0;
  }
  /* Finalizers run before gc_lock is released, so no other cycle can free
   * their objects (kept alive by this cycle only) or refill the queue
   * first; one that allocates cannot start a cycle of its own (the owner
   * check above). They run outside the loader lock and the pause. */
  if (cy.ok && fin_nqueue) run_finalizers();
  gc_lock_owner = 0;
  ga_mutex_unlock(&gc_lock);
  __atomic_fetch_add(&collections_ended, 1, __ATOMIC_RELEASE);
  ga_os_futex_wake_all(&collections_ended);
  return cy.ok;
}

/* Past the hard limit while another thread's collection holds gc_lock:
 * an automatic cycle never waits for that lock (collect_inner: this thread
 * may hold the loader lock, which the running cycle needs), and assists
 * only pay while there is gray work to take, so when the collecting thread
 * lacks a CPU (more runnable threads than CPUs), in its mark or in its
 * sweep, nothing else would slow the program down: gc_stress reached 425
 * MB against a goal of 25 under parallel tests. This thread waits for the
 * collection to end, 1 ms at a time and at most HOLD_BACK_MS per slow
 * path (a thread holding a lock the collection needs delays it that long,
 * never deadlocks it). Go's assists block in the same situation. */
#define HOLD_BACK_MS 20

static void hold_back(void) {
  for (int i = 0; i < HOLD_BACK_MS; i++) {
    /* Read before the checks: a collection that ends after them changes
     * it, and the wait returns at once. */
    int seq = __atomic_load_n(&collections_ended, __ATOMIC_ACQUIRE);
    if (!__atomic_load_n(&gc_lock.state, __ATOMIC_ACQUIRE) ||
        __atomic_load_n(&ga_heap_inuse_bytes, __ATOMIC_RELAXED) <
            __atomic_load_n(&ga_gc_hard_limit, __ATOMIC_RELAXED))
      return;
    if (i == 0) __atomic_fetch_add(&held_back, 1, __ATOMIC_RELAXED);
    ga_os_futex_wait_ms(&collections_ended, seq, 1);
  }
}

void ga_gc_collect_auto(void) {
  if (GA_UNLIKELY(__atomic_load_n(&periodic_child_pending, __ATOMIC_RELAXED)) &&
      __atomic_exchange_n(&periodic_child_pending, 0, __ATOMIC_ACQ_REL)) {
    /* A fork child's first slow path (ga_gc_fork_child_late). The trigger
     * first: pthread_create allocates. */
    ga_mutex_lock(&gc_lock);
    set_trigger();
    ga_mutex_unlock(&gc_lock);
    if (ga_gc_auto) periodic_start();
    return;
  }
  if (!ga_gc_auto || __atomic_load_n(&disabled, __ATOMIC_RELAXED)) return;
  if (__atomic_load_n(&ga_os_program_gone, __ATOMIC_ACQUIRE)) return; /* exit handlers (os.c) */
  if (__atomic_load_n(&gc_lock_owner, __ATOMIC_RELAXED) == my_tid()) return;
  hold_back();
  /* Another thread may have collected while we waited to get here; and
   * what the last cycle found dead in spans the threads own is free,
   * though they have not applied it yet: this thread applies its own now
   * (its partly dead spans too, which the count below leaves out), the
   * others' emptied spans are counted. */
  ga_cache_t *c = ga_tls_cache;
  if (c != &ga_empty_cache && __atomic_load_n(&c->sweep_needed, __ATOMIC_RELAXED)) {
    ga_gc_park_if_stopping();
    ga_cache_sweep(c);
  }
  if (ga_gc_trigger_heap(__atomic_load_n(&ga_heap_inuse_bytes, __ATOMIC_RELAXED)) <
      __atomic_load_n(&ga_gc_trigger, __ATOMIC_RELAXED))
    return;
  if (concurrent) {
    if (__atomic_load_n(&kick_pending, __ATOMIC_ACQUIRE)) {
      /* Past the goal and the requested cycle has not begun marking: the
       * worker has not had a CPU (2 CPUs, busy mutators), and until the
       * mark begins nothing slows the program down (assists run only
       * during the mark). This thread runs the cycle itself (Go's
       * allocating goroutine starts the cycle too); the worker then finds
       * it done. During the mark, assists pace the program. */
      __atomic_store_n(&ga_gc_trigger, UINT64_MAX, __ATOMIC_RELAXED);
      if (__atomic_load_n(&ga_gc_phase, __ATOMIC_ACQUIRE) == GA_GC_IDLE) collect(false, false);
      return;
    }
    if (__atomic_exchange_n(&kick_pending, 1, __ATOMIC_ACQ_REL)) return;
    /* Concurrent cycles run on the background worker: this thread goes on
     * allocating (and assisting). The next stop is the goal. */
    __atomic_store_n(&kick_cycle, __atomic_load_n(&stats.cycles, __ATOMIC_RELAXED),
                     __ATOMIC_RELAXED);
    uint64_t goal = __atomic_load_n(&ga_gc_assist_goal, __ATOMIC_RELAXED);
    uint64_t inuse = __atomic_load_n(&ga_heap_inuse_bytes, __ATOMIC_RELAXED);
    __atomic_store_n(&ga_gc_trigger, goal > inuse ? goal : UINT64_MAX, __ATOMIC_RELAXED);
    if (ga_gc_worker_kick()) return;
    __atomic_store_n(&kick_pending, 0, __ATOMIC_RELAXED);
  }
  /* Make the trigger unreachable while this cycle runs, so threads that
   * reach it meanwhile do not queue up behind gc_lock for a second one. */
  __atomic_store_n(&ga_gc_trigger, UINT64_MAX, __ATOMIC_RELAXED);
  if (!collect(false, false)) set_trigger();
}

void ga_gc_collect_background(void) {
  /* A cycle ended since the request (an allocating thread ran it, or an
   * explicit or periodic one): nothing to do, the trigger is set. */
  if (__atomic_load_n(&stats.cycles, __ATOMIC_RELAXED) != __atomic_load_n(&kick_cycle, __ATOMIC_RELAXED))
    return;
  if (!ga_gc_auto || __atomic_load_n(&disabled, __ATOMIC_RELAXED) || !collect_as(false, true, true)) {
    ga_mutex_lock(&gc_lock);
    __atomic_store_n(&kick_pending, 0, __ATOMIC_RELAXED);
    set_trigger();
    ga_mutex_unlock(&gc_lock);
  }
}

/* ---- modes ---- */

/* Automatic cycles: not in leak mode, not with GOGC off, and only once libc
 * is up (the constructor registers the main thread first). Derived from
 * that state wherever it changes. */
/* GOALLOC_GC_PERIOD_MS (Go's forcegc): a thread of goalloc's own (every
 * signal blocked, unregistered, like the worker) that runs a cycle when
 * none ended for a period, so an idle program's garbage is reclaimed too.
 * It runs while automatic cycles are on; started by the first arm_auto
 * that finds them on, and again in a fork child. */
static int periodic_running;

static void *periodic_main(void *arg) {
  (void)arg;
  uint64_t period = (uint64_t)ga_option(GA_OPT_GC_PERIOD) * 1000000u;
  for (;;) {
    uint64_t now = ga_os_nanotime();
    uint64_t last = __atomic_load_n(&last_cycle_end_ns, __ATOMIC_RELAXED);
    if (last < start_ns) last = start_ns;
    if (ga_os_program_threads_gone()) return NULL; /* let the process end (os.c) */
    if (now - last < period) {
      uint64_t wait = (last + period - now + 999999) / 1000000;
      if (wait > GA_OS_IDLE_CHECK_MS) wait = GA_OS_IDLE_CHECK_MS;
      ga_os_sleep_ms((unsigned)(wait ? wait : 1));
      continue;
    }
    if (__atomic_load_n(&ga_gc_auto, __ATOMIC_RELAXED) &&
        !__atomic_load_n(&disabled, __ATOMIC_RELAXED))
      collect(false, true);
    else
      ga_os_sleep_ms(GA_OS_IDLE_CHECK_MS);
  }
  return NULL;
}

static void periodic_start(void) {
  if (!ga_option(GA_OPT_GC_PERIOD)) return;
  int expected = 0;
  if (!__atomic_compare_exchange_n(&periodic_running, &expected, 1, false, __ATOMIC_ACQ_REL,
                                   __ATOMIC_RELAXED))
    return;
  if (!ga_os_thread_start(periodic_main)) {
    __atomic_store_n(&periodic_running, 0, __ATOMIC_RELEASE);
    ga_printf(2, "goalloc: cannot start the periodic collection thread (GOALLOC_GC_PERIOD_MS)\n");
  }
}

static void arm_auto(void) {
  ga_gc_auto = constructed && ga_gc_mode && ga_gc_mode != GOALLOC_GC_LEAK && ga_gc_pacer.gc_percent >= 0;
  if (ga_gc_auto) periodic_start();
  else ga_scavenger_set_goals(0, 0, 0); /* no cycle will come to move them */
}

static void enable(int mode) {
  ga_mutex_lock(&enable_lock);
  if (!ga_gc_mode) {
    start_ns = ga_os_nanotime();
    ga_gc_stw_init((int)ga_option(GA_OPT_GC_SIGNAL));
    ga_gc_signals_enable(); /* after: the stop signal is never wrapped */
    trace = ga_option(GA_OPT_GCTRACE) != 0;
    long gogc = ga_option(GA_OPT_GOGC);
    long limit = ga_option(GA_OPT_MEMLIMIT);
    ga_gc_pacer_init(&ga_gc_pacer, gogc, limit > 0 ? (uint64_t)limit : GA_GC_PACER_NO_LIMIT);
    cpu_set_t cpus;
    if (sched_getaffinity(0, sizeof cpus, &cpus) == 0 && CPU_COUNT(&cpus) > 0) ncpu = CPU_COUNT(&cpus);
    ga_gc_credit = ga_option(GA_OPT_GC_CREDIT) != 0;
    ga_gc_mark_balance = ga_gc_credit;
    /* Progress reports bank credit and revise the ratio, for credit mode
     * only (ga_gc_conc_after_alloc says what they cost otherwise). */
    ga_gc_mark_progress = ga_gc_credit ? mark_progress : NULL;
    set_trigger();
    ga_gc_hooked = mode == GOALLOC_GC_COLLECT || mode == GOALLOC_GC_LEAK;
    concurrent = mode != GOALLOC_GC_LEAK && ga_gc_conc_available();
    if (trace && mode != GOALLOC_GC_LEAK && !concurrent)
      ga_printf(2, "gc: concurrent mark off (%s): every cycle is one pause\n",
                ga_option(GA_OPT_GC_CONCURRENT) ? ga_gc_dirty_probe_error() ? ga_gc_dirty_probe_error()
                                                                             : "no dirty-page tracking"
                                                 : "GOALLOC_GC_CONCURRENT=0");
    set_trigger();
    if (ga_gc_hooked) ga_malloc_hook_collector();
    __atomic_store_n(&ga_gc_mode, mode, __ATOMIC_RELEASE);
    arm_auto();
  }
  ga_mutex_unlock(&enable_lock);
}

void ga_gc_init_from_options(void) {
  long m = ga_option(GA_OPT_GC);
  if (m == 1) enable(GOALLOC_GC_COLLECT);
  else if (m == 2) enable(GOALLOC_GC_LEAK);
}

static void leak_at_exit(void);
static void leak_signal_start(void);

/* Called from malloc.c's constructor, once libc is up. */
void ga_gc_constructor(void) {
  /* Options may have been read before environ was set: apply them now. */
  ga_gc_init_from_options();
  constructed = true;
  if (!ga_gc_mode) return;
  ga_gc_thread_started();
  if (ga_gc_mode == GOALLOC_GC_LEAK) {
    ga_gc_leak_init();
    atexit(leak_at_exit);
    leak_signal_start();
  }
  arm_auto();
}

int goalloc_gc_init(void) {
  if (!ga_initialized) ga_init();
  if (!ga_gc_mode) enable(GOALLOC_GC_API);
  ga_gc_thread_started();
  return ga_gc_mode;
}

int goalloc_gc_mode(void) { return ga_gc_mode; }

/* ---- threads ---- */

/* A thread must be registered before it owns any span: a pause would
 * judge the spans of an unregistered thread while it runs and changes them
 * (gc/sweep.c). So registration must not allocate: pthread_getattr_np
 * mallocs (and a thread's first malloc registers it), so a thread's stack
 * is the mapping that holds its stack pointer (glibc puts the TLS and the
 * thread descriptor at its top, which is what the scan needs). The main
 * thread's bounds come from gc/roots without allocating either. */
static bool register_self(void) {
  /* A thread that blocks the stop signal (goalloc's own background
   * thread) could never be stopped: the stop would wait forever. */
  sigset_t cur;
  if (ga_os_internal_thread) return false;
  if (ga_os_sigmask(SIG_BLOCK, NULL, &cur) == 0 && sigismember(&cur, ga_gc_stw_signal()))
    return false;
  if (ga_gc_stw_on_main_stack()) return ga_gc_stw_register_self() != NULL;
  uintptr_t lo, hi, sp = (uintptr_t)__builtin_frame_address(0);
  if (!ga_gc_maps_find(sp, &lo, &hi)) return false;
  return ga_gc_stw_register_self_range(lo, hi) != NULL;
}

void ga_gc_thread_started(void) {
  if (!ga_gc_mode || !constructed || ga_gc_stw_self()) return;
  register_self();
}

void ga_gc_thread_exiting(void) {
  if (ga_gc_stw_self()) ga_gc_stw_unregister_self();
}

int goalloc_gc_register_thread(void) {
  goalloc_gc_init();
  if (ga_gc_stw_self()) return 1;
  return register_self() ? 0 : -1;
}

int goalloc_gc_unregister_thread(void) {
  ga_gc_thread_exiting();
  return 0;
}

/* ---- allocation ---- */

/* Collectable objects get one byte more than asked for (Boehm's
 * EXTRA_BYTES): a pointer one past the end of an object must keep that
 * object, not the next one. C++ does keep such pointers: new T[0] with an
 * array cookie hands out malloc's block + 8, the end of an 8-byte block. */
void *ga_gc_alloc(size_t size, unsigned kind, bool zero) {
  /* A thread whose cache predates the collector (api mode turned on after
   * it started) registers before it owns collectable spans. */
  if (GA_UNLIKELY(!ga_gc_stw_self()) && constructed) register_self();
  if (!(kind & 2)) {
    if (GA_UNLIKELY(size >= PTRDIFF_MAX)) {
      errno = ENOMEM;
      return NULL;
    }
    size++;
  }
  void *p = ga_alloc_kind(size, kind, zero);
  if (GA_UNLIKELY(ga_gc_mode == GOALLOC_GC_LEAK) && p) ga_gc_leak_record(p, ga_gc_leak_site());
  if (GA_UNLIKELY(__atomic_load_n(&ga_gc_phase, __ATOMIC_RELAXED)) && !(kind & 2) && p)
    ga_gc_conc_after_alloc(size);
  return p;
}

void *ga_gc_alloc_aligned(size_t size, size_t align) {
  if (GA_UNLIKELY(ga_gc_auto)) ga_gc_poll();
  void *p = ga_large_alloc(size + 1, align, false, GA_KIND_SCAN);
  if (GA_UNLIKELY(ga_gc_mode == GOALLOC_GC_LEAK) && p) ga_gc_leak_record(p, ga_gc_leak_site());
  if (GA_UNLIKELY(__atomic_load_n(&ga_gc_phase, __ATOMIC_RELAXED)) && p)
    ga_gc_conc_after_alloc(size);
  return p;
}

void *goalloc_gc_malloc(size_t size) {
  if (GA_UNLIKELY(!ga_gc_mode)) goalloc_gc_init();
  return ga_gc_alloc(size, GA_KIND_SCAN, true);
}

void *goalloc_gc_malloc_noscan(size_t size) {
  if (GA_UNLIKELY(!ga_gc_mode)) goalloc_gc_init();
  return ga_gc_alloc(size, GA_KIND_NOSCAN, false);
}

void *goalloc_gc_malloc_uncollectable(size_t size) {
  if (GA_UNLIKELY(!ga_gc_mode)) goalloc_gc_init();
  return ga_gc_alloc(size, GA_KIND_MANUAL_SCAN, true);
}

void *goalloc_gc_realloc(void *old, size_t size) {
  if (!old) return goalloc_gc_malloc(size);
  if (size == 0) {
    ga_free_named(old, "goalloc_gc_realloc");
    return NULL;
  }
  ga_span_t *s = ga_span_of((uintptr_t)old);
  size_t have = ga_usable_size(old);
  if (!s || s->state != GA_SPAN_INUSE || !have) {
    ga_report_bad_free("goalloc_gc_realloc", old, "invalid pointer");
    errno = ENOMEM;
    return NULL;
  }
  if (size <= have && size > have / 2) return old;
  unsigned kind = s->gcflags & 3;
  void *n = ga_gc_alloc(size, kind, !(kind & GA_KIND_NOSCAN));
  if (!n) return NULL;
  memcpy(n, old, size < have ? size : have);
  ga_free_named(old, "goalloc_gc_realloc");
  return n;
}

void *goalloc_gc_base(const void *ptr) {
  uintptr_t p = (uintptr_t)ptr;
  ga_span_t *s = ga_span_of(p);
  if (!s || s->state != GA_SPAN_INUSE) return NULL;
  if (s->spanclass == 0) return p - s->base < s->npages * GA_PAGE_SIZE ? (void *)s->base : NULL;
  if (s->tiny) return ga_tiny_live(s, p) ? (void *)(p & ~(uintptr_t)(GA_TINY_SIZE - 1)) : NULL;
  uintptr_t off = p - s->base;
  if (off >= s->limit) return NULL;
  uint32_t idx = ga_span_slot(s, off);
  if (!ga_span_is_allocated(s, idx)) return NULL;
  return (void *)(s->base + (uintptr_t)idx * s->elemsize);
}

/* ---- control ---- */

void goalloc_gc_collect(void) {
  if (!ga_gc_mode) return;
  collect(ga_gc_mode == GOALLOC_GC_LEAK, true);
}

void goalloc_gc_disable(void) { __atomic_fetch_add(&disabled, 1, __ATOMIC_RELAXED); }
void goalloc_gc_enable(void) {
  if (__atomic_load_n(&disabled, __ATOMIC_RELAXED) > 0)
    __atomic_fetch_sub(&disabled, 1, __ATOMIC_RELAXED);
}

int goalloc_gc_set_percent(int percent) {
  goalloc_gc_init();
  ga_mutex_lock(&gc_lock);
  ga_mutex_lock(&stats_lock);
  int old = (int)ga_gc_pacer.gc_percent;
  ga_gc_pacer_set_gc_percent(&ga_gc_pacer, percent);
  set_trigger();
  ga_mutex_unlock(&stats_lock);
  arm_auto();
  ga_mutex_unlock(&gc_lock);
  return old;
}

int goalloc_gc_add_roots(void *lo, void *hi) {
  goalloc_gc_init();
  return ga_gc_roots_add((uintptr_t)lo, (uintptr_t)hi) ? 0 : -1;
}

int goalloc_gc_remove_roots(void *lo, void *hi) {
  return ga_gc_roots_remove((uintptr_t)lo, (uintptr_t)hi) ? 0 : -1;
}

static uint64_t p99(void) {
  size_t n = npauses < NPAUSES ? npauses : NPAUSES;
  if (!n) return 0;
  uint64_t a[NPAUSES];
  memcpy(a, pauses, n * sizeof a[0]);
  /* Shell sort: 1024 values, no allocation. */
  for (size_t gap = n / 2; gap; gap /= 2)
    for (size_t i = gap; i < n; i++)
      for (size_t j = i; j >= gap && a[j - gap] > a[j]; j -= gap) {
        uint64_t t = a[j];
        a[j] = a[j - gap];
        a[j - gap] = t;
      }
  size_t k = (n * 99 + 99) / 100; /* ceil(0.99 n), 1-based */
  return a[k - 1];
}

int goalloc_gc_get_stats(goalloc_gc_stats_t *st) {
  /* Callers built before blacklisted_pages or before the pacing fields
   * pass an older, shorter size. */
  size_t sz = st ? st->struct_size : 0;
  if (sz != sizeof(goalloc_gc_stats_t) && sz != offsetof(goalloc_gc_stats_t, blacklisted_pages) &&
      sz != offsetof(goalloc_gc_stats_t, heap_trigger)) {
    errno = EINVAL;
    return -1;
  }
  goalloc_gc_stats_t s;
  ga_mutex_lock(&stats_lock);
  s = stats;
  s.struct_size = sz;
  s.mode = ga_gc_mode;
  s.heap_live = ga_heap_inuse_bytes;
  s.heap_goal = ga_gc_mode ? ga_gc_pacer_heap_goal(&ga_gc_pacer) : 0;
  s.heap_trigger = !ga_gc_mode ? 0
                   : concurrent && s.heap_goal != UINT64_MAX ? ga_gc_pacer_trigger(&ga_gc_pacer, NULL)
                                                             : s.heap_goal;
  s.heap_marked = ga_gc_mode ? ga_gc_pacer.heap_marked : 0;
  s.pause_p99_ns = p99();
  ga_mutex_unlock(&stats_lock);
  memcpy(st, &s, sz);
  return 0;
}

/* ---- leak mode ---- */

long goalloc_gc_leak_report(int fd) {
  if (ga_gc_mode != GOALLOC_GC_LEAK) return -1;
  if (!collect(true, true)) return -1;
  return ga_gc_leak_print(fd);
}

/* Reports go to stderr or GOALLOC_LEAK_FILE. The file is truncated by
 * the first report of the process and appended to by the next ones (a
 * report on a signal, then the one at exit). */
static bool leak_file_written;

static void leak_report_to_destination(int sig) {
  ga_mutex_lock(&leak_report_lock);
  const char *file = ga_os_getenv("GOALLOC_LEAK_FILE");
  int fd = 2;
  if (file && *file) {
    fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC | (leak_file_written ? O_APPEND : O_TRUNC),
              0644);
    if (fd < 0) {
      ga_printf(2, "goalloc: cannot open GOALLOC_LEAK_FILE=%s; reporting to stderr\n", file);
      fd = 2;
    } else {
      leak_file_written = true;
    }
  }
  if (sig) ga_printf(fd, "goalloc: leak report on signal %d (pid %d)\n", sig, (int)getpid());
  goalloc_gc_leak_report(fd);
  if (fd != 2) close(fd);
  ga_mutex_unlock(&leak_report_lock);
}

static void leak_at_exit(void) { leak_report_to_destination(0); }

/* GOALLOC_LEAK_SIGNAL: the handler only counts the request and wakes a
 * reporter thread (a report collects, takes locks and allocates, none of
 * which a signal handler may do). The reporter is one of goalloc's
 * internal threads: every signal blocked, not stopped by collections. */
static int leak_requests; /* futex word */
static int leak_handled;  /* requests answered (the reporter's; not reset at its
                           * start: a fork child's reporter may start after
                           * the child's first request) */
static int leak_signal;
static bool leak_reporter_running;

static void leak_signal_handler(int sig) {
  (void)sig;
  int e = errno;
  __atomic_fetch_add(&leak_requests, 1, __ATOMIC_RELEASE);
  ga_os_futex_wake(&leak_requests);
  errno = e;
}

static void *leak_reporter_main(void *arg) {
  (void)arg;
  for (;;) {
    int now;
    while ((now = __atomic_load_n(&leak_requests, __ATOMIC_ACQUIRE)) == leak_handled)
      if (ga_os_idle_wait(&leak_requests, leak_handled)) return NULL; /* the program has ended (os.c) */
    leak_handled = now;
    leak_report_to_destination(leak_signal);
  }
  return NULL;
}

static void leak_signal_start(void) {
  int sig = (int)ga_option(GA_OPT_LEAK_SIGNAL);
  if (!sig) return;
  if (sig == ga_gc_stw_signal() || sig == SIGKILL || sig == SIGSTOP) {
    ga_printf(2, "goalloc: GOALLOC_LEAK_SIGNAL=%d cannot be used (the collector's stop signal, "
                 "SIGKILL or SIGSTOP); no leak reports on a signal\n", sig);
    return;
  }
  leak_signal = sig;
  if (!ga_os_signal_handler(sig, leak_signal_handler)) {
    ga_printf(2, "goalloc: cannot install a handler for GOALLOC_LEAK_SIGNAL=%d\n", sig);
    return;
  }
  if (!ga_os_thread_start(leak_reporter_main)) {
    ga_printf(2, "goalloc: cannot start the leak reporter thread; no leak reports on signal %d\n",
              sig);
    return;
  }
  leak_reporter_running = true;
}

/* ---- fork ---- */

/* Lock order: gc_lock first; fin_lock, the stop-the-world registry lock and
 * the user-root lock after the allocator locks (malloc.c calls the _late
 * pair around them), as a collection takes them. */
void ga_gc_fork_prepare(void) { ga_mutex_lock(&gc_lock); }
void ga_gc_fork_prepare_late(void) {
  ga_mutex_lock(&fin_lock);
  ga_gc_stw_fork_lock();
  ga_gc_roots_fork_lock();
}
void ga_gc_fork_parent_early(void) {
  ga_gc_roots_fork_unlock();
  ga_gc_stw_fork_unlock();
  ga_mutex_unlock(&fin_lock);
}
void ga_gc_fork_parent(void) { ga_mutex_unlock(&gc_lock); }
void ga_gc_fork_child(void) {
  ga_mutex_reset(&gc_lock);
  ga_mutex_reset(&stats_lock);
  gc_lock_owner = 0;
  ga_mutex_reset(&fin_lock);
  ga_mutex_reset(&enable_lock);
  ga_gc_roots_fork_child();
  ga_gc_stw_atfork_child(); /* resets the registry lock, keeps our record */
  ga_gc_signals_fork_child();
  ga_gc_conc_fork_child();  /* no worker; arenas untracked */
  ga_mutex_reset(&leak_report_lock);
  /* A cycle the parent had requested from its worker is not coming: the
   * child's trigger must not stay out of reach. */
  kick_pending = 0;
  if (ga_gc_mode) set_trigger();
}

/* After every allocator lock is reset (malloc.c): the child's own leak
 * reporter, the parent's did not come along. */
void ga_gc_fork_child_late(void) {
  if (leak_reporter_running && !ga_os_thread_start(leak_reporter_main))
    leak_reporter_running = false;
  if (periodic_running) {
    /* Not started here but at the child's first allocation slow path (the
     * trigger is made reachable for that): a child that forks only to exec
     * would have its exec'ing thread stopped by a collection, and a stop
     * signal pending across execve kills the new program. */
    periodic_running = 0;
    periodic_child_pending = 1;
    last_cycle_end_ns = ga_os_nanotime();
    __atomic_store_n(&ga_gc_trigger, 0, __ATOMIC_RELAXED);
  }
}
