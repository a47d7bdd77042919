/* override_pthread.c: pthread_create, so that threads are registered with
 * the collector before they run any of the program's code (bdwgc's
 * GC_pthread_create does the same for programs built with GC_THREADS; we
 * interpose the libc name, so unmodified programs get it too).
 *
 * With the collector off this is one predictable branch and a call to
 * libc's pthread_create. With it on, the start routine and its argument
 * travel in an uncollectable, scanned block (the argument may be the only
 * pointer to a collectable object while the thread starts); the new thread
 * registers, copies them to its stack, frees the block and runs. It
 * unregisters when its cache is released (cache.c's key destructor): a
 * thread that may still allocate must stay registered, or the pause would
 * judge its spans while it changes them. A thread without a cache
 * unregisters when its routine ends (finish).
 *
 * pthread_sigmask and sigprocmask are interposed too (as bdwgc does): with
 * the collector on, a thread that blocks every signal would never stop for
 * a collection, so the stop signal is left out of what they block. */
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <pthread.h>

#include "gc/collector.h"
#include "gc/stw.h"
#include "os.h"
#include "goalloc.h"
#include "malloc_int.h"
#include "cache.h"
#include "sizeclasses.h"

#define EXPORT __attribute__((visibility("default")))

typedef int (*create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
static create_fn real_create;

typedef struct {
  void *(*fn)(void *);
  void *arg;
} start_t;

/* A thread that never allocated has no cache, so no cache destructor will
 * unregister it: do it when it finishes (return or pthread_exit). Later
 * (destructors of other keys) it may allocate: that registers it again,
 * until its new cache is released. A registered thread must never reach
 * glibc's exit path, where every signal is blocked: the stop would wait. */
static void finish(void *unused) {
  if (ga_tls_cache == &ga_empty_cache) goalloc_gc_unregister_thread();
}

static void *start(void *p) {
  start_t st = *(start_t *)p;
  goalloc_gc_register_thread();
  ga_free(p);
  void *ret;
  pthread_cleanup_push(finish, NULL);
  ret = st.fn(st.arg);
  pthread_cleanup_pop(1);
  return ret;
}

EXPORT int pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg) {
  create_fn real = __atomic_load_n(&real_create, __ATOMIC_ACQUIRE);
  if (GA_UNLIKELY(!real)) {
    real = (create_fn)dlsym(RTLD_NEXT, "pthread_create");
    if (!real) return EAGAIN;
    __atomic_store_n(&real_create, real, __ATOMIC_RELEASE);
  }
  if (GA_LIKELY(!ga_gc_mode) || ga_os_creating_internal_thread) return real(t, attr, fn, arg);
  start_t *st = ga_alloc_kind(sizeof *st, GA_KIND_MANUAL_SCAN, false);
  if (!st) return EAGAIN;
  st->fn = fn;
  st->arg = arg;
  int rc = real(t, attr, start, st);
  if (rc) ga_free(st);
  return rc;
}

/* Drops sig from a set by its bit: glibc's sigdelset refuses its own
 * internal signals. */
static void drop(sigset_t *set, int sig) {
  set->__val[(sig - 1) / (8 * sizeof(unsigned long))] &=
      ~(1UL << ((sig - 1) % (8 * sizeof(unsigned long))));
}

static int mask(int how, const sigset_t *set, sigset_t *old) {
  if (!set || how == SIG_UNBLOCK) return ga_os_sigmask(how, set, old);
  sigset_t copy = *set;
  /* What glibc's own pthread_sigmask does: its cancellation and setxid
   * signals (32, 33) are never blocked. */
  drop(&copy, 32);
  drop(&copy, 33);
  if (GA_UNLIKELY(ga_gc_mode)) drop(&copy, ga_gc_stw_signal());
  return ga_os_sigmask(how, &copy, old);
}

EXPORT int pthread_sigmask(int how, const sigset_t *set, sigset_t *old) {
  return mask(how, set, old) ? errno : 0;
}

EXPORT int sigprocmask(int how, const sigset_t *set, sigset_t *old) { return mask(how, set, old); }
