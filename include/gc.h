/* gc.h: the Boehm collector's (libgc, bdwgc) interface over goalloc's
 * collector, so that a program written for libgc builds unchanged with
 * `-I<goalloc>/include ... -lgoalloc-gc -lgoalloc` (also as <gc/gc.h>;
 * `pkg-config goalloc-gc`). The GC_* entry points are in libgoalloc-gc,
 * not in libgoalloc, so that preloading libgoalloc into a program built
 * with the real libgc leaves that program's collector alone.
 *
 * What is compatible: the allocation calls and macros (GC_MALLOC,
 * GC_MALLOC_ATOMIC, the UNCOLLECTABLE and IGNORE_OFF_PAGE variants, GC_NEW*,
 * GC_REALLOC, GC_FREE, GC_STRDUP), GC_INIT, explicit collection, the heap
 * figures, GC_enable/GC_disable, root ranges, finalizers (one per object),
 * thread registration and, with GC_THREADS, the redirection of
 * pthread_create & co. to GC_pthread_* exactly as libgc's header does it,
 * and the usual tuning setters (accepted; most have no effect, see each).
 *
 * What differs, by design:
 * - Every interior pointer keeps its object alive (libgc's default too);
 *   GC_register_displacement and GC_set_all_interior_pointers are no-ops.
 * - The collector is always mostly-concurrent (docs/GC.md), so
 *   GC_enable_incremental only records the request and GC_collect_a_little
 *   has nothing to do.
 * - Finalizers run on the collecting thread after the cycle that found the
 *   object unreachable, with no ordering between finalizable objects: the
 *   _ignore_self, _no_order and _unreachable variants all behave alike, and
 *   the old finalizer is never returned (*ofn and *ocd are set to NULL).
 *   GC_invoke_finalizers has nothing to run.
 * - GC_set_max_heap_size records the value and has no effect: goalloc's
 *   limit is GOALLOC_MEMLIMIT, a soft limit that makes the collector work
 *   harder, never a hard one that makes allocation fail.
 * - GC_set_free_space_divisor(d) sets GOGC to 100/d (libgc collects after
 *   allocating about heap/d bytes; GOGC collects after the live heap grew
 *   by GOGC percent).
 * - GC_DEBUG is ignored: the debug macros map to the plain calls.
 * - What has no meaning here is not declared, so that a program depending
 *   on it fails at build time rather than misbehaving at run time:
 *   disappearing and long links, toggle-refs, GC_set_on_collection_event,
 *   GC_exclude_static_roots, typed and explicitly kinded allocation,
 *   GC_gc_no and the other deprecated variables, the cord library.
 *
 * Version macros: the libgc API level this header follows (8.2), plus
 * GOALLOC_GC_COMPAT, by which a program can tell it is built against
 * goalloc. */
#ifndef GC_H
#define GC_H

#include <stddef.h>

#define GOALLOC_GC_COMPAT 1
#define GC_VERSION_MAJOR 8
#define GC_VERSION_MINOR 2
#define GC_VERSION_MICRO 0

/* libgc turns GC_THREADS into GC_PTHREADS on Linux; programs test either. */
#if defined(GC_THREADS) && !defined(GC_PTHREADS)
#define GC_PTHREADS 1
#endif
#if defined(GC_PTHREADS) && !defined(GC_THREADS)
#define GC_THREADS 1
#endif

#define GC_API extern __attribute__((visibility("default")))
#define GC_CALL
#define GC_CALLBACK
#define GC_ATTR_MALLOC __attribute__((__malloc__))
#define GC_ATTR_ALLOC_SIZE(n) __attribute__((__alloc_size__(n)))
#define GC_ATTR_NONNULL(n) __attribute__((__nonnull__(n)))

