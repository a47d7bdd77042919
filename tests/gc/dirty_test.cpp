// Dirty page tracking with userfaultfd WP-async + PAGEMAP_SCAN: exactly the
// written pages are reported (writes from other threads and from the kernel
// included), and collecting re-protects them.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "gc_util.h"

namespace {

constexpr size_t kPage = 4096;
constexpr size_t kRegion = 64u << 20;

std::set<size_t> collect_pages(uintptr_t base, size_t len, size_t *reported = nullptr,
                               bool peek = false) {
  struct Ctx {
    uintptr_t base;
    std::set<size_t> pages;
  } c = {base, {}};
  size_t n = (peek ? ga_gc_dirty_peek : ga_gc_dirty_collect)(
      base, len,
      [](uintptr_t lo, uintptr_t hi, void *p) {
        Ctx *c = static_cast<Ctx *>(p);
        EXPECT_EQ(lo % kPage, 0u);
        EXPECT_EQ(hi % kPage, 0u);
        EXPECT_LT(lo, hi);
        for (uintptr_t a = lo; a < hi; a += kPage) c->pages.insert((a - c->base) / kPage);
      },
      &c);
  if (reported) *reported = n;
  return c.pages;
}

class Dirty : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    bool ok = ga_gc_dirty_init();
    printf("dirty tracking: %s%s%s\n", ok ? "userfaultfd WP-async + PAGEMAP_SCAN" : "fallback (all dirty)",
           ok ? "" : ": ", ok ? "" : ga_gc_dirty_probe_error());
  }
  void SetUp() override {
    if (ga_gc_dirty_mode() != GA_GC_DIRTY_UFFD)
      GTEST_SKIP() << "kernel lacks WP-async/PAGEMAP_SCAN: " << ga_gc_dirty_probe_error();
    mem = static_cast<char *>(
        mmap(nullptr, kRegion, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    ASSERT_NE(mem, MAP_FAILED);
    // 4 KiB precision: with THP a written huge page is reported whole.
    madvise(mem, kRegion, MADV_NOHUGEPAGE);
    base = (uintptr_t)mem;
  }
  void TearDown() override {
    if (mem) munmap(mem, kRegion);
  }
  char *mem = nullptr;
  uintptr_t base = 0;
};

}  // namespace

TEST(DirtyProbe, ReportsMode) {
  ga_gc_dirty_init();
  EXPECT_NE(ga_gc_dirty_mode(), GA_GC_DIRTY_NONE);
  if (ga_gc_dirty_mode() == GA_GC_DIRTY_ALL) EXPECT_NE(ga_gc_dirty_probe_error(), nullptr);
  else EXPECT_EQ(ga_gc_dirty_probe_error(), nullptr);
}

TEST_F(Dirty, ExactlyTheWrittenPages) {
  // Some pages populated before tracking starts; most never touched.
  for (size_t p = 0; p < 64; p++) mem[p * kPage] = 1;
  ASSERT_TRUE(ga_gc_dirty_track(base, kRegion));
  EXPECT_TRUE(collect_pages(base, kRegion).empty()) << "nothing written since track";

  // Written before the epoch starts: forgotten by reset.
  mem[5 * kPage] = 2;
  ASSERT_TRUE(ga_gc_dirty_reset(base, kRegion));
  EXPECT_TRUE(collect_pages(base, kRegion).empty());

  std::set<size_t> want = {0, 1, 3, 63, 64, 100, 4095, 4096, 10000, kRegion / kPage - 1};
  for (size_t p : want) mem[p * kPage + 123] = 7;
  // Reads do not count, in populated or unpopulated pages.
  volatile char sink = mem[2 * kPage] + mem[200 * kPage];
  (void)sink;

  // A write from another thread.
  std::thread([&] { mem[777 * kPage + 8] = 9; }).join();
  want.insert(777);

  // A write by the kernel: read() into a protected, unpopulated page.
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  ASSERT_EQ(write(fds[1], "kernel", 6), 6);
  ASSERT_EQ(read(fds[0], mem + 5000 * kPage + 10, 6), 6);
  want.insert(5000);
  // And into a populated one (page 40 was touched before tracking).
  ASSERT_EQ(write(fds[1], "again", 5), 5);
  ASSERT_EQ(read(fds[0], mem + 40 * kPage, 5), 5);
  want.insert(40);
  close(fds[0]);
  close(fds[1]);

  size_t n = 0;
  std::set<size_t> got = collect_pages(base, kRegion, &n);
  EXPECT_EQ(got, want);
  EXPECT_EQ(n, want.size());
  EXPECT_EQ(memcmp(mem + 5000 * kPage + 10, "kernel", 6), 0);

  // Collecting protected them again: nothing until the next write.
  EXPECT_TRUE(collect_pages(base, kRegion).empty());
  mem[100 * kPage] = 1;
  mem[101 * kPage] = 1;
  EXPECT_EQ(collect_pages(base, kRegion), (std::set<size_t>{100, 101}));
  EXPECT_TRUE(collect_pages(base, kRegion).empty());
  ASSERT_TRUE(ga_gc_dirty_untrack(base, kRegion));
}

