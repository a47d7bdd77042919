// Large objects (large.h): class-0 spans of whole pages, and huge arena
// groups for requests over one arena.
#include <gtest/gtest.h>

#include <cstring>

#include "unit_util.h"

namespace {

using unit::addr;
using unit::kPage;

class Large : public ::testing::Test {
 protected:
  void SetUp() override { unit::no_scavenger(); }
};

TEST_F(Large, FortyThousandBytes) {
  uint64_t inuse = ga_pages_stats.inuse_pages;
  uint64_t nlarge = ga_heap_stats.large_objects;
  void *p = goalloc_malloc(40000);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(addr(p) % kPage, 0u) << "large objects start on a page";
  ga_span_t *s = ga_span_of(addr(p));
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->spanclass, 0);
  EXPECT_EQ(s->tiny, 0);
  EXPECT_EQ(s->npages, 5u);  // ceil(40000 / 8192)
  EXPECT_EQ(s->base, addr(p));
  EXPECT_EQ(s->state, GA_SPAN_INUSE);
  EXPECT_EQ(s->fastowner, nullptr) << "free() must not take the small-object fast path";
  EXPECT_EQ(ga_span_of(addr(p) + 5 * kPage - 1), s);
  EXPECT_EQ(goalloc_usable_size(p), 5 * kPage);
  EXPECT_EQ(ga_large_usable(s), 5 * kPage);
  EXPECT_EQ(ga_pages_stats.inuse_pages, inuse + 5);
  EXPECT_EQ(ga_heap_stats.large_objects, nlarge + 1);
  memset(p, 0xab, 5 * kPage);  // the whole usable size is ours

  goalloc_free(p);
  EXPECT_EQ(ga_span_of(addr(p)), nullptr) << "the pages went back to the heap";
  EXPECT_EQ(ga_span_of(addr(p) + 5 * kPage - 1), nullptr);
  EXPECT_NE(ga_arena_of(addr(p)), nullptr) << "the arena stays";
  EXPECT_EQ(ga_pages_stats.inuse_pages, inuse);
  EXPECT_EQ(ga_heap_stats.large_objects, nlarge);
  // First fit gives the same pages to the next request of that size.
  void *q = goalloc_malloc(40000);
  EXPECT_EQ(q, p);
  goalloc_free(q);
}

TEST_F(Large, SizesAroundTheSmallLimit) {
  struct {
    size_t size, npages;
  } cases[] = {{32769, 5}, {40960, 5}, {40961, 6}, {65536, 8}, {1 << 20, 128},
               {(64 << 20) - 1, 8192}};
  for (auto &c : cases) {
    void *p = goalloc_malloc(c.size);
    ASSERT_NE(p, nullptr) << c.size;
    ga_span_t *s = ga_span_of(addr(p));
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->spanclass, 0) << c.size;
    EXPECT_EQ(s->npages, c.npages) << c.size;
    EXPECT_EQ(goalloc_usable_size(p), c.npages * kPage) << c.size;
    static_cast<char *>(p)[0] = 1;
    static_cast<char *>(p)[c.size - 1] = 1;
    goalloc_free(p);
    EXPECT_EQ(ga_span_of(addr(p)), nullptr) << c.size;
  }
  // 32 KiB itself is still a small object.
  void *p = goalloc_malloc(32768);
  ga_span_t *s = ga_span_of(addr(p));
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->elemsize, 32768u);
  EXPECT_NE(s->spanclass, 0);
  goalloc_free(p);
}

