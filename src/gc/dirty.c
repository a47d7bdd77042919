/* gc/dirty.c: see dirty.h. The kernel interface below is defined here
 * because the installed headers (linux-libc-dev 6.1) predate it; values and
 * layouts are those of the Linux 6.7 UAPI:
 *   include/uapi/linux/userfaultfd.h: UFFD_FEATURE_WP_UNPOPULATED (1<<13),
 *     UFFD_FEATURE_WP_ASYNC (1<<15), USERFAULTFD_IOC_NEW (_IO(0xAA, 0)),
 *     UFFD_USER_MODE_ONLY (1);
 *   include/uapi/linux/fs.h: PAGEMAP_SCAN (_IOWR('f', 16, struct
 *     pm_scan_arg)), struct pm_scan_arg, struct page_region, PAGE_IS_*,
 *     PM_SCAN_WP_MATCHING (1<<0), PM_SCAN_CHECK_WPASYNC (1<<1);
 *   documented in Documentation/admin-guide/mm/pagemap.rst ("PAGEMAP_SCAN
 *   IOCTL") and userfaultfd.rst ("Write Protect Notifications").
 * Our own names (GA_*) so that newer headers, which define the originals,
 * do not clash. */
#include "gc/dirty.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "os.h"

#define GA_UFFD_FEATURE_WP_UNPOPULATED (1ULL << 13)
#define GA_UFFD_FEATURE_WP_ASYNC (1ULL << 15)
#define GA_UFFD_USER_MODE_ONLY 1
#define GA_USERFAULTFD_IOC_NEW _IO(0xAA, 0x00)

struct ga_page_region {
  uint64_t start, end, categories;
};

struct ga_pm_scan_arg {
  uint64_t size;
  uint64_t flags;
  uint64_t start;
  uint64_t end;
  uint64_t walk_end; /* written by the kernel: where the walk stopped */
  uint64_t vec;      /* struct ga_page_region * */
  uint64_t vec_len;
  uint64_t max_pages;
  uint64_t category_inverted;
  uint64_t category_mask;
  uint64_t category_anyof_mask;
  uint64_t return_mask;
};

_Static_assert(sizeof(struct ga_pm_scan_arg) == 96, "pm_scan_arg is 12 u64");
_Static_assert(sizeof(struct ga_page_region) == 24, "page_region is 3 u64");

#define GA_PAGEMAP_SCAN _IOWR('f', 16, struct ga_pm_scan_arg)
#define GA_PAGE_IS_WRITTEN (1ULL << 1)
#define GA_PM_SCAN_WP_MATCHING (1ULL << 0)
#define GA_PM_SCAN_CHECK_WPASYNC (1ULL << 1)

#define PAGE 4096UL
#define VEC_LEN 64

static ga_mutex_t init_lock = GA_MUTEX_INIT;
static int uffd = -1, pagemap_fd = -1;
static ga_gc_dirty_mode_t mode;
static const char *probe_error;

ga_gc_dirty_mode_t ga_gc_dirty_mode(void) { return __atomic_load_n(&mode, __ATOMIC_ACQUIRE); }
const char *ga_gc_dirty_probe_error(void) { return probe_error; }

static int open_uffd(void) {
  int flags = O_CLOEXEC | O_NONBLOCK;
  /* User-mode-only first: allowed without privilege even when
   * vm.unprivileged_userfaultfd is 0, and harmless here because async WP
   * faults are resolved in the kernel whoever takes them. */
  int fd = (int)syscall(SYS_userfaultfd, flags | GA_UFFD_USER_MODE_ONLY);
  if (fd < 0) fd = (int)syscall(SYS_userfaultfd, flags);
  if (fd < 0) {
    int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
    if (dev >= 0) {
      fd = ioctl(dev, GA_USERFAULTFD_IOC_NEW, flags);
      close(dev);
    }
  }
  return fd;
}

static bool uffd_wp(uintptr_t lo, size_t len, bool protect) {
  struct uffdio_writeprotect wp;
  memset(&wp, 0, sizeof wp);
  wp.range.start = lo;
  wp.range.len = len;
  wp.mode = protect ? UFFDIO_WRITEPROTECT_MODE_WP : 0;
  return ioctl(uffd, UFFDIO_WRITEPROTECT, &wp) == 0;
}

