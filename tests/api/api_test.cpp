// The C entry points, each tested under its libc name and its goalloc_ twin
// (a parametrised suite), plus what only one of the two spellings has.
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <dlfcn.h>
#include <malloc.h>
#include <unistd.h>

#include "api_util.h"

using namespace api;

namespace {

// One spelling of the API. Lambdas adapt the few signatures that differ
// (malloc_usable_size takes a non-const pointer).
struct Api {
  const char *name;
  void *(*malloc)(size_t);
  void (*free)(void *);
  void *(*calloc)(size_t, size_t);
  void *(*realloc)(void *, size_t);
  void *(*reallocarray)(void *, size_t, size_t);
  int (*posix_memalign)(void **, size_t, size_t);
  void *(*aligned_alloc)(size_t, size_t);
  void *(*memalign)(size_t, size_t);
  void *(*valloc)(size_t);
  void *(*pvalloc)(size_t);
  size_t (*usable)(void *);
  void (*free_sized)(void *, size_t);
  void (*free_aligned_sized)(void *, size_t, size_t);
  int (*trim)(size_t);
};

const Api kLibc = {
    "libc",
    [](size_t n) { return malloc(n); },
    [](void *p) { free(p); },
    [](size_t n, size_t s) { return calloc(n, s); },
    [](void *p, size_t n) { return realloc(p, n); },
    [](void *p, size_t n, size_t s) { return reallocarray(p, n, s); },
    [](void **o, size_t a, size_t n) { return posix_memalign(o, a, n); },
    [](size_t a, size_t n) { return aligned_alloc(a, n); },
    [](size_t a, size_t n) { return memalign(a, n); },
    [](size_t n) { return valloc(n); },
    [](size_t n) { return pvalloc(n); },
    [](void *p) { return malloc_usable_size(p); },
    [](void *p, size_t n) { free_sized(p, n); },
    [](void *p, size_t a, size_t n) { free_aligned_sized(p, a, n); },
    [](size_t pad) { return malloc_trim(pad); },
};

const Api kGoalloc = {
    "goalloc",
    [](size_t n) { return goalloc_malloc(n); },
    [](void *p) { goalloc_free(p); },
    [](size_t n, size_t s) { return goalloc_calloc(n, s); },
    [](void *p, size_t n) { return goalloc_realloc(p, n); },
    [](void *p, size_t n, size_t s) { return goalloc_reallocarray(p, n, s); },
    [](void **o, size_t a, size_t n) { return goalloc_posix_memalign(o, a, n); },
    [](size_t a, size_t n) { return goalloc_aligned_alloc(a, n); },
    [](size_t a, size_t n) { return goalloc_memalign(a, n); },
    [](size_t n) { return goalloc_valloc(n); },
    [](size_t n) { return goalloc_pvalloc(n); },
    [](void *p) { return goalloc_usable_size(p); },
    [](void *p, size_t n) { goalloc_free_sized(p, n); },
    [](void *p, size_t a, size_t n) { goalloc_free_aligned_sized(p, a, n); },
    [](size_t pad) { return goalloc_trim(pad); },
};

class ApiTest : public ::testing::TestWithParam<const Api *> {
 protected:
  const Api &A() const { return *GetParam(); }
};

// Large sizes: just past the small limit, page and MiB boundaries, one
// arena (64 MiB) and more than one arena.
const std::vector<size_t> kLargeSizes = {
    kMaxSmall + 1, kMaxSmall + 8, 36 * KiB,       40000,      64 * KiB,
    64 * KiB + 1,  MiB - 1,       MiB,            MiB + 1,    10 * MiB + 123,
    64 * MiB - 1,  64 * MiB,      64 * MiB + 1,   100 * MiB + 7};

// Every small size 1..32768 once, a few objects live at a time so that
// overlapping blocks would corrupt each other's pattern.
TEST_P(ApiTest, EverySmallSizeRoundedAlignedAndWritable) {
  constexpr int kLive = 6;
  void *live[kLive] = {};
  size_t live_n[kLive] = {};
  for (size_t n = 1; n <= kMaxSmall; n++) {
    int slot = (int)(n % kLive);
    if (live[slot]) {
      ASSERT_EQ(check_pattern(live[slot], live_n[slot], (uint32_t)live_n[slot]),
                live_n[slot]) << "block of size " << live_n[slot] << " was overwritten";
      A().free(live[slot]);
    }
    void *p = A().malloc(n);
    ASSERT_NE(p, nullptr) << "malloc(" << n << ")";
    size_t u = A().usable(p);
    ASSERT_GE(u, n) << "usable size of malloc(" << n << ")";
    ASSERT_LE(u, max_usable_small(n)) << "malloc(" << n << ") not rounded to its Go size class";
    ASSERT_TRUE(is_aligned(p, required_malloc_align(n)))
        << "malloc(" << n << ") = " << p << " needs alignment " << required_malloc_align(n);
    fill_pattern(p, u, (uint32_t)u);
    live[slot] = p;
    live_n[slot] = u;
  }
  for (int i = 0; i < kLive; i++) {
    ASSERT_EQ(check_pattern(live[i], live_n[i], (uint32_t)live_n[i]), live_n[i]);
    A().free(live[i]);
  }
}

// Many objects of every class boundary at once: the class size itself, one
// byte above (next class) and one below.
TEST_P(ApiTest, ClassBoundariesManyLiveObjects) {
  std::vector<std::pair<void *, size_t>> blocks;
  uint32_t seed = 0;
  for (size_t c : kClassSizes) {
    for (size_t n : {c - 1, c, c + 1}) {
      if (n == 0) continue;
      for (int k = 0; k < 20; k++) {
        void *p = A().malloc(n);
        ASSERT_NE(p, nullptr);
        size_t u = A().usable(p);
        ASSERT_GE(u, n);
        if (n <= kMaxSmall) {
          ASSERT_LE(u, max_usable_small(n)) << "n=" << n;
        }
        ASSERT_TRUE(is_aligned(p, required_malloc_align(n))) << "n=" << n;
        fill_pattern(p, u, seed + k);
        blocks.emplace_back(p, u);
      }
      seed += 20;
    }
  }
  std::set<void *> distinct;
  seed = 0;
  size_t i = 0;
  for (size_t c : kClassSizes) {
    for (size_t n : {c - 1, c, c + 1}) {
      if (n == 0) continue;
      for (int k = 0; k < 20; k++, i++) {
        auto [p, u] = blocks[i];
        EXPECT_TRUE(distinct.insert(p).second) << "pointer handed out twice: " << p;
        EXPECT_EQ(check_pattern(p, u, seed + k), u) << "block of size " << n << " corrupted";
      }
      seed += 20;
    }
  }
  for (auto &b : blocks) A().free(b.first);
}

TEST_P(ApiTest, LargeSizesAllLiveAtOnce) {
  std::vector<std::pair<void *, size_t>> blocks;
  for (size_t n : kLargeSizes) {
    void *p = A().malloc(n);
    ASSERT_NE(p, nullptr) << "malloc(" << n << ")";
    size_t u = A().usable(p);
    ASSERT_GE(u, n);
    ASSERT_TRUE(is_aligned(p, 16));
    fill_pattern(p, u, (uint32_t)n);
    blocks.emplace_back(p, u);
  }
  for (size_t i = 0; i < blocks.size(); i++) {
    auto [p, u] = blocks[i];
    EXPECT_EQ(check_pattern(p, u, (uint32_t)kLargeSizes[i]), u)
        << "large block of size " << kLargeSizes[i] << " corrupted";
  }
  for (auto &b : blocks) A().free(b.first);
}

// Tiny requests share 16-byte blocks: writing the whole usable size of one
// must not touch its neighbours.
TEST_P(ApiTest, TinyObjectsDoNotOverlap) {
  std::vector<std::pair<void *, size_t>> blocks;
  for (int round = 0; round < 200; round++) {
    for (size_t n = 1; n < 16; n++) {
      void *p = A().malloc(n);
      ASSERT_NE(p, nullptr);
      size_t u = A().usable(p);
      ASSERT_GE(u, n);
      ASSERT_LE(u, 16u);
      ASSERT_TRUE(is_aligned(p, required_malloc_align(n))) << "malloc(" << n << ") = " << p;
      fill_pattern(p, u, (uint32_t)blocks.size());
      blocks.emplace_back(p, u);
    }
  }
  for (size_t i = 0; i < blocks.size(); i++)
    ASSERT_EQ(check_pattern(blocks[i].first, blocks[i].second, (uint32_t)i), blocks[i].second)
        << "tiny block " << i << " overwritten by a neighbour";
  for (auto &b : blocks) A().free(b.first);
}

TEST_P(ApiTest, MallocZeroIsUniqueAndFreeable) {
  std::set<void *> seen;
  std::vector<void *> ps;
  for (int i = 0; i < 1000; i++) {
    void *p = A().malloc(0);
    ASSERT_NE(p, nullptr);
    EXPECT_TRUE(seen.insert(p).second) << "malloc(0) returned " << p << " twice";
    ps.push_back(p);
  }
  for (void *p : ps) A().free(p);
}

TEST_P(ApiTest, ImpossibleMallocIsENOMEM) {
  for (size_t n : {kHugeSize, (size_t)PTRDIFF_MAX, SIZE_MAX, SIZE_MAX - 4095}) {
    errno = 0;
    void *p = A().malloc(opaque_size(n));
    EXPECT_EQ(p, nullptr) << "malloc(" << n << ")";
    EXPECT_EQ(errno, ENOMEM) << "malloc(" << n << ")";
  }
}

// calloc must zero even memory that was dirtied by a previous owner.
TEST_P(ApiTest, CallocZeroesReusedMemory) {
  std::vector<size_t> sizes = {1, 3, 8, 15, 16, 17, 100, 1000, 4096, 5000, kMaxSmall};
  sizes.insert(sizes.end(), {kMaxSmall + 1, MiB, 3 * MiB + 5});
  for (size_t n : sizes) {
    std::vector<void *> ps;
    for (int i = 0; i < 32; i++) {
      void *p = A().malloc(n);
      ASSERT_NE(p, nullptr);
      std::memset(p, 0xA5, A().usable(p));
      ps.push_back(p);
    }
    for (void *p : ps) A().free(p);
    ps.clear();
    for (int i = 0; i < 32; i++) {
      auto *p = static_cast<unsigned char *>(A().calloc(1, n));
      ASSERT_NE(p, nullptr);
      ASSERT_TRUE(all_zero(p, n)) << "calloc(1, " << n << ") returned dirty memory";
      ps.push_back(p);
    }
    for (void *p : ps) A().free(p);
  }
  // n * size form, several element sizes.
  for (auto [cnt, sz] : std::vector<std::pair<size_t, size_t>>{{10, 10}, {3, 1000}, {1000, 100}, {4, MiB}}) {
    void *d = A().malloc(cnt * sz);
    ASSERT_NE(d, nullptr);
    std::memset(d, 0x5A, cnt * sz);
    A().free(d);
    void *p = A().calloc(cnt, sz);
    ASSERT_NE(p, nullptr);
    ASSERT_GE(A().usable(p), cnt * sz);
    EXPECT_TRUE(all_zero(p, cnt * sz)) << "calloc(" << cnt << ", " << sz << ")";
    A().free(p);
  }
}

// Pages returned to the OS (e.g. with MADV_FREE) may come back with old
// contents; calloc must not assume they are zero.
TEST_P(ApiTest, CallocZeroesAfterTrim) {
  const std::vector<size_t> sizes = {16, 48, 512, 4096, 8192, 20000, kMaxSmall, 100 * KiB, 2 * MiB};
  for (size_t n : sizes) {
    std::vector<void *> ps;
    size_t count = std::max<size_t>(4, 4 * MiB / n);
    for (size_t i = 0; i < count; i++) {
      void *p = A().malloc(n);
      ASSERT_NE(p, nullptr);
      std::memset(p, 0xC3, n);
      ps.push_back(p);
    }
    for (void *p : ps) A().free(p);
    A().trim(0);
    for (size_t i = 0; i < count; i++) {
      void *p = A().calloc(n, 1);
      ASSERT_NE(p, nullptr);
      ASSERT_TRUE(all_zero(p, n)) << "calloc(" << n << ", 1) after trim returned dirty memory";
      ps[i] = p;
    }
    for (void *p : ps) A().free(p);
  }
}

TEST_P(ApiTest, CallocOverflowIsENOMEM) {
  const std::vector<std::pair<size_t, size_t>> cases = {
      {SIZE_MAX, 2}, {2, SIZE_MAX}, {SIZE_MAX / 2 + 1, 2}, {(size_t)1 << 32, (size_t)1 << 32},
      {1, kHugeSize}, {kHugeSize, 1}, {(size_t)1 << 62, 2}};
  for (auto [n, s] : cases) {
    errno = 0;
    void *p = A().calloc(opaque_size(n), opaque_size(s));
    EXPECT_EQ(p, nullptr) << "calloc(" << n << ", " << s << ")";
    EXPECT_EQ(errno, ENOMEM) << "calloc(" << n << ", " << s << ")";
  }
}

// small -> large -> small, checking the kept prefix at every step.
TEST_P(ApiTest, ReallocKeepsContents) {
  const std::vector<size_t> steps = {
      1,     5,     8,  16,  17,   100,  1000, 4096, 6000, kMaxSmall, kMaxSmall + 1,
      100 * KiB, MiB, 10 * MiB + 3, 70 * MiB, 3 * MiB, 300 * KiB, kMaxSmall + 1, kMaxSmall, 9000,
      513, 64, 16, 15, 3, 1};
  void *p = A().realloc(nullptr, steps[0]);  // realloc(NULL, n) == malloc(n)
  ASSERT_NE(p, nullptr);
  size_t u = A().usable(p);
  ASSERT_GE(u, steps[0]);
  fill_pattern(p, u, 7);
  for (size_t i = 1; i < steps.size(); i++) {
    size_t n = steps[i];
    void *q = A().realloc(p, n);
    ASSERT_NE(q, nullptr) << "realloc to " << n;
    size_t keep = std::min(u, n);
    ASSERT_EQ(check_pattern(q, keep, 7), keep) << "realloc " << u << " -> " << n << " lost data";
    u = A().usable(q);
    ASSERT_GE(u, n);
    ASSERT_TRUE(is_aligned(q, required_malloc_align(n)));
    fill_pattern(q, u, 7);
    p = q;
  }
  A().free(p);
}

// Shrinking and growing within the same class and repeatedly: contents stay.
TEST_P(ApiTest, ReallocSameSizeAndInPlaceSequences) {
  for (size_t n : {10, 100, 5000, 40000, 2000000}) {
    void *p = A().malloc(n);
    ASSERT_NE(p, nullptr);
    fill_pattern(p, n, 3);
    for (int i = 0; i < 20; i++) {
      size_t m = (i % 2) ? n : n - n / 4;
      p = A().realloc(p, m);
      ASSERT_NE(p, nullptr);
      ASSERT_EQ(check_pattern(p, n - n / 4, 3), n - n / 4);
      fill_pattern(p, m, 3);
    }
    A().free(p);
  }
}

// glibc semantics: realloc(p, 0) frees p and returns NULL.
TEST_P(ApiTest, ReallocToZeroFrees) {
  void *small = A().malloc(100);
  ASSERT_NE(small, nullptr);
  uint64_t objs = stats().alloc_objects;
  void *z = A().realloc(small, 0);
  uint64_t objs_after = stats().alloc_objects;
  EXPECT_EQ(z, nullptr);
  EXPECT_EQ(objs_after + 1, objs) << "realloc(p, 0) did not free the small block";

  void *big = A().malloc(4 * MiB);
  ASSERT_NE(big, nullptr);
  uint64_t before = stats().large_objects;
  void *r = A().realloc(big, 0);
  uint64_t after = stats().large_objects;
  EXPECT_EQ(r, nullptr);
  EXPECT_EQ(after + 1, before) << "realloc(p, 0) did not free the large block";
}

TEST_P(ApiTest, FailedReallocLeavesBlockIntact) {
  for (size_t n : std::vector<size_t>{24, 3000, 100000, 5 * MiB}) {
    void *p = A().malloc(n);
    ASSERT_NE(p, nullptr);
    fill_pattern(p, n, 11);
    for (size_t huge : {kHugeSize, SIZE_MAX, SIZE_MAX - 64}) {
      errno = 0;
      void *q = A().realloc(p, opaque_size(huge));
      EXPECT_EQ(q, nullptr) << "realloc(p, " << huge << ")";
      EXPECT_EQ(errno, ENOMEM);
      ASSERT_EQ(check_pattern(p, n, 11), n) << "failed realloc damaged the old block";
      ASSERT_GE(A().usable(p), n);
    }
    // The block is still owned and still usable.
    void *q = A().realloc(p, n * 2);
    ASSERT_NE(q, nullptr);
    EXPECT_EQ(check_pattern(q, n, 11), n);
    A().free(q);
  }
}

TEST_P(ApiTest, ReallocArray) {
  // reallocarray(NULL, n, s) is malloc(n * s).
  auto *p = static_cast<uint32_t *>(A().reallocarray(nullptr, 10, sizeof(uint32_t)));
  ASSERT_NE(p, nullptr);
  ASSERT_GE(A().usable(p), 10 * sizeof(uint32_t));
  for (uint32_t i = 0; i < 10; i++) p[i] = i * 7919;
  size_t have = 10;
  for (size_t n : {100, 10000, 100000, 500, 3}) {
    auto *q = static_cast<uint32_t *>(A().reallocarray(p, n, sizeof(uint32_t)));
    ASSERT_NE(q, nullptr);
    ASSERT_GE(A().usable(q), n * sizeof(uint32_t));
    for (uint32_t i = 0; i < std::min(have, n); i++) ASSERT_EQ(q[i], i * 7919) << "n=" << n;
    for (uint32_t i = 0; i < n; i++) q[i] = i * 7919;
    p = q;
    have = n;
  }
  // Overflow of n * size: NULL, ENOMEM, block untouched.
  for (auto [n, s] : std::vector<std::pair<size_t, size_t>>{
           {SIZE_MAX, 2}, {(size_t)1 << 33, (size_t)1 << 33}, {kHugeSize, 1}, {SIZE_MAX / 4 + 1, 4}}) {
    errno = 0;
    EXPECT_EQ(A().reallocarray(p, opaque_size(n), opaque_size(s)), nullptr) << n << " x " << s;
    EXPECT_EQ(errno, ENOMEM);
    for (uint32_t i = 0; i < have; i++) ASSERT_EQ(p[i], i * 7919);
  }
  A().free(p);
}

const std::vector<size_t> kAlignSizes = {1, 7, 16, 100, 4096, 5000, kMaxSmall, kMaxSmall + 1, 300 * KiB};

TEST_P(ApiTest, PosixMemalignEveryAlignment) {
  for (size_t a = sizeof(void *); a <= MiB; a *= 2) {
    for (size_t n : kAlignSizes) {
      void *p = reinterpret_cast<void *>(0x1);
      ASSERT_EQ(A().posix_memalign(&p, a, n), 0) << "align " << a << " size " << n;
      ASSERT_NE(p, nullptr);
      ASSERT_TRUE(is_aligned(p, a)) << p << " align " << a << " size " << n;
      size_t u = A().usable(p);
      ASSERT_GE(u, n);
      fill_pattern(p, u, (uint32_t)a);
      ASSERT_EQ(check_pattern(p, u, (uint32_t)a), u);
      A().free(p);
    }
  }
}

TEST_P(ApiTest, PosixMemalignErrorsLeaveOutAndErrnoAlone) {
  void *sentinel = reinterpret_cast<void *>(0xdeadbeef);
  // Not a power of two, or not a multiple of sizeof(void *).
  for (size_t a : {0, 1, 2, 4, 3, 12, 24, 40, 4096 + 8, 3 * 4096}) {
    void *p = sentinel;
    errno = 1234;
    EXPECT_EQ(A().posix_memalign(&p, opaque_size(a), 64), EINVAL) << "align " << a;
    EXPECT_EQ(p, sentinel) << "*out written on failure, align " << a;
    EXPECT_EQ(errno, 1234) << "posix_memalign set errno, align " << a;
  }
  // Satisfiable alignment, impossible size; impossible alignment.
  for (auto [a, n] : std::vector<std::pair<size_t, size_t>>{
           {64, kHugeSize}, {4096, SIZE_MAX}, {(size_t)1 << 62, 1}, {(size_t)1 << 63, 1}}) {
    void *p = sentinel;
    EXPECT_EQ(A().posix_memalign(&p, opaque_size(a), opaque_size(n)), ENOMEM)
        << "align " << a << " size " << n;
    EXPECT_EQ(p, sentinel) << "*out written on failure";
  }
}

TEST_P(ApiTest, AlignedAllocEveryAlignment) {
  for (size_t a = 1; a <= MiB; a *= 2) {
    for (size_t n : kAlignSizes) {
      void *p = A().aligned_alloc(a, n);
      ASSERT_NE(p, nullptr) << "aligned_alloc(" << a << ", " << n << ")";
      ASSERT_TRUE(is_aligned(p, a)) << p << " align " << a;
      size_t u = A().usable(p);
      ASSERT_GE(u, n);
      fill_pattern(p, u, (uint32_t)n);
      A().free(p);
    }
  }
  // Several live at once with big alignments: no overlap.
  std::vector<std::pair<void *, size_t>> live;
  for (size_t a = 4096; a <= MiB; a *= 2) {
    for (int k = 0; k < 3; k++) {
      void *p = A().aligned_alloc(a, a / 2 + 1);
      ASSERT_NE(p, nullptr);
      ASSERT_TRUE(is_aligned(p, a));
      fill_pattern(p, a / 2 + 1, (uint32_t)(a + k));
      live.emplace_back(p, a + k);
    }
  }
  for (auto [p, tag] : live) {
    size_t a = tag & ~(size_t)3;
    EXPECT_EQ(check_pattern(p, a / 2 + 1, (uint32_t)tag), a / 2 + 1);
    A().free(p);
  }
}

TEST_P(ApiTest, AlignedAllocErrors) {
  for (size_t a : std::vector<size_t>{0, 3, 6, 24, 100, 4097, 3 * 4096, MiB + 1}) {
    errno = 0;
    EXPECT_EQ(A().aligned_alloc(opaque_size(a), 64), nullptr) << "align " << a;
    EXPECT_EQ(errno, EINVAL) << "align " << a;
  }
  for (auto [a, n] : std::vector<std::pair<size_t, size_t>>{
           {64, kHugeSize}, {16, SIZE_MAX}, {(size_t)1 << 62, 1}, {(size_t)1 << 63, 16}}) {
    errno = 0;
    EXPECT_EQ(A().aligned_alloc(opaque_size(a), opaque_size(n)), nullptr) << a << ", " << n;
    EXPECT_EQ(errno, ENOMEM) << a << ", " << n;
  }
}

TEST_P(ApiTest, MemalignEveryAlignment) {
  for (size_t a = 1; a <= MiB; a *= 2) {
    for (size_t n : kAlignSizes) {
      void *p = A().memalign(a, n);
      ASSERT_NE(p, nullptr) << "memalign(" << a << ", " << n << ")";
      ASSERT_TRUE(is_aligned(p, a));
      size_t u = A().usable(p);
      ASSERT_GE(u, n);
      fill_pattern(p, u, 1);
      A().free(p);
    }
  }
  for (auto [a, n] : std::vector<std::pair<size_t, size_t>>{{(size_t)1 << 62, 1}, {64, kHugeSize}}) {
    errno = 0;
    EXPECT_EQ(A().memalign(opaque_size(a), opaque_size(n)), nullptr);
    EXPECT_EQ(errno, ENOMEM);
  }
}

TEST_P(ApiTest, VallocAndPvallocArePageAligned) {
  const size_t pg = page_size();
  for (size_t n : {1, 100, 4095, 4096, 4097, 20000, 100000, (int)MiB + 1}) {
    void *p = A().valloc(n);
    ASSERT_NE(p, nullptr) << "valloc(" << n << ")";
    EXPECT_TRUE(is_aligned(p, pg)) << p;
    EXPECT_GE(A().usable(p), n);
    fill_pattern(p, n, 2);
    A().free(p);

    // pvalloc rounds the size up to whole pages.
    size_t rounded = (n + pg - 1) / pg * pg;
    void *q = A().pvalloc(n);
    ASSERT_NE(q, nullptr) << "pvalloc(" << n << ")";
    EXPECT_TRUE(is_aligned(q, pg)) << q;
    EXPECT_GE(A().usable(q), rounded);
    fill_pattern(q, rounded, 2);
    EXPECT_EQ(check_pattern(q, rounded, 2), rounded);
    A().free(q);
  }
  errno = 0;
  EXPECT_EQ(A().valloc(opaque_size(kHugeSize)), nullptr);
  EXPECT_EQ(errno, ENOMEM);
  errno = 0;
  EXPECT_EQ(A().pvalloc(opaque_size(SIZE_MAX - 10)), nullptr);
  EXPECT_EQ(errno, ENOMEM);
}

TEST_P(ApiTest, UsableSizeOfNullIsZero) { EXPECT_EQ(A().usable(nullptr), 0u); }

TEST_P(ApiTest, FreeNullDoesNothing) {
  goalloc_stats_t before = stats();
  errno = 4321;
  A().free(nullptr);
  A().free_sized(nullptr, 0);
  A().free_sized(nullptr, 100);
  A().free_aligned_sized(nullptr, 64, 64);
  int e = errno;
  goalloc_stats_t after = stats();
  EXPECT_EQ(e, 4321);
  EXPECT_EQ(after.alloc_objects, before.alloc_objects);
  EXPECT_EQ(after.alloc_bytes, before.alloc_bytes);
}

// free() must not clobber errno, also when it returns spans or pages.
TEST_P(ApiTest, FreePreservesErrno) {
  std::vector<void *> ps;
  for (size_t n : {1, 3, 16, 100, 1000, 20000, (int)kMaxSmall, 40000, (int)MiB, 70 * (int)MiB})
    for (int i = 0; i < 200 && (n < MiB || i < 2); i++) ps.push_back(A().malloc(n));
  for (void *p : ps) {
    ASSERT_NE(p, nullptr);
    errno = 9876;
    A().free(p);
    ASSERT_EQ(errno, 9876) << "free(" << p << ") changed errno";
  }
  errno = 9876;
  A().trim(0);
  void *p = A().malloc(2 * MiB);
  A().free(p);
  EXPECT_EQ(errno, 9876);
}

// Allocating and freeing one object must leave alloc_objects/alloc_bytes
// exactly where they were: this is how the tests see that the free happened.
TEST_P(ApiTest, FreeSizedReleasesTheObject) {
  for (size_t n : {16, 17, 100, 1024, 5000, (int)kMaxSmall, (int)kMaxSmall + 1, 3 * (int)MiB}) {
    goalloc_stats_t s0 = stats();
    void *p = A().malloc(n);
    goalloc_stats_t s1 = stats();
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(s1.alloc_objects, s0.alloc_objects + 1) << "n=" << n;
    EXPECT_GE(s1.alloc_bytes, s0.alloc_bytes + n) << "n=" << n;
    std::memset(p, 1, n);
    A().free_sized(p, n);
    goalloc_stats_t s2 = stats();
    EXPECT_EQ(s2.alloc_objects, s0.alloc_objects) << "free_sized(p, " << n << ")";
    EXPECT_EQ(s2.alloc_bytes, s0.alloc_bytes) << "free_sized(p, " << n << ")";
  }
  // Tiny requests: freeable with free_sized too (no stats claim on them).
  for (size_t n = 1; n < 16; n++) {
    void *p = A().malloc(n);
    ASSERT_NE(p, nullptr);
    std::memset(p, 2, n);
    A().free_sized(p, n);
  }
}

TEST_P(ApiTest, FreeAlignedSizedReleasesTheObject) {
  for (size_t a : {16, 64, 4096, 65536, (int)MiB}) {
    for (size_t n : {a, 3 * a, a + 16}) {
      goalloc_stats_t s0 = stats();
      void *p = A().aligned_alloc(a, n);
      goalloc_stats_t s1 = stats();
      ASSERT_NE(p, nullptr);
      ASSERT_TRUE(is_aligned(p, a));
      EXPECT_EQ(s1.alloc_objects, s0.alloc_objects + 1);
      EXPECT_GE(s1.alloc_bytes, s0.alloc_bytes + n);
      std::memset(p, 3, n);
      A().free_aligned_sized(p, a, n);
      goalloc_stats_t s2 = stats();
      EXPECT_EQ(s2.alloc_objects, s0.alloc_objects) << "align " << a << " size " << n;
      EXPECT_EQ(s2.alloc_bytes, s0.alloc_bytes) << "align " << a << " size " << n;
    }
  }
}

// After freeing a large heap, trim gives every free page back: nothing free
// stays backed, the freed bytes count as released and the RSS drops.
TEST_P(ApiTest, TrimReleasesFreePages) {
  const size_t kBig = 64;  // x 1 MiB
  std::vector<void *> ps;
  for (size_t i = 0; i < kBig; i++) {
    void *p = A().malloc(MiB);
    ASSERT_NE(p, nullptr);
    std::memset(p, 0x77, MiB);
    ps.push_back(p);
  }
  for (int i = 0; i < 20000; i++) {
    void *p = A().malloc(1000);
    ASSERT_NE(p, nullptr);
    std::memset(p, 0x66, 1000);
    ps.push_back(p);
  }
  uint64_t rss_live = rss_bytes();
  for (void *p : ps) A().free(p);
  goalloc_stats_t freed = stats();
  int r = A().trim(0);
  goalloc_stats_t trimmed = stats();
  uint64_t rss_trimmed = rss_bytes();

  EXPECT_EQ(trimmed.heap_free, 0u) << "free pages still backed after trim";
  EXPECT_GE(trimmed.heap_released, freed.heap_released);
  EXPECT_GE(trimmed.heap_released, kBig * MiB);
  EXPECT_GE(trimmed.scavenged_total, freed.scavenged_total);
  EXPECT_LE(rss_trimmed + kBig * MiB, rss_live)
      << "RSS " << rss_live << " with the heap live, " << rss_trimmed << " after free + trim";
  // With the background scavenger off nothing else can have released the
  // pages first, so this trim is the one that released them.
  const char *sc = getenv("GOALLOC_SCAVENGE");
  if (sc && std::strcmp(sc, "0") == 0) {
    EXPECT_EQ(r, 1);
    EXPECT_GT(freed.heap_free, 0u);
  } else {
    EXPECT_TRUE(r == 0 || r == 1) << r;
  }
  // Nothing was freed since: nothing left to release.
  EXPECT_EQ(A().trim(0), 0);
}

INSTANTIATE_TEST_SUITE_P(Spellings, ApiTest, ::testing::Values(&kLibc, &kGoalloc),
                         [](const auto &info) { return std::string(info.param->name); });

// ---------------------------------------------------------------------------
// Entry points that exist only under one spelling.

TEST(LibcOnly, MallinfoTracksAllocatedBytes) {
  const size_t N = 8 * MiB;
  struct mallinfo2 m0 = mallinfo2();
  std::vector<void *> ps;
  for (int i = 0; i < 4; i++) ps.push_back(malloc(N / 8));  // large
  for (int i = 0; i < 4096; i++) ps.push_back(malloc(N / 2 / 4096));  // small
  struct mallinfo2 m1 = mallinfo2();
  for (void *p : ps) ASSERT_NE(p, nullptr);
  EXPECT_GE(m1.uordblks, m0.uordblks + N) << "uordblks did not grow by the allocated bytes";
  for (void *p : ps) free(p);
  struct mallinfo2 m2 = mallinfo2();
  EXPECT_LT(m2.uordblks, m1.uordblks);
  EXPECT_LE(m2.uordblks + N / 2, m1.uordblks) << "freeing the large blocks must show";
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
TEST(LibcOnly, OldMallinfoTracksAllocatedBytes) {
  const size_t N = 4 * MiB;
  struct mallinfo m0 = mallinfo();
  void *p = malloc(N);
  struct mallinfo m1 = mallinfo();
  ASSERT_NE(p, nullptr);
  EXPECT_GE((long)m1.uordblks, (long)m0.uordblks + (long)N);
  free(p);
  struct mallinfo m2 = mallinfo();
  EXPECT_LT(m2.uordblks, m1.uordblks);
}
#pragma GCC diagnostic pop

TEST(LibcOnly, MalloptIsHarmless) {
  // goalloc has no tunables behind mallopt: it must answer 0 or 1 and leave
  // the allocator working.
  for (auto [param, value] : std::vector<std::pair<int, int>>{
           {M_TRIM_THRESHOLD, 128 * 1024}, {M_MMAP_THRESHOLD, 1 << 20}, {M_ARENA_MAX, 2}, {12345, 1}}) {
    int r = mallopt(param, value);
    EXPECT_TRUE(r == 0 || r == 1) << "mallopt(" << param << ") = " << r;
  }
  void *p = malloc(100);
  ASSERT_NE(p, nullptr);
  EXPECT_GE(malloc_usable_size(p), 100u);
  free(p);
}

// Captures what f writes on fd 2 through a temporary file.
template <class F> std::string capture_stderr(F f) {
  fflush(stderr);
  FILE *tmp = tmpfile();
  if (!tmp) return "";
  int saved = dup(2);
  dup2(fileno(tmp), 2);
  f();
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  std::string s;
  rewind(tmp);
  char buf[4096];
  size_t k;
  while ((k = fread(buf, 1, sizeof buf, tmp)) > 0) s.append(buf, k);
  fclose(tmp);
  return s;
}

TEST(LibcOnly, MallocStatsPrintsToStderr) {
  void *p = malloc(12345);
  std::string s = capture_stderr([] { malloc_stats(); });
  free(p);
  EXPECT_FALSE(s.empty()) << "malloc_stats printed nothing";
}

TEST(GoallocOnly, PrintStatsWritesToTheGivenFd) {
  FILE *tmp = tmpfile();
  ASSERT_NE(tmp, nullptr);
  void *p = goalloc_malloc(54321);
  goalloc_print_stats(fileno(tmp));
  goalloc_free(p);
  EXPECT_GT(lseek(fileno(tmp), 0, SEEK_END), 0) << "goalloc_print_stats wrote nothing";
  fclose(tmp);
}

TEST(GoallocOnly, VersionMatchesMacros) {
  char want[64];
  snprintf(want, sizeof want, "%d.%d.%d", GOALLOC_VERSION_MAJOR, GOALLOC_VERSION_MINOR,
           GOALLOC_VERSION_PATCH);
  ASSERT_NE(goalloc_version(), nullptr);
  EXPECT_STREQ(goalloc_version(), want);
}

TEST(GoallocOnly, GetStatsChecksStructSize) {
  goalloc_stats_t st;
  for (size_t bad : {(size_t)0, (size_t)1}) {
    std::memset(&st, 0, sizeof st);
    st.struct_size = bad;
    errno = 0;
    EXPECT_EQ(goalloc_get_stats(&st), -1) << "struct_size " << bad;
    EXPECT_EQ(errno, EINVAL) << "struct_size " << bad;
  }
  std::memset(&st, 0, sizeof st);
  st.struct_size = sizeof st;
  EXPECT_EQ(goalloc_get_stats(&st), 0);
  EXPECT_EQ(st.struct_size, sizeof st);
}

TEST(GoallocOnly, StatsAreConsistent) {
  void *keep = malloc(100);  // make sure this thread has a cache
  goalloc_stats_t st = stats();
  EXPECT_GE(st.arenas, 1u);
  EXPECT_GE(st.heap_mapped, st.arenas * 64 * MiB);
  EXPECT_LE(st.heap_inuse + st.heap_free + st.heap_released, st.heap_mapped);
  EXPECT_GE(st.heap_inuse, st.alloc_bytes) << "objects cannot exceed in-use pages";
  EXPECT_GE(st.alloc_objects, 1u);
  EXPECT_GE(st.small_spans, 1u);
  EXPECT_GT(st.metadata_bytes, 0u);
  EXPECT_GE(st.threads, 1u);
  EXPECT_GT(st.rss, 0u);
  EXPECT_GT(st.peak_rss, 0u);
  free(keep);
}

TEST(GoallocOnly, StatsFollowAllocations) {
  std::vector<void *> small;
  small.reserve(1000);  // the vector's own buffer must not move the counts
  goalloc_stats_t s0 = stats();
  void *big = malloc(8 * MiB);
  ASSERT_NE(big, nullptr);
  for (int i = 0; i < 1000; i++) small.push_back(malloc(100));
  goalloc_stats_t s1 = stats();
  EXPECT_EQ(s1.alloc_objects, s0.alloc_objects + 1001);
  EXPECT_GE(s1.alloc_bytes, s0.alloc_bytes + 8 * MiB + 1000 * 100);
  EXPECT_LE(s1.alloc_bytes, s0.alloc_bytes + 8 * MiB + 1000 * 112 + 64 * KiB)
      << "100-byte objects are counted as their 112-byte class, the large one as pages";
  EXPECT_EQ(s1.large_objects, s0.large_objects + 1);
  EXPECT_GE(s1.large_bytes, s0.large_bytes + 8 * MiB);
  EXPECT_GE(s1.heap_inuse, s0.heap_inuse + 8 * MiB);
  EXPECT_GE(s1.small_spans, 1u);
  for (void *p : small) free(p);
  free(big);
  goalloc_stats_t s2 = stats();
  EXPECT_EQ(s2.alloc_objects, s0.alloc_objects);
  EXPECT_EQ(s2.alloc_bytes, s0.alloc_bytes);
  EXPECT_EQ(s2.large_objects, s0.large_objects);
  EXPECT_EQ(s2.large_bytes, s0.large_bytes);
}

TEST(GoallocOnly, ThreadCacheReleasedAtThreadExit) {
  void *warm = malloc(10);
  uint64_t before = stats().threads;
  uint64_t inside = 0;
  std::thread t([&] {
    void *p = malloc(64);
    inside = stats().threads;
    free(p);
  });
  t.join();
  uint64_t after = stats().threads;
  free(warm);
  EXPECT_EQ(inside, before + 1) << "a new allocating thread should have its own cache";
  EXPECT_EQ(after, before) << "the cache of an exited thread is still counted";
}

TEST(GoallocOnly, NoscanAllocations) {
  for (size_t n : {1, 5, 8, 15, 16, 24, 100, 5000, (int)kMaxSmall, (int)kMaxSmall + 1, 2 * (int)MiB}) {
    void *p = goalloc_malloc_noscan(n);
    ASSERT_NE(p, nullptr);
    ASSERT_GE(goalloc_usable_size(p), n);
    ASSERT_TRUE(is_aligned(p, required_malloc_align(n))) << "noscan(" << n << ") = " << p;
    std::memset(p, 0xEE, n);
    free(p);  // noscan memory is ordinary memory for free()
    auto *z = static_cast<unsigned char *>(goalloc_calloc_noscan(n, 1));
    ASSERT_NE(z, nullptr);
    EXPECT_TRUE(all_zero(z, n)) << "calloc_noscan(" << n << ", 1)";
    goalloc_free(z);
  }
  errno = 0;
  EXPECT_EQ(goalloc_calloc_noscan(opaque_size(SIZE_MAX), 2), nullptr);
  EXPECT_EQ(errno, ENOMEM);
  errno = 0;
  EXPECT_EQ(goalloc_malloc_noscan(opaque_size(kHugeSize)), nullptr);
  EXPECT_EQ(errno, ENOMEM);
}

// The libc names in this process must resolve to goalloc, not to glibc.
// dlsym(RTLD_DEFAULT) follows the same lookup order as the test's calls.
const void *lib_base() {
  Dl_info info;
  void *own = dlsym(RTLD_DEFAULT, "goalloc_malloc");
  if (!own || !dladdr(own, &info)) return nullptr;
  return info.dli_fbase;
}

std::string owner_of(const char *sym) {
  void *addr = dlsym(RTLD_DEFAULT, sym);
  if (!addr) return "<undefined>";
  Dl_info info;
  if (!dladdr(addr, &info) || !info.dli_fname) return "<unknown>";
  if (info.dli_fbase == lib_base()) return "goalloc";
  return info.dli_fname;
}

TEST(Exports, LibcNamesResolveToGoalloc) {
  for (const char *sym :
       {"malloc", "free", "calloc", "realloc", "reallocarray", "posix_memalign", "aligned_alloc",
        "memalign", "valloc", "pvalloc", "malloc_usable_size", "malloc_trim", "malloc_stats",
        "mallinfo", "mallinfo2", "mallopt", "free_sized", "free_aligned_sized"})
    EXPECT_EQ(owner_of(sym), "goalloc") << sym;
}

TEST(Exports, LibcAliasesResolveToGoallocAndWork) {
  const char *names[] = {"__libc_malloc",   "__libc_free",   "__libc_calloc", "__libc_realloc",
                         "__libc_memalign", "__libc_valloc", "__libc_pvalloc"};
  for (const char *sym : names) EXPECT_EQ(owner_of(sym), "goalloc") << sym;
  if (::testing::Test::HasFailure()) return;  // calling glibc's would mix heaps

  auto lmalloc = reinterpret_cast<void *(*)(size_t)>(dlsym(RTLD_DEFAULT, "__libc_malloc"));
  auto lfree = reinterpret_cast<void (*)(void *)>(dlsym(RTLD_DEFAULT, "__libc_free"));
  auto lcalloc = reinterpret_cast<void *(*)(size_t, size_t)>(dlsym(RTLD_DEFAULT, "__libc_calloc"));
  auto lrealloc = reinterpret_cast<void *(*)(void *, size_t)>(dlsym(RTLD_DEFAULT, "__libc_realloc"));
  auto lmemalign = reinterpret_cast<void *(*)(size_t, size_t)>(dlsym(RTLD_DEFAULT, "__libc_memalign"));
  auto lvalloc = reinterpret_cast<void *(*)(size_t)>(dlsym(RTLD_DEFAULT, "__libc_valloc"));
  auto lpvalloc = reinterpret_cast<void *(*)(size_t)>(dlsym(RTLD_DEFAULT, "__libc_pvalloc"));

  void *p = lmalloc(100);
  ASSERT_NE(p, nullptr);
  EXPECT_GE(goalloc_usable_size(p), 100u);
  fill_pattern(p, 100, 5);
  p = lrealloc(p, 100000);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(check_pattern(p, 100, 5), 100u);
  free(p);  // mixing the spellings is fine: it is one heap
  auto *z = static_cast<unsigned char *>(lcalloc(50, 20));
  ASSERT_NE(z, nullptr);
  EXPECT_TRUE(all_zero(z, 1000));
  goalloc_free(z);
  void *a = lmemalign(256, 300);
  ASSERT_NE(a, nullptr);
  EXPECT_TRUE(is_aligned(a, 256));
  lfree(a);
  void *v = lvalloc(10);
  ASSERT_NE(v, nullptr);
  EXPECT_TRUE(is_aligned(v, page_size()));
  lfree(v);
  void *pv = lpvalloc(10);
  ASSERT_NE(pv, nullptr);
  EXPECT_GE(malloc_usable_size(pv), page_size());
  lfree(pv);
}

}  // namespace
