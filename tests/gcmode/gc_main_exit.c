/* gc_main_exit: the main thread calls pthread_exit while another thread
 * runs on and collects. /proc/self then names a zombie whose maps are
 * empty: the collector, reading /proc/self/maps, found no anonymous
 * memory to scan, and glibc's loader data (link maps in ld.so's own
 * mappings pointing to malloc'ed arrays) and the thread's DTV looked
 * unreachable: collect mode freed them (a crash in _dl_fini at exit about
 * every other run of a program with libgcc_s loaded), leak mode reported
 * them as leaks. Now /proc/thread-self is read.
 *
 * main keeps the only pointer to a block in memory it mmap()ed itself (an
 * anonymous root), starts a thread and calls pthread_exit. The thread:
 *   collect (GOALLOC_GC=collect): collects 20 times while allocating
 *     blocks of the same size with another fill, then checks the block is
 *     intact (freed, its slot would have been reused);
 *   leak (GOALLOC_GC=leak): a leak report must find exactly one
 *     unreachable object: a block main dropped, whose address stays only
 *     in main's dead stack (before the fix: 2-3 more, glibc's).
 * Exits 0 on success (from the thread, through exit()). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <goalloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define SIZE 96
static void **anon;  /* the mmap()ed page holding the pointer */
static void *volatile sink;
static int leak_mode;

static __attribute__((noinline)) void churn(void) {
  for (int i = 0; i < 20000; i++) {
    char *p = malloc(SIZE);
    memset(p, 0x5a, SIZE);
    sink = p;
  }
}

static void *runner(void *arg) {
  (void)arg;
  usleep(100000); /* main has exited */
  if (leak_mode) {
    int fd = open("/dev/null", O_WRONLY);
    long n = goalloc_gc_leak_report(fd);
    printf("leak: %ld unreachable objects after the main thread exited (1 expected: the "
           "block main dropped)\n", n);
    exit(n == 1 ? 0 : 1);
  }
  for (int i = 0; i < 20; i++) {
    churn();
    goalloc_gc_collect();
  }
  unsigned char *b = anon[0];
  int bad = 0;
  for (int i = 0; i < SIZE; i++) bad += b[i] != (unsigned char)i;
  goalloc_gc_stats_t st = {.struct_size = sizeof st};
  goalloc_gc_get_stats(&st);
  printf("collect: %lu collections after the main thread exited; the block held from mmap()ed "
         "memory is %s\n",
         (unsigned long)st.cycles, bad ? "overwritten (freed)" : "intact");
  exit(bad ? 1 : 0);
}

int main(int argc, char **argv) {
  leak_mode = argc > 1 && strcmp(argv[1], "leak") == 0;
  anon = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (anon == MAP_FAILED) return 2;
  unsigned char *b = malloc(SIZE);
  for (int i = 0; i < SIZE; i++) b[i] = (unsigned char)i;
  anon[0] = b;
  b = NULL;
  /* Leaked: its address stays only in this (soon dead) frame. */
  void *volatile dropped = malloc(200);
  (void)dropped;
  pthread_t t;
  if (pthread_create(&t, NULL, runner, NULL)) return 2;
  pthread_exit(NULL);
}
