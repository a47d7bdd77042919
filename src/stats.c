/* stats.c: statistics, taken when asked (mallinfo, goalloc_get_stats,
 * GOALLOC_STATS=1 at exit) by walking span metadata under the heap lock, so
 * that malloc and free keep no counters at all. Counts of spans owned by
 * other running threads are read racily: exact when the program is quiet. */
#include <malloc.h>
#include <string.h>
#include <errno.h>

#include "arena.h"
#include "cache.h"
#include "fixalloc.h"
#include "goalloc.h"
#include "heap.h"
#include "malloc_int.h"
#include "options.h"
#include "pagealloc.h"
#include "pagecache.h"
#include "scavenger.h"
#include "tiny.h"

typedef struct {
  uint64_t bytes, objects, small_spans;
} walk_t;

static void count_span(ga_span_t *s, void *arg) {
  walk_t *w = arg;
  if (s->spanclass == 0) return; /* large: from ga_heap_stats */
  w->small_spans++;
  uint32_t n = __atomic_load_n(&s->allocCount, __ATOMIC_RELAXED);
  n -= __atomic_load_n(&s->held, __ATOMIC_RELAXED);
  if (!s->tiny) {
    w->bytes += (uint64_t)n * s->elemsize;
    w->objects += n;
    return;
  }
  for (uint32_t i = 0; i < s->nelems; i++) {
    if (!ga_span_is_allocated(s, i)) continue;
    w->bytes += 16;
    w->objects += (uint64_t)__builtin_popcountll(__atomic_load_n(&s->tinyref[i], __ATOMIC_RELAXED) & 0xffff);
  }
}

void ga_stats_collect(goalloc_stats_t *st) {
  size_t sz = st->struct_size;
  memset(st, 0, sizeof *st);
  st->struct_size = sz;
  walk_t w = {0, 0, 0};
  ga_mutex_lock(&ga_heap_lock);
  ga_heap_for_each_span(count_span, &w);
  ga_heap_stats_t hs;
  hs.large_objects = __atomic_load_n(&ga_heap_stats.large_objects, __ATOMIC_RELAXED);
  hs.large_pages = __atomic_load_n(&ga_heap_stats.large_pages, __ATOMIC_RELAXED);
  hs.huge_pages = ga_heap_stats.huge_pages;
  ga_pages_stats_t ps = ga_pages_stats;
  /* Spans in the threads' page caches are free memory, not objects. */
  uint64_t cspans = __atomic_load_n(&ga_pagecache_spans, __ATOMIC_RELAXED);
  uint64_t cpages = __atomic_load_n(&ga_pagecache_pages, __ATOMIC_RELAXED);
  if (cspans > hs.large_objects) cspans = hs.large_objects;
  if (cpages > hs.large_pages || cpages > ps.inuse_pages) cpages = 0;
  hs.large_objects -= cspans;
  hs.large_pages -= cpages;
  ps.inuse_pages -= cpages;
  ps.free_pages += cpages;
  uint64_t arenas = ga_arenas_reserved;
  ga_mutex_unlock(&ga_heap_lock);
  st->heap_mapped = arenas * GA_ARENA_SIZE;
  st->heap_inuse = (ps.inuse_pages + hs.huge_pages) * GA_PAGE_SIZE;
  st->heap_free = ps.free_pages * GA_PAGE_SIZE;
  st->heap_released = ps.scav_pages * GA_PAGE_SIZE;
  st->small_spans = w.small_spans;
  st->large_objects = hs.large_objects;
  st->large_bytes = (hs.large_pages) * GA_PAGE_SIZE;
  st->alloc_bytes = w.bytes + st->large_bytes;
  st->alloc_objects = w.objects + hs.large_objects;
  st->metadata_bytes = __atomic_load_n(&ga_metadata_mapped, __ATOMIC_RELAXED);
  st->arenas = arenas;
  st->threads = __atomic_load_n(&ga_caches_live, __ATOMIC_RELAXED);
  st->scavenged_total = __atomic_load_n(&ga_scavenged_total, __ATOMIC_RELAXED);
  st->rss = ga_os_rss();
  st->peak_rss = ga_os_peak_rss();
}

static void mib(int fd, const char *name, uint64_t v) {
  ga_printf(fd, "goalloc: %-16s %10lu.%02lu MiB\n", name, (unsigned long)(v >> 20),
            (unsigned long)((v & ((1 << 20) - 1)) * 100 >> 20));
}

void ga_stats_print(int fd) {
  goalloc_stats_t st;
  st.struct_size = sizeof st;
  ga_stats_collect(&st);
  ga_printf(fd, "goalloc: statistics (goalloc %d.%d.%d)\n", GOALLOC_VERSION_MAJOR,
            GOALLOC_VERSION_MINOR, GOALLOC_VERSION_PATCH);
  mib(fd, "allocated", st.alloc_bytes);
  ga_printf(fd, "goalloc: %-16s %10lu\n", "objects", (unsigned long)st.alloc_objects);
  ga_printf(fd, "goalloc: %-16s %10lu\n", "large objects", (unsigned long)st.large_objects);
  ga_printf(fd, "goalloc: %-16s %10lu\n", "small spans", (unsigned long)st.small_spans);
  mib(fd, "heap in use", st.heap_inuse);
  mib(fd, "heap free", st.heap_free);
  mib(fd, "heap released", st.heap_released);
  mib(fd, "heap reserved", st.heap_mapped);
  mib(fd, "metadata", st.metadata_bytes);
  mib(fd, "scavenged total", st.scavenged_total);
  ga_printf(fd, "goalloc: %-16s %10lu\n", "thread caches", (unsigned long)st.threads);
  mib(fd, "rss", st.rss);
  mib(fd, "peak rss", st.peak_rss);
}

__attribute__((destructor)) static void ga_stats_at_exit(void) {
  if (ga_initialized && ga_option(GA_OPT_STATS)) ga_stats_print(2);
}
