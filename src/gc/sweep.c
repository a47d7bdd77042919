/* gc/sweep.c: from marks to free slots (Go's mgcsweep.go), for an
 * allocator whose spans belong to threads.
 *
 * Go sweeps a span before any allocation from it and only the sweeper
 * writes allocBits. Here a thread cache owns its spans and changes their
 * allocBits and allocCount without a lock or an atomic read-modify-write
 * (malloc and free fast paths), and the pause can stop it in the middle of
 * one. So nobody but the owner writes those fields of an owned span. The
 * collector writes only collector fields:
 *
 *   garbage = allocBits & ~gcmarkBits & ~(objects on the span's xfree list)
 *   sweepBits |= garbage; sweep_pending = 1; owner->sweep_needed = 1
 *
 * and the owner applies them (ga_gc_sweep_owned_span): allocBits &=
 * ~(sweepBits & allocBits). Objects freed by other threads and still on
 * the span's remote list are free, not garbage: they are left out when the
 * garbage is computed (exclude_remote, under the span's xlock or in the
 * pause), so applying sweepBits never frees one of them a second time.
 *
 * Lazy sweep (concurrent cycles). Each small span has a sweepgen (Go's
 * scheme): with G = ga_gc_sweepgen, bumped by 2 in every pause (heap lock
 * held), sweepgen == G-2 is unswept, G-1 being swept (claimed by a CAS,
 * Go's sweepLocker), G swept. Spans the heap makes are born swept. The
 * pause (ga_gc_sweep_pause_lazy) sweeps only what may be allocated from
 * without a check: every cache's current spans (alloc[]), and the large
 * spans (found through the arenas' page_large bits, not a walk of every
 * span). Everything else is swept after the world restarts, before it can
 * be allocated from:
 *   - central spans: by the background sweep under their central lock
 *     (sweep_central_lists), or by the cache that takes one first
 *     (ga_central_cache_span, under the same lock);
 *   - owned spans: by the owner when it makes one current (cache.c's
 *     alloc_slow: ga_gc_sweep_ensure claims it and sweeps it, or waits while
 *     the background sweep holds it, then applies pending bits), or by the
 *     background sweep (bg_span, heap lock held so the span cannot be freed
 *     or remade meanwhile), which computes the garbage into sweepBits as the
 *     pause does and flags the owner (sweep_owed, turned into sweep_needed
 *     when the walk ends).
 * (Sweeping large spans after the pause too was tried: stress_thread_churn
 * then freed live large blocks; the cause was not found, so they stay in
 * the pause.)
 * The cycle (collect(), under gc_lock) ends only when every span is swept
 * (the walk claimed every unswept span and no owner claim is in progress),
 * so the next cycle never marks over unswept spans and every span is at G
 * when the next pause bumps G.
 *
 * Why this is correct. (1) An object reachable at the pause is marked, so
 * it is never in the garbage, whoever computes it, whenever. (2) The marks
 * hold still until the span is swept: no marking happens between the pause
 * and the end of the sweep (the next cycle waits for gc_lock). (3) A slot
 * freed and reallocated after the pause is never swept with the pause's
 * marks: allocation happens only from a current span, and a span becomes
 * current only swept: alloc_slow sweeps it (ensure) before storing it in
 * alloc[]; if a pause slips in between (the cache is busy, so the pause
 * did not wait for it), the span was not current when the pause looked
 * and nothing was allocated from it since, so alloc_slow, which checks
 * again after the store, sweeps it then with that pause's marks; a pause
 * after the store finds it current and sweeps it in the pause (a busy
 * cache's current spans are only validated (owner is the cache, in use)
 * and skipped: marks cleared, swept, objects kept one more cycle). The
 * fast path of a non-current span only frees. (4) Garbage slots are
 * unreachable, so nobody frees them explicitly; objects freed remotely
 * before the pause are on the xfree list when the garbage is computed
 * (pushes are complete: the pause stops nobody inside an xlock, since a
 * pusher stopped half-way holds the object in a register and it is
 * marked) or were drained (their bit is clear, or the owner clears it
 * before it applies sweepBits & allocBits). So sweepBits name only slots
 * that stay allocated until applied, and applying them before a span
 * becomes current (ensure) frees nothing live. (5) The background sweep
 * never writes into a span that changed hands: it claims under the heap
 * lock, so a span cannot be freed to the heap or remade while claimed; an
 * owner that gives a span to mcentral (thread exit, fork) sweeps it first
 * or waits for the claim (ga_central_uncache_span calls ensure under the
 * central lock, which a pause cannot interrupt); an owner that forgets
 * pending bits of an emptied span (list_fix_after_free) does it through
 * ensure too. The owner applies bits of its listed spans (ga_cache_sweep)
 * only once they are swept for the last cycle (sweepgen == G).
 *
 * Stop-the-world cycles and leak mode sweep everything in the pause
 * (ga_gc_sweep_pause) and mark every small span swept.
 *
 * Why the pause may judge an owned span whatever its owner was doing:
 *   - in malloc's fast path: the slot being taken was free when the bits
 *     were read, or its pointer is already in a register (span.h,
 *     ga_span_take_slot), so it is either not garbage or marked;
 *   - in free's fast path: the pointer stays in a register until the bit is
 *     clear (malloc.c), so the object is marked;
 *   - anywhere in a slow path (lists, remote drain, list fixes): the cache
 *     says it is busy (cache.h) and the pause leaves its spans alone this
 *     cycle (their objects survive one more cycle).
 * Pending bits must never outlive the objects they name: a span that
 * empties some other way (its remote frees drained) forgets them
 * (ga_gc_sweep_ensure applies them to an empty span), or the next objects
 * in those slots would be swept. An idle thread applies nothing until it
 * allocates again; its garbage stays allocated until then (docs/GC.md,
 * limits).
 *
 * Large objects are freed right after the pause, unless
 * young (allocated since the last cycle ended, gcgen): a large allocation
 * may be stopped after the heap or the page cache made its span and before
 * its pointer reached a register.
 *
 * In leak mode nothing is freed: every garbage object is reported to
 * gc/leak.c with its allocation site. */
