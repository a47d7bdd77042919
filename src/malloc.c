/* malloc.c: the allocator's front end and the map of how it fits together
 * (Go's malloc.go).
 *
 * Allocation, from fastest to slowest:
 *  1. Tiny (< 16 B, pointer-free; tiny.h): bump the offset in the cache's
 *     current 16-byte block.
 *  2. Small (<= 32 KiB): size -> size class (two table lookups) -> span class
 *     -> the cache's current span for it -> ctz of allocCache gives the next
 *     free slot (Go's nextFreeFast); set its allocBit. No lock, no atomic.
 *  3. The current span is used up (cache.c): drain the remote frees, rescan
 *     the span if the owner freed slots in it, else take a partial span the
 *     thread owns, else one from mcentral, else new pages from the heap.
 *  4. Large (> 32 KiB; large.c): whole pages from the heap under its lock.
 *
 * free(p), from fastest to slowest:
 *  1. p -> arena index -> arena -> spans[page] -> span. If the calling
 *     thread's cache owns the span (span->fastowner == cache): object index
 *     by multiply-shift (divmul), check that p starts an object and its bit
 *     is set (else: invalid pointer / double free), clear the bit, decrement
 *     allocCount. Only when the span just became empty or stopped being full
 *     does the cache move it between its lists (or give it to the heap).
 *  2. Another thread owns the span: push p on the span's remote list
 *     (span.h, cache.h); the owner reclaims it at its next refill.
 *  3. Nobody owns it (its thread exited): clear the bit under the span
 *     class's mcentral lock.
 *  4. Tiny objects: clear the object's bit in the block state; the block is
 *     freed when the last one goes. Large objects: pages back to the heap.
 *
 * Whatever goalloc cannot satisfy returns NULL with errno ENOMEM; pointers
 * it never handed out are reported (ga_report_bad_free). */
#include "malloc_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "cache.h"
#include "central.h"
#include "gc/collector.h"
#include "heap.h"
#include "large.h"
#include "options.h"
#include "scavenger.h"
#include "sizeclasses.h"
#include "span.h"
#include "tiny.h"

bool ga_initialized;
/* Requests below these sizes go to the tiny allocator: explicit noscan
 * requests by default, plain malloc only with GOALLOC_TINY=all. Plain malloc
 * counts as pointer-free while the collector is off, so Go's rule would allow
 * it, but measured on churning workloads (bench/: strings) tiny blocks cost
 * time and memory: a block is reusable only once all its objects are freed,
 * and malloc(1) returning an odd address surprises some programs. */
size_t ga_tiny_limit = 0;
size_t ga_tiny_limit_noscan = GA_TINY_SIZE;

/* malloc's size-to-class table for sizes up to 1 KiB: Go's, except that by
 * default blocks of 16 B and more are 16-byte aligned as glibc's are (C only
 * promises the alignment of a type that fits, but programs tag pointer bits
 * and use aligned SSE loads on what glibc gives them), so 17..24 B go to the
 * 32 B class. GOALLOC_MIN_ALIGN=8 restores Go's 8-byte-aligned 24 B class. */
static uint8_t class8[sizeof ga_size_to_class8] = GA_SIZE_TO_CLASS8_MIN16;
_Static_assert(sizeof(ga_size_to_class8) == 129, "class8 covers 0..1024");

static inline unsigned malloc_class(size_t size) {
  if (size <= 1024) return class8[(size + 7) >> 3];
  return ga_size_to_class128[(size - 1024 + 127) >> 7];
}

static void apply_options(void) {
  ga_tiny_limit = ga_option(GA_OPT_TINY) == 1 ? GA_TINY_SIZE : 0;
  ga_tiny_limit_noscan = ga_option(GA_OPT_TINY) == 2 ? 0 : GA_TINY_SIZE;
  if (ga_gc_hooked) ga_malloc_hook_collector();
  if (ga_option(GA_OPT_MIN_ALIGN) == 1) memcpy(class8, ga_size_to_class8, sizeof class8);
  class8[0] = 1; /* malloc(0) without the tiny allocator: a unique 8 B block */
}
static ga_mutex_t init_lock = GA_MUTEX_INIT;

