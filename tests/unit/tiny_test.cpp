// The tiny allocator (tiny.h) through goalloc_malloc: alignment, packing,
// usable sizes, block reuse and double-free detection.
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "unit_util.h"

namespace {

using unit::addr;

class Tiny : public ::testing::Test {
 protected:
  void SetUp() override {
    unit::no_scavenger();
    ASSERT_EQ(ga_option(GA_OPT_TINY), 1) << "tiny allocator off in this environment";
  }
};

struct Obj {
  uintptr_t p;
  size_t size;
};

ga_span_t *tiny_span_of(uintptr_t p) {
  ga_span_t *s = ga_span_of(p);
  EXPECT_NE(s, nullptr);
  if (s) { EXPECT_EQ(s->tiny, 1) << "not in a tiny span"; }
  return s;
}

bool block_allocated(uintptr_t p) {
  ga_span_t *s = ga_span_of(p);
  return ga_span_is_allocated(s, (uint32_t)(((p & ~(uintptr_t)15) - s->base) >> 4));
}

uintptr_t block_of(const void *p) { return addr(p) & ~(uintptr_t)15; }

// Leaves the cache's current block full (tinyoffset 16), so that the next
// tiny request starts a new block at offset 0 that becomes current. Returns
// the objects it allocated (to be freed by the caller).
std::vector<void *> fill_current_block() {
  std::vector<void *> ps;
  for (int i = 0; i < 3; i++) {
    void *p = goalloc_malloc(8);
    ps.push_back(p);
    if ((addr(p) & 15) == 8) return ps;
  }
  ADD_FAILURE() << "three 8-byte tiny requests never reached offset 8 of a block";
  return ps;
}

void free_all(const std::vector<void *> &ps) {
  for (void *p : ps) goalloc_free(p);
}

TEST_F(Tiny, AlignmentBySize) {
  std::vector<Obj> live;
  for (int round = 0; round < 20; round++) {
    for (size_t size = 1; size < 16; size++) {
      void *p = goalloc_malloc(size);
      ASSERT_NE(p, nullptr);
      size_t align = size % 8 == 0 ? 8 : size % 4 == 0 ? 4 : size % 2 == 0 ? 2 : 1;
      EXPECT_EQ(ga_tiny_align(size), align);
      EXPECT_EQ(addr(p) % align, 0u) << "size " << size << " at " << p;
      // An object never straddles two blocks.
      EXPECT_EQ(addr(p) >> 4, (addr(p) + size - 1) >> 4) << "size " << size;
      tiny_span_of(addr(p));
      live.push_back({addr(p), size});
    }
  }
  // No two live objects overlap.
  std::sort(live.begin(), live.end(), [](const Obj &a, const Obj &b) { return a.p < b.p; });
  for (size_t i = 1; i < live.size(); i++)
    EXPECT_LE(live[i - 1].p + live[i - 1].size, live[i].p) << "overlap";
  for (auto &o : live) goalloc_free(reinterpret_cast<void *>(o.p));
}

TEST_F(Tiny, PacksObjectsIntoBlocks) {
  for (size_t size : {1, 2, 3, 4, 5, 8}) {
    SCOPED_TRACE("size " + std::to_string(size));
    std::vector<uintptr_t> ps;
    for (int i = 0; i < 64; i++) ps.push_back(addr(goalloc_malloc(size)));
    std::map<uintptr_t, std::vector<uintptr_t>> blocks;
    for (uintptr_t p : ps) blocks[p & ~(uintptr_t)15].push_back(p);
    // 16/aligned-size objects per block; all but the first and last blocks
    // (shared with what came before and after) are full.
    size_t step = (size + ga_tiny_align(size) - 1) & ~(ga_tiny_align(size) - 1);
    size_t per_block = 16 / step;
    size_t full = 0;
    for (auto &kv : blocks) {
      EXPECT_LE(kv.second.size(), per_block);
      if (kv.second.size() == per_block) full++;
      // Consecutive requests in one block sit next to each other.
      for (size_t i = 1; i < kv.second.size(); i++)
        EXPECT_EQ(kv.second[i], kv.second[i - 1] + step);
    }
    EXPECT_GE(full, blocks.size() - 2);
    EXPECT_LE(blocks.size(), 64 / per_block + 2);
    for (uintptr_t p : ps) goalloc_free(reinterpret_cast<void *>(p));
  }
}

TEST_F(Tiny, MixedSizesShareABlock) {
  auto filler = fill_current_block();
  // A new block: 1 at 0, 2 at 2 (aligned), 4 at 4, 8 at 8: four objects.
  void *a = goalloc_malloc(1), *b = goalloc_malloc(2), *c = goalloc_malloc(4),
       *d = goalloc_malloc(8);
  uintptr_t blk = block_of(a);
  EXPECT_EQ(addr(a), blk);
  EXPECT_EQ(addr(b), blk + 2);
  EXPECT_EQ(addr(c), blk + 4);
  EXPECT_EQ(addr(d), blk + 8);
  EXPECT_EQ(ga_tls_cache->tiny, blk);
  EXPECT_EQ(ga_tls_cache->tinyoffset, 16u);
  // Full: the next one starts a new block (the alignment hole at offset 1
  // is not reused: Go's tiny allocator only bumps).
  void *e = goalloc_malloc(1);
  EXPECT_NE(block_of(e), blk);
  EXPECT_EQ(addr(e) & 15, 0u);
  // A 4-byte object after a 1-byte one is aligned up to 4.
  void *f = goalloc_malloc(4);
  EXPECT_EQ(addr(f), addr(e) + 4);
  // A 15-byte request does not fit in what is left (8); it gets its own
  // block, and the current block keeps the one with more room (Go's rule).
  void *g = goalloc_malloc(15);
  EXPECT_NE(block_of(g), block_of(e));
  EXPECT_EQ(ga_tls_cache->tiny, block_of(e)) << "8 bytes left beat 1 byte left";
  for (void *p : {a, b, c, d, e, f, g}) goalloc_free(p);
  free_all(filler);
}

TEST_F(Tiny, UsableSize) {
  std::vector<void *> ps;
  for (int round = 0; round < 10; round++) {
    for (size_t size = 1; size < 16; size++) {
      void *p = goalloc_malloc(size);
      ASSERT_NE(p, nullptr);
      ga_span_t *s = tiny_span_of(addr(p));
      size_t u = ga_tiny_usable(s, addr(p));
      EXPECT_GE(u, size) << "size " << size;
      EXPECT_LE(addr(p) % 16 + u, 16u) << "usable size runs past the block";
      EXPECT_EQ(goalloc_usable_size(p), u);
      ps.push_back(p);
    }
  }
  for (void *p : ps) goalloc_free(p);
}

TEST_F(Tiny, UsableSizeIsTheObjectsOwn) {
  // The block state records where each object ends, so the usable size is
  // the object's size, never the alignment hole after it.
  auto filler = fill_current_block();
  void *a = goalloc_malloc(3);  // offset 0
  void *b = goalloc_malloc(8);  // offset 8, after a hole of 5
  void *c = goalloc_malloc(2);  // new block, offset 0
  void *d = goalloc_malloc(2);  // offset 2
  ASSERT_EQ(block_of(a), block_of(b));
  ASSERT_EQ(addr(b), addr(a) + 8);
  ASSERT_EQ(addr(d), addr(c) + 2);
  EXPECT_EQ(goalloc_usable_size(a), 3u);
  EXPECT_EQ(goalloc_usable_size(b), 8u);
  EXPECT_EQ(goalloc_usable_size(c), 2u);
  EXPECT_EQ(goalloc_usable_size(d), 2u);
  // Freeing a neighbour does not change it.
  goalloc_free(c);
  EXPECT_EQ(goalloc_usable_size(d), 2u);
  for (void *p : {a, b, d}) goalloc_free(p);
  free_all(filler);
}

TEST_F(Tiny, FreeingAllObjectsFreesANonCurrentBlock) {
  // Fill a block with two 8-byte objects, then start the next one: the
  // first block is no longer the cache's current block.
  auto filler = fill_current_block();
  void *a = goalloc_malloc(8);
  void *b = goalloc_malloc(8);
  ASSERT_EQ(block_of(a), block_of(b));
  ASSERT_EQ(addr(b), addr(a) + 8);
  void *c = goalloc_malloc(8);  // a new current block
  ASSERT_NE(addr(c) & ~(uintptr_t)15, addr(a) & ~(uintptr_t)15);
  uintptr_t blk = addr(a) & ~(uintptr_t)15;
  ga_span_t *s = tiny_span_of(blk);
  uint32_t idx = (uint32_t)((blk - s->base) >> 4);
  ga_cache_t *cache = ga_tls_cache;
  ASSERT_NE(cache->tiny, blk) << "the block should not be current any more";
  EXPECT_EQ(*ga_tiny_ref(s, blk) & GA_TINY_HELD, 0u);
  EXPECT_TRUE(ga_span_is_allocated(s, idx));
  uint32_t count = s->allocCount;

  goalloc_free(a);
  EXPECT_TRUE(ga_span_is_allocated(s, idx)) << "b still lives in the block";
  goalloc_free(b);
  // The block's span is still in use (c keeps the current block, and the
  // current span is never returned), so its bits can be read.
  ASSERT_EQ(ga_span_of(blk), s);
  EXPECT_FALSE(ga_span_is_allocated(s, idx)) << "last object freed: the slot is free";
  EXPECT_EQ(s->allocCount, count - 1);
  EXPECT_EQ(*ga_tiny_ref(s, blk), 0u);

  // The current block is kept while it is current, even with nothing in it.
  uintptr_t cblk = addr(c) & ~(uintptr_t)15;
  ASSERT_EQ(cache->tiny, cblk);
  goalloc_free(c);
  EXPECT_TRUE(block_allocated(cblk)) << "the current block stays allocated";
  // And it is reused by the next tiny request.
  void *d = goalloc_malloc(4);
  EXPECT_EQ(addr(d) & ~(uintptr_t)15, cblk);
  goalloc_free(d);
  free_all(filler);
}

TEST_F(Tiny, BlockSlotIsReused) {
  // After its objects are freed, a block's slot can be handed out again.
  std::vector<void *> ps;
  for (int i = 0; i < 2000; i++) ps.push_back(goalloc_malloc(8));  // ~1000 blocks, >1 span
  std::vector<uintptr_t> blocks;
  for (void *p : ps) blocks.push_back(addr(p) & ~(uintptr_t)15);
  for (void *p : ps) goalloc_free(p);
  std::vector<void *> again;
  size_t reused = 0;
  std::sort(blocks.begin(), blocks.end());
  for (int i = 0; i < 2000; i++) {
    void *p = goalloc_malloc(8);
    again.push_back(p);
    reused += std::binary_search(blocks.begin(), blocks.end(), addr(p) & ~(uintptr_t)15);
  }
  EXPECT_GE(reused, 1900u) << "freed blocks were not reused";
  for (void *p : again) goalloc_free(p);
}

TEST_F(Tiny, ZeroSizeIsTiny) {
  void *p = goalloc_malloc(0);
  ASSERT_NE(p, nullptr);
  EXPECT_GE(goalloc_usable_size(p), 1u);
  tiny_span_of(addr(p));
  goalloc_free(p);
}

TEST_F(Tiny, EmptiedCurrentBlockStartsOver) {
  // The current block is full and all its objects were freed: the next
  // request starts it over instead of taking a new block.
  auto filler = fill_current_block();
  void *a = goalloc_malloc(8), *b = goalloc_malloc(8);
  uintptr_t blk = block_of(a);
  ASSERT_EQ(block_of(b), blk);
  ASSERT_EQ(ga_tls_cache->tiny, blk);
  goalloc_free(a);
  goalloc_free(b);
  EXPECT_TRUE(block_allocated(blk)) << "held by the cache";
  void *c = goalloc_malloc(4);
  EXPECT_EQ(addr(c), blk);
  EXPECT_EQ(goalloc_usable_size(c), 4u) << "old boundaries are gone";
  void *d = goalloc_malloc(4);
  EXPECT_EQ(addr(d), blk + 4);
  for (void *p : {c, d}) goalloc_free(p);
  free_all(filler);
}

// With the tiny allocator off (GOALLOC_TINY=0) requests under 16 bytes go
// to the 8 and 16-byte classes; malloc(0) must still return a unique block
// (what glibc does: programs such as ld.so and many libraries rely on it).
TEST(TinyOff, SmallRequestsUseSizeClasses) {
  ga_init();
  size_t saved = ga_tiny_limit;
  ga_tiny_limit = 0;
  void *p5 = goalloc_malloc(5), *p12 = goalloc_malloc(12);
  errno = 0;
  void *p0 = goalloc_malloc(0);
  int err0 = errno;
  void *c0 = goalloc_calloc(0, 1);
  ga_tiny_limit = saved;
  ASSERT_NE(p5, nullptr);
  ASSERT_NE(p12, nullptr);
  EXPECT_EQ(ga_span_of(addr(p5))->tiny, 0);
  EXPECT_GE(ga_span_of(addr(p5))->elemsize, 5u);
  EXPECT_LE(ga_span_of(addr(p5))->elemsize, 16u);
  EXPECT_EQ(ga_span_of(addr(p12))->elemsize, 16u);
  EXPECT_EQ(ga_span_of(addr(p12))->tiny, 0);
  EXPECT_NE(p0, nullptr) << "goalloc_malloc(0) with GOALLOC_TINY=0 failed, errno " << err0;
  EXPECT_NE(c0, nullptr) << "goalloc_calloc(0, 1) with GOALLOC_TINY=0 failed";
  if (p0) {
    EXPECT_GE(goalloc_usable_size(p0), 1u);
    EXPECT_NE(p0, c0);
  }
  for (void *p : {p5, p12, p0, c0}) goalloc_free(p);
}

const char kDoubleFree[] = "goalloc: free\\(0x[0-9a-f]+\\): double free";

TEST_F(Tiny, DoubleFreeWarns) {
  // With GOALLOC_ON_ERROR=warn the report is printed and nothing changes.
  auto filler = fill_current_block();
  long saved = ga_options[GA_OPT_ON_ERROR];
  ga_options[GA_OPT_ON_ERROR] = 1;
  void *a = goalloc_malloc(4);
  void *b = goalloc_malloc(4);
  ASSERT_EQ(block_of(a), block_of(b));
  goalloc_free(a);
  ::testing::internal::CaptureStderr();
  goalloc_free(a);
  std::string err = ::testing::internal::GetCapturedStderr();
  ga_options[GA_OPT_ON_ERROR] = saved;
  EXPECT_TRUE(std::regex_search(err, std::regex(std::string("^") + kDoubleFree + "\n$")))
      << "stderr: " << err;
  EXPECT_TRUE(block_allocated(addr(b))) << "b's block must survive the bogus free";
  EXPECT_EQ(goalloc_usable_size(b), 4u);
  goalloc_free(b);
  free_all(filler);
}

using TinyDeathTest = Tiny;

TEST_F(TinyDeathTest, DoubleFreeWhileBlockLives) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        void *a = goalloc_malloc(4);
        void *b = goalloc_malloc(4);
        (void)b;
        goalloc_free(a);
        goalloc_free(a);
      },
      kDoubleFree);
}

TEST_F(TinyDeathTest, DoubleFreeOfCurrentBlockSoleObject) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        fill_current_block();
        void *a = goalloc_malloc(5);  // alone in the (current) block
        goalloc_free(a);
        goalloc_free(a);
      },
      kDoubleFree);
}

TEST_F(TinyDeathTest, DoubleFreeAfterBlockWasFreed) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  // The block's slot went back to its span: the report still says double
  // free (possibly "or invalid pointer": the block's state is gone).
  EXPECT_DEATH(
      {
        fill_current_block();
        void *a = goalloc_malloc(8);
        void *b = goalloc_malloc(8);
        void *c = goalloc_malloc(8);  // new current block
        (void)c;
        goalloc_free(a);
        goalloc_free(b);
        goalloc_free(a);
      },
      kDoubleFree);
}

TEST_F(TinyDeathTest, InteriorPointerIsNotADoubleFree) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        fill_current_block();
        char *a = static_cast<char *>(goalloc_malloc(8));
        goalloc_free(a + 3);
      },
      "goalloc: free\\(0x[0-9a-f]+\\): invalid pointer");
}

}  // namespace
