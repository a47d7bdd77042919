/* gc_stress: the collector as a safety net (GOALLOC_GC=collect) under
 * mutation. Plain malloc, no goalloc_gc_* allocation calls.
 *
 * Worker threads each own a table of linked lists; they keep replacing
 * lists, dropping the old ones without free() (garbage for the collector)
 * or freeing them explicitly (free() must still work), and verify every
 * node's checksum as they go. A collector thread forces a collection every
 * couple of milliseconds. Other objects are reachable only from: a global,
 * a __thread variable of a sleeping thread, the stack of a thread blocked
 * in read(), an interior pointer, and an mmap()ed region (anonymous memory
 * is a root in collect mode). Anything freed while reachable is reused and
 * overwritten, which the checksums catch. At the end: every check passed,
 * collections ran, garbage was reclaimed, the heap stayed bounded.
 *
 * Usage: gc_stress [seconds] [threads] (environment: GOALLOC_GC=collect). */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "goalloc.h"

typedef struct node {
  struct node *next;
  uint64_t check;
  uint64_t payload[4];
} node_t;

static uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  return x;
}

static node_t *make_list(uint64_t seed, int n) {
  node_t *h = NULL;
  for (int i = 0; i < n; i++) {
    node_t *x = malloc(sizeof *x);
    if (!x) abort();
    x->next = h;
    x->check = mix(seed + (uint64_t)i);
    for (int k = 0; k < 4; k++) x->payload[k] = x->check + (uint64_t)k;
    h = x;
  }
  return h;
}

/* Returns the number of nodes, or -1 on a bad checksum. */
static long check_list(const node_t *h, uint64_t seed, int n) {
  long cnt = 0;
  for (int i = n - 1; h; h = h->next, i--) {
    if (i < 0 || h->check != mix(seed + (uint64_t)i)) return -1;
    for (int k = 0; k < 4; k++)
      if (h->payload[k] != h->check + (uint64_t)k) return -1;
    cnt++;
  }
  return cnt == n ? cnt : -1;
}

static volatile int stop;
static long failures;
static pthread_mutex_t fail_lock = PTHREAD_MUTEX_INITIALIZER;

static void fail(const char *what) {
  pthread_mutex_lock(&fail_lock);
  if (failures++ < 10) fprintf(stderr, "FAIL: %s\n", what);
  pthread_mutex_unlock(&fail_lock);
}

#define SLOTS 64
typedef struct {
  int id;
  long rounds;
} worker_t;

static void *worker(void *arg) {
  worker_t *w = arg;
  node_t *heads[SLOTS] = {0};
  uint64_t seeds[SLOTS];
  int lens[SLOTS];
  unsigned r = (unsigned)w->id * 7919u + 1;
  for (int i = 0; i < SLOTS; i++) {
    seeds[i] = ((uint64_t)w->id << 40) + (uint64_t)i * 1000003u;
    lens[i] = 1 + i % 50;
    heads[i] = make_list(seeds[i], lens[i]);
  }
  while (!stop) {
    r = r * 1103515245u + 12345u;
    int i = (int)(r >> 8) % SLOTS;
    if (check_list(heads[i], seeds[i], lens[i]) < 0) fail("worker list corrupted");
    node_t *old = heads[i];
    seeds[i] += 1ull << 20;
    lens[i] = 1 + (int)((r >> 4) % 100);
    heads[i] = make_list(seeds[i], lens[i]);
    if (r & 0x10000) {
      while (old) { /* explicit free keeps working alongside the collector */
        node_t *n = old->next;
        free(old);
        old = n;
      }
    } /* else: dropped, the collector's to reclaim */
    w->rounds++;
  }
  for (int i = 0; i < SLOTS; i++)
    if (check_list(heads[i], seeds[i], lens[i]) < 0) fail("worker list corrupted at the end");
  return NULL;
}

/* Roots of other kinds. */
static node_t *global_list;
static __thread node_t *tls_list;
static int pipefd[2];
static pthread_mutex_t ready_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ready_cond = PTHREAD_COND_INITIALIZER;
static int ready;

static void signal_ready(void) {
  pthread_mutex_lock(&ready_lock);
  ready++;
  pthread_cond_signal(&ready_cond);
  pthread_mutex_unlock(&ready_lock);
}

static void *tls_holder(void *arg) {
  tls_list = make_list(777, 200);
  signal_ready();
  while (!stop) usleep(1000);
  if (check_list(tls_list, 777, 200) < 0) fail("list reachable only from a __thread variable");
  return NULL;
}

