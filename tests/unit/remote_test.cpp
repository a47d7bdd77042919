// Cross-thread frees (cache.h, span.h): a thread frees another thread's
// objects through the span's xfree list and the owner's remote stack; the
// owner drains them on its next refill and reuses the slots.
#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <map>
#include <set>
#include <thread>
#include <vector>

#include "unit_util.h"

namespace {

using unit::addr;

class Remote : public ::testing::Test {
 protected:
  void SetUp() override { unit::no_scavenger(); }
};

// Fires a promise once, at the latest when leaving the scope: an ASSERT
// that returns early from one thread must not leave the other waiting.
struct Signal {
  std::promise<void> &p;
  bool fired = false;
  void fire() {
    if (!fired) {
      fired = true;
      p.set_value();
    }
  }
  ~Signal() { fire(); }
};

size_t list_length(void *l) {
  size_t n = 0;
  for (; l; l = *static_cast<void **>(l)) n++;
  return n;
}

TEST_F(Remote, ForeignFreesAreQueuedThenDrainedAndReused) {
  const int N = 1000;
  const size_t kSize = 64;
  std::promise<void> allocated, freed;
  std::shared_future<void> allocated_f = allocated.get_future().share();
  std::future<void> freed_f = freed.get_future();
  std::vector<void *> batch1(N);

  std::thread a([&] {
    Signal done_allocating{allocated};
    for (int i = 0; i < N; i++) {
      batch1[i] = goalloc_malloc(kSize);
      ASSERT_NE(batch1[i], nullptr);
    }
    ga_cache_t *cache = ga_tls_cache;
    ASSERT_NE(cache, &ga_empty_cache);
    unsigned spc = ga_cacheclass(ga_size_to_class(kSize), GA_KIND_MANUAL_NOSCAN); // plain malloc, collector off
    ga_span_t *cur = cache->alloc[spc];
    ASSERT_EQ(cur, ga_span_of(addr(batch1[N - 1]))) << "the last object's span is current";
    // Slots of the current span never handed out (allocCount includes the
    // cache's hold on its current span: cache.h).
    EXPECT_EQ(cur->held, 1);
    uint32_t leftover = cur->nelems - (cur->allocCount - cur->held);
    // Every span the objects live in is owned by this thread's cache.
    std::map<ga_span_t *, size_t> per_span;
    for (void *p : batch1) {
      ga_span_t *s = ga_span_of(addr(p));
      ASSERT_NE(s, nullptr);
      ASSERT_EQ(s->owner, cache);
      ASSERT_EQ(s->fastowner, cache);
      ASSERT_EQ(s->elemsize, kSize);
      per_span[s]++;
    }
    EXPECT_GE(per_span.size(), (size_t)(N * kSize / 8192));
    done_allocating.fire();
    freed_f.wait();

    // Thread B freed everything: nothing is applied yet, it is all queued.
    std::set<ga_span_t *> on_stack;
    for (ga_span_t *s = __atomic_load_n(&cache->remote, __ATOMIC_ACQUIRE); s; s = s->xnext) {
      EXPECT_TRUE(on_stack.insert(s).second) << "span queued twice";
      ASSERT_LE(on_stack.size(), per_span.size());
    }
    EXPECT_EQ(on_stack.size(), per_span.size()) << "every span must be on the remote stack";
    for (auto &kv : per_span) {
      ga_span_t *s = kv.first;
      EXPECT_TRUE(on_stack.count(s));
      EXPECT_TRUE(s->xqueued);
      EXPECT_EQ(s->owner, cache);
      EXPECT_EQ(s->state, GA_SPAN_INUSE);
      EXPECT_EQ(list_length(s->xfree), kv.second) << "one xfree entry per foreign free";
    }
    for (void *p : batch1) {
      ga_span_t *s = ga_span_of(addr(p));
      EXPECT_TRUE(ga_span_is_allocated(s, (uint32_t)ga_span_object_index(s, addr(p))))
          << "the owner clears the bits, not the freeing thread";
    }

    // Allocate again: the first refill drains the remote stack, and the
    // slots come back.
    std::vector<void *> batch2;
    int drained_at = -1;
    for (int i = 0; i < N; i++) {
      batch2.push_back(goalloc_malloc(kSize));
      if (drained_at < 0 && __atomic_load_n(&cache->remote, __ATOMIC_ACQUIRE) == nullptr)
        drained_at = i;
    }
    EXPECT_GE(drained_at, 0) << "the remote stack was never drained";
    EXPECT_LE(drained_at, (int)leftover) << "drained only after the current span ran out";
    std::set<void *> old(batch1.begin(), batch1.end());
    size_t reused = 0;
    for (void *p : batch2) reused += old.count(p);
    EXPECT_GE(reused, (size_t)N - leftover)
        << "leftover " << leftover << ": slots freed by B must be handed out again";
    std::set<void *> uniq(batch2.begin(), batch2.end());
    EXPECT_EQ(uniq.size(), batch2.size()) << "an address was handed out twice";
    for (void *p : batch2) {
      ga_span_t *s = ga_span_of(addr(p));
      ASSERT_NE(s, nullptr);
      EXPECT_FALSE(s->xqueued);
      EXPECT_EQ(s->xfree, nullptr);
      EXPECT_EQ(s->owner, cache);
    }
    for (void *p : batch2) goalloc_free(p);
  });

  std::thread b([&] {
    Signal done_freeing{freed};
    allocated_f.wait();
    for (void *p : batch1) goalloc_free(p);
    // Freeing alone never gives this thread a cache.
    EXPECT_EQ(ga_tls_cache, &ga_empty_cache);
  });
  b.join();
  a.join();
}

TEST_F(Remote, FreesAfterOwnerExitGoThroughCentral) {
  // The owner exits: its spans go to mcentral (owner NULL), and a foreign
  // free clears the bit there directly.
  std::vector<void *> ps(300);
  std::thread a([&] {
    for (auto &p : ps) p = goalloc_malloc(48);
  });
  a.join();
  std::set<ga_span_t *> spans;
  for (void *p : ps) {
    ga_span_t *s = ga_span_of(addr(p));
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->owner, nullptr) << "released to central at thread exit";
    EXPECT_EQ(s->fastowner, nullptr);
    spans.insert(s);
  }
  std::thread b([&] {
    for (size_t i = 0; i + 1 < ps.size(); i++) goalloc_free(ps[i]);
  });
  b.join();
  ga_span_t *last = ga_span_of(addr(ps.back()));
  ASSERT_NE(last, nullptr);
  EXPECT_EQ(last->allocCount, 1u) << "only the last object is left in its span";
  EXPECT_GE(spans.size(), 2u);
  goalloc_free(ps.back());
  EXPECT_EQ(ga_span_of(addr(ps.back())), nullptr) << "the empty span went back to the heap";
}

}  // namespace
