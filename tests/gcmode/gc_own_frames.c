/* gc_own_frames: an object the program dropped before calling
 * goalloc_gc_collect() is reclaimed by that collection, even though the
 * collector's own frames now lie where the program's dead frame held its
 * only pointers. The pause has always scanned the calling thread from
 * where it called the collector (entry_sp); the concurrent pre-scan of
 * that thread once started at the current stack pointer instead, inside
 * the collector's frames, and their stale slots kept the object through
 * the first collection (review finding; 3/3 runs before the fix). Exits 0
 * if its finalizer ran after one collection. Built at -O0. */
#include <goalloc.h>
#include <stdint.h>
#include <stdio.h>

static int finalized;

static void on_finalize(void *obj, void *arg) {
  (void)obj;
  (void)arg;
  finalized++;
}

/* Leaves copies of the pointer in a large dead frame. */
static __attribute__((noinline)) void drop_after_spreading(void) {
  void *p = goalloc_gc_malloc(64);
  goalloc_gc_register_finalizer(p, on_finalize, 0);
  volatile uintptr_t spread[8192];
  for (int i = 0; i < 8192 - 1024; i++) spread[i] = (uintptr_t)p;
  (void)spread[0];
  p = 0;
}

int main(void) {
  goalloc_gc_init();
  drop_after_spreading();
  goalloc_gc_collect();
  printf("finalizers run after one collection: %d\n", finalized);
  if (finalized != 1) {
    fprintf(stderr, "FAIL: a dropped object survived the collection (stale collector frames?)\n");
    return 1;
  }
  return 0;
}
