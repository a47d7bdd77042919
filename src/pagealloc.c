#include "pagealloc.h"

#include "gc/blacklist.h"
#include "os.h"

#define MAX_ARENAS 4096 /* 256 GiB of page heap */
#define BEST_FIT_ARENAS 4 /* large runs: best fit among this many arenas */

static ga_arena_t *arenas[MAX_ARENAS]; /* address order */
static size_t narenas;
ga_pages_stats_t ga_pages_stats;
/* Written under the heap lock, read without it by the scavenger's pacing:
 * relaxed atomics keep those reads well-defined. */
#define STAT_ADD(f, v) __atomic_fetch_add(&ga_pages_stats.f, (v), __ATOMIC_RELAXED)
#define STAT_SUB(f, v) __atomic_fetch_sub(&ga_pages_stats.f, (v), __ATOMIC_RELAXED)

size_t ga_pages_arena_count(void) { return narenas; }
ga_arena_t *ga_pages_arena(size_t i) { return i < narenas ? arenas[i] : NULL; }

static inline bool bit(const uint64_t *b, size_t i) { return b[i >> 6] >> (i & 63) & 1; }

/* First index in [from, to) whose bit equals v, or to. */
static size_t next_bit(const uint64_t *b, size_t from, size_t to, bool v) {
  size_t i = from;
  while (i < to) {
    uint64_t w = b[i >> 6];
    if (!v) w = ~w;
    w >>= (i & 63);
    if (w) {
      size_t r = i + (size_t)__builtin_ctzll(w);
      return r < to ? r : to;
    }
    i = (i | 63) + 1;
  }
  return to;
}

static void set_range(uint64_t *b, size_t from, size_t n, bool v) {
  while (n) {
    size_t off = from & 63, k = 64 - off;
    if (k > n) k = n;
    uint64_t m = (k == 64 ? ~(uint64_t)0 : (((uint64_t)1 << k) - 1)) << off;
    if (v) b[from >> 6] |= m; else b[from >> 6] &= ~m;
    from += k;
    n -= k;
  }
}

static size_t count_range(const uint64_t *b, size_t from, size_t n) {
  size_t c = 0;
  while (n) {
    size_t off = from & 63, k = 64 - off;
    if (k > n) k = n;
    uint64_t m = (k == 64 ? ~(uint64_t)0 : (((uint64_t)1 << k) - 1)) << off;
    c += (size_t)__builtin_popcountll(b[from >> 6] & m);
    from += k;
    n -= k;
  }
  return c;
}

/* Go's pallocSum for one 512-page chunk: free run at the start, the longest,
 * at the end. Word at a time: a chunk is 8 words, most of them all free or
 * all allocated; mixed words are walked run by run with ctz. */
static void chunk_summarize(ga_arena_t *a, size_t c) {
  const uint64_t *w = &a->page_alloc[c * (GA_CHUNK_PAGES / 64)];
  const size_t nw = GA_CHUNK_PAGES / 64;
  size_t start = 0, end = 0, max = 0, cur = 0, i;
  for (i = 0; i < nw && w[i] == 0; i++) start += 64;
  if (i < nw) start += (size_t)__builtin_ctzll(w[i]);
  for (i = nw; i > 0 && w[i - 1] == 0; i--) end += 64;
  if (i > 0) end += (size_t)__builtin_clzll(w[i - 1]);
  for (i = 0; i < nw; i++) {
    uint64_t x = w[i];
    if (x == 0) {
      cur += 64;
      continue;
    }
    cur += (size_t)__builtin_ctzll(x);
    if (cur > max) max = cur;
    /* Free runs strictly inside the word. */
    unsigned pos = (unsigned)__builtin_ctzll(x);
    for (;;) {
      uint64_t rest = ~(x >> pos);           /* skip the allocated run */
      if (rest == 0) break;
      pos += (unsigned)__builtin_ctzll(rest);
      if (pos >= 64 || (x >> pos) == 0) break; /* the top run: carried in cur */
      unsigned zeros = (unsigned)__builtin_ctzll(x >> pos);
      if (zeros > max) max = zeros;
      pos += zeros;
    }
    cur = (size_t)__builtin_clzll(x);
  }
  if (cur > max) max = cur;
  if (start > GA_CHUNK_PAGES) start = GA_CHUNK_PAGES;
  if (end > GA_CHUNK_PAGES) end = GA_CHUNK_PAGES;
  a->sum_start[c] = (uint16_t)start;
  a->sum_max[c] = (uint16_t)max;
  a->sum_end[c] = (uint16_t)end;
}

