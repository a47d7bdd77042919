// What is unreachable is reclaimed, in api mode (GC_MALLOC through the
// libgc-compatible header): a program that allocates and never frees stays
// bounded, finalizers of dropped objects run (once, with the right object),
// an object referenced only from pointer-free (GC_MALLOC_ATOMIC) memory is
// reclaimed, GC_FREE frees at once; plus the compatibility calls' answers
// (GC_base, GC_size, heap figures, GC_strdup, the OOM callback...).
//
// Conservative scanning may keep a few dropped objects alive through stale
// stack words, so "reclaimed" is asserted for most of many independent
// objects, never for one.
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>

#include <gc.h>  // from C++, without GC_THREADS

#include "gcapi_util.h"

using namespace gcapi;

void *(*gcapi::gc_node_alloc)(size_t) = GC_malloc;

namespace {

class GcEnv : public ::testing::Environment {
 public:
  void SetUp() override { GC_INIT(); }
};
const auto *const env = ::testing::AddGlobalTestEnvironment(new GcEnv);

goalloc_stats_t heap_stats() {
  goalloc_stats_t st;
  memset(&st, 0, sizeof st);
  st.struct_size = sizeof st;
  goalloc_get_stats(&st);
  return st;
}

// ---- a program that never frees ----

// One round of garbage: a list of small nodes, a medium and a large block;
// everything dropped on return.
__attribute__((noinline)) uint64_t garbage_round(uint64_t i) {
  ListSum s;
  Node *l = build_list(200, i, &s);
  auto *m = (char *)GC_MALLOC(1000 + (i % 3000));
  m[0] = (char)i;
  uint64_t objs = 201;
  if (i % 16 == 0) {
    auto *big = (char *)GC_MALLOC_ATOMIC(256 << 10);
    big[(256 << 10) - 1] = 1;
    objs++;
  }
  __asm__ __volatile__("" : : "r"(l), "r"(m) : "memory");
  return objs;
}

TEST(Reclaim, NeverFreeingStaysBounded) {
  goalloc_gc_stats_t before = gc_stats();
  uint64_t objects = 0, bytes = 0, max_inuse = 0;
  // About 1 GiB requested in all; no explicit collection: the pacer must
  // start cycles by itself.
  for (uint64_t i = 0; bytes < (1ull << 30); i++) {
    objects += garbage_round(i);
    bytes += 200 * sizeof(Node) + 1000 + (i % 3000) + (i % 16 == 0 ? 256 << 10 : 0);
    if (i % 256 == 0) {
      uint64_t inuse = heap_stats().heap_inuse;
      if (inuse > max_inuse) max_inuse = inuse;
    }
  }
  goalloc_gc_stats_t mid = gc_stats();
  EXPECT_GT(mid.cycles, before.cycles) << "no automatic collection while allocating 1 GiB";
  EXPECT_LT(max_inuse, 256ull << 20) << "heap grew without bound";
  scrub_stack();
  goalloc_gc_collect();
  goalloc_gc_collect();
  goalloc_gc_stats_t after = gc_stats();
  EXPECT_GE(after.freed_objects - before.freed_objects, objects * 9 / 10)
      << "of " << objects << " dropped objects";
  EXPECT_GE(after.freed_bytes - before.freed_bytes, bytes * 8 / 10);
}

// ---- finalizers of dropped objects ----

constexpr int kFin = 1000;
std::atomic<int> fin_runs[kFin];
uintptr_t fin_hidden[kFin];
std::atomic<int> fin_wrong_obj{0};

void indexed_finalizer(void *obj, void *arg) {
  long i = (long)(intptr_t)arg;
  if (obj != reveal<void>(fin_hidden[i])) fin_wrong_obj.fetch_add(1);
  fin_runs[i].fetch_add(1);
  // The object is still intact when its finalizer runs.
  if (((uint64_t *)obj)[1] != mix((uint64_t)i)) fin_wrong_obj.fetch_add(1);
}

__attribute__((noinline)) void make_finalizable() {
  for (long i = 0; i < kFin; i++) {
    auto *o = (uint64_t *)GC_MALLOC(16 + 8 * (i % 50));
    o[1] = mix((uint64_t)i);
    fin_hidden[i] = hide(o);
    GC_REGISTER_FINALIZER(o, indexed_finalizer, (void *)(intptr_t)i, nullptr, nullptr);
  }
}

int fin_total() {
  int n = 0;
  for (auto &r : fin_runs) n += r.load() > 0;
  return n;
}

TEST(Reclaim, FinalizersOfDroppedObjectsRun) {
  make_finalizable();
  scrub_stack();
  for (int c = 0; c < 20 && fin_total() < kFin; c++) goalloc_gc_collect();
  EXPECT_GE(fin_total(), kFin * 95 / 100);
  // A few more cycles: nothing runs twice, freed objects stay freed.
  for (int c = 0; c < 5; c++) goalloc_gc_collect();
  for (int i = 0; i < kFin; i++) EXPECT_LE(fin_runs[i].load(), 1) << "object " << i;
  EXPECT_EQ(fin_wrong_obj.load(), 0);
}

TEST(Reclaim, RemovedFinalizerDoesNotRun) {
  static std::atomic<long> ran{0};
  struct {
    __attribute__((noinline)) void operator()() {
      for (int i = 0; i < 100; i++) {
        void *o = GC_MALLOC(64);
        GC_REGISTER_FINALIZER(o, count_finalizer, &ran, nullptr, nullptr);
        GC_REGISTER_FINALIZER(o, nullptr, nullptr, nullptr, nullptr);
      }
    }
  } make;
  make();
  scrub_stack();
  for (int c = 0; c < 5; c++) goalloc_gc_collect();
  EXPECT_EQ(ran.load(), 0);
}

// ---- pointer-free memory is not scanned ----

constexpr int kPairs = 100;
void **g_atomic_table, **g_scanned_table;  // roots of the holders
std::atomic<long> atomic_held_ran{0}, scanned_held_ran{0}, holders_ran{0};

__attribute__((noinline)) void make_pairs() {
  g_atomic_table = (void **)GC_MALLOC(kPairs * sizeof(void *));
  g_scanned_table = (void **)GC_MALLOC(kPairs * sizeof(void *));
  for (int i = 0; i < kPairs; i++) {
    auto **a = (void **)GC_MALLOC_ATOMIC(64);
    auto **s = (void **)GC_MALLOC(64);
    void *b = GC_MALLOC(32), *c = GC_MALLOC(32);
    GC_REGISTER_FINALIZER(b, count_finalizer, &atomic_held_ran, nullptr, nullptr);
    GC_REGISTER_FINALIZER(c, count_finalizer, &scanned_held_ran, nullptr, nullptr);
    GC_REGISTER_FINALIZER(a, count_finalizer, &holders_ran, nullptr, nullptr);
    GC_REGISTER_FINALIZER(s, count_finalizer, &holders_ran, nullptr, nullptr);
    a[0] = b;  // invisible: a is never scanned
    a[1] = (void *)(uintptr_t)(0xa70 + i);
    s[0] = c;  // visible
    g_atomic_table[i] = a;
    g_scanned_table[i] = s;
  }
}

TEST(Reclaim, ReferencedOnlyFromAtomicObject) {
  make_pairs();
  scrub_stack();
  for (int c = 0; c < 20 && atomic_held_ran.load() < kPairs; c++) goalloc_gc_collect();
  EXPECT_GE(atomic_held_ran.load(), kPairs * 9 / 10);
  EXPECT_EQ(scanned_held_ran.load(), 0);  // the control group
  EXPECT_EQ(holders_ran.load(), 0);
  for (int i = 0; i < kPairs; i++)
    EXPECT_EQ(((void **)g_atomic_table[i])[1], (void *)(uintptr_t)(0xa70 + i));
}

// ---- explicit frees ----

TEST(Reclaim, GcFreeFreesWithCollectionDisabled) {
  GC_disable();
  EXPECT_TRUE(GC_is_disabled());
  goalloc_gc_collect();  // blocking: no cycle is in flight after it
  uint64_t cycles = gc_cycles();
  uint64_t base = heap_stats().heap_inuse, max_inuse = 0;
  for (int i = 0; i < 200000; i++) {
    void *p = GC_MALLOC(1024 + (i % 7) * 512);
    ASSERT_NE(p, nullptr);
    memset(p, 0xab, 1024);
    GC_FREE(p);
    if (i % 1000 == 0) max_inuse = std::max(max_inuse, (uint64_t)heap_stats().heap_inuse);
  }
  EXPECT_EQ(gc_cycles(), cycles) << "a cycle started while disabled";
  EXPECT_LT(max_inuse, base + (64ull << 20));
  GC_enable();
  EXPECT_FALSE(GC_is_disabled());
  // Explicit collection works while disabled too.
  GC_disable();
  GC_gcollect();
  EXPECT_GT(gc_cycles(), cycles);
  GC_enable();
}

// goalloc_gc_stats_t grew (blacklisted_pages): a caller built with the
// older header passes the older size and gets the fields it knows, nothing
// written past them; any other size is refused.
TEST(Stats, OlderStructSizeAccepted) {
  goalloc_gc_collect();
  goalloc_gc_stats_t full = {};
  full.struct_size = sizeof full;
  ASSERT_EQ(goalloc_gc_get_stats(&full), 0);
  unsigned char buf[sizeof(goalloc_gc_stats_t) + 16];
  memset(buf, 0xee, sizeof buf);
  size_t old_size = offsetof(goalloc_gc_stats_t, blacklisted_pages);
  goalloc_gc_stats_t *st = reinterpret_cast<goalloc_gc_stats_t *>(buf);
  st->struct_size = old_size;
  ASSERT_EQ(goalloc_gc_get_stats(st), 0);
  EXPECT_EQ(st->struct_size, old_size);
  EXPECT_EQ(st->cycles, full.cycles);
  for (size_t i = old_size; i < sizeof buf; i++) ASSERT_EQ(buf[i], 0xee) << "byte " << i;
  for (size_t bad : {old_size - 8, sizeof(goalloc_gc_stats_t) + 8, (size_t)0}) {
    st->struct_size = bad;
    errno = 0;
    EXPECT_EQ(goalloc_gc_get_stats(st), -1) << bad;
    EXPECT_EQ(errno, EINVAL) << bad;
  }
}

// ---- the compatibility calls' answers ----

char g_not_heap[64];

TEST(Compat, BaseSizeHeapPtr) {
  auto *p = (char *)GC_MALLOC(100);
  ASSERT_NE(p, nullptr);
  EXPECT_GE(GC_size(p), 100u);
  EXPECT_EQ(GC_base(p), p);
  EXPECT_EQ(GC_base(p + 1), p);
  EXPECT_EQ(GC_base(p + 99), p);
  EXPECT_TRUE(GC_is_heap_ptr(p + 50));
  EXPECT_FALSE(GC_is_heap_ptr(g_not_heap));
  EXPECT_EQ(GC_base(g_not_heap), nullptr);
  int local;
  EXPECT_EQ(GC_base(&local), nullptr);
  auto *big = (char *)GC_MALLOC(3 << 20);
  ASSERT_NE(big, nullptr);
  EXPECT_GE(GC_size(big), 3u << 20);
  EXPECT_EQ(GC_base(big + (2 << 20) + 12345), big);
  EXPECT_EQ(GC_base(big + 8192), big);
  GC_reachable_here(p);
  GC_reachable_here(big);
}

TEST(Compat, AllocationCalls) {
  auto *z = (uint64_t *)GC_MALLOC(4096);
  for (int i = 0; i < 512; i++) ASSERT_EQ(z[i], 0u) << "GC_MALLOC memory not zeroed";
  struct T {
    int a;
    double b;
  };
  T *t = GC_NEW(T);
  T *ta = GC_NEW_ATOMIC(T);
  T *tu = GC_NEW_UNCOLLECTABLE(T);
  ASSERT_TRUE(t && ta && tu);
  EXPECT_EQ(t->a, 0);
  GC_FREE(tu);
  char *s = GC_STRDUP("compatible");
  EXPECT_STREQ(s, "compatible");
  EXPECT_EQ(GC_strdup(nullptr), nullptr);
  char *n = GC_strndup("abcdef", 3);
  EXPECT_STREQ(n, "abc");
  void *r = GC_REALLOC(nullptr, 10);
  ASSERT_NE(r, nullptr);
  memcpy(r, "123456789", 10);
  r = GC_REALLOC(r, 100000);
  EXPECT_STREQ((char *)r, "123456789");
  EXPECT_EQ(GC_REALLOC(r, 0), nullptr);
  GC_FREE(nullptr);
  void *ia = GC_MALLOC_ATOMIC_IGNORE_OFF_PAGE(1 << 20), *ip = GC_MALLOC_IGNORE_OFF_PAGE(1 << 20);
  void *au = GC_MALLOC_ATOMIC_UNCOLLECTABLE(100);
  EXPECT_TRUE(ia && ip && au);
  GC_FREE(au);
}

void *oom_sentinel(size_t) { return (void *)g_not_heap; }

TEST(Compat, OutOfMemoryCallback) {
  EXPECT_EQ(GC_MALLOC((size_t)1 << 62), nullptr);
  GC_oom_func old = GC_get_oom_fn();
  GC_set_oom_fn(oom_sentinel);
  EXPECT_EQ(GC_get_oom_fn(), oom_sentinel);
  EXPECT_EQ(GC_MALLOC((size_t)1 << 62), (void *)g_not_heap);
  EXPECT_EQ(GC_MALLOC_ATOMIC((size_t)1 << 62), (void *)g_not_heap);
  GC_set_oom_fn(old ? old : [](size_t) -> void * { return nullptr; });
}

TEST(Compat, HeapFigures) {
  auto **table = (void **)GC_MALLOC(1000 * sizeof(void *));
  for (int i = 0; i < 1000; i++) table[i] = GC_MALLOC(1000);
  size_t heap = GC_get_heap_size(), fr = GC_get_free_bytes(), use = GC_get_memory_use();
  EXPECT_GE(use, 1000u * 1000u);
  EXPECT_GE(heap, use);
  EXPECT_LE(fr, heap);
  EXPECT_GE(GC_get_total_bytes(), use);
  GC_word h, f, u, since, total;
  GC_get_heap_usage_safe(&h, &f, &u, &since, &total);
  EXPECT_GE(h, use);
  GC_get_heap_usage_safe(nullptr, nullptr, nullptr, nullptr, nullptr);
  GC_word no = GC_get_gc_no();
  GC_gcollect();
  EXPECT_GT(GC_get_gc_no(), no);
  GC_gcollect_and_unmap();
  GC_reachable_here(table);
}

TEST(Compat, VersionAndSettings) {
  EXPECT_EQ(GC_get_version(),
            (unsigned)(GC_VERSION_MAJOR << 16 | GC_VERSION_MINOR << 8 | GC_VERSION_MICRO));
  EXPECT_TRUE(GC_is_init_called());
  EXPECT_EQ(GC_get_all_interior_pointers(), 1);
  GC_set_free_space_divisor(4);
  EXPECT_EQ(GC_get_free_space_divisor(), 4u);
  GC_set_free_space_divisor(1);  // GOGC 100, the default, for the tests after
  GC_enable_incremental();
  EXPECT_EQ(GC_is_incremental_mode(), 1);
  EXPECT_EQ(GC_collect_a_little(), 0);
  GC_set_max_heap_size(1 << 30);
  EXPECT_NE(GC_expand_hp(1 << 20), 0);
  static int warned = 0;
  GC_set_warn_proc([](char *, GC_word) { warned++; });
  EXPECT_NE(GC_get_warn_proc(), nullptr);
  GC_set_warn_proc(GC_ignore_warn_proc);
  EXPECT_EQ(GC_should_invoke_finalizers(), 0);
}

TEST(Compat, DumpPrintsStatistics) {
  GC_gcollect();
  ::testing::internal::CaptureStderr();
  GC_dump();
  std::string out = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(out.find("collector: mode 1"), std::string::npos) << out;
  EXPECT_GT(out.size(), 100u) << "the allocator's statistics are missing";
}

void *with_base(struct GC_stack_base *sb, void *arg) {
  int here;
  *(bool *)arg = sb->mem_base > (void *)&here;
  return sb->mem_base;
}

TEST(Compat, StackBase) {
  struct GC_stack_base sb;
  int here;
  ASSERT_EQ(GC_get_stack_base(&sb), GC_SUCCESS);
  EXPECT_GT(sb.mem_base, (void *)&here);
  bool above = false;
  EXPECT_NE(GC_call_with_stack_base(with_base, &above), nullptr);
  EXPECT_TRUE(above);
  EXPECT_EQ(GC_do_blocking([](void *a) -> void * { return a; }, &here), (void *)&here);
  EXPECT_EQ(GC_call_with_gc_active([](void *a) -> void * { return a; }, &here), (void *)&here);
}

// A thread created behind goalloc's back would register itself; one made
// with pthread_create is registered already, and registering and
// unregistering it explicitly must not break it.
TEST(Compat, ExplicitThreadRegistration) {
  GC_allow_register_threads();
  pthread_t t;
  static ListSum sum;
  static std::string err;
  ASSERT_EQ(pthread_create(
                &t, nullptr,
                [](void *) -> void * {
                  struct GC_stack_base sb;
                  if (GC_get_stack_base(&sb) != GC_SUCCESS) err = "no stack base";
                  int r = GC_register_my_thread(&sb);
                  if (r != GC_SUCCESS && r != GC_DUPLICATE) err = "register failed";
                  Node *volatile l = build_list(1000, 42, &sum);
                  for (int i = 0; i < 10; i++) goalloc_gc_collect();
                  if (err.empty()) err = check_list(l, sum);
                  if (r == GC_SUCCESS) GC_unregister_my_thread();
                  return nullptr;
                },
                nullptr),
            0);
  pthread_join(t, nullptr);
  EXPECT_EQ(err, "");
}

}  // namespace
