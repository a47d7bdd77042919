/* prodcons - producer/consumer: every object is freed by another thread
 * (the shape of xmalloc-test).
 *
 *   prodcons [-t PAIRS] [-n OBJECTS] [-k BATCH] [-q QUEUE] [-a MIN] [-b MAX] [-s SEED]
 *
 * PAIRS producer threads and as many consumer threads (default 1 + 1).
 * Producer i allocates OBJECTS/PAIRS objects (default 8M in total) of random
 * sizes MIN..MAX (default 16..512), stamps them and passes them in batches
 * of BATCH (-k, default 64; the batch descriptor is malloc'd too) through a
 * bounded single-producer single-consumer ring of QUEUE batches (default 16)
 * to consumer i, which checks and frees them.  A full or empty ring makes its
 * thread yield.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "common.h"

typedef struct {
  uint32_t n;
  void *obj[];
} batch_t;

typedef struct {
  _Alignas(64) _Atomic unsigned long head; /* next slot the consumer reads */
  _Alignas(64) _Atomic unsigned long tail; /* next slot the producer writes */
  _Alignas(64) batch_t **ring;
  long objects;
  unsigned id;
} chan_t;

static size_t qlen, bsize, lo, hi;
static uint64_t seed;

static void *producer(void *arg) {
  chan_t *c = arg;
  rng_t r;
  rng_seed(&r, seed * 7919 + c->id);
  uint64_t next_id = (uint64_t)c->id << 32;
  long left = c->objects;
  while (left > 0) {
    uint32_t n = left < (long)bsize ? (uint32_t)left : (uint32_t)bsize;
    batch_t *b = xmalloc(sizeof *b + n * sizeof(void *));
    b->n = n;
    for (uint32_t i = 0; i < n; i++) {
      size_t s = (size_t)rng_range(&r, lo, hi);
      b->obj[i] = xmalloc(s);
      stamp(b->obj[i], s, next_id++);
    }
    left -= n;
    unsigned long t = atomic_load_explicit(&c->tail, memory_order_relaxed);
    while (t - atomic_load_explicit(&c->head, memory_order_acquire) >= qlen) sched_yield();
    c->ring[t % qlen] = b;
    atomic_store_explicit(&c->tail, t + 1, memory_order_release);
  }
  /* end marker */
  unsigned long t = atomic_load_explicit(&c->tail, memory_order_relaxed);
  while (t - atomic_load_explicit(&c->head, memory_order_acquire) >= qlen) sched_yield();
  c->ring[t % qlen] = NULL;
  atomic_store_explicit(&c->tail, t + 1, memory_order_release);
  return NULL;
}

static void *consumer(void *arg) {
  chan_t *c = arg;
  long seen = 0;
  for (;;) {
    unsigned long h = atomic_load_explicit(&c->head, memory_order_relaxed);
    while (atomic_load_explicit(&c->tail, memory_order_acquire) == h) sched_yield();
    batch_t *b = c->ring[h % qlen];
    atomic_store_explicit(&c->head, h + 1, memory_order_release);
    if (!b) break;
    if (b->n < 1 || b->n > bsize) corrupt("batch %p header overwritten (n=%u)", (void *)b, b->n);
    for (uint32_t i = 0; i < b->n; i++) {
      stamp_check_w1(b->obj[i], lo, hi, "prodcons");
      free(b->obj[i]);
    }
    seen += b->n;
    free(b);
  }
  if (seen != c->objects) corrupt("consumer %u saw %ld objects, expected %ld", c->id, seen, c->objects);
  return NULL;
}

int main(int argc, char **argv) {
  bench_name = "prodcons";
  opts_t o = {.threads = 1, .iters = 8000000, .seed = 1};
  parse_opts(argc, argv, &o, "kqab",
             "[-t PAIRS] [-n OBJECTS] [-k BATCH] [-q QUEUE] [-a MIN] [-b MAX] [-s SEED]");
  unsigned pairs = (unsigned)o.threads;
  bsize = (size_t)opt_x(&o, 'k', 64);
  qlen = (size_t)opt_x(&o, 'q', 16);
  lo = (size_t)opt_x(&o, 'a', 16);
  hi = (size_t)opt_x(&o, 'b', 512);
  seed = (uint64_t)o.seed;
  if (bsize < 1 || bsize > 100000 || qlen < 1 || lo < 16 || hi < lo || hi >= (1u << 24))
    die("bad parameters");

  chan_t *ch = aligned_alloc(64, pairs * sizeof *ch);
  pthread_t *tid = xmalloc(2 * pairs * sizeof *tid);
  if (!ch) die("out of memory");
  for (unsigned i = 0; i < pairs; i++) {
    atomic_init(&ch[i].head, 0);
    atomic_init(&ch[i].tail, 0);
    ch[i].ring = xmalloc(qlen * sizeof *ch[i].ring);
    ch[i].objects = o.iters / (long)pairs;
    ch[i].id = i;
  }
  for (unsigned i = 0; i < pairs; i++) {
    if (pthread_create(&tid[2 * i], NULL, consumer, &ch[i])) die("pthread_create failed");
    if (pthread_create(&tid[2 * i + 1], NULL, producer, &ch[i])) die("pthread_create failed");
  }
  for (unsigned i = 0; i < 2 * pairs; i++) pthread_join(tid[i], NULL);
  for (unsigned i = 0; i < pairs; i++) free(ch[i].ring);
  free(ch);
  free(tid);
  report_final_rss();
  return 0;
}
