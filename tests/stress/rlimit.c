/* The OS refusing memory: under RLIMIT_AS, large requests fail with NULL and
 * ENOMEM (no crash), small ones keep working afterwards, a failed realloc
 * leaves the old block intact, and memory freed after the failure can be
 * allocated again. Linked with goalloc (the libc names). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define CHECK(c, ...) do { if (!(c)) { fprintf(stderr, "rlimit FAIL: " __VA_ARGS__); fputc('\n', stderr); return 1; } } while (0)

int main(void) {
  /* Address space for the program and its libraries, the arena index and a
   * few arenas: the rest is what the heap can get. */
  struct rlimit rl = {400u << 20, 400u << 20};
  CHECK(setrlimit(RLIMIT_AS, &rl) == 0, "setrlimit: %s", strerror(errno));

  static void *big[1024];
  int nbig = 0;
  for (;;) {
    errno = 0;
    void *p = malloc(4 << 20);
    if (!p) {
      CHECK(errno == ENOMEM, "failed malloc set errno %d, not ENOMEM", errno);
      break;
    }
    memset(p, 0x5a, 4 << 20);
    CHECK(nbig < 1024, "RLIMIT_AS not enforced?");
    big[nbig++] = p;
  }
  CHECK(nbig > 0, "no 4 MiB block at all under a 400 MiB limit");

  /* Small allocations still work after the failure. */
  static void *small[20000];
  for (int i = 0; i < 20000; i++) {
    small[i] = malloc(16 + i % 200);
    CHECK(small[i], "small malloc %d failed after the heap ran out (errno %d)", i, errno);
    memset(small[i], i & 0xff, 16 + i % 200);
  }

  /* A realloc the OS cannot satisfy fails and keeps the old block. */
  char *keep = malloc(64);
  CHECK(keep, "malloc(64)");
  strcpy(keep, "still here");
  errno = 0;
  char *r = realloc(keep, (size_t)1 << 40);
  CHECK(r == NULL && errno == ENOMEM, "huge realloc: %p errno %d", (void *)r, errno);
  CHECK(strcmp(keep, "still here") == 0, "failed realloc damaged the old block");
  errno = 0;
  CHECK(calloc((size_t)1 << 38, 1) == NULL && errno == ENOMEM, "huge calloc did not fail with ENOMEM");

  for (int i = 0; i < 20000; i++) {
    const unsigned char *b = small[i];
    CHECK(b[0] == (i & 0xff) && b[15 + i % 200] == (i & 0xff), "small block %d damaged", i);
    free(small[i]);
  }
  free(keep);
  /* What was freed can be had again. */
  for (int i = 0; i < nbig; i++) free(big[i]);
  void *again = malloc(4 << 20);
  CHECK(again, "no 4 MiB block after freeing %d of them", nbig);
  free(again);
  printf("rlimit OK: %d blocks of 4 MiB before ENOMEM, small allocations kept working\n", nbig);
  return 0;
}
