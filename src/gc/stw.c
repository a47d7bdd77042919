/* gc/stw.c: see stw.h for the protocol, the invariants and the locking. */
#include "gc/stw.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "gc/maps.h"
#include "gc/roots.h"
#include "os.h"
#include "span.h"

#define CHUNK_BYTES (64 << 10)

static ga_mutex_t reg_lock = GA_MUTEX_INIT; /* the list, the free list, stopper */
static ga_gc_thread_t *threads;             /* live records, doubly linked */
static ga_gc_thread_t *free_recs;           /* reusable records (next only) */
static unsigned nthreads;
static bool main_registered;
static pid_t stopper;     /* tid of the thread that has the world stopped, or 0 */
static int suspend_sig;   /* 0 until ga_gc_stw_init */
static int world_gen;     /* futex: odd while stopped; the handler sleeps on it */
static int acks;          /* futex: threads that stopped in this generation */

static __thread ga_gc_thread_t *self_rec;

static long futex(int *uaddr, int op, int val, const struct timespec *ts) {
  return syscall(SYS_futex, uaddr, op, val, ts, NULL, 0);
}

static pid_t my_tid(void) { return (pid_t)syscall(SYS_gettid); }

static inline uintptr_t current_sp(void) {
  uintptr_t sp;
  __asm__ volatile("mov %%rsp, %0" : "=r"(sp));
  return sp;
}

/* The calling function's callee-saved registers (rbx, rbp, r12-r15) into
 * regs[0..5]: a macro, so they are the caller's own, not a helper's. */
#define SAVE_CALLEE_SAVED(regs)                                                            \
  do {                                                                                     \
    __builtin_unwind_init();                                                               \
    __asm__ volatile("mov %%rbx, 0(%0)\n\tmov %%rbp, 8(%0)\n\tmov %%r12, 16(%0)\n\t"       \
                     "mov %%r13, 24(%0)\n\tmov %%r14, 32(%0)\n\tmov %%r15, 40(%0)"           \
                     :                                                                     \
                     : "r"(regs)                                                           \
                     : "memory");                                                          \
  } while (0)

/* ---- the handler (async-signal-safe: atomics and system calls only) ---- */

/* Records sp as where t's live stack begins, counts t as stopped in
 * generation gen and waits for the world to restart. With t's registers
 * already in t->regs; signals blocked (the handler's mask, or
 * lock_leaving's). */
static void stop_here(ga_gc_thread_t *t, uintptr_t sp, unsigned gen) {
  t->alt_lo = t->alt_hi = 0;
  if (sp < t->stack_lo || sp >= t->stack_hi) {
    /* Not on its own stack: on sigaltstack, or on a stack the program
     * switched to (swapcontext). Scan from sp to the end of that stack,
     * and the whole normal stack since its sp is unknown. */
    stack_t ss;
    uintptr_t lo, hi;
    if (sigaltstack(NULL, &ss) == 0 && !(ss.ss_flags & SS_DISABLE) &&
        sp >= (uintptr_t)ss.ss_sp && sp < (uintptr_t)ss.ss_sp + ss.ss_size) {
      t->alt_hi = (uintptr_t)ss.ss_sp + ss.ss_size;
    } else if (ga_gc_maps_find(sp, &lo, &hi)) {
      t->alt_hi = hi;
    } else {
      t->alt_hi = sp; /* nothing known: the normal stack is scanned whole */
    }
    t->alt_lo = sp;
  }
  t->sp = sp;
  t->stopped_gen = gen;
  __atomic_fetch_add(&acks, 1, __ATOMIC_RELEASE);
  futex(&acks, FUTEX_WAKE_PRIVATE, 1, NULL);
  while ((unsigned)__atomic_load_n(&world_gen, __ATOMIC_ACQUIRE) == gen)
    futex(&world_gen, FUTEX_WAIT_PRIVATE, (int)gen, NULL);
}

