/* gc/roots.h: where a conservative collector looks for pointers that do
 * not live in the heap.
 *
 * Root kinds, each a set of address ranges [lo, hi) of 8-byte-aligned words:
 *   DATA        the writable PT_LOAD segments of every loaded object (main
 *               program, shared libraries, dlopen'ed ones: re-enumerated on
 *               each call with dl_iterate_phdr) minus their PT_GNU_RELRO part
 *               (read-only after relocation: it can only point at code and
 *               globals), minus libgoalloc's own segments when goalloc is a
 *               shared library (its globals point at metadata and arenas, never
 *               at a user's object: scanning them only retains garbage), minus
 *               the GA_GC_NOSCAN section and the ranges given to
 *               ga_gc_roots_exclude.
 *   USER        ranges added with ga_gc_roots_add (GC_add_roots).
 *   TLS         the static TLS block and TCB of each registered thread that
 *               does not lie inside that thread's stack (in glibc only the main
 *               thread's does not: other threads keep theirs at the top of
 *               their stack mapping, which the stack scan covers).
 *   MAIN_STACK  the main thread's stack, reported here only while the main
 *               thread is not registered with gc/stw (once it is, stw reports
 *               it like every other stack, from its stopped stack pointer).
 *
 * Locks: roots_lock protects the user-root and exclusion tables. A thread
 * holding it has every signal blocked, so a stop-the-world can never freeze
 * a thread inside add/remove and then deadlock on the table. Data segments
 * are read under glibc's loader lock (inside dl_iterate_phdr), which is
 * recursive: ga_gc_roots_with_loader_locked runs a function with it held,
 * so a collector that stops the world in there sees a list of loaded
 * objects that no stopped thread can be half-way through changing (a thread
 * stopped inside dlopen before its link_map is published is not yet
 * visible; after, its object is complete). Lock order: loader lock ->
 * gc/stw registry lock -> roots_lock.
 *
 * The callback must not call ga_gc_roots_add/remove/exclude (roots_lock is
 * held while USER ranges are reported). */
#ifndef GA_GC_ROOTS_H
#define GA_GC_ROOTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef void (*ga_gc_range_fn)(uintptr_t lo, uintptr_t hi, void *arg);

enum {
  GA_GC_ROOTS_DATA = 1,
  GA_GC_ROOTS_USER = 2,
  GA_GC_ROOTS_TLS = 4,
  GA_GC_ROOTS_MAIN_STACK = 8,
  GA_GC_ROOTS_ALL = 15,
};

/* Globals that must never be scanned (they hold pointers the collector must
 * not follow, or are large and pointer-free): put them in this section.
 * Works whether goalloc is a shared library or linked into the program.
 * Only for variables that are not const. */
#define GA_GC_NOSCAN __attribute__((section("ga_gc_noscan")))

void ga_gc_roots_for_each(ga_gc_range_fn fn, void *arg);
void ga_gc_roots_for_each_kind(unsigned kinds, ga_gc_range_fn fn, void *arg);

/* Calls fn on a copy of [lo, hi), 64 KiB at a time, for memory that may
 * be unmapped while it is read (the stacks of running threads, the
 * program's anonymous mappings: a thread the pause does not stop, one
 * that has left the registry on its way out, may still unmap memory):
 * an unreadable page is skipped, not a fault. Where the process may not
 * read itself that way (a sandbox refuses process_vm_readv), a required
 * range is scanned in place and an optional one skipped. The collecting
 * thread only (gc_lock): the copy buffer is shared. */
void ga_gc_roots_scan_copied(uintptr_t lo, uintptr_t hi, bool required, ga_gc_range_fn fn,
                             void *arg);

/* Every loaded object's writable segments, whole pages (their .bss tails
 * are anonymous mappings): the collect modes' scan of anonymous memory
 * leaves them to the DATA roots (which skip goalloc's own). */
void ga_gc_roots_for_each_data_segment(void (*fn)(uintptr_t lo, uintptr_t hi, void *arg), void *arg);

/* User roots: add merges with overlapping or adjacent ranges; remove takes
 * [lo, hi) out of whatever user roots it intersects (splitting one if
 * needed), as GC_remove_roots does. False if the table is full (65536
 * disjoint ranges) or the OS refused memory for it. */
bool ga_gc_roots_add(uintptr_t lo, uintptr_t hi);
bool ga_gc_roots_remove(uintptr_t lo, uintptr_t hi);
void ga_gc_roots_clear(void);

/* Ranges cut out of DATA roots (up to 64). */
bool ga_gc_roots_exclude(uintptr_t lo, uintptr_t hi);
bool ga_gc_roots_unexclude(uintptr_t lo, uintptr_t hi);

/* fork handlers (collector.c). */
void ga_gc_roots_fork_lock(void);
void ga_gc_roots_fork_unlock(void);
void ga_gc_roots_fork_child(void);
/* Runs fn(arg) with the dynamic loader's list of objects locked. */
void ga_gc_roots_with_loader_locked(void (*fn)(void *), void *arg);

/* Bounds of the main thread's stack: hi is the top of the mapping that
 * holds __libc_stack_end (so argv/envp, where setenv may store heap
 * pointers, are included), lo the bottom of that mapping as it is now. */
bool ga_gc_roots_main_stack(uintptr_t *lo, uintptr_t *hi);

/* The calling thread's static TLS blocks and TCB (x86-64: the blocks sit
 * just below the thread pointer, the TCB at it), with some slack on both
 * sides clipped to the mapping that holds them. */
bool ga_gc_roots_static_tls(uintptr_t *lo, uintptr_t *hi);

/* The thread pointer (%fs:0) of the calling thread. */
static inline uintptr_t ga_gc_thread_pointer(void) {
  uintptr_t tp;
  __asm__("mov %%fs:0, %0" : "=r"(tp));
  return tp;
}

#endif