static bool uffd_register(uintptr_t lo, size_t len) {
  struct uffdio_register reg;
  memset(&reg, 0, sizeof reg);
  reg.range.start = lo;
  reg.range.len = len;
  reg.mode = UFFDIO_REGISTER_MODE_WP;
  if (ioctl(uffd, UFFDIO_REGISTER, &reg) != 0) return false;
  return (reg.ioctls >> _UFFDIO_WRITEPROTECT) & 1;
}

static bool uffd_unregister(uintptr_t lo, size_t len) {
  struct uffdio_range r = {.start = lo, .len = len};
  return ioctl(uffd, UFFDIO_UNREGISTER, &r) == 0;
}

/* PAGEMAP_SCAN over [lo, hi): calls fn per written run and adds its pages
 * to *pages; false, with *stopped where the kernel gave up, on error. */
static bool scan(uintptr_t lo, uintptr_t hi, ga_gc_dirty_fn fn, void *arg, size_t *pages,
                 uintptr_t *stopped, bool rearm) {
  struct ga_page_region vec[VEC_LEN];
  struct ga_pm_scan_arg a;
  while (lo < hi) {
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    /* Re-protecting costs a page-table update and a TLB flush on every
     * CPU per written run; a last look (peek) only reads. */
    a.flags = rearm ? GA_PM_SCAN_WP_MATCHING | GA_PM_SCAN_CHECK_WPASYNC : GA_PM_SCAN_CHECK_WPASYNC;
    a.start = lo;
    a.end = hi;
    a.vec = (uint64_t)(uintptr_t)vec;
    a.vec_len = VEC_LEN;
    a.category_mask = GA_PAGE_IS_WRITTEN;
    a.return_mask = GA_PAGE_IS_WRITTEN;
    int n = ioctl(pagemap_fd, GA_PAGEMAP_SCAN, &a);
    if (n < 0) {
      *stopped = lo;
      return false;
    }
    for (int i = 0; i < n; i++) {
      *pages += (size_t)((vec[i].end - vec[i].start) / PAGE);
      if (fn) fn(vec[i].start, vec[i].end, arg);
    }
    /* The walk stops early when vec is full; carry on from there. */
    if (a.walk_end <= lo) break; /* no progress: should not happen */
    lo = a.walk_end;
  }
  return true;
}

/* The probe's count of written pages in [lo, hi), or -1 on error. */
static long probe_scan(uintptr_t lo, uintptr_t hi) {
  size_t pages = 0;
  uintptr_t stopped;
  return scan(lo, hi, NULL, NULL, &pages, &stopped, true) ? (long)pages : -1;
}

static const char *probe(void) {
  uffd = open_uffd();
  if (uffd < 0) return "userfaultfd unavailable";
  struct uffdio_api api;
  memset(&api, 0, sizeof api);
  api.api = UFFD_API;
  api.features = GA_UFFD_FEATURE_WP_ASYNC | GA_UFFD_FEATURE_WP_UNPOPULATED;
  if (ioctl(uffd, UFFDIO_API, &api) != 0) return "no UFFD_FEATURE_WP_ASYNC/WP_UNPOPULATED";
  pagemap_fd = ga_os_open_proc("pagemap");
  if (pagemap_fd < 0) return "cannot open /proc/thread-self/pagemap";
  /* A real round trip: pages 0 (populated before protection) and 2
   * (never touched) are written, page 1 is only read. */
  size_t len = 4 * PAGE;
  char *p = ga_os_reserve(len, PAGE);
  if (!p) return "no memory for the probe";
  const char *err = NULL;
  p[0] = 1;
  if (!uffd_register((uintptr_t)p, len) || !uffd_wp((uintptr_t)p, len, true)) {
    err = "UFFDIO_REGISTER/WRITEPROTECT (WP) failed";
    goto done;
  }
  if (probe_scan((uintptr_t)p, (uintptr_t)p + len) != 0) {
    err = "PAGEMAP_SCAN failed or reported unwritten pages";
    goto done;
  }
  __atomic_store_n(&p[0], 2, __ATOMIC_RELAXED);
  (void)__atomic_load_n(&p[PAGE], __ATOMIC_RELAXED);
  __atomic_store_n(&p[2 * PAGE], 3, __ATOMIC_RELAXED);
  if (probe_scan((uintptr_t)p, (uintptr_t)p + len) != 2)
    err = "PAGEMAP_SCAN did not report exactly the written pages";
  else if (probe_scan((uintptr_t)p, (uintptr_t)p + len) != 0)
    err = "PAGEMAP_SCAN did not re-protect the written pages";
done:
  ga_os_release(p, len); /* unmapping unregisters */
  return err;
}

