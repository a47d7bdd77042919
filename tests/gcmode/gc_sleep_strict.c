/* gc_sleep_strict: in a strict ISO C / POSIX program (no _GNU_SOURCE),
 * glibc's <signal.h> turns signal() into __sysv_signal, which goalloc
 * interposes too: with the collector on, the handler goes behind goalloc's
 * counting trampoline (gc/signals.h), so its signal during a sleep is never
 * taken for a stop's. Checked by asking libc's own sigaction (__sigaction,
 * not interposed) what the kernel holds: not the program's function.
 * Before __sysv_signal was interposed it was (review finding). Then the
 * handler's signal interrupts a sleep: EINTR, handler run once, reset to
 * SIG_DFL (System V semantics). Then an action read with libc's own
 * sigaction (goalloc's trampoline, as a program could get it while the
 * collector was being turned on) and installed again through sigaction:
 * the program's handler still runs once (the trampoline once stored
 * itself as the handler and called itself forever: review finding; an
 * alarm ends such a run). Run with GOALLOC_GC=collect. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

extern int __sigaction(int sig, const struct sigaction *act, struct sigaction *old);

static volatile sig_atomic_t handled;

static void on_usr1(int sig) {
  (void)sig;
  handled++;
}

static volatile sig_atomic_t handled2;

static void on_usr2(int sig) {
  (void)sig;
  handled2++;
}

static void *sender(void *arg) {
  struct timespec ts = {0, 100000000};
  while (nanosleep(&ts, &ts) != 0) {
  }
  pthread_kill(*(pthread_t *)arg, SIGUSR1);
  return NULL;
}

int main(void) {
  int fail = 0;
  if (signal(SIGUSR1, on_usr1) == SIG_ERR) return 2;
  struct sigaction k;
  __sigaction(SIGUSR1, NULL, &k);
  if (k.sa_handler == on_usr1) {
    fprintf(stderr, "FAIL: signal() (__sysv_signal) installed the handler unwrapped\n");
    fail = 1;
  }
  struct sigaction rep;
  sigaction(SIGUSR1, NULL, &rep);
  if (rep.sa_handler != on_usr1) {
    fprintf(stderr, "FAIL: sigaction reports %p, not the program's handler\n", (void *)rep.sa_handler);
    fail = 1;
  }
  pthread_t self = pthread_self(), s;
  pthread_create(&s, NULL, sender, &self);
  struct timespec ts = {3, 0}, rem = {0, 0};
  int r = nanosleep(&ts, &rem);
  int e = errno;
  pthread_join(s, NULL);
  if (!(r == -1 && e == EINTR && handled == 1 && rem.tv_sec >= 2)) {
    fprintf(stderr, "FAIL: nanosleep %d (errno %d), %d handler runs, %ld s left\n", r, e,
            (int)handled, (long)rem.tv_sec);
    fail = 1;
  }
  sigaction(SIGUSR1, NULL, &rep);
  if (rep.sa_handler != SIG_DFL) {
    fprintf(stderr, "FAIL: not reset to SIG_DFL after the delivery\n");
    fail = 1;
  }
  struct sigaction sa, raw;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;
  sa.sa_handler = on_usr2;
  sigaction(SIGUSR2, &sa, NULL);
  __sigaction(SIGUSR2, NULL, &raw); /* the kernel's: the trampoline */
  sigaction(SIGUSR2, &raw, NULL);
  alarm(5);
  raise(SIGUSR2);
  alarm(0);
  if (handled2 != 1) {
    fprintf(stderr, "FAIL: after reinstalling the raw action, %d handler runs\n", (int)handled2);
    fail = 1;
  }
  printf("strict signal(): %s\n", fail ? "FAILED" : "ok");
  return fail;
}
