// The per-thread cache of freed large spans (pagecache.h): reuse without the
// heap, splitting, bounds, strict frees, ageing, trim, thread exit, fork.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "unit_util.h"

namespace {

using unit::addr;
using unit::kPage;

class PageCache : public ::testing::Test {
 protected:
  void SetUp() override {
    unit::no_scavenger();
    ga_options[GA_OPT_LARGE_CACHE] = 1;
  }
  void TearDown() override {
    ga_pagecache_flush_all();
    ga_options[GA_OPT_LARGE_CACHE] = 0;
  }
};

uint64_t cached_pages() { return __atomic_load_n(&ga_pagecache_pages, __ATOMIC_RELAXED); }
uint64_t cached_spans() { return __atomic_load_n(&ga_pagecache_spans, __ATOMIC_RELAXED); }

TEST_F(PageCache, FreedSpanIsReusedWithoutTheHeap) {
  uint64_t inuse = ga_pages_stats.inuse_pages;
  void *p = goalloc_malloc(100 * kPage);
  ASSERT_NE(p, nullptr);
  std::memset(p, 0x5a, 100 * kPage);
  ga_span_t *s = ga_span_of(addr(p));
  goalloc_free(p);
  // Cached: the pages stay allocated, spans[] still points at the span,
  // but it is not in use.
  EXPECT_EQ(cached_pages(), 100u);
  EXPECT_EQ(cached_spans(), 1u);
  EXPECT_EQ(ga_pages_stats.inuse_pages, inuse + 100);
  EXPECT_EQ(ga_span_of(addr(p)), s);
  EXPECT_EQ(s->state, GA_SPAN_DEAD);
  EXPECT_EQ(goalloc_usable_size(p), 0u) << "a cached block is not allocated";
  goalloc_stats_t st;
  st.struct_size = sizeof st;
  goalloc_get_stats(&st);
  // The same size again: the same span, straight from the cache.
  void *q = goalloc_malloc(100 * kPage);
  EXPECT_EQ(q, p);
  EXPECT_EQ(ga_span_of(addr(q)), s);
  EXPECT_EQ(s->state, GA_SPAN_INUSE);
  EXPECT_EQ(goalloc_usable_size(q), 100 * kPage);
  EXPECT_EQ(cached_pages(), 0u);
  EXPECT_EQ(ga_pages_stats.inuse_pages, inuse + 100);
  goalloc_free(q);
  ga_pagecache_flush_all();
  EXPECT_EQ(ga_span_of(addr(p)), nullptr) << "flushed: the pages went back to the heap";
  EXPECT_EQ(ga_pages_stats.inuse_pages, inuse);
  EXPECT_EQ(cached_pages(), 0u);
}

TEST_F(PageCache, CallocOfCachedPagesIsZero) {
  const size_t size = 300000;
  char *p = static_cast<char *>(goalloc_malloc(size));
  ASSERT_NE(p, nullptr);
  std::memset(p, 0x77, size);
  goalloc_free(p);
  char *q = static_cast<char *>(goalloc_calloc(1, size));
  ASSERT_EQ(q, p) << "from the cache";
  size_t nonzero = 0;
  for (size_t i = 0; i < size; i++) nonzero += q[i] != 0;
  EXPECT_EQ(nonzero, 0u);
  goalloc_free(q);
}

TEST_F(PageCache, LongerSpanIsSplit) {
  char *p = static_cast<char *>(goalloc_malloc(100 * kPage));
  ASSERT_NE(p, nullptr);
  goalloc_free(p);
  // 30 of the 100 pages: the head, with a descriptor of its own; 70 stay.
  char *a = static_cast<char *>(goalloc_malloc(30 * kPage));
  EXPECT_EQ(a, p);
  EXPECT_EQ(goalloc_usable_size(a), 30 * kPage);
  EXPECT_EQ(cached_pages(), 70u);
  ga_span_t *sa = ga_span_of(addr(a));
  ASSERT_NE(sa, nullptr);
  EXPECT_EQ(sa->npages, 30u);
  EXPECT_EQ(ga_span_of(addr(a) + 30 * kPage - 1), sa);
  ga_span_t *rest = ga_span_of(addr(a) + 30 * kPage);
  ASSERT_NE(rest, nullptr);
  EXPECT_NE(rest, sa);
  EXPECT_EQ(rest->state, GA_SPAN_DEAD);
  EXPECT_EQ(rest->npages, 70u);
  // 68 of the 70: the 2-page tail is too short for a large object and goes
  // to the heap.
  char *b = static_cast<char *>(goalloc_malloc(68 * kPage));
  EXPECT_EQ(b, p + 30 * kPage);
  EXPECT_EQ(goalloc_usable_size(b), 68 * kPage);
  EXPECT_EQ(cached_pages(), 0u);
  EXPECT_EQ(ga_span_of(addr(b) + 68 * kPage), nullptr);
  std::memset(a, 1, 30 * kPage);
  std::memset(b, 2, 68 * kPage);
  goalloc_free(a);
  goalloc_free(b);
  EXPECT_EQ(cached_pages(), 98u);
}

TEST_F(PageCache, SmallestFitFirst) {
  void *big = goalloc_malloc(200 * kPage), *mid = goalloc_malloc(60 * kPage),
       *small = goalloc_malloc(20 * kPage);
  goalloc_free(big);
  goalloc_free(mid);
  goalloc_free(small);
  EXPECT_EQ(goalloc_malloc(50 * kPage), mid) << "the 60-page span is the best fit";
  EXPECT_EQ(goalloc_malloc(20 * kPage), small);
  EXPECT_EQ(goalloc_malloc(200 * kPage), big);
  EXPECT_EQ(goalloc_malloc(5 * kPage), static_cast<char *>(mid) + 50 * kPage)
      << "the 10 pages left of mid";
}

TEST_F(PageCache, BoundedBySlotsAndBytes) {
  std::vector<void *> ps;
  for (unsigned i = 0; i < GA_PAGECACHE_SLOTS + 3; i++) ps.push_back(goalloc_malloc(10 * kPage));
  for (void *p : ps) goalloc_free(p);
  EXPECT_EQ(cached_spans(), (uint64_t)GA_PAGECACHE_SLOTS);
  // The oldest went back to the heap.
  for (unsigned i = 0; i < 3; i++) EXPECT_EQ(ga_span_of(addr(ps[i])), nullptr) << i;
  for (unsigned i = 3; i < ps.size(); i++) EXPECT_NE(ga_span_of(addr(ps[i])), nullptr) << i;
  ga_pagecache_flush_all();
  // Bytes: two spans of 3/4 of the bound do not fit together.
  size_t n = GA_PAGECACHE_MAX_PAGES * 3 / 4;
  void *a = goalloc_malloc(n * kPage), *b = goalloc_malloc(n * kPage);
  goalloc_free(a);
  goalloc_free(b);
  EXPECT_EQ(cached_pages(), n);
  EXPECT_EQ(ga_span_of(addr(a)), nullptr);
  // Over the bound: never cached (and its malloc, a miss, emptied the cache).
  void *c = goalloc_malloc((GA_PAGECACHE_MAX_PAGES + 1) * kPage);
  EXPECT_EQ(cached_pages(), 0u);
  goalloc_free(c);
  EXPECT_EQ(ga_span_of(addr(c)), nullptr);
  EXPECT_EQ(cached_pages(), 0u);
}

TEST_F(PageCache, MissGivesTheCacheBackToTheHeap) {
  // A request no cached span can serve goes to the heap, and the cache is
  // emptied first, so that the heap's best fit can use those pages.
  void *a = goalloc_malloc(20 * kPage), *b = goalloc_malloc(30 * kPage);
  goalloc_free(a);
  goalloc_free(b);
  EXPECT_EQ(cached_pages(), 50u);
  void *c = goalloc_malloc(40 * kPage);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(cached_pages(), 0u);
  EXPECT_EQ(ga_span_of(addr(a)) == nullptr || ga_span_of(addr(a)) == ga_span_of(addr(c)), true);
  goalloc_free(c);
}

TEST_F(PageCache, SmallSpanFromTheHeapEmptiesTheCache) {
  void *p = goalloc_malloc(20 * kPage);
  goalloc_free(p);
  EXPECT_EQ(cached_pages(), 20u);
  ga_span_t *s = ga_heap_alloc_span(1, 1, ga_spanclass(5, 1));
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(cached_pages(), 0u) << "the cached span went back to the heap first";
  ga_heap_free_span(s);
}

TEST_F(PageCache, ReallocMovesGoStraightToTheHeap) {
  // A realloc that moves a large block frees the old one to the heap, where
  // the neighbouring blocks can grow into its pages.
  char *a = static_cast<char *>(goalloc_malloc(10 * kPage));
  char *wall = static_cast<char *>(goalloc_malloc(10 * kPage));
  ASSERT_EQ(wall, a + 10 * kPage) << "the heap had room for neighbours";
  char *b = static_cast<char *>(goalloc_realloc(a, 40 * kPage));
  ASSERT_NE(b, a);
  EXPECT_EQ(cached_pages(), 0u);
  EXPECT_EQ(ga_span_of(addr(a)), nullptr);
  goalloc_free(b);
  goalloc_free(wall);
}

TEST_F(PageCache, GrowingInPlaceTakesBackOwnCachedNeighbour) {
  char *a = static_cast<char *>(goalloc_malloc(10 * kPage));
  char *n = static_cast<char *>(goalloc_malloc(10 * kPage));
  ASSERT_EQ(n, a + 10 * kPage);
  goalloc_free(n);
  EXPECT_EQ(cached_pages(), 10u);
  EXPECT_EQ(goalloc_realloc(a, 15 * kPage), a) << "grew into the cached neighbour's pages";
  EXPECT_EQ(cached_pages(), 0u);
  goalloc_free(a);
}

TEST_F(PageCache, StatisticsDoNotCountCachedSpans) {
  goalloc_stats_t s0, s1, s2;
  s0.struct_size = s1.struct_size = s2.struct_size = sizeof s0;
  goalloc_get_stats(&s0);
  void *p = goalloc_malloc(64 * kPage);
  goalloc_get_stats(&s1);
  EXPECT_EQ(s1.large_objects, s0.large_objects + 1);
  EXPECT_EQ(s1.large_bytes, s0.large_bytes + 64 * kPage);
  goalloc_free(p);
  goalloc_get_stats(&s2);
  EXPECT_EQ(cached_pages(), 64u);
  EXPECT_EQ(s2.large_objects, s0.large_objects);
  EXPECT_EQ(s2.large_bytes, s0.large_bytes);
  EXPECT_EQ(s2.alloc_bytes, s0.alloc_bytes);
  EXPECT_EQ(s2.heap_inuse, s0.heap_inuse);
  EXPECT_EQ(s2.heap_free, s1.heap_free + 64 * kPage) << "cached pages count as free";
}

TEST_F(PageCache, OldSpansGoBackToTheHeap) {
  void *p = goalloc_malloc(40 * kPage);
  goalloc_free(p);
  uint32_t gen = __atomic_load_n(&ga_pages_gen, __ATOMIC_RELAXED);
  ga_pagecache_flush_old(gen + 1);
  EXPECT_EQ(cached_pages(), 40u) << "cached one period ago: kept";
  ga_pagecache_flush_old(gen + 2);
  EXPECT_EQ(cached_pages(), 0u) << "two periods: back to the heap";
  EXPECT_EQ(ga_span_of(addr(p)), nullptr);
}

TEST_F(PageCache, TrimEmptiesTheCaches) {
  void *p = goalloc_malloc(40 * kPage);
  std::memset(p, 1, 40 * kPage);
  goalloc_free(p);
  EXPECT_EQ(cached_pages(), 40u);
  goalloc_trim(0);
  EXPECT_EQ(cached_pages(), 0u);
  goalloc_stats_t st;
  st.struct_size = sizeof st;
  goalloc_get_stats(&st);
  EXPECT_EQ(st.heap_free, 0u) << "trim released every free page, cached ones too";
}

TEST_F(PageCache, ThreadExitEmptiesItsCache) {
  void *p = nullptr;
  std::thread t([&p] {
    p = goalloc_malloc(50 * kPage);
    goalloc_free(p);
    EXPECT_EQ(cached_pages(), 50u);
  });
  t.join();
  EXPECT_EQ(cached_pages(), 0u);
  EXPECT_EQ(ga_span_of(addr(p)), nullptr);
  // Another thread's cache is not ours: a span it kept is not reused here.
  void *q = goalloc_malloc(30 * kPage);
  goalloc_free(q);
  EXPECT_EQ(cached_pages(), 30u);
}

TEST_F(PageCache, DoubleFreeOfACachedSpanIsReported) {
  ga_options[GA_OPT_ON_ERROR] = 0;
  EXPECT_DEATH(
      {
        void *p = goalloc_malloc(20 * kPage);
        goalloc_free(p);
        goalloc_free(p);
      },
      "goalloc: free\\(0x[0-9a-f]+\\): double free");
  EXPECT_DEATH(
      {
        char *p = static_cast<char *>(goalloc_malloc(20 * kPage));
        goalloc_free(p);
        goalloc_free(p + 3 * kPage);
      },
      "goalloc: free\\(0x[0-9a-f]+\\): double free \\(or invalid pointer");
}

TEST_F(PageCache, ForkChildGivesBackDeadThreadsSpans) {
  void *mine = goalloc_malloc(10 * kPage);
  goalloc_free(mine);
  void *theirs = nullptr;
  std::mutex m;
  std::condition_variable cv;
  bool cached = false, done = false;
  std::thread t([&] {
    theirs = goalloc_malloc(20 * kPage);
    goalloc_free(theirs);
    std::unique_lock<std::mutex> l(m);
    cached = true;
    cv.notify_all();
    cv.wait(l, [&] { return done; });
  });
  {
    std::unique_lock<std::mutex> l(m);
    cv.wait(l, [&] { return cached; });
  }
  EXPECT_EQ(cached_pages(), 30u);
  fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    // Only the forking thread survives: its cache stays, the other goes.
    bool ok = cached_pages() == 10 && ga_span_of(addr(theirs)) == nullptr &&
              ga_span_of(addr(mine)) != nullptr && goalloc_malloc(10 * kPage) == mine;
    _exit(ok ? 0 : 1);
  }
  ASSERT_GT(pid, 0);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  {
    std::lock_guard<std::mutex> l(m);
    done = true;
    cv.notify_all();
  }
  t.join();
}

}  // namespace
