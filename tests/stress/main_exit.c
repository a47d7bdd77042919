/* main_exit: the main thread calls pthread_exit while another thread
 * allocates and frees large blocks (which starts goalloc's scavenger) and
 * then returns. glibc ends the process with exit(0) when its last thread
 * exits; goalloc's own threads (scavenger, collector worker, periodic
 * collection, leak reporter) must not keep it alive. The test fails by
 * timeout if the process lingers; "exit handler ran" shows exit(0) ran.
 * Run plain and with the collector's modes (meson.build). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void at_exit(void) {
  printf("exit handler ran\n");
  fflush(stdout);
}

static void *worker(void *arg) {
  (void)arg;
  static void *blocks[256];
  for (int round = 0; round < 4; round++) {
    for (int i = 0; i < 256; i++) {
      blocks[i] = malloc(256 * 1024);
      memset(blocks[i], round, 256 * 1024);
    }
    for (int i = 0; i < 256; i++) free(blocks[i]);
    for (int i = 0; i < 20000; i++) free(malloc(64)); /* small slow paths too */
  }
  usleep(50 * 1000); /* let the scavenger and collector threads settle */
  return NULL;
}

int main(void) {
  atexit(at_exit);
  pthread_t t;
  if (pthread_create(&t, NULL, worker, NULL)) return 2;
  pthread_detach(t);
  pthread_exit(NULL);
}
