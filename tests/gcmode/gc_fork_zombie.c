/* gc_fork_zombie: a fork child whose main thread calls pthread_exit while
 * its other thread keeps allocating must go on collecting. The parent
 * first starts goalloc's internal threads (scavenger, GC worker, periodic
 * collection); a child that inherited their count took itself for a
 * process whose program threads were all gone, and its internal threads
 * returned and stopped collecting (found in review). GOALLOC_GC=collect;
 * the child's thread waits (up to 20 s) for 5 more cycles. No timing is
 * asserted. Exit 0 and "ok" on success. */
#define _GNU_SOURCE
#include <goalloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void *volatile sink;

static unsigned long cycles(void) {
  goalloc_gc_stats_t st;
  memset(&st, 0, sizeof st);
  st.struct_size = sizeof st;
  goalloc_gc_get_stats(&st);
  return (unsigned long)st.cycles;
}

static void churn(void) {
  for (int i = 0; i < 20000; i++) {
    char *p = malloc(64);
    memset(p, 1, 64);
    sink = p; /* garbage at the next iteration */
  }
  for (int i = 0; i < 8; i++) free(malloc(300 * 1024)); /* large frees start the scavenger */
}

static void *child_thread(void *arg) {
  (void)arg;
  /* Start the child's own internal threads, then give them time to look
   * at the process while idle (they check every 250 ms). */
  churn();
  struct timespec ts = {1, 0};
  while (nanosleep(&ts, &ts) != 0) {} /* collections interrupt it (EINTR) */
  unsigned long c0 = cycles();
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  do {
    churn();
    if (cycles() >= c0 + 5) {
      printf("ok (child: cycles %lu -> %lu)\n", c0, cycles());
      fflush(stdout);
      exit(0);
    }
    clock_gettime(CLOCK_MONOTONIC, &now);
  } while (now.tv_sec - start.tv_sec < 20);
  fprintf(stderr, "gc_fork_zombie: the child stopped collecting (cycles %lu -> %lu)\n", c0, cycles());
  exit(1);
}

int main(void) {
  for (int r = 0; r < 20; r++) churn();
  usleep(100 * 1000); /* the parent's internal threads are up */
  pid_t pid = fork();
  if (pid < 0) return 2;
  if (pid == 0) {
    pthread_t t;
    if (pthread_create(&t, NULL, child_thread, NULL)) _exit(2);
    pthread_exit(NULL);
  }
  int st;
  if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st)) return 1;
  return WEXITSTATUS(st);
}
