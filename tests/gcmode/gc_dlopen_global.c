/* gc_dlopen_global: after dlopen(RTLD_GLOBAL), glibc keeps the new global
 * scope in a malloc'ed list whose only pointer is in the main link_map,
 * which ld.so's startup allocator placed in the rest of ld.so's last data
 * page (past the segment's p_memsz). In collect mode that list is
 * collectable: the data roots must reach the page's end, or it is freed
 * and the next symbol lookup crashes (review finding; segfaulted 3/3 in
 * do_lookup_x before). Exits 77 (skipped) if libz is not installed. */
#include <dlfcn.h>
#include <goalloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static __attribute__((noinline)) void clear_stack(void) {
  volatile char b[65536];
  memset((char *)b, 0, sizeof b);
}

int main(void) {
  goalloc_gc_init();
  void *h = dlopen("libz.so.1", RTLD_NOW | RTLD_GLOBAL);
  if (!h) {
    printf("skipped: %s\n", dlerror());
    return 77;
  }
  clear_stack();
  for (int i = 0; i < 5; i++) goalloc_gc_collect();
  /* Reuse what the collections freed. */
  for (size_t sz = 8; sz <= 256; sz += 8)
    for (int k = 0; k < 2000; k++) memset(malloc(sz), 0x41, sz);
  void *s = dlsym(RTLD_DEFAULT, "zlibVersion");
  if (!s) {
    fprintf(stderr, "FAIL: zlibVersion not found after collections: %s\n", dlerror());
    return 1;
  }
  printf("ok: zlib %s\n", ((const char *(*)(void))s)());
  return 0;
}
