/* gc/stw.h: the registry of mutator threads and stop-the-world.
 *
 * A registered thread has a record (ga_gc_thread_t) in memory reserved from
 * the OS: its kernel tid, its stack bounds (pthread_getattr_np at
 * registration; for the main thread the [stack] mapping, see gc/roots.h),
 * its static TLS range when that is not inside the stack, and, while the
 * world is stopped, its stack pointer and the general registers it had
 * when it was interrupted. Records are never unmapped, only reused, so a
 * stale pointer to one never faults.
 *
 * Stopping (bdwgc's protocol, resumed with a futex instead of a second
 * signal): the collector takes the registry lock, makes world_gen odd and
 * sends each registered thread but itself the suspend signal (SIGPWR by
 * default) with rt_tgsigqueueinfo, carrying world_gen, so the handler can
 * tell our signal from one sent by someone else. The handler copies the
 * interrupted registers out of its ucontext into the record, records its own
 * stack pointer (everything above it, the signal frame included, is the
 * thread's live stack), counts itself in `acks` (a futex the collector
 * sleeps on) and sleeps on world_gen until it changes. Resuming is one store
 * and one FUTEX_WAKE for all threads. The handler runs with every signal
 * blocked (glibc's cancellation signal included, which sigfillset leaves
 * out: a thread cancelled while stopped would run its cleanup handlers
 * during the pause), so no other handler can write to the heap while the
 * world is stopped; it is installed with SA_RESTART, so a thread stopped inside
 * read() goes back into read(); other calls the kernel never restarts
 * return EINTR, as they would for any signal, but the sleeps (nanosleep,
 * clock_nanosleep, usleep, sleep) are goalloc's and sleep on
 * (gc/signals.h).
 *
 * Who may touch what:
 *   - a record's bounds: written by its thread before it is linked, then
 *     read-only; sp, regs, stopped_gen: written by its thread inside the
 *     handler, read by the collector after the ack (release/acquire on acks);
 *   - the list of records: registry lock. The collector holds that lock
 *     from stop to start, so no thread registers or unregisters while the
 *     world is stopped (an unregistering thread waits on the lock, is
 *     stopped there like any other, and leaves after the restart);
 *   - a thread that exited without unregistering: tgkill fails with ESRCH
 *     and its record is dropped during the stop. A new thread that reused
 *     its tid gets our signal without a record: the handler acks without
 *     stopping, and the dead record is dropped because its stopped_gen was
 *     not updated.
 *
 * Limits the integration must handle: a thread that blocks the suspend
 * signal (sigprocmask(SIG_BLOCK, all)) cannot be stopped until it unblocks
 * it (bdwgc interposes pthread_sigmask to keep its signals open; a warning
 * is printed after GA_GC_STW_WARN_MS); pthread_getattr_np mallocs (glibc's
 * affinity buffer), so ga_gc_stw_register_self must not be called with an
 * allocator lock held; use ga_gc_stw_register_self_range there. */
#ifndef GA_GC_STW_H
#define GA_GC_STW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "gc/roots.h"

#define GA_GC_STW_DEFAULT_SIGNAL 30 /* SIGPWR on x86-64, as bdwgc */
#define GA_GC_STW_NREGS 23          /* NGREG: the gregs of an x86-64 mcontext */
#define GA_GC_STW_WARN_MS 2000