TEST_F(Large, HundredMiB) {
  const size_t size = 100 << 20;
  const size_t npages = size / kPage;  // 12800: more than one arena
  uint64_t arenas = ga_arenas_reserved;
  uint64_t huge = ga_heap_stats.huge_pages;
  uint64_t total = ga_pages_stats.total_pages;
  char *p = static_cast<char *>(goalloc_malloc(size));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(addr(p) % GA_ARENA_SIZE, 0u) << "a huge group starts its first arena";
  ga_arena_t *a = ga_arena_of(addr(p));
  ASSERT_NE(a, nullptr);
  EXPECT_TRUE(a->huge);
  EXPECT_EQ(a->ngroup, 2u);
  ga_arena_t *a2 = ga_arena_of(addr(p) + GA_ARENA_SIZE);
  ASSERT_NE(a2, nullptr);
  EXPECT_TRUE(a2->huge);
  EXPECT_EQ(ga_arenas_reserved, arenas + 2);
  EXPECT_EQ(ga_pages_stats.total_pages, total) << "huge groups are outside the page allocator";
  EXPECT_EQ(ga_heap_stats.huge_pages, huge + npages);
  ga_span_t *s = ga_span_of(addr(p));
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->spanclass, 0);
  EXPECT_EQ(s->npages, npages);
  EXPECT_EQ(ga_span_of(addr(p) + size - 1), s) << "the second arena's pages map to it too";
  EXPECT_EQ(ga_span_of(addr(p) + GA_ARENA_SIZE), s);
  EXPECT_EQ(ga_span_of(addr(p) + size), nullptr) << "past the object, in the group's tail";
  EXPECT_EQ(goalloc_usable_size(p), size);
  // Writable at both ends and across the arena boundary.
  p[0] = 1;
  p[size - 1] = 2;
  p[GA_ARENA_SIZE - 1] = 3;
  p[GA_ARENA_SIZE] = 4;
  EXPECT_EQ(p[0] + p[size - 1] + p[GA_ARENA_SIZE - 1] + p[GA_ARENA_SIZE], 10);

  goalloc_free(p);
  EXPECT_EQ(ga_arena_of(addr(p)), nullptr) << "the group was unmapped";
  EXPECT_EQ(ga_arena_of(addr(p) + GA_ARENA_SIZE), nullptr);
  EXPECT_EQ(ga_span_of(addr(p) + size - 1), nullptr);
  EXPECT_EQ(ga_arenas_reserved, arenas);
  EXPECT_EQ(ga_heap_stats.huge_pages, huge);
}

TEST_F(Large, CallocOfFreedPagesIsZero) {
  // Pages freed by a large object and reused by calloc must read as zero.
  const size_t size = 200000;
  char *p = static_cast<char *>(goalloc_malloc(size));
  ASSERT_NE(p, nullptr);
  memset(p, 0x5a, size);
  goalloc_free(p);
  char *q = static_cast<char *>(goalloc_calloc(1, size));
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q, p) << "first fit reuses the pages";
  size_t nonzero = 0;
  for (size_t i = 0; i < size; i++) nonzero += q[i] != 0;
  EXPECT_EQ(nonzero, 0u);
  goalloc_free(q);
}

TEST_F(Large, AlignedLarge) {
  for (size_t align : {kPage * 2, kPage * 16, (size_t)1 << 20}) {
    void *p = nullptr;
    ASSERT_EQ(goalloc_posix_memalign(&p, align, 40000), 0);
    EXPECT_EQ(addr(p) % align, 0u) << align;
    ga_span_t *s = ga_span_of(addr(p));
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->spanclass, 0);
    EXPECT_EQ(s->base, addr(p));
    goalloc_free(p);
    EXPECT_EQ(ga_span_of(addr(p)), nullptr);
  }
}

using LargeDeathTest = Large;

