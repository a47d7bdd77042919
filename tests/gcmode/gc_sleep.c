/* gc_sleep: a collection's pause does not cut the program's sleeps short,
 * and the program's own signals still do (src/gc/signals.h).
 *
 * While a thread collects every millisecond or so (each pause signals
 * every registered thread):
 *   1. nanosleep, usleep, sleep, clock_nanosleep (monotonic relative and
 *      absolute, realtime relative) return 0 after their full time;
 *   2. a program signal sent while a thread sleeps interrupts it: EINTR
 *      (nanosleep, usleep, clock_nanosleep), the unslept seconds (sleep),
 *      the remaining time in *rem, its handler run once; 40 rounds, with
 *      handlers installed by sigaction (SA_SIGINFO or not) and signal();
 *   3. sigaction reports the program's handler and flags, signal() the
 *      previous handler;
 *   4. a thread cancelled in nanosleep exits, with the program's signal
 *      mask back in its cleanup handlers, and collections go on;
 *   5. a handler that siglongjmps out of a sleep leaves nothing behind: the
 *      thread's later pthread_exit works (the sleep's cleanup was once
 *      glibc's setjmp-based kind, left registered pointing into a dead
 *      frame: the exit crashed; review finding).
 * sleep() returns the unslept seconds truncated, as glibc 2.36's.
 * Argument "api": the collector is turned on by goalloc_gc_init() after
 * the SIGUSR1 handler was installed (wrapped then); otherwise run with
 * GOALLOC_GC=collect. */
#define _GNU_SOURCE
#include <errno.h>
#include <goalloc.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile int stop_collecting;
static volatile int handled, handled_info;
static int failures;

#define CHECK(cond, ...)                                                                 \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      fprintf(stderr, "FAIL: " __VA_ARGS__);                                             \
      fprintf(stderr, "\n");                                                             \
      failures++;                                                                        \
    }                                                                                    \
  } while (0)

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static uint64_t cycles(void) {
  goalloc_gc_stats_t st = {.struct_size = sizeof st};
  goalloc_gc_get_stats(&st);
  return st.cycles;
}

static void *collector(void *arg) {
  (void)arg;
  while (!stop_collecting) {
    for (int i = 0; i < 200; i++) free(malloc(64));
    goalloc_gc_collect();
    struct timespec ts = {0, 500000};
    nanosleep(&ts, NULL);
  }
  return NULL;
}

static void on_usr1(int sig) {
  (void)sig;
  handled++;
}

static void on_usr1_info(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  if (sig == SIGUSR1 && si && si->si_signo == SIGUSR1) handled_info++;
}

/* 1. Full sleeps across pauses. */
static void full_sleeps(void) {
  struct timespec ts = {0, 300000000}, rem;
  uint64_t c0 = cycles();
  double t0 = now();
  int r = nanosleep(&ts, &rem);
  double dt = now() - t0;
  CHECK(r == 0 && dt >= 0.299, "nanosleep: %d (errno %d) after %.3f s", r, errno, dt);
  t0 = now();
  r = usleep(300000);
  dt = now() - t0;
  CHECK(r == 0 && dt >= 0.299, "usleep: %d (errno %d) after %.3f s", r, errno, dt);
  t0 = now();
  unsigned left = sleep(1);
  dt = now() - t0;
  CHECK(left == 0 && dt >= 0.999, "sleep: %u left after %.3f s", left, dt);
  t0 = now();
  r = clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &rem);
  dt = now() - t0;
  CHECK(r == 0 && dt >= 0.299, "clock_nanosleep monotonic: %d after %.3f s", r, dt);
  t0 = now();
  r = clock_nanosleep(CLOCK_REALTIME, 0, &ts, &rem);
  dt = now() - t0;
  CHECK(r == 0 && dt >= 0.299, "clock_nanosleep realtime: %d after %.3f s", r, dt);
  struct timespec until;
  clock_gettime(CLOCK_MONOTONIC, &until);
  until.tv_nsec += 300000000;
  if (until.tv_nsec >= 1000000000) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000;
  }
  t0 = now();
  r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL);
  dt = now() - t0;
  CHECK(r == 0 && dt >= 0.299, "clock_nanosleep absolute: %d after %.3f s", r, dt);
  uint64_t n = cycles() - c0;
  printf("full sleeps: %lu collections during 2.5 s of sleeps\n", (unsigned long)n);
  CHECK(n >= 20, "only %lu collections ran during the sleeps: the test shows nothing",
        (unsigned long)n);
}

