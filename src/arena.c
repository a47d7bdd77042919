#include "arena.h"

#include "fixalloc.h"
#include "os.h"

/* L1 has one entry on amd64; its L2 table is static (16 MiB of bss: address
 * space only, pages are touched where arenas exist), so the fast path needs
 * no NULL check for it. */
_Static_assert(GA_ARENA_L1_BITS == 0, "the static L2 table assumes one L1 entry");
ga_arena_l2_t ga_arena_l2_0;
ga_arena_l2_t *ga_arena_l1[1 << GA_ARENA_L1_BITS] = {&ga_arena_l2_0};
uint64_t ga_arenas_reserved;

static size_t meta_size(void) {
  return (sizeof(ga_arena_t) + 4095) & ~(size_t)4095;
}

static bool index_ensure(uintptr_t l1) {
  if (ga_arena_l1[l1]) return true;
  ga_arena_l2_t *l2 = ga_os_reserve(sizeof(ga_arena_l2_t), 4096);
  if (!l2) return false;
  __atomic_fetch_add(&ga_metadata_mapped, sizeof(ga_arena_l2_t), __ATOMIC_RELAXED);
  __atomic_store_n(&ga_arena_l1[l1], l2, __ATOMIC_RELEASE);
  return true;
}

static void index_set(uintptr_t base, ga_arena_t *a) {
  uintptr_t i = base >> GA_ARENA_SHIFT;
  uintptr_t l1 = i >> GA_ARENA_L2_BITS;
  __atomic_store_n(&(*ga_arena_l1[l1])[i & (((uintptr_t)1 << GA_ARENA_L2_BITS) - 1)], a,
                   __ATOMIC_RELEASE);
}

static ga_arena_t *create_at(char *mem, size_t n, bool huge, size_t mapped);

ga_arena_t *ga_arena_create(size_t n, bool huge, size_t align) {
  char *mem = ga_os_reserve(n * GA_ARENA_SIZE, align > GA_ARENA_SIZE ? align : GA_ARENA_SIZE);
  if (!mem) return NULL;
  return create_at(mem, n, huge, n * GA_ARENA_SIZE);
}

static uintptr_t last_base;

ga_arena_t *ga_arena_create_partial(void) {
  for (size_t size = GA_ARENA_SIZE / 2; size >= 256 * 1024; size /= 2) {
    /* Aligned candidates around the last arena, then anywhere the kernel
     * puts a mapping of this size. */
    uintptr_t hints[8];
    size_t nh = 0;
    if (last_base) {
      for (uintptr_t k = 1; k <= 3; k++) {
        hints[nh++] = last_base + k * GA_ARENA_SIZE;
        if (last_base > k * GA_ARENA_SIZE) hints[nh++] = last_base - k * GA_ARENA_SIZE;
      }
    }
    void *probe = ga_os_reserve(size, 4096);
    if (probe) {
      ga_os_release(probe, size);
      uintptr_t b = (uintptr_t)probe & ~(uintptr_t)(GA_ARENA_SIZE - 1);
      if (b) hints[nh++] = b;
      hints[nh++] = b + GA_ARENA_SIZE;
    }
    for (size_t i = 0; i < nh; i++) {
      if (ga_arena_of(hints[i])) continue;
      char *mem = ga_os_reserve_at((void *)hints[i], size);
      if (!mem) continue;
      return create_at(mem, 1, false, size); /* unmaps mem itself on failure */
    }
  }
  return NULL;
}

uintptr_t ga_arena_lo = UINTPTR_MAX, ga_arena_hi;
uint32_t ga_gc_mark_cycle;

