/* span.h: a run of pages holding objects of one size (Go's mspan).
 *
 * Allocation state is Go's: allocBits has a bit per object (1 = allocated);
 * freeindex is where the next search starts; allocCache holds the complement
 * of the 64 allocBits from freeindex's word, shifted so that ctz finds the
 * next free slot (Go's nextFreeFast). Go only ever frees by sweeping; we free
 * explicitly, so here allocation also sets the object's bit and a free
 * clears it: a clear bit means free, which is how double frees are caught.
 * A freed slot below freeindex is found again when the span is rescanned
 * (freeindex back to 0): when the search reaches the end with a quarter of
 * the span free, or when the span comes back from the full list.
 *
 * Ownership, the rule every field follows:
 *  - A small span is owned by one thread cache (owner) or by its mcentral
 *    (owner == NULL). allocBits, allocCount, freeindex, allocCache and the
 *    list links belong to the owner: its thread touches them without a lock;
 *    a central-owned span's are under the central lock.
 *  - Other threads free into an owned span by pushing the object on xfree
 *    under xlock (a per-span spin lock, never a global one); the first such
 *    push also queues the span on the owner cache's remote stack (xqueued).
 *    owner changes only under xlock, so a pusher always queues on the cache
 *    that owns the span at that moment.
 *  - fastowner equals owner for ordinary small spans and is NULL for tiny
 *    and large spans, so free()'s fast path is one comparison.
 *  - Large spans (class 0) belong to the heap; they have no owner.
 *  - gcmarkBits, sweepBits and sweep_pending belong to the collector
 *    (src/gc/sweep.c says who writes them when); gcflags says whether the
 *    span's objects are scanned and whether they may be collected. */
#ifndef GA_SPAN_H
#define GA_SPAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "os.h"
#include "sizeclasses.h"

#define GA_MAX_OBJS_PER_SPAN 1024 /* class 1: 8192 / 8 */
#define GA_SPAN_BITS_WORDS (GA_MAX_OBJS_PER_SPAN / 64)

enum { GA_SPAN_DEAD = 0, GA_SPAN_INUSE = 1 };
enum { GA_SPAN_NOSCAN = 1, GA_SPAN_MANUAL = 2 }; /* gcflags: the kind's bits */

/* Collections completed; large spans record it when allocated. */
extern uint32_t ga_gc_cycle;
/* Sweep generation (Go's mheap.sweepgen): +2 in every pause (gc/sweep.c). */
extern uint32_t ga_gc_sweepgen;

/* Which list a small span is on (owned spans: its cache's; else central's). */
enum {
  GA_LIST_NONE = 0,   /* current span of a cache, or large */
  GA_LIST_PARTIAL,    /* owned, has free slots */
  GA_LIST_FULL,       /* owned, (almost) no free slot; see span->mark */
  GA_LIST_EMPTY,      /* owned, no object allocated: kept for reuse */
  GA_LIST_CPARTIAL,   /* central, has free slots */
  GA_LIST_CFULL,      /* central, full */
};

struct ga_cache;

/* Fields that other threads read without a lock (allocBits for the early
 * double-free check, allocCount for statistics, owner/fastowner in free) are
 * written with relaxed atomic stores: plain moves on x86, but well-defined
 * C11 (and ThreadSanitizer-clean) races instead of undefined ones. */
#define GA_LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define GA_STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

