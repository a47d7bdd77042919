/* gc/signals.c: see signals.h for why and how.
 *
 * Who may touch what: the handler table is written under table_lock,
 * held with every signal blocked (a handler that calls sigaction must not
 * find its own thread holding it), and read by the trampoline without the
 * lock (relaxed loads of the handler: a handler changed while a signal is
 * delivered runs either the old or the new one, as without goalloc).
 * ga_gc_signals_wrapped goes from false to true once, under the lock,
 * before the handlers installed so far are wrapped; sleeps_ready after.
 * Before the first, sigaction is libc's, without the lock (the collector
 * off costs nothing); a call that raced with the turn-on wraps its
 * handler after. prog_handlers is per thread and only written by the
 * trampoline on that thread. */
#include "gc/signals.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "gc/stw.h"
#include "os.h"

typedef struct {
  void *fn;  /* the program's handler (sa_handler or sa_sigaction) */
  int flags; /* its sa_flags (reported back by sigaction) */
} handler_t;

static handler_t table[_NSIG];
static ga_spinlock_t table_lock;
bool ga_gc_signals_wrapped;
static bool sleeps_ready; /* every handler installed so far is wrapped */
static __thread volatile unsigned prog_handlers;

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

/* The table never holds SIG_DFL or SIG_IGN (those are installed as they
 * are). Called with three arguments whatever the program's SA_SIGINFO:
 * the kernel itself passes them to every handler, a one-argument handler
 * ignores the others, and the table's two fields need not be read
 * together. */
static void trampoline(int sig, siginfo_t *si, void *uc) {
  prog_handlers++;
  ((void (*)(int, siginfo_t *, void *))LOAD(table[sig].fn))(sig, si, uc);
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
 * when the trampoline is installed). An SA_RESETHAND action the kernel
 * reset to SIG_DFL keeps the trampoline's SA_SIGINFO: the program's own
 * flag is reported. */
static void to_program(struct sigaction *k, handler_t e) {
  if (k->sa_sigaction == trampoline) {
    k->sa_sigaction = (void (*)(int, siginfo_t *, void *))e.fn;
    k->sa_flags = (k->sa_flags & ~SA_SIGINFO) | (e.flags & SA_SIGINFO);
  } else if (k->sa_handler == SIG_DFL && e.fn && (e.flags & SA_RESETHAND)) {
    k->sa_flags = (k->sa_flags & ~SA_SIGINFO) | (e.flags & SA_SIGINFO);
  }
}

/* Installs act through the trampoline. Table lock held. The trampoline
 * itself (a program reinstalling an action it read while the collector
 * was being turned on) leaves the table's handler in place: stored there,
 * the trampoline would call itself forever (review finding). */
static int install(int sig, const struct sigaction *act, struct sigaction *prev) {
  struct sigaction k = *act;
  if (act->sa_sigaction == trampoline) return ga_os_sigaction(sig, act, prev);
  STORE(table[sig].fn, (void *)act->sa_sigaction);
  STORE(table[sig].flags, act->sa_flags);
  k.sa_sigaction = trampoline;
  k.sa_flags |= SA_SIGINFO;
  return ga_os_sigaction(sig, &k, prev);
}

/* Table lock held: sig's handler, if the kernel has an unwrapped one,
 * goes behind the trampoline. */
static void wrap_current(int sig) {
  struct sigaction k;
  if (!wrappable(sig) || ga_os_sigaction(sig, NULL, &k) != 0) return;
  if (is_handler(&k) && k.sa_sigaction != trampoline) install(sig, &k, NULL);
}

void ga_gc_signals_enable(void) {
  sigset_t old;
  lock(&old);
  if (!ga_gc_signals_wrapped) {
    /* First: sigaction calls from now on take the lock and wrap. */
    __atomic_store_n(&ga_gc_signals_wrapped, true, __ATOMIC_SEQ_CST);
    for (int sig = 1; sig < _NSIG; sig++) wrap_current(sig);
    __atomic_store_n(&sleeps_ready, true, __ATOMIC_RELEASE);
  }
  unlock(&old);
}

void ga_gc_signals_fork_child(void) { table_lock = (ga_spinlock_t){0}; }

__sighandler_t ga_gc_signals_program_handler(int sig, __sighandler_t h) {
  if ((void *)h != (void *)trampoline || sig <= 0 || sig >= _NSIG) return h;
  return (__sighandler_t)LOAD(table[sig].fn);
}

