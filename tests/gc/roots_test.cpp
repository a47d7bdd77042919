// Root enumeration: data segments (with RELRO, the noscan section,
// exclusions and libgoalloc's own data cut out), dlopen'ed libraries, user
// roots, the main stack and static TLS.
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <pthread.h>

#include <gtest/gtest.h>

#include "gc_util.h"

extern "C" void *__libc_stack_end;

// In .data, .bss, .data.rel.ro (RELRO: needs a relocation, then read-only),
// and the noscan section.
void *gc_test_data_ptr = &gc_test_data_ptr;
static void *gc_test_bss[16];
extern void *const gc_test_relro_ptr;
void *const gc_test_relro_ptr = &gc_test_data_ptr;
GA_GC_NOSCAN void *gc_test_noscan_ptr = &gc_test_data_ptr;
static char gc_test_big_bss[1 << 16];
static __thread void *gc_test_tls_ptr;

static std::vector<GcRange> roots(unsigned kinds) {
  std::vector<GcRange> v;
  ga_gc_roots_for_each_kind(kinds, gc_collect_range, &v);
  return v;
}

static bool in_relro(uintptr_t a) {
  struct Ctx {
    uintptr_t a;
    bool found;
  } c = {a, false};
  dl_iterate_phdr(
      [](struct dl_phdr_info *info, size_t, void *p) {
        Ctx *c = static_cast<Ctx *>(p);
        for (int i = 0; i < info->dlpi_phnum; i++) {
          const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
          uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
          if (ph->p_type == PT_GNU_RELRO && c->a >= lo && c->a < lo + ph->p_memsz) c->found = true;
        }
        return 0;
      },
      &c);
  return c.found;
}

TEST(Roots, DataAndBssAreRoots) {
  auto v = roots(GA_GC_ROOTS_DATA);
  ASSERT_FALSE(v.empty());
  EXPECT_TRUE(gc_covered(v, (uintptr_t)&gc_test_data_ptr));
  EXPECT_TRUE(gc_covered(v, (uintptr_t)&gc_test_bss[0], sizeof gc_test_bss));
  // libc's own data (environ lives there) is scanned too.
  EXPECT_TRUE(gc_covered(v, (uintptr_t)&environ));
  for (const GcRange &r : v) {
    EXPECT_EQ(r.lo % 8, 0u);
    EXPECT_EQ(r.hi % 8, 0u);
    EXPECT_LT(r.lo, r.hi);
  }
}

// The collect modes' scan of anonymous memory leaves every loaded object's
// writable segments to the DATA roots: their .bss tails (anonymous
// mappings) must be reported whole, page-aligned, libgoalloc's included.
TEST(Roots, DataSegmentsCoverBssTails) {
  std::vector<GcRange> v;
  ga_gc_roots_for_each_data_segment(gc_collect_range, &v);
  ASSERT_FALSE(v.empty());
  EXPECT_TRUE(gc_covered(v, (uintptr_t)&gc_test_big_bss[0], sizeof gc_test_big_bss));
  EXPECT_TRUE(gc_covered(v, (uintptr_t)&gc_test_bss[0], sizeof gc_test_bss));
  EXPECT_TRUE(gc_covered(v, (uintptr_t)&environ));
  for (const GcRange &r : v) {
    EXPECT_EQ(r.lo % 4096, 0u);
    EXPECT_EQ(r.hi % 4096, 0u);
  }
}

// goalloc's own threads' frames are known (left out of the anonymous scan,
// not their TLS above them) while they run, and forgotten when they return.
static uintptr_t internal_seen_sp;
static int internal_release;
static void *internal_body(void *) {
  volatile char here = 0;
  __atomic_store_n(&internal_seen_sp, (uintptr_t)&here, __ATOMIC_RELEASE);
  while (!__atomic_load_n(&internal_release, __ATOMIC_ACQUIRE)) ga_os_sleep_ms(1);
  __atomic_store_n(&internal_seen_sp, (uintptr_t)0, __ATOMIC_RELEASE);
  return nullptr;
}