static void suspend_handler(int sig, siginfo_t *si, void *ucv) {
  int saved_errno = errno;
  ga_gc_thread_t *t = self_rec;
  unsigned gen = (unsigned)__atomic_load_n(&world_gen, __ATOMIC_ACQUIRE);
  if (!(gen & 1)) goto out; /* not stopping: someone else's signal */
  if (!t) {
    /* A thread that reused a dead registered thread's tid: ack so the
     * collector does not wait for it, but only for our own signal. */
    if (si && si->si_code == SI_QUEUE && si->si_pid == getpid() &&
        (unsigned)si->si_value.sival_int == gen) {
      __atomic_fetch_add(&acks, 1, __ATOMIC_RELEASE);
      futex(&acks, FUTEX_WAKE_PRIVATE, 1, NULL);
    }
    goto out;
  }
  if (t->stopped_gen == gen) goto out; /* a second signal in the same stop */

  const ucontext_t *uc = ucv;
  for (int i = 0; i < GA_GC_STW_NREGS; i++) t->regs[i] = (uint64_t)uc->uc_mcontext.gregs[i];
  /* Everything above this frame is live: the signal frame with all the
   * registers, the red zone below the interrupted rsp, the stack. */
  stop_here(t, current_sp(), gen);
out:
  errno = saved_errno;
}

bool ga_gc_stw_init(int sig) {
  if (sig <= 0) sig = GA_GC_STW_DEFAULT_SIGNAL;
  if (__atomic_load_n(&suspend_sig, __ATOMIC_ACQUIRE)) return true;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = suspend_handler;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  /* No other handler runs while a thread is stopped: glibc's sigfillset
   * leaves out its cancellation signal (32), whose handler would unwind a
   * thread stopped in a cancellable call (async cancellation is on there)
   * out of this handler while it counts as stopped: its cleanup handlers
   * and key destructors ran during the pause, with every signal blocked. */
  sigfillset(&sa.sa_mask);
  sa.sa_mask.__val[0] |= 1UL << (32 - 1);
  if (ga_os_sigaction(sig, &sa, NULL) != 0) return false;
  __atomic_store_n(&suspend_sig, sig, __ATOMIC_RELEASE);
  ga_os_thread_keep_signal = sig;
  return true;
}

int ga_gc_stw_signal(void) { return suspend_sig; }

/* ---- registry ---- */

static ga_gc_thread_t *alloc_record(void) {
  if (!free_recs) {
    ga_gc_thread_t *chunk = ga_os_reserve(CHUNK_BYTES, 4096);
    if (!chunk) return NULL;
    size_t n = CHUNK_BYTES / sizeof *chunk;
    for (size_t i = 0; i < n; i++) {
      chunk[i].next = free_recs;
      free_recs = &chunk[i];
    }
  }
  ga_gc_thread_t *t = free_recs;
  free_recs = t->next;
  return t;
}

uint64_t ga_gc_exited_allocated, ga_gc_exited_unflushed;

static void unlink_record(ga_gc_thread_t *t) {
  /* What it allocated during marks still counts for the pacer (the
   * collector sums the records that remain). */
  __atomic_fetch_add(&ga_gc_exited_allocated, t->gc_allocated, __ATOMIC_RELAXED);
  if (t->gc_epoch == __atomic_load_n(&ga_gc_cycle, __ATOMIC_RELAXED))
    __atomic_fetch_add(&ga_gc_exited_unflushed, t->gc_unflushed, __ATOMIC_RELAXED);
  if (t->prev) t->prev->next = t->next;
  else threads = t->next;
  if (t->next) t->next->prev = t->prev;
  if (t->is_main) main_registered = false;
  nthreads--;
  memset(t, 0, sizeof *t);
  t->next = free_recs;
  free_recs = t;
}