static void register_fork_handlers(void);

GA_NOINLINE void ga_init(void) {
  if (__atomic_load_n(&ga_initialized, __ATOMIC_ACQUIRE)) return;
  ga_mutex_lock(&init_lock);
  if (!ga_initialized) {
    ga_options_init();
    apply_options();
    ga_caches_init();
    ga_gc_init_from_options();
    __atomic_store_n(&ga_initialized, true, __ATOMIC_RELEASE);
  }
  ga_mutex_unlock(&init_lock);
}

/* Runs once libc is up: environ is certainly set, and pthread_atfork may
 * allocate (it re-enters malloc, which is fine by now). */
__attribute__((constructor)) static void ga_constructor(void) {
  if (ga_initialized) {
    /* A malloc before us initialised goalloc, possibly before environ was
     * set: read the options again. */
    ga_options_init();
    apply_options();
  } else {
    ga_init();
  }
  register_fork_handlers();
  ga_gc_constructor();
  ga_scavenger_enable();
}

void ga_report_bad_free(const char *fn, void *p, const char *problem) {
  if (!ga_initialized) ga_init();
  ga_printf(2, "goalloc: %s(%p): %s\n", fn, p, problem);
  if (ga_option(GA_OPT_ON_ERROR) == 0) abort();
}

/* ---- allocation ---- */

static inline __attribute__((always_inline)) void *small_alloc_class(size_t sizeclass,
                                                                    unsigned kind) {
  ga_cache_t *c = ga_tls_cache;
  /* ga_cacheclass in size_t: the constant part folds into the load. */
  size_t spc = (size_t)(kind >> 1) * GA_MANUAL_CLASS_BASE + (sizeclass << 1 | (kind & 1));
  ga_span_t *s = c->alloc[spc];
  uint64_t cache = s->allocCache;
  uint32_t from = s->freeindex;
  if (GA_UNLIKELY(!cache)) {
    /* The rest of this 64-slot word is taken: try the next word here
     * before the slow path (most refills need nothing more). */
    from = (from + 63) & ~(uint32_t)63;
    if (from >= s->nelems || !(cache = ~s->allocBits[from >> 6]))
      return ga_cache_alloc_slow(c, (unsigned)spc);
  }
  /* Slots past nelems have their allocBit set (span.c), so a set bit in
   * allocCache is always a real free slot: no bound check here. */
  unsigned bit = (unsigned)__builtin_ctzll(cache);
  uint32_t idx = from + bit;
  s->allocCache = cache >> bit >> 1;
  s->freeindex = idx + 1;
  return (void *)ga_span_take_slot(s, idx);
}

static inline __attribute__((always_inline)) void *small_alloc(size_t size, unsigned kind) {
  return small_alloc_class(malloc_class(size), kind);
}

/* With GOALLOC_GC=collect|leak (ga_gc_hooked) plain malloc is the
 * collector's: scanned and collectable, through gc/collector.c. */
void ga_malloc_hook_collector(void) {
  /* Every request then fails the tiny test's bound and finds the hooked
   * branch there, so the collector costs malloc's fast path nothing. */
  ga_tiny_limit = ga_tiny_limit_noscan = SIZE_MAX;
}

GA_NOINLINE static void *large_plain(size_t size, unsigned gckind) {
  if (GA_UNLIKELY(ga_gc_hooked)) return ga_gc_alloc(size, gckind, false);
  return ga_large_alloc(size, 0, false, GA_KIND_MANUAL_NOSCAN);
}

/* Plain malloc with the collector off (or in api mode) allocates manual,
 * pointer-free memory: never scanned, never collected, tiny allowed. In
 * the collect and leak modes it goes to the collector with gckind. */
