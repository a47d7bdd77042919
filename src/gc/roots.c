/* gc/roots.c: see roots.h for the root kinds and the locking.
 *
 * The user-root table is a sorted array of disjoint ranges in memory
 * reserved from the OS on first use (never libc's malloc: the collector
 * runs inside malloc). Sorted and disjoint so that add and remove are the
 * set operations a user expects (adding a range twice does not make it
 * scanned twice; removing a sub-range splits), and so that a scan visits
 * each word once. */
#include "gc/roots.h"

#include <elf.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "gc/maps.h"
#include "gc/stw.h"
#include "os.h"

typedef struct {
  uintptr_t lo, hi;
} range_t;

#define USER_MAX 65536
#define EXCL_MAX 64
/* Slack around the static TLS blocks: glibc's static TLS surplus (room for
 * dlopen'ed initial-exec modules) lies below the lowest block, and struct
 * pthread (about 2.3 KiB in glibc 2.36) above the thread pointer. */
#define TLS_SLACK 4096

static ga_mutex_t roots_lock = GA_MUTEX_INIT;
static range_t *user;
static size_t nuser;
static range_t excl[EXCL_MAX];
static size_t nexcl;

/* Any static of this library: the object whose segments contain it is
 * goalloc itself. */
static char self_marker;

extern char __start_ga_gc_noscan[] __attribute__((weak, visibility("hidden")));
extern char __stop_ga_gc_noscan[] __attribute__((weak, visibility("hidden")));
extern void *__libc_stack_end;

/* Blocks every signal around the tables' critical sections (see roots.h). */
static void lock_roots(sigset_t *old) {
  ga_os_block_signals(old);
  ga_mutex_lock(&roots_lock);
}

static void unlock_roots(const sigset_t *old) {
  ga_mutex_unlock(&roots_lock);
  ga_os_sigmask(SIG_SETMASK, old, NULL);
}

/* fork: the user-root table's lock around fork, signals blocked in the
 * forking thread meanwhile (restored by unlock, or in the child by reset). */
static sigset_t fork_old;
void ga_gc_roots_fork_lock(void) { lock_roots(&fork_old); }
void ga_gc_roots_fork_unlock(void) { unlock_roots(&fork_old); }
void ga_gc_roots_fork_child(void) {
  ga_mutex_reset(&roots_lock);
  ga_os_sigmask(SIG_SETMASK, &fork_old, NULL);
}

static void emit(uintptr_t lo, uintptr_t hi, ga_gc_range_fn fn, void *arg) {
  lo = (lo + 7) & ~(uintptr_t)7;
  hi &= ~(uintptr_t)7;
  if (lo < hi) fn(lo, hi, arg);
}

/* Reports [lo, hi) minus the sorted, possibly overlapping ranges ex[]. */
static void emit_minus(uintptr_t lo, uintptr_t hi, const range_t *ex, size_t nex,
                       ga_gc_range_fn fn, void *arg) {
  for (size_t i = 0; i < nex && lo < hi; i++) {
    if (ex[i].hi <= lo) continue;
    if (ex[i].lo >= hi) break;
    if (ex[i].lo > lo) emit(lo, ex[i].lo, fn, arg);
    if (ex[i].hi > lo) lo = ex[i].hi;
  }
  if (lo < hi) emit(lo, hi, fn, arg);
}

static void sort_ranges(range_t *r, size_t n) {
  for (size_t i = 1; i < n; i++) {
    range_t x = r[i];
    size_t j = i;
    for (; j > 0 && r[j - 1].lo > x.lo; j--) r[j] = r[j - 1];
    r[j] = x;
  }
}

/* ---- DATA ---- */

struct data_ctx {
  ga_gc_range_fn fn;
  void *arg;
  unsigned index;
  range_t ex[EXCL_MAX + 2]; /* exclusions + noscan section + one RELRO */
  size_t nex;               /* without the RELRO slot */
};

/* A writable PT_LOAD segment of info, as [lo, hi) up to the end of its
 * last page: ld.so's startup allocator hands out the rest of its last data
 * page (the main link_map lives there, and after dlopen(RTLD_GLOBAL) it
 * holds the only pointer to a malloc'ed scope list), and the collect
 * modes' anonymous-memory scan leaves data segments to the DATA roots. */