static ga_gc_thread_t *register_with(uintptr_t lo, uintptr_t hi, bool is_main) {
  if (self_rec) return self_rec;
  uintptr_t tlo = 0, thi = 0;
  /* Outside the registry lock: dl_iterate_phdr takes the loader lock,
   * which comes before the registry lock. */
  if (ga_gc_roots_static_tls(&tlo, &thi) && tlo >= lo && thi <= hi) tlo = thi = 0;
  pid_t tid = my_tid();
  ga_mutex_lock(&reg_lock);
  /* A record with our tid belongs to a thread that exited without
   * unregistering (tids are unique among live threads): drop it, or a stop
   * would wait for two acks from one thread. */
  for (ga_gc_thread_t *o = threads, *next; o; o = next) {
    next = o->next;
    if (o->tid == tid) unlink_record(o);
  }
  ga_gc_thread_t *t = alloc_record();
  if (t) {
    memset(t, 0, sizeof *t);
    t->tid = tid;
    t->is_main = is_main;
    t->stack_lo = lo;
    t->stack_hi = hi;
    t->tls_lo = tlo;
    t->tls_hi = thi;
    t->next = threads;
    if (threads) threads->prev = t;
    threads = t;
    nthreads++;
    if (is_main) main_registered = true;
    self_rec = t;
  }
  ga_mutex_unlock(&reg_lock);
  return t;
}

/* The [stack] mapping's bounds, if the caller is the main thread: its id
 * is the process id and it runs on that mapping. */
static bool main_stack_of_caller(uintptr_t *lo, uintptr_t *hi) {
  uintptr_t sp = current_sp();
  return my_tid() == getpid() && ga_gc_roots_main_stack(lo, hi) && sp >= *lo && sp < *hi;
}

bool ga_gc_stw_on_main_stack(void) {
  uintptr_t lo, hi;
  return main_stack_of_caller(&lo, &hi);
}

ga_gc_thread_t *ga_gc_stw_register_self_range(uintptr_t lo, uintptr_t hi) {
  return register_with(lo, hi, ga_gc_stw_on_main_stack());
}

