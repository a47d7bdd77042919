/* os.h: the one place goalloc talks to Linux (Go's mem_linux.go + os_linux.go).
 *
 * The contract is Go's: reserve address space (no memory behind it yet),
 * use it (pages fault in on first touch), unuse it (madvise: the pages go
 * back to the OS and read as zero afterwards), release it (munmap). Above
 * this layer nothing calls mmap, madvise, futex or write directly, and
 * nothing calls libc's malloc or stdio: the allocator must work before libc
 * is initialised and inside its own malloc. */
#ifndef GA_OS_H
#define GA_OS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GA_LIKELY(x) __builtin_expect(!!(x), 1)
#define GA_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define GA_NOINLINE __attribute__((noinline))
#define GA_COLD __attribute__((cold, noinline))

/* Address space. ga_os_reserve returns memory aligned to align (a power of
 * two, at least the OS page), readable and writable, lazily backed; NULL
 * (errno ENOMEM) if the OS refuses. */
void *ga_os_reserve(size_t size, size_t align);
/* Exactly [hint, hint+size) or NULL. */
void *ga_os_reserve_at(void *hint, size_t size);
void ga_os_release(void *p, size_t size);
/* Every range reserved above and not released, sorted, disjoint: fn gets
 * the table with its lock held (signals blocked). */
typedef struct {
  uintptr_t lo, hi;
} ga_os_range_t;
void ga_os_for_each_reservation(void (*fn)(const ga_os_range_t *r, size_t n, void *arg), void *arg);
/* fork handlers (malloc.c). */
void ga_os_registry_lock(void);
void ga_os_registry_unlock(void);
void ga_os_registry_reset(void);
/* Gives the pages back: afterwards they read as zero and leave the RSS. */
void ga_os_unuse(void *p, size_t size);
/* Makes fresh pages resident in one call (MADV_POPULATE_WRITE, Linux
 * 5.14), where the program would otherwise take a fault per page; does
 * nothing where the kernel lacks it. */
void ga_os_populate(void *p, size_t size);
/* Copies [src, src+n) of this process's memory to dst without faulting
 * (process_vm_readv): returns the bytes copied before the first unreadable
 * one (0 if src itself is unmapped), or -errno if the call itself was
 * refused (a sandbox: EPERM, ENOSYS). For memory another thread may unmap
 * at any moment. */
long ga_os_read_own(void *dst, uintptr_t src, size_t n);
/* Opens /proc/thread-self/NAME (read-only), or /proc/self/NAME where that
 * does not exist. Not /proc/self: once the main thread has exited
 * (pthread_exit while other threads run on), /proc/self is a zombie whose
 * maps, pagemap and memory figures are empty, and the collector found no
 * anonymous roots (glibc's loader data and thread vectors were freed). */
int ga_os_open_proc(const char *name);

/* A small futex mutex (Drepper's three-state lock): uncontended lock and
 * unlock are one atomic each; no allocation, safe in signal-free contexts
 * before libc is up. */
typedef struct { int state; } ga_mutex_t;
#define GA_MUTEX_INIT {0}
void ga_mutex_lock_slow(ga_mutex_t *m);
void ga_mutex_unlock_slow(ga_mutex_t *m);
static inline void ga_mutex_lock(ga_mutex_t *m) {
  int expected = 0;
  if (!__atomic_compare_exchange_n(&m->state, &expected, 1, false, __ATOMIC_ACQUIRE,
                                   __ATOMIC_RELAXED))
    ga_mutex_lock_slow(m);
}
static inline void ga_mutex_unlock(ga_mutex_t *m) {
  if (__atomic_exchange_n(&m->state, 0, __ATOMIC_RELEASE) == 2) ga_mutex_unlock_slow(m);
}
/* After fork the child is alone: every lock is reset, whoever held it. */
static inline void ga_mutex_reset(ga_mutex_t *m) { m->state = 0; }

/* A spin lock for critical sections of a few instructions (a span's remote
 * free list); yields the CPU when contended so it cannot starve the owner. */
