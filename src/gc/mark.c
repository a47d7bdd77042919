/* gc/mark.c: conservative marking (Go's mgcmark.go and its gcWork, without
 * precise pointer maps).
 *
 * A word is a candidate pointer if it lies in the hull of the arenas; it
 * marks an object if the arena index maps it to an in-use span and it falls
 * inside an allocated slot of a collectable span: any interior address
 * counts. Manual spans (plain malloc outside collect/leak mode, tiny blocks)
 * are neither marked nor followed; manual *scanned* spans
 * (GC_MALLOC_UNCOLLECTABLE) are roots: every allocated object in them is
 * scanned (ga_gc_mark_manual_roots), and rescanned where it was written.
 *
 * Gray objects are (lo, hi) ranges. Each marker keeps up to GA_GC_WORK_BUF
 * of them in its ga_gc_work_t and spills half to one global list (memory
 * reserved from the OS, under gray_lock) when it fills; a marker that runs
 * dry takes half a buffer back (Go's gcWork over the global work-buffer
 * list); an assist or slice that ran dry makes the cycle's own drain share
 * half its buffer (gcWork.balance) with ga_gc_mark_balance (the credit
 * mode), and by default when the heap is past its goal before the first
 * pre-cleaning round (gc/concurrent.c, assist_floor). Marking never recurses: a list of millions of nodes
 * costs one slot at a time. The list's pages are given back after each cycle.
 *
 * Two settings (ga_gc_mark_begin):
 *   - in a pause: the world is stopped and the caller holds every allocator
 *     lock, so span metadata holds still;
 *   - concurrent (collector.c's concurrent cycle): the program allocates,
 *     frees and makes spans while markers read them. Every span field is
 *     read once; an object is marked only if the values agree (the slot's
 *     range maps back to the same span), so a stale read costs at most an
 *     object kept one cycle more, never a scan of unmapped memory (huge
 *     arenas, the only heap memory ever unmapped, are not unmapped while a
 *     cycle marks: heap.c defers it). Mark bits are set with atomic ORs:
 *     several markers (the cycle's thread, assists) race on them.
 * Marks are never set outside a cycle's marking (concurrent.c makes assists
 * finish before the final pause), because the sweep in
 * the final pause clears them for the next cycle: a mark set after it
 * would make the next cycle take an unscanned object for scanned. */
#include "gc/mark.h"

#include "arena.h"
#include "gc/blacklist.h"
#include "heap.h"
#include "os.h"
#include "span.h"

typedef struct {
  uintptr_t lo, hi;
} gray_t;

#define STACK_RESERVE ((size_t)1 << 32) /* address space only */

static gray_t *stack;
static size_t top, high_water;
static ga_mutex_t gray_lock = GA_MUTEX_INIT;
static bool concurrent;

ga_gc_mark_stats_t ga_gc_mark_stats;
/* In memory from the OS, not in goalloc's .bss: the collect modes scan
 * anonymous mappings, and a library's .bss tail is one; stale gray
 * entries there would keep their objects. */
static ga_gc_work_t *pause_work;

#define RD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

bool ga_gc_mark_begin(bool conc) {
  if (!stack) {
    stack = ga_os_reserve(STACK_RESERVE, 4096);
    if (!stack) return false;
  }
  if (!pause_work && !(pause_work = ga_os_reserve(sizeof *pause_work, 4096))) return false;
  top = 0;
  concurrent = conc;
  __atomic_store_n(&ga_gc_mark_hungry, 0, __ATOMIC_RELAXED); /* a request from the last cycle */
  /* A new stamp for the chunks' "scanned object marked" (arena.h); never
   * 0, which fresh arenas hold. */
  uint32_t c = ga_gc_mark_cycle + 1;
  if (!c) c = 2; /* keeps the blacklist's parity alternating */
  ga_gc_blacklist_begin(c, !conc);
  __atomic_store_n(&ga_gc_mark_cycle, c, __ATOMIC_RELAXED);
  pause_work->n = 0;
  ga_gc_mark_stats = (ga_gc_mark_stats_t){0};
  return true;
}

void ga_gc_mark_end(void) {
  /* Give the list's pages back: a deep cycle must not keep them resident. */
  size_t used = high_water * sizeof(gray_t);
  if (used > 64 * 1024) ga_os_unuse(stack, (used + 4095) & ~(size_t)4095);
  high_water = 0;
  concurrent = false;
}

static void publish(ga_gc_work_t *w) {
  __atomic_fetch_add(&ga_gc_mark_stats.marked_bytes, w->marked_bytes, __ATOMIC_RELAXED);
  __atomic_fetch_add(&ga_gc_mark_stats.marked_objects, w->marked_objects, __ATOMIC_RELAXED);
  __atomic_fetch_add(&ga_gc_mark_stats.scanned_bytes, w->scanned_bytes, __ATOMIC_RELAXED);
  w->marked_bytes = w->marked_objects = w->scanned_bytes = 0;
}