static bool writable_segment(const struct dl_phdr_info *info, int i, uintptr_t *lo, uintptr_t *hi) {
  const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
  if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W) || ph->p_memsz == 0) return false;
  *lo = info->dlpi_addr + ph->p_vaddr;
  *hi = (*lo + ph->p_memsz + 4095) & ~(uintptr_t)4095;
  return true;
}

static int data_cb(struct dl_phdr_info *info, size_t size, void *p) {
  struct data_ctx *c = p;
  bool is_main = c->index++ == 0;
  uintptr_t self = (uintptr_t)&self_marker;
  range_t relro = {0, 0};
  bool is_self = false;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
    if (ph->p_type == PT_GNU_RELRO) relro = (range_t){lo, lo + ph->p_memsz};
    if (ph->p_type == PT_LOAD && self >= lo && self < lo + ph->p_memsz) is_self = true;
  }
  /* goalloc as a shared library: none of its data is a root. Linked into
   * the program, goalloc's globals are mixed with the program's; only the
   * noscan section and explicit exclusions are cut out then. */
  if (is_self && !is_main) return 0;
  range_t ex[EXCL_MAX + 2];
  size_t nex = c->nex;
  memcpy(ex, c->ex, nex * sizeof *ex);
  if (relro.lo < relro.hi) {
    ex[nex++] = relro;
    sort_ranges(ex, nex);
  }
  uintptr_t lo, hi;
  for (int i = 0; i < info->dlpi_phnum; i++)
    if (writable_segment(info, i, &lo, &hi)) emit_minus(lo, hi, ex, nex, c->fn, c->arg);
  return 0;
}

static void for_each_data(ga_gc_range_fn fn, void *arg) {
  struct data_ctx c = {.fn = fn, .arg = arg};
  sigset_t old;
  lock_roots(&old);
  memcpy(c.ex, excl, nexcl * sizeof *excl);
  c.nex = nexcl;
  unlock_roots(&old);
  uintptr_t ns_lo = (uintptr_t)__start_ga_gc_noscan, ns_hi = (uintptr_t)__stop_ga_gc_noscan;
  if (ns_lo && ns_hi > ns_lo) c.ex[c.nex++] = (range_t){ns_lo, ns_hi};
  sort_ranges(c.ex, c.nex);
  dl_iterate_phdr(data_cb, &c);
}

struct seg_ctx {
  void (*fn)(uintptr_t lo, uintptr_t hi, void *arg);
  void *arg;
};

static int seg_cb(struct dl_phdr_info *info, size_t size, void *p) {
  (void)size;
  struct seg_ctx *c = p;
  uintptr_t lo, hi;
  for (int i = 0; i < info->dlpi_phnum; i++)
    if (writable_segment(info, i, &lo, &hi)) c->fn(lo & ~(uintptr_t)4095, hi, c->arg);
  return 0;
}

void ga_gc_roots_for_each_data_segment(void (*fn)(uintptr_t lo, uintptr_t hi, void *arg), void *arg) {
  struct seg_ctx c = {fn, arg};
  dl_iterate_phdr(seg_cb, &c);
}

/* ---- MAIN_STACK ---- */

bool ga_gc_roots_main_stack(uintptr_t *lo, uintptr_t *hi) {
  uintptr_t end = (uintptr_t)__libc_stack_end;
  if (end && ga_gc_maps_find(end, lo, hi)) return true;
  if (ga_gc_maps_find_named("[stack]", lo, hi)) return true;
  return false;
}

static GA_NOINLINE void for_each_main_stack(ga_gc_range_fn fn, void *arg) {
  if (ga_gc_stw_main_registered()) return;
  uintptr_t lo, hi;
  if (!ga_gc_roots_main_stack(&lo, &hi)) return;
  if (syscall(SYS_gettid) == getpid()) {
    /* The caller is the main thread: its callee-saved registers are spilled
     * into this frame, and nothing below the current frame is live. */
    __builtin_unwind_init();
    uintptr_t sp;
    __asm__ volatile("mov %%rsp, %0" : "=r"(sp));
    if (sp > lo && sp < hi) lo = sp;
  }
  emit(lo, hi, fn, arg);
}

