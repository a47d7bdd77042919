/* gcbench - binary trees in the shape of Boehm and Ellis's GCBench, for
 * comparing collectors (bench/gc/run builds and runs every variant).
 *
 *   gcbench [-t THREADS] [-d MAXDEPTH] [-m MINDEPTH] [-L LONG_LIVED_MIB]
 *           [-a ARRAY_DOUBLES] [-i]
 *
 * One source, three allocation interfaces chosen at compile time:
 *   -DGCB_GC      GC_MALLOC & co. from <gc.h>; never frees. Built against
 *                 Debian's libgc (-lgc) or goalloc's include/gc.h
 *                 (-lgoalloc): which one is told by GOALLOC_GC_COMPAT,
 *                 which only goalloc's header defines.
 *   -DGCB_MALLOC  malloc/free, trees freed explicitly after use; run as it
 *                 is (glibc) or with LD_PRELOAD=libgoalloc.so.
 *
 * The program (Boehm & Ellis's structure, written anew):
 *   1. a stretch tree of depth MAXDEPTH+2, built and dropped;
 *   2. long-lived data: a forest of trees of depth 16 holding about
 *      LONG_LIVED_MIB MiB of nodes (0, the default: one tree of depth
 *      MAXDEPTH, as GCBench), and an array of ARRAY_DOUBLES doubles (pointer
 *      free: GC_MALLOC_ATOMIC), both kept to the end;
 *   3. THREADS mutator threads, each doing the whole short-lived schedule:
 *      for d = MINDEPTH, +2, ... MAXDEPTH, 2^(MAXDEPTH+3-d) iterations, each
 *      building a tree of depth d top-down (a node before its children) and
 *      one bottom-up (children first), dropping (or freeing) each. Trees are
 *      held only on the thread's stack, so stack scanning is exercised too.
 * At the end the long-lived data are checked node by node (depth and a tag
 * derived from the node's address; the array's values): a collector that
 * freed reachable memory is caught by reuse overwriting it, and the program
 * exits 3 with a CORRUPT line. The first tree of every depth on every thread
 * is checked the same way.
 *
 * Output, one line on stdout, read by bench/gc/run:
 *   gcbench variant=V threads=T wall_s=.. peak_rss_mib=.. cycles=N
 *           pauses=N pause_max_ms=.. pause_p99_ms=..
 * Pauses: for goalloc from goalloc_gc_get_stats (the collector's own
 * record); for libgc every interval from GC_EVENT_PRE_STOP_WORLD to
 * GC_EVENT_POST_START_WORLD, all kept, max and p99 computed here. For the
 * malloc variant there is no collector: cycles=0 and pauses are "-".
 *
 * -i calls GC_enable_incremental() after GC_INIT (libgc: its incremental,
 * generational mode; goalloc: accepted, no effect).
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#if defined(GCB_GC)
#define GC_THREADS 1
#include <gc.h>
#include <pthread.h>
#ifdef GOALLOC_GC_COMPAT
#include <goalloc.h>
#define VARIANT "goalloc-gc"
#else
#define VARIANT "libgc"
#endif
#define ALLOC_NODE() GC_MALLOC(sizeof(node_t))
#define ALLOC_ATOMIC(n) GC_MALLOC_ATOMIC(n)
#define ALLOC_PTRS(n) GC_MALLOC(n)
#define RELEASE(p) ((void)(p))
#elif defined(GCB_MALLOC)
#include <pthread.h>
#define VARIANT "malloc"
#define ALLOC_NODE() calloc(1, sizeof(node_t))
#define ALLOC_ATOMIC(n) malloc(n)
#define ALLOC_PTRS(n) calloc(1, n)
#define RELEASE(p) free_tree(p)
#else
#error "build with -DGCB_GC or -DGCB_MALLOC"
#endif

typedef struct node {
  struct node *left, *right;
  uint32_t depth, tag;
} node_t;

static int max_depth = 16, min_depth = 4, nthreads = 1;
static long long long_lived_mib = 0;
static long array_len = 500000;

/* Reachable only from these globals (the data segment is a root). */
static node_t **forest;
static size_t forest_len;
static double *array;

__attribute__((noreturn, format(printf, 1, 2))) static void corrupt(const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "CORRUPT: gcbench: ");
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  exit(3);
}

