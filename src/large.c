#include "large.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "arena.h"
#include "gc/collector.h"
#include "heap.h"
#include "malloc_int.h"
#include "pagecache.h"
#include "scavenger.h"

void *ga_large_alloc(size_t size, size_t align, bool zero, unsigned kind) {
  if (size > PTRDIFF_MAX - GA_PAGE_SIZE || align > ((size_t)1 << 40)) {
    errno = ENOMEM;
    return NULL;
  }
  if (GA_UNLIKELY(ga_gc_auto)) ga_gc_poll();
  ga_scavenger_start_pending();
  size_t npages = (size + GA_PAGE_SIZE - 1) >> GA_PAGE_SHIFT;
  size_t align_pages = align > GA_PAGE_SIZE ? align >> GA_PAGE_SHIFT : 1;
  ga_span_t *s = align_pages == 1 ? ga_pagecache_get(npages) : NULL;
  if (!s) s = ga_heap_alloc_span(npages, align_pages, 0);
  if (!s) return NULL;
  s->gcflags = (uint8_t)kind;
  if (kind == GA_KIND_MANUAL_SCAN) ga_arena_note_manual_scanned(s->base, s->base + s->npages * GA_PAGE_SIZE);
  uintptr_t p = s->base;
  /* The span was made young (gcgen UINT32_MAX: never collected). Now that
   * the pointer is in a register, it stays young only until the current
   * cycle count moves on; re-read if a pause slips in between (gc/sweep.c). */
  __asm__ volatile("" : "+r"(p) : : "memory");
  uint32_t g;
  do {
    g = __atomic_load_n(&ga_gc_cycle, __ATOMIC_RELAXED);
    s->gcgen = g;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
  } while (__atomic_load_n(&ga_gc_cycle, __ATOMIC_RELAXED) != g);
  if (zero && s->needzero) memset((void *)p, 0, size);
  return (void *)p;
}

void ga_large_free(ga_span_t *s, uintptr_t p, const char *fn) {
  if (p != s->base) {
    ga_report_bad_free(fn, (void *)p, "invalid pointer (inside a large block)");
    return;
  }
  /* The old block of a realloc that moved goes straight back to the heap:
   * the program is growing its data, and the blocks around these pages
   * grow into them in place (ga_heap_grow_large) when they are free. */
  if (strcmp(fn, "realloc") == 0 || !ga_pagecache_put(s)) ga_heap_free_span(s);
}
