/* gc_regs_wait: a pointer held only in a callee-saved register (r15) of a
 * thread that calls goalloc_gc_collect while another thread's allocation
 * keeps automatic cycles running, so the explicit collection often waits
 * for gc_lock and is stopped by the other cycle's pause meanwhile. The
 * object must never be finalized while r15 holds it. (Found in review: the
 * stop handler overwrote the registers saved at the collector's entry.)
 * Written by the reviewing helper; kept as a regression test.
 * Usage: gc_regs_wait [background 0|1] [iterations]; exit 1 on a loss. */
#include <goalloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#define KEY 0x5a5a5a5a5a5a5a5aULL
void *volatile holder;
static volatile long finalized = -1;
static long cur;
static void fin(void *o, void *a) { (void)o; if ((long)a == cur) finalized = 1; }
/* Moves holder into r15, clears holder, collects, returns r15. */
uintptr_t call_with_rbx(uintptr_t hidden, uintptr_t key);
__asm__(".text\n.globl call_with_rbx\ncall_with_rbx:\n"
        "push %r15\n mov holder(%rip), %r15\n movq $0, holder(%rip)\n xor %rdi,%rdi\n xor %rsi,%rsi\n"
        "call goalloc_gc_collect\n mov %r15, %rax\n pop %r15\n ret\n");
__attribute__((noinline)) static uintptr_t make(void) {
  void *p = goalloc_gc_malloc(64);
  memset(p, 0x11, 64);
  goalloc_gc_register_finalizer(p, fin, (void *)cur);
  holder = p; uintptr_t h = 0;
  p = NULL;
  __asm__ volatile("" ::: "memory");
  return h;
}
__attribute__((noinline)) static void scrub(void) { volatile char buf[4096]; memset((char *)buf, 0, sizeof buf); }
static volatile int stop;
static void *churn(void *a) {
  (void)a;
  goalloc_gc_register_thread();
  static void **live;
  live = goalloc_gc_malloc(200000 * sizeof(void *));
  for (int i = 0; i < 200000; i++) live[i] = goalloc_gc_malloc(64);
  while (!stop) {
    void **v = goalloc_gc_malloc(64 * sizeof(void *));
    for (int i = 0; i < 64; i++) v[i] = goalloc_gc_malloc(256);
  }
  return NULL;
}
int main(int argc, char **argv) {
  int bg = argc > 1 ? atoi(argv[1]) : 1;
  int iters = argc > 2 ? atoi(argv[2]) : 300;
  goalloc_gc_init();
  pthread_t t;
  if (bg) pthread_create(&t, NULL, churn, NULL);
  int lost = 0;
  for (int i = 0; i < iters; i++) {
    usleep(rand() % 20000);
    finalized = 0; cur = i + 1;
    uintptr_t h = make();
    scrub();
    if (finalized) printf("early\n");
    uintptr_t p = call_with_rbx(h, KEY);
    if (finalized) lost++;
    (void)p;
  }
  stop = 1;
  if (bg) pthread_join(t, NULL);
  goalloc_gc_stats_t st = {.struct_size = sizeof st};
  goalloc_gc_get_stats(&st);
  printf("bg=%d iters=%d lost=%d cycles=%lu\n", bg, iters, lost, (unsigned long)st.cycles);
  return lost != 0;
}
