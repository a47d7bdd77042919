#include "api_util.h"

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#ifndef GOALLOC_API_HELPER
#error "GOALLOC_API_HELPER (path of api_helper) must be defined by meson"
#endif

namespace api {

const std::vector<size_t> kClassSizes = {
    8,     16,    24,    32,    48,    64,    80,    96,    112,   128,
    144,   160,   176,   192,   208,   224,   240,   256,   288,   320,
    352,   384,   416,   448,   480,   512,   576,   640,   704,   768,
    896,   1024,  1152,  1280,  1408,  1536,  1792,  2048,  2304,  2688,
    3072,  3200,  3456,  4096,  4864,  5376,  6144,  6528,  6784,  6912,
    8192,  9472,  9728,  10240, 10880, 12288, 13568, 14336, 16384, 18432,
    19072, 20480, 21760, 24576, 27264, 28672, 32768};

size_t required_malloc_align(size_t n) {
  if (n >= 16) return 16;
  return n & -n;  // lowest set bit = largest power of two dividing n
}

size_t max_usable_small(size_t n) {
  if (n < 16) return 16;
  for (size_t c : kClassSizes)
    if (c >= n && c % 16 == 0) return c;
  return 0;  // not small
}

static inline uint64_t mix(uint64_t x) {
  x ^= x >> 31;
  x *= 0x9e3779b97f4a7c15ULL;
  x ^= x >> 29;
  return x;
}

// Word-sized pattern (fast enough for 100 MiB blocks) that differs per seed
// and per offset, so overlapping or misplaced blocks show up.
void fill_pattern(void *p, size_t n, uint32_t seed) {
  auto *b = static_cast<unsigned char *>(p);
  for (size_t i = 0; i < n; i += 8) {
    uint64_t w = mix((i / 8) * 0x100000001b3ULL + seed + 1);
    std::memcpy(b + i, &w, n - i < 8 ? n - i : 8);
  }
}

size_t check_pattern(const void *p, size_t n, uint32_t seed) {
  auto *b = static_cast<const unsigned char *>(p);
  for (size_t i = 0; i < n; i += 8) {
    uint64_t w = mix((i / 8) * 0x100000001b3ULL + seed + 1);
    size_t k = n - i < 8 ? n - i : 8;
    if (std::memcmp(b + i, &w, k) != 0) {
      for (size_t j = 0; j < k; j++)
        if (b[i + j] != reinterpret_cast<unsigned char *>(&w)[j]) return i + j;
    }
  }
  return n;
}

bool all_zero(const void *p, size_t n) {
  auto *b = static_cast<const unsigned char *>(p);
  for (size_t i = 0; i < n; i++)
    if (b[i]) return false;
  return true;
}

goalloc_stats_t stats() {
  goalloc_stats_t st;
  std::memset(&st, 0, sizeof st);
  st.struct_size = sizeof st;
  if (goalloc_get_stats(&st) != 0) {
    std::fprintf(stderr, "goalloc_get_stats failed\n");
    std::abort();
  }
  return st;
}

size_t page_size() { return (size_t)sysconf(_SC_PAGESIZE); }

uint64_t rss_bytes() {
  FILE *f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long long size = 0, resident = 0;
  int got = std::fscanf(f, "%llu %llu", &size, &resident);
  std::fclose(f);
  return got == 2 ? resident * page_size() : 0;
}

std::string error_line_regex(const char *op, const void *p, const char *kind) {
  char hex[32];
  std::snprintf(hex, sizeof hex, "%" PRIxPTR, (uintptr_t)p);
  // Leading zeros are tolerated; the hex digits must be goalloc's pointer.
  // A parenthesised detail may follow the kind, e.g. "(inside a block)".
  return std::string("goalloc: ") + op + "\\(0x0*" + hex + "\\): " + kind + "( \\([^\n]*\\))?";
}

std::vector<std::string> split_lines(const std::string &s) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < s.size()) {
    size_t nl = s.find('\n', start);
    if (nl == std::string::npos) nl = s.size();
    lines.push_back(s.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

HelperResult run_helper(const std::vector<std::string> &args,
                        const std::vector<std::string> &env) {
  HelperResult r;
  // Everything the child needs is built before fork: only async-signal-safe
  // calls are allowed between fork and exec.
  std::vector<std::string> envs;
  for (char **e = environ; *e; e++)
    if (std::strncmp(*e, "GOALLOC_", 8) != 0) envs.push_back(*e);
  for (auto &e : env) envs.push_back(e);
  std::vector<char *> envp, argv;
  for (auto &e : envs) envp.push_back(const_cast<char *>(e.c_str()));
  envp.push_back(nullptr);
  static const char path[] = GOALLOC_API_HELPER;
  argv.push_back(const_cast<char *>(path));
  for (auto &a : args) argv.push_back(const_cast<char *>(a.c_str()));
  argv.push_back(nullptr);

  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) return r;
  pid_t pid = fork();
  if (pid < 0) return r;
  if (pid == 0) {
    dup2(out[1], 1);
    dup2(err[1], 2);
    execve(path, argv.data(), envp.data());
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  struct pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  std::string *dst[2] = {&r.out, &r.err};
  int open_fds = 2;
  while (open_fds > 0) {
    if (poll(fds, 2, -1) < 0) break;
    for (int i = 0; i < 2; i++) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
        continue;
      char buf[4096];
      ssize_t k = read(fds[i].fd, buf, sizeof buf);
      if (k > 0) {
        dst[i]->append(buf, (size_t)k);
      } else {
        close(fds[i].fd);
        fds[i].fd = -1;
        open_fds--;
      }
    }
  }
  waitpid(pid, &r.status, 0);
  return r;
}

}  // namespace api
