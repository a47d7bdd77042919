/* gc_cancel: threads cancelled inside blocking calls while another thread
 * collects without pause.
 *
 * The stop handler blocked every signal but glibc's cancellation signal
 * (sigfillset leaves it out), and a thread stopped inside a cancellable
 * call runs with asynchronous cancellation on: pthread_cancel unwound it
 * out of the stop handler while it counted as stopped, and its cleanup
 * handlers then ran during the pause with every signal blocked (review
 * finding: 137 in 1364). Such a thread, unregistering, waited for the
 * registry lock the next stop held while that stop waited for its answer:
 * the collection hung for good (within ~300 cancellations, every run), or,
 * in a cleanup that needs a mutex another thread holds (a condition wait's),
 * before it even got there.
 *
 * Each kind of call is cancelled N times (argument, default 300): ppoll
 * (glibc's), nanosleep (goalloc's sleep), a condition wait whose mutex a
 * third thread keeps taking, read() on an empty pipe. Half the threads
 * allocated first (they unregister from the cache's key destructor), half
 * never did (from pthread_create's cleanup). Every cleanup handler checks
 * that it does not run with the stop signal blocked (inside the stop
 * handler). Exits 0 when every join returned PTHREAD_CANCELED and no
 * cleanup ran inside the stop handler; a hang is the other failure
 * (meson's timeout). */
#define _GNU_SOURCE
#include <goalloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
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

static volatile int in_stop_handler;

/* The stop handler's mask blocks the stop signal; the program's never
 * does (goalloc keeps it open). */
static void check_mask(void *arg) {
  (void)arg;
  sigset_t m;
  pthread_sigmask(SIG_BLOCK, NULL, &m);
  if (sigismember(&m, SIGPWR)) __atomic_add_fetch(&in_stop_handler, 1, __ATOMIC_RELAXED);
}

static void unlock(void *m) {
  check_mask(NULL);
  pthread_mutex_unlock(m);
}

static void *holder(void *arg) {
  (void)arg;
  while (!stop) {
    pthread_mutex_lock(&mu);
    for (volatile int i = 0; i < 200000; i++) {
    }
    pthread_mutex_unlock(&mu);
    for (volatile int i = 0; i < 20000; i++) {
    }
  }
  return NULL;
}

static void *blocker(void *arg) {
  uintptr_t v = (uintptr_t)arg;
  if (v & 4) free(malloc(100));
  struct timespec ts = {30, 0};
  char c;
  /* Every call again when it returns: the stop signal interrupts ppoll
   * (EINTR); only the cancellation ends the thread. */
  pthread_cleanup_push(check_mask, NULL);
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
  pthread_cleanup_pop(0);
  return NULL;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 300;
  goalloc_gc_init();
  if (pipe(pipefd) != 0) return 2;
  pthread_t c, h;
  pthread_create(&c, NULL, collector, NULL);
  pthread_create(&h, NULL, holder, NULL);
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
  pthread_join(h, NULL);
  goalloc_gc_stats_t st = {.struct_size = sizeof st};
  goalloc_gc_get_stats(&st);
  printf("%d threads cancelled in blocking calls during %lu collections, %d not cancelled, "
         "%d cleanup handlers run inside the stop handler\n",
         4 * n, (unsigned long)st.cycles, bad, in_stop_handler);
  return bad != 0 || in_stop_handler != 0;
}