#ifdef __cplusplus
extern "C" {
#endif

typedef void *GC_PTR;
typedef unsigned long GC_word;
typedef long GC_signed_word;
typedef GC_word GC_hidden_pointer;

/* Return codes of the thread-registration calls. */
#define GC_SUCCESS 0
#define GC_DUPLICATE 1
#define GC_NO_THREADS 2
#define GC_UNIMPLEMENTED 3
#define GC_NOT_FOUND 4

/* ---- initialisation ---- */

/* Turns goalloc's collector on (in "api" mode unless GOALLOC_GC chose a
 * mode). Harmless to call twice. */
GC_API void GC_init(void);
GC_API int GC_is_init_called(void);
/* A block, as libgc's, so that `GC_INIT()` with or without a semicolon
 * compiles wherever it did with libgc. */
#define GC_INIT() { GC_init(); }

/* (major << 16) | (minor << 8) | micro of the libgc API level above. */
GC_API unsigned GC_get_version(void);

/* ---- allocation ---- */

/* Collectable, scanned, zeroed. */
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_malloc(size_t);
/* Collectable, never scanned for pointers, not zeroed. */
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_malloc_atomic(size_t);
/* Scanned, never collected; freed only by GC_free. */
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_malloc_uncollectable(size_t);
/* As GC_malloc_uncollectable (goalloc scans it too: an uncollectable noscan
 * kind does not exist, and scanning is only a cost, never a fault). */
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_malloc_atomic_uncollectable(size_t);
/* As GC_malloc / GC_malloc_atomic: every interior pointer counts anyway. */
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_malloc_ignore_off_page(size_t);
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_malloc_atomic_ignore_off_page(size_t);
GC_API GC_ATTR_MALLOC char *GC_strdup(const char *);
GC_API GC_ATTR_MALLOC char *GC_strndup(const char *, size_t) GC_ATTR_NONNULL(1);
/* Keeps the kind of the old object; GC_realloc(p, 0) frees p, returns NULL. */
GC_API void *GC_realloc(void *old, size_t size) GC_ATTR_ALLOC_SIZE(2);
/* Immediate free of any GC_malloc* object (NULL is ignored). */
GC_API void GC_free(void *);

/* Allocation failure: GC_malloc* return oom_fn(size) (default: NULL). */
typedef void *(GC_CALLBACK *GC_oom_func)(size_t);
GC_API void GC_set_oom_fn(GC_oom_func) GC_ATTR_NONNULL(1);
GC_API GC_oom_func GC_get_oom_fn(void);

#define GC_MALLOC(sz) GC_malloc(sz)
#define GC_MALLOC_ATOMIC(sz) GC_malloc_atomic(sz)
#define GC_MALLOC_UNCOLLECTABLE(sz) GC_malloc_uncollectable(sz)
#define GC_MALLOC_ATOMIC_UNCOLLECTABLE(sz) GC_malloc_atomic_uncollectable(sz)
#define GC_MALLOC_IGNORE_OFF_PAGE(sz) GC_malloc_ignore_off_page(sz)
#define GC_MALLOC_ATOMIC_IGNORE_OFF_PAGE(sz) GC_malloc_atomic_ignore_off_page(sz)
#define GC_MALLOC_STUBBORN(sz) GC_malloc(sz)
#define GC_REALLOC(old, sz) GC_realloc(old, sz)
#define GC_FREE(p) GC_free(p)
#define GC_STRDUP(s) GC_strdup(s)
#define GC_STRNDUP(s, n) GC_strndup(s, n)
#define GC_NEW(t) ((t *)GC_MALLOC(sizeof(t)))
#define GC_NEW_ATOMIC(t) ((t *)GC_MALLOC_ATOMIC(sizeof(t)))
#define GC_NEW_UNCOLLECTABLE(t) ((t *)GC_MALLOC_UNCOLLECTABLE(sizeof(t)))
#define GC_NEW_STUBBORN(t) GC_NEW(t)

/* Stubborn objects and manual dirtying are libgc's write barrier; goalloc
 * learns about writes from the kernel, so both are plain stores. */
GC_API void GC_end_stubborn_change(const void *) GC_ATTR_NONNULL(1);
#define GC_change_stubborn(p) ((void)(p))
#define GC_PTR_STORE(p, q) (*(void **)(p) = (void *)(q))
#define GC_PTR_STORE_AND_DIRTY(p, q) GC_PTR_STORE(p, q)
#define GC_PTR_ADD(x, n) ((x) + (n))
#define GC_PTR_ADD3(x, n, type_of_result) ((type_of_result)((x) + (n)))

/* Pointers stored complemented are invisible to the collector. */
#define GC_HIDE_POINTER(p) (~(GC_hidden_pointer)(p))
#define GC_REVEAL_POINTER(p) ((void *)GC_HIDE_POINTER(p))

/* ---- what the heap holds ---- */

/* Start of the allocated object p points into (interior pointers and one
 * past the end included, as the collector counts them), else NULL. */
GC_API void *GC_base(void *);
/* 1 if p points into goalloc's heap, else 0. */
GC_API int GC_is_heap_ptr(const void *);
/* Usable size of the object starting at p (at least the size asked). */
GC_API size_t GC_size(const void *) GC_ATTR_NONNULL(1);

/* Bytes of heap pages in use or free but still backed (libgc: the heap
 * size excluding unmapped pages). */
GC_API size_t GC_get_heap_size(void);
/* Of those, bytes not holding an allocated object. */
GC_API size_t GC_get_free_bytes(void);
/* Free heap bytes returned to the OS. */
GC_API size_t GC_get_unmapped_bytes(void);
/* Bytes allocated since the last cycle ended (as the pacer counts them). */
GC_API size_t GC_get_bytes_since_gc(void);
/* Bytes ever allocated: those live now plus those the collector reclaimed
 * (explicitly freed bytes are not counted). */
GC_API size_t GC_get_total_bytes(void);
/* Bytes in allocated objects. */
GC_API size_t GC_get_memory_use(void);
/* All of the above at once; any pointer may be NULL. */
GC_API void GC_get_heap_usage_safe(GC_word *pheap_size, GC_word *pfree_bytes,
                                   GC_word *punmapped_bytes, GC_word *pbytes_since_gc,
                                   GC_word *ptotal_bytes);
/* Completed collections. */
GC_API GC_word GC_get_gc_no(void);
/* Statistics of the allocator and the collector, on stderr. */
GC_API void GC_dump(void);

/* ---- collection ---- */

GC_API void GC_gcollect(void);
/* Collects, then returns the free pages to the OS. */
GC_API void GC_gcollect_and_unmap(void);
/* Nesting counter: no automatic collection while disabled. */
GC_API void GC_disable(void);
GC_API void GC_enable(void);
GC_API int GC_is_disabled(void);
/* Recorded only (see the top of this file). */
GC_API void GC_enable_incremental(void);
GC_API int GC_is_incremental_mode(void);
/* Always 0: there is never a pending increment of work to do here. */
GC_API int GC_collect_a_little(void);

/* Tuning, accepted for compatibility (see the top of this file). */
GC_API void GC_set_free_space_divisor(GC_word);
GC_API GC_word GC_get_free_space_divisor(void);
GC_API void GC_set_max_heap_size(GC_word);
GC_API int GC_expand_hp(size_t);
GC_API void GC_set_all_interior_pointers(int);
GC_API int GC_get_all_interior_pointers(void);
GC_API void GC_register_displacement(size_t);
GC_API void GC_set_dont_expand(int);
GC_API void GC_set_full_freq(int);
GC_API void GC_set_time_limit(unsigned long);
GC_API void GC_set_markers_count(unsigned);
GC_API void GC_set_handle_fork(int);
GC_API void GC_set_dont_precollect(int);
GC_API void GC_set_max_retries(GC_word);
GC_API void GC_set_finalize_on_demand(int);
GC_API void GC_set_java_finalization(int);
GC_API void GC_set_force_unmap_on_gcollect(int);
#define GC_REGISTER_DISPLACEMENT(n) GC_register_displacement(n)

/* ---- roots ---- */

/* [lo, hi) is scanned as a root (memory the program mapped itself, for
 * example); a full table is reported through the warn proc. */
GC_API void GC_add_roots(void *lo, void *hi);
GC_API void GC_remove_roots(void *lo, void *hi);

/* ---- finalization ---- */

typedef void (GC_CALLBACK *GC_finalization_proc)(void *obj, void *client_data);
/* fn(obj, cd) runs once after a cycle finds obj unreachable; fn NULL
 * removes the finalizer. *ofn and *ocd (if not NULL) are set to NULL. */
GC_API void GC_register_finalizer(void *obj, GC_finalization_proc fn, void *cd,
                                  GC_finalization_proc *ofn, void **ocd) GC_ATTR_NONNULL(1);
GC_API void GC_register_finalizer_ignore_self(void *obj, GC_finalization_proc fn, void *cd,
                                              GC_finalization_proc *ofn, void **ocd)
    GC_ATTR_NONNULL(1);
GC_API void GC_register_finalizer_no_order(void *obj, GC_finalization_proc fn, void *cd,
                                           GC_finalization_proc *ofn, void **ocd)
    GC_ATTR_NONNULL(1);
GC_API void GC_register_finalizer_unreachable(void *obj, GC_finalization_proc fn, void *cd,
                                              GC_finalization_proc *ofn, void **ocd)
    GC_ATTR_NONNULL(1);
/* Finalizers run by themselves: these always answer 0. */
GC_API int GC_should_invoke_finalizers(void);
GC_API int GC_invoke_finalizers(void);
#define GC_REGISTER_FINALIZER(p, f, d, of, od) GC_register_finalizer(p, f, d, of, od)
#define GC_REGISTER_FINALIZER_IGNORE_SELF(p, f, d, of, od) \
  GC_register_finalizer_ignore_self(p, f, d, of, od)
#define GC_REGISTER_FINALIZER_NO_ORDER(p, f, d, of, od) \
  GC_register_finalizer_no_order(p, f, d, of, od)
#define GC_REGISTER_FINALIZER_UNREACHABLE(p, f, d, of, od) \
  GC_register_finalizer_unreachable(p, f, d, of, od)

/* Keeps ptr in a register or on the stack up to this point, so that an
 * object whose finalizer matters is not found unreachable too early. */
GC_API void GC_noop1(GC_word);
#define GC_reachable_here(ptr) __asm__ __volatile__("" : : "X"(ptr) : "memory")

/* ---- warnings ---- */

/* msg is a printf format taking the one argument arg. */
typedef void (GC_CALLBACK *GC_warn_proc)(char *msg, GC_word arg);
GC_API void GC_set_warn_proc(GC_warn_proc) GC_ATTR_NONNULL(1);
GC_API GC_warn_proc GC_get_warn_proc(void);
GC_API void GC_CALLBACK GC_ignore_warn_proc(char *, GC_word);

/* ---- threads ----
 *
 * Threads created with pthread_create while libgoalloc is loaded are
 * registered by libgoalloc itself, with or without GC_THREADS; the calls
 * below are for threads created otherwise. */

struct GC_stack_base {
  void *mem_base; /* the cold end (highest address) of the stack */
};
typedef void *(GC_CALLBACK *GC_stack_base_func)(struct GC_stack_base *sb, void *arg);
typedef void *(GC_CALLBACK *GC_fn_type)(void *client_data);

/* Nothing to allow: registration is always possible. */
GC_API void GC_allow_register_threads(void);
/* The stack base is found by goalloc itself (sb is not used). GC_SUCCESS
 * (also, today, for a thread libgoalloc registered already: see
 * gc_compat.c), GC_UNIMPLEMENTED if the thread cannot be registered. */
GC_API int GC_register_my_thread(const struct GC_stack_base *sb) GC_ATTR_NONNULL(1);
GC_API int GC_unregister_my_thread(void);
GC_API int GC_get_stack_base(struct GC_stack_base *sb) GC_ATTR_NONNULL(1);
GC_API void *GC_call_with_stack_base(GC_stack_base_func fn, void *arg) GC_ATTR_NONNULL(1);
/* goalloc scans a stopped thread's whole stack, so a blocking section needs
 * no bookkeeping: both call fn(client_data). */
GC_API void *GC_do_blocking(GC_fn_type fn, void *client_data) GC_ATTR_NONNULL(1);
GC_API void *GC_call_with_gc_active(GC_fn_type fn, void *client_data) GC_ATTR_NONNULL(1);

#ifdef __cplusplus
}
#endif