/* 2. Program signals interrupt sleeps: the sleeper announces each round,
 * the sender signals it 5-50 ms into its sleep. */
static volatile int round_asleep;
static pthread_t sleeper_thread;

enum { ROUNDS = 40 };

static void *sender(void *arg) {
  (void)arg;
  unsigned seed = 12345;
  for (int i = 1; i <= ROUNDS; i++) {
    while (round_asleep != i) sched_yield();
    struct timespec ts = {0, (long)(5 + rand_r(&seed) % 45) * 1000000};
    while (nanosleep(&ts, &ts) != 0) {
    }
    pthread_kill(sleeper_thread, SIGUSR1);
  }
  return NULL;
}

static void interrupted_sleeps(void) {
  sleeper_thread = pthread_self();
  pthread_t s;
  pthread_create(&s, NULL, sender, NULL);
  int h0 = handled + handled_info;
  int eintr = 0;
  for (int i = 1; i <= ROUNDS; i++) {
    int before = handled + handled_info;
    struct timespec ts = {2, 0}, rem = {0, 0};
    double t0 = now();
    round_asleep = i;
    int r, ok;
    switch (i % 4) {
    case 0:
      r = nanosleep(&ts, &rem);
      ok = r == -1 && errno == EINTR && rem.tv_sec >= 1;
      break;
    case 1:
      r = usleep(2000000);
      ok = r == -1 && errno == EINTR;
      break;
    case 2:
      r = (int)sleep(2);
      ok = r == 1; /* 1.95-1.995 s left: glibc truncates */
      break;
    default:
      r = clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &rem);
      ok = r == EINTR && rem.tv_sec >= 1;
      break;
    }
    double dt = now() - t0;
    ok = ok && dt < 1.0 && handled + handled_info == before + 1;
    CHECK(ok, "round %d (kind %d): result %d after %.3f s, %d handler runs", i, i % 4, r, dt,
          handled + handled_info - before);
    eintr += ok;
  }
  pthread_join(s, NULL);
  printf("signals: %d of %d sleeps interrupted by their signal, %d handler runs\n", eintr,
         ROUNDS, handled + handled_info - h0);
}

/* 3. What sigaction and signal() report. */
static void reporting(void) {
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  CHECK(sigaction(SIGUSR2, &sa, NULL) == 0, "sigaction(SIGUSR2)");
  CHECK(sigaction(SIGUSR2, NULL, &old) == 0, "sigaction query");
  CHECK(old.sa_handler == on_usr1, "sigaction reports %p, installed %p", (void *)old.sa_handler,
        (void *)on_usr1);
  CHECK(!(old.sa_flags & SA_SIGINFO) && (old.sa_flags & SA_RESTART),
        "sigaction reports flags %#x", old.sa_flags);
  sa.sa_sigaction = on_usr1_info;
  sa.sa_flags = SA_SIGINFO;
  CHECK(sigaction(SIGUSR2, &sa, &old) == 0 && old.sa_handler == on_usr1,
        "the previous handler as old");
  CHECK(sigaction(SIGUSR2, NULL, &old) == 0 && old.sa_sigaction == on_usr1_info &&
            (old.sa_flags & SA_SIGINFO),
        "an SA_SIGINFO handler reported back");
  CHECK((void *)signal(SIGUSR2, on_usr1) == (void *)on_usr1_info, "signal() returns the previous");
  CHECK(signal(SIGUSR2, SIG_DFL) == on_usr1, "signal() returns the previous (2)");
  CHECK(signal(SIGUSR2, SIG_DFL) == SIG_DFL, "signal(): SIG_DFL as it is");
  CHECK(signal(0, on_usr1) == SIG_ERR && errno == EINVAL, "signal(0) fails with EINVAL");
  /* SA_RESETHAND: after the delivery, SIG_DFL with the program's flags. */
  sa.sa_handler = on_usr1;
  sa.sa_flags = SA_RESETHAND;
  sigaction(SIGUSR2, &sa, NULL);
  raise(SIGUSR2);
  CHECK(sigaction(SIGUSR2, NULL, &old) == 0 && old.sa_handler == SIG_DFL &&
            !(old.sa_flags & SA_SIGINFO),
        "after an SA_RESETHAND delivery: %p, flags %#x", (void *)old.sa_handler, old.sa_flags);
  /* The handler runs, with the signal (and errno) as the program set up. */
  int h = handled;
  signal(SIGUSR2, on_usr1);
  raise(SIGUSR2);
  CHECK(handled == h + 1, "the handler installed by signal() ran %d times", handled - h);
  signal(SIGUSR2, SIG_DFL);
}

