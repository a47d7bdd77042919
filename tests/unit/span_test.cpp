// Span allocation bitmaps (span.h): nelems, the free-slot search
// (Go's nextFreeIndex / allocCache), rescans, and object indexes.
#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "unit_util.h"

namespace {

using unit::kPage;

class Span : public ::testing::Test {
 protected:
  void SetUp() override { unit::no_scavenger(); }
};

// A span of class c straight from the heap; nobody owns it.
ga_span_t *new_span(unsigned c) {
  ga_span_t *s = ga_heap_alloc_span(ga_class_npages[c], 1, ga_spanclass(c, 1));
  EXPECT_NE(s, nullptr) << "class " << c;
  return s;
}

void clear_slot(ga_span_t *s, uint32_t idx) {
  ASSERT_TRUE(ga_span_is_allocated(s, idx)) << idx;
  s->allocBits[idx >> 6] &= ~((uint64_t)1 << (idx & 63));
  s->allocCount--;
}

TEST_F(Span, InitSmall) {
  for (unsigned c = 1; c < GA_NUM_SIZE_CLASSES; c++) {
    SCOPED_TRACE("class " + std::to_string(c));
    ga_span_t *s = new_span(c);
    ASSERT_NE(s, nullptr);
    // Initialised by the heap already; doing it again gives the same state.
    ga_span_init_small(s, ga_spanclass(c, 1));
    size_t npages = ga_class_npages[c];
    EXPECT_EQ(s->npages, npages);
    EXPECT_EQ(s->nelems, npages * kPage / ga_class_size[c]);
    EXPECT_EQ(s->elemsize, ga_class_size[c]);
    EXPECT_EQ(s->divmul, ga_class_divmul(c));
    EXPECT_EQ(s->spanclass, ga_spanclass(c, 1));
    EXPECT_EQ(s->tiny, 0);
    EXPECT_EQ(s->freeindex, 0u);
    EXPECT_EQ(s->allocCount, 0u);
    EXPECT_EQ(s->base % kPage, 0u);
    for (uint32_t i = 0; i < s->nelems; i++) ASSERT_FALSE(ga_span_is_allocated(s, i)) << i;
    ga_heap_free_span(s);
  }
  // The scan class bit is kept.
  ga_span_t *s = ga_heap_alloc_span(1, 1, ga_spanclass(6, 0));
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->spanclass, ga_spanclass(6, 0));
  EXPECT_EQ(s->nelems, kPage / 64);
  ga_heap_free_span(s);
  // Tiny blocks: 16-byte slots in spans of their own.
  s = ga_heap_alloc_span(1, 1, GA_TINY_SPAN_CLASS);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->tiny, 1);
  EXPECT_EQ(s->elemsize, 16u);
  EXPECT_EQ(s->nelems, kPage / 16);
  EXPECT_NE(s->tinyref, nullptr);
  ga_heap_free_span(s);
}

TEST_F(Span, HandsOutEverySlotInOrder) {
  for (unsigned c = 1; c < GA_NUM_SIZE_CLASSES; c++) {
    SCOPED_TRACE("class " + std::to_string(c));
    ga_span_t *s = new_span(c);
    ASSERT_NE(s, nullptr);
    for (uint32_t want = 0; want < s->nelems; want++) {
      uint32_t idx = ga_span_next_free_index(s);
      ASSERT_EQ(idx, want);
      uintptr_t p = ga_span_take_slot(s, idx);
      ASSERT_EQ(p, s->base + (uintptr_t)want * s->elemsize);
      ASSERT_TRUE(ga_span_is_allocated(s, idx));
    }
    EXPECT_EQ(s->allocCount, s->nelems);
    // Full: nelems, and again (it never wanders past the end).
    EXPECT_EQ(ga_span_next_free_index(s), s->nelems);
    EXPECT_EQ(ga_span_next_free_index(s), s->nelems);
    // Even after a rescan, nothing is free.
    ga_span_rescan(s);
    EXPECT_EQ(ga_span_next_free_index(s), s->nelems);
    ga_heap_free_span(s);
  }
}

