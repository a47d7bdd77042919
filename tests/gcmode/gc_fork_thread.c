/* gc_fork_thread: a thread other than main forks (API mode, the thread
 * started before goalloc_gc_init). In the child its id equals the process
 * id, and goalloc took it for the main thread: it registered with the dead
 * [stack] mapping as its stack, and the concurrent stack scan read from
 * its real stack up to that mapping's top, across unmapped memory (the
 * child crashed every run; review finding). The main thread is now the one
 * whose id is the process id *and* that runs on [stack]. The child keeps a
 * block only from its stack through 10 collections amid garbage of the
 * same size, and checks it is intact. Exits 0 when the child did. */
#define _GNU_SOURCE
#include <goalloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SIZE 64
static volatile int ready;
static void *volatile sink;

static __attribute__((noinline)) int in_child(void) {
  goalloc_gc_register_thread();
  unsigned char *volatile keep = goalloc_gc_malloc(SIZE);
  for (int i = 0; i < SIZE; i++) keep[i] = (unsigned char)(i + 1);
  for (int k = 0; k < 10; k++) {
    for (int i = 0; i < 20000; i++) {
      char *p = goalloc_gc_malloc(SIZE);
      memset(p, 0x5a, SIZE);
      sink = p;
    }
    goalloc_gc_collect();
  }
  int bad = 0;
  for (int i = 0; i < SIZE; i++) bad += keep[i] != (unsigned char)(i + 1);
  printf("child of a non-main thread: the block held from its stack is %s\n",
         bad ? "overwritten (freed)" : "intact");
  fflush(stdout);
  return bad != 0;
}

static void *forker(void *arg) {
  (void)arg;
  while (!ready) usleep(1000);
  pid_t pid = fork();
  if (pid == 0) _exit(in_child());
  int st;
  if (waitpid(pid, &st, 0) != pid) return (void *)2L;
  if (WIFSIGNALED(st)) fprintf(stderr, "FAIL: the child died of signal %d\n", WTERMSIG(st));
  return (void *)(long)(WIFEXITED(st) ? WEXITSTATUS(st) : 3);
}

int main(void) {
  pthread_t t;
  pthread_create(&t, NULL, forker, NULL);
  goalloc_gc_init();
  ready = 1;
  void *r;
  pthread_join(t, &r);
  return (int)(long)r;
}
