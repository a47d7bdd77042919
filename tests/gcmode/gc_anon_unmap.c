/* gc_anon_unmap: in collect mode the pause scans the program's anonymous
 * mappings as roots, but it does not stop threads that are not registered
 * (here: one made with a raw clone, as glibc's exiting threads are once
 * past goalloc's key destructor). Such a thread maps and unmaps memory
 * while collections run; a mapping listed in /proc/self/maps and gone
 * before its scan must be skipped, not fault (CPython's
 * test_threading_local crashed the collector so, ~1 run in 200).
 * Also checks that an object held only from an anonymous mapping survives
 * the collections (the scan through a copy still sees it: had it been
 * freed, the 20000 objects of its size allocated afterwards would reuse
 * and overwrite it). Prints "ok" and exits 0 unless it crashes or fails. */
#define _GNU_SOURCE
#include <goalloc.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/futex.h>

static volatile int stop;
static volatile int child_tid = 1; /* cleared by the kernel at the child's exit */
static volatile unsigned long cycles_seen;

/* Only raw system calls: the child shares the parent's TLS (no
 * CLONE_SETTLS), so it must not touch errno or call into libc. */
static long raw(long nr, long a, long b, long c, long d, long e, long f) {
  long ret;
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}

static int unmapper(void *arg) {
  (void)arg;
  size_t len = (size_t)8 << 20;
  struct timespec ts = {0, 200 * 1000};
  while (!stop) {
    long p = raw(SYS_mmap, 0, (long)len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p < 0 && p > -4096) continue;
    /* Touched sparsely: the scan reads every page, the RSS stays small. */
    for (size_t off = 0; off < len; off += (size_t)256 << 10) ((volatile char *)p)[off] = 1;
    raw(SYS_nanosleep, (long)&ts, 0, 0, 0, 0, 0);
    raw(SYS_munmap, p, (long)len, 0, 0, 0, 0);
  }
  raw(SYS_exit, 0, 0, 0, 0, 0, 0);
  return 0;
}

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 300;
  goalloc_gc_init();
  /* An object held only from a mapping of the program's own. */
  uintptr_t *holder = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (holder == MAP_FAILED) return 2;
  char *obj = malloc(100);
  memset(obj, 'x', 100);
  holder[7] = (uintptr_t)obj;
  obj = NULL;

  size_t stk_len = (size_t)256 << 10;
  char *stk = mmap(NULL, stk_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stk == MAP_FAILED) return 2;
  int flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |
              CLONE_CHILD_CLEARTID;
  if (clone(unmapper, stk + stk_len, flags, NULL, NULL, NULL, (int *)&child_tid) < 0) {
    perror("clone");
    return 2;
  }
  for (int i = 0; i < rounds; i++) {
    goalloc_gc_collect();
    /* Garbage for the next cycle to sweep. */
    for (int k = 0; k < 100; k++) {
      void *volatile g = malloc(64);
      (void)g;
    }
  }
  stop = 1;
  while (child_tid) syscall(SYS_futex, &child_tid, FUTEX_WAIT, child_tid, NULL, NULL, 0);
  /* Had it been reclaimed, these would reuse its slot. */
  for (int k = 0; k < 20000; k++) memset(malloc(100), 'y', 100);
  const char *kept = (const char *)holder[7];
  for (int i = 0; i < 100; i++)
    if (kept[i] != 'x') {
      fprintf(stderr, "object held from an anonymous mapping was reclaimed\n");
      return 1;
    }
  printf("ok\n");
  return 0;
}
