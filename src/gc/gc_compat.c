/* gc_compat.c: the Boehm collector's (libgc's) entry points, declared in
 * include/gc.h, over goalloc's public collector API (goalloc.h) and nothing
 * else: this file sees no allocator internals, so it stays correct whatever
 * the collector does inside, and it is the place to read for what a libgc
 * name means here. include/gc.h says what is compatible and what is not.
 *
 * State kept here (all atomics, any thread may call any of these): the
 * out-of-memory and warning callbacks, and the values of the tuning setters
 * that the getters must give back. Nothing here is on an allocation fast
 * path beyond one call and a NULL check. */
/* GC_THREADS declares the GC_pthread_* wrappers defined below; the
 * redirection itself must stay off here, where the real functions are
 * called. */
#define GC_THREADS 1
#define GC_NO_THREAD_REDIRECTS 1
#include "../../include/gc.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "goalloc.h"

/* The functions are declared GC_API (default visibility) in gc.h; the
 * attribute is repeated on each definition so that the export is visible
 * where it is defined, as the rest of libgoalloc is built hidden. */
#define EXPORT __attribute__((visibility("default")))

/* ---- callbacks and recorded settings ---- */

static GC_oom_func oom_fn;          /* atomic; NULL: return NULL */
static GC_warn_proc warn_proc;      /* atomic; NULL: print to stderr */
static int disabled;                /* atomic; GC_disable nesting, for GC_is_disabled */
static int incremental;             /* atomic; GC_enable_incremental was called */
static GC_word free_space_divisor = 3; /* atomic; libgc's default */
static GC_word max_heap_size;       /* atomic; recorded, no effect */

static void *oom(size_t size) {
  GC_oom_func fn = __atomic_load_n(&oom_fn, __ATOMIC_ACQUIRE);
  return fn ? fn(size) : NULL;
}

static void warn(char *msg, GC_word arg) {
  GC_warn_proc fn = __atomic_load_n(&warn_proc, __ATOMIC_ACQUIRE);
  if (fn)
    fn(msg, arg);
  else
    fprintf(stderr, msg, arg);
}

EXPORT void GC_set_oom_fn(GC_oom_func fn) { __atomic_store_n(&oom_fn, fn, __ATOMIC_RELEASE); }
EXPORT GC_oom_func GC_get_oom_fn(void) { return __atomic_load_n(&oom_fn, __ATOMIC_ACQUIRE); }
EXPORT void GC_set_warn_proc(GC_warn_proc fn) {
  __atomic_store_n(&warn_proc, fn, __ATOMIC_RELEASE);
}
EXPORT GC_warn_proc GC_get_warn_proc(void) {
  return __atomic_load_n(&warn_proc, __ATOMIC_ACQUIRE);
}
EXPORT void GC_ignore_warn_proc(char *msg, GC_word arg) {}

/* ---- initialisation ---- */

EXPORT void GC_init(void) { goalloc_gc_init(); }
EXPORT int GC_is_init_called(void) { return goalloc_gc_mode() != GOALLOC_GC_OFF; }
EXPORT unsigned GC_get_version(void) {
  return GC_VERSION_MAJOR << 16 | GC_VERSION_MINOR << 8 | GC_VERSION_MICRO;
}

/* ---- allocation ---- */

EXPORT void *GC_malloc(size_t size) {
  void *p = goalloc_gc_malloc(size);
  return p ? p : oom(size);
}

EXPORT void *GC_malloc_atomic(size_t size) {
  void *p = goalloc_gc_malloc_noscan(size);
  return p ? p : oom(size);
}

EXPORT void *GC_malloc_uncollectable(size_t size) {
  void *p = goalloc_gc_malloc_uncollectable(size);
  return p ? p : oom(size);
}

/* goalloc_malloc_noscan would be uncollectable only in api mode: under
 * GOALLOC_GC=collect plain malloc memory is collectable, and an
 * uncollectable object must survive unreferenced until GC_free. */
EXPORT void *GC_malloc_atomic_uncollectable(size_t size) {
  return GC_malloc_uncollectable(size);
}

EXPORT void *GC_malloc_ignore_off_page(size_t size) { return GC_malloc(size); }
EXPORT void *GC_malloc_atomic_ignore_off_page(size_t size) { return GC_malloc_atomic(size); }

