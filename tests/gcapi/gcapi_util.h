// Shared helpers of the collector tests through the public API
// (tests/gcapi): checksummed linked lists, hidden pointers, mutator threads,
// finalizer counters and stack scrubbing.
//
// How reclaimed-while-reachable memory is caught: every node stores its
// value and a check word derived from the value and the node's own address;
// every list is built with a known count and sum of values. If the
// collector frees a reachable node, the slot is handed out again (zeroed by
// GC_MALLOC, or filled by another list), and walking the list finds a bad
// check word, a wrong count or a wrong sum. Walks are bounded by the
// expected count, so a corrupted list cannot loop forever.
//
// Allocation goes through a pluggable function (gc_node_alloc) so that the
// same lists serve the api-mode tests (GC_MALLOC) and the GOALLOC_GC=collect
// tests (plain malloc).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <pthread.h>

#include <goalloc.h>

namespace gcapi {

struct Node {
  Node *next;
  uint64_t val;
  uint64_t chk;
};

inline uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  return x ^ (x >> 33);
}

inline uint64_t node_chk(const Node *n, uint64_t val) {
  return mix(val ^ (uint64_t)(uintptr_t)n ^ 0x5bd1e995u);
}

// How nodes are allocated (GC_MALLOC by default; malloc in collect mode).
extern void *(*gc_node_alloc)(size_t);

inline Node *new_node(uint64_t val, Node *next) {
  Node *n = (Node *)gc_node_alloc(sizeof(Node));
  if (!n) {
    fprintf(stderr, "gcapi: out of memory\n");
    abort();
  }
  n->next = next;
  n->val = val;
  n->chk = node_chk(n, val);
  return n;
}

// What a list must look like.
struct ListSum {
  uint64_t count = 0, sum = 0;
  bool operator==(const ListSum &o) const { return count == o.count && sum == o.sum; }
};

// Builds a list of count nodes with values derived from seed. noinline, so
// that the pointers it handled die with its frame.
__attribute__((noinline)) Node *build_list(uint64_t count, uint64_t seed, ListSum *expect);

// Walks at most expect.count + 1 nodes; "" if the list is intact, else what
// is wrong.
std::string check_list(const Node *head, const ListSum &expect);

// Pointers stored complemented: the collector never sees them.
inline uintptr_t hide(const void *p) { return ~(uintptr_t)p; }
template <class T> inline T *reveal(uintptr_t h) { return (T *)~h; }

// Overwrites a large part of the stack below the caller, so that stale
// copies of pointers from finished calls do not keep garbage alive.
__attribute__((noinline)) void scrub_stack();

// Finalizer that counts: arg points to a std::atomic<long>.
void count_finalizer(void *obj, void *arg);

// Scales the number of cycles of a test (GCAPI_SCALE, default 1.0).
long scaled(long n);

// Runs goalloc_gc_collect up to `cycles` times (stopping early once
// `deadline_s` seconds have passed, to keep each test short on a slow
// machine); returns how many ran. Allocates a little garbage between
// cycles, so that freed slots are reused and reuse can be caught.
long run_cycles(long cycles, double deadline_s);

// Cycles completed so far (goalloc_gc_get_stats).
uint64_t gc_cycles();
goalloc_gc_stats_t gc_stats();

// Background threads, each mutating a list of its own, rooted only in its
// stack: unlinks and relinks nodes, replaces nodes with new ones, drops
// garbage, and checks the whole list every few rounds.
class Mutators {
 public:
  explicit Mutators(int n, uint64_t nodes = 2000, bool free_removed = false);
  ~Mutators();
  // Stops the threads and returns "" or the first problem any of them found.
  std::string stop();
  long rounds() const { return rounds_.load(); }

 private:
  static void *main(void *arg);
  int n_;
  uint64_t nodes_;
  bool free_removed_;
  pthread_t tids_[16];
  std::atomic<bool> stop_{false};
  std::atomic<long> rounds_{0};
  pthread_mutex_t mu_ = PTHREAD_MUTEX_INITIALIZER;
  std::string error_;
  bool stopped_ = false;
};

}  // namespace gcapi
