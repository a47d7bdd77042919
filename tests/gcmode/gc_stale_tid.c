/* gc_stale_tid: a registered thread that exits without unregistering
 * leaves a record whose thread id the kernel later gives to another
 * thread. If that thread is one of goalloc's own (they block every
 * signal), a stop signals it, no answer ever comes, and the pause waits
 * forever. Here: thread A registers (it allocates), then ends with a raw
 * SYS_exit (no destructors run, so its record stays); the pid namespace's
 * next id is set to A's (/proc/sys/kernel/ns_last_pid, needs root) and the
 * program allocates until an automatic cycle starts the collector's worker
 * thread, which gets A's id; then the main thread collects explicitly
 * (alarm: a hang fails). Each attempt runs in a fresh child process; when
 * another process takes the id first the attempt is retried, and after 8
 * misses, or without the right to set ns_last_pid, the test is skipped
 * (77). Prints "ok" on success. */
#define _GNU_SOURCE
#include <goalloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile pid_t a_tid;

static void *thread_a(void *arg) {
  (void)arg;
  void *volatile p = malloc(100); /* registers this thread (cache.c) */
  free(p);
  a_tid = (pid_t)syscall(SYS_gettid);
  syscall(SYS_exit, 0); /* no key destructors: the record stays */
  return NULL;
}

static int task_exists(pid_t tid) {
  char path[64];
  struct stat st;
  snprintf(path, sizeof path, "/proc/self/task/%d", (int)tid);
  return stat(path, &st) == 0;
}

static void on_alarm(int sig) {
  (void)sig;
  static const char msg[] = "FAIL: the collection hung (stale record, reused tid)\n";
  if (write(2, msg, sizeof msg - 1)) {}
  _exit(1);
}

/* One attempt: 0 passed, 1 failed, 77 the id was not reused, 2 no rights. */
static int attempt(void) {
  pthread_t a;
  if (pthread_create(&a, NULL, thread_a, NULL)) return 1;
  /* The kernel clears the thread's id word on SYS_exit, so join returns. */
  pthread_join(a, NULL);
  pid_t x = a_tid;
  for (int i = 0; i < 1000 && task_exists(x); i++) usleep(1000);
  if (task_exists(x)) return 77;
  FILE *f = fopen("/proc/sys/kernel/ns_last_pid", "w");
  if (!f) return 2;
  int ok = fprintf(f, "%d", (int)x - 1) > 0;
  if (fclose(f) != 0 || !ok) return 2;
  /* Garbage until an automatic cycle kicks the worker (first start). */
  goalloc_gc_stats_t st = {.struct_size = sizeof st};
  for (int i = 0; i < 200000 && !task_exists(x); i++) {
    void *volatile g = malloc(1024);
    (void)g;
  }
  for (int i = 0; i < 1000 && !task_exists(x); i++) usleep(1000);
  if (!task_exists(x)) return 77; /* another process got the id */
  signal(SIGALRM, on_alarm);
  alarm(20);
  for (int i = 0; i < 5; i++) goalloc_gc_collect();
  alarm(0);
  goalloc_gc_get_stats(&st);
  return st.cycles >= 5 ? 0 : 1;
}

int main(void) {
  if (goalloc_gc_mode() != GOALLOC_GC_COLLECT) {
    fprintf(stderr, "gc_stale_tid: run with GOALLOC_GC=collect\n");
    return 2;
  }
  for (int tries = 0; tries < 8; tries++) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid == 0) _exit(attempt());
    int status;
    if (waitpid(pid, &status, 0) != pid) return 1;
    if (!WIFEXITED(status)) {
      fprintf(stderr, "FAIL: attempt ended by signal %d\n", WTERMSIG(status));
      return 1;
    }
    int rc = WEXITSTATUS(status);
    if (rc == 0) {
      printf("ok (attempt %d)\n", tries + 1);
      return 0;
    }
    if (rc == 2) {
      printf("SKIP: cannot set /proc/sys/kernel/ns_last_pid (not root?)\n");
      return 77;
    }
    if (rc != 77) return 1;
  }
  printf("SKIP: the thread id was taken by another process 8 times\n");
  return 77;
}
