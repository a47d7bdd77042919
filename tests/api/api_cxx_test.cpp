// C++ operator new/delete: every replaceable form is goalloc's own, returns
// goalloc memory, and reports failure the C++ way.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <new>
#include <string>

#include <dlfcn.h>
#include <malloc.h>

#include "api_util.h"

using namespace api;

namespace {

struct alignas(64) A64 {
  char bytes[100];
};
struct alignas(4096) A4096 {
  char bytes[5000];
};
static_assert(sizeof(A64) == 128 && sizeof(A4096) == 8192, "unexpected padding");

// The mangled (x86-64) names of the replaceable allocation functions.
const char *const kOperatorSymbols[] = {
    "_Znwm",                               // new(size_t)
    "_Znam",                               // new[](size_t)
    "_ZnwmRKSt9nothrow_t",                 // new(size_t, nothrow)
    "_ZnamRKSt9nothrow_t",                 // new[](size_t, nothrow)
    "_ZnwmSt11align_val_t",                // new(size_t, align)
    "_ZnamSt11align_val_t",                // new[](size_t, align)
    "_ZnwmSt11align_val_tRKSt9nothrow_t",  // new(size_t, align, nothrow)
    "_ZnamSt11align_val_tRKSt9nothrow_t",  // new[](size_t, align, nothrow)
    "_ZdlPv",                              // delete(void*)
    "_ZdaPv",                              // delete[](void*)
    "_ZdlPvm",                             // delete(void*, size_t)
    "_ZdaPvm",                             // delete[](void*, size_t)
    "_ZdlPvRKSt9nothrow_t",                // delete(void*, nothrow)
    "_ZdaPvRKSt9nothrow_t",                // delete[](void*, nothrow)
    "_ZdlPvSt11align_val_t",               // delete(void*, align)
    "_ZdaPvSt11align_val_t",               // delete[](void*, align)
    "_ZdlPvmSt11align_val_t",              // delete(void*, size_t, align)
    "_ZdaPvmSt11align_val_t",              // delete[](void*, size_t, align)
    "_ZdlPvSt11align_val_tRKSt9nothrow_t",  // delete(void*, align, nothrow)
    "_ZdaPvSt11align_val_tRKSt9nothrow_t",  // delete[](void*, align, nothrow)
};

// Symbols are looked up the way the program's own calls bind; the owner is
// compared with the object that defines goalloc_malloc.
bool defined_by_goalloc(const char *sym) {
  Dl_info own, info;
  void *g = dlsym(RTLD_DEFAULT, "goalloc_malloc");
  void *s = dlsym(RTLD_DEFAULT, sym);
  return g && s && dladdr(g, &own) && dladdr(s, &info) && own.dli_fbase == info.dli_fbase;
}

TEST(CxxNew, AllOperatorsAreGoallocs) {
  for (const char *sym : kOperatorSymbols)
    EXPECT_TRUE(defined_by_goalloc(sym)) << sym << " is not served by goalloc";
}

// alloc_objects moves by exactly one for one new and back for its delete:
// the memory is goalloc's and delete really frees it.
TEST(CxxNew, PlainNewDelete) {
  goalloc_stats_t s0 = stats();
  int *i = opaque(new int(42));
  goalloc_stats_t s1 = stats();
  EXPECT_EQ(*i, 42);
  EXPECT_GE(malloc_usable_size(i), sizeof(int));
  EXPECT_TRUE(is_aligned(i, alignof(int)));
  EXPECT_EQ(s1.alloc_objects, s0.alloc_objects + 1);
  delete i;
  EXPECT_EQ(stats().alloc_objects, s0.alloc_objects);

  std::string *s = opaque(new std::string(1000, 'x'));  // string's buffer too
  EXPECT_GE(goalloc_usable_size(s->data()), 1000u);
  EXPECT_EQ(s->size(), 1000u);
  delete s;
}

TEST(CxxNew, ArrayNewDelete) {
  for (size_t n : {1, 3, 100, 10000, 100000}) {
    goalloc_stats_t s0 = stats();
    auto *a = opaque(new uint64_t[n]);
    goalloc_stats_t s1 = stats();
    EXPECT_EQ(s1.alloc_objects, s0.alloc_objects + 1);
    EXPECT_GE(malloc_usable_size(a), n * sizeof(uint64_t));
    // Like malloc: a small block need only suit objects of its size.
    EXPECT_TRUE(is_aligned(a, required_malloc_align(n * sizeof(uint64_t)))) << "n=" << n;
    for (size_t k = 0; k < n; k++) a[k] = k * 3;
    for (size_t k = 0; k < n; k++) ASSERT_EQ(a[k], k * 3);
    delete[] a;
    EXPECT_EQ(stats().alloc_objects, s0.alloc_objects);
  }
}

TEST(CxxNew, NothrowNew) {
  int *i = opaque(new (std::nothrow) int(7));
  ASSERT_NE(i, nullptr);
  EXPECT_GE(malloc_usable_size(i), sizeof(int));
  delete i;
  char *c = opaque(new (std::nothrow) char[5000]);
  ASSERT_NE(c, nullptr);
  EXPECT_GE(malloc_usable_size(c), 5000u);
  std::memset(c, 1, 5000);
  delete[] c;
  void *raw = opaque(::operator new(300, std::nothrow));
  ASSERT_NE(raw, nullptr);
  EXPECT_GE(malloc_usable_size(raw), 300u);
  ::operator delete(raw, std::nothrow);
  raw = opaque(::operator new[](300, std::nothrow));
  ASSERT_NE(raw, nullptr);
  ::operator delete[](raw, std::nothrow);
}

TEST(CxxNew, SizedDelete) {
  for (size_t n : {1, 16, 100, 5000, 40000, 3 << 20}) {
    goalloc_stats_t s0 = stats();
    void *p = opaque(::operator new(n));
    EXPECT_GE(malloc_usable_size(p), n);
    std::memset(p, 9, n);
    ::operator delete(p, n);
    void *q = opaque(::operator new[](n));
    EXPECT_GE(malloc_usable_size(q), n);
    ::operator delete[](q, n);
    EXPECT_EQ(stats().alloc_objects, s0.alloc_objects) << "sized delete of " << n;
  }
}

TEST(CxxNew, OverAlignedTypes) {
  goalloc_stats_t s0 = stats();
  A64 *a = opaque(new A64);
  EXPECT_TRUE(is_aligned(a, 64)) << a;
  EXPECT_GE(malloc_usable_size(a), sizeof(A64));
  std::memset(a->bytes, 1, sizeof a->bytes);
  A64 *as = opaque(new A64[7]);
  EXPECT_TRUE(is_aligned(as, 64)) << as;
  EXPECT_GE(malloc_usable_size(as), 7 * sizeof(A64));
  std::memset(as, 2, 7 * sizeof(A64));
  A4096 *b = opaque(new A4096);
  EXPECT_TRUE(is_aligned(b, 4096)) << b;
  EXPECT_GE(malloc_usable_size(b), sizeof(A4096));
  std::memset(b->bytes, 3, sizeof b->bytes);
  A4096 *bs = opaque(new A4096[3]);
  EXPECT_TRUE(is_aligned(bs, 4096)) << bs;
  EXPECT_GE(malloc_usable_size(bs), 3 * sizeof(A4096));
  std::memset(bs, 4, 3 * sizeof(A4096));
  A4096 *nb = opaque(new (std::nothrow) A4096);
  ASSERT_NE(nb, nullptr);
  EXPECT_TRUE(is_aligned(nb, 4096));
  EXPECT_EQ(stats().alloc_objects, s0.alloc_objects + 5);
  delete a;
  delete[] as;
  delete b;
  delete[] bs;
  delete nb;
  EXPECT_EQ(stats().alloc_objects, s0.alloc_objects);
}

TEST(CxxNew, AlignedOperatorNewEveryAlignment) {
  for (size_t a = 1; a <= MiB; a *= 2) {
    for (size_t n : {1, 100, 4096, 40000}) {
      void *p = opaque(::operator new(n, std::align_val_t(a)));
      EXPECT_TRUE(is_aligned(p, a)) << p << " align " << a;
      EXPECT_GE(malloc_usable_size(p), n);
      std::memset(p, 5, n);
      ::operator delete(p, n, std::align_val_t(a));
      void *q = opaque(::operator new[](n, std::align_val_t(a), std::nothrow));
      ASSERT_NE(q, nullptr);
      EXPECT_TRUE(is_aligned(q, a));
      ::operator delete[](q, std::align_val_t(a), std::nothrow);
      void *r = opaque(::operator new[](n, std::align_val_t(a)));
      EXPECT_TRUE(is_aligned(r, a));
      ::operator delete[](r, std::align_val_t(a));
    }
  }
}

TEST(CxxNew, ImpossibleSizeThrowsBadAlloc) {
  const size_t huge = opaque_size(kHugeSize);
  EXPECT_THROW((void)opaque(::operator new(huge)), std::bad_alloc);
  EXPECT_THROW((void)opaque(::operator new[](huge)), std::bad_alloc);
  EXPECT_THROW((void)opaque(::operator new(opaque_size(SIZE_MAX))), std::bad_alloc);
  EXPECT_THROW((void)opaque(::operator new(huge, std::align_val_t(64))), std::bad_alloc);
  EXPECT_THROW((void)opaque(::operator new[](huge, std::align_val_t(4096))), std::bad_alloc);
  EXPECT_THROW((void)opaque(new char[huge]), std::bad_alloc);
  // The process is still fine afterwards.
  int *ok = opaque(new int(1));
  EXPECT_EQ(*ok, 1);
  delete ok;
}

TEST(CxxNew, ImpossibleSizeNothrowReturnsNull) {
  const size_t huge = opaque_size(kHugeSize);
  EXPECT_EQ(opaque(::operator new(huge, std::nothrow)), nullptr);
  EXPECT_EQ(opaque(::operator new[](huge, std::nothrow)), nullptr);
  EXPECT_EQ(opaque(::operator new(huge, std::align_val_t(64), std::nothrow)), nullptr);
  EXPECT_EQ(opaque(::operator new[](huge, std::align_val_t(64), std::nothrow)), nullptr);
  EXPECT_EQ(opaque(new (std::nothrow) char[huge]), nullptr);
}

}  // namespace