TEST(Roots, InternalThreadStacksAreKnown) {
  ASSERT_TRUE(ga_os_thread_start(internal_body));
  uintptr_t sp;
  while (!(sp = __atomic_load_n(&internal_seen_sp, __ATOMIC_ACQUIRE))) ga_os_sleep_ms(1);
  uintptr_t top = ga_os_internal_frames_top(sp - 64 * 1024, sp + 64 * 1024);
  // Above the body's locals, below the thread's TLS (at its stack's top).
  EXPECT_GT(top, sp);
  EXPECT_LT(top, sp + 4096);
  uintptr_t mine = (uintptr_t)&sp;
  EXPECT_EQ(ga_os_internal_frames_top(mine - 4096, mine + 4096), 0u);
  __atomic_store_n(&internal_release, 1, __ATOMIC_RELEASE);
  while (__atomic_load_n(&internal_seen_sp, __ATOMIC_ACQUIRE)) ga_os_sleep_ms(1);
  // Forgotten once it returns (the slot is cleared right after the body).
  bool gone = false;
  for (int i = 0; i < 1000 && !gone; i++) {
    gone = ga_os_internal_frames_top(sp - 64 * 1024, sp + 64 * 1024) == 0;
    if (!gone) ga_os_sleep_ms(1);
  }
  EXPECT_TRUE(gone);
}

TEST(Roots, RelroIsNotARoot) {
  uintptr_t a = (uintptr_t)&gc_test_relro_ptr;
  if (!in_relro(a)) GTEST_SKIP() << "the linker did not put the constant in RELRO";
  EXPECT_FALSE(gc_covered(roots(GA_GC_ROOTS_DATA), a));
}

TEST(Roots, NoscanSectionIsNotARoot) {
  auto v = roots(GA_GC_ROOTS_DATA);
  EXPECT_FALSE(gc_touches(v, (uintptr_t)&gc_test_noscan_ptr, (uintptr_t)(&gc_test_noscan_ptr + 1)));
  EXPECT_TRUE(gc_covered(v, (uintptr_t)&gc_test_data_ptr));
}

TEST(Roots, ExclusionsCutDataRanges) {
  uintptr_t base = (uintptr_t)gc_test_big_bss;
  uintptr_t lo = (base + 4096) & ~(uintptr_t)7, hi = lo + 8192;
  ASSERT_TRUE(ga_gc_roots_exclude(lo, hi));
  auto v = roots(GA_GC_ROOTS_DATA);
  EXPECT_FALSE(gc_touches(v, lo, hi));
  EXPECT_TRUE(gc_covered(v, lo - 8));
  EXPECT_TRUE(gc_covered(v, hi));
  ASSERT_TRUE(ga_gc_roots_unexclude(lo, hi));
  EXPECT_FALSE(ga_gc_roots_unexclude(lo, hi));
  EXPECT_TRUE(gc_covered(roots(GA_GC_ROOTS_DATA), lo, hi - lo));
}