/* Moves the newest k entries of w to the global list. */
static void spill(ga_gc_work_t *w, size_t k) {
  ga_mutex_lock(&gray_lock);
  /* The top half is for ga_gc_mark_manual_roots' list. */
  if (GA_UNLIKELY(top + k > STACK_RESERVE / 2 / sizeof(gray_t))) {
    /* Four billion gray objects: more than any heap this can mark. */
    ga_fatal("goalloc: collector: mark stack overflow\n");
  }
  for (size_t i = 0; i < k; i++) {
    stack[top + i].lo = w->buf[w->n - k + i].lo;
    stack[top + i].hi = w->buf[w->n - k + i].hi;
  }
  top += k;
  if (top > high_water) high_water = top;
  ga_mutex_unlock(&gray_lock);
  w->n -= k;
}

/* Takes up to half a buffer from the global list; false if it is empty. */
static bool refill(ga_gc_work_t *w) {
  if (!__atomic_load_n(&top, __ATOMIC_RELAXED)) return false;
  ga_mutex_lock(&gray_lock);
  size_t k = top < GA_GC_WORK_BUF / 2 ? top : GA_GC_WORK_BUF / 2;
  for (size_t i = 0; i < k; i++) {
    w->buf[i].lo = stack[top - k + i].lo;
    w->buf[i].hi = stack[top - k + i].hi;
  }
  top -= k;
  ga_mutex_unlock(&gray_lock);
  w->n = k;
  return k != 0;
}

static inline void push(ga_gc_work_t *w, uintptr_t lo, uintptr_t hi) {
  if (GA_UNLIKELY(w->n == GA_GC_WORK_BUF)) spill(w, GA_GC_WORK_BUF / 2);
  w->buf[w->n].lo = lo;
  w->buf[w->n].hi = hi;
  w->n++;
}

static inline void mark_value(ga_gc_work_t *w, uintptr_t v) {
  ga_arena_t *a = ga_arena_of(v);
  if (!a) return;
  ga_span_t *s = a->spans[(v >> GA_PAGE_SHIFT) & (GA_PAGES_PER_ARENA - 1)];
  if (!s || RD(s->state) != GA_SPAN_INUSE) {
    /* A free page, or a span on its way out (the page cache's are dead
     * and go back to the heap in time). */
    ga_gc_blacklist_note(a, v);
    return;
  }
  uint8_t f = RD(s->gcflags);
  if (f & GA_SPAN_MANUAL) return;
  uintptr_t base = RD(s->base);
  if (RD(s->spanclass) == 0) {
    size_t bytes = RD(s->npages) * GA_PAGE_SIZE;
    if (v - base >= bytes) return;
    if (concurrent && (ga_span_of(base) != s || ga_span_of(base + bytes - 1) != s)) return;
    if (RD(s->gcmarkBits[0]) || __atomic_exchange_n(&s->gcmarkBits[0], 1, __ATOMIC_RELAXED))
      return;
    w->marked_bytes += bytes;
    w->marked_objects++;
    ga_arena_stamp_scanned(base, base + bytes); /* even if noscan: see below */
    if (!(f & GA_SPAN_NOSCAN)) push(w, base, base + bytes);
    return;
  }
  uintptr_t off = v - base;
  uint32_t elemsize = RD(s->elemsize);
  if (off >= RD(s->limit) || !elemsize) return;
  uint32_t idx = (uint32_t)(((uint64_t)(uint32_t)off * RD(s->divmul)) >> 32);
  if (idx >= GA_SPAN_BITS_WORDS * 64) return;
  uintptr_t obj = base + (uintptr_t)idx * elemsize;
  if (concurrent && (v - obj >= elemsize || ga_span_of(obj + elemsize - 1) != s)) return;
  uint64_t bit = (uint64_t)1 << (idx & 63);
  if (!(RD(s->allocBits[idx >> 6]) & bit)) return; /* a free slot */
  uint64_t *m = &s->gcmarkBits[idx >> 6];
  if (RD(*m) & bit) return;
  if (concurrent) {
    if (__atomic_fetch_or(m, bit, __ATOMIC_RELAXED) & bit) return;
  } else {
    *m |= bit;
  }
  w->marked_bytes += elemsize;
  w->marked_objects++;
  /* Its chunk's written pages must be walked from now on (arena.h,
   * gc/concurrent.c). Stamped even when noscan: f may be stale (the span
   * re-made as a scan span since it was read), and a marked object must
   * never lie in an unstamped chunk. Multi-page spans may cross a chunk
   * boundary. */
  uint32_t cyc = RD(ga_gc_mark_cycle);
  ga_arena_stamp_chunk(a, obj, cyc);
  if (GA_UNLIKELY(((obj ^ (obj + elemsize - 1)) >> GA_CHUNK_SHIFT) != 0))
    ga_arena_stamp_chunk(a, obj + elemsize - 1, cyc);
  if (!(f & GA_SPAN_NOSCAN)) push(w, obj, obj + elemsize);
}