static inline __attribute__((always_inline)) void *alloc_plain(size_t size, size_t tiny_limit,
                                                               unsigned gckind) {
  unsigned sc;
  if (GA_LIKELY(size <= 1024)) {
    if (size < tiny_limit) {
      if (GA_UNLIKELY(ga_gc_hooked)) return ga_gc_alloc(size, gckind, false);
      ga_cache_t *c = ga_tls_cache;
      return ga_tiny_alloc_fast(c, size ? size : 1);
    }
    sc = class8[(size + 7) >> 3];
  } else if (size <= GA_MAX_SMALL_SIZE) {
    /* Past 1 KiB only the collector's hook (tiny_limit SIZE_MAX) gets here. */
    if (GA_UNLIKELY(size < tiny_limit) && ga_gc_hooked) return ga_gc_alloc(size, gckind, false);
    sc = ga_size_to_class128[(size - 1024 + 127) >> 7];
  } else {
    return large_plain(size, gckind);
  }
  return small_alloc_class(sc, GA_KIND_MANUAL_NOSCAN);
}

/* Any kind (GA_KIND_*), never tiny; zeroed if zero. */
void *ga_alloc_kind(size_t size, unsigned kind, bool zero) {
  if (size > GA_MAX_SMALL_SIZE) return ga_large_alloc(size, 0, zero, kind);
  void *p = small_alloc(size, kind);
  if (p && zero) memset(p, 0, size);
  return p;
}

void *ga_malloc(size_t size) { return alloc_plain(size, ga_tiny_limit, GA_KIND_SCAN); }
void *ga_malloc_noscan(size_t size) {
  return alloc_plain(size, ga_tiny_limit_noscan, GA_KIND_NOSCAN);
}

void *ga_calloc(size_t n, size_t size, bool noscan_request) {
  size_t total;
  if (__builtin_mul_overflow(n, size, &total)) {
    errno = ENOMEM;
    return NULL;
  }
  if (GA_UNLIKELY(ga_gc_hooked))
    return ga_gc_alloc(total, noscan_request ? GA_KIND_NOSCAN : GA_KIND_SCAN, true);
  if (total > GA_MAX_SMALL_SIZE) return ga_large_alloc(total, 0, true, GA_KIND_MANUAL_NOSCAN);
  void *p = alloc_plain(total, noscan_request ? ga_tiny_limit_noscan : ga_tiny_limit, 0);
  if (p) memset(p, 0, total);
  return p;
}

/* ---- free ---- */

GA_NOINLINE static void free_slow(ga_cache_t *c, uintptr_t p, const char *fn) {
  if (!p) return; /* free(NULL): the fast path's lookup found no span */
  int saved = errno;
  bool large = false;
  ga_gc_park_if_stopping();
  if (c != &ga_empty_cache) ga_cache_busy_enter(c);
  ga_span_t *s = ga_span_of(p); /* the fast path's lookup did not check the range */
  if (!s || s->state != GA_SPAN_INUSE) {
    ga_report_bad_free(fn, (void *)p,
                       ga_arena_of(p) ? "double free (or invalid pointer: not an allocated block)"
                                      : "invalid pointer (not from goalloc)");
  } else if (s->tiny) {
    ga_tiny_free(c, s, p, fn);
  } else if (s->spanclass == 0) {
    ga_large_free(s, p, fn);
    large = true;
  } else {
    long idx = ga_span_object_index(s, p);
    if (idx < 0)
      ga_report_bad_free(fn, (void *)p, "invalid pointer (inside a block)");
    else if (GA_LOAD(s->owner) == c)
      ga_cache_free_local(c, s, p, (uint32_t)idx, fn);
    else
      ga_span_free_remote(s, p, (uint32_t)idx, fn);
  }
  if (c != &ga_empty_cache) ga_cache_busy_exit(c);
  /* Only after a large free (cache.c, ga_cache_alloc_slow, says why). */
  if (large) ga_scavenger_start_pending();
  errno = saved;
}