/* The arena-level summary: longest run, joining runs across chunks. */
static void arena_summarize(ga_arena_t *a, size_t from, size_t n) {
  size_t c0 = from / GA_CHUNK_PAGES, c1 = (from + n - 1) / GA_CHUNK_PAGES;
  for (size_t c = c0; c <= c1; c++) chunk_summarize(a, c);
  size_t max = 0, run = 0;
  for (size_t c = 0; c < GA_CHUNKS_PER_ARENA; c++) {
    if (run + a->sum_start[c] > max) max = run + a->sum_start[c];
    if (a->sum_max[c] > max) max = a->sum_max[c];
    run = a->sum_start[c] == GA_CHUNK_PAGES ? run + GA_CHUNK_PAGES : a->sum_end[c];
  }
  a->max_free = (uint32_t)max;
}

/* First run of n clear bits of map in [from, to) starting at a multiple
 * of align. */
static long map_find(const uint64_t *map, size_t from, size_t to, size_t n, size_t align) {
  size_t i = from;
  for (;;) {
    i = next_bit(map, i, to, 0);
    i = (i + align - 1) & ~(align - 1);
    if (i + n > to) return -1;
    size_t e = next_bit(map, i, i + n, 1);
    if (e == i + n) return (long)i;
    i = e + 1;
  }
}

/* First free run of n pages in [from, to) starting at a multiple of align. */
static long bitmap_find(const ga_arena_t *a, size_t from, size_t to, size_t n, size_t align) {
  return map_find(a->page_alloc, from, to, n, align);
}

static long arena_find(const ga_arena_t *a, size_t n, size_t align) {
  if (a->max_free < n) return -1;
  if (align > 1) return bitmap_find(a, 0, GA_PAGES_PER_ARENA, n, align);
  size_t run = 0;
  for (size_t c = 0; c < GA_CHUNKS_PER_ARENA; c++) {
    size_t base = c * GA_CHUNK_PAGES;
    if (run + a->sum_start[c] >= n) return (long)(base - run);
    if (a->sum_max[c] >= n) return bitmap_find(a, base, base + GA_CHUNK_PAGES, n, 1);
    run = a->sum_start[c] == GA_CHUNK_PAGES ? run + GA_CHUNK_PAGES : a->sum_end[c];
  }
  return -1;
}

static bool grow(bool small) {
  if (narenas == MAX_ARENAS) return false;
  ga_arena_t *a = ga_arena_create(1, false, 0);
  if (!a && small) a = ga_arena_create_partial();
  if (!a) return false;
  if (a->usable_pages < GA_PAGES_PER_ARENA) {
    /* The unmapped tail is allocated for good. */
    set_range(a->page_alloc, a->usable_pages, GA_PAGES_PER_ARENA - a->usable_pages, 1);
    set_range(a->page_scav, a->usable_pages, GA_PAGES_PER_ARENA - a->usable_pages, 0);
    arena_summarize(a, 0, GA_PAGES_PER_ARENA);
  }
  size_t i = narenas;
  while (i > 0 && arenas[i - 1]->base > a->base) {
    arenas[i] = arenas[i - 1];
    i--;
  }
  arenas[i] = a;
  narenas++;
  STAT_ADD(total_pages, a->usable_pages);
  STAT_ADD(scav_pages, a->usable_pages);
  return true;
}

static void take(ga_arena_t *a, size_t first, size_t n, bool *needzero) {
  size_t scav = count_range(a->page_scav, first, n);
  if (needzero) *needzero = scav != n;
  set_range(a->page_alloc, first, n, 1);
  set_range(a->page_scav, first, n, 0);
  STAT_SUB(scav_pages, scav);
  STAT_SUB(free_pages, n - scav);
  STAT_ADD(inuse_pages, n);
  arena_summarize(a, first, n);
}

/* Best fit in one arena: the shortest free run of at least n pages (the
 * lowest of equals), its length in *len; -1 if none. Chunk summaries give
 * the runs that touch chunk boundaries (joined across chunks, as
 * arena_find does); the bitmap is read only inside chunks whose longest
 * run is long enough. */
static void consider(size_t start, size_t l, size_t n, long *best, size_t *len) {
  if (l >= n && l < *len) {
    *len = l;
    *best = (long)start;
  }
}

