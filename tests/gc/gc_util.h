// gc_util.h: the collector's C headers (src/gc/) seen from C++.
#ifndef GOALLOC_GC_UTIL_H
#define GOALLOC_GC_UTIL_H

#include <cstddef>
#include <cstdint>

// os.h declares ga_fatal _Noreturn, which is C only.
#ifndef _Noreturn
#define _Noreturn __attribute__((noreturn))
#endif

extern "C" {
#include "os.h"

#include "gc/dirty.h"
#include "gc/maps.h"
#include "gc/pacer.h"
#include "gc/roots.h"
#include "gc/stw.h"
}

#include <vector>

struct GcRange {
  uintptr_t lo, hi;
};

// Collects the ranges a ga_gc_*_for_each reports.
static inline void gc_collect_range(uintptr_t lo, uintptr_t hi, void *arg) {
  static_cast<std::vector<GcRange> *>(arg)->push_back({lo, hi});
}

static inline bool gc_covered(const std::vector<GcRange> &v, uintptr_t a, size_t len = 8) {
  for (const GcRange &r : v)
    if (a >= r.lo && a + len <= r.hi) return true;
  return false;
}

static inline bool gc_touches(const std::vector<GcRange> &v, uintptr_t lo, uintptr_t hi) {
  for (const GcRange &r : v)
    if (r.lo < hi && lo < r.hi) return true;
  return false;
}

#endif