#include "gc/sweep.h"

#include "cache.h"
#include "central.h"
#include "gc/collector.h"
#include "gc/leak.h"
#include "heap.h"
#include "os.h"

#include <sched.h>
#include <string.h>

#define LARGE_RESERVE ((size_t)1 << 30)

static ga_span_t **large_garbage; /* freed after the pause */
static size_t nlarge;

ga_gc_sweep_stats_t ga_gc_sweep_stats;
/* Owners inside a claim (between their CAS to G-1 and their store of G):
 * the background sweep ends only when it is back to zero. */
static int claims_active;

#define STAT(f, v) __atomic_fetch_add(&ga_gc_sweep_stats.f, (uint64_t)(v), __ATOMIC_RELAXED)

static inline uint32_t gen_now(void) { return __atomic_load_n(&ga_gc_sweepgen, __ATOMIC_ACQUIRE); }
static inline void set_swept(ga_span_t *s, uint32_t g) {
  __atomic_store_n(&s->sweepgen, g, __ATOMIC_RELEASE);
}

/* Slots of s whose objects wait on its remote-free list: free already (the
 * owner clears their bits when it drains), so never garbage. Called with
 * the span's xlock held, or in the pause (the list is consistent there: a
 * pusher links the object before publishing it). The walk is bounded: a
 * doubly freed object can make the list loop. */
static void exclude_remote(const ga_span_t *s, uint64_t *g) {
  uint32_t n = 0;
  for (void *p = s->xfree; p && n <= s->nelems; p = *(void **)p, n++) {
    long idx = ga_span_object_index(s, (uintptr_t)p);
    if (idx < 0) break;
    g[idx >> 6] &= ~((uint64_t)1 << (idx & 63));
  }
}