ga_gc_thread_t *ga_gc_stw_register_self(void) {
  if (self_rec) return self_rec;
  uintptr_t lo = 0, hi = 0, sp = current_sp();
  /* The main thread: tid == pid and on the [stack] mapping. A fork child
   * of another thread has tid == pid too, on that thread's stack (taking
   * the dead [stack] for its own made stack scans cross unmapped memory:
   * review finding). */
  if (main_stack_of_caller(&lo, &hi)) {
    /* The [stack] mapping grows down to RLIMIT_STACK: count all of it as
     * the stack so a deeper sp later is still recognised as on it. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur < hi && hi - rl.rlim_cur < lo)
      lo = hi - rl.rlim_cur;
    return register_with(lo, hi, true);
  }
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) == 0) {
    void *addr;
    size_t size;
    if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
      lo = (uintptr_t)addr;
      hi = lo + size;
    }
    pthread_attr_destroy(&attr);
  }
  if (!(sp >= lo && sp < hi) && !ga_gc_maps_find(sp, &lo, &hi)) return NULL;
  return register_with(lo, hi, false);
}

/* The registry lock for a registered thread on its way out. While it
 * waits, a stop may be waiting for its answer, and the thread may have
 * the stop signal blocked: threads unregister from cleanup handlers and
 * key destructors (pthread_create's wrapper, the cache), which may run
 * with any mask (a program's, or, before the stop handler blocked glibc's
 * cancellation signal, the stop handler's own: every pause hung then). So
 * the thread answers stops itself, signals blocked, as the handler would,
 * with its callee-saved registers and its stack from here up. Polls: a
 * stop wakes nothing it could sleep on, so it looks again every 0.2 ms. */
static GA_NOINLINE void lock_leaving(ga_gc_thread_t *t) {
  for (;;) {
    int expected = 0;
    if (__atomic_compare_exchange_n(&reg_lock.state, &expected, 1, false, __ATOMIC_ACQUIRE,
                                    __ATOMIC_RELAXED))
      return;
    sigset_t old;
    ga_os_block_signals(&old);
    unsigned gen = (unsigned)__atomic_load_n(&world_gen, __ATOMIC_ACQUIRE);
    if ((gen & 1) && t->stopped_gen != gen && stopper != my_tid()) {
      uint64_t cs[6];
      SAVE_CALLEE_SAVED(cs);
      uintptr_t sp = current_sp();
      /* In the places of a signal's context (the gregs layout). */
      memset(t->regs, 0, sizeof t->regs);
      t->regs[REG_RBX] = cs[0];
      t->regs[REG_RBP] = cs[1];
      t->regs[REG_R12] = cs[2];
      t->regs[REG_R13] = cs[3];
      t->regs[REG_R14] = cs[4];
      t->regs[REG_R15] = cs[5];
      t->regs[REG_RSP] = (uintptr_t)__builtin_frame_address(0) + 16; /* the caller's sp */
      stop_here(t, sp, gen);
    }
    ga_os_sigmask(SIG_SETMASK, &old, NULL);
    struct timespec ts = {0, 200 * 1000};
    futex(&world_gen, FUTEX_WAIT_PRIVATE, (int)gen, &ts);
  }
}

void ga_gc_stw_unregister_self(void) {
  ga_gc_thread_t *t = self_rec;
  if (!t) return;
  lock_leaving(t);
  self_rec = NULL;
  unlink_record(t);
  ga_mutex_unlock(&reg_lock);
}

ga_gc_thread_t *ga_gc_stw_self(void) { return self_rec; }
unsigned ga_gc_stw_count(void) { return __atomic_load_n(&nthreads, __ATOMIC_RELAXED); }
bool ga_gc_stw_main_registered(void) { return __atomic_load_n(&main_registered, __ATOMIC_RELAXED); }

bool ga_gc_stw_world_stopped(void) { return __atomic_load_n(&world_gen, __ATOMIC_RELAXED) & 1; }

static bool caller_stopped_world(void) {
  return __atomic_load_n(&stopper, __ATOMIC_RELAXED) == my_tid();
}

/* ---- stop and start ---- */

static void warn_stragglers(unsigned gen) {
  for (ga_gc_thread_t *t = threads; t; t = t->next)
    if (t->tid != stopper && __atomic_load_n(&t->stopped_gen, __ATOMIC_ACQUIRE) != gen)
      ga_printf(2, "goalloc: gc: thread %d has not stopped yet (suspend signal %d blocked?)\n",
                (int)t->tid, suspend_sig);
}

/* A dead thread's record whose tid the kernel gave to one of goalloc's
 * threads before its table entry was written: that thread blocks every
 * signal from its first instruction, so the signal stays pending in it and
 * no answer comes. Drops such records and returns how many, so the stop
 * stops waiting for them; checked only when the wait times out. Only if
 * the signal is pending in that thread: if another thread held the tid
 * when the signal went out (and answered for the record, then exited),
 * the answer is already counted. */
static unsigned drop_internal_tids(unsigned gen) {
  unsigned n = 0;
  for (ga_gc_thread_t *t = threads, *next; t; t = next) {
    next = t->next;
    if (t->tid != stopper && __atomic_load_n(&t->stopped_gen, __ATOMIC_ACQUIRE) != gen &&
        ga_os_internal_tid(t->tid) && ga_os_thread_signal_pending(t->tid, suspend_sig)) {
      unlink_record(t);
      n++;
    }
  }
  return n;
}

unsigned ga_gc_stw_stop_world(void) {
  if (!suspend_sig) ga_gc_stw_init(0);
  ga_mutex_lock(&reg_lock);
  pid_t me = my_tid(), pid = getpid();
  unsigned gen = (unsigned)world_gen + 1;
  stopper = me;
  __atomic_store_n(&acks, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&world_gen, (int)gen, __ATOMIC_SEQ_CST);
  unsigned sent = 0;
  for (ga_gc_thread_t *t = threads, *next; t; t = next) {
    next = t->next;
    if (ga_os_internal_tid(t->tid)) {
      unlink_record(t); /* a dead thread's: its tid is one of ours now */
      continue;
    }
    if (t->tid == me) continue;
    siginfo_t si;
    memset(&si, 0, sizeof si);
    si.si_signo = suspend_sig;
    si.si_code = SI_QUEUE;
    si.si_pid = pid;
    si.si_uid = getuid();
    si.si_value.sival_int = (int)gen;
    if (syscall(SYS_rt_tgsigqueueinfo, pid, t->tid, suspend_sig, &si) == 0) sent++;
    else if (errno == ESRCH) unlink_record(t); /* exited without unregistering */
    else ga_fatal("goalloc: gc: cannot signal thread %d (errno %d)\n", (int)t->tid, errno);
  }
  uint64_t start = ga_os_nanotime();
  bool warned = false;
  for (;;) {
    int a = __atomic_load_n(&acks, __ATOMIC_ACQUIRE);
    if ((unsigned)a >= sent) break;
    struct timespec ts = {0, 50 * 1000 * 1000};
    if (futex(&acks, FUTEX_WAIT_PRIVATE, a, &ts) != 0 && errno == ETIMEDOUT)
      sent -= drop_internal_tids(gen);
    if (!warned && ga_os_nanotime() - start > (uint64_t)GA_GC_STW_WARN_MS * 1000000) {
      warn_stragglers(gen);
      warned = true;
    }
  }
  /* Records that did not stop in this generation belong to dead threads
   * whose tid a stranger reused (it acked for them). */
  unsigned stopped = 0;
  for (ga_gc_thread_t *t = threads, *next; t; t = next) {
    next = t->next;
    if (t->tid == me) continue;
    if (__atomic_load_n(&t->stopped_gen, __ATOMIC_ACQUIRE) == gen) stopped++;
    else unlink_record(t);
  }
  return stopped;
}

void ga_gc_stw_start_world(void) {
  stopper = 0;
  __atomic_store_n(&world_gen, world_gen + 1, __ATOMIC_SEQ_CST);
  /* Unlocked before the wake: with more runnable threads than CPUs this
   * thread is preempted when it wakes them, and registrations must not
   * wait for it to run again. */
  ga_mutex_unlock(&reg_lock);
  futex(&world_gen, FUTEX_WAKE_PRIVATE, INT_MAX, NULL);
}

/* ---- iteration ---- */

static void report(uintptr_t lo, uintptr_t hi, ga_gc_range_fn fn, void *arg) {
  lo = (lo + 7) & ~(uintptr_t)7;
  hi &= ~(uintptr_t)7;
  if (lo < hi) fn(lo, hi, arg);
}

/* The lowest stack address that is safe to read when the whole stack must
 * be scanned. The main thread's stack_lo is its RLIMIT_STACK floor (so a
 * deep sp is still recognised as on the stack), below which nothing may be
 * mapped yet: use the [stack] mapping as it is now. */
static uintptr_t full_scan_lo(const ga_gc_thread_t *t) {
  uintptr_t lo, hi;
  if (t->is_main && ga_gc_maps_find(t->stack_hi - 1, &lo, &hi) && lo > t->stack_lo) return lo;
  return t->stack_lo;
}


GA_NOINLINE void ga_gc_stw_for_each_stack(ga_gc_range_fn fn, void *arg) {
  unsigned gen = (unsigned)__atomic_load_n(&world_gen, __ATOMIC_ACQUIRE);
  pid_t me = my_tid();
  for (ga_gc_thread_t *t = threads; t; t = t->next) {
    if (t->tid == me || t->stopped_gen != gen) continue;
    if (t->alt_lo) {
      report(t->alt_lo, t->alt_hi, fn, arg);
      report(full_scan_lo(t), t->stack_hi, fn, arg);
    } else {
      report(t->sp, t->stack_hi, fn, arg);
    }
    report((uintptr_t)t->regs, (uintptr_t)(t->regs + GA_GC_STW_NREGS), fn, arg);
  }
  ga_gc_thread_t *s = self_rec;
  if (s && s->entry_sp) {
    /* A collection on this thread: its live stack ends where the program
     * called into the collector (ga_gc_stw_enter); the collector's own
     * frames below hold nothing of the program's but stale slots. */
    report(s->entry_sp, s->stack_hi, fn, arg);
    report((uintptr_t)s->entry_regs, (uintptr_t)(s->entry_regs + 6), fn, arg);
  } else if (s) {
    /* The caller's callee-saved registers go to this frame and to its
     * record; its live stack is everything above this frame. */
    SAVE_CALLEE_SAVED(s->regs);
    uintptr_t sp = current_sp();
    if (sp >= s->stack_lo && sp < s->stack_hi) report(sp, s->stack_hi, fn, arg);
    else report(full_scan_lo(s), s->stack_hi, fn, arg);
    report((uintptr_t)s->regs, (uintptr_t)(s->regs + 6), fn, arg);
  }
}

GA_NOINLINE bool ga_gc_stw_enter(void) {
  ga_gc_thread_t *s = self_rec;
  if (!s || s->entry_sp) return false;
  /* The caller's callee-saved registers (its frame, included in the scan,
   * holds those it changed) and its stack pointer before this call. */
  SAVE_CALLEE_SAVED(s->entry_regs);
  s->entry_sp = (uintptr_t)__builtin_frame_address(0) + 16;
  return true;
}

void ga_gc_stw_leave(void) {
  if (self_rec) self_rec->entry_sp = 0;
}

GA_NOINLINE void ga_gc_stw_scan_stacks_running(ga_gc_range_fn fn, void *arg) {
  /* The values are racy: this only grays what the pause would otherwise
   * have to trace. From a little below the stack pointer of the last stop,
   * or the whole stack. */
  ga_mutex_lock(&reg_lock);
  pid_t me = my_tid();
  for (ga_gc_thread_t *t = threads; t; t = t->next) {
    if (t->tid == me) {
      /* The cycle runs on this (registered) thread, which crossed the
       * trigger: the program's frames hold still until the cycle returns,
       * so they are read now rather than traced in the pause (a structure
       * the thread is building, held only from its stack and registers:
       * the first cycle of GCBench traced 3 MB, 1.8 ms, in its pause).
       * From where the program called the collector, as the pause does:
       * the collector's own frames below hold only stale slots. */
      if (t->entry_sp) {
        report(t->entry_sp, t->stack_hi, fn, arg);
        report((uintptr_t)t->entry_regs, (uintptr_t)(t->entry_regs + 6), fn, arg);
      }
      continue;
    }
    uintptr_t lo = full_scan_lo(t);
    if (t->sp > lo + 256 * 1024 && t->sp < t->stack_hi) lo = t->sp - 256 * 1024;
    /* Copied: a thread that exited without unregistering (or whose stack
     * its creator unmapped) must cost a failed copy, not a fault. */
    ga_gc_roots_scan_copied(lo, t->stack_hi, false, fn, arg);
  }
  ga_mutex_unlock(&reg_lock);
}

void ga_gc_stw_for_each_thread(void (*fn)(const ga_gc_thread_t *t, void *arg), void *arg) {
  bool locked = !caller_stopped_world();
  if (locked) ga_mutex_lock(&reg_lock);
  for (ga_gc_thread_t *t = threads; t; t = t->next) fn(t, arg);
  if (locked) ga_mutex_unlock(&reg_lock);
}

void ga_gc_stw_for_each_tls(ga_gc_range_fn fn, void *arg) {
  bool locked = !caller_stopped_world();
  if (locked) ga_mutex_lock(&reg_lock);
  for (ga_gc_thread_t *t = threads; t; t = t->next)
    if (t->tls_lo < t->tls_hi) report(t->tls_lo, t->tls_hi, fn, arg);
  if (locked) ga_mutex_unlock(&reg_lock);
}

void ga_gc_stw_fork_lock(void) { ga_mutex_lock(&reg_lock); }
void ga_gc_stw_fork_unlock(void) { ga_mutex_unlock(&reg_lock); }

void ga_gc_stw_atfork_child(void) {
  ga_mutex_reset(&reg_lock);
  stopper = 0;
  acks = 0;
  if (world_gen & 1) world_gen++;
  for (ga_gc_thread_t *t = threads, *next; t; t = next) {
    next = t->next;
    if (t != self_rec) unlink_record(t);
  }
  if (self_rec) {
    self_rec->tid = my_tid();
    if (self_rec->tid == getpid() && !self_rec->is_main) {
      /* The child's only thread is its main thread now. */
      self_rec->is_main = true;
      main_registered = true;
    }
  }
}
