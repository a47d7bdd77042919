/* gc/signals.h: sleeps that a stop-the-world does not cut short, and the
 * wrapping of the program's signal handlers that makes that possible.
 *
 * A pause stops every registered thread with a signal; a thread asleep in
 * nanosleep and friends then returns EINTR (the kernel never restarts a
 * sleep after a handler ran, SA_RESTART or not), so without this every
 * collection would cut short every sleep of the program: `sleep(5)` in a
 * loop would last a few milliseconds. bdwgc has that behaviour.
 *
 * With the collector on, goalloc's nanosleep, clock_nanosleep, usleep and
 * sleep (preload/override_signal.c) sleep in libc's clock_nanosleep up to
 * an absolute monotonic deadline and sleep again when only the stop
 * signal interrupted it. To tell that case from an interruption by one of
 * the program's signals (which must return EINTR as before), the
 * program's handlers are wrapped: the interposed sigaction and signal
 * install a trampoline that counts, per thread, the program handlers that
 * ran, then calls the program's handler. After an EINTR the sleep goes on
 * only if the thread's stop generation moved and that count did not move
 * since the call began; the count is checked again right before each new
 * sleep. A program signal whose handler runs in the few instructions
 * between that check and the kernel's entry is missed (the sleep lasts its
 * full time): the same race as a signal that lands just before a program's
 * own nanosleep call, which no program can tell apart. The signal mask is
 * never touched, so nothing needs restoring when the thread is cancelled
 * in the sleep or a handler siglongjmps out of it. (An earlier version
 * blocked signals around ppoll to close that window; the cleanup that
 * restored the mask had to be unwinder-based, since glibc's setjmp-based
 * one stays registered after a siglongjmp, and -fexceptions made
 * libgcc_s a dependency of libgoalloc, with which gc_fork_zombie's child
 * crashed in _dl_fini in collect mode: the anonymous roots were lost once
 * the main thread had exited, since fixed, docs/GC.md.)
 *
 * Handlers installed before the collector is turned on are wrapped when it
 * is (ga_gc_signals_enable reads the kernel's table). Not covered: handlers
 * installed with the raw rt_sigaction system call, sigset() or ssignal()
 * (a signal they handle during a sleep that a stop also interrupted is
 * taken for the stop: the sleep lasts its full time); clocks other than
 * CLOCK_MONOTONIC and CLOCK_REALTIME, and absolute CLOCK_REALTIME
 * deadlines (libc's call as before: a pause cuts them short). */
#ifndef GA_GC_SIGNALS_H
#define GA_GC_SIGNALS_H

#include <signal.h>
#include <stdbool.h>
#include <time.h>

/* The collector is being turned on: wrap the handlers installed so far;
 * from then on the sleeps below keep sleeping across pauses. */
void ga_gc_signals_enable(void);

/* Handlers are wrapped (the collector was turned on). */
extern bool ga_gc_signals_wrapped;

/* A handler was installed for sig without the table (libc's signal()
 * while the collector was off): wrap it if the collector came on
 * meanwhile. */
void ga_gc_signals_installed(int sig);
/* h as the program knows it: its own handler if h is goalloc's
 * trampoline (libc's signal() racing with the turn-on returned it). */
__sighandler_t ga_gc_signals_program_handler(int sig, __sighandler_t h);
/* A fork child: the table lock may have been held by another thread. */
void ga_gc_signals_fork_child(void);

/* The interposed sigaction (the program's view: its own handler and flags
 * in *old, whatever the kernel holds). */
int ga_gc_signals_sigaction(int sig, const struct sigaction *act, struct sigaction *old);

/* clock_nanosleep's contract (0 or an errno value; *rem for relative
 * sleeps cut short), sleeping across pauses where it can. */
int ga_gc_signals_sleep(clockid_t clk, int flags, const struct timespec *req,
                        struct timespec *rem,
                        int (*real)(clockid_t, int, const struct timespec *, struct timespec *));

#endif
