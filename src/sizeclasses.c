/* sizeclasses.c: the table lives in sizeclasses_table.h (generated); this
 * file only makes sure the lookups agree with it at start-up in debug
 * builds. Everything else is inline in sizeclasses.h. */
#include "sizeclasses.h"

#include "os.h"

_Static_assert(GA_NUM_SIZE_CLASSES == 68, "Go has 67 size classes plus class 0");

void ga_sizeclasses_check(void);
void ga_sizeclasses_check(void) {
#ifndef NDEBUG
  for (size_t s = 1; s <= GA_MAX_SMALL_SIZE; s++) {
    unsigned c = ga_size_to_class(s);
    if (ga_class_size[c] < s || (c > 1 && ga_class_size[c - 1] >= s))
      ga_fatal("goalloc: size class table broken at size %zu\n", s);
  }
#endif
}
