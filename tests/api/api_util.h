// Shared helpers for the public-API tests (tests/api). The tests link the
// shared libgoalloc, so the libc names below resolve to goalloc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <goalloc.h>

// C23 names that glibc 2.36's headers do not declare yet; goalloc exports them.
extern "C" {
void free_sized(void *p, size_t size);
void free_aligned_sized(void *p, size_t align, size_t size);
}

namespace api {

constexpr size_t KiB = 1024, MiB = 1024 * KiB;
constexpr size_t kMaxSmall = 32768;  // largest size class; above is "large"
constexpr size_t kHugeSize = (size_t)PTRDIFF_MAX + 1;  // never satisfiable

// Hides a pointer from the optimiser so that it can neither drop an
// allocation/free pair nor warn about the deliberate misuse in death tests.
template <class T> inline T *opaque(T *p) {
  asm volatile("" : "+r"(p) : : "memory");
  return p;
}
inline size_t opaque_size(size_t n) {
  asm volatile("" : "+r"(n));
  return n;
}

inline bool is_aligned(const void *p, size_t a) {
  return ((uintptr_t)p & (a - 1)) == 0;
}

// Alignment malloc(n) must give: 16 for n >= 16, else the largest power of
// two dividing n (the C rule: an object of size 6 can need at most 2).
size_t required_malloc_align(size_t n);

// The Go size classes (8 .. 32768 bytes), from Go's sizeclasses.go.
extern const std::vector<size_t> kClassSizes;

// Upper bound for malloc_usable_size(malloc(n)) for a small n: the smallest
// Go class that holds n and keeps the 16-byte alignment promised for n >= 16
// (class 24 cannot, so 17..32 go to 32); tiny requests live in 16 bytes.
size_t max_usable_small(size_t n);

// Position-dependent byte pattern; check returns the first bad offset or n.
void fill_pattern(void *p, size_t n, uint32_t seed);
size_t check_pattern(const void *p, size_t n, uint32_t seed);
bool all_zero(const void *p, size_t n);

goalloc_stats_t stats();
size_t page_size();
uint64_t rss_bytes();  // from /proc/self/statm, independent of goalloc

// Regex matching the single line goalloc prints for a bad free/realloc of p:
// "goalloc: OP(PTR): KIND" with an optional " (detail)".
std::string error_line_regex(const char *op, const void *p, const char *kind);

// Runs tests/api/api_helper with the given arguments and extra environment
// (every inherited GOALLOC_* variable is removed first).
struct HelperResult {
  int status = -1;  // as from waitpid
  std::string out, err;
};
HelperResult run_helper(const std::vector<std::string> &args,
                        const std::vector<std::string> &env);
std::vector<std::string> split_lines(const std::string &s);

}  // namespace api
