/* gc_pacer: the concurrent cycle's trigger follows the measured
 * allocation/scan rate (cons/mark), within Go's bounds. Api mode
 * (goalloc_gc_malloc), GOALLOC_GCTRACE=1; pacer_check.sh reads the trace.
 *
 * 16 MiB of live nodes stay reachable from an index array held by a
 * global (its scan spreads the nodes over the global gray list, where
 * assists find work to do; a linked list would be walked by the cycle's
 * thread alone, one node at a time). Phase "slow" sleeps 0.5 ms after every 64 KiB
 * of garbage it allocates, so little is allocated during a mark, the
 * runway the pacer measures is short and the next trigger is late (61/64
 * of the way from the marked heap to the goal). Phase "fast" allocates
 * garbage in a tight loop: much
 * is allocated during each mark, so cons/mark grows and the trigger moves
 * early (towards 45/64). The rates are whatever the machine gives; only
 * the direction is checked (pacer_check.sh). The phase boundaries are
 * written to stderr between the trace lines.
 *
 * At the end, from goalloc_gc_get_stats: the trigger lies strictly between
 * the marked heap and the goal and within the bounds; the assist and
 * credit counters agree (the fast phase made the program pay; with
 * GOALLOC_GC_CREDIT=1 assists stole credit, without they never did);
 * a caller passing the older struct_size gets the older fields only.
 *
 * usage: gc_pacer [slow MiB] [fast MiB] [live MiB] */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "goalloc.h"
#include "live_index.h"

static void *volatile sink[64];

static int fails;
#define CHECK(c, ...)                                   \
  do {                                                  \
    if (!(c)) {                                         \
      fprintf(stderr, "FAIL: %s: ", #c);                \
      fprintf(stderr, __VA_ARGS__);                     \
      fprintf(stderr, "\n");                            \
      fails++;                                          \
    }                                                   \
  } while (0)

static void garbage(size_t bytes, unsigned *k) {
  for (size_t done = 0; done < bytes; done += 128) {
    void **p = goalloc_gc_malloc(120);
    if (!p) abort();
    p[0] = live_index; /* a pointer to scan (to the live index: retains nothing) */
    sink[(*k)++ % 64] = p;
  }
}

int main(int argc, char **argv) {
  long slow_mib = argc > 1 ? atol(argv[1]) : 96;
  long fast_mib = argc > 2 ? atol(argv[2]) : 256;
  long live_mib = argc > 3 ? atol(argv[3]) : 16;
  long nodes = (live_mib << 20) / (long)sizeof(live_node_t);
  goalloc_gc_init();
  /* No cycle while the live set is built: its allocation rate would count
   * in the first cons/mark measurements (the estimate is the maximum of the
   * last five, and cycles that allocate nothing during their mark, as the
   * slow phase's, add none). */
  live_index_build(nodes);
  unsigned k = 0;
  fprintf(stderr, "gc_pacer: phase slow\n");
  goalloc_gc_stats_t st;
  for (long done = 0; done < slow_mib << 20; done += 65536) {
    garbage(65536, &k);
    usleep(500);
  }
  fprintf(stderr, "gc_pacer: phase fast\n");
  garbage((size_t)fast_mib << 20, &k);
  fprintf(stderr, "gc_pacer: end\n");

  fails += live_index_check(nodes);

  memset(&st, 0, sizeof st);
  st.struct_size = sizeof st;
  CHECK(goalloc_gc_get_stats(&st) == 0, "get_stats");
  fprintf(stderr,
          "gc_pacer: %llu cycles, marked %llu, trigger %llu, goal %llu, cons/mark %.4f, "
          "assists %llu (%llu bytes), steals %llu, credit %llu stolen %llu, slices %llu (%llu bytes), "
          "gc cpu %llu ns (assists %llu)\n",
          (unsigned long long)st.cycles, (unsigned long long)st.heap_marked,
          (unsigned long long)st.heap_trigger, (unsigned long long)st.heap_goal, st.cons_mark,
          (unsigned long long)st.assists, (unsigned long long)st.assist_bytes,
          (unsigned long long)st.assist_steals, (unsigned long long)st.worker_credit_bytes,
          (unsigned long long)st.stolen_bytes, (unsigned long long)st.fractions,
          (unsigned long long)st.fraction_bytes, (unsigned long long)st.gc_cpu_ns,
          (unsigned long long)st.assist_cpu_ns);
  CHECK(st.cycles >= 6, "%llu cycles", (unsigned long long)st.cycles);
  uint64_t m = st.heap_marked, t = st.heap_trigger, g = st.heap_goal;
  CHECK(m < t && t < g, "marked %llu < trigger %llu < goal %llu", (unsigned long long)m,
        (unsigned long long)t, (unsigned long long)g);
  if (m < g) {
    uint64_t step = (g - m) / 64, lo = m + 45 * step, hi = m + 61 * step;
    if (g > (4u << 20) && g - (4u << 20) > hi) hi = g - (4u << 20);
    CHECK(t >= lo && t <= hi, "trigger %llu outside [%llu, %llu]", (unsigned long long)t,
          (unsigned long long)lo, (unsigned long long)hi);
  }
  CHECK(st.cons_mark > 0, "cons/mark %f", st.cons_mark);
  CHECK(st.assists + st.assist_steals > 0, "the fast phase never made the program pay");
  CHECK(st.assist_cpu_ns <= st.gc_cpu_ns && st.gc_cpu_ns > 0, "gc cpu %llu, assists %llu",
        (unsigned long long)st.gc_cpu_ns, (unsigned long long)st.assist_cpu_ns);
  /* GOALLOC_GC_CREDIT=1 (the second test): assists steal; off: never. */
  const char *credit = getenv("GOALLOC_GC_CREDIT");
  if (credit && atoi(credit)) {
    CHECK(st.assist_steals > 0 && st.stolen_bytes > 0 && st.worker_credit_bytes > 0,
          "credit on: %llu steals of %llu bytes, %llu banked", (unsigned long long)st.assist_steals,
          (unsigned long long)st.stolen_bytes, (unsigned long long)st.worker_credit_bytes);
  } else {
    CHECK(st.assist_steals == 0 && st.stolen_bytes == 0 && st.fractions == 0,
          "credit off: %llu steals, %llu slices", (unsigned long long)st.assist_steals,
          (unsigned long long)st.fractions);
  }

  /* An older caller: the struct as it was before the pacing fields. */
  struct {
    goalloc_gc_stats_t s;
  } old;
  memset(&old, 0xa5, sizeof old);
  old.s.struct_size = offsetof(goalloc_gc_stats_t, heap_trigger);
  CHECK(goalloc_gc_get_stats(&old.s) == 0, "get_stats with the old size");
  CHECK(old.s.cycles >= st.cycles && old.s.heap_trigger == 0xa5a5a5a5a5a5a5a5ull,
        "old-size call wrote past its struct");
  if (fails) return 1;
  fprintf(stderr, "gc_pacer: OK\n");
  return 0;
}