static void rescan_range(ga_gc_work_t *w, uintptr_t lo, uintptr_t hi);

static inline void scan(ga_gc_work_t *w, uintptr_t lo, uintptr_t hi) {
  lo = (lo + 7) & ~(uintptr_t)7;
  /* The hull now: arenas made during a concurrent mark count. */
  uintptr_t l = RD(ga_arena_lo), h = RD(ga_arena_hi);
  for (uintptr_t p = lo; p + 8 <= hi; p += 8) {
    uintptr_t v = __atomic_load_n((const uintptr_t *)p, __ATOMIC_RELAXED);
    if (v - l < h - l) mark_value(w, v);
  }
  w->scanned_bytes += hi > lo ? hi - lo : 0;
}

void ga_gc_mark_range(uintptr_t lo, uintptr_t hi, void *arg) {
  scan(arg ? arg : pause_work, lo, hi);
}

void ga_gc_mark_pointer(uintptr_t v) {
  if (v - RD(ga_arena_lo) < RD(ga_arena_hi) - RD(ga_arena_lo)) mark_value(pause_work, v);
}

bool ga_gc_mark_gray_available(void) { return __atomic_load_n(&top, __ATOMIC_RELAXED) != 0; }

void (*ga_gc_mark_progress)(int64_t work);
int ga_gc_mark_hungry;
bool ga_gc_mark_balance;

int64_t ga_gc_mark_drain_some(ga_gc_work_t *w, int64_t budget) {
  if (!w) w = pause_work;
  /* The cycle's own drain while the program runs reports its work in
   * batches: the pacer banks it as credit for assists and revises the
   * assist ratio, so a long drain is not invisible until it ends. */
  bool own = w == pause_work && concurrent;
  void (*progress)(int64_t) = own ? ga_gc_mark_progress : NULL;
  uint64_t start = w->scanned_bytes;
  int64_t flushed = 0;
  for (;;) {
    if (!w->n && !refill(w)) break;
    w->n--;
    uintptr_t lo = w->buf[w->n].lo, hi = w->buf[w->n].hi;
    /* Low bit set: written pages to rescan (ga_gc_mark_rescan). */
    if (lo & 1) rescan_range(w, lo & ~(uintptr_t)1, hi);
    else scan(w, lo, hi);
    if (budget >= 0 && (int64_t)(w->scanned_bytes - start) + flushed >= budget) break;
    /* Go's gcWork.balance: a marker that ran dry with work owed (an assist
     * or a slice) said so; the cycle's own drain then shares half its
     * buffer (a depth-first walk of a tree keeps a few dozen gray entries
     * and would never spill to the global list). */
    if (own && GA_UNLIKELY(__atomic_load_n(&ga_gc_mark_hungry, __ATOMIC_RELAXED)) && w->n >= 4) {
      __atomic_store_n(&ga_gc_mark_hungry, 0, __ATOMIC_RELAXED);
      spill(w, w->n / 2);
    }
    if (progress && w->scanned_bytes >= GA_GC_PROGRESS_BYTES) {
      /* Everything this marker scanned since it last published (its
       * roots included), not only this drain's. */
      int64_t d = (int64_t)w->scanned_bytes;
      flushed += d - (int64_t)start;
      start = 0;
      publish(w);
      progress(d);
    }
  }
  int64_t done = flushed + (int64_t)(w->scanned_bytes - start);
  if (budget >= 0 && done < budget && !w->n && ga_gc_mark_balance && !__atomic_load_n(&ga_gc_mark_hungry, __ATOMIC_RELAXED))
    __atomic_store_n(&ga_gc_mark_hungry, 1, __ATOMIC_RELAXED);
  if (w->n) spill(w, w->n);
  int64_t rest = (int64_t)w->scanned_bytes;
  publish(w);
  if (progress && rest) progress(rest);
  return done;
}

void ga_gc_mark_drain(ga_gc_work_t *w) { ga_gc_mark_drain_some(w, -1); }

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

/* ---- rescanning written pages ---- */

/* The part of [lo, hi) that lies in span s's objects that count as
 * scanned: marked collectable ones and allocated manual scanned ones. */
