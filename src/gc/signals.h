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
 * sleep (preload/override_signal.c) sleep in ppoll() with the program's
 * signal mask, every other signal but the stop signal (and glibc's two
 * internal ones) blocked around it, and sleep again for the time left when
 * ppoll was interrupted by the stop signal alone. To tell that case from an
 * interruption by one of the program's signals (which must return EINTR as
 * before), the program's handlers are wrapped: the interposed sigaction and
 * signal install a trampoline that counts, per thread, the program handlers
 * that ran, then calls the program's handler. ppoll runs one handler per
 * interruption (the blocked mask is back when it returns to user space), so
 * after an EINTR either the stop handler ran (the thread's stopped_gen
 * moved) or a program handler did (the count moved). A program signal that
 * arrives outside ppoll stays pending (blocked) and interrupts the next
 * ppoll at once, so it is never lost.
 *
 * Handlers installed before the collector is turned on are wrapped when it
 * is (ga_gc_signals_enable reads the kernel's table). Not covered: handlers
 * installed with the raw rt_sigaction system call or sigset(); a signal
 * they handle during a sleep that a stop also interrupted is taken for the
 * stop (the sleep goes on for its full time). Clocks other than
 * CLOCK_MONOTONIC and CLOCK_REALTIME, and absolute CLOCK_REALTIME
 * deadlines, go to libc's call as before (a pause cuts them short). */
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

/* The interposed sigaction (the program's view: its own handler and flags
 * in *old, whatever the kernel holds). */
int ga_gc_signals_sigaction(int sig, const struct sigaction *act, struct sigaction *old);

/* clock_nanosleep's contract (0 or an errno value; *rem for relative
 * sleeps cut short), sleeping across pauses where it can. */
int ga_gc_signals_sleep(clockid_t clk, int flags, const struct timespec *req,
                        struct timespec *rem);

#endif
