/* gc_anon_unmap: in collect mode the pause scans the program's anonymous
 * mappings as roots, but it does not stop threads that are not registered
 * (here: one made with a raw clone, as glibc's exiting threads are once
 * past goalloc's key destructor). Such a thread maps and unmaps memory
 * while collections run; a mapping listed in /proc/self/maps and gone
 * before its scan must be skipped, not fault (CPython's
 * test_threading_local crashed the collector so, ~1 run in 200).
 * Also checks that an object held only from an anonymous mapping survives
 * the collections (the scan through a copy still sees it): its finalizer
 * must not run, and its contents must not be overwritten by the 20000
 * objects of its size allocated afterwards. Prints "ok" and exits 0 unless it crashes or fails. */
#define _GNU_SOURCE
#include <goalloc.h>
#include <sched.h>
#include <stdbool.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>

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

/* The detector: a finalizer runs only for an object found unreachable. */
static volatile int finalized;
static void on_finalize(void *obj, void *arg) {
  (void)obj;
  (void)arg;
  finalized = 1;
}

static __attribute__((noinline)) void make_held(uintptr_t *holder) {
  char *obj = malloc(100);
  memset(obj, 'x', 100);
  goalloc_gc_register_finalizer(obj, on_finalize, NULL);
  holder[7] = (uintptr_t)obj;
}

/* No stale copy of the pointer below the live frames. */
static __attribute__((noinline)) void clear_stack(void) {
  volatile char buf[64 * 1024];
  memset((char *)buf, 0, sizeof buf);
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

/* "nocopy" mode: a seccomp filter makes process_vm_readv fail with EPERM
 * (as some sandboxes do), installed after a first cycle; the collector must
 * then scan the mappings in place, not skip them (the object held from one
 * must survive). Review finding: the first version skipped them all. */
static int deny_process_vm_readv(void) {
  struct sock_filter f[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_process_vm_readv, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 1 /* EPERM */),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {sizeof f / sizeof f[0], f};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) return -1;
  return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 300;
  bool nocopy = argc > 2 && !strcmp(argv[2], "nocopy");
  goalloc_gc_init();
  /* The filter comes after a first cycle has read memory through copies
   * (a program may sandbox itself at any time). */
  goalloc_gc_collect();
  if (nocopy && deny_process_vm_readv()) {
    perror("seccomp unavailable, test skipped");
    return 77; /* meson: skipped */
  }
  /* An object held only from a mapping of the program's own. */
  uintptr_t *holder = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (holder == MAP_FAILED) return 2;
  make_held(holder);
  clear_stack();

  size_t stk_len = (size_t)256 << 10;
  char *stk = mmap(NULL, stk_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stk == MAP_FAILED) return 2;
  int flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |
              CLONE_CHILD_CLEARTID;
  if (nocopy) {
    child_tid = 0; /* nothing unmaps: reading in place must not fault */
  } else if (clone(unmapper, stk + stk_len, flags, NULL, NULL, NULL, (int *)&child_tid) < 0) {
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
  if (finalized) {
    fprintf(stderr, "object held from an anonymous mapping was found unreachable\n");
    return 1;
  }
  const char *kept = (const char *)holder[7];
  for (int i = 0; i < 100; i++)
    if (kept[i] != 'x') {
      fprintf(stderr, "object held from an anonymous mapping was reclaimed\n");
      return 1;
    }
  printf("ok\n");
  return 0;
}
