// The pages of owned spans that a sweep empties count as owed
// (ga_gc_sweep_owed_bytes) until their owner applies the garbage: the
// trigger treats them as free (collector.c). For every size class, not only
// those whose slot count is a multiple of 64: allocBits holds 1s past the
// last slot, which the first version counted as live (review: owed stayed 0
// for 62 of the 67 classes).
#include <gtest/gtest.h>

#include "gc_util.h"
#include "goalloc.h"

extern "C" {
#include "gc/sweep.h"
#include "heap.h"
}

namespace {
void *volatile sink;
}

TEST(SweepOwed, EmptiedSpansAreOwedUntilTheOwnerAppliesThem) {
  ASSERT_GE(goalloc_gc_init(), 0);
  goalloc_gc_disable(); // explicit collections only
  for (size_t size : {8, 64, 100, 200, 1000, 3000}) {
    const size_t total = 4u << 20;
    uint64_t before = __atomic_load_n(&ga_heap_inuse_bytes, __ATOMIC_RELAXED);
    for (size_t done = 0; done < total; done += size) sink = goalloc_gc_malloc(size);
    sink = nullptr;
    uint64_t grown = __atomic_load_n(&ga_heap_inuse_bytes, __ATOMIC_RELAXED) - before;
    goalloc_gc_collect();
    uint64_t owed = __atomic_load_n(&ga_gc_sweep_owed_bytes, __ATOMIC_RELAXED);
    // All but the current span and a few objects a stale stack word keeps.
    EXPECT_GE(owed, grown / 2) << "size " << size << ": " << owed << " of " << grown << " bytes owed";
    // The owner's next slow path applies them (a size class it has no
    // current span for yet).
    for (int i = 0; i < 4; i++) sink = goalloc_gc_malloc(30000 + 1000 * size + i);
    sink = goalloc_gc_malloc(size);
    for (size_t done = 0; done < (64u << 10); done += size) sink = goalloc_gc_malloc(size);
    sink = nullptr;
    EXPECT_LT(__atomic_load_n(&ga_gc_sweep_owed_bytes, __ATOMIC_RELAXED), owed / 4)
        << "size " << size << ": still owed after the owner's refills";
  }
  goalloc_gc_enable();
}
