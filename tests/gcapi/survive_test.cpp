// What is reachable is never reclaimed: lists reachable only from one kind
// of root each (a global, another thread's __thread variable, the stack of a
// thread blocked in read(), other heap objects, an interior pointer, a
// dlopen'ed library's data, a root range from goalloc_gc_add_roots, an
// uncollectable object) survive hundreds of forced cycles while mutator
// threads rewrite lists of their own; finalizers registered on them never
// run. Objects are GC_MALLOC'ed through the libgc-compatible header (api
// mode). The checks are on contents (gcapi_util.h), never on timings.
//
// Each TEST is its own meson test (--gtest_filter), so one failure points
// at one kind of root.
#include <gtest/gtest.h>

#include <cerrno>

#include <dlfcn.h>
#include <fcntl.h>
#include <semaphore.h>
#include <sys/mman.h>
#include <unistd.h>

#define GC_THREADS 1
#include <gc/gc.h>  // the <gc/gc.h> spelling, from C++ with the redirection on

#include "gcapi_util.h"

using namespace gcapi;

void *(*gcapi::gc_node_alloc)(size_t) = GC_malloc;

namespace {

constexpr double kDeadline = 12.0;  // seconds of cycling at most per test

// Finalizers on every 97th node of a list that must survive: none may run.
// Always created with new and never deleted: a finalizer that runs late
// (after its test) must still find its counter.
struct Watch {
  std::atomic<long> ran{0};
  long registered = 0;
  void on(Node *head) {
    long i = 0;
    for (Node *n = head; n; n = n->next, i++)
      if (i % 97 == 0) {
        GC_REGISTER_FINALIZER(n, count_finalizer, &ran, nullptr, nullptr);
        registered++;
      }
  }
};

// Runs the cycles with two mutators going, then checks the collector
// really ran them and the mutators found nothing wrong.
void cycle_with_mutators(long cycles) {
  uint64_t before = gc_cycles();
  Mutators m(2);
  long done = run_cycles(scaled(cycles), kDeadline);
  std::string err = m.stop();
  EXPECT_EQ(err, "");
  EXPECT_GE(gc_cycles() - before, (uint64_t)done) << "goalloc_gc_collect did not complete a cycle";
  EXPECT_GT(done, 0);
}

// kIndependent separate objects, each with a finalizer counting into ctr,
// stored in slots: a false reference can keep one of them, not all.
constexpr int kIndependent = 100;

__attribute__((noinline)) void fill_independent(void **slots, int n, std::atomic<long> *ctr) {
  for (int i = 0; i < n; i++) {
    void *o = GC_MALLOC(48);
    GC_REGISTER_FINALIZER(o, count_finalizer, ctr, nullptr, nullptr);
    slots[i] = o;
  }
}

// After their last root went away, at least 90% of kIndependent objects
// are finalized within 20 cycles (conservative scanning may keep a few).
void expect_most_finalized(std::atomic<long> &ctr) {
  for (int i = 0; i < 20 && ctr.load() < kIndependent; i++) goalloc_gc_collect();
  EXPECT_GE(ctr.load(), kIndependent * 9 / 10) << "of " << kIndependent;
  EXPECT_LE(ctr.load(), kIndependent) << "a finalizer ran twice";
}

class GcEnv : public ::testing::Environment {
 public:
  void SetUp() override {
    GC_INIT();
    ASSERT_EQ(goalloc_gc_mode(), GOALLOC_GC_API);
  }
};
const auto *const env = ::testing::AddGlobalTestEnvironment(new GcEnv);

// ---- (a) a global ----

Node *g_list;
ListSum g_list_sum;

TEST(Survive, Global) {
  g_list = build_list(20000, 1, &g_list_sum);
  Watch &w = *new Watch;
  w.on(g_list);
  scrub_stack();
  cycle_with_mutators(400);
  EXPECT_EQ(check_list(g_list, g_list_sum), "");
  EXPECT_EQ(w.ran.load(), 0);
}

// ---- (b) a __thread variable of another thread ----

__thread Node *t_list;

struct Handshake {
  sem_t ready, go;
  Handshake() {
    sem_init(&ready, 0, 0);
    sem_init(&go, 0, 0);
  }
};

struct TlsArgs {
  Handshake hs;
  ListSum sum;
  Watch &w = *new Watch;
  std::string err;
};

__attribute__((noinline)) void tls_build(TlsArgs *a) {
  t_list = build_list(20000, 2, &a->sum);
  a->w.on(t_list);
}

void *tls_thread(void *p) {
  auto *a = static_cast<TlsArgs *>(p);
  tls_build(a);
  scrub_stack();
  sem_post(&a->hs.ready);
  while (sem_wait(&a->hs.go) != 0) {
  }
  a->err = check_list(t_list, a->sum);
  return nullptr;
}

TEST(Survive, OtherThreadsTls) {
  TlsArgs a;
  pthread_t t;
  ASSERT_EQ(pthread_create(&t, nullptr, tls_thread, &a), 0);
  while (sem_wait(&a.hs.ready) != 0) {
  }
  cycle_with_mutators(400);
  sem_post(&a.hs.go);
  pthread_join(t, nullptr);
  EXPECT_EQ(a.err, "");
  EXPECT_EQ(a.w.ran.load(), 0);
}

// ---- (c) the stack of a thread blocked in read() ----

struct ReadArgs {
  int fds[2];
  sem_t ready;
  ListSum sum;
  Watch &w = *new Watch;
  std::string err;
  char got = 0;
};

void *read_thread(void *p) {
  auto *a = static_cast<ReadArgs *>(p);
  // volatile: the head lives in this frame's stack slot, not only in a
  // register, while the thread sleeps in the kernel.
  Node *volatile head = build_list(20000, 3, &a->sum);
  a->w.on(head);
  sem_post(&a->ready);
  ssize_t r;
  do r = read(a->fds[0], &a->got, 1);
  while (r < 0 && errno == EINTR);
  a->err = check_list(head, a->sum);
  return nullptr;
}

TEST(Survive, StackOfThreadBlockedInRead) {
  ReadArgs a;
  ASSERT_EQ(pipe(a.fds), 0);
  sem_init(&a.ready, 0, 0);
  pthread_t t;
  ASSERT_EQ(pthread_create(&t, nullptr, read_thread, &a), 0);
  while (sem_wait(&a.ready) != 0) {
  }
  cycle_with_mutators(400);
  ASSERT_EQ(write(a.fds[1], "x", 1), 1);
  pthread_join(t, nullptr);
  EXPECT_EQ(a.got, 'x');  // the read was restarted and got the byte
  EXPECT_EQ(a.err, "");
  EXPECT_EQ(a.w.ran.load(), 0);
  close(a.fds[0]);
  close(a.fds[1]);
}

// ---- (d) other heap objects: many lists, and one deep list ----

// A GC_MALLOC'ed table of list heads: the heads are reachable only through
// the table, the table only through this global.
Node **g_table;
ListSum g_table_sums[64];

TEST(Survive, HeapObjects) {
  g_table = (Node **)GC_MALLOC(64 * sizeof(Node *));
  ASSERT_NE(g_table, nullptr);
  Watch &w = *new Watch;
  for (int i = 0; i < 64; i++) {
    g_table[i] = build_list(500 + 37 * i, 100 + i, &g_table_sums[i]);
    w.on(g_table[i]);
  }
  scrub_stack();
  cycle_with_mutators(400);
  for (int i = 0; i < 64; i++) EXPECT_EQ(check_list(g_table[i], g_table_sums[i]), "") << i;
  EXPECT_EQ(w.ran.load(), 0);
}

// 1.5 million nodes in one chain: marking must not recurse on the C stack
// nor give up on depth.
Node *g_deep;
ListSum g_deep_sum;

TEST(Survive, DeepList) {
  g_deep = build_list(1500000, 4, &g_deep_sum);
  Watch &w = *new Watch;
  w.on(g_deep);
  scrub_stack();
  cycle_with_mutators(60);
  EXPECT_EQ(check_list(g_deep, g_deep_sum), "");
  EXPECT_EQ(w.ran.load(), 0);
  g_deep = nullptr;
}

// ---- (e) interior pointers ----

struct Holder {
  uint64_t pad[5];
  Node *list;
  uint64_t more[10];
};

char *g_small_interior, *g_large_interior;
ListSum g_small_sum, g_large_sum;

__attribute__((noinline)) void build_interior(Watch *w) {
  auto *h = (Holder *)GC_MALLOC(sizeof(Holder));
  h->list = build_list(5000, 5, &g_small_sum);
  w->on(h->list);
  GC_REGISTER_FINALIZER(h, count_finalizer, &w->ran, nullptr, nullptr);
  g_small_interior = (char *)h + 13;  // not even aligned

  // A large object (its own pages), the pointer far into it.
  auto **big = (Node **)GC_MALLOC(1 << 20);
  big[70000] = build_list(5000, 6, &g_large_sum);
  w->on(big[70000]);
  GC_REGISTER_FINALIZER(big, count_finalizer, &w->ran, nullptr, nullptr);
  g_large_interior = (char *)big + 700001;
}

TEST(Survive, InteriorPointers) {
  Watch &w = *new Watch;
  build_interior(&w);
  scrub_stack();
  cycle_with_mutators(400);
  auto *h = (Holder *)(g_small_interior - 13);
  auto **big = (Node **)(g_large_interior - 700001);
  EXPECT_EQ(check_list(h->list, g_small_sum), "");
  EXPECT_EQ(check_list(big[70000], g_large_sum), "");
  EXPECT_EQ(w.ran.load(), 0);
  // The compatibility calls agree with the collector about interiors.
  EXPECT_EQ(GC_base(g_small_interior), (void *)h);
  EXPECT_EQ(GC_base(g_large_interior), (void *)big);
  EXPECT_GE(GC_size(big), (size_t)1 << 20);
}

// ---- (f) a dlopen'ed library's data ----

ListSum g_dl_sum;

__attribute__((noinline)) void build_into(void **slot, ListSum *sum, uint64_t seed, Watch *w) {
  Node *l = build_list(20000, seed, sum);
  w->on(l);
  *slot = l;
}

TEST(Survive, DlopenedLibraryData) {
  void *h = dlopen(GCAPI_DL_PATH, RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(h, nullptr) << dlerror();
  auto **slot = (void **)dlsym(h, "gcapi_dl_slot");
  ASSERT_NE(slot, nullptr);
  Watch &w = *new Watch;
  build_into(slot, &g_dl_sum, 7, &w);
  scrub_stack();
  cycle_with_mutators(400);
  EXPECT_EQ(check_list((Node *)*slot, g_dl_sum), "");
  EXPECT_EQ(w.ran.load(), 0);
  // Kept loaded: unloading would make the list garbage under later tests'
  // feet, which is fine but not what this test is about.
}

// ---- (g) a root range added with goalloc_gc_add_roots ----

TEST(Survive, AddedRootRange) {
  const size_t len = 1 << 16;
  auto *area = (void **)mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                             -1, 0);
  ASSERT_NE(area, MAP_FAILED);
  ASSERT_EQ(goalloc_gc_add_roots(area, (char *)area + len), 0);
  ListSum s1, s2;
  Watch &w = *new Watch;
  build_into(&area[10], &s1, 8, &w);
  build_into(&area[len / sizeof(void *) - 1], &s2, 9, &w);  // the last word
  auto &ind = *new std::atomic<long>(0);
  fill_independent(&area[100], kIndependent, &ind);
  scrub_stack();
  cycle_with_mutators(400);
  EXPECT_EQ(check_list((Node *)area[10], s1), "");
  EXPECT_EQ(check_list((Node *)area[len / sizeof(void *) - 1], s2), "");
  EXPECT_EQ(w.ran.load(), 0);
  EXPECT_EQ(ind.load(), 0);

  // Once removed, the range is no root: what only it held becomes garbage.
  ASSERT_EQ(goalloc_gc_remove_roots(area, (char *)area + len), 0);
  expect_most_finalized(ind);
  munmap(area, len);
}

// ---- (h) uncollectable memory ----

uintptr_t g_uncollectable_hidden;  // the only reference, hidden
ListSum g_unc_sum;

TEST(Survive, Uncollectable) {
  Watch &w = *new Watch;
  auto &ind = *new std::atomic<long>(0);
  {
    auto **u = (Node **)GC_MALLOC_UNCOLLECTABLE((4 + kIndependent) * sizeof(Node *));
    ASSERT_NE(u, nullptr);
    build_into((void **)&u[2], &g_unc_sum, 10, &w);
    fill_independent((void **)&u[4], kIndependent, &ind);
    g_uncollectable_hidden = hide(u);
  }
  scrub_stack();
  cycle_with_mutators(400);
  auto **u = reveal<Node *>(g_uncollectable_hidden);
  EXPECT_EQ(check_list(u[2], g_unc_sum), "");
  EXPECT_EQ(w.ran.load(), 0);
  EXPECT_EQ(ind.load(), 0);
  // GC_FREE ends it: what it held becomes garbage.
  GC_FREE(u);
  u = nullptr;
  scrub_stack();
  expect_most_finalized(ind);
}

// ---- all of them at once, more cycles ----

TEST(Survive, EverythingAtOnce) {
  ListSum sg, sh;
  Watch &w = *new Watch;
  g_list = build_list(10000, 11, &sg);
  w.on(g_list);
  g_table = (Node **)GC_MALLOC(64 * sizeof(Node *));
  for (int i = 0; i < 64; i++) {
    g_table[i] = build_list(200, 200 + i, &g_table_sums[i]);
    w.on(g_table[i]);
  }
  auto **u = (Node **)GC_MALLOC_UNCOLLECTABLE(sizeof(Node *));
  u[0] = build_list(10000, 12, &sh);
  w.on(u[0]);
  g_uncollectable_hidden = hide(u);
  u = nullptr;

  TlsArgs ta;
  pthread_t tt;
  ASSERT_EQ(pthread_create(&tt, nullptr, tls_thread, &ta), 0);
  ReadArgs ra;
  ASSERT_EQ(pipe(ra.fds), 0);
  sem_init(&ra.ready, 0, 0);
  pthread_t rt;
  ASSERT_EQ(pthread_create(&rt, nullptr, read_thread, &ra), 0);
  while (sem_wait(&ta.hs.ready) != 0) {
  }
  while (sem_wait(&ra.ready) != 0) {
  }
  scrub_stack();

  cycle_with_mutators(1500);

  sem_post(&ta.hs.go);
  ASSERT_EQ(write(ra.fds[1], "y", 1), 1);
  pthread_join(tt, nullptr);
  pthread_join(rt, nullptr);
  EXPECT_EQ(ta.err, "");
  EXPECT_EQ(ra.err, "");
  EXPECT_EQ(check_list(g_list, sg), "");
  for (int i = 0; i < 64; i++) EXPECT_EQ(check_list(g_table[i], g_table_sums[i]), "") << i;
  u = reveal<Node *>(g_uncollectable_hidden);
  EXPECT_EQ(check_list(u[0], sh), "");
  EXPECT_EQ(w.ran.load() + ta.w.ran.load() + ra.w.ran.load(), 0);
  GC_FREE(u);
  close(ra.fds[0]);
  close(ra.fds[1]);
}

// GC_REALLOC keeps the contents and the kind: a grown table of heads still
// keeps every list alive.
TEST(Survive, ReallocatedTable) {
  auto **t = (Node **)GC_MALLOC(4 * sizeof(Node *));
  ListSum sums[256];
  Watch &w = *new Watch;
  size_t cap = 4;
  for (size_t i = 0; i < 256; i++) {
    if (i == cap) {
      cap *= 2;
      t = (Node **)GC_REALLOC(t, cap * sizeof(Node *));
      ASSERT_NE(t, nullptr);
    }
    t[i] = build_list(100, 300 + i, &sums[i]);
    w.on(t[i]);
  }
  g_table = t;  // the root
  t = nullptr;
  scrub_stack();
  cycle_with_mutators(300);
  for (size_t i = 0; i < 256; i++) EXPECT_EQ(check_list(g_table[i], sums[i]), "") << i;
  EXPECT_EQ(w.ran.load(), 0);
}

}  // namespace