typedef struct ga_span {
  /* First cache line: everything malloc's and free()'s fast paths read. */
  uint64_t allocCache;
  uintptr_t base;
  uint32_t freeindex;
  uint32_t nelems;
  uint32_t elemsize;
  uint32_t divmul;
  uint32_t allocCount;
  uint32_t limit; /* nelems * elemsize: offsets at or past it are tail waste */
  uint32_t mark;  /* the allocCount at which the owner's free calls the cache:
                   * on the full list, where a free moves the span back to
                   * partial; 0 elsewhere (on the partial list: it became
                   * empty; a current span never gets there, its count holds
                   * the cache's +1), so free() makes one comparison */
  uint8_t spanclass;
  uint8_t list;
  uint8_t state;
  uint8_t tiny;
  uint8_t held;          /* current span of its cache: allocCount has +1 */
  struct ga_cache *fastowner;
  /* Next lines: the allocation bitmap, then what slow paths use. */
  uint64_t allocBits[GA_SPAN_BITS_WORDS] __attribute__((aligned(64)));
  struct ga_cache *owner;
  struct ga_span *next, *prev; /* list links */
  size_t npages;
  /* Remote frees. */
  ga_spinlock_t xlock;
  bool xqueued;         /* on owner's remote stack; under xlock */
  void *xfree;          /* objects freed by other threads; under xlock */
  struct ga_span *xnext; /* remote-stack link */
  bool needzero;        /* large: pages may hold old data */
  uint64_t *tinyref;    /* tiny spans: per-block sub-object state (tiny.c) */
  /* Collector (src/gc/). gcflags is fixed while the span is in use. */
  uint8_t gcflags;       /* GA_SPAN_NOSCAN | GA_SPAN_MANUAL */
  uint8_t sweep_pending; /* sweepBits has bits the owner must apply */
  uint8_t sweep_empties; /* ...and they free every object: its pages are
                          * in ga_gc_sweep_owed_bytes until applied */
  uint32_t gcgen;        /* large: ga_gc_cycle when allocated (heap lock) */
  uint32_t sweepgen;     /* small: ga_gc_sweepgen - 2 unswept, - 1 being swept,
                          * = swept (gc/sweep.c); set to the current one when
                          * the heap makes the span (heap lock) */
  uint32_t site;         /* large, leak mode: allocation site */
  uint32_t *sites;       /* small, leak mode: allocation site per slot */
  /* Mark bits: written only inside a collection's pause, cleared before it
   * ends. */
  uint64_t gcmarkBits[GA_SPAN_BITS_WORDS];
  /* Garbage the collector found in a span a thread cache owns: the owner
   * clears these slots at its next refill (gc/sweep.c). */
  uint64_t sweepBits[GA_SPAN_BITS_WORDS];
} __attribute__((aligned(64))) ga_span_t;

#ifndef __cplusplus
_Static_assert(__builtin_offsetof(ga_span_t, allocBits) == 64, "fast-path fields fit one line");
#endif

/* Go's emptymspan: a span with nothing free that every cache slot starts
 * with, so the fast path needs no NULL check. */
extern ga_span_t ga_empty_span;

/* Prepares a freshly allocated span of pages for a size class. */
void ga_span_init_small(ga_span_t *s, unsigned spanclass);

/* Go's nextFreeIndex: the next free slot at or after freeindex, updating
 * allocCache; returns nelems when the span has no free slot after
 * freeindex. Does not mark the slot allocated. */
uint32_t ga_span_next_free_index(ga_span_t *s);
/* Start searching from slot 0 again (after frees below freeindex). */
void ga_span_rescan(ga_span_t *s);
void ga_span_refill_alloc_cache(ga_span_t *s, uint32_t whichword);

/* Sets bit (b mod 64) of w: one bts on x86-64 (no mask to build). */
static inline uint64_t ga_bit_set(uint64_t w, uint64_t b) {
#if defined(__x86_64__)
  __asm__("btsq %1, %0" : "+r"(w) : "r"(b) : "cc");
  return w;
#else
  return w | (uint64_t)1 << (b & 63);
#endif
}

