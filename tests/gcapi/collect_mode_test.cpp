// GOALLOC_GC=collect (set by meson's env:): plain malloc becomes
// collectable while free() keeps working. Objects reachable from globals,
// the stack and other malloc'ed objects (including C++ containers, which
// live in malloc memory) survive many cycles while mutators rewrite and
// free() lists; unreachable never-freed objects are reclaimed; a program
// that leaks stays bounded; a double free is still reported. googletest
// itself runs on collectable memory here, which is a test of its own.
#include <gtest/gtest.h>

#include <csignal>
#include <vector>

#include "gcapi_util.h"

using namespace gcapi;

void *(*gcapi::gc_node_alloc)(size_t) = malloc;

namespace {

goalloc_stats_t heap_stats() {
  goalloc_stats_t st;
  memset(&st, 0, sizeof st);
  st.struct_size = sizeof st;
  goalloc_get_stats(&st);
  return st;
}

TEST(CollectMode, ModeIsCollect) { EXPECT_EQ(goalloc_gc_mode(), GOALLOC_GC_COLLECT); }

Node *g_list;
ListSum g_sum;
std::vector<Node *> *g_vec;  // malloc'ed vector of heads: heap -> heap
std::vector<ListSum> g_vec_sums;

TEST(CollectMode, ReachableSurvives) {
  g_list = build_list(20000, 1, &g_sum);
  g_vec = new std::vector<Node *>;
  for (int i = 0; i < 50; i++) {
    ListSum s;
    g_vec->push_back(build_list(300 + i, 50 + i, &s));
    g_vec_sums.push_back(s);
  }
  ListSum stack_sum;
  Node *volatile on_stack = build_list(20000, 2, &stack_sum);
  scrub_stack();
  uint64_t before = gc_cycles();
  long done;
  {
    Mutators m(2, 2000, /*free_removed=*/true);  // free() during the cycles
    done = run_cycles(scaled(400), 12.0);
    EXPECT_EQ(m.stop(), "");
  }
  EXPECT_GT(done, 0);
  EXPECT_GE(gc_cycles() - before, (uint64_t)done);
  EXPECT_EQ(check_list(g_list, g_sum), "");
  EXPECT_EQ(check_list(on_stack, stack_sum), "");
  ASSERT_EQ(g_vec->size(), 50u);
  for (int i = 0; i < 50; i++) EXPECT_EQ(check_list((*g_vec)[i], g_vec_sums[i]), "") << i;
}

__attribute__((noinline)) void leak_objects(int n) {
  for (int i = 0; i < n; i++) {
    auto *p = (uint64_t *)malloc(64);
    p[0] = (uint64_t)i;
    __asm__ __volatile__("" : : "r"(p) : "memory");
  }
}

TEST(CollectMode, UnreachableIsReclaimed) {
  goalloc_gc_collect();
  uint64_t freed0 = gc_stats().freed_objects;
  leak_objects(100000);
  scrub_stack();
  goalloc_gc_collect();
  goalloc_gc_collect();
  EXPECT_GE(gc_stats().freed_objects - freed0, 90000u);
}

std::atomic<long> fin_ran{0};

__attribute__((noinline)) void leak_finalizable(int n) {
  for (int i = 0; i < n; i++) {
    void *p = malloc(48);
    EXPECT_EQ(goalloc_gc_register_finalizer(p, count_finalizer, &fin_ran), 0);
  }
}

TEST(CollectMode, FinalizersOfLeakedObjectsRun) {
  leak_finalizable(100);
  scrub_stack();
  for (int i = 0; i < 20 && fin_ran.load() < 100; i++) goalloc_gc_collect();
  EXPECT_GE(fin_ran.load(), 90);
  EXPECT_LE(fin_ran.load(), 100);
}

TEST(CollectMode, LeakingProgramStaysBounded) {
  uint64_t max_inuse = 0, bytes = 0;
  for (uint64_t i = 0; bytes < (1ull << 30); i++) {
    ListSum s;
    Node *l = build_list(100, i, &s);  // leaked: never freed
    char *b = (char *)malloc(2000 + i % 5000);
    b[0] = 1;
    __asm__ __volatile__("" : : "r"(l), "r"(b) : "memory");
    bytes += 100 * sizeof(Node) + 2000 + i % 5000;
    if (i % 512 == 0) max_inuse = std::max(max_inuse, (uint64_t)heap_stats().heap_inuse);
  }
  EXPECT_LT(max_inuse, 256ull << 20);
}

TEST(CollectMode, FreeStillWorks) {
  goalloc_gc_disable();
  goalloc_gc_collect();  // nothing in flight after it
  uint64_t cycles = gc_cycles(), base = heap_stats().heap_inuse, max_inuse = 0;
  for (int i = 0; i < 300000; i++) {
    void *p = malloc(512 + (i % 9) * 700);
    ASSERT_NE(p, nullptr);
    memset(p, 0x5a, 512);
    free(p);
    if (i % 1000 == 0) max_inuse = std::max(max_inuse, (uint64_t)heap_stats().heap_inuse);
  }
  EXPECT_EQ(gc_cycles(), cycles);
  EXPECT_LT(max_inuse, base + (64ull << 20)) << "free() did not free";
  goalloc_gc_enable();
  // Freed objects and collections mix: free half of a set, drop the other
  // half, collect, and the memory is reused without complaint.
  std::vector<void *> v;
  for (int i = 0; i < 10000; i++) v.push_back(malloc(100));
  for (int i = 0; i < 10000; i += 2) free(v[i]);
  v.clear();
  v.shrink_to_fit();
  goalloc_gc_collect();
  goalloc_gc_collect();
  ListSum s;
  Node *l = build_list(20000, 3, &s);
  goalloc_gc_collect();
  EXPECT_EQ(check_list(l, s), "");
}

// Both frees in the death-test child (see tests/api/api_death_test.cpp).
void free_twice(void *p) {
  void *again = p;
  __asm__ __volatile__("" : "+r"(again) : : "memory");
  free(p);
  free(again);
}

TEST(CollectMode, DoubleFreeStillReported) {
  void *p = malloc(64);
  ASSERT_NE(p, nullptr);
  EXPECT_EXIT(free_twice(p), ::testing::KilledBySignal(SIGABRT), "double free");
  free(p);
}

}  // namespace