static inline __attribute__((always_inline)) void free_impl(void *ptr, const char *fn) {
  uintptr_t p = (uintptr_t)ptr;
  ga_span_t *s = ga_span_of_unchecked(p);
  ga_cache_t *c = ga_tls_cache;
  if (GA_LIKELY(s && GA_LOAD(s->fastowner) == c)) {
    long idx = ga_span_object_index(s, p);
    if (GA_LIKELY(idx >= 0)) {
      uint64_t *w = &s->allocBits[idx >> 6];
      uint64_t word = *w;
      if (GA_LIKELY(ga_bit_test_clear(&word, (uint64_t)idx))) {
        GA_STORE(*w, word);
        uint32_t n = s->allocCount - 1;
        GA_STORE(s->allocCount, n);
        /* p stays in a register until the slot is free, so a collection
         * that stops us in between sees the object reachable (gc/sweep.c). */
        __asm__ volatile("" : : "r"(p) : "memory");
        /* mark is 0 unless the span is on the full list (span.h). */
        if (GA_UNLIKELY(n == s->mark)) ga_cache_after_local_free(c, s);
        return;
      }
    }
  } else if (s && s->tiny && p - s->base < s->limit) {
    ga_tiny_free(c, s, p, fn);
    return;
  }
  free_slow(c, p, fn);
}

/* free(NULL) needs no test of its own: no arena holds address 0 (arenas
 * are 64 MiB-aligned and the kernel keeps the first page unmapped), so
 * the lookup finds no span and free_slow returns at once. */
void ga_free(void *p) { free_impl(p, "free"); }

void ga_free_named(void *p, const char *fn) { free_impl(p, fn); }

size_t ga_usable_size(const void *ptr) {
  uintptr_t p = (uintptr_t)ptr;
  if (!p) return 0;
  ga_span_t *s = ga_span_of(p);
  if (!s || s->state != GA_SPAN_INUSE) return 0;
  if (s->tiny) return ga_tiny_usable(s, p);
  if (s->spanclass == 0) return ga_large_usable(s) - (p - s->base);
  long idx = ga_span_object_index(s, p);
  if (idx < 0) return 0;
  return s->elemsize;
}

/* ---- realloc ---- */

void *ga_realloc(void *old, size_t size) {
  if (!old) return ga_malloc(size);
  if (size == 0) {
    /* glibc's behaviour: free and return NULL. */
    ga_free_named(old, "realloc");
    return NULL;
  }
  uintptr_t p = (uintptr_t)old;
  ga_span_t *s = ga_span_of(p);
  size_t have;
  bool large = false;
  if (!s || s->state != GA_SPAN_INUSE) {
    have = 0;
  } else if (s->tiny) {
    have = ga_tiny_live(s, p) ? ga_tiny_usable(s, p) : 0;
  } else if (s->spanclass == 0) {
    have = p == s->base ? ga_large_usable(s) : 0;
    large = true;
  } else {
    long idx = ga_span_object_index(s, p);
    have = idx >= 0 && ga_span_is_allocated(s, (uint32_t)idx) ? s->elemsize : 0;
  }
  if (have == 0) {
    ga_report_bad_free("realloc", old, "invalid pointer");
    errno = ENOMEM;
    return NULL;
  }
  if (size > PTRDIFF_MAX) {
    errno = ENOMEM;
    return NULL;
  }
  /* Collectable blocks keep one byte past the size (ga_gc_alloc). */
  size_t need = size + (GA_UNLIKELY(ga_gc_hooked) && s->gcflags < GA_SPAN_MANUAL);
  if (large && size > GA_MAX_SMALL_SIZE) {
    /* Large blocks change size in place when they can, as glibc's mremap
     * does for its mmapped chunks: grow into free pages that follow,
     * shrink by giving the tail back. */
    size_t npages = (need + GA_PAGE_SIZE - 1) >> GA_PAGE_SHIFT;
    int saved = errno;
    if (npages > s->npages && ga_heap_grow_large(s, npages)) return old;
    if (npages <= s->npages / 2) {
      ga_heap_shrink_large(s, npages);
      errno = saved;
      return old;
    }
    errno = saved;
  }
  /* Keep the block when the new size still fits and does not waste more
   * than half of it (large blocks: within the same pages). */
  if (need <= have && (size > have / 2 || have <= GA_TINY_SIZE) &&
      (p & (ga_tiny_align(size) - 1)) == 0)
    return old;
  void *n = ga_malloc(size);
  if (!n) return NULL;
  memcpy(n, old, size < have ? size : have);
  ga_free_named(old, "realloc");
  return n;
}

/* ---- aligned allocation ---- */

