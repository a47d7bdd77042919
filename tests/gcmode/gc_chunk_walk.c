/* gc_chunk_walk: the written-page walks skip 4 MiB chunks that hold nothing
 * counted as scanned (arena.h gc_chunk_cycle / gc_chunk_manual). Each mode
 * puts part of a scanned object in a chunk that nothing else would stamp,
 * waits until the concurrent mark has scanned the object, then stores the
 * only pointer to a fresh object X there. X has a finalizer: if the final
 * pause skipped that page, X is taken for garbage and its finalizer runs
 * although X is reachable. Modes (from the review of the chunk filter,
 * whose reproducers these are; each failed every run before its fix):
 *   straddle   a 12 KiB object of a multi-page span that crosses a chunk
 *              boundary (only the first byte's chunk was stamped);
 *   grow       a marked collectable large block grown in place by realloc
 *              into a fresh chunk (the new part was not stamped);
 *   grow-unc   the same with an uncollectable block (the new part had no
 *              manual bit).
 * Exits 0 (pass), 1 (X lost), 77 (in 5 attempts the store never landed
 * during the mark: inconclusive). Needs GOALLOC_GC=collect and the concurrent mark. */
#include <goalloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arena.h"
#include "gc/concurrent.h"
#include "gc/mark.h"

struct node {
  struct node *next;
  long v, w;
};

static const char *mode;
static char *volatile target;        /* the object holding the store */
static volatile uintptr_t store_off; /* where in it */
static volatile uintptr_t sentinel;  /* hidden (~): marked once target was scanned */
static volatile uintptr_t x_hidden;  /* hidden (~) */
static volatile int finalized, stored_in_mark, go;

static void on_x_finalized(void *obj, void *arg) {
  (void)arg;
  if ((uintptr_t)obj == ~x_hidden) finalized = 1;
}

static int marking(void) { return __atomic_load_n(&ga_gc_phase, __ATOMIC_SEQ_CST) == GA_GC_MARK; }

static __attribute__((noinline)) void scrub(void) {
  volatile char b[16384];
  memset((char *)b, 0, sizeof b);
}

static __attribute__((noinline)) void store_x(void) {
  char *t = target;
  if (strncmp(mode, "grow", 4) == 0 && realloc(t, 12 << 20) != t) return; /* not in place */
  void *x = malloc(40);
  memset(x, 0x77, 40);
  goalloc_gc_register_finalizer(x, on_x_finalized, NULL);
  x_hidden = ~(uintptr_t)x;
  *(void **)(t + store_off) = x;
  x = NULL;
  stored_in_mark = marking();
}

static void *volatile warm;

static void *writer(void *arg) {
  (void)arg;
  warm = malloc(40); /* this thread's cache and registration, before the cycle */
  while (!go) sched_yield();
  while (!marking()) {}
  while (!ga_gc_is_marked(~sentinel) && marking()) {}
  if (ga_gc_is_marked(~sentinel)) store_x();
  scrub();
  return NULL;
}

static __attribute__((noinline)) void build(void) {
  /* The sentinel is reachable only from the target's first word, and a
   * long list only from the sentinel: once it is marked, the target has
   * been scanned and the mark goes on for a while. The list comes first,
   * so that its (marked) nodes do not share the target's chunks. */
  char *room = strcmp(mode, "straddle") ? malloc(20 << 20) : NULL;
  struct node *s = NULL;
  for (long i = 0; i < 2000000; i++) {
    struct node *n = malloc(sizeof *n);
    n->next = s;
    n->v = i;
    s = n;
  }
  const uintptr_t chunk = (uintptr_t)1 << GA_CHUNK_SHIFT;
  if (!room) {
    static char *objs[4096];
    for (int k = 0; k < 4096; k++) {
      uintptr_t o = (uintptr_t)(objs[k] = malloc(12000));
      uintptr_t boundary = (o + chunk - 1) & ~(chunk - 1);
      if (o % chunk && boundary + 64 + 8 <= o + 12000) {
        for (int i = 0; i < k; i++) free(objs[i]);
        target = objs[k];
        store_off = boundary - o + 64;
        break;
      }
    }
    if (!target) {
      printf("no object crossed a chunk boundary\n");
      exit(77);
    }
    memset(target, 0, 12000);
  } else {
    /* 1 MiB with free pages after it, grown to 12 MiB in place during the
     * mark; the store goes near its end, in a chunk of its own. */
    if (strcmp(mode, "grow-unc") == 0) {
      free(room);
      target = goalloc_gc_malloc_uncollectable(1 << 20);
    } else {
      target = realloc(room, 1 << 20);
    }
    memset(target, 0, 1 << 20);
    store_off = (12 << 20) - 64;
  }
  *(struct node **)target = s;
  sentinel = ~(uintptr_t)s;
  s = NULL;
}

/* One attempt, in a child process of its own. */
static int attempt(void) {
  goalloc_gc_set_percent(-1); /* only the explicit cycle below */
  build();
  scrub();
  pthread_t t;
  pthread_create(&t, NULL, writer, NULL);
  usleep(1000);
  go = 1;
  goalloc_gc_collect();
  pthread_join(t, NULL);
  int reachable = stored_in_mark && *(uintptr_t *)(target + store_off) == ~x_hidden;
  printf("%s: stored during the mark %d, reachable %d, finalized %d\n", mode, stored_in_mark,
         reachable, finalized);
  if (!reachable) return 77;
  if (finalized) {
    printf("FAIL: an object reachable from a written page was taken for garbage\n");
    return 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  mode = argc > 1 ? argv[1] : "straddle";
  if (goalloc_gc_mode() != GOALLOC_GC_COLLECT) {
    fprintf(stderr, "gc_chunk_walk: run with GOALLOC_GC=collect\n");
    return 2;
  }
  /* An attempt is inconclusive when the mark ended before the store (a
   * loaded machine): up to 5, each in a fresh process. */
  for (int i = 0; i < 5; i++) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return 2;
    if (pid == 0) {
      int rc = attempt();
      fflush(NULL);
      _exit(rc);
    }
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return 1;
    if (WEXITSTATUS(status) != 77) return WEXITSTATUS(status);
  }
  return 77;
}