/* Strings hold no pointers: noscan, as libgc does. */
EXPORT char *GC_strndup(const char *s, size_t n) {
  size_t len = strnlen(s, n);
  char *d = GC_malloc_atomic(len + 1);
  if (!d) {
    errno = ENOMEM;
    return NULL;
  }
  memcpy(d, s, len);
  d[len] = 0;
  return d;
}

EXPORT char *GC_strdup(const char *s) { return s ? GC_strndup(s, SIZE_MAX) : NULL; }

EXPORT void *GC_realloc(void *old, size_t size) {
  if (old && size == 0) {
    goalloc_free(old);
    return NULL;
  }
  void *p = goalloc_gc_realloc(old, size);
  return p ? p : oom(size);
}

EXPORT void GC_free(void *p) {
  if (p) goalloc_free(p);
}

EXPORT void GC_end_stubborn_change(const void *p) {}

/* ---- what the heap holds ---- */

/* goalloc_usable_size(q) is non-zero exactly when q is the start of a slot
 * of a small-object span, or any address inside a large object (it is then
 * the size from q to the object's end), and 0 outside the heap. So the
 * start of the object holding p is found by probing back: first within 32
 * KiB (the largest small size class) in 8-byte steps, the granule of every
 * size class; for a large object (whose every address answers), by whole
 * 8 KiB pages, where its span begins, while the end stays the same. */

EXPORT void *GC_base(void *ptr) { return goalloc_gc_base(ptr); }

EXPORT int GC_is_heap_ptr(const void *p) { return GC_base((void *)p) != NULL; }
EXPORT size_t GC_size(const void *p) { return goalloc_usable_size(p); }

static void heap_stats(goalloc_stats_t *st) {
  memset(st, 0, sizeof *st);
  st->struct_size = sizeof *st;
  goalloc_get_stats(st);
}

static void gc_stats(goalloc_gc_stats_t *st) {
  memset(st, 0, sizeof *st);
  st->struct_size = sizeof *st;
  goalloc_gc_get_stats(st);
}

EXPORT void GC_get_heap_usage_safe(GC_word *pheap_size, GC_word *pfree_bytes,
                                   GC_word *punmapped_bytes, GC_word *pbytes_since_gc,
                                   GC_word *ptotal_bytes) {
  goalloc_stats_t st;
  goalloc_gc_stats_t gs;
  heap_stats(&st);
  gc_stats(&gs);
  uint64_t heap = st.heap_inuse + st.heap_free;
  if (pheap_size) *pheap_size = heap;
  if (pfree_bytes) *pfree_bytes = heap > st.alloc_bytes ? heap - st.alloc_bytes : 0;
  if (punmapped_bytes) *punmapped_bytes = st.heap_released;
  if (pbytes_since_gc)
    *pbytes_since_gc = gs.heap_live > gs.last_marked ? gs.heap_live - gs.last_marked : 0;
  if (ptotal_bytes) *ptotal_bytes = st.alloc_bytes + gs.freed_bytes;
}

EXPORT size_t GC_get_heap_size(void) {
  GC_word v;
  GC_get_heap_usage_safe(&v, NULL, NULL, NULL, NULL);
  return v;
}
EXPORT size_t GC_get_free_bytes(void) {
  GC_word v;
  GC_get_heap_usage_safe(NULL, &v, NULL, NULL, NULL);
  return v;
}
EXPORT size_t GC_get_unmapped_bytes(void) {
  GC_word v;
  GC_get_heap_usage_safe(NULL, NULL, &v, NULL, NULL);
  return v;
}
EXPORT size_t GC_get_bytes_since_gc(void) {
  GC_word v;
  GC_get_heap_usage_safe(NULL, NULL, NULL, &v, NULL);
  return v;
}
EXPORT size_t GC_get_total_bytes(void) {
  GC_word v;
  GC_get_heap_usage_safe(NULL, NULL, NULL, NULL, &v);
  return v;
}
EXPORT size_t GC_get_memory_use(void) {
  goalloc_stats_t st;
  heap_stats(&st);
  return st.alloc_bytes;
}

EXPORT GC_word GC_get_gc_no(void) {
  goalloc_gc_stats_t gs;
  gc_stats(&gs);
  return gs.cycles;
}

