// See gcapi_util.h.
#include "gcapi_util.h"

#include <ctime>

namespace gcapi {

Node *build_list(uint64_t count, uint64_t seed, ListSum *expect) {
  Node *head = nullptr;
  ListSum s;
  for (uint64_t i = 0; i < count; i++) {
    uint64_t v = mix(seed * 1000003u + i);
    head = new_node(v, head);
    s.count++;
    s.sum += v;
  }
  *expect = s;
  return head;
}

std::string check_list(const Node *head, const ListSum &expect) {
  ListSum got;
  const Node *n = head;
  for (; n && got.count <= expect.count; n = n->next) {
    if (n->chk != node_chk(n, n->val)) {
      char buf[160];
      snprintf(buf, sizeof buf, "node %p (#%llu) overwritten: val %#llx chk %#llx", (const void *)n,
               (unsigned long long)got.count, (unsigned long long)n->val,
               (unsigned long long)n->chk);
      return buf;
    }
    got.count++;
    got.sum += n->val;
  }
  if (!(got == expect)) {
    char buf[160];
    snprintf(buf, sizeof buf, "list %p: %llu nodes, sum %#llx; expected %llu, %#llx",
             (const void *)head, (unsigned long long)got.count, (unsigned long long)got.sum,
             (unsigned long long)expect.count, (unsigned long long)expect.sum);
    return buf;
  }
  return "";
}

void scrub_stack() {
  volatile char buf[256 << 10];
  memset((char *)buf, 0, sizeof buf);
  __asm__ __volatile__("" : : "r"(buf) : "memory");
}

void count_finalizer(void *obj, void *arg) {
  static_cast<std::atomic<long> *>(arg)->fetch_add(1);
}

long scaled(long n) {
  const char *s = getenv("GCAPI_SCALE");
  double f = s ? atof(s) : 1.0;
  long r = (long)(n * f);
  return r < 1 ? 1 : r;
}

static double now_s() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// Garbage between cycles: a short list, dropped at once, so that slots the
// collector frees are handed out again soon.
__attribute__((noinline)) static void garbage(uint64_t seed) {
  ListSum s;
  Node *g = build_list(64, seed, &s);
  __asm__ __volatile__("" : : "r"(g) : "memory");
}

long run_cycles(long cycles, double deadline_s) {
  double end = now_s() + deadline_s;
  long i = 0;
  for (; i < cycles && now_s() < end; i++) {
    garbage((uint64_t)i);
    goalloc_gc_collect();
  }
  return i;
}

goalloc_gc_stats_t gc_stats() {
  goalloc_gc_stats_t st;
  memset(&st, 0, sizeof st);
  st.struct_size = sizeof st;
  goalloc_gc_get_stats(&st);
  return st;
}

uint64_t gc_cycles() { return gc_stats().cycles; }

// ---- mutators ----

namespace {
struct MutatorArg {
  class Mutators *m;
  int id;
};
}  // namespace

Mutators::Mutators(int n, uint64_t nodes, bool free_removed)
    : n_(n > 16 ? 16 : n), nodes_(nodes), free_removed_(free_removed) {
  for (int i = 0; i < n_; i++) {
    // The argument block is plain malloc memory and holds no heap pointer.
    auto *a = new MutatorArg{this, i};
    if (pthread_create(&tids_[i], nullptr, main, a) != 0) abort();
  }
}

Mutators::~Mutators() { stop(); }

std::string Mutators::stop() {
  if (!stopped_) {
    stopped_ = true;
    stop_.store(true);
    for (int i = 0; i < n_; i++) pthread_join(tids_[i], nullptr);
  }
  return error_;
}

void *Mutators::main(void *argp) {
  auto *a = static_cast<MutatorArg *>(argp);
  Mutators *m = a->m;
  uint64_t seed = 7777 + (uint64_t)a->id * 1000;
  delete a;
  ListSum expect;
  // The list's only root: this local (the stack or a saved register).
  Node *head = build_list(m->nodes_, seed, &expect);
  uint64_t rng = seed, round = 0;
  std::string err;
  while (!m->stop_.load(std::memory_order_relaxed) && err.empty()) {
    rng = mix(rng + 1);
    // Replace the node after a random position with a new one.
    uint64_t k = rng % (expect.count - 1);
    Node *prev = head;
    for (uint64_t i = 0; i < k; i++) prev = prev->next;
    Node *old = prev->next;
    uint64_t v = mix(rng ^ 0xabcdef);
    prev->next = new_node(v, old->next);
    expect.sum += v - old->val;
    if (m->free_removed_) {
      free(old);
    } else {
      old->next = nullptr;  // the dropped node must not keep the tail alive
    }
    // Move the first node to the end: long-lived nodes get written again.
    if ((round & 7) == 0) {
      Node *first = head, *last = head;
      while (last->next) last = last->next;
      head = first->next;
      first->next = nullptr;
      last->next = first;
    }
    // Garbage that only this frame sees, then drops.
    {
      ListSum gs;
      Node *g = build_list(16 + (rng & 31), rng, &gs);
      if ((round & 15) == 0) err = check_list(g, gs);
    }
    if ((round & 63) == 0 && err.empty()) err = check_list(head, expect);
    round++;
    m->rounds_.fetch_add(1, std::memory_order_relaxed);
  }
  if (err.empty()) err = check_list(head, expect);
  if (!err.empty()) {
    pthread_mutex_lock(&m->mu_);
    if (m->error_.empty()) m->error_ = "mutator: " + err;
    pthread_mutex_unlock(&m->mu_);
  }
  return nullptr;
}

}  // namespace gcapi
