// The fallback: without precise tracking every page asked about is dirty.
#include <sys/mman.h>

#include <gtest/gtest.h>

#include "gc_util.h"

TEST(DirtyFallback, EverythingIsDirty) {
  ga_gc_dirty_init();
  ga_gc_dirty_force_fallback();
  ASSERT_EQ(ga_gc_dirty_mode(), GA_GC_DIRTY_ALL);
  const size_t len = 1 << 20;
  char *mem = static_cast<char *>(
      mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(mem, MAP_FAILED);
  uintptr_t b = (uintptr_t)mem;
  EXPECT_TRUE(ga_gc_dirty_track(b, len));
  EXPECT_TRUE(ga_gc_dirty_reset(b, len));
  std::vector<GcRange> v;
  // Unaligned bounds are widened to whole pages.
  size_t n = ga_gc_dirty_collect(b + 100, len - 200, gc_collect_range, &v);
  EXPECT_EQ(n, len / 4096);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].lo, b);
  EXPECT_EQ(v[0].hi, b + len);
  // And again: nothing is ever "clean" in this mode.
  v.clear();
  EXPECT_EQ(ga_gc_dirty_collect(b, len, gc_collect_range, &v), len / 4096);
  EXPECT_TRUE(ga_gc_dirty_untrack(b, len));
  munmap(mem, len);
}

TEST(DirtyFallback, ForkChildReprobes) {
  ga_gc_dirty_atfork_child();
  EXPECT_EQ(ga_gc_dirty_mode(), GA_GC_DIRTY_NONE);
  ga_gc_dirty_init();
  EXPECT_NE(ga_gc_dirty_mode(), GA_GC_DIRTY_NONE);
}