void *ga_aligned(size_t align, size_t size, const char *fn) {
  if (size == 0) size = 1;
  if (align <= 16) {
    /* Small requests are aligned by their size (tiny: the largest power of
     * two dividing it, up to 8; classes: 16, except Go's 8 and 24 B classes,
     * which are 8-aligned). Round the size so that gives at least align. */
    if (size < 16 && size % align) size = (size + align - 1) & ~(align - 1);
    if (align == 16 && size < 16) size = 16;
    else if (align == 16 && size <= 24) size = 32; /* not Go's 8-aligned 24 B class */
    return ga_malloc(size);
  }
  if (align > ((size_t)1 << 40) || size > PTRDIFF_MAX) {
    errno = ENOMEM;
    return NULL;
  }
  size_t need = size < align ? align : size;
  need = (need + align - 1) & ~(align - 1);
  /* Collectable blocks carry one extra byte (gc/collector.c, ga_gc_alloc). */
  size_t want = GA_UNLIKELY(ga_gc_hooked) && size + 1 > need ? size + 1 : need;
  if (want <= GA_MAX_SMALL_SIZE && align <= GA_PAGE_SIZE) {
    /* Spans start on a page, so an object is aligned to align when its
     * class size is a multiple of align: the power-of-two classes are. */
    unsigned c = ga_size_to_class(want);
    while (c < GA_NUM_SIZE_CLASSES && ga_class_size[c] % align) c++;
    if (c < GA_NUM_SIZE_CLASSES) {
      if (GA_UNLIKELY(ga_gc_hooked)) return ga_gc_alloc(ga_class_size[c] - 1, GA_KIND_SCAN, false);
      return small_alloc_class(c, GA_KIND_MANUAL_NOSCAN);
    }
  }
  if (GA_UNLIKELY(ga_gc_hooked)) return ga_gc_alloc_aligned(need, align);
  return ga_large_alloc(need, align, false, GA_KIND_MANUAL_NOSCAN);
}

/* ---- trim ---- */

int ga_trim(size_t pad) {
  ga_cache_t *c = ga_tls_cache;
  if (c != &ga_empty_cache) {
    ga_cache_busy_enter(c);
    ga_cache_drain_remote(c);
    ga_cache_free_empty(c);
    ga_cache_busy_exit(c);
  }
  int released = ga_scavenge_all() > 0;
  ga_scavenger_start_pending();
  return released;
}

/* ---- fork ---- */


/* Every allocator lock, in the lock order: fork and the collector's pause
 * take them all so that no frozen thread holds one. */
void ga_lock_heap_all(void) {
  ga_caches_lock_all();
  for (unsigned i = 0; i < GA_NUM_CACHE_CLASSES; i++) ga_mutex_lock(&ga_central[i].lock);
  ga_heap_lock_all();
}

void ga_unlock_heap_all(void) {
  ga_heap_unlock_all();
  for (unsigned i = GA_NUM_CACHE_CLASSES; i-- > 0;) ga_mutex_unlock(&ga_central[i].lock);
  ga_caches_unlock_all();
}

void ga_lock_all(void) {
  ga_scavenger_lock();
  ga_lock_heap_all();
}

void ga_unlock_all(void) {
  ga_unlock_heap_all();
  ga_scavenger_unlock();
}

static void fork_prepare(void) {
  ga_gc_fork_prepare();
  ga_lock_all();
  ga_gc_fork_prepare_late();
  ga_os_registry_lock();
}

static void fork_parent(void) {
  ga_os_registry_unlock();
  ga_gc_fork_parent_early();
  ga_unlock_all();
  ga_gc_fork_parent();
}

static void fork_child(void) {
  ga_os_registry_reset();
  ga_os_threads_fork_child();
  ga_gc_fork_child();
  ga_heap_reset_locks();
  for (unsigned i = 0; i < GA_NUM_CACHE_CLASSES; i++) ga_mutex_reset(&ga_central[i].lock);
  ga_scavenger_fork_child();
  ga_caches_fork_child();
  ga_gc_fork_child_late();
}

static void register_fork_handlers(void) {
  static bool done;
  if (!done) {
    done = true;
    pthread_atfork(fork_prepare, fork_parent, fork_child);
  }
}
