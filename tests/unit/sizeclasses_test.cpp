// Size classes (sizeclasses.h, sizeclasses_table.h) against Go's published
// table (src/runtime/sizeclasses.go, Go 1.16+), and Go's divMagic check.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "unit_util.h"

namespace {

struct GoClass {
  uint32_t size, span, objects, tail;
  double maxwaste;  // percent
};

// Go's table, verbatim: class, bytes/obj, bytes/span, objects, tail waste,
// max waste.
const GoClass kGo[] = {
    {0, 0, 0, 0, 0},  // class 0: large objects
    {8, 8192, 1024, 0, 87.50},     {16, 8192, 512, 0, 43.75},     {24, 8192, 341, 8, 29.24},
    {32, 8192, 256, 0, 21.88},     {48, 8192, 170, 32, 31.52},    {64, 8192, 128, 0, 23.44},
    {80, 8192, 102, 32, 19.07},    {96, 8192, 85, 32, 15.95},     {112, 8192, 73, 16, 13.56},
    {128, 8192, 64, 0, 11.72},     {144, 8192, 56, 128, 11.82},   {160, 8192, 51, 32, 9.73},
    {176, 8192, 46, 96, 9.59},     {192, 8192, 42, 128, 9.25},    {208, 8192, 39, 80, 8.12},
    {224, 8192, 36, 128, 8.15},    {240, 8192, 34, 32, 6.62},     {256, 8192, 32, 0, 5.86},
    {288, 8192, 28, 128, 12.16},   {320, 8192, 25, 192, 11.80},   {352, 8192, 23, 96, 9.88},
    {384, 8192, 21, 128, 9.51},    {416, 8192, 19, 288, 10.71},   {448, 8192, 18, 128, 8.37},
    {480, 8192, 17, 32, 6.82},     {512, 8192, 16, 0, 6.05},      {576, 8192, 14, 128, 12.33},
    {640, 8192, 12, 512, 15.48},   {704, 8192, 11, 448, 13.93},   {768, 8192, 10, 512, 13.94},
    {896, 8192, 9, 128, 15.52},    {1024, 8192, 8, 0, 12.40},     {1152, 8192, 7, 128, 12.41},
    {1280, 8192, 6, 512, 15.55},   {1408, 16384, 11, 896, 14.00}, {1536, 8192, 5, 512, 14.00},
    {1792, 16384, 9, 256, 15.57},  {2048, 8192, 4, 0, 12.45},     {2304, 16384, 7, 256, 12.46},
    {2688, 8192, 3, 128, 15.59},   {3072, 24576, 8, 0, 12.47},    {3200, 16384, 5, 384, 6.22},
    {3456, 24576, 7, 384, 8.83},   {4096, 8192, 2, 0, 15.60},     {4864, 24576, 5, 256, 16.65},
    {5376, 16384, 3, 256, 10.92},  {6144, 24576, 4, 0, 12.48},    {6528, 32768, 5, 128, 6.23},
    {6784, 40960, 6, 256, 4.36},   {6912, 49152, 7, 768, 3.37},   {8192, 8192, 1, 0, 15.61},
    {9472, 57344, 6, 512, 14.28},  {9728, 49152, 5, 512, 3.64},   {10240, 40960, 4, 0, 4.99},
    {10880, 32768, 3, 128, 6.24},  {12288, 24576, 2, 0, 11.45},   {13568, 40960, 3, 256, 9.99},
    {14336, 57344, 4, 0, 5.35},    {16384, 16384, 1, 0, 12.49},   {18432, 73728, 4, 0, 11.11},
    {19072, 57344, 3, 128, 3.57},  {20480, 40960, 2, 0, 6.87},    {21760, 65536, 3, 256, 6.25},
    {24576, 24576, 1, 0, 11.45},   {27264, 81920, 3, 128, 10.00}, {28672, 57344, 2, 0, 4.91},
    {32768, 32768, 1, 0, 12.50},
};
static_assert(sizeof(kGo) / sizeof(kGo[0]) == 68, "Go has 67 classes plus class 0");

// Go's span sizes (ga_go_class_npages) and goalloc's (ga_class_npages: more
// pages for the classes from 512 B up, tools/mksizeclasses.py says why).
size_t span_bytes(unsigned c) { return (size_t)ga_go_class_npages[c] * GA_PAGE_SIZE; }
size_t ga_span_bytes(unsigned c) { return (size_t)ga_class_npages[c] * GA_PAGE_SIZE; }

// Go's "max waste": the worst case is every object one byte bigger than the
// previous class, plus the tail.
double max_waste(unsigned c) {
  size_t span = span_bytes(c);
  size_t nobj = span / ga_class_size[c];
  size_t prev = ga_class_size[c - 1];
  return (double)(span - nobj * (prev + 1)) / (double)span * 100.0;
}

TEST(SizeClasses, CountAndClassZero) {
  EXPECT_EQ(GA_NUM_SIZE_CLASSES, 68);
  EXPECT_EQ(ga_class_size[0], 0u);
  EXPECT_EQ(ga_class_npages[0], 0u);
  EXPECT_EQ(ga_go_class_npages[0], 0u);
  EXPECT_EQ(ga_class_size[GA_NUM_SIZE_CLASSES - 1], (uint32_t)GA_MAX_SMALL_SIZE);
  EXPECT_EQ(ga_class_size[1], 8u);
  EXPECT_EQ(ga_class_size[GA_TINY_SIZE_CLASS], (uint32_t)GA_TINY_SIZE);
}

TEST(SizeClasses, EqualsGoTable) {
  for (unsigned c = 1; c < GA_NUM_SIZE_CLASSES; c++) {
    SCOPED_TRACE("class " + std::to_string(c));
    EXPECT_EQ(ga_class_size[c], kGo[c].size);
    EXPECT_EQ(span_bytes(c), kGo[c].span);
    EXPECT_EQ(span_bytes(c) / ga_class_size[c], kGo[c].objects);
    EXPECT_EQ(span_bytes(c) % ga_class_size[c], kGo[c].tail);
  }
}

TEST(SizeClasses, StrictlyIncreasing) {
  for (unsigned c = 1; c < GA_NUM_SIZE_CLASSES; c++)
    EXPECT_LT(ga_class_size[c - 1], ga_class_size[c]) << "class " << c;
}

TEST(SizeClasses, MultiplesOf16Except8And24) {
  for (unsigned c = 1; c < GA_NUM_SIZE_CLASSES; c++) {
    uint32_t s = ga_class_size[c];
    if (s == 8 || s == 24) continue;
    EXPECT_GE(s, 16u) << "class " << c;
    EXPECT_EQ(s % 16, 0u) << "class " << c << " size " << s;
  }
  // Exactly one class each for 8 and 24 bytes, as in Go.
  EXPECT_EQ(ga_class_size[1], 8u);
  EXPECT_EQ(ga_class_size[3], 24u);
}

TEST(SizeClasses, ObjectsPerSpanAndTailWaste) {
  for (unsigned c = 1; c < GA_NUM_SIZE_CLASSES; c++) {
    SCOPED_TRACE("class " + std::to_string(c));
    for (size_t span : {span_bytes(c), ga_span_bytes(c)}) {
      ASSERT_GT(span, 0u);
      size_t nobj = span / ga_class_size[c];
      EXPECT_GE(nobj, 1u);
      EXPECT_LE(nobj, (size_t)GA_MAX_OBJS_PER_SPAN);
      // Go's rule (mksizeclasses.go): the tail is at most 1/8 of the span.
      EXPECT_LE(span % ga_class_size[c], span / 8);
    }
  }
}

// goalloc's spans: Go's outside 128 B-1 KiB; inside, never fewer pages or
// objects than Go's, and at least 32 objects or 8 pages (the table test
// checks the exact choice).
TEST(SizeClasses, GoallocSpans) {
  for (unsigned c = 1; c < GA_NUM_SIZE_CLASSES; c++) {
    SCOPED_TRACE("class " + std::to_string(c));
    size_t go = span_bytes(c), ours = ga_span_bytes(c), size = ga_class_size[c];
    if (size < 128 || size > 1024) {
      EXPECT_EQ(ours, go);
      continue;
    }
    EXPECT_GE(ours, go);
    EXPECT_GE(ours / size, go / size);
    EXPECT_TRUE(ours / size >= 32 || ga_class_npages[c] == 8);
    EXPECT_LE(ga_class_npages[c], 8u);
  }
  EXPECT_EQ(ga_span_bytes(32) / 1024, 32u);  // 1 KiB: 32 per span (Go: 8)
  EXPECT_EQ(ga_span_bytes(26) / 512, 32u);   // 512 B: 32 per span (Go: 16)
}

TEST(SizeClasses, MaxWasteMatchesGo) {
  for (unsigned c = 1; c < GA_NUM_SIZE_CLASSES; c++) {
    double w = max_waste(c);
    EXPECT_NEAR(w, kGo[c].maxwaste, 0.01) << "class " << c << " size " << ga_class_size[c];
    EXPECT_LE(w, 87.5 + 0.005) << "class " << c;
  }
  // The values the design notes quote.
  EXPECT_NEAR(max_waste(1), 87.50, 0.01);
  EXPECT_NEAR(max_waste(3), 29.24, 0.01);
  EXPECT_NEAR(max_waste(5), 31.52, 0.01);
  EXPECT_NEAR(max_waste(45), 16.65, 0.01);
  EXPECT_NEAR(max_waste(67), 12.50, 0.01);
  // Past the 16-byte alignment steps (>= 128 B) the worst case stays within
  // 1/8 plus the rounding to the next class's step and the tail (Go's bound
  // on size/8 alignment): never above ~16.7%.
  for (unsigned c = 10; c < GA_NUM_SIZE_CLASSES; c++) EXPECT_LT(max_waste(c), 16.7) << c;
}

TEST(SizeClasses, SizeToClassIsSmallestFit) {
  unsigned want = 1;
  for (size_t s = 1; s <= GA_MAX_SMALL_SIZE; s++) {
    while (ga_class_size[want] < s) want++;
    unsigned got = ga_size_to_class(s);
    if (got != want) {
      ADD_FAILURE() << "ga_size_to_class(" << s << ") = " << got << " (size "
                    << ga_class_size[got] << "), want " << want << " (size "
                    << ga_class_size[want] << ")";
      return;
    }
  }
}

TEST(SizeClasses, SpanClasses) {
  for (unsigned c = 0; c < GA_NUM_SIZE_CLASSES; c++) {
    for (int noscan = 0; noscan < 2; noscan++) {
      unsigned spc = ga_spanclass(c, noscan);
      EXPECT_LT(spc, (unsigned)GA_NUM_SPAN_CLASSES);
      EXPECT_EQ(ga_spanclass_sizeclass(spc), c);
    }
  }
  EXPECT_EQ(ga_spanclass_sizeclass(GA_TINY_SPAN_CLASS), (unsigned)GA_TINY_SIZE_CLASS);
}

// Go's divmagic test (runtime: TestDivMagic / mksizeclasses' check): for
// every class and every byte offset inside a span, the multiply-shift gives
// the object index.
TEST(DivMagic, ExactForEveryOffset) {
  for (unsigned c = 1; c < GA_NUM_SIZE_CLASSES; c++) {
    uint32_t size = ga_class_size[c];
    uint64_t mul = ga_class_divmul(c);
    uint32_t span = (uint32_t)std::max(span_bytes(c), ga_span_bytes(c));
    for (uint32_t off = 0; off < span; off++) {
      uint64_t q = (uint64_t)off * mul;
      uint32_t got = (uint32_t)(q >> 32);
      if (got != off / size) {
        ADD_FAILURE() << "class " << c << " size " << size << " offset " << off << ": got "
                      << got << ", want " << off / size;
        break;
      }
      // The low word tells multiples of size apart (span.h,
      // ga_span_object_index).
      if (((uint32_t)q < mul) != (off % size == 0)) {
        ADD_FAILURE() << "class " << c << " size " << size << " offset " << off
                      << ": low word " << (uint32_t)q << " vs divmul " << mul;
        break;
      }
    }
  }
}

std::string slurp(FILE *f) {
  std::string s;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  return s;
}

std::string first_difference(const std::string &a, const std::string &b) {
  std::istringstream ia(a), ib(b);
  std::string la, lb;
  for (int line = 1;; line++) {
    bool ga = (bool)std::getline(ia, la), gb = (bool)std::getline(ib, lb);
    if (!ga && !gb) return "no line differs (trailing bytes?)";
    if (!ga || !gb || la != lb)
      return "line " + std::to_string(line) + ":\n  generator: " + (ga ? la : "<eof>") +
             "\n  checked in: " + (gb ? lb : "<eof>");
  }
}

// The checked-in table is what tools/mksizeclasses.py prints.
TEST(SizeClasses, TableIsGeneratorOutput) {
  const char *root = getenv("GOALLOC_SOURCE_ROOT");
  if (!root || !*root) root = GOALLOC_SOURCE_ROOT;
  const char *py = getenv("GOALLOC_PYTHON");
  if (!py || !*py) py = "python3";
  std::string cmd = std::string("'") + py + "' '" + root + "/tools/mksizeclasses.py'";
  FILE *f = popen(cmd.c_str(), "r");
  ASSERT_NE(f, nullptr) << cmd;
  std::string generated = slurp(f);
  int rc = pclose(f);
  ASSERT_EQ(rc, 0) << cmd << " failed";
  std::ifstream in(std::string(root) + "/src/sizeclasses_table.h", std::ios::binary);
  ASSERT_TRUE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  std::string checked_in = ss.str();
  EXPECT_TRUE(generated == checked_in)
      << "src/sizeclasses_table.h differs from `tools/mksizeclasses.py` output; "
      << first_difference(generated, checked_in);
}

}  // namespace
