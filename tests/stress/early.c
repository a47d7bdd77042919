/* Runs under LD_PRELOAD=libgoalloc.so, linked with early_lib (see there). */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char *early_block;

int main(void) {
  if (!early_block || strcmp(early_block, "early") != 0) {
    fprintf(stderr, "early block lost\n");
    return 1;
  }
  /* goalloc's block: 5000 bytes round to its 5376-byte class. */
  size_t usable = malloc_usable_size(early_block);
  if (usable != 5376) {
    fprintf(stderr, "early block not from goalloc (usable %zu)\n", usable);
    return 1;
  }
  free(early_block);
  printf("early OK\n");
  return 0;
}
