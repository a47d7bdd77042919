#include "span.h"

#include <string.h>

#include "arena.h"

ga_span_t ga_empty_span = {.state = GA_SPAN_INUSE};

void ga_span_init_small(ga_span_t *s, unsigned spanclass) {
  unsigned sc = ga_spanclass_sizeclass(spanclass);
  s->spanclass = (uint8_t)(spanclass == GA_TINY_SPAN_CLASS ? ga_spanclass(GA_TINY_SIZE_CLASS, 1)
                                                           : spanclass % GA_NUM_SPAN_CLASSES);
  s->tiny = spanclass == GA_TINY_SPAN_CLASS;
  /* Tiny blocks hold several objects each: never collected. */
  s->gcflags = s->tiny ? GA_SPAN_NOSCAN | GA_SPAN_MANUAL
                       : (uint8_t)((spanclass & 1) | (spanclass >= GA_MANUAL_CLASS_BASE ? 2 : 0));
  if (s->gcflags == GA_SPAN_MANUAL)
    ga_arena_note_manual_scanned(s->base, s->base + s->npages * GA_PAGE_SIZE);
  s->sweep_pending = 0;
  memset(s->gcmarkBits, 0, sizeof s->gcmarkBits);
  memset(s->sweepBits, 0, sizeof s->sweepBits);
  s->elemsize = ga_class_size[sc];
  s->nelems = (uint32_t)(s->npages * GA_PAGE_SIZE / s->elemsize);
  s->divmul = ga_class_divmul(sc);
  s->limit = s->nelems * s->elemsize;
  s->freeindex = 0;
  s->allocCount = 0;
  s->mark = 0;
  /* Slots past nelems read as allocated, so neither the search nor a bogus
   * free ever takes them. */
  uint32_t full = s->nelems / 64, rem = s->nelems % 64;
  for (uint32_t w = 0; w < GA_SPAN_BITS_WORDS; w++)
    s->allocBits[w] = w < full ? 0 : ~(uint64_t)0;
  if (rem) s->allocBits[full] = ~(uint64_t)0 << rem;
  ga_span_refill_alloc_cache(s, 0);
}

void ga_span_refill_alloc_cache(ga_span_t *s, uint32_t whichword) {
  s->allocCache = ~s->allocBits[whichword];
}

void ga_span_rescan(ga_span_t *s) {
  s->freeindex = 0;
  ga_span_refill_alloc_cache(s, 0);
}

uint32_t ga_span_next_free_index(ga_span_t *s) {
  uint32_t sfreeindex = s->freeindex, snelems = s->nelems;
  if (sfreeindex >= snelems) return snelems;
  uint64_t cache = s->allocCache;
  if (cache == 0 && sfreeindex % 64 == 0) {
    /* The fast path took the last slot of a word: load the next word
     * before deciding to skip it. */
    ga_span_refill_alloc_cache(s, sfreeindex / 64);
    cache = s->allocCache;
  }
  while (cache == 0) {
    /* Move to the next 64-slot word. */
    sfreeindex = (sfreeindex + 64) & ~(uint32_t)63;
    if (sfreeindex >= snelems) {
      s->freeindex = snelems;
      return snelems;
    }
    ga_span_refill_alloc_cache(s, sfreeindex / 64);
    cache = s->allocCache;
  }
  unsigned bit = (unsigned)__builtin_ctzll(cache);
  uint32_t result = sfreeindex + bit;
  if (result >= snelems) {
    s->freeindex = snelems;
    return snelems;
  }
  s->allocCache = cache >> bit >> 1;
  s->freeindex = result + 1;
  return result;
}

void ga_span_list_push(ga_span_list_t *l, ga_span_t *s, uint8_t which) {
  s->prev = NULL;
  s->next = l->first;
  if (l->first) l->first->prev = s; else l->last = s;
  l->first = s;
  s->list = which;
  l->n++;
}

void ga_span_list_remove(ga_span_list_t *l, ga_span_t *s) {
  if (s->prev) s->prev->next = s->next; else l->first = s->next;
  if (s->next) s->next->prev = s->prev; else l->last = s->prev;
  s->next = s->prev = NULL;
  s->list = GA_LIST_NONE;
  l->n--;
}

ga_span_t *ga_span_list_pop_oldest(ga_span_list_t *l) {
  ga_span_t *s = l->last;
  if (s) ga_span_list_remove(l, s);
  return s;
}

ga_span_t *ga_span_list_pop(ga_span_list_t *l) {
  ga_span_t *s = l->first;
  if (s) ga_span_list_remove(l, s);
  return s;
}

uint32_t ga_span_free_slots(ga_span_t *s, const uint64_t *g) {
  uint32_t n = 0;
  for (uint32_t w = 0; w * 64 < s->nelems; w++) {
    if (!g[w]) continue;
    GA_STORE(s->allocBits[w], s->allocBits[w] & ~g[w]);
    n += (uint32_t)__builtin_popcountll(g[w]);
  }
  if (n) ga_span_count(s, -(int)n);
  return n;
}