TEST_F(Span, RescanFindsExactlyTheClearedSlots) {
  for (unsigned c = 1; c < GA_NUM_SIZE_CLASSES; c++) {
    SCOPED_TRACE("class " + std::to_string(c));
    ga_span_t *s = new_span(c);
    ASSERT_NE(s, nullptr);
    uint32_t n = s->nelems;
    for (uint32_t i = 0; i < n; i++) ga_span_take_slot(s, ga_span_next_free_index(s));
    ASSERT_EQ(ga_span_next_free_index(s), n);
    // Clear a pattern that hits word edges: first, last, 63/64, every 7th.
    std::set<uint32_t> cleared;
    for (uint32_t i : {0u, n - 1, 63u, 64u, 127u, 128u, 1023u})
      if (i < n) cleared.insert(i);
    for (uint32_t i = 5; i < n; i += 7) cleared.insert(i);
    for (uint32_t i : cleared) clear_slot(s, i);
    EXPECT_EQ(s->allocCount, n - cleared.size());
    // Before the rescan the search is at the end: nothing.
    EXPECT_EQ(ga_span_next_free_index(s), n);
    ga_span_rescan(s);
    std::vector<uint32_t> got;
    for (;;) {
      uint32_t idx = ga_span_next_free_index(s);
      if (idx == n) break;
      ASSERT_LT(idx, n);
      ASSERT_LE(got.size(), cleared.size()) << "more slots than were cleared";
      got.push_back(idx);
      ga_span_take_slot(s, idx);
    }
    EXPECT_EQ(got, std::vector<uint32_t>(cleared.begin(), cleared.end()));
    EXPECT_EQ(s->allocCount, n);
    ga_heap_free_span(s);
  }
}

TEST_F(Span, SlotsPastNelemsNeverReturned) {
  // Classes whose nelems is not a multiple of 64 leave bits past the end in
  // the last word; they must read as allocated and never be handed out.
  for (unsigned c = 1; c < GA_NUM_SIZE_CLASSES; c++) {
    ga_span_t *s = new_span(c);
    ASSERT_NE(s, nullptr);
    for (uint32_t i = s->nelems; i < GA_MAX_OBJS_PER_SPAN; i++)
      EXPECT_TRUE(ga_span_is_allocated(s, i)) << "class " << c << " slot " << i;
    uint32_t count = 0;
    for (;;) {
      uint32_t idx = ga_span_next_free_index(s);
      if (idx >= s->nelems) {
        EXPECT_EQ(idx, s->nelems);
        break;
      }
      ga_span_take_slot(s, idx);
      count++;
      ASSERT_LE(count, s->nelems) << "class " << c;
    }
    EXPECT_EQ(count, s->nelems) << "class " << c;
    // Also from a half-used span, searching from the middle of a word.
    ga_span_rescan(s);
    for (uint32_t i = s->nelems / 2; i < s->nelems; i++) clear_slot(s, i);
    s->freeindex = s->nelems / 2;
    ga_span_refill_alloc_cache(s, s->freeindex / 64);
    s->allocCache >>= s->freeindex % 64;
    for (uint32_t i = s->nelems / 2; i < s->nelems; i++) {
      uint32_t idx = ga_span_next_free_index(s);
      ASSERT_EQ(idx, i) << "class " << c;
      ga_span_take_slot(s, idx);
    }
    EXPECT_EQ(ga_span_next_free_index(s), s->nelems) << "class " << c;
    ga_heap_free_span(s);
  }
}