TEST(Roots, DlopenedLibraryDataComesAndGoes) {
  void *h = dlopen(GC_TEST_DL_PATH, RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(h, nullptr) << dlerror();
  auto global_addr = (void *(*)(void))dlsym(h, "gc_dl_global_addr");
  auto bss_addr = (void *(*)(void))dlsym(h, "gc_dl_bss_addr");
  ASSERT_TRUE(global_addr && bss_addr);
  uintptr_t g = (uintptr_t)global_addr(), b = (uintptr_t)bss_addr();
  auto v = roots(GA_GC_ROOTS_DATA);
  EXPECT_TRUE(gc_covered(v, g));
  EXPECT_TRUE(gc_covered(v, b, 4096));
  ASSERT_EQ(dlclose(h), 0);
  v = roots(GA_GC_ROOTS_DATA);
  EXPECT_FALSE(gc_touches(v, g, g + 8));
  EXPECT_FALSE(gc_touches(v, b, b + 4096));
}

TEST(Roots, GoallocAsASharedLibraryExcludesItsOwnData) {
  void *h = dlopen(GC_TEST_SELF_SO_PATH, RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(h, nullptr) << dlerror();
  auto own = (void *(*)(void))dlsym(h, "gc_self_so_global_addr");
  auto so_roots = (void (*)(ga_gc_range_fn, void *))dlsym(h, "gc_self_so_roots");
  ASSERT_TRUE(own && so_roots);
  std::vector<GcRange> v;
  so_roots(gc_collect_range, &v);
  uintptr_t a = (uintptr_t)own();
  EXPECT_FALSE(gc_touches(v, a, a + 8)) << "libgoalloc's own data reported";
  EXPECT_TRUE(gc_covered(v, (uintptr_t)&gc_test_data_ptr)) << "the program's data missing";
  // Linked into the program, goalloc does not exclude the program itself.
  EXPECT_TRUE(gc_covered(roots(GA_GC_ROOTS_DATA), (uintptr_t)&gc_test_data_ptr));
  dlclose(h);
}

TEST(Roots, UserRootsMergeAndSplit) {
  ga_gc_roots_clear();
  static uint64_t buf[1024];
  uintptr_t b = (uintptr_t)buf;
  ASSERT_TRUE(ga_gc_roots_add(b, b + 800));
  ASSERT_TRUE(ga_gc_roots_add(b + 800, b + 1600));  // adjacent: merges
  ASSERT_TRUE(ga_gc_roots_add(b + 400, b + 1000));  // inside: no change
  auto v = roots(GA_GC_ROOTS_USER);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].lo, b);
  EXPECT_EQ(v[0].hi, b + 1600);

  ASSERT_TRUE(ga_gc_roots_add(b + 4000, b + 4800));  // disjoint
  ASSERT_TRUE(ga_gc_roots_remove(b + 800, b + 1000));  // splits the first
  v = roots(GA_GC_ROOTS_USER);
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0].lo, b);
  EXPECT_EQ(v[0].hi, b + 800);
  EXPECT_EQ(v[1].lo, b + 1000);
  EXPECT_EQ(v[1].hi, b + 1600);
  EXPECT_EQ(v[2].lo, b + 4000);

  ASSERT_TRUE(ga_gc_roots_add(b + 700, b + 4100));  // bridges all three
  v = roots(GA_GC_ROOTS_USER);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].lo, b);
  EXPECT_EQ(v[0].hi, b + 4800);

  ASSERT_TRUE(ga_gc_roots_remove(b - 64, b + 8192));  // covers everything
  EXPECT_TRUE(roots(GA_GC_ROOTS_USER).empty());

  // Many disjoint ranges, removed one by one.
  for (int i = 0; i < 500; i++) ASSERT_TRUE(ga_gc_roots_add(b + 16 * i, b + 16 * i + 8));
  EXPECT_EQ(roots(GA_GC_ROOTS_USER).size(), 500u);
  for (int i = 0; i < 500; i += 2) ASSERT_TRUE(ga_gc_roots_remove(b + 16 * i, b + 16 * i + 8));
  EXPECT_EQ(roots(GA_GC_ROOTS_USER).size(), 250u);
  ga_gc_roots_clear();
  EXPECT_TRUE(roots(GA_GC_ROOTS_USER).empty());
}

TEST(Roots, UserRootsUnalignedAreShrunkToWords) {
  ga_gc_roots_clear();
  static uint64_t buf[8];
  uintptr_t b = (uintptr_t)buf;
  ASSERT_TRUE(ga_gc_roots_add(b + 3, b + 61));
  auto v = roots(GA_GC_ROOTS_USER);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].lo, b + 8);
  EXPECT_EQ(v[0].hi, b + 56);
  ga_gc_roots_clear();
}

TEST(Roots, MainStack) {
  ASSERT_FALSE(ga_gc_stw_main_registered());
  uintptr_t lo, hi;
  ASSERT_TRUE(ga_gc_roots_main_stack(&lo, &hi));
  EXPECT_GE(hi, (uintptr_t)__libc_stack_end);
  volatile uintptr_t local = 42;
  EXPECT_TRUE((uintptr_t)&local >= lo && (uintptr_t)&local < hi);
  // Reported while the main thread is not registered, from about here up.
  auto v = roots(GA_GC_ROOTS_MAIN_STACK);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_TRUE(gc_covered(v, (uintptr_t)&local));
  EXPECT_EQ(v[0].hi, hi & ~(uintptr_t)7);
  EXPECT_GT(v[0].lo, lo);  // from the caller's sp, not the mapping's bottom
}

