/* gc_hold_back_wake: threads held back past the hard limit (collector.c,
 * hold_back) must not take the wake-up meant for a thread waiting for the
 * collector's lock. They used to wait on the lock's own futex word; the
 * unlock at the end of a collection wakes one waiter, and when that was a
 * held-back thread the explicit goalloc_gc_collect() queued behind it slept
 * forever on a free lock (gc_stress hung that way: its collector thread
 * blocked in ga_mutex_lock_slow, nothing running).
 *
 * Here: thread X's explicit collection runs a finalizer that sleeps, so X
 * holds the collector; a thread drops garbage past the hard limit and is
 * held back; near the end, thread B calls goalloc_gc_collect() and blocks on
 * the lock; the finalizer disables automatic cycles and returns once B
 * sleeps (the held-back thread, which re-waits every millisecond, is then
 * often queued before B). B must get the lock (alarm: a hang fails).
 * Repeated 10 times (the old library hung in the first few). Exits 0 and
 * prints "ok". */
#define _GNU_SOURCE
#include <goalloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile int in_finalizer, finalizer_done, go_b, stop_droppers;
static volatile pid_t b_tid;

/* Is thread tid asleep in futex(2)? (/proc/self/task/T/syscall: 202.) */
static int asleep_in_futex(pid_t tid) {
  char path[64], buf[64];
  snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)tid);
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  int ok = fgets(buf, sizeof buf, f) && strncmp(buf, "202 ", 4) == 0;
  fclose(f);
  return ok;
}

static void slow_finalizer(void *obj, void *arg) {
  (void)obj;
  (void)arg;
  in_finalizer = 1;
  usleep(300 * 1000); /* the droppers pass the hard limit and are held back */
  go_b = 1;
  for (int i = 0; i < 2000 && !(b_tid && asleep_in_futex(b_tid)); i++) usleep(500);
  /* No cycle after this one may start on its own: its stop signal would
   * interrupt B's futex wait and so rescue it. */
  stop_droppers = 1;
  goalloc_gc_disable();
  finalizer_done = 1;
}

static __attribute__((noinline)) void make_finalizable(void) {
  void *o = malloc(64);
  goalloc_gc_register_finalizer(o, slow_finalizer, NULL);
}

static __attribute__((noinline)) void clear_stack(void) {
  volatile char b[65536];
  memset((char *)b, 0, sizeof b);
}

static void *thread_x(void *arg) {
  (void)arg;
  make_finalizable();
  clear_stack();
  for (int i = 0; i < 50 && !in_finalizer; i++) goalloc_gc_collect();
  return NULL;
}

static void *thread_b(void *arg) {
  (void)arg;
  while (!go_b) usleep(100);
  b_tid = (pid_t)syscall(SYS_gettid);
  goalloc_gc_collect(); /* blocks on the collector's lock until X is done */
  return NULL;
}

static void *dropper(void *arg) {
  (void)arg;
  while (!in_finalizer) usleep(1000);
  while (!stop_droppers) {
    void *volatile g = malloc(256);
    (void)g;
  }
  return NULL;
}

static void on_alarm(int sig) {
  (void)sig;
  static const char msg[] = "FAIL: goalloc_gc_collect never got the lock (lost wake-up)\n";
  if (write(2, msg, sizeof msg - 1)) {}
  _exit(1);
}

int main(void) {
  goalloc_gc_init();
  signal(SIGALRM, on_alarm);
  for (int round = 0; round < 10; round++) {
    in_finalizer = finalizer_done = go_b = stop_droppers = 0;
    b_tid = 0;
    alarm(20);
    pthread_t x, b, d;
    pthread_create(&x, NULL, thread_x, NULL);
    pthread_create(&b, NULL, thread_b, NULL);
    pthread_create(&d, NULL, dropper, NULL);
    pthread_join(x, NULL);
    pthread_join(b, NULL);
    pthread_join(d, NULL);
    alarm(0);
    goalloc_gc_enable();
  }
  printf("ok\n");
  return 0;
}
