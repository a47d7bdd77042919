/* bench/gc/faultcost.c: what a page fault costs on this machine, against
 * the calls that replace faults in the allocator and the collector:
 * MADV_POPULATE_WRITE on fresh pages (heap.c, ga_os_populate) and lifting
 * userfaultfd write protection over a range in one UFFDIO_WRITEPROTECT
 * (gc/concurrent.c, pages opened ahead of the allocator during a mark).
 * A second thread spins in the same process throughout, as the program's
 * other threads do, so that page-table changes flush its TLB too.
 *
 *   gcc -O2 -pthread -o /tmp/faultcost bench/gc/faultcost.c && /tmp/faultcost
 *
 * Prints microseconds per 4 KiB page, two rounds over 64 MiB. Benchmark,
 * not test: it asserts nothing. Needs Linux 6.7+ for WP_ASYNC. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define POPULATE_WRITE 23          /* MADV_POPULATE_WRITE, Linux 5.14 */
#define FEATURE_WP_UNPOPULATED (1ULL << 13)
#define FEATURE_WP_ASYNC (1ULL << 15)
#define SIZE (64UL << 20)
#define NPAGES (SIZE / 4096)

static int uffd;
static volatile int stop;

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void *spin(void *arg) {
  while (!stop) {
  }
  return arg;
}

static void protect(char *p, size_t len, int on) {
  struct uffdio_writeprotect w;
  memset(&w, 0, sizeof w);
  w.range.start = (uintptr_t)p;
  w.range.len = len;
  w.mode = on ? UFFDIO_WRITEPROTECT_MODE_WP : 0;
  if (ioctl(uffd, UFFDIO_WRITEPROTECT, &w) != 0) {
    perror("UFFDIO_WRITEPROTECT");
    exit(1);
  }
}

static char *fresh(void) {
  char *p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) exit(1);
  return p;
}

static void touch(char *p, size_t from, size_t n, char v) {
  for (size_t i = from; i < from + n; i++) p[i * 4096] = v;
}

int main(void) {
  pthread_t t;
  pthread_create(&t, NULL, spin, NULL);
  uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | 1 /* UFFD_USER_MODE_ONLY */);
  struct uffdio_api api = {.api = UFFD_API, .features = FEATURE_WP_UNPOPULATED | FEATURE_WP_ASYNC};
  if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api) != 0) {
    perror("userfaultfd with WP_ASYNC");
    return 1;
  }
  for (int round = 0; round < 2; round++) {
    char *p = fresh();
    double t0 = now();
    touch(p, 0, NPAGES, 1);
    printf("first-touch fault: %.2f us/page\n", (now() - t0) * 1e6 / NPAGES);
    munmap(p, SIZE);
    for (size_t chunk = 2; chunk <= 512; chunk *= 4) {
      p = fresh();
      t0 = now();
      for (size_t i = 0; i < NPAGES; i += chunk) {
        if (madvise(p + i * 4096, chunk * 4096, POPULATE_WRITE) != 0) {
          perror("MADV_POPULATE_WRITE");
          return 1;
        }
        touch(p, i, chunk, 1);
      }
      printf("MADV_POPULATE_WRITE by %zu pages, then touch: %.2f us/page\n", chunk,
             (now() - t0) * 1e6 / NPAGES);
      munmap(p, SIZE);
    }
    p = fresh();
    memset(p, 1, SIZE);
    struct uffdio_register reg;
    memset(&reg, 0, sizeof reg);
    reg.range.start = (uintptr_t)p;
    reg.range.len = SIZE;
    reg.mode = UFFDIO_REGISTER_MODE_WP;
    if (ioctl(uffd, UFFDIO_REGISTER, &reg) != 0) {
      perror("UFFDIO_REGISTER");
      return 1;
    }
    t0 = now();
    protect(p, SIZE, 1);
    printf("protect 64 MiB: %.2f ms\n", (now() - t0) * 1e3);
    t0 = now();
    touch(p, 0, NPAGES, 2);
    printf("write-protect fault: %.2f us/page\n", (now() - t0) * 1e6 / NPAGES);
    for (size_t chunk = 1; chunk <= 512; chunk *= 4) {
      protect(p, SIZE, 1);
      t0 = now();
      for (size_t i = 0; i < NPAGES; i += chunk) {
        protect(p + i * 4096, chunk * 4096, 0);
        touch(p, i, chunk, 3);
      }
      printf("unprotect by %zu pages, then write: %.2f us/page\n", chunk, (now() - t0) * 1e6 / NPAGES);
    }
    munmap(p, SIZE);
  }
  stop = 1;
  pthread_join(t, NULL);
  return 0;
}
