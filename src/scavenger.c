#include "scavenger.h"

#include <errno.h>
#include <stdbool.h>
#include <time.h>
#include <unistd.h>

#include "heap.h"
#include "options.h"
#include "os.h"
#include "pagealloc.h"
#include "pagecache.h"

uint64_t ga_scavenged_total;
static ga_mutex_t scav_lock = GA_MUTEX_INIT; /* one scavenging pass at a time */
static bool enabled, started;
static int wake_word; /* futex: bumped by kicks */
static int sleeping;

#define STEP_PAGES 8 /* 64 KiB, Go's scavenger step */
#define FLOOR_PAGES (1 << 20 >> GA_PAGE_SHIFT)

static uint64_t cached_pages(void) {
  return __atomic_load_n(&ga_pagecache_pages, __ATOMIC_RELAXED);
}

/* Set by the collector after each cycle (ga_scavenger_set_goals), in
 * pages: the retained heap (in use + free resident) it may keep, 0 for
 * none; by how much of the in-use heap it grows before the next cycle, in
 * percent; and the cap from its memory limit, 0 for none. */
static uint64_t retain_goal_pages, limit_goal_pages, growth_percent;

static uint64_t excess_pages(void) {
  /* Pages in the threads' page caches are allocated for the page allocator
   * but free for the program: they do not raise the allowance. */
  uint64_t inuse = __atomic_load_n(&ga_pages_stats.inuse_pages, __ATOMIC_RELAXED);
  uint64_t cached = cached_pages();
  inuse = inuse > cached ? inuse - cached : 0;
  uint64_t free = __atomic_load_n(&ga_pages_stats.free_pages, __ATOMIC_RELAXED);
  uint64_t allowed = inuse * (uint64_t)ga_option(GA_OPT_SCAVENGE_RETAIN) / 100 + FLOOR_PAGES;
  /* A collected heap grows back to its goal before the next cycle: what
   * the sweep freed is about to be reused, and releasing it would only
   * fault it back in. */
  uint64_t retain = __atomic_load_n(&retain_goal_pages, __ATOMIC_RELAXED);
  if (retain > inuse) {
    /* Only what the heap grows back into: a heap that shrank through
     * free(), not through a cycle, may not grow back at all, and no cycle
     * may come to lower the goal (a program that freed 400 MB after a
     * cycle kept all of it resident; gc_collect_thread_churn). */
    uint64_t room = retain - inuse;
    uint64_t grow = inuse * __atomic_load_n(&growth_percent, __ATOMIC_RELAXED) / 100;
    if (room > grow) room = grow;
    if (room > allowed) allowed = room;
  }
  uint64_t limit = __atomic_load_n(&limit_goal_pages, __ATOMIC_RELAXED);
  if (limit) {
    uint64_t under = limit > inuse ? limit - inuse : 0;
    if (under < allowed) allowed = under;
  }
  return free > allowed ? free - allowed : 0;
}

void ga_scavenger_set_goals(uint64_t retain_bytes, uint64_t growth, uint64_t limit_bytes) {
  __atomic_store_n(&growth_percent, growth, __ATOMIC_RELAXED);
  __atomic_store_n(&retain_goal_pages, retain_bytes >> GA_PAGE_SHIFT, __ATOMIC_RELAXED);
  __atomic_store_n(&limit_goal_pages, limit_bytes ? (limit_bytes >> GA_PAGE_SHIFT) | 1 : 0,
                   __ATOMIC_RELAXED);
  ga_scavenger_kick(); /* a lower goal may leave pages to release */
}

/* What scavenge() gives back to the heap from the threads' page caches
 * first, under scav_lock (so that a trim never runs between a flush and
 * its pages reaching the heap): every span (trim), the spans cached two
 * periods ago (the background scavenger's new period), or none. */
enum { FLUSH_NONE, FLUSH_OLD, FLUSH_ALL };

/* Releases up to maxpages pages (0: a quarter of the excess, at least one
 * step, counted after the flush); returns the bytes released. */
