// Stop-the-world: busy threads, threads blocked in system calls, threads
// that come and go during stops, registers and stack ranges of stopped
// threads, alternate signal stacks, fork.
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "gc_util.h"

namespace {

struct Worker {
  std::thread th;
  std::atomic<uint64_t> count{0};
  std::atomic<bool> registered{false};
  std::atomic<uintptr_t> local_addr{0};
  pid_t tid = 0;
};

std::atomic<bool> g_quit;

uint64_t now_ns() {
  return (uint64_t)std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

GA_NOINLINE uint64_t churn(uint64_t x) {
  volatile uint64_t a[8];
  for (int i = 0; i < 8; i++) a[i] = x + (uint64_t)i;
  return a[x & 7];
}

void busy(Worker *w) {
  ASSERT_NE(ga_gc_stw_register_self(), nullptr);
  w->tid = gettid();
  volatile uint64_t secret = 0x5ec2e7;
  w->local_addr = (uintptr_t)&secret;
  w->registered = true;
  while (!g_quit.load(std::memory_order_relaxed)) {
    w->count.fetch_add(1, std::memory_order_relaxed);
    churn(w->count.load(std::memory_order_relaxed));
  }
  ga_gc_stw_unregister_self();
}

std::vector<GcRange> stacks() {
  std::vector<GcRange> v;
  ga_gc_stw_for_each_stack(gc_collect_range, &v);
  return v;
}

void check_stopped_records(unsigned gen_expect_threads) {
  struct Ctx {
    unsigned n;
    pid_t me;
  } c = {0, gettid()};
  ga_gc_stw_for_each_thread(
      [](const ga_gc_thread_t *t, void *p) {
        Ctx *c = static_cast<Ctx *>(p);
        if (t->tid == c->me) return;
        c->n++;
        EXPECT_LT(t->stack_lo, t->stack_hi);
        if (!t->alt_lo) {
          EXPECT_GE(t->sp, t->stack_lo) << "tid " << t->tid;
          EXPECT_LT(t->sp, t->stack_hi) << "tid " << t->tid;
        }
        // The interrupted rsp is above the handler's sp, on the same stack.
        uintptr_t rsp = (uintptr_t)t->regs[REG_RSP];
        EXPECT_GT(rsp, t->sp);
        if (!t->alt_lo) {
          EXPECT_LE(rsp, t->stack_hi);
        }
      },
      &c);
  EXPECT_EQ(c.n, gen_expect_threads);
}

class Stw : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(ga_gc_stw_init(0));
    ASSERT_NE(ga_gc_stw_register_self(), nullptr);
    g_quit = false;
  }
  void TearDown() override { ga_gc_stw_unregister_self(); }
};

}  // namespace

