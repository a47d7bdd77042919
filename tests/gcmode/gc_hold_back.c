/* gc_hold_back: while another thread's collection holds the collector (here
 * a finalizer of an explicit collection that sleeps 1 s, as a collection
 * starved of CPU would), no automatic cycle can start and assists have
 * nothing to do; a thread that keeps dropping garbage must still be held
 * back once the heap passes twice the goal (collector.c, hold_back).
 * Without it the heap grew by everything allocated in that second (over a
 * GB here). Also: goalloc_gc_get_stats answers meanwhile instead of waiting
 * for the collection. Prints what it allocated meanwhile and exits 0 if that stayed
 * under 160 MB (the hard limit: goal + max(goal, 32 MiB), the goal a few MB
 * here; past it, one span per 20 ms). */
#include <goalloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

static volatile int in_finalizer, finalizer_done;

static void slow_finalizer(void *obj, void *arg) {
  (void)obj;
  (void)arg;
  in_finalizer = 1;
  sleep(1);
  finalizer_done = 1;
}

static __attribute__((noinline)) void make_finalizable(void) {
  void *o = malloc(64);
  goalloc_gc_register_finalizer(o, slow_finalizer, NULL);
}

static __attribute__((noinline)) void clear_stack(void) {
  volatile char b[65536];
  memset((char *)b, 0, sizeof b);
}

static void *collector(void *arg) {
  (void)arg;
  make_finalizable();
  clear_stack();
  for (int i = 0; i < 50 && !in_finalizer; i++) goalloc_gc_collect();
  return NULL;
}

int main(void) {
  goalloc_gc_init();
  pthread_t t;
  pthread_create(&t, NULL, collector, NULL);
  /* Nothing allocated until then: the finalizer must run on the collecting
   * thread, not in a cycle this thread would start itself. */
  while (!in_finalizer) usleep(1000);
  /* Statistics do not wait for the collection (they did: gc_lock). */
  goalloc_gc_stats_t st;
  memset(&st, 0, sizeof st);
  st.struct_size = sizeof st;
  if (goalloc_gc_get_stats(&st) != 0 || finalizer_done) {
    fprintf(stderr, "FAIL: goalloc_gc_get_stats waited for the running collection\n");
    return 1;
  }
  uint64_t allocated = 0;
  while (!finalizer_done) {
    for (int i = 0; i < 64; i++) {
      void *volatile g = malloc(256);
      (void)g;
    }
    allocated += 64 * 256;
  }
  pthread_join(t, NULL);
  printf("allocated %lu KB while the collector was held\n", (unsigned long)(allocated >> 10));
  if (allocated > ((uint64_t)160 << 20)) {
    fprintf(stderr, "FAIL: the allocating thread was not held back\n");
    return 1;
  }
  return 0;
}