/* ---- static TLS ---- */

struct tls_ctx {
  uintptr_t tp, mlo, lowest;
};

static int tls_cb(struct dl_phdr_info *info, size_t size, void *p) {
  struct tls_ctx *c = p;
  uintptr_t data = (uintptr_t)info->dlpi_tls_data;
  /* Blocks outside the TCB's mapping are dynamic TLS (malloc'ed by
   * __tls_get_addr, reachable from the DTV, which the TCB points to). */
  if (data && data >= c->mlo && data < c->tp && data < c->lowest) c->lowest = data;
  return 0;
}

bool ga_gc_roots_static_tls(uintptr_t *lo, uintptr_t *hi) {
  struct tls_ctx c = {.tp = ga_gc_thread_pointer()};
  uintptr_t mhi;
  if (!ga_gc_maps_find(c.tp, &c.mlo, &mhi)) return false;
  c.lowest = c.tp;
  dl_iterate_phdr(tls_cb, &c);
  *lo = c.lowest - c.mlo > TLS_SLACK ? (c.lowest - TLS_SLACK) & ~(uintptr_t)63 : c.mlo;
  *hi = mhi - c.tp > TLS_SLACK ? c.tp + TLS_SLACK : mhi;
  return true;
}

/* ---- USER ---- */

static bool ensure_table(void) {
  if (user) return true;
  user = ga_os_reserve(USER_MAX * sizeof(range_t), 4096);
  return user != NULL;
}

bool ga_gc_roots_add(uintptr_t lo, uintptr_t hi) {
  if (lo >= hi) return true;
  sigset_t old;
  bool ok = true;
  lock_roots(&old);
  if (!ensure_table()) {
    ok = false;
    goto out;
  }
  /* first: the first range that ends at or after lo (may merge);
   * last: one past the last range that starts at or before hi. */
  size_t first = 0, last;
  while (first < nuser && user[first].hi < lo) first++;
  last = first;
  while (last < nuser && user[last].lo <= hi) last++;
  if (first == last) {
    if (nuser == USER_MAX) {
      ok = false;
      goto out;
    }
    memmove(&user[first + 1], &user[first], (nuser - first) * sizeof *user);
    user[first] = (range_t){lo, hi};
    nuser++;
  } else {
    range_t m = {lo < user[first].lo ? lo : user[first].lo,
                 hi > user[last - 1].hi ? hi : user[last - 1].hi};
    user[first] = m;
    memmove(&user[first + 1], &user[last], (nuser - last) * sizeof *user);
    nuser -= last - first - 1;
  }
out:
  unlock_roots(&old);
  return ok;
}

bool ga_gc_roots_remove(uintptr_t lo, uintptr_t hi) {
  if (lo >= hi) return true;
  sigset_t old;
  bool ok = true;
  lock_roots(&old);
  for (size_t i = 0; i < nuser; i++) {
    range_t r = user[i];
    if (r.hi <= lo || r.lo >= hi) continue;
    if (r.lo < lo && r.hi > hi) { /* split */
      if (nuser == USER_MAX) {
        ok = false;
        break;
      }
      memmove(&user[i + 2], &user[i + 1], (nuser - i - 1) * sizeof *user);
      user[i] = (range_t){r.lo, lo};
      user[i + 1] = (range_t){hi, r.hi};
      nuser++;
      break;
    }
    if (r.lo < lo) {
      user[i].hi = lo;
    } else if (r.hi > hi) {
      user[i].lo = hi;
    } else {
      memmove(&user[i], &user[i + 1], (nuser - i - 1) * sizeof *user);
      nuser--;
      i--;
    }
  }
  unlock_roots(&old);
  return ok;
}

void ga_gc_roots_clear(void) {
  sigset_t old;
  lock_roots(&old);
  nuser = 0;
  nexcl = 0;
  unlock_roots(&old);
}

