/* override_signal.c: the sleep calls and the handler-installing calls,
 * interposed so that a collection's pause does not cut the program's
 * sleeps short (src/gc/signals.h explains the mechanism). With the
 * collector off each is one predictable branch and libc's call. */
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "gc/collector.h"
#include "gc/signals.h"
#include "malloc_int.h"

#define EXPORT __attribute__((visibility("default")))

/* libc's under another exported name (not interposed). */
extern int __nanosleep(const struct timespec *req, struct timespec *rem);

typedef int (*cns_fn)(clockid_t, int, const struct timespec *, struct timespec *);
static cns_fn real_cns;

/* A static program has no libc below goalloc to look up: the system call
 * (not a cancellation point). */
static int sys_cns(clockid_t clk, int flags, const struct timespec *req, struct timespec *rem) {
  return syscall(SYS_clock_nanosleep, clk, flags, req, rem) < 0 ? errno : 0;
}

static cns_fn libc_cns(void) {
  cns_fn real = __atomic_load_n(&real_cns, __ATOMIC_ACQUIRE);
  if (GA_UNLIKELY(!real)) {
    real = (cns_fn)dlsym(RTLD_NEXT, "clock_nanosleep");
    if (!real) real = sys_cns;
    __atomic_store_n(&real_cns, real, __ATOMIC_RELEASE);
  }
  return real;
}

/* Looked up at load time, not on the first sleep, which may be in a
 * signal handler. */
__attribute__((constructor)) static void resolve_libc_sleep(void) { libc_cns(); }

/* A sleep across pauses if the collector can: -1 if not, else 0 or an
 * errno value. */
static inline int gc_sleep(clockid_t clk, int flags, const struct timespec *req,
                           struct timespec *rem) {
  if (GA_LIKELY(!__atomic_load_n(&ga_gc_mode, __ATOMIC_RELAXED))) return -1;
  return ga_gc_signals_sleep(clk, flags, req, rem, libc_cns());
}

EXPORT int clock_nanosleep(clockid_t clk, int flags, const struct timespec *req,
                           struct timespec *rem) {
  int r = gc_sleep(clk, flags, req, rem);
  if (r >= 0) return r;
  return libc_cns()(clk, flags, req, rem);
}

EXPORT int nanosleep(const struct timespec *req, struct timespec *rem) {
  int r = gc_sleep(CLOCK_REALTIME, 0, req, rem);
  if (r < 0) return __nanosleep(req, rem);
  if (r) {
    errno = r;
    return -1;
  }
  return 0;
}

/* glibc's usleep and sleep call its internal nanosleep, not ours. */
EXPORT int usleep(useconds_t us) {
  struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};
  return nanosleep(&ts, NULL);
}

EXPORT unsigned int sleep(unsigned int seconds) {
  int saved = errno;
  struct timespec ts = {(time_t)seconds, 0};
  if (nanosleep(&ts, &ts) < 0) return (unsigned)ts.tv_sec; /* glibc 2.36 truncates */
  errno = saved;
  return 0;
}

EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old) {
  return ga_gc_signals_sigaction(sig, act, old);
}

/* signal() and its variants install through glibc's internal sigaction,
 * which is not interposed: the same actions through ours. */
static __sighandler_t install(int sig, __sighandler_t h, int flags, bool self_mask) {
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = h;
  sa.sa_flags = flags;
  sigemptyset(&sa.sa_mask);
  if (self_mask && sig > 0 && sig < _NSIG) sigaddset(&sa.sa_mask, sig);
  if (sig <= 0 || sig >= _NSIG || h == SIG_ERR) {
    errno = EINVAL;
    return SIG_ERR;
  }
  if (ga_gc_signals_sigaction(sig, &sa, &old) < 0) return SIG_ERR;
  return old.sa_handler;
}

/* libc's own signal() under a name goalloc does not interpose: glibc's
 * __bsd_signal is also exported as ssignal. */
extern __sighandler_t ssignal(int sig, __sighandler_t h);

/* BSD semantics, glibc's signal(): the handler stays, the signal is
 * blocked while it runs, calls restart (with the collector on, also after
 * siginterrupt(sig, 1), whose record is glibc's own). With the collector
 * off, libc's call as it is. */
EXPORT __sighandler_t signal(int sig, __sighandler_t h) {
  if (GA_LIKELY(!__atomic_load_n(&ga_gc_signals_wrapped, __ATOMIC_SEQ_CST))) {
    __sighandler_t r = ssignal(sig, h);
    if (r != SIG_ERR) { /* raced with the turn-on? */
      r = ga_gc_signals_program_handler(sig, r);
      ga_gc_signals_installed(sig);
    }
    return r;
  }
  return install(sig, h, SA_RESTART, true);
}
EXPORT __sighandler_t bsd_signal(int sig, __sighandler_t h) { return signal(sig, h); }

/* System V semantics (glibc's __sysv_signal, which strict ISO C programs'
 * signal() calls): reset to the default on delivery, not blocked, not
 * restarted; the same flags as glibc, SA_INTERRUPT included. */
#ifndef SA_INTERRUPT
#define SA_INTERRUPT 0x20000000
#endif
EXPORT __sighandler_t sysv_signal(int sig, __sighandler_t h) {
  return install(sig, h, SA_RESETHAND | SA_NODEFER | SA_INTERRUPT, false);
}
EXPORT __sighandler_t __sysv_signal(int sig, __sighandler_t h) { return sysv_signal(sig, h); }
