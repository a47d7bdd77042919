/* gc/dirty.h: which pages were written since a point in time, without
 * compiler write barriers.
 *
 * Mechanism (Linux 6.7+): userfaultfd write-protection in asynchronous mode.
 * A range is registered with UFFDIO_REGISTER_MODE_WP on a userfaultfd
 * opened with UFFD_FEATURE_WP_ASYNC (a write to a protected page is
 * resolved by the kernel itself: it just drops the protection, no message,
 * no signal, no thread) and UFFD_FEATURE_WP_UNPOPULATED (pages never touched
 * count as protected, so their first write is seen too). The PAGEMAP_SCAN
 * ioctl on /proc/self/pagemap then returns the pages whose protection was
 * dropped (category PAGE_IS_WRITTEN) and, with PM_SCAN_WP_MATCHING,
 * protects them again in the same page-table walk, under the page-table
 * lock: a write that races with the scan is either reported now or left
 * for the next collect, never lost. Writes by the kernel on the program's
 * behalf (read() into a protected page) go through the same fault path and
 * are recorded too; mprotect-based schemes miss or crash on those.
 *
 * Fallback (no userfaultfd, no WP_ASYNC, no PAGEMAP_SCAN, or forced):
 * mode GA_GC_DIRTY_ALL, where collect reports every page asked about; the
 * collector then rescans everything in its final stop-the-world pause.
 *
 * Granularity: a page, or a whole 2 MiB huge page when the range is backed
 * by transparent huge pages (the written bit is kept per page-table entry).
 * Callers that want 4 KiB precision madvise(MADV_NOHUGEPAGE) the range.
 *
 * Locking: init is serialised by its own lock; after it, uffd_fd and
 * pagemap_fd are read-only, and the kernel serialises the ioctls, so
 * track/reset/collect may be called from any thread concurrently (e.g. one
 * collect per mark worker over disjoint ranges). Collect calls fn from
 * the calling thread, outside any lock. A range must be tracked before it
 * is reset or collected; collecting an untracked range is answered
 * conservatively ("all dirty") from the first untracked page on.
 *
 * fork: the child's mappings lose their registration (we do not ask for
 * UFFD_FEATURE_EVENT_FORK); call ga_gc_dirty_atfork_child, which closes the
 * parent's descriptors and returns to GA_GC_DIRTY_NONE (collect answers
 * "all dirty") until the child calls init and tracks again. */
#ifndef GA_GC_DIRTY_H
#define GA_GC_DIRTY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
  GA_GC_DIRTY_NONE = 0, /* init not called */
  GA_GC_DIRTY_UFFD = 1, /* precise: userfaultfd WP-async + PAGEMAP_SCAN */
  GA_GC_DIRTY_ALL = 2,  /* fallback: everything is dirty */
} ga_gc_dirty_mode_t;

typedef void (*ga_gc_dirty_fn)(uintptr_t lo, uintptr_t hi, void *arg);

/* Probes the kernel (a real round trip on a scratch page) and opens the
 * descriptors; true if precise tracking works. Idempotent. */
bool ga_gc_dirty_init(void);
ga_gc_dirty_mode_t ga_gc_dirty_mode(void);
/* Drops to the fallback for good (tests, an option, a failed ioctl). */
void ga_gc_dirty_force_fallback(void);
/* Why the probe failed (a static string), or NULL. */
const char *ga_gc_dirty_probe_error(void);

/* Starts tracking [lo, lo+len) (page-aligned, anonymous or any private
 * mapping) and write-protects it. */
bool ga_gc_dirty_track(uintptr_t lo, size_t len);
bool ga_gc_dirty_untrack(uintptr_t lo, size_t len);
/* Starts an epoch: forgets earlier writes in [lo, lo+len). */
bool ga_gc_dirty_reset(uintptr_t lo, size_t len);
/* Ends one: writes to [lo, lo+len) are no longer recorded (nor fault)
 * until the next reset. */
bool ga_gc_dirty_suspend(uintptr_t lo, size_t len);
/* Reads as written from now on, without a fault on the next write; no
 * effect without uffd tracking or on untracked memory. */
void ga_gc_dirty_open(uintptr_t lo, size_t len);
/* Reports the pages of [lo, lo+len) written since the last reset/collect
 * as maximal runs [start, end), and protects them again. Returns the number
 * of pages reported. */
size_t ga_gc_dirty_collect(uintptr_t lo, size_t len, ga_gc_dirty_fn fn, void *arg);
/* The same without protecting them again: the epoch's last look, after
 * which the caller resets or suspends tracking. */
size_t ga_gc_dirty_peek(uintptr_t lo, size_t len, ga_gc_dirty_fn fn, void *arg);

void ga_gc_dirty_atfork_child(void);

#endif
