#include "fixalloc.h"

#include <string.h>

uint64_t ga_metadata_mapped;

#define CHUNK_SIZE (256 * 1024)

void *ga_fixalloc_alloc(ga_fixalloc_t *f) {
  ga_mutex_lock(&f->lock);
  void *p = f->freelist;
  if (p) {
    f->freelist = *(void **)p;
    f->inuse++;
    ga_mutex_unlock(&f->lock);
    memset(p, 0, f->size);
    return p;
  }
  if (f->nchunk < f->size) {
    size_t sz = f->size > CHUNK_SIZE ? f->size : CHUNK_SIZE;
    char *c = ga_os_reserve(sz, 4096);
    if (!c) {
      ga_mutex_unlock(&f->lock);
      return NULL;
    }
    __atomic_fetch_add(&ga_metadata_mapped, sz, __ATOMIC_RELAXED);
    f->chunk = c;
    f->nchunk = sz;
  }
  p = f->chunk;
  f->chunk += f->size;
  f->nchunk -= f->size;
  f->inuse++;
  ga_mutex_unlock(&f->lock);
  return p; /* fresh from mmap: already zero */
}

void ga_fixalloc_free(ga_fixalloc_t *f, void *p) {
  ga_mutex_lock(&f->lock);
  *(void **)p = f->freelist;
  f->freelist = p;
  f->inuse--;
  ga_mutex_unlock(&f->lock);
}
