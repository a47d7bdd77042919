/* gc_cancel: threads cancelled inside blocking calls while another thread
 * collects without pause. glibc runs a cancelled thread's cleanup
 * handlers, where goalloc unregisters it, with every signal blocked; the
 * thread then waited for the registry lock that a stop-the-world held
 * while waiting for that thread's answer to a signal it could not take:
 * the collection hung forever (before the fix: within ~300 cancellations
 * in ppoll, every run). Each kind of call is cancelled N times (argument,
 * default 300): ppoll (glibc's), nanosleep (goalloc's sleep), a condition
 * wait, read() on an empty pipe. Half the threads allocated first (they
 * unregister from the cache's key destructor), half never did (from
 * pthread_create's cleanup). Exits 0 when every join returned
 * PTHREAD_CANCELED; a hang is the failure (meson's timeout). */
#define _GNU_SOURCE
#include <goalloc.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static volatile int stop;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int pipefd[2];

static void *collector(void *arg) {
  (void)arg;
  while (!stop) {
    for (int i = 0; i < 200; i++) free(malloc(64));
    goalloc_gc_collect();
  }
  return NULL;
}

static void unlock(void *m) { pthread_mutex_unlock(m); }

static void *blocker(void *arg) {
  uintptr_t v = (uintptr_t)arg;
  if (v & 4) free(malloc(100));
  struct timespec ts = {30, 0};
  char c;
  /* Every call again when it returns: the stop signal interrupts ppoll
   * (EINTR); only the cancellation ends the thread. */
  switch (v & 3) {
  case 0:
    for (;;) ppoll(NULL, 0, &ts, NULL);
  case 1:
    for (;;) nanosleep(&ts, NULL);
  case 2:
    pthread_mutex_lock(&mu);
    pthread_cleanup_push(unlock, &mu);
    for (;;) pthread_cond_wait(&cv, &mu);
    pthread_cleanup_pop(1);
    break;
  default:
    for (;;)
      if (read(pipefd[0], &c, 1) == 1) break;
    break;
  }
  return NULL;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 300;
  goalloc_gc_init();
  if (pipe(pipefd) != 0) return 2;
  pthread_t c;
  pthread_create(&c, NULL, collector, NULL);
  int bad = 0;
  for (int i = 0; i < 4 * n; i++) {
    pthread_t t;
    if (pthread_create(&t, NULL, blocker, (void *)(uintptr_t)(i & 7)) != 0) return 2;
    struct timespec d = {0, (1 + i % 3) * 1000000L};
    clock_nanosleep(CLOCK_MONOTONIC, 0, &d, NULL);
    pthread_cancel(t);
    void *ret;
    pthread_join(t, &ret);
    bad += ret != PTHREAD_CANCELED;
  }
  stop = 1;
  pthread_join(c, NULL);
  goalloc_gc_stats_t st = {.struct_size = sizeof st};
  goalloc_gc_get_stats(&st);
  printf("%d threads cancelled in blocking calls during %lu collections, %d not cancelled\n",
         4 * n, (unsigned long)st.cycles, bad);
  return bad != 0;
}