static void rescan_span(ga_gc_work_t *w, ga_span_t *s, uintptr_t lo, uintptr_t hi) {
  uint8_t f = RD(s->gcflags);
  if (f & GA_SPAN_NOSCAN) return;
  bool manual = f & GA_SPAN_MANUAL;
  uintptr_t base = RD(s->base);
  if (RD(s->spanclass) == 0) {
    if (manual || RD(s->gcmarkBits[0])) scan(w, lo, hi);
    return;
  }
  uint32_t elemsize = RD(s->elemsize), nelems = RD(s->nelems), divmul = RD(s->divmul);
  if (!elemsize || nelems > GA_SPAN_BITS_WORDS * 64) return;
  const uint64_t *bits = manual ? s->allocBits : s->gcmarkBits;
  uint32_t idx = (uint32_t)(((uint64_t)(uint32_t)(lo - base) * divmul) >> 32);
  for (; idx < nelems; idx++) {
    uintptr_t obj = base + (uintptr_t)idx * elemsize;
    if (obj >= hi) break;
    if (!(RD(bits[idx >> 6]) >> (idx & 63) & 1)) continue;
    uintptr_t a = obj > lo ? obj : lo, b = obj + elemsize < hi ? obj + elemsize : hi;
    scan(w, a, b);
  }
}

/* Written pages become gray entries (in pieces, so that every marker,
 * assists included, shares the rescanning); the drain rescans them. */
#define RESCAN_PIECE ((uintptr_t)64 * 1024)

void ga_gc_mark_rescan(uintptr_t lo, uintptr_t hi, void *arg) {
  ga_gc_work_t *w = arg ? arg : pause_work;
  for (uintptr_t p = lo; p < hi; p += RESCAN_PIECE)
    push(w, p | 1, hi - p > RESCAN_PIECE ? p + RESCAN_PIECE : hi);
}

static void rescan_range(ga_gc_work_t *w, uintptr_t lo, uintptr_t hi) {
  for (uintptr_t p = lo; p < hi;) {
    uintptr_t next = (p + GA_PAGE_SIZE) & ~(uintptr_t)(GA_PAGE_SIZE - 1);
    ga_span_t *s = ga_span_of(p);
    if (s && RD(s->state) == GA_SPAN_INUSE) {
      uintptr_t base = RD(s->base), end = base + RD(s->npages) * GA_PAGE_SIZE;
      if (base <= p && p < end && ga_span_of(end - 1) == s) {
        next = end < hi ? end : hi;
        rescan_span(w, s, p, next);
      }
    }
    p = next < hi ? next : hi;
  }
}

/* ---- uncollectable objects ---- */

static void scan_manual(ga_gc_work_t *w, ga_span_t *s) {
  if (RD(s->state) != GA_SPAN_INUSE) return;
  if ((RD(s->gcflags) & (GA_SPAN_MANUAL | GA_SPAN_NOSCAN)) != GA_SPAN_MANUAL) return;
  uintptr_t base = RD(s->base), end = base + RD(s->npages) * GA_PAGE_SIZE;
  if (concurrent && (ga_span_of(base) != s || ga_span_of(end - 1) != s)) return;
  rescan_span(w, s, base, end);
  ga_gc_mark_drain(w);
}

static void manual_roots(ga_span_t *s, void *arg) { scan_manual(arg, s); }

/* Concurrently: the manual scanned spans are listed under the heap lock
 * (into the gray list's memory, past its top: nothing else uses it yet),
 * then scanned without it. */
typedef struct {
  ga_span_t **list;
  size_t n, cap;
} span_list_t;

static void list_manual(ga_span_t *s, void *arg) {
  span_list_t *l = arg;
  if ((s->gcflags & (GA_SPAN_MANUAL | GA_SPAN_NOSCAN)) != GA_SPAN_MANUAL) return;
  if (l->n < l->cap) l->list[l->n++] = s;
}

void ga_gc_mark_manual_roots(ga_gc_work_t *w) {
  if (!w) w = pause_work;
  if (!concurrent) {
    ga_heap_for_each_span(manual_roots, w);
    ga_heap_for_each_huge_span(manual_roots, w);
    return;
  }
  /* The top half of the gray list's reservation holds the list. */
  span_list_t l = {(ga_span_t **)((char *)stack + STACK_RESERVE / 2), 0,
                   STACK_RESERVE / 2 / sizeof(ga_span_t *)};
  ga_mutex_lock(&ga_heap_lock);
  ga_heap_for_each_span(list_manual, &l);
  ga_heap_for_each_huge_span(list_manual, &l);
  ga_mutex_unlock(&ga_heap_lock);
  for (size_t i = 0; i < l.n; i++) scan_manual(w, l.list[i]);
  if (l.n * sizeof(ga_span_t *) > 64 * 1024)
    ga_os_unuse(l.list, (l.n * sizeof(ga_span_t *) + 4095) & ~(size_t)4095);
}