void ga_gc_signals_installed(int sig) {
  if (!__atomic_load_n(&ga_gc_signals_wrapped, __ATOMIC_SEQ_CST)) return;
  sigset_t mask;
  lock(&mask);
  wrap_current(sig);
  unlock(&mask);
}

int ga_gc_signals_sigaction(int sig, const struct sigaction *act, struct sigaction *old) {
  if (!__atomic_load_n(&ga_gc_signals_wrapped, __ATOMIC_SEQ_CST)) {
    /* The collector is off: libc's call as it is (nothing is wrapped, so
     * nothing to translate), no lock. If it was turned on meanwhile, the
     * handler may have missed its scan: wrap it now. */
    int r = ga_os_sigaction(sig, act, old);
    if (r == 0 && old && old->sa_sigaction == trampoline) {
      /* Wrapped between the flag's read and the call: the program's. */
      sigset_t mask;
      lock(&mask);
      to_program(old, table[sig]);
      unlock(&mask);
    }
    if (r == 0 && act) ga_gc_signals_installed(sig);
    return r;
  }
  sigset_t mask;
  lock(&mask);
  handler_t e = {0, 0};
  if (sig > 0 && sig < _NSIG) e = table[sig];
  struct sigaction prev;
  int r;
  if (act && wrappable(sig) && is_handler(act)) r = install(sig, act, &prev);
  else r = ga_os_sigaction(sig, act, &prev);
  unlock(&mask);
  if (r == 0 && old) {
    to_program(&prev, e);
    *old = prev;
  }
  return r;
}

/* Sleeps until deadline (CLOCK_MONOTONIC ns) in libc's clock_nanosleep
 * (real: the caller's own, looked up past goalloc's); 0, or the errno
 * that ended it. p0: the thread's program-handler count when the call
 * began. */
static int sleep_until(ga_gc_thread_t *t, int64_t deadline, unsigned p0,
                       int (*real)(clockid_t, int, const struct timespec *, struct timespec *)) {
  struct timespec until = {(time_t)(deadline / 1000000000), (long)(deadline % 1000000000)};
  for (;;) {
    unsigned g0 = __atomic_load_n(&t->stopped_gen, __ATOMIC_ACQUIRE);
    /* Checked again right before the call: a program handler that ran
     * since the call began ends it, as it would have ended libc's. */
    if (prog_handlers != p0) return EINTR;
    int e = real(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL);
    if (e != EINTR) return e;
    if (prog_handlers != p0 || __atomic_load_n(&t->stopped_gen, __ATOMIC_ACQUIRE) == g0)
      return EINTR; /* a program handler ran, or something else interrupted */
    /* Only the stop signal: sleep on. */
  }
}

int ga_gc_signals_sleep(clockid_t clk, int flags, const struct timespec *req,
                        struct timespec *rem,
                        int (*real)(clockid_t, int, const struct timespec *, struct timespec *)) {
  unsigned p0 = prog_handlers;
  ga_gc_thread_t *t = ga_gc_stw_self();
  bool abs = flags & TIMER_ABSTIME;
  /* Anything unusual goes to libc as it is: bad arguments get its error,
   * other clocks its semantics (cut short by a pause). */
  if (!__atomic_load_n(&sleeps_ready, __ATOMIC_ACQUIRE) || !t || !req ||
      req->tv_nsec < 0 || req->tv_nsec >= 1000000000 || req->tv_sec < 0 ||
      req->tv_sec > ((time_t)1 << 32) || !(clk == CLOCK_MONOTONIC || (clk == CLOCK_REALTIME && !abs)))
    return -1;
  int64_t want = (int64_t)req->tv_sec * 1000000000 + req->tv_nsec;
  int64_t deadline = abs ? want : (int64_t)ga_os_nanotime() + want; /* CLOCK_MONOTONIC */
  int ret = sleep_until(t, deadline, p0, real);
  if (ret == EINTR && rem && !abs) {
    int64_t left = deadline - (int64_t)ga_os_nanotime();
    if (left < 0) left = 0;
    rem->tv_sec = (time_t)(left / 1000000000);
    rem->tv_nsec = (long)(left % 1000000000);
  }
  return ret;
}
