// Misuse: goalloc must print exactly one line naming the call, the pointer
// and the problem, then abort (default) or carry on (GOALLOC_ON_ERROR=warn).
// Option parsing is checked the same way, through a helper process.
//
// Death tests use googletest's default "fast" style (fork without exec) on
// purpose: the expected line contains the pointer, which only a forked child
// shares with the parent (a re-executed child gets a new address layout).
// googletest warns that the process has threads (goalloc's scavenger);
// goalloc is fork-safe, so that warning is expected.
#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <regex>
#include <string>
#include <vector>

#include <sys/wait.h>

#include "api_util.h"

using namespace api;

namespace {

char g_global[64];

// The whole of the child's stderr must be the one line.
std::string whole(const std::string &line) { return "^" + line + "\n?$"; }

#define EXPECT_GOALLOC_ABORT(stmt, regex) \
  EXPECT_EXIT(stmt, ::testing::KilledBySignal(SIGABRT), whole(regex))

// Both frees of a double free run in the death-test child: between two frees
// in the parent, googletest's own allocations could be handed p's memory
// again, which would turn the second free into a legitimate one. The
// laundering keeps the deliberate reuse free of use-after-free warnings.
void free_twice(void *p) {
  void *again = opaque(p);
  free(p);
  free(again);
}

TEST(DeathTest, DoubleFreeSmall) {
  void *p = malloc(64);
  ASSERT_NE(p, nullptr);
  EXPECT_GOALLOC_ABORT(free_twice(p), error_line_regex("free", p, "double free"));
  free(p);  // still live in this process
}

TEST(DeathTest, DoubleFreeSmallWithLiveNeighbours) {
  void *a = malloc(48), *p = malloc(48), *b = malloc(48);
  EXPECT_GOALLOC_ABORT(free_twice(p), error_line_regex("free", p, "double free"));
  free(a);
  free(p);
  free(b);
}

TEST(DeathTest, DoubleFreeLarge) {
  void *p = malloc(MiB);
  ASSERT_NE(p, nullptr);
  EXPECT_GOALLOC_ABORT(free_twice(p), error_line_regex("free", p, "double free"));
  free(p);
}

TEST(DeathTest, DoubleFreeTiny) {
  void *p = malloc(3);
  ASSERT_NE(p, nullptr);
  EXPECT_GOALLOC_ABORT(free_twice(p), error_line_regex("free", p, "double free"));
  free(p);
}

// Tiny objects share a 16-byte block: the double free of one must be seen
// even while the others in its block are alive.
TEST(DeathTest, DoubleFreeTinyWithLiveNeighbours) {
  void *a = malloc(3), *p = malloc(3), *b = malloc(5);
  EXPECT_GOALLOC_ABORT(free_twice(p), error_line_regex("free", p, "double free"));
  free(a);
  free(p);
  free(b);
}

TEST(DeathTest, DoubleFreeViaFreeSized) {
  void *p = malloc(200);
  // The contract names free() only; goalloc may name free_sized itself.
  EXPECT_GOALLOC_ABORT(
      {
        void *again = opaque(p);
        free_sized(p, 200);
        free_sized(again, 200);
      },
      error_line_regex("free(_sized)?", p, "double free"));
  free(p);
}

TEST(DeathTest, DoubleDelete) {
  int *p = new int(5);
  EXPECT_EXIT(
      {
        int *again = opaque(p);
        delete p;
        delete again;
      },
      ::testing::KilledBySignal(SIGABRT),
      whole("goalloc: [a-z_ ]+\\(0x0*[0-9a-f]+\\): double free( \\([^\n]*\\))?"));
  delete p;
}

TEST(DeathTest, InteriorPointerSmall) {
  char *p = static_cast<char *>(malloc(100));
  EXPECT_GOALLOC_ABORT(free(opaque(p + 16)), error_line_regex("free", p + 16, "invalid pointer"));
  free(p);
}

TEST(DeathTest, InteriorPointerLarge) {
  char *p = static_cast<char *>(malloc(MiB));
  EXPECT_GOALLOC_ABORT(free(opaque(p + 4096)),
                       error_line_regex("free", p + 4096, "invalid pointer"));
  EXPECT_GOALLOC_ABORT(free(opaque(p + 1)), error_line_regex("free", p + 1, "invalid pointer"));
  free(p);
}

TEST(DeathTest, StackPointer) {
  char buf[64] = {0};
  EXPECT_GOALLOC_ABORT(free(opaque(buf)), error_line_regex("free", buf, "invalid pointer"));
}

TEST(DeathTest, GlobalPointer) {
  EXPECT_GOALLOC_ABORT(free(opaque(g_global)), error_line_regex("free", g_global, "invalid pointer"));
}

TEST(DeathTest, ReallocInvalidPointer) {
  char buf[64] = {0};
  EXPECT_GOALLOC_ABORT(opaque(realloc(opaque(buf), 100)),
                       error_line_regex("realloc", buf, "[^\n]+"));
  char *p = static_cast<char *>(malloc(100));
  EXPECT_GOALLOC_ABORT(opaque(realloc(opaque(p + 8), 200)),
                       error_line_regex("realloc", p + 8, "[^\n]+"));
  free(p);
}

TEST(DeathTest, ReallocFreedPointer) {
  void *p = malloc(100);
  EXPECT_GOALLOC_ABORT(
      {
        void *again = opaque(p);
        free(p);
        opaque(realloc(again, 200));
      },
      error_line_regex("realloc", p, "[^\n]+"));
  free(p);
}

// ---------------------------------------------------------------------------
// Through the helper process.

bool exited_ok(const HelperResult &r) { return WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0; }

std::string describe(const HelperResult &r) {
  std::string s = "status ";
  if (WIFEXITED(r.status))
    s += "exit " + std::to_string(WEXITSTATUS(r.status));
  else if (WIFSIGNALED(r.status))
    s += "signal " + std::to_string(WTERMSIG(r.status));
  else
    s += std::to_string(r.status);
  return s + "\n--- stdout ---\n" + r.out + "--- stderr ---\n" + r.err;
}

// The "expect OP PTR KIND" lines the helper printed, as regexes for the
// lines goalloc must have printed.
std::vector<std::string> expected_lines(const HelperResult &r) {
  std::vector<std::string> want;
  for (const std::string &l : split_lines(r.out)) {
    char op[32], kind[64];
    void *p;
    if (std::sscanf(l.c_str(), "expect %31s %p %63[^\n]", op, &p, kind) == 3)
      want.push_back(error_line_regex(op, p, std::strcmp(kind, "any") ? kind : "[^\n]+"));
  }
  return want;
}

TEST(HelperTest, DefaultRunIsSilent) {
  HelperResult r = run_helper({"plain"}, {});
  EXPECT_TRUE(exited_ok(r)) << describe(r);
  EXPECT_EQ(r.out, "ok\n");
  EXPECT_EQ(r.err, "") << "goalloc printed something on a clean run";
}

TEST(HelperTest, ValidOptionValuesAreSilent) {
  for (const char *env : {"GOALLOC_SCAVENGE=0", "GOALLOC_SCAVENGE=1", "GOALLOC_SCAVENGE_RETAIN=50",
                          "GOALLOC_SCAVENGE_RETAIN=0", "GOALLOC_SCAVENGE_PERIOD_MS=5",
                          "GOALLOC_ON_ERROR=abort", "GOALLOC_ON_ERROR=warn"}) {
    HelperResult r = run_helper({"plain"}, {env});
    EXPECT_TRUE(exited_ok(r)) << env << "\n" << describe(r);
    EXPECT_EQ(r.err, "") << env;
  }
}

TEST(HelperTest, BadOptionValueWarnsOnceAndRuns) {
  for (const char *env : {"GOALLOC_SCAVENGE_RETAIN=banana", "GOALLOC_SCAVENGE=banana",
                          "GOALLOC_SCAVENGE_PERIOD_MS=banana", "GOALLOC_ON_ERROR=banana",
                          "GOALLOC_STATS=banana"}) {
    HelperResult r = run_helper({"plain"}, {env});
    EXPECT_TRUE(exited_ok(r)) << env << "\n" << describe(r);
    EXPECT_EQ(r.out, "ok\n") << env;
    auto lines = split_lines(r.err);
    ASSERT_EQ(lines.size(), 1u) << env << ": want one warning line\n" << describe(r);
    EXPECT_EQ(lines[0].rfind("goalloc: warning: ", 0), 0u) << env << ": " << lines[0];
  }
}

// A bad GOALLOC_ON_ERROR falls back to the default, abort.
TEST(HelperTest, BadOnErrorValueKeepsAbort) {
  HelperResult r = run_helper({"double-free"}, {"GOALLOC_ON_ERROR=banana"});
  EXPECT_TRUE(WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGABRT) << describe(r);
  auto lines = split_lines(r.err);
  auto want = expected_lines(r);
  ASSERT_EQ(lines.size(), 2u) << describe(r);
  ASSERT_EQ(want.size(), 1u);
  EXPECT_EQ(lines[0].rfind("goalloc: warning: ", 0), 0u) << lines[0];
  EXPECT_TRUE(std::regex_match(lines[1], std::regex(want[0]))) << lines[1] << " !~ " << want[0];
}

TEST(HelperTest, StatsAtExit) {
  HelperResult r = run_helper({"plain"}, {"GOALLOC_STATS=1"});
  EXPECT_TRUE(exited_ok(r)) << describe(r);
  EXPECT_EQ(r.out, "ok\n");
  EXPECT_FALSE(r.err.empty()) << "GOALLOC_STATS=1 printed no statistics";
  EXPECT_EQ(r.err.find("goalloc: warning"), std::string::npos) << r.err;
}

// Each misuse under GOALLOC_ON_ERROR=warn: the same single line per misuse,
// then the program goes on, with a heap that still works.
TEST(HelperTest, WarnModeReportsAndContinues) {
  for (const char *mode : {"double-free", "double-free-tiny", "double-free-large", "invalid"}) {
    HelperResult r = run_helper({mode}, {"GOALLOC_ON_ERROR=warn"});
    EXPECT_TRUE(exited_ok(r)) << mode << "\n" << describe(r);
    auto out = split_lines(r.out);
    EXPECT_TRUE(!out.empty() && out.back() == "ok") << mode << "\n" << describe(r);
    auto want = expected_lines(r);
    auto got = split_lines(r.err);
    ASSERT_FALSE(want.empty()) << mode;
    ASSERT_EQ(got.size(), want.size()) << mode << "\n" << describe(r);
    for (size_t i = 0; i < want.size(); i++)
      EXPECT_TRUE(std::regex_match(got[i], std::regex(want[i])))
          << mode << ": line " << i << " '" << got[i] << "' !~ " << want[i];
  }
}

// Without the variable the same misuse aborts with the same line.
TEST(HelperTest, DefaultModeAborts) {
  HelperResult r = run_helper({"double-free"}, {});
  EXPECT_TRUE(WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGABRT) << describe(r);
  auto want = expected_lines(r);
  auto got = split_lines(r.err);
  ASSERT_EQ(want.size(), 1u) << describe(r);
  ASSERT_EQ(got.size(), 1u) << describe(r);
  EXPECT_TRUE(std::regex_match(got[0], std::regex(want[0]))) << got[0] << " !~ " << want[0];
}

}  // namespace