TEST(Roots, StaticTlsOfMainAndOtherThreads) {
  gc_test_tls_ptr = &gc_test_tls_ptr;
  uintptr_t lo, hi;
  ASSERT_TRUE(ga_gc_roots_static_tls(&lo, &hi));
  EXPECT_TRUE((uintptr_t)&gc_test_tls_ptr >= lo && (uintptr_t)&gc_test_tls_ptr < hi);
  uintptr_t tp = ga_gc_thread_pointer();
  EXPECT_TRUE(tp >= lo && tp < hi);  // the TCB (DTV and specific-data pointers)

  struct Res {
    uintptr_t var, lo, hi;
    bool ok;
  } r = {};
  pthread_t t;
  ASSERT_EQ(pthread_create(
                &t, nullptr,
                [](void *p) -> void * {
                  Res *r = static_cast<Res *>(p);
                  r->var = (uintptr_t)&gc_test_tls_ptr;
                  r->ok = ga_gc_roots_static_tls(&r->lo, &r->hi);
                  return nullptr;
                },
                &r),
            0);
  pthread_join(t, nullptr);
  ASSERT_TRUE(r.ok);
  EXPECT_TRUE(r.var >= r.lo && r.var < r.hi);
}

TEST(Roots, TlsKindReportsRegisteredMainThread) {
  ASSERT_TRUE(ga_gc_stw_init(0));
  ASSERT_NE(ga_gc_stw_register_self(), nullptr);
  EXPECT_TRUE(ga_gc_stw_main_registered());
  EXPECT_TRUE(gc_covered(roots(GA_GC_ROOTS_TLS), (uintptr_t)&gc_test_tls_ptr));
  EXPECT_TRUE(roots(GA_GC_ROOTS_MAIN_STACK).empty());  // stw reports it now
  ga_gc_stw_unregister_self();
  EXPECT_FALSE(ga_gc_stw_main_registered());
  EXPECT_TRUE(roots(GA_GC_ROOTS_TLS).empty());
  EXPECT_EQ(roots(GA_GC_ROOTS_MAIN_STACK).size(), 1u);
}

TEST(Roots, LoaderLockedRunsOnceAndNests) {
  struct Ctx {
    int runs;
    size_t nroots;
  } c = {0, 0};
  ga_gc_roots_with_loader_locked(
      [](void *p) {
        Ctx *c = static_cast<Ctx *>(p);
        c->runs++;
        // The loader lock is recursive: enumeration inside works.
        std::vector<GcRange> v;
        ga_gc_roots_for_each(gc_collect_range, &v);
        c->nroots = v.size();
      },
      &c);
  EXPECT_EQ(c.runs, 1);
  EXPECT_GT(c.nroots, 0u);
}

TEST(Roots, AllKindsTogether) {
  static uint64_t user_buf[4];
  ga_gc_roots_clear();
  ASSERT_TRUE(ga_gc_roots_add((uintptr_t)user_buf, (uintptr_t)(user_buf + 4)));
  volatile int local = 1;
  auto v = roots(GA_GC_ROOTS_ALL);
  EXPECT_TRUE(gc_covered(v, (uintptr_t)&gc_test_data_ptr));
  EXPECT_TRUE(gc_covered(v, (uintptr_t)user_buf, sizeof user_buf));
  EXPECT_TRUE(gc_covered(v, (uintptr_t)&local, 4));
  ga_gc_roots_clear();
}

TEST(Maps, FindsMappingsWithoutMalloc) {
  volatile int local = 0;
  uintptr_t lo, hi;
  ASSERT_TRUE(ga_gc_maps_find((uintptr_t)&local, &lo, &hi));
  EXPECT_TRUE((uintptr_t)&local >= lo && (uintptr_t)&local < hi);
  EXPECT_EQ(lo % 4096, 0u);
  EXPECT_EQ(hi % 4096, 0u);
  uintptr_t slo, shi;
  ASSERT_TRUE(ga_gc_maps_find_named("[stack]", &slo, &shi));
  EXPECT_EQ(slo, lo);  // gtest runs tests on the main thread
  EXPECT_EQ(shi, hi);
  EXPECT_TRUE(ga_gc_maps_find((uintptr_t)&gc_test_data_ptr, &lo, &hi));
  EXPECT_FALSE(ga_gc_maps_find(0x1000, &lo, &hi));  // the zero page is never mapped
  EXPECT_FALSE(ga_gc_maps_find_named("[no such mapping]", &lo, &hi));
}
