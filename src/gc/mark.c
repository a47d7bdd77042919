/* gc/mark.c: conservative marking (Go's mgcmark.go and its gcWork, without
 * precise pointer maps).
 *
 * Runs inside a collection's pause: the world is stopped and the caller
 * holds every allocator lock (gc/collector.c), so span metadata (spans[],
 * state, allocBits, gcflags) cannot change under it, except through threads
 * the collector does not know about (docs/GC.md, limits).
 *
 * A word is a candidate pointer if it lies in the hull of the arenas; it
 * marks an object if the arena index maps it to an in-use span and it falls
 * inside an allocated slot of a collectable span: any interior address
 * counts. Manual spans (plain malloc outside collect/leak mode, tiny blocks)
 * are neither marked nor followed; manual *scanned* spans
 * (GC_MALLOC_UNCOLLECTABLE) are roots: every allocated object in them is
 * scanned at the start (ga_gc_mark_manual_roots).
 *
 * Gray objects are (lo, hi) ranges on one explicit stack in memory reserved
 * from the OS (Go keeps them in gcWork buffers): marking never recurses, so
 * a list of millions of nodes costs one stack slot at a time. The stack's
 * pages are given back after each cycle. */
#include "gc/mark.h"

#include "arena.h"
#include "heap.h"
#include "os.h"
#include "span.h"

typedef struct {
  uintptr_t lo, hi;
} gray_t;

#define STACK_RESERVE ((size_t)1 << 32) /* address space only */

static gray_t *stack;
static size_t top, high_water;
static uintptr_t lo_bound, hi_bound;

ga_gc_mark_stats_t ga_gc_mark_stats;

bool ga_gc_mark_begin(void) {
  if (!stack) {
    stack = ga_os_reserve(STACK_RESERVE, 4096);
    if (!stack) return false;
  }
  top = 0;
  lo_bound = ga_arena_lo;
  hi_bound = ga_arena_hi;
  ga_gc_mark_stats = (ga_gc_mark_stats_t){0};
  return true;
}

void ga_gc_mark_end(void) {
  /* Give the stack's pages back: a deep cycle must not keep them resident. */
  size_t used = high_water * sizeof(gray_t);
  if (used > 64 * 1024) ga_os_unuse(stack, (used + 4095) & ~(size_t)4095);
  high_water = 0;
}

static inline void push(uintptr_t lo, uintptr_t hi) {
  if (GA_UNLIKELY(top >= STACK_RESERVE / sizeof(gray_t))) {
    /* Four billion gray objects: more than any heap this can mark. */
    ga_fatal("goalloc: collector: mark stack overflow\n");
  }
  stack[top].lo = lo;
  stack[top].hi = hi;
  top++;
  if (top > high_water) high_water = top;
}

static inline void mark_value(uintptr_t v) {
  ga_span_t *s = ga_span_of(v);
  if (!s || s->state != GA_SPAN_INUSE) return;
  uint8_t f = s->gcflags;
  if (f & GA_SPAN_MANUAL) return;
  if (s->spanclass == 0) {
    size_t bytes = s->npages * GA_PAGE_SIZE;
    if (v - s->base >= bytes || s->gcmarkBits[0]) return;
    s->gcmarkBits[0] = 1;
    ga_gc_mark_stats.marked_bytes += bytes;
    ga_gc_mark_stats.marked_objects++;
    if (!(f & GA_SPAN_NOSCAN)) push(s->base, s->base + bytes);
    return;
  }
  uintptr_t off = v - s->base;
  if (off >= s->limit) return;
  uint32_t idx = ga_span_slot(s, off);
  uint64_t bit = (uint64_t)1 << (idx & 63);
  if (!(s->allocBits[idx >> 6] & bit)) return; /* a free slot */
  uint64_t *m = &s->gcmarkBits[idx >> 6];
  if (*m & bit) return;
  *m |= bit;
  ga_gc_mark_stats.marked_bytes += s->elemsize;
  ga_gc_mark_stats.marked_objects++;
  if (!(f & GA_SPAN_NOSCAN)) {
    uintptr_t obj = s->base + (uintptr_t)idx * s->elemsize;
    push(obj, obj + s->elemsize);
  }
}

static inline void scan(uintptr_t lo, uintptr_t hi) {
  lo = (lo + 7) & ~(uintptr_t)7;
  uintptr_t l = lo_bound, h = hi_bound;
  for (uintptr_t p = lo; p + 8 <= hi; p += 8) {
    uintptr_t v = *(const uintptr_t *)p;
    if (v - l < h - l) mark_value(v);
  }
  ga_gc_mark_stats.scanned_bytes += hi > lo ? hi - lo : 0;
}

void ga_gc_mark_range(uintptr_t lo, uintptr_t hi, void *arg) {
  (void)arg;
  scan(lo, hi);
}

void ga_gc_mark_pointer(uintptr_t v) {
  if (v - lo_bound < hi_bound - lo_bound) mark_value(v);
}

void ga_gc_mark_drain(void) {
  while (top) {
    top--;
    uintptr_t lo = stack[top].lo, hi = stack[top].hi;
    scan(lo, hi);
  }
}

bool ga_gc_is_marked(uintptr_t p) {
  ga_span_t *s = ga_span_of(p);
  if (!s || s->state != GA_SPAN_INUSE) return false;
  if (s->gcflags & GA_SPAN_MANUAL) return true;
  if (s->spanclass == 0) return s->gcmarkBits[0] != 0;
  uintptr_t off = p - s->base;
  if (off >= s->limit) return false;
  uint32_t idx = ga_span_slot(s, off);
  return s->gcmarkBits[idx >> 6] >> (idx & 63) & 1;
}

static void manual_roots(ga_span_t *s, void *arg) {
  (void)arg;
  if ((s->gcflags & (GA_SPAN_MANUAL | GA_SPAN_NOSCAN)) != GA_SPAN_MANUAL) return;
  if (s->spanclass == 0) {
    scan(s->base, s->base + s->npages * GA_PAGE_SIZE);
    ga_gc_mark_drain();
    return;
  }
  for (uint32_t w = 0; w * 64 < s->nelems; w++) {
    uint64_t bits = s->allocBits[w];
    if (w == s->nelems / 64) bits &= ((uint64_t)1 << (s->nelems % 64)) - 1;
    while (bits) {
      uint32_t idx = w * 64 + (uint32_t)__builtin_ctzll(bits);
      bits &= bits - 1;
      uintptr_t obj = s->base + (uintptr_t)idx * s->elemsize;
      scan(obj, obj + s->elemsize);
    }
  }
  ga_gc_mark_drain();
}

void ga_gc_mark_manual_roots(void) {
  ga_heap_for_each_span(manual_roots, NULL);
  ga_heap_for_each_huge_span(manual_roots, NULL);
}
