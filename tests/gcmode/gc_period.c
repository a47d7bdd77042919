/* gc_period: with GOALLOC_GC_PERIOD_MS set, collections happen while the
 * program allocates nothing (GOALLOC_GC=collect): garbage made while
 * automatic cycles were disabled is found while the main thread sleeps,
 * and an object still referenced survives those cycles. No timing is
 * asserted: the program waits (up to 30 s) for three cycles and for the
 * garbage to be found, and fails only if that never happens. Exit 0 and "ok" on success. */
#define _GNU_SOURCE
#include <goalloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void *volatile sink;
static uint64_t *kept; /* reachable from this global */

static void stats(goalloc_gc_stats_t *st) {
  memset(st, 0, sizeof *st);
  st->struct_size = sizeof *st;
  goalloc_gc_get_stats(st);
}

static __attribute__((noinline)) void make_garbage(void) {
  for (int i = 0; i < 200000; i++) {
    char *p = malloc(100);
    memset(p, i, 100);
    sink = p;
  }
  sink = NULL;
}

int main(void) {
  if (goalloc_gc_mode() != GOALLOC_GC_COLLECT) {
    fprintf(stderr, "gc_period: run with GOALLOC_GC=collect\n");
    return 2;
  }
  kept = malloc(64 * sizeof *kept);
  for (int i = 0; i < 64; i++) kept[i] = 0x1234567800000000ull + (uint64_t)i;
  /* 200,000 garbage objects no automatic cycle collects. */
  goalloc_gc_disable();
  make_garbage();
  goalloc_gc_stats_t st0, st;
  stats(&st0);
  goalloc_gc_enable();
  int ok = 0;
  /* Sleep without allocating: only the periodic thread can collect. */
  for (int i = 0; i < 300 && !ok; i++) {
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
    stats(&st);
    ok = st.cycles >= st0.cycles + 3 && st.freed_objects >= st0.freed_objects + 190000;
  }
  for (int i = 0; i < 64; i++)
    if (kept[i] != 0x1234567800000000ull + (uint64_t)i) {
      fprintf(stderr, "gc_period: a reachable object was reclaimed\n");
      return 1;
    }
  if (!ok) {
    fprintf(stderr, "gc_period: cycles %llu -> %llu, freed objects %llu -> %llu: no periodic collection\n",
            (unsigned long long)st0.cycles, (unsigned long long)st.cycles,
            (unsigned long long)st0.freed_objects, (unsigned long long)st.freed_objects);
    return 1;
  }
  printf("ok (cycles %llu -> %llu, freed objects %llu -> %llu)\n", (unsigned long long)st0.cycles,
         (unsigned long long)st.cycles, (unsigned long long)st0.freed_objects,
         (unsigned long long)st.freed_objects);
  return 0;
}
