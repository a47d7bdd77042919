// The arena index (arena.h): ga_arena_of / ga_span_of for every kind of
// address.
#include <gtest/gtest.h>

#include <sys/mman.h>

#include "unit_util.h"

namespace {

using unit::kPage;

class ArenaIndex : public ::testing::Test {
 protected:
  void SetUp() override { unit::no_scavenger(); }
};

TEST_F(ArenaIndex, AddressesInsideSpans) {
  ga_span_t *s = ga_heap_alloc_span(3, 1, 0);
  ASSERT_NE(s, nullptr);
  uintptr_t b = s->base;
  EXPECT_EQ(b % kPage, 0u);
  ga_arena_t *a = ga_arena_of(b);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->base, b & ~(uintptr_t)(GA_ARENA_SIZE - 1));
  EXPECT_FALSE(a->huge);
  // Every byte of every page maps to the span; probe the edges of each page.
  for (size_t pg = 0; pg < 3; pg++) {
    uintptr_t p = b + pg * kPage;
    EXPECT_EQ(ga_span_of(p), s) << "page " << pg;
    EXPECT_EQ(ga_span_of(p + 1), s);
    EXPECT_EQ(ga_span_of(p + kPage / 2), s);
    EXPECT_EQ(ga_span_of(p + kPage - 1), s);
    EXPECT_EQ(ga_arena_of(p + kPage - 1), a);
  }
  // page_inuse marks the first page only.
  size_t first = (b >> GA_PAGE_SHIFT) & (GA_PAGES_PER_ARENA - 1);
  EXPECT_TRUE(a->page_inuse[first / 64] >> (first % 64) & 1);
  size_t second = first + 1;
  EXPECT_FALSE(a->page_inuse[second / 64] >> (second % 64) & 1);
  ga_heap_free_span(s);
}

TEST_F(ArenaIndex, SpanBoundariesAndFreePages) {
  ga_span_t *x = ga_heap_alloc_span(2, 1, 0);
  ga_span_t *y = ga_heap_alloc_span(2, 1, 0);
  ga_span_t *z = ga_heap_alloc_span(2, 1, 0);
  ASSERT_TRUE(x && y && z);
  // First fit on a fresh heap: three neighbours.
  ASSERT_EQ(y->base, x->base + 2 * kPage);
  ASSERT_EQ(z->base, y->base + 2 * kPage);
  // Last byte of one span / first byte of the next.
  EXPECT_EQ(ga_span_of(y->base - 1), x);
  EXPECT_EQ(ga_span_of(y->base), y);
  EXPECT_EQ(ga_span_of(z->base - 1), y);
  EXPECT_EQ(ga_span_of(z->base), z);
  EXPECT_EQ(ga_span_of(z->base + 2 * kPage - 1), z);

  // Free the middle one: its pages map to nothing, the neighbours are intact.
  uintptr_t yb = y->base;
  ga_heap_free_span(y);
  EXPECT_EQ(ga_span_of(yb), nullptr);
  EXPECT_EQ(ga_span_of(yb + kPage), nullptr);
  EXPECT_EQ(ga_span_of(yb + 2 * kPage - 1), nullptr);
  EXPECT_NE(ga_arena_of(yb), nullptr);  // the arena is still there
  EXPECT_EQ(ga_span_of(yb - 1), x);
  EXPECT_EQ(ga_span_of(yb + 2 * kPage), z);
  size_t pg = (yb >> GA_PAGE_SHIFT) & (GA_PAGES_PER_ARENA - 1);
  EXPECT_FALSE(ga_arena_of(yb)->page_inuse[pg / 64] >> (pg % 64) & 1);

  uintptr_t xb = x->base, zb = z->base;
  ga_heap_free_span(x);
  ga_heap_free_span(z);
  EXPECT_EQ(ga_span_of(xb), nullptr);
  EXPECT_EQ(ga_span_of(zb), nullptr);
}

TEST_F(ArenaIndex, NeverTouchedPagesOfAnArena) {
  ga_span_t *s = ga_heap_alloc_span(1, 1, 0);
  ASSERT_NE(s, nullptr);
  ga_arena_t *a = ga_arena_of(s->base);
  ASSERT_NE(a, nullptr);
  // The arena's last page: nothing on a fresh heap has come near it.
  uintptr_t last = a->base + GA_ARENA_SIZE - kPage;
  EXPECT_EQ(ga_arena_of(last), a);
  EXPECT_EQ(ga_span_of(last), nullptr);
  EXPECT_EQ(ga_span_of(a->base + GA_ARENA_SIZE - 1), nullptr);
  ga_heap_free_span(s);
}

