/* A program written for the Boehm collector, built unchanged against
 * goalloc's include/gc.h and libgoalloc (and it builds against Debian's
 * libgc too: `gcc -DGC_THREADS libgc_prog.c -lgc -pthread`).
 *
 * With GC_THREADS, pthread_create/join/detach/exit go through the
 * GC_pthread_* wrappers. Worker threads build records (GC_MALLOC), name
 * them (GC_STRDUP), grow arrays in them (GC_REALLOC), free some explicitly
 * (GC_FREE), drop others without freeing, and collect now and then; every
 * surviving record is checked at the end. Exit status 0 when all is well,
 * 1 with a message on stderr otherwise. */
#define GC_THREADS
#include <gc.h>

#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rec {
  struct rec *next;
  char *name;
  long *vals;
  size_t nvals;
  long id;
};

#define NTHREADS 4
#define NRECS 3000

static int failed;

static void fail(const char *what, long id) {
  fprintf(stderr, "libgc_prog: %s (record %ld)\n", what, id);
  __atomic_store_n(&failed, 1, __ATOMIC_RELAXED);
}

static struct rec *make(long id) {
  struct rec *r = GC_NEW(struct rec);
  char buf[32];
  snprintf(buf, sizeof buf, "rec-%ld", id);
  r->name = GC_STRDUP(buf);
  r->id = id;
  for (size_t i = 0; i < (size_t)(id % 40); i++) {
    r->vals = GC_REALLOC(r->vals, (i + 1) * sizeof(long));
    r->vals[i] = id * 1000 + (long)i;
    r->nvals = i + 1;
  }
  return r;
}

static void check(const struct rec *r) {
  char buf[32];
  snprintf(buf, sizeof buf, "rec-%ld", r->id);
  if (strcmp(r->name, buf) != 0) fail("name overwritten", r->id);
  if (r->nvals != (size_t)(r->id % 40)) fail("nvals overwritten", r->id);
  for (size_t i = 0; i < r->nvals; i++)
    if (r->vals[i] != r->id * 1000 + (long)i) fail("value overwritten", r->id);
}

static void *worker(void *arg) {
  long base = (long)(intptr_t)arg * 1000000;
  struct rec *head = NULL;
  long kept = 0;
  for (long i = 0; i < NRECS; i++) {
    struct rec *r = make(base + i);
    if (i % 3 == 0) {
      GC_FREE(r->vals);
      GC_FREE(r->name);
      GC_FREE(r);
    } else if (i % 3 == 1) {
      r->next = head;
      head = r;
      kept++;
    } /* else: dropped, left to the collector */
    if (i % 500 == 0) GC_gcollect();
  }
  long n = 0;
  for (struct rec *r = head; r; r = r->next, n++) check(r);
  if (n != kept) fail("list length changed", n);
  /* One thread leaves through pthread_exit (GC_pthread_exit). */
  if (arg == (void *)1) pthread_exit((void *)(intptr_t)n);
  return (void *)(intptr_t)n;
}

static sem_t detached_done;

static void *detached(void *arg) {
  (void)arg;
  struct rec *r = make(424242);
  GC_gcollect();
  check(r);
  sem_post(&detached_done);
  return NULL;
}

int main(void) {
  GC_INIT();
  pthread_t t[NTHREADS];
  for (long i = 0; i < NTHREADS; i++)
    if (pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i) != 0) {
      fprintf(stderr, "libgc_prog: pthread_create failed\n");
      return 1;
    }
  sem_init(&detached_done, 0, 0);
  pthread_t d;
  if (pthread_create(&d, NULL, detached, NULL) != 0 || pthread_detach(d) != 0) {
    fprintf(stderr, "libgc_prog: detached thread failed\n");
    return 1;
  }
  for (int i = 0; i < NTHREADS; i++) {
    void *ret;
    pthread_join(t[i], &ret);
    if ((intptr_t)ret != NRECS / 3) fail("wrong count from a thread", (long)(intptr_t)ret);
  }
  sem_wait(&detached_done);
  GC_gcollect();
  printf("libgc_prog: heap %zu bytes, %zu free, %lu collections\n", GC_get_heap_size(),
         GC_get_free_bytes(), (unsigned long)GC_get_gc_no());
  if (GC_get_gc_no() == 0) fail("no collection counted", 0);
  return failed;
}
