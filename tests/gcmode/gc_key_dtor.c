/* gc_key_dtor: a thread exits holding the only pointer to a collectable
 * object in a pthread key created after goalloc's (so its destructor runs
 * after goalloc's cache destructor), while another thread collects in a
 * loop and reallocates freed slots. The destructor waits for collections
 * and then checks the object: if the exiting thread's stack and TLS were
 * no longer scanned (it let go of the collector too early), the object is
 * finalized (and freed, its slot reused) and the check fails. Exit 0 and "ok" on success.
 * Argument: number of threads (default 300). */
#define _GNU_SOURCE
#include <goalloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OBJ_WORDS 6
static pthread_key_t key;
static volatile int stop;
static volatile unsigned long cycles_seen;
static int bad;

static unsigned long cycles_now(void) {
  goalloc_gc_stats_t st = {.struct_size = sizeof st};
  goalloc_gc_get_stats(&st);
  return (unsigned long)st.cycles;
}

static void dtor(void *v) {
  uint64_t *o = v;
  /* Wait until three collections have run while this destructor holds o. */
  unsigned long c0 = cycles_now();
  for (int i = 0; i < 2000 && cycles_now() < c0 + 3; i++) usleep(500);
  for (int i = 0; i < OBJ_WORDS; i++)
    if (o[i] != ((uint64_t)(uintptr_t)o ^ 0x5a5a5a5a5a5a5a5aull) + (uint64_t)i) {
      fprintf(stderr, "gc_key_dtor: object %p word %d is %#llx: reclaimed while a key held it\n",
              (void *)o, i, (unsigned long long)o[i]);
      __atomic_store_n(&bad, 1, __ATOMIC_RELAXED);
      return;
    }
}

/* Runs if a collection finds the object unreachable: marks it, so the
 * check sees it even when the slot is not reused. */
static void finalized(void *obj, void *arg) {
  (void)arg;
  ((uint64_t *)obj)[0] = 0xdeadull;
}

static __attribute__((noinline)) void make(void) {
  uint64_t *o = goalloc_gc_malloc(OBJ_WORDS * 8);
  for (int i = 0; i < OBJ_WORDS; i++) o[i] = ((uint64_t)(uintptr_t)o ^ 0x5a5a5a5a5a5a5a5aull) + (uint64_t)i;
  goalloc_gc_register_finalizer(o, finalized, NULL);
  pthread_setspecific(key, o);
}

static __attribute__((noinline)) void scrub(void) {
  volatile char buf[4096];
  memset((char *)buf, 0, sizeof buf);
}

static void *body(void *a) {
  (void)a;
  make();
  scrub();
  return NULL;
}

/* Collects and refills freed slots of the same size with other data. */
static void *collector(void *a) {
  (void)a;
  while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
    goalloc_gc_collect();
    for (int i = 0; i < 8000; i++) {
      uint64_t *p = goalloc_gc_malloc(OBJ_WORDS * 8);
      memset(p, 0xee, OBJ_WORDS * 8);
    }
    cycles_seen++;
  }
  return NULL;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 300;
  goalloc_gc_init();
  free(malloc(16)); /* goalloc's cache and its key exist before ours */
  if (pthread_key_create(&key, dtor)) return 2;
  pthread_t col;
  pthread_create(&col, NULL, collector, NULL);
  for (int i = 0; i < n && !__atomic_load_n(&bad, __ATOMIC_RELAXED); i++) {
    pthread_t t[4];
    for (int k = 0; k < 4; k++) pthread_create(&t[k], NULL, body, NULL);
    for (int k = 0; k < 4; k++) pthread_join(t[k], NULL);
  }
  stop = 1;
  pthread_join(col, NULL);
  if (bad) return 1;
  printf("ok (%lu collections)\n", cycles_seen);
  return 0;
}