// The final pause's look: the written pages, left written (a second peek
// sees them again); suspending ends the epoch: writes after it are not
// recorded (nor fault) until the next reset, which starts recording again.
TEST_F(Dirty, PeekLeavesPagesWrittenAndSuspendStopsRecording) {
  for (size_t p = 0; p < 16; p++) mem[p * kPage] = 1;
  ASSERT_TRUE(ga_gc_dirty_track(base, kRegion));
  mem[3 * kPage] = 2;
  mem[9 * kPage] = 2;
  const std::set<size_t> want = {3, 9};
  size_t n = 0;
  EXPECT_EQ(collect_pages(base, kRegion, &n, true), want);
  EXPECT_EQ(n, 2u);
  EXPECT_EQ(collect_pages(base, kRegion, nullptr, true), want) << "peek re-protected them";

  ASSERT_TRUE(ga_gc_dirty_suspend(base, kRegion));
  // Every populated page now reads as written: none is protected.
  std::set<size_t> all = collect_pages(base, kRegion, nullptr, true);
  for (size_t p = 0; p < 16; p++) EXPECT_TRUE(all.count(p)) << "page " << p << " still protected";

  ASSERT_TRUE(ga_gc_dirty_reset(base, kRegion));
  EXPECT_TRUE(collect_pages(base, kRegion, nullptr, true).empty());
  mem[5 * kPage] = 3;
  EXPECT_EQ(collect_pages(base, kRegion), (std::set<size_t>{5}));
  ASSERT_TRUE(ga_gc_dirty_untrack(base, kRegion));
}

TEST_F(Dirty, ManyRunsNeedSeveralScans) {
  // More written runs than the 64-entry vector one ioctl returns.
  ASSERT_TRUE(ga_gc_dirty_track(base, kRegion));
  std::set<size_t> want;
  for (size_t p = 0; p < 3000; p += 3) {
    mem[p * kPage] = 1;
    want.insert(p);
  }
  EXPECT_EQ(collect_pages(base, kRegion), want);
  EXPECT_TRUE(collect_pages(base, kRegion).empty());
  ga_gc_dirty_untrack(base, kRegion);
}

TEST_F(Dirty, SubrangesAndAdjacentRuns) {
  ASSERT_TRUE(ga_gc_dirty_track(base, kRegion));
  for (size_t p = 10; p < 20; p++) mem[p * kPage] = 1;  // one run of 10
  mem[30 * kPage] = 1;
  // Only [15, 25) asked: pages 15..19 reported, 10..14 and 30 kept.
  EXPECT_EQ(collect_pages(base + 15 * kPage, 10 * kPage),
            (std::set<size_t>{0, 1, 2, 3, 4}));  // relative to the subrange
  EXPECT_EQ(collect_pages(base, kRegion), (std::set<size_t>{10, 11, 12, 13, 14, 30}));
  ga_gc_dirty_untrack(base, kRegion);
}