static void *check_alloc(void *p) {
  if (!p) {
    fprintf(stderr, "gcbench: out of memory\n");
    exit(2);
  }
  return p;
}

static uint32_t tag_of(const node_t *n, uint32_t depth) {
  uint64_t x = (uint64_t)(uintptr_t)n * 0x9e3779b97f4a7c15ull ^ depth;
  return (uint32_t)(x >> 32);
}

static node_t *new_node(node_t *l, node_t *r, uint32_t depth) {
  node_t *n = check_alloc(ALLOC_NODE());
  n->left = l;
  n->right = r;
  n->depth = depth;
  n->tag = tag_of(n, depth);
  return n;
}

static node_t *bottom_up(uint32_t d) {
  if (d == 0) return new_node(NULL, NULL, 0);
  node_t *l = bottom_up(d - 1);
  node_t *r = bottom_up(d - 1);
  return new_node(l, r, d);
}

static void populate(node_t *n) {
  if (n->depth == 0) return;
  n->left = new_node(NULL, NULL, n->depth - 1);
  n->right = new_node(NULL, NULL, n->depth - 1);
  populate(n->left);
  populate(n->right);
}

static node_t *top_down(uint32_t d) {
  node_t *n = new_node(NULL, NULL, d);
  populate(n);
  return n;
}

static uint64_t check_tree(const node_t *n, uint32_t depth) {
  if (n->depth != depth || n->tag != tag_of(n, depth))
    corrupt("node %p overwritten (depth %u, expected %u)", (const void *)n, n->depth, depth);
  if (depth == 0) {
    if (n->left || n->right) corrupt("leaf %p has children", (const void *)n);
    return 1;
  }
  return 1 + check_tree(n->left, depth - 1) + check_tree(n->right, depth - 1);
}

#ifdef GCB_MALLOC
static void free_tree(node_t *n) {
  if (!n) return;
  free_tree(n->left);
  free_tree(n->right);
  free(n);
}
#endif

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- libgc's pauses, from its collection events ---- */

#if defined(GCB_GC) && !defined(GOALLOC_GC_COMPAT)
/* The callback runs with libgc's lock held (one collection at a time), so
 * plain variables do. 2^20 pauses is far more than any run here makes. */
#define MAX_PAUSES (1 << 20)
static uint64_t pauses[MAX_PAUSES];
static size_t npauses;
static uint64_t stop_began;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void on_event(GC_EventType e) {
  if (e == GC_EVENT_PRE_STOP_WORLD) {
    stop_began = now_ns();
  } else if (e == GC_EVENT_POST_START_WORLD && stop_began) {
    if (npauses < MAX_PAUSES) pauses[npauses++] = now_ns() - stop_began;
    stop_began = 0;
  }
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}
#endif

/* ---- the mutators ---- */

static void *mutator(void *arg) {
  int id = (int)(intptr_t)arg;
  for (int d = min_depth; d <= max_depth; d += 2) {
    /* As GCBench: every depth allocates about as many nodes as four stretch
     * trees' worth of the largest depth, so small depths iterate more. */
    long iters = 2L << (max_depth + 2 - d);
    for (long i = 0; i < iters; i++) {
      node_t *t = top_down((uint32_t)d);
      if (i == 0 && check_tree(t, (uint32_t)d) != (2ull << d) - 1)
        corrupt("thread %d: top-down tree of depth %d has the wrong size", id, d);
      RELEASE(t);
      t = bottom_up((uint32_t)d);
      if (i == 0 && check_tree(t, (uint32_t)d) != (2ull << d) - 1)
        corrupt("thread %d: bottom-up tree of depth %d has the wrong size", id, d);
      RELEASE(t);
    }
  }
  return NULL;
}