static long arena_best(const ga_arena_t *a, size_t n, size_t *len) {
  long best = -1;
  *len = SIZE_MAX;
  if (a->max_free < n) return -1;
  size_t run = 0; /* free pages carried into this chunk from before */
  for (size_t c = 0; c < GA_CHUNKS_PER_ARENA && *len != n; c++) {
    size_t base = c * GA_CHUNK_PAGES;
    if (a->sum_start[c] == GA_CHUNK_PAGES) {
      run += GA_CHUNK_PAGES;
      continue;
    }
    consider(base - run, run + a->sum_start[c], n, &best, len);
    if (a->sum_max[c] >= n) {
      /* Runs strictly inside the chunk (not touching either end). */
      size_t end = base + GA_CHUNK_PAGES - a->sum_end[c];
      size_t i = base + a->sum_start[c];
      for (;;) {
        i = next_bit(a->page_alloc, i, end, 0);
        if (i >= end) break;
        size_t e = next_bit(a->page_alloc, i, end, 1);
        consider(i, e - i, n, &best, len);
        i = e;
      }
    }
    run = a->sum_end[c];
  }
  consider(GA_PAGES_PER_ARENA - run, run, n, &best, len);
  return best;
}

/* The collector's blacklist (gc/blacklist.h). When the run at i that the
 * search chose holds a blacklisted page, another run of a's that holds
 * none, or -1; *hit says the choice was blacklisted. The arena's pages
 * taken or blacklisted make one map, searched by first fit, or with len
 * set by best fit (the shortest clean run, its length in *len: taking the
 * first would split the long runs best fit keeps for large requests). */
static long avoid_black(const ga_arena_t *a, long i, size_t n, size_t align, size_t *len,
                        bool *hit) {
  uint64_t map[GA_ARENA_WORDS];
  *hit = false;
  if (!ga_gc_blacklist_get(a, map) || count_range(map, (size_t)i, n) == 0) return i;
  *hit = true;
  for (size_t w = 0; w < GA_ARENA_WORDS; w++) map[w] |= a->page_alloc[w];
  if (!len) return map_find(map, 0, GA_PAGES_PER_ARENA, n, align);
  long best = -1;
  *len = SIZE_MAX;
  for (size_t j = next_bit(map, 0, GA_PAGES_PER_ARENA, 0); j < GA_PAGES_PER_ARENA;) {
    size_t e = next_bit(map, j, GA_PAGES_PER_ARENA, 1);
    if (e - j >= n && e - j < *len) {
      *len = e - j;
      best = (long)j;
    }
    j = next_bit(map, e, GA_PAGES_PER_ARENA, 0);
  }
  return best;
}

uintptr_t ga_pages_alloc_best(size_t npages, bool avoid, bool *needzero) {
  if (npages == 0 || npages > GA_PAGES_PER_ARENA) return 0;
  avoid = avoid && __atomic_load_n(&ga_gc_blacklist_used, __ATOMIC_RELAXED);
  for (int attempt = 0; attempt < 2; attempt++) {
    ga_arena_t *ba = NULL, *ha = NULL;
    long bi = -1, hi = -1;
    size_t blen = SIZE_MAX;
    /* The first few arenas that can hold the run: bounded work however
     * large the heap, and low addresses still preferred. */
    for (size_t k = 0, tried = 0; k < narenas && tried < BEST_FIT_ARENAS; k++) {
      size_t l;
      long i = arena_best(arenas[k], npages, &l);
      if (i < 0) continue;
      if (avoid) {
        bool hit;
        long j = avoid_black(arenas[k], i, npages, 1, &l, &hit);
        if (hit && !ha) {
          ha = arenas[k];
          hi = i;
        }
        if (j < 0) continue;
        i = j;
      }
      tried++;
      if (l < blen) {
        ba = arenas[k];
        bi = i;
        blen = l;
        if (l == npages) break;
      }
    }
    if (!ba && ha) {
      /* Only blacklisted runs fit: one of them rather than a new arena. */
      ba = ha;
      bi = hi;
    }
    if (ba) {
      take(ba, (size_t)bi, npages, needzero);
      return ba->base + (uintptr_t)bi * GA_PAGE_SIZE;
    }
    if (!grow(false)) return 0;
  }
  return 0;
}

uintptr_t ga_pages_alloc(size_t npages, size_t align_pages, bool small, bool avoid,
                         bool *needzero) {
  if (npages == 0 || npages > GA_PAGES_PER_ARENA || align_pages > GA_PAGES_PER_ARENA) return 0;
  if (align_pages == 0) align_pages = 1;
  avoid = avoid && __atomic_load_n(&ga_gc_blacklist_used, __ATOMIC_RELAXED);
  for (int attempt = 0; attempt < 2; attempt++) {
    ga_arena_t *ha = NULL;
    long hi = -1;
    for (size_t k = 0; k < narenas; k++) {
      ga_arena_t *a = arenas[k];
      long i = arena_find(a, npages, align_pages);
      if (i >= 0 && avoid) {
        bool hit;
        long j = avoid_black(a, i, npages, align_pages, NULL, &hit);
        if (hit && !ha) {
          ha = a;
          hi = i;
        }
        i = j;
      }
      if (i >= 0) {
        take(a, (size_t)i, npages, needzero);
        return a->base + (uintptr_t)i * GA_PAGE_SIZE;
      }
    }
    if (ha) {
      /* Only blacklisted runs fit: one of them rather than a new arena. */
      take(ha, (size_t)hi, npages, needzero);
      return ha->base + (uintptr_t)hi * GA_PAGE_SIZE;
    }
    if (!grow(small)) return 0;
  }
  return 0;
}

