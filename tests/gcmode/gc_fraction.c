/* gc_fraction: when the collector's thread gets less than 25% of the CPUs
 * during a concurrent mark, allocating threads make up the rest in
 * fractional slices (Go's fractional workers; GOALLOC_GC_CREDIT=1).
 *
 * The process pins itself to one CPU before the collector starts, so the
 * pacer's split is 25% of one CPU, and runs four allocating threads: with
 * five runnable threads on one CPU the cycle's thread gets at most a fifth
 * of it, whatever the machine's load. 16 MiB of live nodes stay reachable
 * from an index (its scan puts the nodes on the global gray list, where
 * slices find them). Checked: slices ran and scanned (credit on) unless
 * the last mark's background share was near 25% without them (scheduler
 * dependent), never ran (credit off: argument "off"), and every live node
 * is intact.
 *
 * usage: gc_fraction [on|off] */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "goalloc.h"
#include "live_index.h"

#define NODES ((16L << 20) / (long)sizeof(live_node_t))
#define THREADS 4
#define PER_THREAD_MIB 192

static void *volatile sink[THREADS][16];

static void *mutator(void *arg) {
  long id = (long)arg;
  unsigned k = 0;
  for (size_t done = 0; done < (size_t)PER_THREAD_MIB << 20; done += 128) {
    void **p = goalloc_gc_malloc(120);
    if (!p) abort();
    p[0] = live_index[k % NODES]; /* a pointer into the live set: retains nothing new */
    sink[id][k++ % 16] = p;
  }
  return NULL;
}

int main(int argc, char **argv) {
  int on = !(argc > 1 && strcmp(argv[1], "off") == 0);
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(sched_getcpu() >= 0 ? sched_getcpu() : 0, &one);
  if (sched_setaffinity(0, sizeof one, &one) != 0) {
    perror("gc_fraction: sched_setaffinity");
    return 77;
  }
  goalloc_gc_init();
  live_index_build(NODES);
  pthread_t t[THREADS];
  for (int i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, mutator, (void *)(long)i);
  for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);

  int fails = live_index_check(NODES);
  goalloc_gc_stats_t st;
  memset(&st, 0, sizeof st);
  st.struct_size = sizeof st;
  if (goalloc_gc_get_stats(&st) != 0) return 1;
  fprintf(stderr,
          "gc_fraction (%s): %llu cycles, slices %llu (%llu KB, %llu us cpu), last mark's background share "
          "%.3f, assists %llu, steals %llu\n",
          on ? "credit" : "no credit", (unsigned long long)st.cycles, (unsigned long long)st.fractions,
          (unsigned long long)(st.fraction_bytes >> 10), (unsigned long long)(st.fraction_cpu_ns / 1000),
          st.last_mark_utilization, (unsigned long long)st.assists, (unsigned long long)st.assist_steals);
  if (st.cycles < 3) {
    fprintf(stderr, "FAIL: only %llu cycles\n", (unsigned long long)st.cycles);
    fails++;
  }
  /* Whether slices run depends on the scheduler: the cycle's thread may
   * get its 25% on its own in some marks (CI once measured 0.229 for the
   * last mark with no slice in the whole run). So: slices ran, or the last
   * mark's background share was near the goal without them; and slices
   * that ran scanned and were timed. */
  if (on && st.fractions == 0 && st.last_mark_utilization < 0.2) {
    fprintf(stderr, "FAIL: no fractional slice ran while background marking had %.3f of the CPU\n",
            st.last_mark_utilization);
    fails++;
  }
  if (st.fractions && !(st.fraction_bytes > 0 && st.fraction_cpu_ns > 0)) {
    fprintf(stderr, "FAIL: %llu slices, %llu bytes, %llu ns\n", (unsigned long long)st.fractions,
            (unsigned long long)st.fraction_bytes, (unsigned long long)st.fraction_cpu_ns);
    fails++;
  }
  if (!on && (st.fractions || st.fraction_cpu_ns)) {
    fprintf(stderr, "FAIL: slices ran without GOALLOC_GC_CREDIT\n");
    fails++;
  }
  if (fails) return 1;
  fprintf(stderr, "gc_fraction: OK\n");
  return 0;
}