int main(int argc, char **argv) {
  int incremental = 0, c;
  while ((c = getopt(argc, argv, "t:d:m:L:a:i")) != -1) {
    switch (c) {
      case 't': nthreads = atoi(optarg); break;
      case 'd': max_depth = atoi(optarg); break;
      case 'm': min_depth = atoi(optarg); break;
      case 'L': long_lived_mib = atoll(optarg); break;
      case 'a': array_len = atol(optarg); break;
      case 'i': incremental = 1; break;
      default:
        fprintf(stderr,
                "usage: gcbench [-t THREADS] [-d MAXDEPTH] [-m MINDEPTH] [-L MIB] [-a N] [-i]\n");
        return 2;
    }
  }
  if (nthreads < 1 || max_depth < 1 || max_depth > 26 || min_depth < 0 || min_depth > max_depth) {
    fprintf(stderr, "gcbench: bad options\n");
    return 2;
  }

#ifdef GCB_GC
  GC_INIT();
  if (incremental) GC_enable_incremental();
#ifndef GOALLOC_GC_COMPAT
  GC_set_on_collection_event(on_event);
#endif
  GC_word cycles0 = GC_get_gc_no();
#else
  (void)incremental;
#endif
  double t0 = now();

  /* 1. Stretch the heap. */
  {
    node_t *t = bottom_up((uint32_t)max_depth + 2);
    RELEASE(t);
  }

  /* 2. Long-lived data. */
  uint32_t forest_depth = long_lived_mib ? 16 : (uint32_t)max_depth;
  uint64_t per_tree = (2ull << forest_depth) - 1;
  forest_len = long_lived_mib
                   ? (size_t)((((uint64_t)long_lived_mib << 20) / sizeof(node_t) + per_tree - 1) /
                              per_tree)
                   : 1;
  forest = check_alloc(ALLOC_PTRS(forest_len * sizeof *forest));
  for (size_t i = 0; i < forest_len; i++) forest[i] = (i & 1) ? bottom_up(forest_depth)
                                                              : top_down(forest_depth);
  array = check_alloc(ALLOC_ATOMIC((size_t)array_len * sizeof(double)));
  for (long i = 0; i < array_len; i++) array[i] = 1.0 / (double)(i + 1);

  /* 3. Short-lived trees on every thread. */
  pthread_t *tids = check_alloc(calloc((size_t)nthreads, sizeof *tids));
  for (int i = 0; i < nthreads; i++)
    if (pthread_create(&tids[i], NULL, mutator, (void *)(intptr_t)i) != 0) {
      fprintf(stderr, "gcbench: pthread_create failed\n");
      return 2;
    }
  for (int i = 0; i < nthreads; i++) pthread_join(tids[i], NULL);
  free(tids);

  /* The long-lived data must have survived intact. */
  for (size_t i = 0; i < forest_len; i++)
    if (check_tree(forest[i], forest_depth) != per_tree)
      corrupt("long-lived tree %zu has the wrong size", i);
  for (long i = 0; i < array_len; i++)
    if (array[i] != 1.0 / (double)(i + 1)) corrupt("long-lived array[%ld] overwritten", i);

  double wall = now() - t0;
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);

  unsigned long long cycles = 0, npause = 0;
  double pmax = -1, p99 = -1;
#if defined(GCB_GC) && defined(GOALLOC_GC_COMPAT)
  goalloc_gc_stats_t gs;
  memset(&gs, 0, sizeof gs);
  gs.struct_size = sizeof gs;
  goalloc_gc_get_stats(&gs);
  cycles = gs.cycles - cycles0;
  npause = gs.pauses;
  pmax = gs.pause_max_ns / 1e6;
  p99 = gs.pause_p99_ns / 1e6;
#elif defined(GCB_GC)
  cycles = GC_get_gc_no() - cycles0;
  npause = npauses;
  if (npauses) {
    qsort(pauses, npauses, sizeof pauses[0], cmp_u64);
    size_t k = (npauses * 99 + 99) / 100; /* ceil(0.99 n): nearest rank */
    pmax = pauses[npauses - 1] / 1e6;
    p99 = pauses[k - 1] / 1e6;
  }
#endif

  char smax[32] = "-", sp99[32] = "-", snp[32] = "-";
  if (npause != ~0ull) snprintf(snp, sizeof snp, "%llu", npause);
  if (pmax >= 0) snprintf(smax, sizeof smax, "%.3f", pmax);
  if (p99 >= 0) snprintf(sp99, sizeof sp99, "%.3f", p99);
  printf("gcbench variant=%s%s threads=%d depth=%d long_lived_mib=%lld wall_s=%.3f "
         "peak_rss_mib=%.1f cycles=%llu pauses=%s pause_max_ms=%s pause_p99_ms=%s\n",
         VARIANT, incremental ? "-incremental" : "", nthreads, max_depth, long_lived_mib, wall,
         ru.ru_maxrss / 1024.0, cycles, snp, smax, sp99);
  return 0;
}
