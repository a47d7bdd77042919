/* live_index.h: the live set of the pacing tests (gc_pacer, gc_fraction,
 * gc_pacer_threads): nodes reachable only from an index array held by a
 * global. The index's scan spreads the nodes over the global gray list,
 * where assists and slices find work (a linked list would be walked by the
 * cycle's thread alone, one node at a time). Built with the collector
 * disabled, so its allocation does not count in any cycle's measurement. */
#ifndef LIVE_INDEX_H
#define LIVE_INDEX_H

#include <stdio.h>
#include <stdlib.h>

#include "goalloc.h"

typedef struct {
  long tag;
  void *pad[15];
} live_node_t;

static live_node_t **live_index;

static void live_index_build(long nodes) {
  goalloc_gc_disable();
  live_index = goalloc_gc_malloc((size_t)nodes * sizeof *live_index);
  if (!live_index) abort();
  for (long i = 0; i < nodes; i++) {
    live_node_t *n = goalloc_gc_malloc(sizeof *n);
    if (!n) abort();
    n->tag = i;
    live_index[i] = n;
  }
  goalloc_gc_enable();
}

/* 1 (and a FAIL line) if any node was freed or overwritten. */
static int live_index_check(long nodes) {
  long intact = 0;
  for (long i = 0; i < nodes; i++) intact += live_index[i]->tag == i;
  if (intact == nodes) return 0;
  fprintf(stderr, "FAIL: %ld of %ld live nodes intact\n", intact, nodes);
  return 1;
}

#endif