// malloc's fast path (malloc.c small_alloc) takes ctz(allocCache) with no
// bound or word-edge check, relying on the bits past nelems being set; the
// slow path is ga_span_next_free_index. Emulated here over every class with
// random frees and rescans: every slot handed out is free and < nelems, and
// the span fills up exactly.
TEST_F(Span, FastPathNeverPassesNelems) {
  uint64_t seed = 88172645463325252ull;
  auto rnd = [&seed](uint64_t n) {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return seed % n;
  };
  for (unsigned c = 1; c < GA_NUM_SIZE_CLASSES; c++) {
    SCOPED_TRACE("class " + std::to_string(c));
    ga_span_t *s = new_span(c);
    ASSERT_NE(s, nullptr);
    auto take = [&]() -> long {
      uint64_t cache = s->allocCache;
      uint32_t idx;
      if (cache) {
        unsigned bit = (unsigned)__builtin_ctzll(cache);
        idx = s->freeindex + bit;
        s->allocCache = cache >> bit >> 1;
        s->freeindex = idx + 1;
      } else {
        idx = ga_span_next_free_index(s);
        if (idx == s->nelems) return -1;
      }
      EXPECT_LT(idx, s->nelems);
      EXPECT_FALSE(ga_span_is_allocated(s, idx)) << "slot " << idx << " handed out twice";
      if (idx >= s->nelems || ga_span_is_allocated(s, idx)) return -2;
      ga_span_take_slot(s, idx);
      return idx;
    };
    for (int round = 0; round < 4; round++) {
      uint32_t got = 0;
      long r;
      while ((r = take()) >= 0) got++;
      ASSERT_EQ(r, -1);
      EXPECT_EQ(s->allocCount, s->nelems);
      EXPECT_EQ(got, round == 0 ? s->nelems : got);
      // Free a random subset and rescan, as the cache does.
      uint32_t freed = 0;
      for (uint32_t i = 0; i < s->nelems; i++)
        if (rnd(3) == 0) {
          clear_slot(s, i);
          freed++;
        }
      ga_span_rescan(s);
      got = 0;
      while ((r = take()) >= 0) got++;
      ASSERT_EQ(r, -1);
      EXPECT_EQ(got, freed);
      ga_span_rescan(s);
      for (uint32_t i = 0; i < s->nelems; i++) clear_slot(s, i);
      ga_span_rescan(s);
    }
    ga_heap_free_span(s);
  }
}

TEST_F(Span, ObjectIndex) {
  for (unsigned c = 1; c < GA_NUM_SIZE_CLASSES; c++) {
    SCOPED_TRACE("class " + std::to_string(c));
    ga_span_t *s = new_span(c);
    ASSERT_NE(s, nullptr);
    uintptr_t b = s->base;
    uint32_t size = s->elemsize;
    for (uint32_t i = 0; i < s->nelems; i++) {
      uintptr_t p = b + (uintptr_t)i * size;
      ASSERT_EQ(ga_span_object_index(s, p), (long)i);
      // Interior pointers.
      ASSERT_EQ(ga_span_object_index(s, p + 1), -1);
      ASSERT_EQ(ga_span_object_index(s, p + size / 2), -1);
      ASSERT_EQ(ga_span_object_index(s, p + size - 1), -1);
    }
    // The tail waste after the last object, and the span's end.
    uintptr_t end = b + s->npages * kPage;
    for (uintptr_t p = b + (uintptr_t)s->nelems * size; p < end; p++)
      ASSERT_EQ(ga_span_object_index(s, p), -1) << "tail offset " << p - b;
    EXPECT_EQ(ga_span_object_index(s, end), -1);
    EXPECT_EQ(ga_span_object_index(s, b - 1), -1);
    EXPECT_EQ(ga_span_object_index(s, b - size), -1);
    ga_heap_free_span(s);
  }
}

TEST_F(Span, SpanLists) {
  ga_span_t *a = new_span(5), *b = new_span(5), *c = new_span(5);
  ASSERT_TRUE(a && b && c);
  ga_span_list_t l = {nullptr, 0};
  ga_span_list_push(&l, a, GA_LIST_PARTIAL);
  ga_span_list_push(&l, b, GA_LIST_PARTIAL);
  ga_span_list_push(&l, c, GA_LIST_PARTIAL);
  EXPECT_EQ(l.n, 3u);
  EXPECT_EQ(l.first, c);
  EXPECT_EQ(b->list, GA_LIST_PARTIAL);
  ga_span_list_remove(&l, b);
  EXPECT_EQ(l.n, 2u);
  EXPECT_EQ(b->list, GA_LIST_NONE);
  EXPECT_EQ(c->next, a);
  EXPECT_EQ(a->prev, c);
  EXPECT_EQ(ga_span_list_pop(&l), c);
  EXPECT_EQ(ga_span_list_pop(&l), a);
  EXPECT_EQ(ga_span_list_pop(&l), nullptr);
  EXPECT_EQ(l.n, 0u);
  for (ga_span_t *s : {a, b, c}) ga_heap_free_span(s);
}

}  // namespace
