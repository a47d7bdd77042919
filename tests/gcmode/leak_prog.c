/* A program with known leaks for the leak-mode test (leak_check.sh):
 * the same binary runs under valgrind --leak-check=full and under goalloc
 * with GOALLOC_GC=leak; both must find the same unreachable blocks.
 * With an argument "clean" it frees or keeps everything. With "signal"
 * (leak_signal.sh) it leaks as usual, sends itself SIGUSR2 and sleeps until
 * the report on that signal is in $GOALLOC_LEAK_FILE, forks a child that
 * does the same (and exits without an exit report), then leaks a list of
 * 3 more nodes and exits. */
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct node {
  struct node *next;
  char data[40];
};

void *kept_global;       /* reachable until exit: not a leak */
static void *volatile sink;

__attribute__((noinline)) struct node *make_list(int n) {
  struct node *h = NULL;
  for (int i = 0; i < n; i++) {
    struct node *x = malloc(sizeof *x);
    x->next = h;
    memset(x->data, i, sizeof x->data);
    h = x;
  }
  return h;
}

__attribute__((noinline)) void leak_strings(int n) {
  for (int i = 0; i < n; i++) {
    char *s = malloc(100);
    snprintf(s, 100, "leaked string %d", i);
    sink = s;
  }
  sink = NULL;
}

__attribute__((noinline)) void leak_large(void) {
  char *big = malloc(200000);
  memset(big, 1, 200000);
  sink = big;
  sink = NULL;
}

void *thread_leak(void *arg) {
  sink = make_list(2); /* dropped below: leaked from another thread */
  sink = NULL;
  return NULL;
}

/* The 3 leaked nodes of the signal mode: built in a frame of their own,
 * then the stack below main's frame is overwritten, so no stale copy of a
 * node's address (a conservative scan would see it) survives to the exit
 * report. */
__attribute__((noinline)) void leak_three(void) {
  sink = make_list(3);
  sink = NULL;
}

__attribute__((noinline)) void scrub_stack(void) {
  volatile char buf[16384];
  memset((char *)buf, 0, sizeof buf);
  __asm__ volatile("" ::: "rbx", "r12", "r13", "r14", "r15", "memory");
}

/* Sends SIGUSR2 to this process and waits until the file holds `want`
 * reports. The report comes from goalloc's reporter thread while this one
 * sleeps. */
static int signal_report(const char *file, int want) {
  kill(getpid(), SIGUSR2);
  for (int i = 0; i < 400; i++) {
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
    FILE *f = fopen(file, "r");
    char line[512];
    int n = 0;
    while (f && fgets(line, sizeof line, f))
      if (strstr(line, "leak summary")) n++;
    if (f) fclose(f);
    if (n >= want) return 1;
  }
  fprintf(stderr, "no report %d on SIGUSR2 after 20 s\n", want);
  return 0;
}

int main(int argc, char **argv) {
  int clean = argc > 1 && !strcmp(argv[1], "clean");
  kept_global = make_list(10);
  void *p = malloc(1000);
  free(p);
  if (!clean) {
    sink = make_list(5); /* 1 direct + 4 indirect */
    sink = NULL;
    leak_strings(3);
    leak_large();
    pthread_t t;
    pthread_create(&t, NULL, thread_leak, NULL);
    pthread_join(t, NULL);
  }
  if (argc > 1 && !strcmp(argv[1], "signal")) {
    const char *file = getenv("GOALLOC_LEAK_FILE");
    if (!file) return 2;
    if (!signal_report(file, 1)) return 1;
    /* A fork child has a reporter of its own. */
    pid_t pid = fork();
    if (pid == 0) _exit(signal_report(file, 2) ? 0 : 1); /* no exit report */
    int st;
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st)) return 1;
    leak_three();
    scrub_stack();
  }
  puts(clean ? "clean" : "leaky");
  return 0;
}
