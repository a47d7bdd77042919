// unit_util.h: what every unit test needs: goalloc's internal C headers
// (src/) seen from C++, and helpers that keep the tests independent of the
// rest of the allocator's global state.
#ifndef GOALLOC_UNIT_UTIL_H
#define GOALLOC_UNIT_UTIL_H

#include <cstddef>
#include <cstdint>

// os.h declares ga_fatal _Noreturn, which is C only.
#ifndef _Noreturn
#define _Noreturn __attribute__((noreturn))
#endif

extern "C" {
#include "goalloc.h"

#include "arena.h"
#include "cache.h"
#include "central.h"
#include "fixalloc.h"
#include "heap.h"
#include "large.h"
#include "malloc_int.h"
#include "options.h"
#include "os.h"
#include "pagealloc.h"
#include "pagecache.h"
#include "scavenger.h"
#include "sizeclasses.h"
#include "span.h"
#include "tiny.h"
}

namespace unit {

constexpr size_t kPage = GA_PAGE_SIZE;

// The background scavenger takes free pages (marking them allocated while it
// madvises them) without telling anyone: tests that look at the page
// allocator's exact state turn it off. meson also runs every unit test with
// GOALLOC_SCAVENGE=0; this covers running a binary by hand.
inline void no_scavenger() {
  ga_init();
  ga_options[GA_OPT_SCAVENGE] = 0;
  ga_scavenger_enable();
  // The page cache keeps freed large spans from the heap: off too, but for
  // the pagecache tests, which switch it back on.
  ga_pagecache_flush_all();
  ga_options[GA_OPT_LARGE_CACHE] = 0;
}

// Holds ga_heap_lock for a scope (pagealloc.h: everything under it).
struct HeapLock {
  HeapLock() { ga_mutex_lock(&ga_heap_lock); }
  ~HeapLock() { ga_mutex_unlock(&ga_heap_lock); }
  HeapLock(const HeapLock &) = delete;
  HeapLock &operator=(const HeapLock &) = delete;
};

inline uintptr_t addr(const void *p) { return reinterpret_cast<uintptr_t>(p); }

}  // namespace unit

#endif