// An uncollectable block is scanned at a cycle's start and then only where
// it is written: a list stored into it during a concurrent mark, held by
// nothing else, must be found by the written-page walk. The block is 16 MiB
// (a large span over whole 4 MiB chunks where nothing collectable lives:
// the walk's chunk filter must count it as scanned, arena.h). A writer
// thread keeps replacing lists in slots one page apart, checking each old
// list before it drops it.
struct SlotWriter {
  static constexpr size_t kBytes = 16 << 20, kStride = 4096 / sizeof(Node *);
  static constexpr size_t kSlots = kBytes / sizeof(Node *) / kStride;
  uintptr_t block_hidden = 0;
  // Or kSlots small blocks (1 KiB each, manual scanned small spans), their
  // addresses hidden in memory the collector does not scan.
  uintptr_t *small_hidden = nullptr;
  Node **slot(size_t k) {
    if (small_hidden) return reveal<Node *>(small_hidden[k]);
    return &reveal<Node *>(block_hidden)[k * kStride];
  }
  ListSum sums[kSlots];
  std::atomic<bool> stop{false};
  std::atomic<long> writes{0};
  std::string err;
};

__attribute__((noinline)) void replace_slot(SlotWriter *sw, size_t k, uint64_t seed) {
  Node **slot = sw->slot(k);
  if (*slot && sw->err.empty()) {
    std::string e = check_list(*slot, sw->sums[k]);
    if (!e.empty()) sw->err = "slot " + std::to_string(k) + ": " + e;
  }
  *slot = build_list(4, seed, &sw->sums[k]);
}

