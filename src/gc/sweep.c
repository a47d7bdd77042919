/* gc/sweep.c: from marks to free slots (Go's mgcsweep.go), for an
 * allocator whose spans belong to threads.
 *
 * Go sweeps a span before any allocation from it and only the sweeper
 * writes allocBits. Here a thread cache owns its spans and changes their
 * allocBits and allocCount without a lock or an atomic read-modify-write
 * (malloc and free fast paths), and the pause can stop it in the middle of
 * one. So the pause never writes those fields of an owned span. It writes
 * only collector fields:
 *
 *   garbage = allocBits & ~gcmarkBits   (computed in the pause)
 *   sweepBits |= garbage; sweep_pending = 1; owner->sweep_needed = 1
 *
 * and the owner applies them at its next refill (ga_gc_sweep_owned_span,
 * called from cache.c's ga_cache_sweep): allocBits &= ~(sweepBits &
 * allocBits). Why that is safe whatever the owner was doing when stopped:
 *   - in malloc's fast path: the slot being taken was free when the bits
 *     were read, or its pointer is already in a register (span.h,
 *     ga_span_take_slot), so it is either not garbage or marked;
 *   - in free's fast path: the pointer stays in a register until the bit is
 *     clear (malloc.c), so the object is marked;
 *   - anywhere in a slow path (lists, remote drain, list fixes): the cache
 *     says it is busy (cache.h) and the pause leaves its spans alone this
 *     cycle (their objects survive one more cycle);
 *   - a garbage slot cannot be freed and reallocated before the owner
 *     sweeps, because nobody holds its address (that is what garbage
 *     means), except objects freed by other threads before the pause, which
 *     wait on the span's remote list: the owner drains that list before it
 *     applies sweepBits (cache.c), so they are free, not garbage, by then.
 * Pending bits must never outlive the objects they name: a span that
 * empties some other way (its remote frees drained) forgets them
 * (ga_gc_sweep_forget), or the next objects in those slots would be swept.
 * An idle thread applies nothing until it allocates again; its garbage
 * stays allocated until then (docs/GC.md, limits).
 *
 * Spans nobody owns (mcentral's) are swept in the pause itself: their
 * state is under the central locks, which the pause holds. Large objects
 * are freed right after the pause, unless young (allocated since the last
 * cycle ended, gcgen): a large allocation may be stopped after
 * the heap or the page cache made its span and before its pointer reached
 * a register.
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

#include <string.h>

#define LARGE_RESERVE ((size_t)1 << 30)

static ga_span_t **large_garbage; /* freed after the pause */
static size_t nlarge;

ga_gc_sweep_stats_t ga_gc_sweep_stats;

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
      ga_gc_sweep_stats.young_bytes += bytes;
      return;
    }
    ga_gc_sweep_stats.garbage_objects++;
    ga_gc_sweep_stats.garbage_bytes += bytes;
    if (ctx->leak) {
      ga_gc_leak_note(s->site, bytes, 1);
    } else if (nlarge < LARGE_RESERVE / sizeof(ga_span_t *)) {
      large_garbage[nlarge++] = s;
    }
    return;
  }
  ga_cache_t *o = GA_LOAD(s->owner);
  uint32_t nwords = (s->nelems + 63) / 64;
  if (o && o->busy) {
    /* The owner may be half-way through changing this span: judge it next
     * cycle. */
    for (uint32_t w = 0; w < nwords; w++) s->gcmarkBits[w] = 0;
    ga_gc_sweep_stats.skipped_spans++;
    return;
  }
  uint64_t g[GA_SPAN_BITS_WORDS];
  bool any = false;
  for (uint32_t w = 0; w < nwords; w++) {
    uint64_t valid = (w == s->nelems / 64) ? ((uint64_t)1 << (s->nelems % 64)) - 1 : ~(uint64_t)0;
    g[w] = GA_LOAD(s->allocBits[w]) & ~s->gcmarkBits[w] & valid;
    s->gcmarkBits[w] = 0;
    if (!g[w]) continue;
    /* Already queued for the owner last cycle (it has not swept yet). */
    g[w] &= ~s->sweepBits[w];
    if (!g[w]) continue;
    any = true;
    uint32_t n = (uint32_t)__builtin_popcountll(g[w]);
    ga_gc_sweep_stats.garbage_objects += n;
    ga_gc_sweep_stats.garbage_bytes += (uint64_t)n * s->elemsize;
    if (ctx->leak) {
      uint64_t bits = g[w];
      while (bits) {
        uint32_t idx = w * 64 + (uint32_t)__builtin_ctzll(bits);
        bits &= bits - 1;
        ga_gc_leak_note(s->sites ? s->sites[idx] : 0, s->elemsize, 1);
      }
    }
  }
  for (uint32_t w = nwords; w < GA_SPAN_BITS_WORDS; w++) g[w] = 0;
  if (!any || ctx->leak) return;
  if (o) {
    for (uint32_t w = 0; w < nwords; w++) s->sweepBits[w] |= g[w];
    s->sweep_pending = 1;
    __atomic_store_n(&o->sweep_needed, 1, __ATOMIC_RELAXED);
  } else {
    ga_central_sweep_span(s, g, &ctx->empty);
  }
}

bool ga_gc_sweep_begin(ga_gc_sweep_ctx_t *ctx) {
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
  ga_heap_for_each_span(sweep_in_pause, ctx);
  ga_heap_for_each_huge_span(sweep_in_pause, ctx);
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

void ga_gc_sweep_forget(ga_span_t *s) {
  s->sweep_pending = 0;
  memset(s->sweepBits, 0, sizeof s->sweepBits);
}

bool ga_gc_sweep_owned_span(ga_span_t *s) {
  /* Only slots still allocated: the owner may have freed some since. */
  uint64_t g[GA_SPAN_BITS_WORDS];
  for (uint32_t w = 0; w * 64 < s->nelems; w++) g[w] = s->sweepBits[w] & s->allocBits[w];
  ga_gc_sweep_forget(s);
  return ga_span_free_slots(s, g) != 0;
}
