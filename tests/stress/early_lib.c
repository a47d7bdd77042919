/* A library whose constructor allocates: under LD_PRELOAD its constructor
 * runs before goalloc's own (ld.so initialises preloaded objects last), so
 * goalloc must work before it was initialised (glib does exactly this). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

char *early_block;
static void *thread_fn(void *arg) { return malloc(64); }

__attribute__((constructor)) static void early_init(void) {
  void *tiny = malloc(3), *small = calloc(10, 10), *big = malloc(1 << 20);
  early_block = realloc(malloc(10), 5000);
  strcpy(early_block, "early");
  pthread_t t;
  void *from_thread = NULL;
  if (pthread_create(&t, NULL, thread_fn, NULL) == 0) pthread_join(t, &from_thread);
  free(from_thread);
  free(tiny);
  free(small);
  free(big);
}