/* g = the span's allocated, unmarked slots; clears the marks. True if any. */
static bool unmarked(ga_span_t *s, uint64_t *g) {
  uint32_t nwords = (s->nelems + 63) / 64;
  bool any = false;
  for (uint32_t w = 0; w < nwords; w++) {
    uint64_t valid = (w == s->nelems / 64) ? ((uint64_t)1 << (s->nelems % 64)) - 1 : ~(uint64_t)0;
    g[w] = GA_LOAD(s->allocBits[w]) & ~s->gcmarkBits[w] & valid;
    s->gcmarkBits[w] = 0;
    any |= g[w] != 0;
  }
  for (uint32_t w = nwords; w < GA_SPAN_BITS_WORDS; w++) g[w] = 0;
  return any;
}

/* Counts the garbage in g (and reports it in leak mode). */
static void note_garbage(const ga_span_t *s, const uint64_t *g, bool leak) {
  uint32_t nwords = (s->nelems + 63) / 64;
  for (uint32_t w = 0; w < nwords; w++) {
    if (!g[w]) continue;
    uint32_t n = (uint32_t)__builtin_popcountll(g[w]);
    STAT(garbage_objects, n);
    STAT(garbage_bytes, (uint64_t)n * s->elemsize);
    if (leak) {
      uint64_t bits = g[w];
      while (bits) {
        uint32_t idx = w * 64 + (uint32_t)__builtin_ctzll(bits);
        bits &= bits - 1;
        ga_gc_leak_note(s->sites ? s->sites[idx] : 0, s->elemsize, 1);
      }
    }
  }
}

/* The garbage of an owned small span from its marks: allocBits &
 * ~gcmarkBits, minus objects on its remote-free list, minus what is already
 * pending in sweepBits (counted when it was found); clears the marks and
 * ORs the garbage into sweepBits. True if sweepBits gained bits. The
 * caller holds the span's claim (or is the pause). */
static bool owned_garbage(ga_span_t *s, bool leak) {
  uint64_t g[GA_SPAN_BITS_WORDS];
  if (!unmarked(s, g)) return false;
  exclude_remote(s, g);
  uint32_t nwords = (s->nelems + 63) / 64;
  bool any = false;
  for (uint32_t w = 0; w < nwords; w++) {
    g[w] &= ~s->sweepBits[w];
    any |= g[w] != 0;
  }
  if (!any) return false;
  note_garbage(s, g, leak);
  if (leak) return false;
  bool empties = true;
  for (uint32_t w = 0; w < nwords; w++) {
    s->sweepBits[w] |= g[w];
    /* allocBits holds 1s past nelems (span.c): only real slots count. */
    uint64_t valid = w + 1 == nwords && s->nelems % 64 ? ((uint64_t)1 << (s->nelems % 64)) - 1 : ~(uint64_t)0;
    empties &= (__atomic_load_n(&s->allocBits[w], __ATOMIC_RELAXED) & valid & ~s->sweepBits[w]) == 0;
  }
  if (empties && !__atomic_load_n(&s->sweep_empties, __ATOMIC_RELAXED)) {
    __atomic_store_n(&s->sweep_empties, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&ga_gc_sweep_owed_bytes, s->npages * GA_PAGE_SIZE, __ATOMIC_RELAXED);
  }
  __atomic_store_n(&s->sweep_pending, 1, __ATOMIC_RELAXED);
  return true;
}

/* The garbage of a central span (its central lock held): clears its marks;
 * true if there is some. */
static bool central_garbage(ga_span_t *s, uint64_t *g, bool leak) {
  if (!unmarked(s, g)) return false;
  note_garbage(s, g, leak);
  return true;
}

static void clear_marks(ga_span_t *s) {
  uint32_t nwords = (s->nelems + 63) / 64;
  if (nwords > GA_SPAN_BITS_WORDS) nwords = GA_SPAN_BITS_WORDS;
  for (uint32_t w = 0; w < nwords; w++) s->gcmarkBits[w] = 0;
}

