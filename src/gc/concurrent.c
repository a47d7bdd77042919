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
 * Mutators mark in assists, bracketed by their record's gc_inop
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
uint64_t ga_gc_assist_above = UINT64_MAX;
uint64_t ga_gc_assist_expected_scan;
uint64_t ga_gc_assist_bytes;

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
static size_t collect_scanned_chunks(const range_t *r, ga_gc_work_t *w) {
  ga_arena_t *a = r->a;
  if (a->huge || r->hi - r->lo > GA_ARENA_SIZE)
    return ga_gc_dirty_collect(r->lo, r->hi - r->lo, ga_gc_mark_rescan, w);
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
      pages += ga_gc_dirty_collect(run, end - run, ga_gc_mark_rescan, w);
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

bool ga_gc_conc_begin(void) {
  /* In a fork child the descriptors are new (gc/dirty re-probes): without
   * precise tracking the cycle must not be concurrent. */
  if (!ga_gc_dirty_init()) return false;
  ga_heap_defer_unmap(true);
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
  if (!snapshot(true)) return 0;
  for (size_t i = 0; i < nranges; i++) {
    range_t *r = &ranges[i];
    if (r->a->gc_tracked) {
      pages += collect_scanned_chunks(r, w);
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

void ga_gc_conc_rescan_final(void) {
  if (!snapshot(false)) return;
  for (size_t i = 0; i < nranges; i++) {
    range_t *r = &ranges[i];
    if (r->a->gc_tracked) collect_scanned_chunks(r, NULL);
    else ga_gc_mark_rescan(r->lo, r->hi, NULL);
  }
}

void ga_gc_conc_end(void) { ga_heap_defer_unmap(false); }

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

#define ASSIST_MIN ((int64_t)64 * 1024)
#define ASSIST_MAX 16

void ga_gc_conc_after_alloc(size_t size) {
  ga_gc_thread_t *self = ga_gc_stw_self();
  if (!self) return;
  /* The debt is the thread's own: counted without the handshake, which
   * (a full barrier) is paid once per ASSIST_MIN bytes. */
  self->gc_debt += (int64_t)size;
  if (self->gc_debt < ASSIST_MIN) return;
  /* Nested (a signal handler that allocates during an assist): the outer
   * call's gc_inop must not be cleared under it. */
  if (__atomic_load_n(&self->gc_inop, __ATOMIC_RELAXED)) return;
  __atomic_exchange_n(&self->gc_inop, 1, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&ga_gc_phase, __ATOMIC_SEQ_CST) == GA_GC_MARK) {
    /* The program pays for its allocation with mark work, so that the
     * heap reaches the goal when marking ends (Go's assist ratio: the scan
     * work left over the heap left before the goal; the work is estimated
     * from the last cycle's marked bytes), at least one byte scanned per
     * byte allocated, at most ASSIST_MAX. */
    uint64_t inuse = __atomic_load_n(&ga_heap_inuse_bytes, __ATOMIC_RELAXED);
    uint64_t goal = __atomic_load_n(&ga_gc_assist_above, __ATOMIC_RELAXED);
    uint64_t expect = __atomic_load_n(&ga_gc_assist_expected_scan, __ATOMIC_RELAXED);
    uint64_t done = __atomic_load_n(&ga_gc_mark_stats.scanned_bytes, __ATOMIC_RELAXED);
    uint64_t left = expect > done ? expect - done : 0;
    uint64_t runway = goal > inuse ? goal - inuse : 0;
    int64_t ratio = runway < ((uint64_t)1 << 20) ? ASSIST_MAX : (int64_t)(left / runway) + 1;
    if (ratio > ASSIST_MAX) ratio = ASSIST_MAX;
    ga_gc_work_t w;
    w.n = 0;
    w.marked_bytes = w.marked_objects = w.scanned_bytes = 0;
    int64_t done_now = ga_gc_mark_drain_some(&w, ratio * self->gc_debt);
    __atomic_fetch_add(&ga_gc_assist_bytes, (uint64_t)done_now, __ATOMIC_RELAXED);
  }
  self->gc_debt = 0;
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