typedef struct ga_gc_thread {
  struct ga_gc_thread *next, *prev;
  pid_t tid;
  bool is_main;
  /* The stack: [stack_lo, stack_hi). For the main thread stack_lo is the
   * RLIMIT_STACK floor, which may not be mapped yet. */
  uintptr_t stack_lo, stack_hi;
  uintptr_t tls_lo, tls_hi;     /* static TLS + TCB outside the stack; 0 if inside */
  /* Valid while stopped in generation stopped_gen: */
  uintptr_t sp;                 /* scan [sp, stack_hi) */
  uintptr_t alt_lo, alt_hi;     /* the alternate signal stack it was on, else 0 */
  uint64_t regs[GA_GC_STW_NREGS];
  unsigned stopped_gen;
  /* Concurrent mark (gc/concurrent.c): set by the thread itself while it
   * may assist; the mark's end waits for it to drop.
   * gc_balance: the thread's assist balance in bytes (Go's gcAssistBytes):
   * allocation during mark debits it, assists and stolen background
   * credit pay it back; valid for the cycle gc_epoch names (ga_gc_cycle
   * then; credit mode), forgotten at the next. gc_allocated: bytes
   * allocated during marks, a running total (the collector sums the
   * records at mark start and in the final pause); gc_unflushed: bytes of
   * this mark not yet added to the pacer's heap_live (credit mode). The
   * thread's own. */
  int gc_inop;
  int64_t gc_balance;
  uint64_t gc_allocated;
  uint32_t gc_epoch;
  uint32_t gc_unflushed;
  /* While this thread runs a collection: where its program frames end
   * (ga_gc_stw_enter) and its callee-saved registers then; 0 otherwise.
   * Not regs: another cycle's pause may stop this thread while it waits
   * for gc_lock, and the handler overwrites regs. */
  uintptr_t entry_sp;
  uint64_t entry_regs[6];
} ga_gc_thread_t;

/* The gc_allocated totals of removed records (exited threads), and the
 * gc_unflushed of those removed during the current cycle's mark (reset by
 * the collector at mark start). */
extern uint64_t ga_gc_exited_allocated, ga_gc_exited_unflushed;

/* Installs the suspend handler; sig 0 means the default (SIGPWR). Once. */
bool ga_gc_stw_init(int sig);
int ga_gc_stw_signal(void);

/* Registers the calling thread (idempotent); NULL if out of memory. */
ga_gc_thread_t *ga_gc_stw_register_self(void);
/* Same, with stack bounds the caller knows (no malloc inside). */
ga_gc_thread_t *ga_gc_stw_register_self_range(uintptr_t stack_lo, uintptr_t stack_hi);
/* The calling thread is the process's main thread: its id is the process
 * id and it runs on the [stack] mapping (not a fork child of another
 * thread, whose id is the process id too). */
bool ga_gc_stw_on_main_stack(void);
void ga_gc_stw_unregister_self(void);
ga_gc_thread_t *ga_gc_stw_self(void);
unsigned ga_gc_stw_count(void);
bool ga_gc_stw_main_registered(void);

/* Stops every registered thread but the caller and returns how many were
 * stopped. Holds the registry lock until ga_gc_stw_start_world. One
 * stopper at a time (a second caller waits on the lock; a registered
 * thread waiting there is stopped like the others). */
unsigned ga_gc_stw_stop_world(void);
void ga_gc_stw_start_world(void);
bool ga_gc_stw_world_stopped(void);

/* While the caller has the world stopped: every registered thread's live
 * stack [sp, stack_hi) (plus its alternate signal stack if it was on one),
 * its saved registers (as a range of memory), and the caller's own stack
 * from this call's frame up with its callee-saved registers spilled into
 * it (if the caller is registered). */
void ga_gc_stw_for_each_stack(ga_gc_range_fn fn, void *arg);
/* Static TLS ranges that lie outside their thread's stack. Takes the
 * registry lock unless the caller has the world stopped. */
void ga_gc_stw_for_each_tls(ga_gc_range_fn fn, void *arg);
/* Scans the other registered threads' stacks while they run (a
 * concurrent mark's first approximation; the final pause rescans them). */
void ga_gc_stw_scan_stacks_running(ga_gc_range_fn fn, void *arg);
/* Around a collection run by this thread: its stack is scanned from the
 * caller of ga_gc_stw_enter up, with the registers it had then. enter
 * returns false (and changes nothing) if already inside one. */
bool ga_gc_stw_enter(void);
void ga_gc_stw_leave(void);
/* Every record, for tests and statistics; same locking as for_each_tls. */
void ga_gc_stw_for_each_thread(void (*fn)(const ga_gc_thread_t *t, void *arg), void *arg);

/* fork: the registry lock around fork (the child resets it below). */
void ga_gc_stw_fork_lock(void);
void ga_gc_stw_fork_unlock(void);
/* In a fork child: only the calling thread survives; keep its record. */
void ga_gc_stw_atfork_child(void);

#endif
