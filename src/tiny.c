#include "tiny.h"

#include <errno.h>

#include "central.h"
#include "fixalloc.h"
#include "malloc_int.h"
#include "scavenger.h"

static ga_fixalloc_t ref_fixalloc = GA_FIXALLOC_INIT(sizeof(uint64_t) * (GA_PAGE_SIZE / 16));

bool ga_tiny_span_init(ga_span_t *s) {
  s->tinyref = ga_fixalloc_alloc(&ref_fixalloc);
  return s->tinyref != NULL;
}

void ga_tiny_span_release(ga_span_t *s) {
  ga_fixalloc_free(&ref_fixalloc, s->tinyref);
  s->tinyref = NULL;
}

/* The block's slot goes back to its span: it holds nothing any more. */
static void free_block(ga_cache_t *c, ga_span_t *s, uintptr_t blk) {
  int saved = errno; /* free() preserves errno; the heap may touch it */
  uint32_t idx = (uint32_t)((blk - s->base) >> 4);
  __atomic_store_n(ga_tiny_ref(s, blk), 0, __ATOMIC_RELAXED);
  if (GA_LOAD(s->owner) == c)
    ga_cache_free_local(c, s, blk, idx, "free");
  else
    ga_span_free_remote(s, blk, idx, "free");
  errno = saved;
}

void ga_tiny_drop_block(ga_cache_t *c) {
  if (!c->tiny) return;
  uintptr_t blk = c->tiny;
  ga_span_t *s = c->tinyspan;
  c->tiny = 0;
  c->tinyspan = NULL;
  c->tinyoffset = 0;
  uint64_t old = __atomic_fetch_and(ga_tiny_ref(s, blk), ~GA_TINY_HELD, __ATOMIC_ACQ_REL);
  if ((old & 0xffff) == 0) free_block(c, s, blk);
}

void *ga_tiny_alloc_slow(ga_cache_t *c, size_t size) {
  if (c->tiny) {
    /* The current block is full; if all its objects were freed, start it
     * over instead of taking a new one (we hold it: nobody else can add an
     * object, and with none live nobody can free one). */
    uint64_t *r = ga_tiny_ref(c->tinyspan, c->tiny);
    if ((__atomic_load_n(r, __ATOMIC_ACQUIRE) & 0xffff) == 0) {
      __atomic_store_n(r, GA_TINY_HELD | ga_tiny_bits(0, size), __ATOMIC_RELAXED);
      c->tinyoffset = size;
      return (void *)c->tiny;
    }
  }
  unsigned spc = GA_TINY_SPAN_CLASS;
  ga_span_t *s = c->alloc[spc];
  uintptr_t blk;
  uint64_t cache = s->allocCache;
  uint32_t idx = s->nelems;
  if (cache) {
    idx = ga_span_next_free_index(s);
  }
  if (idx < s->nelems) {
    blk = ga_span_take_slot(s, idx);
  } else {
    blk = (uintptr_t)ga_cache_alloc_slow(c, spc);
    if (!blk) return NULL;
    c = ga_tls_cache; /* the slow path may have created the cache */
    s = c->alloc[spc];
  }
  uint64_t ref = ga_tiny_bits(0, size);
  /* Go's rule: keep whichever block has more room left. */
  if (size < c->tinyoffset || !c->tiny) {
    __atomic_store_n(ga_tiny_ref(s, blk), ref | GA_TINY_HELD, __ATOMIC_RELAXED);
    ga_tiny_drop_block(c);
    c->tiny = blk;
    c->tinyspan = s;
    c->tinyoffset = size;
  } else {
    __atomic_store_n(ga_tiny_ref(s, blk), ref, __ATOMIC_RELAXED);
  }
  return (void *)blk;
}

void ga_tiny_free(ga_cache_t *c, ga_span_t *s, uintptr_t p, const char *fn) {
  uintptr_t blk = p & ~(uintptr_t)15;
  uint32_t idx = (uint32_t)((blk - s->base) >> 4);
  if (idx >= s->nelems || !ga_span_is_allocated(s, idx)) {
    /* The block is free: its last object was freed already (or p was
     * never handed out; the block's state is gone, so we cannot tell). */
    ga_report_bad_free(fn, (void *)p, "double free (or invalid pointer: the block is free)");
    return;
  }
  unsigned off = (unsigned)(p & 15);
  uint64_t bit = (uint64_t)1 << off;
  uint64_t *ref = ga_tiny_ref(s, blk);
  uint64_t old = __atomic_fetch_and(ref, ~bit, __ATOMIC_ACQ_REL);
  if (!(old & bit)) {
    /* A boundary here means an object started here once: a double free.
     * Without one it may still be a double free (a block starts over when
     * its last object goes), or a pointer never handed out. */
    uint64_t live = old & 0xffff & (((uint64_t)1 << off) - 1);
    if (live) {
      unsigned start = 63 - (unsigned)__builtin_clzll(live);
      uint64_t after = (old >> 16 & 0xffff) & ~(((uint64_t)2 << start) - 1);
      unsigned end = after ? (unsigned)__builtin_ctzll(after) : 16;
      if (off < end) {
        ga_report_bad_free(fn, (void *)p, "invalid pointer (inside a block)");
        return;
      }
    }
    ga_report_bad_free(fn, (void *)p,
                       old >> (16 + off) & 1 ? "double free"
                                             : "double free (or invalid pointer: no object starts here)");
    return;
  }
  uint64_t left = old & ~bit;
  if ((left & (0xffff | GA_TINY_HELD)) == 0) {
    free_block(c, s, blk);
  } else if ((left & 0xffff) == 0 && c->tiny == blk) {
    /* The last object of our own current block: start the block over, so a
     * malloc/free pair of tiny objects never leaves the fast path. */
    __atomic_store_n(ref, GA_TINY_HELD, __ATOMIC_RELAXED);
    c->tinyoffset = 0;
  }
}

bool ga_tiny_live(const ga_span_t *s, uintptr_t p) {
  uint32_t idx = (uint32_t)((p - s->base) >> 4);
  if (idx >= s->nelems || !ga_span_is_allocated(s, idx)) return false;
  return __atomic_load_n(ga_tiny_ref(s, p & ~(uintptr_t)15), __ATOMIC_RELAXED) >> (p & 15) & 1;
}

/* fork: the block-state allocator's lock, with the heap's. */
void ga_tiny_lock(void) { ga_mutex_lock(&ref_fixalloc.lock); }
void ga_tiny_unlock(void) { ga_mutex_unlock(&ref_fixalloc.lock); }
void ga_tiny_reset_lock(void) { ga_mutex_reset(&ref_fixalloc.lock); }

size_t ga_tiny_usable(const ga_span_t *s, uintptr_t p) {
  unsigned off = (unsigned)(p & 15);
  uint64_t bounds = __atomic_load_n(ga_tiny_ref(s, p & ~(uintptr_t)15), __ATOMIC_RELAXED) >> 16 & 0xffff;
  bounds &= ~(((uint64_t)2 << off) - 1);
  unsigned end = bounds ? (unsigned)__builtin_ctzll(bounds) : 16;
  return end - off;
}
