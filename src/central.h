/* central.h: per-span-class lists of spans no thread owns (Go's mcentral).
 *
 * In Go every span flows cache -> central -> sweep -> cache. With explicit
 * free a span stays with the cache that took it for as long as its thread
 * lives (see cache.h), so mcentral here holds the spans no cache owns:
 * spans released by exited threads (and, after fork, by threads that do not
 * exist in the child), split like Go's into partial (free slots) and full.
 * A cache that needs a span takes a partial one before asking the heap for
 * new pages (mcentral.cacheSpan / grow).
 *
 * Each span class has its own lock (there is no global lock on this path);
 * it protects the lists and the allocation state of every span on them.
 * A span changes owner (cache <-> central) only with this lock and the span's
 * xlock held, in that order. */
#ifndef GA_CENTRAL_H
#define GA_CENTRAL_H

#include <stdbool.h>

#include "os.h"
#include "span.h"

typedef struct {
  ga_mutex_t lock;
  ga_span_list_t partial, full;
  int nonempty; /* partial.first != NULL, for the racy peek before locking */
} __attribute__((aligned(64))) ga_central_t;

extern ga_central_t ga_central[GA_NUM_CACHE_CLASSES];

struct ga_cache;
/* A span with free slots for cache c (partial from central, else new from
 * the heap), owned by c. NULL with errno ENOMEM. */
ga_span_t *ga_central_cache_span(unsigned spc, struct ga_cache *c, bool warm);
/* Frees object idx of an unowned span; false if the span got an owner in
 * the meantime (the caller then frees through the owner). */
bool ga_central_free(ga_span_t *s, uintptr_t p, uint32_t idx, const char *fn);
/* Takes span s (owned by a cache being released) into central. false if
 * remote frees for it are still queued on the cache. */
bool ga_central_uncache_span(unsigned spc, ga_span_t *s);

/* Collector's pause, central locks held: frees the slots set in g[]. */
void ga_central_sweep_span(ga_span_t *s, const uint64_t *g, ga_span_t **empty);
static inline unsigned ga_span_cache_class(const ga_span_t *s) {
  return s->tiny ? GA_TINY_SPAN_CLASS
                 : s->spanclass + (s->gcflags & GA_SPAN_MANUAL ? GA_MANUAL_CLASS_BASE : 0);
}

#endif
