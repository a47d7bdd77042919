/* os.c: Linux system calls for goalloc; see os.h for the contract. */
#include "os.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void *map_at(void *hint, size_t size, int extra) {
  void *p = mmap(hint, size, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | extra, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

/* The kernel's call, not libc's pthread_sigmask: goalloc interposes that
 * one (preload/override_pthread.c) to keep the collector's signal open in
 * the program's threads, and must not be subject to it itself. */
int ga_os_sigmask(int how, const sigset_t *set, sigset_t *old) {
  return (int)syscall(SYS_rt_sigprocmask, how, set, old, _NSIG / 8);
}

/* libc's sigaction under its other exported name: goalloc interposes
 * sigaction (preload/override_signal.c) to wrap the program's handlers,
 * and installs its own handlers unwrapped. */
extern int __sigaction(int sig, const struct sigaction *act, struct sigaction *old);
int ga_os_sigaction(int sig, const struct sigaction *act, struct sigaction *old) {
  return __sigaction(sig, act, old);
}

/* ---- the registry of goalloc's own mappings ----
 * A sorted array of disjoint ranges in a mapping of its own (which it
 * lists too). The collector scans the program's anonymous memory in the
 * collect and leak modes and must skip the heap and the metadata. The lock
 * is held with every signal blocked, so a stop-the-world can never freeze
 * a thread inside it while the collector reads the table. */
#define REG_MAX (1u << 20)
static ga_os_range_t *reg;
static size_t nreg;
static ga_spinlock_t reg_lock;

void ga_os_block_signals(sigset_t *old) {
  sigset_t all;
  sigfillset(&all);
  ga_os_sigmask(SIG_SETMASK, &all, old);
}

static void reg_lock_acquire(sigset_t *old) {
  ga_os_block_signals(old);
  ga_spin_lock(&reg_lock);
}
static void reg_lock_release(const sigset_t *old) {
  ga_spin_unlock(&reg_lock);
  ga_os_sigmask(SIG_SETMASK, old, NULL);
}

static size_t reg_search(uintptr_t addr) { /* first range with hi > addr */
  size_t lo = 0, hi = nreg;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (reg[mid].hi <= addr) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

static void reg_add_locked(uintptr_t lo, uintptr_t hi) {
  if (nreg >= REG_MAX) return; /* the collector then scans some metadata: safe */
  size_t i = reg_search(lo);
  memmove(&reg[i + 1], &reg[i], (nreg - i) * sizeof *reg);
  reg[i].lo = lo;
  reg[i].hi = hi;
  nreg++;
}

static void reg_add(void *p, size_t size) {
  if (!p) return;
  sigset_t old;
  reg_lock_acquire(&old);
  if (!reg) {
    void *m = mmap(NULL, REG_MAX * sizeof *reg, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m != MAP_FAILED) {
      reg = m;
      reg_add_locked((uintptr_t)m, (uintptr_t)m + REG_MAX * sizeof *reg);
    }
  }
  if (reg) reg_add_locked((uintptr_t)p, (uintptr_t)p + size);
  reg_lock_release(&old);
}

static void reg_remove(uintptr_t lo, uintptr_t hi) {
  sigset_t old;
  reg_lock_acquire(&old);
  for (size_t i = reg ? reg_search(lo) : 0; i < nreg && reg[i].lo < hi;) {
    ga_os_range_t r = reg[i];
    if (r.lo < lo && r.hi > hi) { /* split */
      reg[i].hi = lo;
      reg_add_locked(hi, r.hi);
      break;
    }
    if (r.lo < lo) {
      reg[i++].hi = lo;
    } else if (r.hi > hi) {
      reg[i].lo = hi;
      break;
    } else {
      memmove(&reg[i], &reg[i + 1], (nreg - i - 1) * sizeof *reg);
      nreg--;
    }
  }
  reg_lock_release(&old);
}

/* fork: the registry lock is a leaf, taken last. Signals stay blocked in
 * the forking thread between lock and unlock (restored by unlock). */
static sigset_t fork_old;
void ga_os_registry_lock(void) { reg_lock_acquire(&fork_old); }
void ga_os_registry_unlock(void) { reg_lock_release(&fork_old); }
void ga_os_registry_reset(void) {
  reg_lock.locked = 0;
  ga_os_sigmask(SIG_SETMASK, &fork_old, NULL);
}

void ga_os_for_each_reservation(void (*fn)(const ga_os_range_t *r, size_t n, void *arg), void *arg) {
  sigset_t old;
  reg_lock_acquire(&old);
  fn(reg, nreg, arg);
  reg_lock_release(&old);
}

static void *reserve_at(void *hint, size_t size) {
  /* MAP_FIXED_NOREPLACE: take exactly this range or nothing (Linux 4.17+). */
  void *p = map_at(hint, size, MAP_FIXED_NOREPLACE);
  if (p && p != hint) {
    munmap(p, size); /* an old kernel that took the flag as a mere hint */
    p = NULL;
  }
  return p;
}

void *ga_os_reserve_at(void *hint, size_t size) {
  void *p = reserve_at(hint, size);
  reg_add(p, size);
  return p;
}

static void *reserve(size_t size, size_t align);

void *ga_os_reserve(size_t size, size_t align) {
  void *p = reserve(size, align);
  reg_add(p, size);
  return p;
}

static void *reserve(size_t size, size_t align) {
  /* MAP_NORESERVE: nothing is committed until touched. The kernel gives no
   * aligned mmap: try the plain size (often aligned already, next to the
   * last mapping), then the aligned address below it, and only then
   * over-reserve by align and trim, which needs twice the address space
   * (it matters under RLIMIT_AS). */
  char *p = map_at(NULL, size, 0);
  if (p && ((uintptr_t)p & (align - 1)) == 0) return p;
  if (p) {
    munmap(p, size);
    uintptr_t down = (uintptr_t)p & ~(uintptr_t)(align - 1);
    void *q = down ? reserve_at((void *)down, size) : NULL;
    if (!q) q = reserve_at((void *)(down + align), size);
    if (q) return q;
  }
  size_t len = size + align;
  p = map_at(NULL, len, 0);
  if (!p) {
    errno = ENOMEM;
    return NULL;
  }
  uintptr_t start = ((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1);
  if (start > (uintptr_t)p) munmap(p, start - (uintptr_t)p);
  uintptr_t end = start + size;
  if ((uintptr_t)p + len > end) munmap((void *)end, (uintptr_t)p + len - end);
  return (void *)start;
}

void ga_os_release(void *p, size_t size) {
  munmap(p, size);
  reg_remove((uintptr_t)p, (uintptr_t)p + size);
}

void ga_os_unuse(void *p, size_t size) {
  /* MADV_DONTNEED, not MADV_FREE: the RSS drops at once, which is what
   * users measure (Go made the same choice, golang/go#42330). */
  madvise(p, size, MADV_DONTNEED);
}

#define GA_MADV_POPULATE_WRITE 23 /* Linux 5.14; older headers lack it */
static int populate_broken;

void ga_os_populate(void *p, size_t size) {
  if (__atomic_load_n(&populate_broken, __ATOMIC_RELAXED)) return;
  int saved = errno;
  /* EINVAL: an older kernel; EPERM, ENOSYS: a seccomp filter. Either way
   * no span should pay a failing call again. */
  if (madvise(p, size, GA_MADV_POPULATE_WRITE) != 0 && (errno == EINVAL || errno == EPERM || errno == ENOSYS))
    __atomic_store_n(&populate_broken, 1, __ATOMIC_RELAXED);
  errno = saved;
}

int ga_os_open_proc(const char *name) {
  char path[64];
  ga_snprintf(path, sizeof path, "/proc/thread-self/%s", name);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd >= 0) return fd;
  ga_snprintf(path, sizeof path, "/proc/self/%s", name); /* before Linux 3.17 */
  return open(path, O_RDONLY | O_CLOEXEC);
}

long ga_os_read_own(void *dst, uintptr_t src, size_t n) {
  struct iovec local = {dst, n}, remote = {(void *)src, n};
  int saved = errno;
  /* This thread's id, not the process's: once the main thread has exited
   * (pthread_exit), the process id names a zombie without memory. */
  ssize_t got = process_vm_readv((pid_t)syscall(SYS_gettid), &local, 1, &remote, 1, 0);
  long r = got >= 0 ? (long)got : errno == EFAULT ? 0 : -(long)errno;
  errno = saved;
  return r;
}

static long futex(int *uaddr, int op, int val) {
  return syscall(SYS_futex, uaddr, op, val, NULL, NULL, 0);
}

void ga_mutex_lock_slow(ga_mutex_t *m) {
  int saved = errno;
  int c = __atomic_exchange_n(&m->state, 2, __ATOMIC_ACQUIRE);
  while (c != 0) {
    futex(&m->state, FUTEX_WAIT_PRIVATE, 2);
    c = __atomic_exchange_n(&m->state, 2, __ATOMIC_ACQUIRE);
  }
  errno = saved;
}

void ga_mutex_unlock_slow(ga_mutex_t *m) {
  int saved = errno;
  futex(&m->state, FUTEX_WAKE_PRIVATE, 1);
  errno = saved;
}

void ga_spin_lock_slow(ga_spinlock_t *l) {
  for (unsigned i = 0;; i++) {
    if (!__atomic_load_n(&l->locked, __ATOMIC_RELAXED) &&
        !__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
      return;
    if (i < 64)
      __builtin_ia32_pause();
    else
      syscall(SYS_sched_yield);
  }
}

/* ---- formatting ---- */

typedef struct {
  char *buf;
  size_t n, len;
  int fd;
} sink_t;

static void sink_flush(sink_t *s) {
  if (s->fd >= 0 && s->len) {
    size_t off = 0;
    while (off < s->len) {
      ssize_t w = write(s->fd, s->buf + off, s->len - off);
      if (w <= 0) break;
      off += (size_t)w;
    }
    s->len = 0;
  }
}

static void sink_put(sink_t *s, char ch) {
  if (s->len + 1 >= s->n) {
    if (s->fd < 0) return;
    sink_flush(s);
  }
  s->buf[s->len++] = ch;
}

static void put_num(sink_t *s, unsigned long long v, unsigned base, int width, bool neg, char pad) {
  char tmp[32];
  int i = 0;
  do {
    tmp[i++] = "0123456789abcdef"[v % base];
    v /= base;
  } while (v);
  if (neg) tmp[i++] = '-';
  for (int w = i; w < width; w++) sink_put(s, pad);
  while (i) sink_put(s, tmp[--i]);
}

static void format(sink_t *s, const char *fmt, va_list ap) {
  for (const char *f = fmt; *f; f++) {
    if (*f != '%') {
      sink_put(s, *f);
      continue;
    }
    f++;
    char pad = ' ';
    bool left = false;
    if (*f == '-') { left = true; f++; }
    if (*f == '0') { pad = '0'; f++; }
    int width = 0;
    while (*f >= '0' && *f <= '9') width = width * 10 + (*f++ - '0');
    int lng = 0;
    while (*f == 'l') { lng++; f++; }
    if (*f == 'z') { lng = 1; f++; }
    switch (*f) {
    case 'd': {
      long long v = lng ? va_arg(ap, long) : va_arg(ap, int);
      put_num(s, v < 0 ? -(unsigned long long)v : (unsigned long long)v, 10, width, v < 0, pad);
      break;
    }
    case 'u':
      put_num(s, lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned), 10, width, false, pad);
      break;
    case 'x':
      put_num(s, lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned), 16, width, false, pad);
      break;
    case 'p':
      sink_put(s, '0');
      sink_put(s, 'x');
      put_num(s, (uintptr_t)va_arg(ap, void *), 16, 0, false, pad);
      break;
    case 's': {
      const char *str = va_arg(ap, const char *);
      if (!str) str = "(null)";
      int len = (int)strlen(str);
      if (!left)
        for (int w = len; w < width; w++) sink_put(s, ' ');
      while (*str) sink_put(s, *str++);
      if (left)
        for (int w = len; w < width; w++) sink_put(s, ' ');
      break;
    }
    case 'c':
      sink_put(s, (char)va_arg(ap, int));
      break;
    case '%':
      sink_put(s, '%');
      break;
    default:
      sink_put(s, '%');
      if (*f) sink_put(s, *f); else f--;
    }
  }
}

void ga_vprintf(int fd, const char *fmt, va_list ap) {
  char buf[512];
  sink_t s = {buf, sizeof buf, 0, fd};
  int saved = errno;
  format(&s, fmt, ap);
  sink_flush(&s);
  errno = saved;
}

void ga_printf(int fd, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ga_vprintf(fd, fmt, ap);
  va_end(ap);
}

size_t ga_snprintf(char *buf, size_t n, const char *fmt, ...) {
  sink_t s = {buf, n, 0, -1};
  va_list ap;
  va_start(ap, fmt);
  format(&s, fmt, ap);
  va_end(ap);
  if (n) buf[s.len < n ? s.len : n - 1] = 0;
  return s.len;
}

void ga_fatal(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ga_vprintf(2, fmt, ap);
  va_end(ap);
  abort();
}

const char *ga_os_getenv(const char *name) {
  char **env = environ;
  if (!env) return NULL;
  size_t n = strlen(name);
  for (; *env; env++)
    if (strncmp(*env, name, n) == 0 && (*env)[n] == '=') return *env + n + 1;
  return NULL;
}

static uint64_t read_status_kb(const char *key) {
  int fd = ga_os_open_proc("status");
  if (fd < 0) return 0;
  char buf[4096];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = 0;
  char *p = strstr(buf, key);
  if (!p) return 0;
  p += strlen(key);
  while (*p == ' ' || *p == '\t' || *p == ':') p++;
  uint64_t v = 0;
  while (*p >= '0' && *p <= '9') v = v * 10 + (uint64_t)(*p++ - '0');
  return v * 1024;
}

uint64_t ga_os_rss(void) { return read_status_kb("VmRSS"); }
uint64_t ga_os_peak_rss(void) { return read_status_kb("VmHWM"); }

uint64_t ga_os_nanotime(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t ga_os_thread_cpu_ns(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return 0;
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void ga_os_futex_wait(int *addr, int val) {
  int saved = errno;
  futex(addr, FUTEX_WAIT_PRIVATE, val);
  errno = saved;
}

void ga_os_futex_wait_ms(int *addr, int val, unsigned ms) {
  int saved = errno;
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, &ts, NULL, 0);
  errno = saved;
}

void ga_os_futex_wake(int *addr) { futex(addr, FUTEX_WAKE_PRIVATE, 1); }
void ga_os_futex_wake_all(int *addr) { futex(addr, FUTEX_WAKE_PRIVATE, INT_MAX); }

void ga_os_sleep_ms(unsigned ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

__thread bool ga_os_creating_internal_thread;

int ga_os_thread_keep_signal;

static int internal_threads; /* running internal threads */
bool ga_os_program_gone;

__thread bool ga_os_internal_thread;

/* Where each running internal thread's own frames begin (its start
 * function's frame): the collector leaves those frames out of its scan of
 * anonymous memory (no program pointers there, only stale values from
 * goalloc's own work). What lies above, glibc's thread descriptor and
 * TLS, is scanned: it points to glibc's per-thread allocations (the DTV,
 * pthread key blocks), which are collectable malloc memory in collect
 * mode (excluding all of it freed them: stress_fork's children aborted). */
#define INTERNAL_MAX 16
static uintptr_t internal_sp[INTERNAL_MAX];
/* Their thread ids (same slot): a dead registered thread's record whose id
 * the kernel gave to one of ours must not be waited for (gc/stw.c). */
static pid_t internal_tid[INTERNAL_MAX];

static void internal_exit(void *slotp) {
  int slot = (int)(intptr_t)slotp;
  if (slot >= 0) {
    __atomic_store_n(&internal_tid[slot], 0, __ATOMIC_RELEASE);
    __atomic_store_n(&internal_sp[slot], 0, __ATOMIC_RELEASE);
  }
  __atomic_fetch_sub(&internal_threads, 1, __ATOMIC_RELAXED);
}

/* The new thread starts with every signal blocked (ga_os_thread_start
 * sets its initial mask), so it never runs the collector's stop handler. */
static void *internal_start(void *fn) {
  sigset_t all; /* again, should the attribute have been refused */
  sigfillset(&all);
  ga_os_sigmask(SIG_SETMASK, &all, NULL);
  ga_os_internal_thread = true;
  __atomic_fetch_add(&internal_threads, 1, __ATOMIC_RELAXED);
  int slot = -1;
  uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
  for (int i = 0; i < INTERNAL_MAX && slot < 0; i++) {
    uintptr_t expected = 0;
    if (__atomic_compare_exchange_n(&internal_sp[i], &expected, sp, false, __ATOMIC_RELEASE,
                                    __ATOMIC_RELAXED))
      slot = i;
  }
  if (slot >= 0)
    __atomic_store_n(&internal_tid[slot], (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
  void *r;
  /* Also when fn does not return: the worker runs the program's
   * finalizers, which may call pthread_exit. A tid left in the table would
   * make the collector drop the record of the next thread to get it. */
  pthread_cleanup_push(internal_exit, (void *)(intptr_t)slot);
  r = ((void *(*)(void *))fn)(NULL);
  pthread_cleanup_pop(1);
  return r;
}

bool ga_os_thread_signal_pending(pid_t tid, int sig) {
  char path[64], buf[8192]; /* SigPnd comes after the Vm* and Groups lines */
  ga_snprintf(path, sizeof path, "/proc/self/task/%d/status", (int)tid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  size_t n = 0;
  for (ssize_t r; n < sizeof buf - 1 && (r = read(fd, buf + n, sizeof buf - 1 - n)) > 0;)
    n += (size_t)r;
  close(fd);
  buf[n] = 0;
  const char *p = strstr(buf, "\nSigPnd:"); /* the thread's own pending set */
  if (!p) return false;
  unsigned long long mask = strtoull(p + 8, NULL, 16);
  return sig > 0 && sig <= 64 && (mask >> (sig - 1) & 1);
}

bool ga_os_internal_tid(pid_t tid) {
  for (int i = 0; i < INTERNAL_MAX; i++)
    if (tid && __atomic_load_n(&internal_tid[i], __ATOMIC_ACQUIRE) == tid) return true;
  return false;
}

uintptr_t ga_os_internal_frames_top(uintptr_t lo, uintptr_t hi) {
  for (int i = 0; i < INTERNAL_MAX; i++) {
    uintptr_t sp = __atomic_load_n(&internal_sp[i], __ATOMIC_ACQUIRE);
    if (sp >= lo && sp < hi) return sp;
  }
  return 0;
}

void ga_os_threads_fork_child(void) {
  /* The child has none of the parent's internal threads. */
  internal_threads = 0;
  for (int i = 0; i < INTERNAL_MAX; i++) internal_sp[i] = 0, internal_tid[i] = 0;
  ga_os_program_gone = false;
}

/* glibc ends the process (exit(0)) when its last thread exits, counting
 * ours: a program whose main thread calls pthread_exit and whose other
 * threads then finish would live on forever with the scavenger or the
 * collector's threads. So they wait with a timeout and, when idle, ask
 * this: the main thread is a zombie (it called pthread_exit) and every
 * other thread is one of ours. Then they return, and the last one out
 * makes glibc call exit(0), as the program's last thread would have. */
bool ga_os_program_threads_gone(void) {
  char buf[512];
  int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return false;
  buf[n] = 0;
  char *p = strrchr(buf, ')'); /* the command name may hold anything */
  if (!p || p[1] != ' ') return false;
  char state = p[2];
  /* Field 20 (num_threads); p + 2 is field 3. */
  int field = 3;
  for (p += 2; *p && field < 20; p++)
    if (*p == ' ') field++;
  long nthreads = strtol(p, NULL, 10);
  if (state != 'Z' || nthreads > __atomic_load_n(&internal_threads, __ATOMIC_RELAXED) + 1)
    return false;
  /* Sticky: the last internal thread out runs the program's exit handlers
   * (glibc's exit(0)); no automatic collection or new internal thread
   * from them (that thread is not registered, its stack not scanned). */
  __atomic_store_n(&ga_os_program_gone, true, __ATOMIC_RELEASE);
  return true;
}

bool ga_os_idle_wait(int *addr, int val) {
  ga_os_futex_wait_ms(addr, val, GA_OS_IDLE_CHECK_MS);
  return __atomic_load_n(addr, __ATOMIC_ACQUIRE) == val && ga_os_program_threads_gone();
}

bool ga_os_signal_handler(int sig, void (*fn)(int)) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = fn;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  return ga_os_sigaction(sig, &sa, NULL) == 0;
}

bool ga_os_thread_start(void *(*fn)(void *)) {
  pthread_attr_t attr;
  pthread_t t;
  sigset_t all, old;
  if (pthread_attr_init(&attr)) return false;
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  /* The default stack size (address space only): the collector's worker
   * runs finalizers, which are the program's code. */
  /* The background thread must not take the program's signals. The
   * creator stays stoppable by the collector meanwhile: pthread_create
   * takes glibc's stack-cache lock, which a stopped thread may hold. */
  sigfillset(&all);
  /* An internal creator (the worker starting a thread) is never
   * registered and blocks everything: it must not open the stop signal,
   * or, should pthread_create's allocations be its first, they would
   * register it (cache.c), and then, its mask restored, it could never be
   * stopped (tests/gcmode/gc_worker_alloc). */
  if (ga_os_thread_keep_signal && !ga_os_internal_thread) sigdelset(&all, ga_os_thread_keep_signal);
  ga_os_sigmask(SIG_SETMASK, &all, &old);
  /* The new thread itself blocks everything from its first instruction:
   * a stop signal it took would be answered for some other thread's
   * record (a reused tid, gc/stw.c), so it must never run the handler. */
#if defined(__GLIBC__) && __GLIBC_PREREQ(2, 32)
  sigset_t none_open;
  sigfillset(&none_open);
  if (pthread_attr_setsigmask_np(&attr, &none_open) != 0) {
    pthread_attr_destroy(&attr);
    ga_os_sigmask(SIG_SETMASK, &old, NULL);
    return false;
  }
#endif /* else: blocked in internal_start, a few instructions later */
  ga_os_creating_internal_thread = true; /* not a thread for the collector to stop */
  int rc = pthread_create(&t, &attr, internal_start, (void *)fn);
  ga_os_creating_internal_thread = false;
  ga_os_sigmask(SIG_SETMASK, &old, NULL);
  pthread_attr_destroy(&attr);
  return rc == 0;
}