/* Owner (or central lock holder) only. */
static inline void ga_span_set_bit(ga_span_t *s, uint32_t idx) {
  uint64_t *w = &s->allocBits[idx >> 6];
  GA_STORE(*w, ga_bit_set(*w, idx));
}
static inline void ga_span_clear_bit(ga_span_t *s, uint32_t idx) {
  uint64_t *w = &s->allocBits[idx >> 6];
  GA_STORE(*w, *w & ~((uint64_t)1 << (idx & 63)));
}
static inline bool ga_span_bit(const ga_span_t *s, uint32_t idx) {
  return s->allocBits[idx >> 6] >> (idx & 63) & 1;
}
static inline void ga_span_count(ga_span_t *s, int d) {
  GA_STORE(s->allocCount, s->allocCount + (uint32_t)d);
}

static inline uintptr_t ga_span_take_slot(ga_span_t *s, uint32_t idx) {
  /* The pointer is in a register before the slot is marked allocated: a
   * collection that stops this thread in between finds either a free slot
   * or the pointer (gc/sweep.c). */
  uintptr_t p = s->base + (uintptr_t)idx * s->elemsize;
  __asm__ volatile("" : "+r"(p) : : "memory");
  ga_span_set_bit(s, idx);
  ga_span_count(s, 1);
  return p;
}

/* The slot holding byte offset off of the span (off < limit): Go's divMagic. */
static inline uint32_t ga_span_slot(const ga_span_t *s, uintptr_t off) {
  return (uint32_t)(((uint64_t)(uint32_t)off * s->divmul) >> 32);
}

/* Object index of p in s, or -1 if p is not the start of an object.
 * The low 32 bits of the divMagic product tell whether off is a multiple of
 * elemsize, without multiplying back: divmul = ceil(2^32 / elemsize), so
 * divmul * elemsize = 2^32 + e with 0 <= e < elemsize; write off =
 * k * elemsize + r. Then off * divmul =
 * k * 2^32 + (k * e + r * divmul): the quotient is exact for every offset
 * of the span (tests/unit, DivMagic) exactly when k * e + r * divmul < 2^32
 * for all of them; for r = elemsize - 1 that gives k * e < divmul - e. So
 * the low word, k * e + r * divmul, is below divmul if and only if r = 0
 * (tests/unit checks this too, for every offset). */
static inline long ga_span_object_index(const ga_span_t *s, uintptr_t p) {
  uintptr_t off = p - s->base;
  uint64_t q = (uint64_t)(uint32_t)off * s->divmul;
  if (GA_UNLIKELY(off >= s->limit || (uint32_t)q >= s->divmul)) return -1;
  return (long)(q >> 32);
}

/* Frees the slots set in g[] (one word per 64 slots, every set slot
 * allocated), for whoever owns the allocation state; returns how many. */
uint32_t ga_span_free_slots(ga_span_t *s, const uint64_t *g);

/* Clears bit (b mod 64) of *w; true if it was set. One btr on x86-64
 * instead of building the mask, testing and clearing it. */
static inline bool ga_bit_test_clear(uint64_t *w, uint64_t b) {
#if defined(__x86_64__) && defined(__GCC_ASM_FLAG_OUTPUTS__)
  bool was;
  __asm__("btrq %2, %0" : "+r"(*w), "=@ccc"(was) : "r"(b) : "cc");
  return was;
#else
  uint64_t m = (uint64_t)1 << (b & 63);
  bool was = (*w & m) != 0;
  *w &= ~m;
  return was;
#endif
}

static inline bool ga_span_is_allocated(const ga_span_t *s, uint32_t idx) {
  return __atomic_load_n(&s->allocBits[idx >> 6], __ATOMIC_RELAXED) >> (idx & 63) & 1;
}

/* Doubly linked span lists (owned by whoever owns the spans on them). */
typedef struct {
  ga_span_t *first, *last;
  size_t n;
} ga_span_list_t;
void ga_span_list_push(ga_span_list_t *l, ga_span_t *s, uint8_t which);
void ga_span_list_remove(ga_span_list_t *l, ga_span_t *s);
ga_span_t *ga_span_list_pop(ga_span_list_t *l);
/* The span pushed longest ago (FIFO use of the list). */
ga_span_t *ga_span_list_pop_oldest(ga_span_list_t *l);

#endif
