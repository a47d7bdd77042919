/* gc_big_data: a program with 64 MiB of .bss (data roots) whose explicit
 * collections have nothing written meanwhile. Run by big_data_check.sh
 * with GOALLOC_GCTRACE=1, which requires each cycle to end its
 * pre-cleaning after a round or two: timing whole rounds (with the data
 * segments' rescan in them) once made every such cycle run all 16 rounds
 * (review finding). */
#include <goalloc.h>
#include <stdint.h>
#include <string.h>

static uintptr_t big[8 << 20]; /* 64 MiB */

int main(void) {
  goalloc_gc_init();
  memset(big, 1, sizeof big);
  for (int i = 0; i < 3; i++) goalloc_gc_collect();
  return big[12345] == 0x0101010101010101ull ? 0 : 1;
}