bool ga_gc_dirty_init(void) {
  ga_mutex_lock(&init_lock);
  if (mode == GA_GC_DIRTY_NONE) {
    probe_error = probe();
    if (probe_error) {
      if (uffd >= 0) close(uffd);
      if (pagemap_fd >= 0) close(pagemap_fd);
      uffd = pagemap_fd = -1;
    }
    __atomic_store_n(&mode, probe_error ? GA_GC_DIRTY_ALL : GA_GC_DIRTY_UFFD, __ATOMIC_RELEASE);
  }
  ga_mutex_unlock(&init_lock);
  return mode == GA_GC_DIRTY_UFFD;
}

void ga_gc_dirty_force_fallback(void) {
  /* The descriptors stay open: ranges already registered stay registered
   * (harmless: async WP costs one minor fault per page per epoch). */
  __atomic_store_n(&mode, GA_GC_DIRTY_ALL, __ATOMIC_RELEASE);
}

bool ga_gc_dirty_track(uintptr_t lo, size_t len) {
  if (ga_gc_dirty_mode() != GA_GC_DIRTY_UFFD) return true;
  len = (len + PAGE - 1) & ~(PAGE - 1);
  return uffd_register(lo, len) && uffd_wp(lo, len, true);
}

bool ga_gc_dirty_untrack(uintptr_t lo, size_t len) {
  if (ga_gc_dirty_mode() != GA_GC_DIRTY_UFFD) return true;
  len = (len + PAGE - 1) & ~(PAGE - 1);
  return uffd_unregister(lo, len);
}

bool ga_gc_dirty_reset(uintptr_t lo, size_t len) {
  if (ga_gc_dirty_mode() != GA_GC_DIRTY_UFFD) return true;
  len = (len + PAGE - 1) & ~(PAGE - 1);
  return uffd_wp(lo, len, true);
}

bool ga_gc_dirty_suspend(uintptr_t lo, size_t len) {
  if (ga_gc_dirty_mode() != GA_GC_DIRTY_UFFD) return true;
  len = (len + PAGE - 1) & ~(PAGE - 1);
  return uffd_wp(lo, len, false);
}

void ga_gc_dirty_open(uintptr_t lo, size_t len) {
  if (ga_gc_dirty_mode() != GA_GC_DIRTY_UFFD) return;
  len = (len + PAGE - 1) & ~(PAGE - 1);
  int saved = errno;
  (void)uffd_wp(lo, len, false);
  errno = saved;
}

static size_t collect(uintptr_t lo, size_t len, ga_gc_dirty_fn fn, void *arg, bool rearm) {
  uintptr_t hi = (lo + len + PAGE - 1) & ~(PAGE - 1);
  lo &= ~(PAGE - 1);
  if (lo >= hi) return 0;
  if (ga_gc_dirty_mode() == GA_GC_DIRTY_UFFD) {
    uintptr_t stopped;
    size_t pages = 0;
    if (scan(lo, hi, fn, arg, &pages, &stopped, rearm)) return pages;
    /* An untracked page, or the ioctl failed: the rest is "all dirty". */
    if (fn) fn(stopped, hi, arg);
    return pages + (size_t)((hi - stopped) / PAGE);
  }
  if (fn) fn(lo, hi, arg);
  return (hi - lo) / PAGE;
}

size_t ga_gc_dirty_collect(uintptr_t lo, size_t len, ga_gc_dirty_fn fn, void *arg) {
  return collect(lo, len, fn, arg, true);
}

size_t ga_gc_dirty_peek(uintptr_t lo, size_t len, ga_gc_dirty_fn fn, void *arg) {
  return collect(lo, len, fn, arg, false);
}

void ga_gc_dirty_atfork_child(void) {
  ga_mutex_reset(&init_lock);
  if (uffd >= 0) close(uffd);
  if (pagemap_fd >= 0) close(pagemap_fd);
  uffd = pagemap_fd = -1;
  __atomic_store_n(&mode, GA_GC_DIRTY_NONE, __ATOMIC_RELEASE);
}