static void *blocked_reader(void *arg) {
  node_t *volatile local = make_list(888, 300); /* only on this stack */
  signal_ready();
  char c;
  if (read(pipefd[0], &c, 1) != 1) fail("read");
  if (check_list(local, 888, 300) < 0) fail("list reachable only from a blocked thread's stack");
  return NULL;
}

static void *collector(void *arg) {
  while (!stop) {
    goalloc_gc_collect();
    usleep(2000);
  }
  return NULL;
}

int main(int argc, char **argv) {
  int seconds = argc > 1 ? atoi(argv[1]) : 4;
  int nthreads = argc > 2 ? atoi(argv[2]) : 4;
  if (goalloc_gc_mode() != GOALLOC_GC_COLLECT) {
    fprintf(stderr, "FAIL: run with GOALLOC_GC=collect (mode %d)\n", goalloc_gc_mode());
    return 2;
  }
  global_list = make_list(555, 1000);
  /* Interior pointer: only the address of a node's payload is kept. */
  node_t *inner = make_list(666, 1);
  uint64_t *volatile interior = &inner->payload[2];
  inner = NULL;
  /* A list reachable only from memory the program mapped itself. */
  node_t **mapped = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapped == MAP_FAILED) return 2;
  mapped[100] = make_list(999, 500);

  if (pipe(pipefd)) return 2;
  pthread_t th_tls, th_reader, th_gc, th[64];
  worker_t ws[64];
  pthread_create(&th_tls, NULL, tls_holder, NULL);
  pthread_create(&th_reader, NULL, blocked_reader, NULL);
  pthread_mutex_lock(&ready_lock);
  while (ready < 2) pthread_cond_wait(&ready_cond, &ready_lock);
  pthread_mutex_unlock(&ready_lock);
  if (nthreads > 64) nthreads = 64;
  for (int i = 0; i < nthreads; i++) {
    ws[i] = (worker_t){.id = i + 1};
    pthread_create(&th[i], NULL, worker, &ws[i]);
  }
  pthread_create(&th_gc, NULL, collector, NULL);

  goalloc_gc_stats_t st = {.struct_size = sizeof st};
  uint64_t max_heap = 0;
  /* The run lasts `seconds` of wall time, measured by the clock: usleep
   * returns early (EINTR) at each pause's signal, so counting sleeps made
   * the run end after 1.2 s on a loaded CI machine with 17 collections.
   * It goes on (up to a minute more) until 20 collections have run, so a
   * slow machine does not fail the count below for want of time. */
  struct timespec t0, now;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (;;) {
    usleep(100000);
    goalloc_gc_get_stats(&st);
    if (st.heap_live > max_heap) max_heap = st.heap_live;
    if (check_list(global_list, 555, 1000) < 0) fail("list reachable only from a global");
    clock_gettime(CLOCK_MONOTONIC, &now);
    double elapsed = (double)(now.tv_sec - t0.tv_sec) + (now.tv_nsec - t0.tv_nsec) / 1e9;
    if (elapsed >= seconds && (st.cycles >= 20 || elapsed >= seconds + 60)) break;
  }
  stop = 1;
  for (int i = 0; i < nthreads; i++) pthread_join(th[i], NULL);
  pthread_join(th_gc, NULL);
  pthread_join(th_tls, NULL);
  if (write(pipefd[1], "x", 1) != 1) return 2;
  pthread_join(th_reader, NULL);
  goalloc_gc_collect();

  const node_t *in = (const node_t *)((const char *)interior - offsetof(node_t, payload[2]));
  if (check_list(in, 666, 1) < 0) fail("object reachable only through an interior pointer");
  if (check_list(mapped[100], 999, 500) < 0) fail("list reachable only from mmap()ed memory");
  if (check_list(global_list, 555, 1000) < 0) fail("list reachable only from a global");

  goalloc_gc_get_stats(&st);
  long rounds = 0;
  for (int i = 0; i < nthreads; i++) rounds += ws[i].rounds;
  printf("rounds %ld, cycles %lu, reclaimed %lu objects, max heap %lu KiB, max pause %.3f ms, p99 %.3f ms\n",
         rounds, (unsigned long)st.cycles, (unsigned long)st.freed_objects,
         (unsigned long)(max_heap >> 10), st.pause_max_ns / 1e6, st.pause_p99_ns / 1e6);
  if (st.cycles < 20) fail("fewer than 20 collections ran");
  if (st.freed_objects == 0) fail("no garbage was reclaimed");
  /* Live data is a few MiB; without collection the dropped lists alone
   * would reach hundreds of MiB in this time. */
  if (max_heap > (256u << 20)) fail("heap not bounded");
  if (failures) fprintf(stderr, "%ld failures\n", failures);
  return failures ? 1 : 0;
}