static ga_arena_t *create_at(char *mem, size_t n, bool huge, size_t mapped) {
  if ((uintptr_t)mem + n * GA_ARENA_SIZE > ((uintptr_t)1 << GA_ADDR_BITS)) {
    ga_os_release(mem, mapped);
    return NULL;
  }
  ga_arena_t *first = NULL;
  for (size_t k = 0; k < n; k++) {
    uintptr_t base = (uintptr_t)mem + k * GA_ARENA_SIZE;
    ga_arena_t *a = ga_os_reserve(meta_size(), 4096);
    if (!a || !index_ensure((base >> GA_ARENA_SHIFT) >> GA_ARENA_L2_BITS)) {
      /* Unwind what was registered: the OS said no. */
      for (size_t j = 0; j < k; j++) {
        uintptr_t b = (uintptr_t)mem + j * GA_ARENA_SIZE;
        ga_arena_t *o = ga_arena_of(b);
        index_set(b, NULL);
        ga_os_release(o, meta_size());
      }
      if (a) ga_os_release(a, meta_size());
      ga_os_release(mem, mapped);
      return NULL;
    }
    a->base = base;
    a->huge = huge;
    a->usable_pages = mapped >= GA_ARENA_SIZE ? GA_PAGES_PER_ARENA : mapped / GA_PAGE_SIZE;
    a->ngroup = k == 0 ? n : 0;
    /* Fresh pages have never been touched: they count as scavenged (zero,
     * not resident), so calloc need not clear them. */
    for (size_t w = 0; w < GA_ARENA_WORDS; w++) a->page_scav[w] = ~(uint64_t)0;
    for (size_t c = 0; c < GA_CHUNKS_PER_ARENA; c++)
      a->sum_start[c] = a->sum_max[c] = a->sum_end[c] = GA_CHUNK_PAGES;
    a->max_free = GA_PAGES_PER_ARENA;
    index_set(base, a);
    if (!first) first = a;
  }
  __atomic_fetch_add(&ga_metadata_mapped, n * meta_size(), __ATOMIC_RELAXED);
  ga_arenas_reserved += n;
  last_base = first->base;
  /* Bounds of every address that ever was in an arena: the collector's
   * first filter for candidate pointers (only grows; heap lock). */
  if ((uintptr_t)mem < ga_arena_lo) ga_arena_lo = (uintptr_t)mem;
  if ((uintptr_t)mem + n * GA_ARENA_SIZE > ga_arena_hi) ga_arena_hi = (uintptr_t)mem + n * GA_ARENA_SIZE;
  return first;
}

void ga_arena_destroy_huge(ga_arena_t *first) {
  size_t n = first->ngroup;
  uintptr_t base = first->base;
  for (size_t k = 0; k < n; k++) {
    uintptr_t b = base + k * GA_ARENA_SIZE;
    ga_arena_t *a = ga_arena_of(b);
    index_set(b, NULL);
    ga_os_release(a, meta_size());
  }
  ga_os_release((void *)base, n * GA_ARENA_SIZE);
  __atomic_fetch_sub(&ga_metadata_mapped, n * meta_size(), __ATOMIC_RELAXED);
  ga_arenas_reserved -= n;
}

/* Large spans cover up to 8192 pages: stores of 4 entries at a time (GCC's
 * vector extension; two SSE stores on x86-64), not one atomic store per
 * entry. free() reads the entries with plain loads: a pointer into a span
 * reaches another thread only through the program's own synchronisation,
 * which orders these stores before that thread's lookup. */
typedef uintptr_t spans4_t
    __attribute__((vector_size(4 * sizeof(uintptr_t)), aligned(sizeof(uintptr_t)), may_alias));

static void fill_spans(struct ga_span **e, size_t n, struct ga_span *s) {
  uintptr_t v = (uintptr_t)s;
  spans4_t v4 = {v, v, v, v};
  size_t i = 0;
  for (; i + 4 <= n; i += 4) *(spans4_t *)(void *)&e[i] = v4;
  for (; i < n; i++) e[i] = s;
}

void ga_arena_set_spans(uintptr_t base, size_t npages, struct ga_span *s) {
  uintptr_t p = base;
  while (npages) {
    ga_arena_t *a = ga_arena_of(p);
    size_t first = (p >> GA_PAGE_SHIFT) & (GA_PAGES_PER_ARENA - 1);
    size_t k = GA_PAGES_PER_ARENA - first;
    if (k > npages) k = npages;
    fill_spans(&a->spans[first], k, s);
    npages -= k;
    p += k * GA_PAGE_SIZE;
  }
}
