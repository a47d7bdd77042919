// The page allocator (pagealloc.h): address-ordered first fit, coalescing,
// large runs, alignment, accounting and the scavenged-page bookkeeping.
//
// The page allocator is global state shared with the rest of goalloc, so the
// tests never assume an empty heap: every placement is compared with a
// brute-force first fit over the arenas' bitmaps taken just before the call
// (ref_first_fit), and with the runs the test itself placed.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "unit_util.h"

extern "C" {
#include "gc/blacklist.h"
#include "options.h"
}

namespace {

using unit::HeapLock;
using unit::kPage;

bool page_allocated(const ga_arena_t *a, size_t i) { return a->page_alloc[i / 64] >> (i % 64) & 1; }
bool page_scavenged(const ga_arena_t *a, size_t i) { return a->page_scav[i / 64] >> (i % 64) & 1; }

// Lowest address of n free pages starting at a multiple of align pages, or 0
// when no arena has one (the allocator then grows). Heap lock held.
uintptr_t ref_first_fit(size_t n, size_t align = 1) {
  std::vector<uint32_t> run(GA_PAGES_PER_ARENA + 1);
  for (size_t k = 0; k < ga_pages_arena_count(); k++) {
    const ga_arena_t *a = ga_pages_arena(k);
    run[GA_PAGES_PER_ARENA] = 0;
    for (size_t i = GA_PAGES_PER_ARENA; i-- > 0;)
      run[i] = page_allocated(a, i) ? 0 : run[i + 1] + 1;
    for (size_t i = 0; i < GA_PAGES_PER_ARENA; i += align)
      if (run[i] >= n) return a->base + i * kPage;
  }
  return 0;
}

// Longest free run of an arena, from the bitmap.
uint32_t ref_max_free(const ga_arena_t *a) {
  uint32_t best = 0, cur = 0;
  for (size_t i = 0; i < GA_PAGES_PER_ARENA; i++) {
    cur = page_allocated(a, i) ? 0 : cur + 1;
    if (cur > best) best = cur;
  }
  return best;
}

// Go's pallocSum of every chunk (free run at the start, longest, at the
// end) must match the bitmap.
::testing::AssertionResult summaries_match(const ga_arena_t *a) {
  for (size_t c = 0; c < GA_CHUNKS_PER_ARENA; c++) {
    size_t lo = c * GA_CHUNK_PAGES, hi = lo + GA_CHUNK_PAGES;
    size_t start = 0, end = 0, max = 0, cur = 0;
    while (lo + start < hi && !page_allocated(a, lo + start)) start++;
    while (end < GA_CHUNK_PAGES && !page_allocated(a, hi - 1 - end)) end++;
    for (size_t i = lo; i < hi; i++) {
      cur = page_allocated(a, i) ? 0 : cur + 1;
      if (cur > max) max = cur;
    }
    if (a->sum_start[c] != start || a->sum_max[c] != max || a->sum_end[c] != end)
      return ::testing::AssertionFailure()
             << "arena " << std::hex << a->base << std::dec << " chunk " << c << ": summary (start "
             << a->sum_start[c] << ", max " << a->sum_max[c] << ", end " << a->sum_end[c]
             << "), bitmap (start " << start << ", max " << max << ", end " << end << ")";
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult stats_consistent() {
  const ga_pages_stats_t &s = ga_pages_stats;
  if (s.inuse_pages + s.free_pages + s.scav_pages != s.total_pages)
    return ::testing::AssertionFailure()
           << "inuse " << s.inuse_pages << " + free " << s.free_pages << " + scav "
           << s.scav_pages << " != total " << s.total_pages;
  // The counts agree with the bitmaps. A partial arena (near OOM) has its
  // unmapped tail marked allocated for good; it is not counted.
  uint64_t alloc = 0, scav = 0, usable = 0;
  for (size_t k = 0; k < ga_pages_arena_count(); k++) {
    const ga_arena_t *a = ga_pages_arena(k);
    usable += a->usable_pages;
    alloc -= GA_PAGES_PER_ARENA - a->usable_pages;
    for (size_t i = 0; i < GA_PAGES_PER_ARENA; i++) {
      alloc += page_allocated(a, i);
      scav += !page_allocated(a, i) && page_scavenged(a, i);
      if (page_allocated(a, i) && page_scavenged(a, i))
        return ::testing::AssertionFailure() << "page " << i << " of arena " << k
                                             << " allocated and scavenged";
    }
    ::testing::AssertionResult sums = summaries_match(a);
    if (!sums) return sums;
    if (a->max_free != ref_max_free(a))
      return ::testing::AssertionFailure() << "arena " << k << " max_free " << a->max_free
                                           << ", bitmap says " << ref_max_free(a);
  }
  if (s.total_pages != usable)
    return ::testing::AssertionFailure() << "total " << s.total_pages << " but arenas have "
                                         << usable << " usable pages";
  if (alloc != s.inuse_pages)
    return ::testing::AssertionFailure() << "inuse " << s.inuse_pages << ", bitmaps " << alloc;
  if (scav != s.scav_pages)
    return ::testing::AssertionFailure() << "scav " << s.scav_pages << ", bitmaps " << scav;
  return ::testing::AssertionSuccess();
}

// Allocates n pages and checks the answer is the reference first fit (when
// one exists) and the accounting moved by n.
uintptr_t alloc_checked(size_t n, size_t align = 1, bool *needzero = nullptr) {
  uintptr_t want = ref_first_fit(n, align);
  size_t arenas = ga_pages_arena_count();
  uint64_t inuse = ga_pages_stats.inuse_pages;
  bool nz;
  uintptr_t got = ga_pages_alloc(n, align, false, false, &nz);
  if (needzero) *needzero = nz;
  EXPECT_NE(got, 0u) << "ga_pages_alloc(" << n << ", " << align << ")";
  if (!got) return 0;
  if (want) {
    EXPECT_EQ(got, want) << "ga_pages_alloc(" << n << ", " << align << ") is not first fit";
    EXPECT_EQ(ga_pages_arena_count(), arenas) << "grew although a run fitted";
  } else {
    // Nothing fitted: a new arena, and the run is at its start.
    EXPECT_EQ(ga_pages_arena_count(), arenas + 1);
    EXPECT_EQ(got % GA_ARENA_SIZE, 0u);
  }
  EXPECT_EQ(got % (align * kPage), 0u);
  EXPECT_EQ(ga_pages_stats.inuse_pages, inuse + n);
  EXPECT_TRUE(stats_consistent());
  ga_arena_t *a = ga_arena_of(got);
  EXPECT_NE(a, nullptr);
  if (a) {
    size_t first = (got >> GA_PAGE_SHIFT) & (GA_PAGES_PER_ARENA - 1);
    for (size_t i = first; i < first + n; i++) EXPECT_TRUE(page_allocated(a, i));
  }
  return got;
}

void free_checked(uintptr_t base, size_t n) {
  uint64_t inuse = ga_pages_stats.inuse_pages, free = ga_pages_stats.free_pages;
  ga_pages_free(base, n);
  EXPECT_EQ(ga_pages_stats.inuse_pages, inuse - n);
  EXPECT_EQ(ga_pages_stats.free_pages, free + n);
  EXPECT_TRUE(stats_consistent());
}

class PageAlloc : public ::testing::Test {
 protected:
  void SetUp() override { unit::no_scavenger(); }
};

TEST_F(PageAlloc, FirstFitReusesHole) {
  HeapLock lock;
  EXPECT_TRUE(stats_consistent());
  const size_t k = 37;
  uintptr_t a = alloc_checked(k), b = alloc_checked(k), c = alloc_checked(k);
  ASSERT_TRUE(a && b && c);
  // Consecutive first-fit requests on a heap that had room: neighbours.
  ASSERT_EQ(b, a + k * kPage);
  ASSERT_EQ(c, b + k * kPage);

  free_checked(b, k);
  // The next request that fits goes into the hole, the lowest place.
  EXPECT_EQ(alloc_checked(k), b);
  free_checked(b, k);
  // A smaller one too (at its start).
  EXPECT_EQ(alloc_checked(k - 10), b);
  free_checked(b, k - 10);
  // A larger one cannot use it: it goes after (above c).
  uintptr_t big = alloc_checked(k + 1);
  EXPECT_GT(big, c);
  // The hole is still free and still the first fit for k.
  EXPECT_EQ(ref_first_fit(k), b);
  free_checked(big, k + 1);
  free_checked(a, k);
  free_checked(c, k);
}

TEST_F(PageAlloc, LowestHoleWins) {
  HeapLock lock;
  const size_t k = 8;
  uintptr_t r[6];
  for (auto &x : r) x = alloc_checked(k);
  for (int i = 1; i < 6; i++) ASSERT_EQ(r[i], r[i - 1] + k * kPage);
  // Holes at 1, 3 and 4: the first fit is the lowest, whatever the order of
  // the frees.
  free_checked(r[4], k);
  free_checked(r[1], k);
  free_checked(r[3], k);
  EXPECT_EQ(alloc_checked(k), r[1]);
  // r[3] and r[4] coalesced: 2k fits there, before anything above r[5].
  EXPECT_EQ(alloc_checked(2 * k), r[3]);
  free_checked(r[3], 2 * k);
  for (int i : {0, 1, 2, 5}) free_checked(r[i], k);
}

TEST_F(PageAlloc, Coalescing) {
  HeapLock lock;
  const size_t k = 20;
  uintptr_t a = alloc_checked(k), b = alloc_checked(k), c = alloc_checked(k),
            d = alloc_checked(k);
  ASSERT_EQ(b, a + k * kPage);
  ASSERT_EQ(c, b + k * kPage);
  ASSERT_EQ(d, c + k * kPage);
  // Free two neighbours, the later one first: one run of 2k at b.
  free_checked(c, k);
  free_checked(b, k);
  EXPECT_EQ(ref_first_fit(2 * k), b);
  EXPECT_EQ(alloc_checked(2 * k), b);
  free_checked(b, 2 * k);
  // All four: one run of 4k at a.
  free_checked(a, k);
  free_checked(d, k);
  EXPECT_EQ(alloc_checked(4 * k), a);
  free_checked(a, 4 * k);
}

TEST_F(PageAlloc, CoalescingAcrossChunks) {
  HeapLock lock;
  // Runs of 200 pages: six of them cross at least two 512-page chunk
  // boundaries, so the joined runs below are found from the summaries.
  const size_t k = 200;
  uintptr_t r[6];
  for (auto &x : r) x = alloc_checked(k);
  for (int i = 1; i < 6; i++) ASSERT_EQ(r[i], r[i - 1] + k * kPage);
  for (int i = 1; i <= 4; i++) free_checked(r[i], k);
  EXPECT_EQ(alloc_checked(4 * k), r[1]);
  free_checked(r[1], 4 * k);
  EXPECT_EQ(alloc_checked(3 * k), r[1]);
  EXPECT_EQ(alloc_checked(k), r[4]);
  free_checked(r[1], 3 * k);
  for (int i : {0, 4, 5}) free_checked(r[i], k);
}

TEST_F(PageAlloc, LargeRuns) {
  HeapLock lock;
  uintptr_t half = alloc_checked(4096);
  ASSERT_NE(half, 0u);
  // A whole arena (8192 pages) needs an arena with nothing in it.
  bool nz = true;
  uintptr_t whole = alloc_checked(GA_PAGES_PER_ARENA, 1, &nz);
  ASSERT_NE(whole, 0u);
  EXPECT_EQ(whole % GA_ARENA_SIZE, 0u);
  EXPECT_NE(ga_arena_of(whole), ga_arena_of(half));
  EXPECT_EQ(ga_arena_of(whole)->max_free, 0u);
  uintptr_t half2 = alloc_checked(4096);
  ASSERT_NE(half2, 0u);
  EXPECT_NE(half2, half);
  // Runs never cross an arena.
  for (uintptr_t r : {half, half2})
    EXPECT_EQ(ga_arena_of(r), ga_arena_of(r + 4096 * kPage - 1));
  // More than an arena is not the page allocator's job (heap.c: huge).
  bool dummy;
  EXPECT_EQ(ga_pages_alloc(GA_PAGES_PER_ARENA + 1, 1, false, false, &dummy), 0u);
  EXPECT_EQ(ga_pages_alloc(0, 1, false, false, &dummy), 0u);
  EXPECT_TRUE(stats_consistent());
  free_checked(whole, GA_PAGES_PER_ARENA);
  EXPECT_EQ(ga_arena_of(whole)->max_free, (uint32_t)GA_PAGES_PER_ARENA);
  free_checked(half2, 4096);
  free_checked(half, 4096);
  // Freed, a whole arena is one run again: first fit finds the lowest
  // empty arena (no new one is needed).
  size_t arenas = ga_pages_arena_count();
  uintptr_t again = alloc_checked(GA_PAGES_PER_ARENA);
  EXPECT_LE(again, whole);
  EXPECT_EQ(ga_pages_arena_count(), arenas);
  free_checked(again, GA_PAGES_PER_ARENA);
}

TEST_F(PageAlloc, Alignment) {
  HeapLock lock;
  // Misalign the first fit by one page, then ask for aligned runs.
  uintptr_t one = alloc_checked(1);
  size_t arenas = ga_pages_arena_count();
  std::vector<std::pair<uintptr_t, size_t>> runs;
  for (size_t align : {2, 4, 8, 16, 64, 512, 1024, 4096}) {
    for (size_t n : {1, 3, 100}) {
      uintptr_t p = alloc_checked(n, align);
      ASSERT_NE(p, 0u);
      EXPECT_EQ(p % (align * kPage), 0u) << "n " << n << " align " << align;
      size_t pg = (p >> GA_PAGE_SHIFT) & (GA_PAGES_PER_ARENA - 1);
      EXPECT_EQ(pg % align, 0u);
      runs.push_back({p, n});
    }
  }
  // The pages skipped for alignment stay free: when `one` is on an even
  // page, the page after it was skipped by the 2-aligned request and is now
  // the first fit for one page.
  uintptr_t next = alloc_checked(1);
  // (Unless a large alignment made the heap grow by an arena below it.)
  if (((one >> GA_PAGE_SHIFT) & 1) == 0 && ga_pages_arena_count() == arenas) {
    EXPECT_EQ(next, one + kPage);
  }
  free_checked(next, 1);
  for (auto &r : runs) free_checked(r.first, r.second);
  free_checked(one, 1);
  // align 0 means 1.
  bool nz;
  uintptr_t want = ref_first_fit(1);
  uintptr_t p = ga_pages_alloc(1, 0, false, false, &nz);
  EXPECT_EQ(p, want);
  free_checked(p, 1);
}

TEST_F(PageAlloc, Accounting) {
  HeapLock lock;
  ga_pages_stats_t before = ga_pages_stats;
  EXPECT_TRUE(stats_consistent());
  std::vector<std::pair<uintptr_t, size_t>> runs;
  size_t total = 0;
  for (size_t n : {1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610}) {
    runs.push_back({alloc_checked(n), n});
    total += n;
  }
  EXPECT_EQ(ga_pages_stats.inuse_pages, before.inuse_pages + total);
  // Free every other one, then the rest.
  for (size_t i = 0; i < runs.size(); i += 2) free_checked(runs[i].first, runs[i].second);
  for (size_t i = 1; i < runs.size(); i += 2) free_checked(runs[i].first, runs[i].second);
  EXPECT_EQ(ga_pages_stats.inuse_pages, before.inuse_pages);
  EXPECT_EQ(ga_pages_stats.total_pages, before.total_pages);
  // Pages only move between scav (fresh) and free (used once).
  EXPECT_EQ(ga_pages_stats.free_pages + ga_pages_stats.scav_pages,
            before.free_pages + before.scav_pages);
  EXPECT_TRUE(stats_consistent());
}

TEST_F(PageAlloc, FreshPagesNeedNoZeroing) {
  HeapLock lock;
  // Fill every arena that could take a whole-arena run, so that the next one
  // comes from a new arena, whose pages were never touched.
  std::vector<uintptr_t> held;
  while (ref_first_fit(GA_PAGES_PER_ARENA)) held.push_back(alloc_checked(GA_PAGES_PER_ARENA));
  bool nz = true;
  uintptr_t p = alloc_checked(GA_PAGES_PER_ARENA, 1, &nz);
  ASSERT_NE(p, 0u);
  EXPECT_FALSE(nz) << "a new arena's pages read as zero";
  free_checked(p, GA_PAGES_PER_ARENA);
  // Used once, they may hold old data.
  EXPECT_EQ(alloc_checked(GA_PAGES_PER_ARENA, 1, &nz), p);
  EXPECT_TRUE(nz);
  free_checked(p, GA_PAGES_PER_ARENA);
  for (uintptr_t h : held) free_checked(h, GA_PAGES_PER_ARENA);
}

TEST_F(PageAlloc, ScavengedPagesNeedNoZeroing) {
  // Start with every free page scavenged, so the run below is the only free
  // unscavenged one in the heap.
  ga_scavenge_all();
  HeapLock lock;
  EXPECT_TRUE(stats_consistent());
  const size_t k = 10;
  bool nz = true;
  uintptr_t base = alloc_checked(k, 1, &nz);
  ASSERT_NE(base, 0u);
  EXPECT_FALSE(nz) << "every free page was scavenged";
  free_checked(base, k);
  EXPECT_EQ(alloc_checked(k, 1, &nz), base);
  EXPECT_TRUE(nz) << "the pages were used and not scavenged since";
  free_checked(base, k);

  // The scavenger's two steps: take the run (it is allocated meanwhile),
  // give it back scavenged.
  ga_pages_stats_t st = ga_pages_stats;
  uintptr_t tb = 0;
  size_t tn = 0;
  ASSERT_TRUE(ga_pages_take_unscavenged(&tb, &tn, 1000, true));
  EXPECT_EQ(tb, base);
  EXPECT_EQ(tn, k);
  EXPECT_EQ(ga_pages_stats.free_pages, st.free_pages - k);
  EXPECT_EQ(ga_pages_stats.inuse_pages, st.inuse_pages + k);
  EXPECT_TRUE(stats_consistent());
  EXPECT_NE(ref_first_fit(k), base) << "taken pages must not be handed out";
  uintptr_t tb2;
  size_t tn2;
  EXPECT_FALSE(ga_pages_take_unscavenged(&tb2, &tn2, 1000, true)) << "nothing else is unscavenged";
  ga_pages_put_scavenged(tb, tn);
  EXPECT_EQ(ga_pages_stats.scav_pages, st.scav_pages + k);
  EXPECT_EQ(ga_pages_stats.free_pages, st.free_pages - k);
  EXPECT_EQ(ga_pages_stats.inuse_pages, st.inuse_pages);
  EXPECT_TRUE(stats_consistent());
  // Exactly those pages again: they read as zero.
  EXPECT_EQ(alloc_checked(k, 1, &nz), base);
  EXPECT_FALSE(nz);
  free_checked(base, k);

  // A partial take (maxpages): the highest pages of the run go first.
  ASSERT_TRUE(ga_pages_take_unscavenged(&tb, &tn, 4, true));
  EXPECT_EQ(tn, 4u);
  EXPECT_EQ(tb, base + (k - 4) * kPage);
  ga_pages_put_scavenged(tb, tn);
  EXPECT_TRUE(stats_consistent());
  // Now only part of the run is scavenged: it needs zeroing.
  EXPECT_EQ(alloc_checked(k, 1, &nz), base);
  EXPECT_TRUE(nz);
  free_checked(base, k);
  // Take the rest in steps, as the background scavenger does.
  size_t taken = 0;
  while (ga_pages_take_unscavenged(&tb, &tn, 3, true)) {
    EXPECT_GE(tb, base);
    EXPECT_LE(tb + tn * kPage, base + k * kPage);
    EXPECT_LE(tn, 3u);
    ga_pages_put_scavenged(tb, tn);
    taken += tn;
    ASSERT_LE(taken, k);
  }
  EXPECT_EQ(taken, k);
  EXPECT_EQ(alloc_checked(k, 1, &nz), base);
  EXPECT_FALSE(nz);
  free_checked(base, k);
  EXPECT_TRUE(stats_consistent());
}

// Random runs of mixed sizes, freed in random order: every placement is the
// reference first fit and the summaries follow the bitmap. The sizes make
// runs start and end inside words, on word edges and across chunks.
TEST_F(PageAlloc, RandomizedFirstFit) {
  HeapLock lock;
  uint64_t seed = 0x9e3779b97f4a7c15ull;
  auto rnd = [&seed](uint64_t n) {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return seed % n;
  };
  ga_pages_stats_t before = ga_pages_stats;
  std::vector<std::pair<uintptr_t, size_t>> live;
  for (int op = 0; op < 1500; op++) {
    bool do_alloc = live.empty() || (live.size() < 120 && rnd(100) < 60);
    if (do_alloc) {
      size_t n;
      switch (rnd(8)) {
        case 0: n = 64; break;
        case 1: n = 1 + rnd(4); break;
        case 2: n = 500 + rnd(40); break;  // around a chunk
        case 3: n = 63 + rnd(3); break;
        default: n = 1 + rnd(70); break;
      }
      size_t align = rnd(10) == 0 ? (size_t)1 << rnd(7) : 1;
      uintptr_t p = alloc_checked(n, align);
      ASSERT_NE(p, 0u);
      live.push_back({p, n});
    } else {
      size_t i = rnd(live.size());
      free_checked(live[i].first, live[i].second);
      live[i] = live.back();
      live.pop_back();
    }
    if (::testing::Test::HasFailure()) {
      ADD_FAILURE() << "stopped at operation " << op;
      break;
    }
  }
  for (auto &r : live) free_checked(r.first, r.second);
  EXPECT_EQ(ga_pages_stats.inuse_pages, before.inuse_pages);
  EXPECT_TRUE(stats_consistent());
}

// Reference best fit (pagealloc.h, ga_pages_alloc_best): the shortest free
// run of at least n pages, lowest address among equals, over the first
// kBestFitArenas arenas that have one; 0 when none does. Heap lock held.
constexpr size_t kBestFitArenas = 4;
uintptr_t ref_best_fit(size_t n) {
  uintptr_t best = 0;
  size_t best_len = SIZE_MAX, tried = 0;
  for (size_t k = 0; k < ga_pages_arena_count() && tried < kBestFitArenas; k++) {
    const ga_arena_t *a = ga_pages_arena(k);
    bool fits = false;
    for (size_t i = 0; i < GA_PAGES_PER_ARENA;) {
      if (page_allocated(a, i)) {
        i++;
        continue;
      }
      size_t e = i;
      while (e < GA_PAGES_PER_ARENA && !page_allocated(a, e)) e++;
      if (e - i >= n) {
        fits = true;
        if (e - i < best_len) {
          best_len = e - i;
          best = a->base + i * kPage;
        }
      }
      i = e;
    }
    tried += fits;
  }
  return best;
}

uintptr_t alloc_best_checked(size_t n) {
  uintptr_t want = ref_best_fit(n);
  size_t arenas = ga_pages_arena_count();
  uint64_t inuse = ga_pages_stats.inuse_pages;
  bool nz;
  uintptr_t got = ga_pages_alloc_best(n, false, &nz);
  EXPECT_NE(got, 0u) << "ga_pages_alloc_best(" << n << ")";
  if (!got) return 0;
  if (want) {
    EXPECT_EQ(got, want) << "ga_pages_alloc_best(" << n << ") is not the best fit";
    EXPECT_EQ(ga_pages_arena_count(), arenas) << "grew although a run fitted";
  } else {
    EXPECT_EQ(ga_pages_arena_count(), arenas + 1);
    EXPECT_EQ(got % GA_ARENA_SIZE, 0u);
  }
  EXPECT_EQ(ga_pages_stats.inuse_pages, inuse + n);
  EXPECT_TRUE(stats_consistent());
  return got;
}

TEST_F(PageAlloc, BestFitTakesTheSmallestHole) {
  HeapLock lock;
  // Holes of 40, 20 and 30 pages between live runs: a 25-page request goes
  // to the 30-page hole although the 40-page one comes first.
  uintptr_t r[7];
  const size_t len[7] = {1, 40, 1, 20, 1, 30, 1};
  for (int i = 0; i < 7; i++) r[i] = alloc_checked(len[i]);
  ASSERT_EQ(r[6], r[0] + 93 * kPage) << "the heap had room for consecutive runs";
  free_checked(r[1], 40);
  free_checked(r[3], 20);
  free_checked(r[5], 30);
  uintptr_t got = alloc_best_checked(25);
  EXPECT_NE(got, r[1]) << "a 30-page hole exists: the 40-page one is not the best fit";
  uintptr_t exact = alloc_best_checked(20);
  EXPECT_NE(exact, r[1]);
  free_checked(got, 25);
  free_checked(exact, 20);
  for (int i : {0, 2, 4, 6}) free_checked(r[i], 1);
}

// Random mixed runs, freed in random order, with large requests placed by
// best fit: every placement is the reference best fit, and runs joined
// across chunk boundaries are found.
TEST_F(PageAlloc, RandomizedBestFit) {
  HeapLock lock;
  uint64_t seed = 0x2545f4914f6cdd1dull;
  auto rnd = [&seed](uint64_t n) {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return seed % n;
  };
  ga_pages_stats_t before = ga_pages_stats;
  std::vector<std::pair<uintptr_t, size_t>> live;
  for (int op = 0; op < 1500; op++) {
    bool do_alloc = live.empty() || (live.size() < 120 && rnd(100) < 60);
    if (do_alloc) {
      size_t n;
      switch (rnd(6)) {
        case 0: n = 1 + rnd(8); break;
        case 1: n = 500 + rnd(40); break;  // around a chunk
        case 2: n = 600 + rnd(600); break;  // across chunks
        default: n = 5 + rnd(120); break;
      }
      uintptr_t p = rnd(3) == 0 ? alloc_checked(n) : alloc_best_checked(n);
      ASSERT_NE(p, 0u);
      live.push_back({p, n});
    } else {
      size_t i = rnd(live.size());
      free_checked(live[i].first, live[i].second);
      live[i] = live.back();
      live.pop_back();
    }
    if (::testing::Test::HasFailure()) {
      ADD_FAILURE() << "stopped at operation " << op;
      break;
    }
  }
  for (auto &r : live) free_checked(r.first, r.second);
  EXPECT_EQ(ga_pages_stats.inuse_pages, before.inuse_pages);
  EXPECT_TRUE(stats_consistent());
}

// The collector's blacklist (gc/blacklist.h): a run asked for with avoid
// set holds no blacklisted page when the heap has such a run anywhere; the
// same request without avoid is placed as before; when every run that fits
// is blacklisted, one of them is used and the heap does not grow.
struct Blacklist {
  // Blacklists pages [first, first + n) of a's bitmap of parity 0.
  static void add(ga_arena_t *a, size_t first, size_t n) {
    for (size_t i = first; i < first + n; i++) a->gc_black[0][i / 64] |= (uint64_t)1 << (i % 64);
    a->gc_black_any[0] = 1;
    ga_gc_blacklist_used = true;
  }
  static bool hits(uintptr_t base, size_t n) {
    ga_arena_t *a = ga_arena_of(base);
    size_t first = (base >> GA_PAGE_SHIFT) & (GA_PAGES_PER_ARENA - 1);
    for (size_t i = first; i < first + n; i++)
      if ((a->gc_black[0][i / 64] | a->gc_black[1][i / 64]) >> (i % 64) & 1) return true;
    return false;
  }
  ~Blacklist() {
    for (size_t k = 0; k < ga_pages_arena_count(); k++) {
      ga_arena_t *a = ga_pages_arena(k);
      memset(a->gc_black, 0, sizeof a->gc_black);
      a->gc_black_any[0] = a->gc_black_any[1] = 0;
    }
  }
};

TEST_F(PageAlloc, BlacklistedPagesAreAvoided) {
  HeapLock lock;
  free_checked(alloc_checked(1), 1); // the heap has an arena
  const size_t n = 6;
  for (bool best : {false, true}) {
    SCOPED_TRACE(best ? "best fit" : "first fit");
    Blacklist bl;
    bool nz;
    auto alloc = [&](bool avoid) {
      return best ? ga_pages_alloc_best(n, avoid, &nz) : ga_pages_alloc(n, 1, false, avoid, &nz);
    };
    uintptr_t want = alloc(false);
    ASSERT_NE(want, 0u);
    ga_pages_free(want, n);
    // Without a blacklisted page there, avoid changes nothing.
    uintptr_t p = alloc(true);
    EXPECT_EQ(p, want);
    ga_pages_free(p, n);
    // One page in the middle of the run that would be chosen.
    Blacklist::add(ga_arena_of(want), ((want >> GA_PAGE_SHIFT) & (GA_PAGES_PER_ARENA - 1)) + 3, 1);
    // Noscan small spans (avoid false) may use it.
    uintptr_t r = alloc(false);
    EXPECT_EQ(r, want);
    ga_pages_free(r, n);
    size_t arenas = ga_pages_arena_count();
    uintptr_t q = alloc(true);
    ASSERT_NE(q, 0u);
    EXPECT_NE(q, want);
    EXPECT_FALSE(Blacklist::hits(q, n)) << "the run holds a blacklisted page";
    EXPECT_EQ(ga_pages_arena_count(), arenas) << "grew although clean runs fit";
    ga_pages_free(q, n);
    EXPECT_TRUE(stats_consistent());
  }
}

TEST_F(PageAlloc, BlacklistNeverGrowsTheHeap) {
  HeapLock lock;
  Blacklist bl;
  free_checked(alloc_checked(1), 1); // the heap has an arena
  const size_t n = 3;
  uintptr_t want = ref_first_fit(n);
  ASSERT_NE(want, 0u);
  // Every free page of every arena is blacklisted.
  for (size_t k = 0; k < ga_pages_arena_count(); k++) {
    ga_arena_t *a = ga_pages_arena(k);
    for (size_t i = 0; i < GA_PAGES_PER_ARENA; i++)
      if (!page_allocated(a, i)) Blacklist::add(a, i, 1);
  }
  size_t arenas = ga_pages_arena_count();
  bool nz;
  uintptr_t p = ga_pages_alloc(n, 1, false, true, &nz);
  EXPECT_EQ(p, want) << "the first fit, blacklisted or not, when no clean run fits";
  EXPECT_EQ(ga_pages_arena_count(), arenas);
  uintptr_t q = ga_pages_alloc_best(n, true, &nz);
  EXPECT_NE(q, 0u);
  EXPECT_EQ(ga_pages_arena_count(), arenas);
  ga_pages_free(p, n);
  if (q) ga_pages_free(q, n);
  EXPECT_TRUE(stats_consistent());
}

// Best fit stays best fit: when the best hole holds a blacklisted page, the
// shortest clean hole is taken, not the first clean run (which would split
// the long run a later large request needs and grow the heap: review).
TEST_F(PageAlloc, BlacklistKeepsBestFit) {
  HeapLock lock;
  Blacklist bl;
  // Live runs around a 6-page hole B, a 6-page hole D and a 40-page hole L.
  const size_t len[7] = {1, 40, 1, 6, 1, 6, 1};
  uintptr_t r[7];
  for (int i = 0; i < 7; i++) r[i] = alloc_checked(len[i]);
  ASSERT_EQ(r[6], r[0] + 55 * kPage) << "the heap had room for consecutive runs";
  for (int i : {1, 3, 5}) free_checked(r[i], len[i]);
  bool nz;
  EXPECT_EQ(ga_pages_alloc_best(6, true, &nz), r[3]) << "best fit: the first 6-page hole";
  ga_pages_free(r[3], 6);
  Blacklist::add(ga_arena_of(r[3]), ((r[3] >> GA_PAGE_SHIFT) & (GA_PAGES_PER_ARENA - 1)) + 2, 1);
  uintptr_t got = ga_pages_alloc_best(6, true, &nz);
  EXPECT_EQ(got, r[5]) << "the clean 6-page hole, not the 40-page one nor the blacklisted one";
  if (got) ga_pages_free(got, 6);
  for (int i : {0, 2, 4, 6}) free_checked(r[i], 1);
  EXPECT_TRUE(stats_consistent());
}

// A page noted in cycle c stays blacklisted through cycle c + 1 and is
// clean again when cycle c + 2 begins (ga_gc_blacklist_begin).
TEST_F(PageAlloc, BlacklistExpiresAfterTwoCycles) {
  HeapLock lock;
  Blacklist bl;
  free_checked(alloc_checked(1), 1);
  ga_arena_t *a = ga_pages_arena(0);
  uintptr_t p = a->base + 100 * kPage + 16;
  uint32_t saved = ga_gc_mark_cycle;
  long opt = ga_options[GA_OPT_GC_BLACKLIST];
  ga_options[GA_OPT_GC_BLACKLIST] = 1;
  auto listed = [&] {
    uint64_t map[GA_ARENA_WORDS];
    return ga_gc_blacklist_get(a, map) && (map[100 / 64] >> (100 % 64) & 1);
  };
  uint32_t c = (saved | 1) + 2; // odd: both parities get their turn
  ga_gc_blacklist_begin(c, true);
  ga_gc_mark_cycle = c;
  ga_gc_blacklist_note(a, p);
  EXPECT_TRUE(listed()) << "noted in cycle c";
  ga_gc_blacklist_begin(c + 1, true);
  ga_gc_mark_cycle = c + 1;
  EXPECT_TRUE(listed()) << "still blacklisted in cycle c + 1";
  ga_gc_blacklist_begin(c + 2, true);
  ga_gc_mark_cycle = c + 2;
  EXPECT_FALSE(listed()) << "clean again in cycle c + 2";
  // Noted again in c + 2 (its parity is c's): listed, then gone two later.
  ga_gc_blacklist_note(a, p);
  EXPECT_TRUE(listed());
  ga_options[GA_OPT_GC_BLACKLIST] = 0;
  ga_gc_blacklist_begin(c + 3, true);
  ga_gc_mark_cycle = c + 3;
  ga_gc_blacklist_note(a, p + kPage); // GOALLOC_GC_BLACKLIST=0: not noted
  uint64_t map[GA_ARENA_WORDS];
  EXPECT_FALSE(ga_gc_blacklist_get(a, map) && (map[101 / 64] >> (101 % 64) & 1));
  ga_options[GA_OPT_GC_BLACKLIST] = opt;
  ga_gc_mark_cycle = saved;
}

// The background scavenger passes over chunks where pages were freed during
// the current or the previous period; malloc_trim (recent = true) does not.
TEST_F(PageAlloc, ScavengerWaitsForRecentlyFreedChunks) {
  HeapLock lock;
  // Everything already free becomes old: two periods go by.
  ga_pages_gen += 2;
  uintptr_t tb;
  size_t tn;
  while (ga_pages_take_unscavenged(&tb, &tn, 1 << 20, true)) ga_pages_put_scavenged(tb, tn);
  const size_t k = 24;
  bool nz;
  uintptr_t base = alloc_checked(k, 1, &nz);
  ASSERT_NE(base, 0u);
  free_checked(base, k);  // freed in this period
  EXPECT_FALSE(ga_pages_take_unscavenged(&tb, &tn, 1000, false)) << "freed in this period";
  ga_pages_gen++;
  EXPECT_FALSE(ga_pages_take_unscavenged(&tb, &tn, 1000, false)) << "freed in the last period";
  ga_pages_gen++;
  ASSERT_TRUE(ga_pages_take_unscavenged(&tb, &tn, 1000, false)) << "two periods ago: old enough";
  EXPECT_EQ(tb, base);
  EXPECT_EQ(tn, k);
  ga_pages_put_scavenged(tb, tn);
  // A trim takes recently freed pages at once.
  base = alloc_checked(k, 1, &nz);
  free_checked(base, k);
  ASSERT_TRUE(ga_pages_take_unscavenged(&tb, &tn, 1000, true));
  EXPECT_EQ(tb, base);
  ga_pages_put_scavenged(tb, tn);
  EXPECT_TRUE(stats_consistent());
}

TEST_F(PageAlloc, SpansGoThroughThePageAllocator) {
  // ga_heap_alloc_span places large spans (class 0) by best fit
  // (ga_pages_alloc_best); small spans by first fit.
  uintptr_t want;
  {
    HeapLock lock;
    want = ref_best_fit(3);
  }
  uint64_t inuse = ga_pages_stats.inuse_pages;
  ga_span_t *s = ga_heap_alloc_span(3, 1, 0);
  ASSERT_NE(s, nullptr);
  if (want) { EXPECT_EQ(s->base, want); }
  EXPECT_EQ(ga_pages_stats.inuse_pages, inuse + 3);
  ga_heap_free_span(s);
  EXPECT_EQ(ga_pages_stats.inuse_pages, inuse);
  HeapLock lock;
  EXPECT_TRUE(stats_consistent());
}

// ga_heap_alloc_span asks for clean pages for large spans and spans of
// scanned small objects, not for noscan small spans (gc/blacklist.h).
TEST_F(PageAlloc, ScannedSmallSpansAvoidBlacklistedPages) {
  Blacklist bl;
  const unsigned sc = 5; // one page (ga_class_npages)
  ga_span_t *s = ga_heap_alloc_span(1, 1, ga_spanclass(sc, 1));
  ASSERT_NE(s, nullptr);
  uintptr_t x = s->base;
  ga_heap_free_span(s);
  {
    HeapLock lock;
    Blacklist::add(ga_arena_of(x), (x >> GA_PAGE_SHIFT) & (GA_PAGES_PER_ARENA - 1), 1);
  }
  s = ga_heap_alloc_span(1, 1, ga_spanclass(sc, 1));
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->base, x) << "a noscan span may use the blacklisted page";
  ga_heap_free_span(s);
  s = ga_heap_alloc_span(1, 1, ga_spanclass(sc, 0));
  ASSERT_NE(s, nullptr);
  EXPECT_NE(s->base, x) << "a scanned span was placed on the blacklisted page";
  ga_heap_free_span(s);
  s = ga_heap_alloc_span(1, 1, 0);
  ASSERT_NE(s, nullptr);
  EXPECT_NE(s->base, x) << "a large span was placed on the blacklisted page";
  ga_heap_free_span(s);
}

}  // namespace
