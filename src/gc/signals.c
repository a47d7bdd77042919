/* gc/signals.c: see signals.h for why and how.
 *
 * Who may touch what: the handler table is written under table_lock,
 * held with every signal blocked (a handler that calls sigaction must not
 * find its own thread holding it), and read by the trampoline without the
 * lock (relaxed atomics: a handler changed while a signal is delivered
 * runs either the old or the new one, as without goalloc). `ga_gc_signals_wrapped` goes
 * from false to true once, under the lock, after the handlers installed so
 * far are wrapped. prog_handlers is per thread and only written by the
 * trampoline on that thread. */
#include "gc/signals.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "gc/stw.h"
#include "os.h"

typedef struct {
  void *fn;  /* the program's handler (sa_handler or sa_sigaction) */
  int flags; /* its sa_flags: SA_SIGINFO says how to call it */
} handler_t;

static handler_t table[_NSIG];
static ga_spinlock_t table_lock;
bool ga_gc_signals_wrapped;
static __thread volatile unsigned prog_handlers;

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

/* Drops sig from a set by its bit (glibc's sigdelset refuses 32 and 33). */
static void drop(sigset_t *set, int sig) {
  set->__val[(sig - 1) / (8 * sizeof(unsigned long))] &=
      ~(1UL << ((sig - 1) % (8 * sizeof(unsigned long))));
}

static void trampoline(int sig, siginfo_t *si, void *uc) {
  prog_handlers++;
  void *fn = LOAD(table[sig].fn);
  int flags = LOAD(table[sig].flags);
  if (fn == (void *)SIG_IGN) return;
  if (fn == (void *)SIG_DFL) {
    /* Reset while the signal was on its way: the default action, once
     * this handler returns and the signal is unblocked. */
    int e = errno;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    ga_os_sigaction(sig, &sa, NULL);
    syscall(SYS_tgkill, getpid(), (pid_t)syscall(SYS_gettid), sig);
    errno = e;
    return;
  }
  if (flags & SA_SIGINFO) ((void (*)(int, siginfo_t *, void *))fn)(sig, si, uc);
  else ((void (*)(int))fn)(sig);
}

static bool wrappable(int sig) {
  return sig > 0 && sig < _NSIG && sig != SIGKILL && sig != SIGSTOP && sig != 32 && sig != 33 &&
         sig != ga_gc_stw_signal();
}

static bool is_handler(const struct sigaction *k) {
  return k->sa_handler != SIG_DFL && k->sa_handler != SIG_IGN;
}

static void lock(sigset_t *old) {
  ga_os_block_signals(old);
  ga_spin_lock(&table_lock);
}

static void unlock(const sigset_t *old) {
  ga_spin_unlock(&table_lock);
  ga_os_sigmask(SIG_SETMASK, old, NULL);
}

/* The kernel's action k as the program installed it (e: its table entry
 * when the trampoline is installed). */
static void to_program(struct sigaction *k, handler_t e) {
  if (k->sa_sigaction != trampoline) return;
  k->sa_sigaction = (void (*)(int, siginfo_t *, void *))e.fn;
  k->sa_flags = (k->sa_flags & ~SA_SIGINFO) | (e.flags & SA_SIGINFO);
}

/* Installs act through the trampoline. Table lock held. */
static int install(int sig, const struct sigaction *act, struct sigaction *prev) {
  struct sigaction k = *act;
  STORE(table[sig].fn, (void *)act->sa_sigaction);
  STORE(table[sig].flags, act->sa_flags);
  k.sa_sigaction = trampoline;
  k.sa_flags |= SA_SIGINFO;
  return ga_os_sigaction(sig, &k, prev);
}

void ga_gc_signals_enable(void) {
  sigset_t old;
  lock(&old);
  if (!ga_gc_signals_wrapped) {
    for (int sig = 1; sig < _NSIG; sig++) {
      struct sigaction k;
      if (!wrappable(sig) || ga_os_sigaction(sig, NULL, &k) != 0) continue;
      if (!is_handler(&k) || k.sa_sigaction == trampoline) continue;
      install(sig, &k, NULL);
    }
    __atomic_store_n(&ga_gc_signals_wrapped, true, __ATOMIC_RELEASE);
  }
  unlock(&old);
}