TEST_F(Dirty, ConcurrentWritersNeverLoseAWrite) {
  // Writers dirty pages while collects run back to back. A writer that saw
  // `started` == c and then wrote page p knows the write came after
  // collect c-1 began, so p must be reported by collect c-1 (then in
  // progress) or a later one: a write that lands between a collect's
  // report and its re-protection must not vanish. (Reading `started` after
  // the store would prove nothing: the writer may be preempted in between
  // while many collects run.)
  ASSERT_TRUE(ga_gc_dirty_track(base, kRegion));
  constexpr size_t kPages = 2048;
  std::vector<std::atomic<int>> last_write(kPages);
  std::vector<int> last_seen(kPages, -1);
  for (auto &x : last_write) x = -1;
  std::atomic<int> started{0};
  std::atomic<bool> quit{false};
  std::atomic<uint64_t> writes{0};
  auto writer = [&](uint64_t x) {
    while (!quit.load(std::memory_order_relaxed)) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      size_t p = (x >> 33) % kPages;
      int c = started.load();
      __atomic_store_n(&mem[p * kPage + 64], (char)1, __ATOMIC_SEQ_CST);
      int old = last_write[p].load();
      while (old < c && !last_write[p].compare_exchange_weak(old, c)) {
      }
      writes++;
    }
  };
  std::thread w1(writer, 1), w2(writer, 2);
  auto run_collect = [&] {
    int idx = started.fetch_add(1);
    struct Ctx {
      uintptr_t base;
      std::vector<int> *seen;
      int idx;
    } c = {base, &last_seen, idx};
    ga_gc_dirty_collect(
        base, kPages * kPage,
        [](uintptr_t lo, uintptr_t hi, void *p) {
          Ctx *c = static_cast<Ctx *>(p);
          for (uintptr_t a = lo; a < hi; a += kPage) (*c->seen)[(a - c->base) / kPage] = c->idx;
        },
        &c);
  };
  // Until the writers have done real work (they may be starved while other
  // tests run in parallel), at most 5 s.
  auto t0 = std::chrono::steady_clock::now();
  for (int round = 0; (round < 1000 || writes.load() < 20000) &&
                      std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5);
       round++)
    run_collect();
  quit = true;
  w1.join();
  w2.join();
  run_collect();  // the final one sees whatever the last writes left
  size_t checked = 0;
  for (size_t p = 0; p < kPages; p++) {
    int c = last_write[p].load();
    if (c < 0) continue;
    checked++;
    EXPECT_GE(last_seen[p], c - 1) << "page " << p << " written after collect " << c - 1 << " began";
  }
  EXPECT_GT(checked, kPages / 4);
  EXPECT_GT(writes.load(), 1000u);
  ga_gc_dirty_untrack(base, kRegion);
}

TEST_F(Dirty, UntrackedRangeIsAnsweredConservatively) {
  // Track only the first half. Asking about the tracked half is precise;
  // asking about the whole region never fails: from the ioctl that met the
  // untracked half on, everything is reported dirty.
  ASSERT_TRUE(ga_gc_dirty_track(base, kRegion / 2));
  mem[3 * kPage] = 1;
  EXPECT_EQ(collect_pages(base, kRegion / 2), (std::set<size_t>{3}));
  mem[5 * kPage] = 1;
  auto got = collect_pages(base, kRegion);
  EXPECT_TRUE(got.count(5));
  for (size_t p = kRegion / 2 / kPage; p < kRegion / kPage; p++) ASSERT_TRUE(got.count(p)) << p;
  ga_gc_dirty_untrack(base, kRegion / 2);
}

TEST_F(Dirty, MadvDontneedPagesAreWrittenAgainWhenReused) {
  // goalloc's scavenger releases pages with MADV_DONTNEED. Their content
  // changes (to zeros): the kernel may report them once (this one does:
  // the zap drops their protection), never afterwards without a write; a
  // later write to them is seen.
  ASSERT_TRUE(ga_gc_dirty_track(base, kRegion));
  for (size_t p = 0; p < 16; p++) mem[p * kPage] = 1;
  collect_pages(base, kRegion);
  ASSERT_EQ(madvise(mem, 16 * kPage, MADV_DONTNEED), 0);
  for (size_t p : collect_pages(base, kRegion)) EXPECT_LT(p, 16u);
  EXPECT_TRUE(collect_pages(base, kRegion).empty());
  mem[7 * kPage] = 1;
  EXPECT_EQ(collect_pages(base, kRegion), (std::set<size_t>{7}));
  EXPECT_EQ(mem[8 * kPage], 0);
  EXPECT_TRUE(collect_pages(base, kRegion).empty()) << "a read is not a write";
  ga_gc_dirty_untrack(base, kRegion);
}