EXPORT void GC_dump(void) {
  goalloc_gc_stats_t gs;
  gc_stats(&gs);
  goalloc_print_stats(2);
  fprintf(stderr,
          "collector: mode %d, %llu cycles, heap live %llu, goal %llu, last marked %llu, "
          "freed %llu objects (%llu bytes), pauses: total %llu ns, max %llu ns, p99 %llu ns\n",
          gs.mode, (unsigned long long)gs.cycles, (unsigned long long)gs.heap_live,
          (unsigned long long)gs.heap_goal, (unsigned long long)gs.last_marked,
          (unsigned long long)gs.freed_objects, (unsigned long long)gs.freed_bytes,
          (unsigned long long)gs.pause_total_ns, (unsigned long long)gs.pause_max_ns,
          (unsigned long long)gs.pause_p99_ns);
}

/* ---- collection ---- */

EXPORT void GC_gcollect(void) { goalloc_gc_collect(); }
EXPORT void GC_gcollect_and_unmap(void) {
  goalloc_gc_collect();
  goalloc_trim(0);
}

EXPORT void GC_disable(void) {
  __atomic_add_fetch(&disabled, 1, __ATOMIC_RELAXED);
  goalloc_gc_disable();
}
EXPORT void GC_enable(void) {
  __atomic_sub_fetch(&disabled, 1, __ATOMIC_RELAXED);
  goalloc_gc_enable();
}
EXPORT int GC_is_disabled(void) { return __atomic_load_n(&disabled, __ATOMIC_RELAXED) > 0; }

EXPORT void GC_enable_incremental(void) {
  goalloc_gc_init();
  __atomic_store_n(&incremental, 1, __ATOMIC_RELAXED);
}
EXPORT int GC_is_incremental_mode(void) { return __atomic_load_n(&incremental, __ATOMIC_RELAXED); }
EXPORT int GC_collect_a_little(void) { return 0; }

/* libgc starts a cycle after about heap/d bytes of allocation; GOGC after
 * the live heap grew by GOGC percent: d = 3 is roughly GOGC = 33. */
EXPORT void GC_set_free_space_divisor(GC_word d) {
  if (d == 0) return;
  __atomic_store_n(&free_space_divisor, d, __ATOMIC_RELAXED);
  goalloc_gc_set_percent(d >= 100 ? 1 : (int)(100 / d));
}
EXPORT GC_word GC_get_free_space_divisor(void) {
  return __atomic_load_n(&free_space_divisor, __ATOMIC_RELAXED);
}

EXPORT void GC_set_max_heap_size(GC_word n) { __atomic_store_n(&max_heap_size, n, __ATOMIC_RELAXED); }
/* The heap grows as needed; nothing to reserve ahead. 1 = success. */
EXPORT int GC_expand_hp(size_t n) { return 1; }
EXPORT void GC_set_all_interior_pointers(int on) {}
EXPORT int GC_get_all_interior_pointers(void) { return 1; }
EXPORT void GC_register_displacement(size_t n) {}
EXPORT void GC_set_dont_expand(int v) {}
EXPORT void GC_set_full_freq(int v) {}
EXPORT void GC_set_time_limit(unsigned long v) {}
EXPORT void GC_set_markers_count(unsigned v) {}
EXPORT void GC_set_handle_fork(int v) {}
EXPORT void GC_set_dont_precollect(int v) {}
EXPORT void GC_set_max_retries(GC_word v) {}
EXPORT void GC_set_finalize_on_demand(int v) {}
EXPORT void GC_set_java_finalization(int v) {}
EXPORT void GC_set_force_unmap_on_gcollect(int v) {}

/* ---- roots ---- */

EXPORT void GC_add_roots(void *lo, void *hi) {
  if (goalloc_gc_add_roots(lo, hi) != 0)
    warn("GC_add_roots: root table full, range at %p not added\n", (GC_word)lo);
}
EXPORT void GC_remove_roots(void *lo, void *hi) { goalloc_gc_remove_roots(lo, hi); }

/* ---- finalization ---- */

