/* fixalloc.h: fixed-size metadata allocator (Go's mfixalloc).
 *
 * Spans, caches and tiny-block tables are metadata: they never live in the
 * heap they describe, so the collector never scans them and a heap overrun
 * cannot corrupt them. Each fixalloc carves objects of one size out of
 * chunks mapped straight from the OS and keeps freed ones on a list; memory
 * is never returned to the OS. Its own lock protects it. */
#ifndef GA_FIXALLOC_H
#define GA_FIXALLOC_H

#include <stddef.h>
#include <stdint.h>

#include "os.h"

typedef struct ga_fixalloc {
  size_t size;
  ga_mutex_t lock;
  void *freelist;
  char *chunk;
  size_t nchunk;     /* bytes left in chunk */
  size_t inuse;      /* objects handed out */
} ga_fixalloc_t;

#define GA_FIXALLOC_INIT(sz) {(sz), GA_MUTEX_INIT, NULL, NULL, 0, 0}

/* Returns zeroed memory, or NULL if the OS refuses. */
void *ga_fixalloc_alloc(ga_fixalloc_t *f);
void ga_fixalloc_free(ga_fixalloc_t *f, void *p);

/* Bytes mapped by all fixallocs, for statistics. */
extern uint64_t ga_metadata_mapped;

#endif