/* A large span whose pointer may not have reached its caller: still being
 * made (UINT32_MAX, until ga_large_alloc holds the pointer in a register),
 * or made since the last cycle ended. */
static bool young(const ga_span_t *s) {
  return s->gcgen == UINT32_MAX || s->gcgen == ga_gc_cycle;
}

static void sweep_in_pause(ga_span_t *s, void *arg) {
  ga_gc_sweep_ctx_t *ctx = arg;
  if (s->state != GA_SPAN_INUSE || (s->gcflags & GA_SPAN_MANUAL)) return;
  if (s->spanclass == 0) {
    bool marked = s->gcmarkBits[0] != 0;
    s->gcmarkBits[0] = 0;
    /* Young: possibly still on its way to the caller. A leak report has
     * nothing to protect by waiting (it frees nothing). */
    size_t bytes = s->npages * GA_PAGE_SIZE;
    if (marked) return;
    if (young(s) && !ctx->leak) {
      STAT(young_bytes, bytes);
      return;
    }
    STAT(garbage_objects, 1);
    STAT(garbage_bytes, bytes);
    if (ctx->leak) {
      ga_gc_leak_note(s->site, bytes, 1);
    } else if (nlarge < LARGE_RESERVE / sizeof(ga_span_t *)) {
      large_garbage[nlarge++] = s;
    }
    return;
  }
  ga_cache_t *o = GA_LOAD(s->owner);
  if (o && o->busy) {
    /* The owner may be half-way through changing this span: judge it next
     * cycle. */
    clear_marks(s);
    STAT(skipped_spans, 1);
    return;
  }
  if (!o) {
    /* Central: its state is under the central locks, which the pause holds. */
    uint64_t g[GA_SPAN_BITS_WORDS];
    if (central_garbage(s, g, ctx->leak) && !ctx->leak) ga_central_sweep_span(s, g, &ctx->empty);
    return;
  }
  if (owned_garbage(s, ctx->leak)) __atomic_store_n(&o->sweep_needed, 1, __ATOMIC_RELAXED);
}

/* The full sweep (stop-the-world cycles, leak mode): every span. */
static void sweep_full(ga_span_t *s, void *arg) {
  if (s->state == GA_SPAN_INUSE && s->spanclass != 0) s->sweepgen = ga_gc_sweepgen;
  sweep_in_pause(s, arg);
}

bool ga_gc_sweep_begin(ga_gc_sweep_ctx_t *ctx) {
  ctx->gen = 0;
  if (!large_garbage) {
    large_garbage = ga_os_reserve(LARGE_RESERVE, 4096);
    if (!large_garbage) return false;
  }
  nlarge = 0;
  ctx->empty = NULL;
  ga_gc_sweep_stats = (ga_gc_sweep_stats_t){0};
  return true;
}

void ga_gc_sweep_pause(ga_gc_sweep_ctx_t *ctx) {
  __atomic_store_n(&ga_gc_sweepgen, ga_gc_sweepgen + 2, __ATOMIC_RELEASE);
  ga_heap_for_each_span(sweep_full, ctx);
  ga_heap_for_each_huge_span(sweep_in_pause, ctx);
}

/* ---- lazy sweep ---- */

static void pause_cache(ga_cache_t *c, void *arg) {
  ga_gc_sweep_ctx_t *ctx = arg;
  uint32_t g = ga_gc_sweepgen;
  bool busy = c->busy != 0;
  for (unsigned spc = 0; spc < GA_NUM_CACHE_CLASSES; spc++) {
    ga_span_t *s = GA_LOAD(c->alloc[spc]);
    if (s == &ga_empty_span) continue;
    if (busy) {
      /* alloc[] of a cache stopped in a slow path may name a span it has
       * just given away (thread exit): only a span it still owns is
       * touched. Its objects survive this cycle (as every busy span did
       * before lazy sweeping); it is swept, so the fast path may go on
       * allocating from it. */
      if (s->state != GA_SPAN_INUSE || s->spanclass == 0 || GA_LOAD(s->owner) != c) continue;
      clear_marks(s);
      STAT(skipped_spans, 1);
      s->sweepgen = g;
      continue;
    }
    sweep_in_pause(s, ctx);
    s->sweepgen = g;
  }
}