EXPORT void GC_register_finalizer(void *obj, GC_finalization_proc fn, void *cd,
                                  GC_finalization_proc *ofn, void **ocd) {
  if (ofn) *ofn = NULL;
  if (ocd) *ocd = NULL;
  if (goalloc_gc_register_finalizer(obj, fn, cd) != 0)
    warn("GC_register_finalizer: cannot register a finalizer for %p\n", (GC_word)obj);
}
EXPORT void GC_register_finalizer_ignore_self(void *obj, GC_finalization_proc fn, void *cd,
                                              GC_finalization_proc *ofn, void **ocd) {
  GC_register_finalizer(obj, fn, cd, ofn, ocd);
}
EXPORT void GC_register_finalizer_no_order(void *obj, GC_finalization_proc fn, void *cd,
                                           GC_finalization_proc *ofn, void **ocd) {
  GC_register_finalizer(obj, fn, cd, ofn, ocd);
}
EXPORT void GC_register_finalizer_unreachable(void *obj, GC_finalization_proc fn, void *cd,
                                              GC_finalization_proc *ofn, void **ocd) {
  GC_register_finalizer(obj, fn, cd, ofn, ocd);
}
EXPORT int GC_should_invoke_finalizers(void) { return 0; }
EXPORT int GC_invoke_finalizers(void) { return 0; }

/* The asm makes the compiler keep the value until here. */
EXPORT void GC_noop1(GC_word x) { __asm__ __volatile__("" : : "r"(x) : "memory"); }

/* ---- threads ---- */

EXPORT void GC_allow_register_threads(void) { goalloc_gc_init(); }

/* goalloc_gc_register_thread answers 0 both for a new registration and
 * for a thread registered already (by libgoalloc's pthread_create), so
 * GC_DUPLICATE is returned only if it ever answers > 0 for the latter.
 * A program following libgc's rule (unregister what it registered) then
 * unregisters such a thread early, which is harmless: its stack is no
 * longer scanned, exactly what libgc's rule promises. */
EXPORT int GC_register_my_thread(const struct GC_stack_base *sb) {
  int r = goalloc_gc_register_thread();
  return r == 0 ? GC_SUCCESS : r > 0 ? GC_DUPLICATE : GC_UNIMPLEMENTED;
}

EXPORT int GC_unregister_my_thread(void) {
  goalloc_gc_unregister_thread();
  return GC_SUCCESS;
}

/* The cold end of the calling thread's stack (glibc reads the main
 * thread's from /proc/self/maps and RLIMIT_STACK). */
EXPORT int GC_get_stack_base(struct GC_stack_base *sb) {
  pthread_attr_t attr;
  void *addr;
  size_t size;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) return GC_UNIMPLEMENTED;
  int rc = pthread_attr_getstack(&attr, &addr, &size);
  pthread_attr_destroy(&attr);
  if (rc != 0) return GC_UNIMPLEMENTED;
  sb->mem_base = (char *)addr + size;
  return GC_SUCCESS;
}

/* As libgc: a base just above fn's frame, good enough for a thread that
 * registers with it and keeps everything it cares about below. */
EXPORT void *GC_call_with_stack_base(GC_stack_base_func fn, void *arg) {
  struct GC_stack_base sb;
  sb.mem_base = __builtin_frame_address(0);
  void *r = fn(&sb, arg);
  __asm__ __volatile__("" : : "r"(&sb) : "memory"); /* not a tail call: sb stays valid */
  return r;
}

EXPORT void *GC_do_blocking(GC_fn_type fn, void *client_data) { return fn(client_data); }
EXPORT void *GC_call_with_gc_active(GC_fn_type fn, void *client_data) {
  return fn(client_data);
}

/* The wrappers of the GC_THREADS redirection. They call the real functions
 * by name; when libgoalloc interposes one of them (pthread_create, to
 * register the child before it runs user code; pthread_sigmask, to keep the
 * suspend signal open), the call lands in the interposer. */
EXPORT int GC_pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *),
                             void *arg) {
  goalloc_gc_init();
  return pthread_create(t, attr, fn, arg);
}
EXPORT int GC_pthread_join(pthread_t t, void **ret) { return pthread_join(t, ret); }
EXPORT int GC_pthread_detach(pthread_t t) { return pthread_detach(t); }
EXPORT int GC_pthread_cancel(pthread_t t) { return pthread_cancel(t); }
EXPORT void GC_pthread_exit(void *ret) { pthread_exit(ret); }
EXPORT int GC_pthread_sigmask(int how, const sigset_t *set, sigset_t *old) {
  return pthread_sigmask(how, set, old);
}
/* Loading a library adds its data segments to the roots at the next cycle
 * (the roots are enumerated anew each cycle): nothing to do beyond it. */
EXPORT void *GC_dlopen(const char *path, int mode) { return dlopen(path, mode); }
