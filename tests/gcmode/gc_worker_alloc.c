/* gc_worker_alloc: goalloc's own threads (the background worker that runs
 * automatic cycles and their finalizers) must never be registered with the
 * collector, even when they allocate: they block every signal, so a
 * registered one would never answer a stop and the next pause would wait
 * forever. Here finalizers that malloc run on the worker, then the main
 * thread collects explicitly (alarm: a hang fails). Found when the worker
 * started a thread of its own (an experimental pause helper: pthread_create
 * allocates the new thread's TLS in its creator, with the stop signal
 * opened for the creator); that case failed 6/6 before the fix. Exits 0
 * and prints "ok". */
#include <goalloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile int on_other_thread, ran;
static pid_t main_tid;

static void fin(void *obj, void *arg) {
  (void)obj;
  (void)arg;
  void *volatile p = malloc(200); /* the worker allocates */
  free(p);
  if ((pid_t)syscall(SYS_gettid) != main_tid) on_other_thread = 1;
  ran++;
}

static void on_alarm(int sig) {
  (void)sig;
  static const char msg[] = "FAIL: a collection hung (an internal thread is registered?)\n";
  if (write(2, msg, sizeof msg - 1)) {}
  _exit(1);
}

int main(void) {
  signal(SIGALRM, on_alarm);
  alarm(30);
  main_tid = (pid_t)syscall(SYS_gettid);
  goalloc_gc_init();
  for (int round = 0; round < 2000 && !on_other_thread; round++) {
    for (int i = 0; i < 16; i++) {
      void *o = goalloc_gc_malloc(64);
      goalloc_gc_register_finalizer(o, fin, NULL);
    }
    /* Garbage: automatic cycles, run by the worker. */
    for (int i = 0; i < 2000; i++) {
      void *volatile g = goalloc_gc_malloc(512);
      (void)g;
    }
  }
  if (!on_other_thread) {
    fprintf(stderr, "SKIP-LIKE FAIL: no finalizer ran on the worker (ran %d)\n", ran);
    return 1;
  }
  for (int i = 0; i < 20; i++) goalloc_gc_collect();
  printf("ok (%d finalizers)\n", ran);
  return 0;
}