void ga_gc_sweep_pause_lazy(ga_gc_sweep_ctx_t *ctx) {
  __atomic_store_n(&ga_gc_sweepgen, ga_gc_sweepgen + 2, __ATOMIC_RELEASE);
  /* What the fast path allocates from: every cache's current spans. */
  ga_caches_for_each(pause_cache, ctx);
  /* Large spans, as the full sweep does (a list of their own: the
   * arenas' page_large bits). */
  ga_heap_for_each_large_span(sweep_in_pause, ctx);
  ga_heap_for_each_huge_span(sweep_in_pause, ctx);
  /* Central spans are swept after the pause, under their central lock
   * (ga_gc_sweep_background, or ga_gc_sweep_central_taken when a cache
   * takes one first). */
}

/* Claims a central span (its central lock held) and sweeps it; waits if
 * the heap walk claimed it (it only clears marks of unowned spans). With
 * list, fixes its central list (the background sweep); without, the span
 * is off the lists (a cache is taking it). */
static void central_claim_sweep(ga_span_t *s, ga_gc_sweep_ctx_t *ctx) {
  for (;;) {
    uint32_t g = gen_now();
    uint32_t sg = __atomic_load_n(&s->sweepgen, __ATOMIC_ACQUIRE);
    if (sg == g) return;
    if (sg == g - 1) {
      sched_yield();
      continue;
    }
    if (!__atomic_compare_exchange_n(&s->sweepgen, &sg, g - 1, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_RELAXED))
      continue;
    uint64_t gb[GA_SPAN_BITS_WORDS];
    if (!(s->gcflags & GA_SPAN_MANUAL) && central_garbage(s, gb, false)) {
      if (ctx) ga_central_sweep_span(s, gb, &ctx->empty);
      else ga_span_free_slots(s, gb);
    } else {
      clear_marks(s);
    }
    set_swept(s, g);
    return;
  }
}

void ga_gc_sweep_central_taken(ga_span_t *s) { central_claim_sweep(s, NULL); }

static void sweep_central_lists(ga_gc_sweep_ctx_t *ctx) {
  for (unsigned spc = 0; spc < GA_NUM_CACHE_CLASSES; spc++) {
    ga_central_t *ct = &ga_central[spc];
    ga_mutex_lock(&ct->lock);
    ga_span_list_t *lists[2] = {&ct->full, &ct->partial};
    for (int k = 0; k < 2; k++)
      for (ga_span_t *s = lists[k]->first, *next; s; s = next) {
        next = s->next;
        if (!ga_gc_span_swept(s)) central_claim_sweep(s, ctx);
      }
    ga_mutex_unlock(&ct->lock);
  }
}

/* The background sweep's visit (heap lock held: the span cannot be freed
 * or remade meanwhile). */
static void bg_span(ga_span_t *s, void *arg) {
  ga_gc_sweep_ctx_t *ctx = arg;
  if (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) != GA_SPAN_INUSE) return;
  if (s->spanclass == 0) return; /* large: swept in the pause */
  uint32_t g = ctx->gen;
  uint32_t old = g - 2;
  if (!__atomic_compare_exchange_n(&s->sweepgen, &old, g - 1, false, __ATOMIC_ACQ_REL,
                                   __ATOMIC_RELAXED))
    return; /* swept, or its owner is sweeping it */
  ga_cache_t *o = NULL;
  bool pending = false;
  ga_spin_lock(&s->xlock);
  o = GA_LOAD(s->owner);
  if (!o || (s->gcflags & GA_SPAN_MANUAL)) clear_marks(s); /* nothing to judge (or not ours to) */
  else pending = owned_garbage(s, false);
  ga_spin_unlock(&s->xlock);
  if (pending) __atomic_store_n(&o->sweep_owed, 1, __ATOMIC_RELAXED);
  set_swept(s, g);
}

