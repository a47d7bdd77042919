/* Helper run by api_test with a chosen environment (GOALLOC_ON_ERROR,
 * bad option values...). goalloc reads its options at start-up, so these
 * cases need a fresh process. On stdout it prints one "expect OP PTR KIND"
 * line per goalloc error line it provokes, then "ok" if the heap still
 * behaves; the test compares that with what goalloc printed on stderr. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <goalloc.h>

static char global_buf[64];

/* Keeps the compiler from seeing through the deliberate misuse. */
static void *opaque(void *p) {
  __asm__ volatile("" : "+r"(p) : : "memory");
  return p;
}

static void expect(const char *op, void *p, const char *kind) {
  printf("expect %s %p %s\n", op, p, kind);
  fflush(stdout);
}

/* After a reported (and ignored) bad free the heap must still hand out
 * distinct, writable blocks of that size: a half-done double free would put
 * the block on a free list twice. */
static int heap_still_sane(size_t n) {
  static unsigned char *ps[512];
  const int K = n >= 65536 ? 16 : 512;
  for (int i = 0; i < K; i++) {
    ps[i] = malloc(n);
    if (!ps[i]) return 0;
    memset(ps[i], i & 0xff, n);
  }
  for (int i = 0; i < K; i++)
    for (size_t j = 0; j < n; j++)
      if (ps[i][j] != (unsigned char)(i & 0xff)) {
        fprintf(stdout, "block %d (%p) shared with another block\n", i, (void *)ps[i]);
        return 0;
      }
  for (int i = 0; i < K; i++) free(ps[i]);
  return 1;
}

static int double_free(size_t n) {
  void *keep = malloc(n); /* a live neighbour in the same span */
  void *p = malloc(n);
  memset(p, 1, n);
  void *again = opaque(p); /* laundered: the reuse below is deliberate */
  /* Printed before the first free: stdio's first output allocates, and could
   * otherwise be handed p's memory, making the second free a valid one. */
  expect("free", again, "double free");
  free(p);
  free(again);
  int ok = heap_still_sane(n);
  free(keep);
  return ok;
}

static int invalid_pointers(void) {
  char stack_buf[64] = {0};
  char *small = malloc(100);
  char *large = malloc(1 << 20);
  expect("free", small + 16, "invalid pointer");
  free(opaque(small + 16));
  expect("free", large + 4096, "invalid pointer");
  free(opaque(large + 4096));
  expect("free", stack_buf, "invalid pointer");
  free(opaque(stack_buf));
  expect("free", global_buf, "invalid pointer");
  free(opaque(global_buf));
  expect("realloc", stack_buf, "any");
  void *r = realloc(opaque(stack_buf), 100);
  (void)r; /* what a warned realloc returns is not specified */
  /* The real blocks were left alone and are still owned by the program. */
  memset(small, 2, 100);
  memset(large, 3, 1 << 20);
  free(small);
  free(large);
  return heap_still_sane(100) && heap_still_sane(1 << 20);
}

/* An ordinary little workload: enough to make goalloc start up fully. */
static int plain(void) {
  void *ps[1000];
  for (int i = 0; i < 1000; i++) {
    ps[i] = malloc((size_t)(i * 37 % 5000) + 1);
    if (!ps[i]) return 0;
  }
  for (int i = 0; i < 1000; i++) free(ps[i]);
  void *big = calloc(1, 8 << 20);
  free(big);
  return goalloc_trim(0) >= 0;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: api_helper MODE\n");
    return 2;
  }
  const char *m = argv[1];
  int ok;
  if (!strcmp(m, "plain"))
    ok = plain();
  else if (!strcmp(m, "double-free"))
    ok = double_free(64);
  else if (!strcmp(m, "double-free-tiny"))
    ok = double_free(3);
  else if (!strcmp(m, "double-free-large"))
    ok = double_free(1 << 20);
  else if (!strcmp(m, "invalid"))
    ok = invalid_pointers();
  else {
    fprintf(stderr, "api_helper: unknown mode %s\n", m);
    return 2;
  }
  if (!ok) return 1;
  printf("ok\n");
  return 0;
}
