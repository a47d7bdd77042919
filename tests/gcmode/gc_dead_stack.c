/* gc_dead_stack: a registered thread on a caller-provided stack exits
 * without unregistering (raw exit), its stack is unmapped, then a
 * collection runs: the concurrent mark must not read the dead stack
 * (it copies running stacks with process_vm_readv). Found in review;
 * kept as a regression test. Prints "ok" and exits 0 unless it crashes. */
#define _GNU_SOURCE
#include <goalloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/mman.h>
static void *body(void *a) { (void)a; void *volatile p = malloc(32); (void)p; syscall(SYS_exit, 0); return NULL; }
int main(void) {
  goalloc_gc_init();
  size_t sz = 1 << 20;
  void *stk = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  pthread_attr_t at; pthread_attr_init(&at); pthread_attr_setstack(&at, stk, sz);
  pthread_t t; pthread_create(&t, &at, body, NULL); pthread_join(t, NULL);
  munmap(stk, sz);
  printf("collecting\n"); fflush(stdout);
  goalloc_gc_collect();
  printf("ok\n");
  return 0;
}
