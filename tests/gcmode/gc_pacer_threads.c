/* gc_pacer_threads: what short-lived threads allocate during a mark counts
 * for the pacer. The final pause sums the allocation counts of the threads
 * still registered; a thread that exits during the mark leaves its count
 * behind (gc/stw.c, unlink_record). Before that, a program whose
 * allocation is done by threads that live 256 KiB each measured cons/mark
 * 0 and had every trigger at the late bound.
 *
 * 16 MiB of live nodes stay reachable from an index; GOGC is 10, so a
 * mark runs most of the time; then 1024 threads, two at a time, each
 * allocate 256 KiB of garbage and exit. Checked: cycles ran, the bytes the
 * pacer counted as allocated during marks (mark_alloc_bytes) are at least
 * a quarter of what the threads allocated (without the exited threads'
 * counts: the two threads alive at each pause, a few percent), cons/mark
 * is above zero, and every live node is intact. Needs the concurrent mark (exits 77 where
 * userfaultfd is refused: every cycle is then one pause, nothing is
 * allocated during a mark). */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "goalloc.h"
#include "live_index.h"

#define NODES ((16L << 20) / (long)sizeof(live_node_t))
#define THREADS 1024
#define PER_THREAD (256 << 10)

static void *volatile sink[2][16];

static void *mutator(void *arg) {
  long id = (long)arg;
  for (unsigned k = 0, done = 0; done < PER_THREAD; done += 128, k++) {
    void **p = goalloc_gc_malloc(120);
    if (!p) abort();
    p[0] = live_index[k % NODES];
    sink[id][k % 16] = p;
  }
  return NULL;
}

int main(void) {
  long fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    perror("gc_pacer_threads: userfaultfd (no concurrent mark)");
    return 77;
  }
  close((int)fd);
  goalloc_gc_init();
  goalloc_gc_set_percent(10);
  live_index_build(NODES);
  for (int i = 0; i < THREADS; i += 2) {
    pthread_t a, b;
    if (pthread_create(&a, NULL, mutator, (void *)0L) || pthread_create(&b, NULL, mutator, (void *)1L)) abort();
    pthread_join(a, NULL);
    pthread_join(b, NULL);
  }
  int fails = live_index_check(NODES);
  goalloc_gc_stats_t st;
  memset(&st, 0, sizeof st);
  st.struct_size = sizeof st;
  if (goalloc_gc_get_stats(&st) != 0) return 1;
  unsigned long long total = (unsigned long long)THREADS * PER_THREAD;
  fprintf(stderr,
          "gc_pacer_threads: %llu cycles, %llu of %llu MiB allocated counted during marks, cons/mark "
          "%.4f, trigger %llu, goal %llu\n",
          (unsigned long long)st.cycles, (unsigned long long)(st.mark_alloc_bytes >> 20), total >> 20,
          st.cons_mark, (unsigned long long)st.heap_trigger, (unsigned long long)st.heap_goal);
  if (st.mark_alloc_bytes < total / 4) {
    fprintf(stderr, "FAIL: the exited threads' allocation during marks was not counted\n");
    fails++;
  }
  if (st.cycles < 3) {
    fprintf(stderr, "FAIL: only %llu cycles\n", (unsigned long long)st.cycles);
    fails++;
  }
  if (!(st.cons_mark > 0)) {
    fprintf(stderr, "FAIL: cons/mark %f: the exited threads' allocation was not counted\n", st.cons_mark);
    fails++;
  }
  if (fails) return 1;
  fprintf(stderr, "gc_pacer_threads: OK\n");
  return 0;
}