typedef struct { char locked; } ga_spinlock_t;
void ga_spin_lock_slow(ga_spinlock_t *l);
static inline void ga_spin_lock(ga_spinlock_t *l) {
  if (GA_UNLIKELY(__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))) ga_spin_lock_slow(l);
}
static inline void ga_spin_unlock(ga_spinlock_t *l) {
  __atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}

/* Output without stdio: %s %d %u %ld %lu %zu %zd %llu %x %lx %zx %p %c %%,
 * with an optional width for numbers. */
void ga_vprintf(int fd, const char *fmt, va_list ap);
void ga_printf(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
size_t ga_snprintf(char *buf, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
_Noreturn void ga_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Reads the environment straight from the process's environ (set by the
 * dynamic loader before any constructor runs); NULL if absent. */
const char *ga_os_getenv(const char *name);

/* Process memory as the kernel sees it, in bytes. */
uint64_t ga_os_rss(void);
uint64_t ga_os_peak_rss(void);

uint64_t ga_os_nanotime(void);
/* CPU time the calling thread has used (a system call: not for fast paths). */
uint64_t ga_os_thread_cpu_ns(void);
void ga_os_sleep_ms(unsigned ms);
/* Waits while *addr == val (or a spurious wake-up); wakes one waiter. */
void ga_os_futex_wait(int *addr, int val);
/* The same, for at most ms milliseconds. */
void ga_os_futex_wait_ms(int *addr, int val, unsigned ms);
void ga_os_futex_wake(int *addr);
void ga_os_futex_wake_all(int *addr);

/* rt_sigprocmask itself (see os.c). */
#include <signal.h>
int ga_os_sigmask(int how, const sigset_t *set, sigset_t *old);
/* libc's sigaction, never the interposed one (the program's handlers are
 * wrapped, goalloc's own are not). */
struct sigaction;
int ga_os_sigaction(int sig, const struct sigaction *act, struct sigaction *old);
/* Blocks every signal, the mask before in *old (for critical sections a
 * signal handler on the same thread must not enter). */
void ga_os_block_signals(sigset_t *old);

/* Starts a detached background thread with every signal blocked; false if
 * it could not. Such threads hold no program pointers and are never
 * registered with the collector (preload/override_pthread.c checks the
 * flag below). */
bool ga_os_thread_start(void *(*fn)(void *));
/* For internal threads, when idle: has the program's last thread exited
 * (main thread a zombie, every other thread internal)? Then they must
 * return, so the process can end (os.c). Reads /proc/self/stat. */
bool ga_os_program_threads_gone(void);
/* Set once ga_os_program_threads_gone said yes: the process is ending. */
extern bool ga_os_program_gone;
/* fork child: no internal thread came along. */
void ga_os_threads_fork_child(void);
/* How long an idle internal thread waits before it asks again. */
#define GA_OS_IDLE_CHECK_MS 250
/* An idle internal thread's wait on a futex word: up to
 * GA_OS_IDLE_CHECK_MS while *addr == val. True if nothing came (*addr
 * still val) and the program's threads are gone: the thread must return. */
bool ga_os_idle_wait(int *addr, int val);
/* Installs fn for sig (SA_RESTART, so the program's system calls are
 * restarted); false if the kernel refused. */
bool ga_os_signal_handler(int sig, void (*fn)(int));
/* The collector's stop signal: left unblocked in a thread while it starts
 * a background thread (gc/stw.c sets it). */
extern int ga_os_thread_keep_signal;
extern __thread bool ga_os_creating_internal_thread;
/* Set in goalloc's own threads (ga_os_thread_start): never registered with
 * the collector, whatever they allocate. */
extern __thread bool ga_os_internal_thread;
/* If [lo, hi) holds the stack of a running internal thread: the top of
 * its own frames (everything in [lo, top) is goalloc's), else 0. */
uintptr_t ga_os_internal_frames_top(uintptr_t lo, uintptr_t hi);
/* Is tid a running internal thread? (It was never registered: a
 * collector's record with that tid is a dead thread's, and a signal sent
 * to it is never answered, internal threads block every signal from
 * their first instruction.) */
bool ga_os_internal_tid(pid_t tid);
/* Is signal sig pending for thread tid itself (/proc/.../status SigPnd)? */
bool ga_os_thread_signal_pending(pid_t tid, int sig);

#endif