TEST_F(Large, ReallocInPlace) {
  // Two neighbours: freeing the second lets the first grow into its pages.
  char *a = static_cast<char *>(goalloc_malloc(64 * 1024));
  char *b = static_cast<char *>(goalloc_malloc(64 * 1024));
  ASSERT_TRUE(a && b);
  for (size_t i = 0; i < 64 * 1024; i += 512) a[i] = (char)(i >> 9);
  bool adjacent = addr(b) == addr(a) + 64 * 1024;
  goalloc_free(b);
  char *g = static_cast<char *>(goalloc_realloc(a, 128 * 1024));
  ASSERT_NE(g, nullptr);
  if (adjacent) {
    EXPECT_EQ(g, a) << "the pages after the block were free: it must grow in place";
    EXPECT_EQ(ga_span_of(addr(g))->npages, 16u);
    EXPECT_EQ(ga_span_of(addr(g) + 100 * 1024), ga_span_of(addr(g)));
  }
  for (size_t i = 0; i < 64 * 1024; i += 512) ASSERT_EQ(g[i], (char)(i >> 9));
  g[128 * 1024 - 1] = 1;
  // Shrinking to under half keeps the block and gives the tail back.
  char *s = static_cast<char *>(goalloc_realloc(g, 40000));
  ASSERT_EQ(s, g);
  EXPECT_EQ(ga_span_of(addr(s))->npages, 5u);
  EXPECT_EQ(goalloc_usable_size(s), 5u * 8192);
  EXPECT_EQ(ga_span_of(addr(s) + 5 * 8192), nullptr) << "the tail went back to the heap";
  for (size_t i = 0; i < 40000; i += 512) ASSERT_EQ(s[i], (char)(i >> 9));
  goalloc_free(s);
}

TEST_F(Large, AlignmentAboveAnArena) {
  // Over 64 MiB the arena group's reservation itself is aligned.
  void *p = nullptr;
  ASSERT_EQ(goalloc_posix_memalign(&p, (size_t)256 << 20, 1000), 0);
  EXPECT_EQ(addr(p) % ((size_t)256 << 20), 0u);
  static_cast<char *>(p)[999] = 1;
  EXPECT_GE(goalloc_usable_size(p), 1000u);
  goalloc_free(p);
  EXPECT_EQ(ga_arena_of(addr(p)), nullptr) << "the group is unmapped on free";
}

TEST_F(LargeDeathTest, InteriorPointer) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        char *p = static_cast<char *>(goalloc_malloc(40000));
        goalloc_free(p + kPage);
      },
      "goalloc: free\\(0x[0-9a-f]+\\): invalid pointer");
}

TEST_F(LargeDeathTest, DoubleFree) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        void *p = goalloc_malloc(40000);
        goalloc_free(p);
        goalloc_free(p);
      },
      "goalloc: free\\(0x[0-9a-f]+\\): double free");
}

TEST_F(LargeDeathTest, DoubleFreeHuge) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  // The group is unmapped: its address is no longer goalloc's at all.
  EXPECT_DEATH(
      {
        void *p = goalloc_malloc(100 << 20);
        goalloc_free(p);
        goalloc_free(p);
      },
      "goalloc: free\\(0x[0-9a-f]+\\): (double free|invalid pointer)");
}

TEST_F(LargeDeathTest, AddressAbove47BitsAliasingAnArena) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  // free()'s fast lookup ignores the bits above 47: the address below wraps
  // onto a live span and must still be refused, not freed.
  EXPECT_DEATH(
      {
        void *p = goalloc_malloc(40000);
        goalloc_free(reinterpret_cast<void *>(addr(p) + ((uintptr_t)1 << GA_ADDR_BITS)));
      },
      "goalloc: free\\(0x[0-9a-f]+\\): invalid pointer");
  EXPECT_DEATH(
      {
        void *p = goalloc_malloc(64);
        goalloc_free(reinterpret_cast<void *>(addr(p) + ((uintptr_t)1 << GA_ADDR_BITS)));
      },
      "goalloc: free\\(0x[0-9a-f]+\\): invalid pointer");
  EXPECT_DEATH(
      {
        void *p = goalloc_malloc(4);  // tiny
        goalloc_free(reinterpret_cast<void *>(addr(p) + ((uintptr_t)1 << GA_ADDR_BITS)));
      },
      "goalloc: free\\(0x[0-9a-f]+\\): invalid pointer");
}

}  // namespace