#ifdef GC_PTHREADS
/* libgc's header redirects the thread calls to its wrappers; the same
 * redirection here keeps programs that name GC_pthread_* (or rely on the
 * macros being there) building. The wrappers call the real functions:
 * libgoalloc registers threads in its own pthread_create. */
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>

#ifdef __cplusplus
extern "C" {
#endif
GC_API int GC_pthread_create(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
GC_API int GC_pthread_join(pthread_t, void **);
GC_API int GC_pthread_detach(pthread_t);
GC_API int GC_pthread_cancel(pthread_t);
GC_API void GC_pthread_exit(void *) __attribute__((__noreturn__));
GC_API int GC_pthread_sigmask(int, const sigset_t *, sigset_t *);
GC_API void *GC_dlopen(const char *, int);
#ifdef __cplusplus
}
#endif

#ifndef GC_NO_THREAD_REDIRECTS
#undef pthread_create
#undef pthread_join
#undef pthread_detach
#undef pthread_exit
#define pthread_create GC_pthread_create
#define pthread_join GC_pthread_join
#define pthread_detach GC_pthread_detach
#define pthread_exit GC_pthread_exit
#ifndef GC_NO_PTHREAD_CANCEL
#undef pthread_cancel
#define pthread_cancel GC_pthread_cancel
#endif
#ifndef GC_NO_PTHREAD_SIGMASK
#undef pthread_sigmask
#define pthread_sigmask GC_pthread_sigmask
#endif
#ifndef GC_NO_DLOPEN
#undef dlopen
#define dlopen GC_dlopen
#endif
#endif /* !GC_NO_THREAD_REDIRECTS */
#endif /* GC_PTHREADS */

#endif /* GC_H */