static void owed_to_needed(ga_cache_t *c, void *arg) {
  if (__atomic_load_n(&c->sweep_owed, __ATOMIC_RELAXED)) {
    __atomic_store_n(&c->sweep_owed, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&c->sweep_needed, 1, __ATOMIC_RELEASE);
  }
}

void ga_gc_sweep_background(ga_gc_sweep_ctx_t *ctx) {
  ctx->gen = gen_now();
  sweep_central_lists(ctx);
  ga_heap_for_each_span_chunked(bg_span, ctx);
  /* Claims owners took before the walk reached their spans. */
  while (__atomic_load_n(&claims_active, __ATOMIC_SEQ_CST)) sched_yield();
  ga_mutex_lock(&ga_caches_lock);
  ga_caches_for_each(owed_to_needed, NULL);
  ga_mutex_unlock(&ga_caches_lock);
}

bool ga_gc_sweep_ensure_slow(ga_span_t *s) {
  bool freed = false;
  for (;;) {
    uint32_t g = gen_now();
    uint32_t sg = __atomic_load_n(&s->sweepgen, __ATOMIC_ACQUIRE);
    if (sg == g) break;
    if (sg != g - 1) { /* g - 2 (anything else would be a bug: swept now) */
      __atomic_fetch_add(&claims_active, 1, __ATOMIC_SEQ_CST);
      if (__atomic_compare_exchange_n(&s->sweepgen, &sg, g - 1, false, __ATOMIC_SEQ_CST,
                                      __ATOMIC_RELAXED)) {
        ga_spin_lock(&s->xlock);
        if (s->gcflags & GA_SPAN_MANUAL) clear_marks(s);
        else owned_garbage(s, false);
        ga_spin_unlock(&s->xlock);
        set_swept(s, g);
        __atomic_fetch_sub(&claims_active, 1, __ATOMIC_SEQ_CST);
        break;
      }
      __atomic_fetch_sub(&claims_active, 1, __ATOMIC_SEQ_CST);
      continue;
    }
    sched_yield(); /* the background sweep holds it (g - 1) */
  }
  if (ga_gc_span_pending(s)) freed = ga_gc_sweep_owned_span(s);
  return freed;
}

void ga_gc_sweep_after(ga_gc_sweep_ctx_t *ctx) {
  for (size_t i = 0; i < nlarge; i++) ga_heap_free_span(large_garbage[i]);
  if (nlarge * sizeof(ga_span_t *) > 64 * 1024)
    ga_os_unuse(large_garbage, (nlarge * sizeof(ga_span_t *) + 4095) & ~(size_t)4095);
  nlarge = 0;
  while (ctx->empty) {
    ga_span_t *s = ctx->empty;
    ctx->empty = s->next;
    s->next = NULL;
    ga_heap_free_span(s);
  }
}

uint64_t ga_gc_sweep_owed_bytes;

void ga_gc_sweep_forget_owed(ga_span_t *s) {
  if (__atomic_exchange_n(&s->sweep_empties, 0, __ATOMIC_RELAXED))
    __atomic_fetch_sub(&ga_gc_sweep_owed_bytes, s->npages * GA_PAGE_SIZE, __ATOMIC_RELAXED);
}

static void sweep_forget(ga_span_t *s) {
  ga_gc_sweep_forget_owed(s);
  __atomic_store_n(&s->sweep_pending, 0, __ATOMIC_RELAXED);
  memset(s->sweepBits, 0, sizeof s->sweepBits);
}

bool ga_gc_sweep_owned_span(ga_span_t *s) {
  /* Only slots still allocated: the owner may have freed some since. */
  uint64_t g[GA_SPAN_BITS_WORDS];
  for (uint32_t w = 0; w * 64 < s->nelems; w++) g[w] = s->sweepBits[w] & s->allocBits[w];
  sweep_forget(s);
  return ga_span_free_slots(s, g) != 0;
}