/* 4. Cancellation inside the sleep. */
static volatile int mask_ok = -1;

static void cleanup(void *arg) {
  (void)arg;
  sigset_t cur;
  pthread_sigmask(SIG_BLOCK, NULL, &cur);
  mask_ok = !sigismember(&cur, SIGUSR1) && !sigismember(&cur, SIGTERM);
}

static void *cancelled(void *arg) {
  (void)arg;
  free(malloc(100)); /* registered, with a cache */
  pthread_cleanup_push(cleanup, NULL);
  struct timespec ts = {30, 0};
  nanosleep(&ts, NULL);
  pthread_cleanup_pop(0);
  return NULL;
}

static void cancellation(void) {
  pthread_t t;
  pthread_create(&t, NULL, cancelled, NULL);
  usleep(100000);
  double t0 = now();
  pthread_cancel(t);
  void *ret;
  pthread_join(t, &ret);
  double dt = now() - t0;
  CHECK(ret == PTHREAD_CANCELED && dt < 5, "cancelled sleeper: %p after %.3f s", ret, dt);
  CHECK(mask_ok == 1, "the cancelled thread's cleanup saw a blocked mask (%d)", mask_ok);
  uint64_t c = cycles();
  goalloc_gc_collect();
  CHECK(cycles() > c, "no collection after the cancellation");
}

/* 5. siglongjmp out of a sleep, then pthread_exit. */
static sigjmp_buf jump_env;

static void jump_out(int sig) {
  (void)sig;
  siglongjmp(jump_env, 1);
}

static __attribute__((noinline)) void clobber(int n) {
  volatile char buf[4096];
  memset((char *)buf, 0x5a, sizeof buf);
  if (n) clobber(n - 1);
}

static void *jumper(void *arg) {
  (void)arg;
  free(malloc(100));
  int jumped = 0;
  if (sigsetjmp(jump_env, 1) == 0) {
    struct timespec ts = {5, 0};
    nanosleep(&ts, NULL);
  } else {
    jumped = 1;
  }
  clobber(4); /* over the dead frame of the sleep */
  pthread_exit((void *)(intptr_t)(jumped ? 42 : 1));
}

static void long_jump(void) {
  struct sigaction sa, prev;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = jump_out;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGURG, &sa, &prev);
  pthread_t t;
  pthread_create(&t, NULL, jumper, NULL);
  usleep(200000);
  pthread_kill(t, SIGURG);
  void *ret;
  pthread_join(t, &ret);
  CHECK(ret == (void *)42, "siglongjmp out of a sleep, then pthread_exit: %p", ret);
  sigaction(SIGURG, &prev, NULL);
}

int main(int argc, char **argv) {
  int api = argc > 1 && strcmp(argv[1], "api") == 0;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, NULL);
  if (api) {
    goalloc_gc_init();
    struct sigaction old;
    sigaction(SIGUSR1, NULL, &old);
    CHECK(old.sa_handler == on_usr1, "the handler installed before the collector: %p",
          (void *)old.sa_handler);
  }
  CHECK(goalloc_gc_mode() != GOALLOC_GC_OFF, "the collector is off");
  pthread_t c;
  pthread_create(&c, NULL, collector, NULL);
  full_sleeps();
  if (!api) {
    /* Half the rounds with an SA_SIGINFO handler installed by sigaction. */
    interrupted_sleeps();
    sa.sa_sigaction = on_usr1_info;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, NULL);
    interrupted_sleeps();
    signal(SIGUSR1, on_usr1);
  }
  interrupted_sleeps();
  reporting();
  cancellation();
  long_jump();
  stop_collecting = 1;
  pthread_join(c, NULL);
  printf("%s\n", failures ? "FAILED" : "ok");
  return failures != 0;
}