int a_global;

TEST_F(ArenaIndex, OutsideAnyArena) {
  int local = 0;
  EXPECT_EQ(ga_arena_of(unit::addr(&local)), nullptr);
  EXPECT_EQ(ga_span_of(unit::addr(&local)), nullptr);
  EXPECT_EQ(ga_arena_of(unit::addr(&a_global)), nullptr);
  EXPECT_EQ(ga_span_of(unit::addr(&a_global)), nullptr);
  EXPECT_EQ(ga_span_of(reinterpret_cast<uintptr_t>(&ga_arena_of)), nullptr);
  EXPECT_EQ(ga_span_of(0), nullptr);
  EXPECT_EQ(ga_span_of(1), nullptr);
  EXPECT_EQ(ga_span_of(4096), nullptr);
  void *m = mmap(nullptr, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(m, MAP_FAILED);
  EXPECT_EQ(ga_arena_of(unit::addr(m)), nullptr);
  EXPECT_EQ(ga_span_of(unit::addr(m) + 12345), nullptr);
  munmap(m, 1 << 20);
  // Next to a real arena: the 64 MiB below and above it (not goalloc's on a
  // fresh heap, unless it happened to place another arena there).
  ga_span_t *s = ga_heap_alloc_span(1, 1, 0);
  ASSERT_NE(s, nullptr);
  ga_arena_t *a = ga_arena_of(s->base);
  for (uintptr_t p : {a->base - 1, a->base + GA_ARENA_SIZE}) {
    ga_arena_t *o = ga_arena_of(p);
    if (o) {
      EXPECT_NE(o, a);
      EXPECT_EQ(o->base, p & ~(uintptr_t)(GA_ARENA_SIZE - 1));
    }
  }
  ga_heap_free_span(s);
}

TEST_F(ArenaIndex, AddressesAbove47Bits) {
  // Make sure the index exists, so the lookups go past the NULL-table check.
  ga_span_t *s = ga_heap_alloc_span(1, 1, 0);
  ASSERT_NE(s, nullptr);
  ASSERT_NE(ga_arena_l1[0], nullptr);
  const uintptr_t top = (uintptr_t)1 << GA_ADDR_BITS;
  for (uintptr_t p : {top, top + 1, top + GA_ARENA_SIZE, top | (s->base), top - 1 + top,
                      (uintptr_t)1 << 48, (uintptr_t)1 << 56, (uintptr_t)0xffff800000000000ull,
                      (uintptr_t)0xffffffffff600000ull, ~(uintptr_t)0, ~(uintptr_t)0 - kPage}) {
    EXPECT_EQ(ga_arena_of(p), nullptr) << std::hex << p;
    EXPECT_EQ(ga_span_of(p), nullptr) << std::hex << p;
  }
  // Just below 2^47: inside the index, nothing there.
  EXPECT_EQ(ga_span_of(top - 1), nullptr);
  ga_heap_free_span(s);
}

TEST_F(ArenaIndex, SpansOfMallocedObjects) {
  // Through the public path: every object's address and last byte map to
  // the span it came from, whose class fits the request.
  for (size_t size : {16, 100, 1000, 4000, 20000, 32768, 32769, 100000}) {
    char *p = static_cast<char *>(goalloc_malloc(size));
    ASSERT_NE(p, nullptr);
    ga_span_t *s = ga_span_of(unit::addr(p));
    ASSERT_NE(s, nullptr) << size;
    EXPECT_EQ(ga_span_of(unit::addr(p) + size - 1), s) << size;
    EXPECT_EQ(s->state, GA_SPAN_INUSE);
    EXPECT_GE(unit::addr(p), s->base);
    EXPECT_LE(unit::addr(p) + size, s->base + s->npages * kPage);
    if (size <= GA_MAX_SMALL_SIZE) {
      // A size class that fits (malloc may round small sizes up further
      // than Go's table for alignment).
      EXPECT_GE(s->elemsize, size);
      EXPECT_EQ(ga_class_size[ga_size_to_class(s->elemsize)], s->elemsize) << size;
    } else {
      EXPECT_EQ(s->spanclass, 0) << size;
    }
    goalloc_free(p);
  }
}

}  // namespace