void *slot_writer(void *arg) {
  auto *sw = (SlotWriter *)arg;
  uint64_t seed = 1;
  while (!sw->stop.load()) {
    for (size_t k = 0; k < SlotWriter::kSlots && !sw->stop.load(); k++) replace_slot(sw, k, seed++);
    sw->writes.fetch_add(SlotWriter::kSlots);
  }
  scrub_stack();
  return nullptr;
}

void writes_during_mark(SlotWriter &sw) {
  pthread_t t;
  ASSERT_EQ(pthread_create(&t, nullptr, slot_writer, &sw), 0);
  long done = run_cycles(scaled(300), kDeadline);
  sw.stop = true;
  pthread_join(t, nullptr);
  EXPECT_GT(done, 0);
  EXPECT_GT(sw.writes.load(), 0);
  EXPECT_EQ(sw.err, "");
  goalloc_gc_collect();
  goalloc_gc_collect();
  for (size_t k = 0; k < SlotWriter::kSlots; k++) {
    if (*sw.slot(k)) {
      EXPECT_EQ(check_list(*sw.slot(k), sw.sums[k]), "") << k;
    }
  }
}

TEST(Survive, UncollectableWrittenDuringMark) {
  auto &sw = *new SlotWriter;
  void *u = GC_MALLOC_UNCOLLECTABLE(SlotWriter::kBytes);
  ASSERT_NE(u, nullptr);
  memset(u, 0, SlotWriter::kBytes);
  sw.block_hidden = hide(u);
  u = nullptr;
  writes_during_mark(sw);
  GC_FREE(reveal<void>(sw.block_hidden));
}

TEST(Survive, SmallUncollectablesWrittenDuringMark) {
  auto &sw = *new SlotWriter;
  sw.small_hidden = (uintptr_t *)malloc(SlotWriter::kSlots * sizeof(uintptr_t));
  ASSERT_NE(sw.small_hidden, nullptr);
  for (size_t k = 0; k < SlotWriter::kSlots; k++) {
    void *b = GC_MALLOC_UNCOLLECTABLE(1024);
    ASSERT_NE(b, nullptr);
    memset(b, 0, 1024);
    sw.small_hidden[k] = hide(b);
  }
  writes_during_mark(sw);
  for (size_t k = 0; k < SlotWriter::kSlots; k++) GC_FREE(reveal<void>(sw.small_hidden[k]));
  free(sw.small_hidden);
}
