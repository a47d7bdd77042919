/* gc_large_split: a large block carved from the tail of a cached large
 * span (free a 40-page block, allocate 10 pages then 30: the page cache
 * splits the span and the 30-page block moves to a new base). The lazy
 * sweep finds large spans through their first page's bit; without the bit
 * at the moved base, the block kept its mark into the next cycle, which
 * then never scanned it, and objects reachable only from it were freed
 * (found in review). GOALLOC_GC=collect; exit 0 and "ok" on success. */
#define _GNU_SOURCE
#include <goalloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void **big;
static void *volatile head; /* kept: an unused malloc may be optimised away */
static int finalized;

static void fin(void *o, void *a) {
  (void)o;
  (void)a;
  finalized++;
}

static __attribute__((noinline)) void scrub(void) {
  volatile char b[16384];
  memset((char *)b, 0, sizeof b);
}

static __attribute__((noinline)) void setup(void) {
  void *p = malloc(40 * 8192);
  free(p);
  head = malloc(10 * 8192 - 64); /* the cached span's first 10 pages */
  big = malloc(30 * 8192 - 64);  /* its last 30: a new base */
  if ((uintptr_t)big != (uintptr_t)head + 10 * 8192) {
    printf("skipped: the blocks were not carved from one cached span (%p, %p)\n", (void *)head,
           (void *)big);
    return;
  }
  memset(big, 0, 30 * 8192 - 64);
}

static __attribute__((noinline)) void store(int i) {
  uint64_t *o = malloc(48);
  for (int k = 0; k < 6; k++) o[k] = 0xabc00000u + (uint64_t)k + (uint64_t)i * 16;
  goalloc_gc_register_finalizer(o, fin, NULL);
  big[i] = o;
}

static int intact(int i) {
  uint64_t *o = big[i];
  for (int k = 0; k < 6; k++)
    if (o[k] != 0xabc00000u + (uint64_t)k + (uint64_t)i * 16) return 0;
  return 1;
}

int main(void) {
  setup();
  scrub();
  store(0);
  scrub();
  goalloc_gc_collect();
  store(1);
  scrub();
  for (int c = 0; c < 3; c++) {
    goalloc_gc_collect();
    for (int j = 0; j < 20000; j++) memset(malloc(48), 0x77, 48); /* reuse freed slots */
  }
  if (finalized || !intact(0) || !intact(1)) {
    fprintf(stderr, "gc_large_split: %d objects held by a live large block finalized; obj0 %s, obj1 %s\n",
            finalized, intact(0) ? "intact" : "CORRUPT", intact(1) ? "intact" : "CORRUPT");
    return 1;
  }
  printf("ok\n");
  return 0;
}