static size_t scavenge(size_t maxpages, size_t step, bool recent, int flush, uint32_t gen) {
  size_t done = 0;
  int saved = errno;
  ga_mutex_lock(&scav_lock);
  if (flush == FLUSH_ALL) ga_pagecache_flush_all();
  if (flush == FLUSH_OLD) ga_pagecache_flush_old(gen);
  if (maxpages == 0) {
    /* Fast enough to follow a program that just freed most of its heap,
     * gentle enough not to release pages that are about to be reused. */
    uint64_t excess = excess_pages();
    maxpages = excess / 4 > STEP_PAGES ? excess / 4 : excess ? STEP_PAGES : 0;
  }
  while (done < maxpages) {
    uintptr_t base;
    size_t n, want = maxpages - done < step ? maxpages - done : step;
    ga_mutex_lock(&ga_heap_lock);
    bool ok = ga_pages_take_unscavenged(&base, &n, want, recent);
    ga_mutex_unlock(&ga_heap_lock);
    if (!ok) break;
    ga_os_unuse((void *)base, n * GA_PAGE_SIZE);
    ga_mutex_lock(&ga_heap_lock);
    ga_pages_put_scavenged(base, n);
    ga_mutex_unlock(&ga_heap_lock);
    done += n;
  }
  __atomic_fetch_add(&ga_scavenged_total, done * GA_PAGE_SIZE, __ATOMIC_RELAXED);
  ga_mutex_unlock(&scav_lock);
  errno = saved;
  return done * GA_PAGE_SIZE;
}

size_t ga_scavenge_all(void) { return scavenge(SIZE_MAX, 512, true, FLUSH_ALL, 0); }

static void *scavenger_main(void *arg) {
  for (;;) {
    if (excess_pages() || cached_pages()) {
      /* A new period. Pages freed in the last period or two are left alone
       * for now (ga_pages_take_unscavenged), and spans cached as long ago
       * go back to the heap: a free followed by a malloc of the same size
       * would otherwise fault the memory back in at once. */
      uint32_t gen = __atomic_add_fetch(&ga_pages_gen, 1, __ATOMIC_RELAXED);
      /* A quarter of the excess per period. */
      scavenge(0, STEP_PAGES, false, cached_pages() ? FLUSH_OLD : FLUSH_NONE, gen);
      ga_os_sleep_ms((unsigned)ga_option(GA_OPT_SCAVENGE_PERIOD));
      continue;
    }
    /* Store sleeping, then read the page counts; a kicker updates the
     * counts, then reads sleeping. Sequentially consistent on both sides,
     * so at least one of the two sees the other (no lost wakeup). */
    int w = __atomic_load_n(&wake_word, __ATOMIC_SEQ_CST);
    __atomic_store_n(&sleeping, 1, __ATOMIC_SEQ_CST);
    /* Idle, and the program's threads have all exited: let the process
     * end (os.c). */
    bool gone = !excess_pages() && !cached_pages() && ga_os_idle_wait(&wake_word, w);
    __atomic_store_n(&sleeping, 0, __ATOMIC_RELAXED);
    if (gone) return arg;
  }
  return arg;
}

void ga_scavenger_enable(void) {
  enabled = ga_option(GA_OPT_SCAVENGE) != 0;
}

static bool want_start;

void ga_scavenger_kick(void) {
  if (!enabled) return;
  bool excess = excess_pages() != 0;
  if (!excess && !cached_pages()) return;
  if (!__atomic_load_n(&started, __ATOMIC_ACQUIRE)) {
    /* Not here: the kick comes from deep inside free and refill paths,
     * and pthread_create calls malloc. ga_scavenger_start_pending, called
     * where the allocator's state is whole, starts the thread. Cached
     * pages alone do not start it (the caches are bounded and emptied on
     * a miss, a new small span, trim and thread exit): starting a thread
     * right after free() allocates, and a small span could then reuse the
     * freed block, hiding a double free of it. */
    if (excess) __atomic_store_n(&want_start, true, __ATOMIC_RELAXED);
    return;
  }
  __atomic_fetch_add(&wake_word, 0, __ATOMIC_SEQ_CST); /* a full barrier TSan understands */
  if (__atomic_load_n(&sleeping, __ATOMIC_SEQ_CST)) {
    __atomic_fetch_add(&wake_word, 1, __ATOMIC_RELEASE);
    ga_os_futex_wake(&wake_word);
  }
}

void ga_scavenger_start_pending(void) {
  if (!__atomic_load_n(&want_start, __ATOMIC_RELAXED) || !enabled) return;
  if (__atomic_exchange_n(&started, true, __ATOMIC_ACQ_REL)) return;
  __atomic_store_n(&want_start, false, __ATOMIC_RELAXED);
  int saved = errno;
  if (!ga_os_thread_start(scavenger_main)) enabled = false;
  errno = saved;
}

void ga_scavenger_lock(void) { ga_mutex_lock(&scav_lock); }
void ga_scavenger_unlock(void) { ga_mutex_unlock(&scav_lock); }
void ga_scavenger_fork_child(void) {
  ga_mutex_reset(&scav_lock);
  started = false;
  sleeping = 0;
  want_start = false; /* the next free that leaves excess pages asks again */
}
