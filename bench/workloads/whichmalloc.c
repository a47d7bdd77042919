/* whichmalloc - prints the file that defines the malloc and free this
 * process uses (bench/run checks that each preload took effect), then
 * makes one allocation through them.  Not a benchmark. */
#include "common.h"

#include <dlfcn.h>

int main(void) {
  const char *names[] = {"malloc", "free"};
  for (int i = 0; i < 2; i++) {
    void *f = dlsym(RTLD_DEFAULT, names[i]);
    Dl_info info;
    if (!f || !dladdr(f, &info) || !info.dli_fname) die("cannot resolve %s", names[i]);
    printf("%s %s\n", names[i], info.dli_fname);
  }
  void *p = xmalloc(100);
  stamp(p, 100, 42);
  stamp_check(p, 100, 42, "whichmalloc");
  free(p);
  return 0;
}