TEST_F(Stw, StopsAndResumesBusyThreadsManyTimes) {
  const int N = 4;
  std::vector<Worker> ws(N);
  for (auto &w : ws) w.th = std::thread(busy, &w);
  for (auto &w : ws)
    while (!w.registered) std::this_thread::yield();
  EXPECT_EQ(ga_gc_stw_count(), (unsigned)N + 1);

  uint64_t worst = 0, total = 0;
  const int rounds = 150;
  for (int r = 0; r < rounds; r++) {
    uint64_t t0 = now_ns();
    unsigned n = ga_gc_stw_stop_world();
    uint64_t dt = now_ns() - t0;
    worst = std::max(worst, dt);
    total += dt;
    ASSERT_EQ(n, (unsigned)N);
    EXPECT_TRUE(ga_gc_stw_world_stopped());
    uint64_t before[N];
    for (int i = 0; i < N; i++) before[i] = ws[i].count.load();
    if (r % 15 == 0) {
      check_stopped_records(N);
      // Nothing moves while stopped.
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      for (int i = 0; i < N; i++) EXPECT_EQ(ws[i].count.load(), before[i]);
      // Every thread's local is inside the ranges to scan.
      auto v = stacks();
      for (auto &w : ws) EXPECT_TRUE(gc_covered(v, w.local_addr.load()));
    }
    ga_gc_stw_start_world();
    EXPECT_FALSE(ga_gc_stw_world_stopped());
    // Let every thread make progress before the next stop.
    // (Sleeping rather than yielding: with more threads than CPUs a
    // yielding stopper barely lets them run.)
    for (int i = 0; i < N; i++)
      while (ws[i].count.load() == before[i]) std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  g_quit = true;
  for (auto &w : ws) w.th.join();
  EXPECT_EQ(ga_gc_stw_count(), 1u);
  printf("stop latency with %d busy threads on %d CPUs: mean %.1f us, worst %.1f us\n", N,
         (int)std::thread::hardware_concurrency(), total / rounds / 1e3, worst / 1e3);
}

static __thread void *g_main_tls;

TEST_F(Stw, CallerStackAndRegistersAreReported) {
  volatile uint64_t mine = 7;
  ga_gc_stw_stop_world();
  auto v = stacks();
  // The stopper already holds the registry lock: the TLS roots (which walk
  // the registry) must not take it again.
  std::vector<GcRange> tls;
  ga_gc_roots_for_each_kind(GA_GC_ROOTS_TLS, gc_collect_range, &tls);
  ga_gc_stw_start_world();
  EXPECT_TRUE(gc_covered(v, (uintptr_t)&mine));
  ga_gc_thread_t *self = ga_gc_stw_self();
  EXPECT_TRUE(gc_covered(v, (uintptr_t)self->regs, 6 * 8));
  // The main thread's static TLS is outside its stack: reported as TLS.
  EXPECT_TRUE(gc_covered(tls, (uintptr_t)&g_main_tls));
}

// A value held only in a callee-saved register is found in the saved
// register block of the stopped thread.
TEST_F(Stw, InterruptedRegistersAreSaved) {
  const uint64_t magic = 0x7a11c0ffee123457ULL;
  std::atomic<int> state{0};
  std::thread th([&] {
    ga_gc_stw_register_self();
    int *flag = reinterpret_cast<int *>(&state);
    register uint64_t r12 asm("r12") = magic;
    __atomic_store_n(flag, 1, __ATOMIC_RELEASE);
    // Spin until state becomes 2, with magic live in r12 throughout.
    __asm__ volatile(
        "1: pause\n\t"
        "cmpl $2, (%1)\n\t"
        "jne 1b"
        : "+r"(r12)
        : "r"(flag)
        : "memory", "cc");
    ga_gc_stw_unregister_self();
  });
  while (state.load() != 1) std::this_thread::yield();
  bool found = false;
  for (int attempt = 0; attempt < 50 && !found; attempt++) {
    ASSERT_EQ(ga_gc_stw_stop_world(), 1u);
    ga_gc_stw_for_each_thread(
        [](const ga_gc_thread_t *t, void *p) {
          if (t->tid == gettid()) return;
          bool *found = static_cast<bool *>(p);
          if ((uint64_t)t->regs[REG_R12] == 0x7a11c0ffee123457ULL) *found = true;
        },
        &found);
    auto v = stacks();
    ga_gc_stw_start_world();
    if (!found) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  state = 2;
  th.join();
  EXPECT_TRUE(found);
}

TEST_F(Stw, ThreadBlockedInReadStopsAndReadRestarts) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  std::atomic<bool> ready{false};
  std::atomic<uintptr_t> local_addr{0};
  ssize_t got = -2;
  int err = 0;
  char buf[16] = {};
  std::thread th([&] {
    ga_gc_stw_register_self();
    volatile uint64_t held_across_read = 0xfeed;
    local_addr = (uintptr_t)&held_across_read;
    ready = true;
    got = read(fds[0], buf, 5);  // SA_RESTART: no EINTR from our signal
    err = errno;
    ga_gc_stw_unregister_self();
  });
  while (!ready) std::this_thread::yield();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  for (int i = 0; i < 50; i++) {
    ASSERT_EQ(ga_gc_stw_stop_world(), 1u);
    check_stopped_records(1);
    // A pointer on the stack of a thread blocked in a system call is seen.
    if (i == 0) {
      EXPECT_TRUE(gc_covered(stacks(), local_addr.load()));
    }
    ga_gc_stw_start_world();
  }
  ASSERT_EQ(write(fds[1], "hello", 5), 5);
  th.join();
  EXPECT_EQ(got, 5) << "errno " << err;
  EXPECT_EQ(std::string(buf), "hello");
  close(fds[0]);
  close(fds[1]);
}

TEST_F(Stw, ThreadInNanosleepStopsAndResumes) {
  std::atomic<bool> ready{false}, done{false};
  int eintr = 0;
  uint64_t slept = 0;
  std::thread th([&] {
    ga_gc_stw_register_self();
    ready = true;
    uint64_t t0 = now_ns();
    struct timespec req = {0, 300 * 1000 * 1000}, rem;
    // nanosleep is never restarted: it returns EINTR with the time left.
    while (nanosleep(&req, &rem) == -1 && errno == EINTR) {
      eintr++;
      req = rem;
    }
    slept = now_ns() - t0;
    ga_gc_stw_unregister_self();
    done = true;
  });
  while (!ready) std::this_thread::yield();
  int stops = 0;
  while (!done) {
    unsigned n = ga_gc_stw_stop_world();
    ga_gc_stw_start_world();
    if (n == 1) stops++;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  th.join();
  EXPECT_GT(stops, 5);
  EXPECT_GT(eintr, 0);
  EXPECT_GE(slept, 300u * 1000 * 1000);
}

TEST_F(Stw, ThreadWaitingOnConditionVariable) {
  std::mutex m;
  std::condition_variable cv;
  bool go = false;
  std::atomic<bool> ready{false};
  std::thread th([&] {
    ga_gc_stw_register_self();
    std::unique_lock<std::mutex> lk(m);
    ready = true;
    cv.wait(lk, [&] { return go; });
    ga_gc_stw_unregister_self();
  });
  while (!ready) std::this_thread::yield();
  for (int i = 0; i < 50; i++) {
    ASSERT_EQ(ga_gc_stw_stop_world(), 1u);
    ga_gc_stw_start_world();
  }
  {
    std::lock_guard<std::mutex> lk(m);
    go = true;
  }
  cv.notify_one();
  th.join();
}

TEST_F(Stw, ThreadsComingAndGoingDuringStops) {
  std::atomic<bool> quit{false};
  std::atomic<int> lifetimes{0};
  auto spawner = [&] {
    while (!quit) {
      std::thread t([&] {
        ga_gc_stw_register_self();
        churn(1);
        ga_gc_stw_unregister_self();
        lifetimes++;
      });
      t.join();
    }
  };
  std::thread s1(spawner), s2(spawner);
  uint64_t t0 = now_ns();
  int stops = 0;
  while (now_ns() - t0 < 500u * 1000 * 1000) {
    unsigned n = ga_gc_stw_stop_world();
    EXPECT_LE(n, 2u);
    check_stopped_records(n);
    ga_gc_stw_start_world();
    stops++;
  }
  quit = true;
  s1.join();
  s2.join();
  EXPECT_GT(stops, 10);
  EXPECT_GT(lifetimes.load(), 10);
  EXPECT_EQ(ga_gc_stw_count(), 1u);
}

TEST_F(Stw, ThreadExitingWithoutUnregisterIsDropped) {
  std::thread t([] { ga_gc_stw_register_self(); });
  t.join();
  // The kernel may need a moment to reap the tid.
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(ga_gc_stw_count(), 2u);
  EXPECT_EQ(ga_gc_stw_stop_world(), 0u);
  ga_gc_stw_start_world();
  EXPECT_EQ(ga_gc_stw_count(), 1u);
}

TEST_F(Stw, ForeignSignalIsIgnoredOutsideAStop) {
  std::atomic<bool> ready{false}, quit{false};
  std::atomic<uint64_t> count{0};
  pthread_t pt;
  std::thread th([&] {
    ga_gc_stw_register_self();
    ready = true;
    while (!quit) count++;
    ga_gc_stw_unregister_self();
  });
  pt = th.native_handle();
  while (!ready) std::this_thread::yield();
  for (int i = 0; i < 20; i++) {
    pthread_kill(pt, ga_gc_stw_signal());
    uint64_t c = count.load();
    while (count.load() == c) std::this_thread::yield();  // it keeps running
  }
  ASSERT_EQ(ga_gc_stw_stop_world(), 1u);
  ga_gc_stw_start_world();
  quit = true;
  th.join();
}

TEST_F(Stw, RegistrationWaitsWhileStopped) {
  std::atomic<bool> registered{false};
  ga_gc_stw_stop_world();
  std::thread th([&] {
    ga_gc_stw_register_self();
    registered = true;
    ga_gc_stw_unregister_self();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(registered.load());
  ga_gc_stw_start_world();
  th.join();
  EXPECT_TRUE(registered.load());
}

namespace {
std::atomic<int> g_alt_state;
void alt_handler(int) {
  g_alt_state = 1;
  while (g_alt_state.load() != 2) {
  }
}
}  // namespace

TEST_F(Stw, ThreadOnAlternateSignalStack) {
  static char altstack[64 << 10];
  struct sigaction sa = {}, old;
  sa.sa_handler = alt_handler;
  sa.sa_flags = SA_ONSTACK;
  ASSERT_EQ(sigaction(SIGUSR1, &sa, &old), 0);
  g_alt_state = 0;
  std::atomic<bool> ready{false};
  std::thread th([&] {
    stack_t ss = {};
    ss.ss_sp = altstack;
    ss.ss_size = sizeof altstack;
    ASSERT_EQ(sigaltstack(&ss, nullptr), 0);
    ga_gc_stw_register_self();
    ready = true;
    while (g_alt_state.load() != 2) std::this_thread::yield();
    ga_gc_stw_unregister_self();
    ss.ss_flags = SS_DISABLE;
    sigaltstack(&ss, nullptr);
  });
  while (!ready) std::this_thread::yield();
  pthread_kill(th.native_handle(), SIGUSR1);
  while (g_alt_state.load() != 1) std::this_thread::yield();
  ASSERT_EQ(ga_gc_stw_stop_world(), 1u);
  struct Res {
    uintptr_t sp, alt_lo, alt_hi, lo, hi;
  } r = {};
  ga_gc_stw_for_each_thread(
      [](const ga_gc_thread_t *t, void *p) {
        if (t->tid == gettid()) return;
        *static_cast<Res *>(p) = {t->sp, t->alt_lo, t->alt_hi, t->stack_lo, t->stack_hi};
      },
      &r);
  auto v = stacks();
  ga_gc_stw_start_world();
  g_alt_state = 2;
  th.join();
  sigaction(SIGUSR1, &old, nullptr);
  uintptr_t a = (uintptr_t)altstack;
  EXPECT_TRUE(r.sp >= a && r.sp < a + sizeof altstack);
  EXPECT_EQ(r.alt_lo, r.sp);
  EXPECT_EQ(r.alt_hi, a + sizeof altstack);
  // Both the alternate stack and the whole normal stack are scanned.
  EXPECT_TRUE(gc_covered(v, r.sp));
  EXPECT_TRUE(gc_covered(v, (r.lo + 7) & ~(uintptr_t)7));
  EXPECT_TRUE(gc_covered(v, r.hi - 8));
}

TEST_F(Stw, ForkChildKeepsOnlyItself) {
  std::atomic<bool> quit{false}, ready{false};
  std::thread th([&] {
    ga_gc_stw_register_self();
    ready = true;
    while (!quit) std::this_thread::yield();
    ga_gc_stw_unregister_self();
  });
  while (!ready) std::this_thread::yield();
  ASSERT_EQ(ga_gc_stw_count(), 2u);
  pid_t pid = fork();
  if (pid == 0) {
    ga_gc_stw_atfork_child();
    int bad = ga_gc_stw_count() != 1;
    bad |= ga_gc_stw_stop_world() != 0;
    ga_gc_stw_start_world();
    bad |= ga_gc_stw_self() == nullptr || ga_gc_stw_self()->tid != getpid();
    _exit(bad);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  quit = true;
  th.join();
}

// What the stop uses to drop a dead thread's record whose tid one of
// goalloc's threads (every signal blocked) got after the signal went out:
// the signal must show as pending in that thread, and only there.
TEST(StwOs, SignalPendingInABlockingThreadIsSeen) {
  std::atomic<pid_t> tid{0};
  std::atomic<bool> done{false};
  std::thread t([&] {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);
    tid = (pid_t)syscall(SYS_gettid);
    while (!done) usleep(1000);
  });
  while (!tid) usleep(100);
  EXPECT_FALSE(ga_os_thread_signal_pending(tid, SIGURG));
  ASSERT_EQ(syscall(SYS_tgkill, getpid(), (pid_t)tid, SIGURG), 0);
  EXPECT_TRUE(ga_os_thread_signal_pending(tid, SIGURG));
  EXPECT_FALSE(ga_os_thread_signal_pending(tid, SIGWINCH));
  EXPECT_FALSE(ga_os_thread_signal_pending((pid_t)syscall(SYS_gettid), SIGURG));
  done = true;
  t.join();  // exits with the signal still pending and blocked
}
