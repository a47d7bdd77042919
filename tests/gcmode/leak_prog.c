/* A program with known leaks for the leak-mode test (leak_check.sh):
 * the same binary runs under valgrind --leak-check=full and under goalloc
 * with GOALLOC_GC=leak; both must find the same unreachable blocks.
 * With an argument "clean" it frees or keeps everything. */
#include <pthread.h>
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
  puts(clean ? "clean" : "leaky");
  return 0;
}