static void for_each_user(ga_gc_range_fn fn, void *arg) {
  sigset_t old;
  lock_roots(&old);
  for (size_t i = 0; i < nuser; i++) emit(user[i].lo, user[i].hi, fn, arg);
  unlock_roots(&old);
}

/* ---- exclusions ---- */

bool ga_gc_roots_exclude(uintptr_t lo, uintptr_t hi) {
  sigset_t old;
  bool ok = false;
  lock_roots(&old);
  if (nexcl < EXCL_MAX && lo < hi) {
    excl[nexcl++] = (range_t){lo, hi};
    ok = true;
  }
  unlock_roots(&old);
  return ok;
}

bool ga_gc_roots_unexclude(uintptr_t lo, uintptr_t hi) {
  sigset_t old;
  bool ok = false;
  lock_roots(&old);
  for (size_t i = 0; i < nexcl; i++) {
    if (excl[i].lo == lo && excl[i].hi == hi) {
      excl[i] = excl[--nexcl];
      ok = true;
      break;
    }
  }
  unlock_roots(&old);
  return ok;
}

/* ---- entry points ---- */

#define COPY_CHUNK ((size_t)64 * 1024)
static char *copy_buf; /* the collecting thread's; OS memory, never a root */

/* Can this process read itself with process_vm_readv? A sandbox may
 * refuse the call (seccomp: EPERM; ENOSYS without CONFIG_CROSS_MEMORY_ATTACH),
 * at any time (a program may install its filter after the first cycle).
 * Then, from that call on, roots that must be seen are read in place (a
 * range unmapped meanwhile faults, as before the copy) and optional ones
 * are skipped. A filter that kills instead (SECCOMP_RET_KILL) ends the
 * process at the first pause: not detectable beforehand (docs/GC.md). */
static bool copy_refused;

void ga_gc_roots_scan_copied(uintptr_t lo, uintptr_t hi, bool required, ga_gc_range_fn fn,
                             void *arg) {
  lo = (lo + 7) & ~(uintptr_t)7;
  hi &= ~(uintptr_t)7;
  uintptr_t p = lo;
  if (!copy_refused && (copy_buf || (copy_buf = ga_os_reserve(COPY_CHUNK, 4096)))) {
    while (p < hi) {
      size_t n = hi - p < COPY_CHUNK ? hi - p : COPY_CHUNK;
      long got = ga_os_read_own(copy_buf, p, n);
      if (got < 0) {
        copy_refused = true;
        break;
      }
      size_t g = (size_t)got & ~(size_t)7;
      if (g) fn((uintptr_t)copy_buf, (uintptr_t)copy_buf + g, arg);
      if (g == n) {
        p += n;
      } else {
        /* Gone from p + g: go on at the next page. */
        p = ((p + g) & ~(uintptr_t)4095) + 4096;
      }
    }
  }
  if (p < hi && required) fn(p, hi, arg);
}

void ga_gc_roots_for_each_kind(unsigned kinds, ga_gc_range_fn fn, void *arg) {
  if (kinds & GA_GC_ROOTS_DATA) for_each_data(fn, arg);
  if (kinds & GA_GC_ROOTS_USER) for_each_user(fn, arg);
  if (kinds & GA_GC_ROOTS_TLS) ga_gc_stw_for_each_tls(fn, arg);
  if (kinds & GA_GC_ROOTS_MAIN_STACK) for_each_main_stack(fn, arg);
}

void ga_gc_roots_for_each(ga_gc_range_fn fn, void *arg) {
  ga_gc_roots_for_each_kind(GA_GC_ROOTS_ALL, fn, arg);
}

struct locked_ctx {
  void (*fn)(void *);
  void *arg;
};

static int locked_cb(struct dl_phdr_info *info, size_t size, void *p) {
  struct locked_ctx *c = p;
  c->fn(c->arg);
  return 1; /* stop after the first object: fn ran once */
}

void ga_gc_roots_with_loader_locked(void (*fn)(void *), void *arg) {
  struct locked_ctx c = {fn, arg};
  dl_iterate_phdr(locked_cb, &c);
}
