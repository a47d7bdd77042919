/* goalloc's gc modules linked into a shared library, as they will be in
 * libgoalloc.so: that library's own data must not be reported as roots,
 * while the program's data still is. */
#include <stdint.h>

#include "gc/roots.h"

void *gc_self_so_global = (void *)1;

__attribute__((visibility("default"))) void *gc_self_so_global_addr(void) {
  return &gc_self_so_global;
}

__attribute__((visibility("default"))) void gc_self_so_roots(ga_gc_range_fn fn, void *arg) {
  ga_gc_roots_for_each_kind(GA_GC_ROOTS_DATA, fn, arg);
}