bool ga_pages_extend(uintptr_t base, size_t npages, size_t more) {
  ga_arena_t *a = ga_arena_of(base);
  size_t first = ((base >> GA_PAGE_SHIFT) & (GA_PAGES_PER_ARENA - 1)) + npages;
  if (!a || a->huge || first + more > a->usable_pages) return false;
  if (next_bit(a->page_alloc, first, first + more, 1) != first + more) return false;
  take(a, first, more, NULL);
  return true;
}

uintptr_t ga_pages_free_run_end(ga_arena_t *a, uintptr_t addr, size_t max_pages) {
  size_t first = (addr - a->base) >> GA_PAGE_SHIFT;
  if (a->huge || (addr & (GA_PAGE_SIZE - 1)) || first >= a->usable_pages) return addr;
  size_t lim = a->usable_pages - first < max_pages ? a->usable_pages : first + max_pages;
  return addr + (next_bit(a->page_alloc, first, lim, 1) - first) * GA_PAGE_SIZE;
}

uint32_t ga_pages_gen = 2;

void ga_pages_free(uintptr_t base, size_t npages) {
  ga_arena_t *a = ga_arena_of(base);
  size_t first = (base >> GA_PAGE_SHIFT) & (GA_PAGES_PER_ARENA - 1);
  uint32_t gen = __atomic_load_n(&ga_pages_gen, __ATOMIC_RELAXED);
  for (size_t c = first / GA_CHUNK_PAGES; c <= (first + npages - 1) / GA_CHUNK_PAGES; c++)
    a->free_gen[c] = gen;
  set_range(a->page_alloc, first, npages, 0);
  STAT_ADD(free_pages, npages);
  STAT_SUB(inuse_pages, npages);
  arena_summarize(a, first, npages);
}

bool ga_pages_take_unscavenged(uintptr_t *base, size_t *npages, size_t maxpages, bool recent) {
  /* From high addresses down, as Go does: the low heap is where first fit
   * allocates, so its pages are the likeliest to be reused soon. */
  uint32_t gen = __atomic_load_n(&ga_pages_gen, __ATOMIC_RELAXED);
  for (size_t k = narenas; k-- > 0;) {
    ga_arena_t *a = arenas[k];
    for (size_t w = GA_ARENA_WORDS; w-- > 0;) {
      uint64_t cand = ~a->page_alloc[w] & ~a->page_scav[w];
      if (!cand) continue;
      size_t c = w * 64 / GA_CHUNK_PAGES;
      if (!recent && gen - a->free_gen[c] < 2) {
        /* Pages were freed in this chunk during this period or the last
         * one: a program that frees and allocates again would fault them
         * straight back in. Skip the chunk for now (Go's scavenger also
         * passes over chunks used in the current cycle). */
        w = c * (GA_CHUNK_PAGES / 64);
        continue;
      }
      /* Highest candidate page, then extend the run downwards. */
      size_t hi = w * 64 + 63 - (size_t)__builtin_clzll(cand);
      size_t lo = hi;
      while (lo > 0 && hi - lo + 1 < maxpages && !bit(a->page_alloc, lo - 1) &&
             !bit(a->page_scav, lo - 1))
        lo--;
      size_t n = hi - lo + 1;
      set_range(a->page_alloc, lo, n, 1);
      STAT_SUB(free_pages, n);
      STAT_ADD(inuse_pages, n);
      arena_summarize(a, lo, n);
      *base = a->base + lo * GA_PAGE_SIZE;
      *npages = n;
      return true;
    }
  }
  return false;
}

void ga_pages_put_scavenged(uintptr_t base, size_t npages) {
  ga_arena_t *a = ga_arena_of(base);
  size_t first = (base >> GA_PAGE_SHIFT) & (GA_PAGES_PER_ARENA - 1);
  set_range(a->page_alloc, first, npages, 0);
  set_range(a->page_scav, first, npages, 1);
  STAT_ADD(scav_pages, npages);
  STAT_SUB(inuse_pages, npages);
  arena_summarize(a, first, npages);
}