int ga_gc_signals_sigaction(int sig, const struct sigaction *act, struct sigaction *old) {
  if (!__atomic_load_n(&ga_gc_signals_wrapped, __ATOMIC_ACQUIRE) && !old) return ga_os_sigaction(sig, act, NULL);
  sigset_t mask;
  lock(&mask);
  handler_t e = {0, 0};
  if (sig > 0 && sig < _NSIG) e = table[sig];
  struct sigaction prev;
  int r;
  if (act && LOAD(ga_gc_signals_wrapped) && wrappable(sig) && is_handler(act)) r = install(sig, act, &prev);
  else r = ga_os_sigaction(sig, act, &prev);
  unlock(&mask);
  if (r == 0 && old) {
    to_program(&prev, e);
    *old = prev;
  }
  return r;
}

static void restore_mask(void *old) { ga_os_sigmask(SIG_SETMASK, old, NULL); }

/* Sleeps until deadline (CLOCK_MONOTONIC ns) with every signal but the
 * stop signal blocked outside ppoll; 0, or the errno that ended it. */
static int sleep_until(ga_gc_thread_t *t, int64_t deadline) {
  sigset_t block, old;
  sigfillset(&block);
  drop(&block, 32);
  drop(&block, 33);
  drop(&block, ga_gc_stw_signal());
  ga_os_sigmask(SIG_BLOCK, &block, &old);
  volatile int ret = 0;
  pthread_cleanup_push(restore_mask, &old);
  for (;;) {
    unsigned p0 = prog_handlers, g0 = __atomic_load_n(&t->stopped_gen, __ATOMIC_ACQUIRE);
    int64_t left = deadline - (int64_t)ga_os_nanotime();
    if (left <= 0) break;
    struct timespec ts = {(time_t)(left / 1000000000), (long)(left % 1000000000)};
    /* The program's own mask while asleep, atomically: its signals
     * interrupt the sleep as before; outside ppoll they wait. */
    if (ppoll(NULL, 0, &ts, &old) >= 0) continue; /* timed out: the clock decides */
    int e = errno;
    if (e == EINTR && prog_handlers == p0 &&
        __atomic_load_n(&t->stopped_gen, __ATOMIC_ACQUIRE) != g0)
      continue; /* only the stop signal: sleep on */
    ret = e;
    break;
  }
  pthread_cleanup_pop(1); /* a program signal left pending runs now */
  return ret;
}

int ga_gc_signals_sleep(clockid_t clk, int flags, const struct timespec *req,
                        struct timespec *rem) {
  ga_gc_thread_t *t = ga_gc_stw_self();
  bool abs = flags & TIMER_ABSTIME;
  /* Anything unusual goes to libc as it is: bad arguments get its error,
   * other clocks its semantics (cut short by a pause). */
  if (!__atomic_load_n(&ga_gc_signals_wrapped, __ATOMIC_ACQUIRE) || !t || !req ||
      req->tv_nsec < 0 || req->tv_nsec >= 1000000000 || req->tv_sec < 0 ||
      req->tv_sec > ((time_t)1 << 32) || !(clk == CLOCK_MONOTONIC || (clk == CLOCK_REALTIME && !abs)))
    return -1;
  int64_t want = (int64_t)req->tv_sec * 1000000000 + req->tv_nsec;
  int64_t deadline = abs ? want : (int64_t)ga_os_nanotime() + want; /* CLOCK_MONOTONIC */
  int ret = sleep_until(t, deadline);
  if (ret == EINTR && rem && !abs) {
    int64_t left = deadline - (int64_t)ga_os_nanotime();
    if (left < 0) left = 0;
    rem->tv_sec = (time_t)(left / 1000000000);
    rem->tv_nsec = (long)(left % 1000000000);
  }
  return ret;
}
