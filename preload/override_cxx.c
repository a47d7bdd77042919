/* override_cxx.c: C++'s operator new and delete, written in C under their
 * Itanium-ABI mangled names, so that C++ programs get goalloc (including
 * sized and aligned delete) whether or not they link libstdc++ statically.
 *
 * operator new must call the new-handler and throw std::bad_alloc on
 * failure. Both live in libstdc++, which a C program does not load: we
 * reference them weakly and, without them, print a message and abort (the
 * only thing a throwing new may do with no C++ runtime present). */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

#include "malloc_int.h"
#include "os.h"

#define EXPORT __attribute__((visibility("default")))

typedef void (*new_handler_t)(void);
extern new_handler_t _ZSt15get_new_handlerv(void) __attribute__((weak));
extern void _ZSt17__throw_bad_allocv(void) __attribute__((weak, noreturn));

/* The new-handler loop; returns NULL when there is no handler. */
static void *retry_with_handler(size_t size, size_t align) {
  for (;;) {
    new_handler_t h = _ZSt15get_new_handlerv ? _ZSt15get_new_handlerv() : NULL;
    if (!h) return NULL;
    h();
    void *p = align ? ga_aligned(align, size, "operator new") : ga_malloc(size);
    if (p) return p;
  }
}

static void *new_impl(size_t size, size_t align) {
  void *p = align ? ga_aligned(align, size, "operator new") : ga_malloc(size);
  if (GA_LIKELY(p)) return p;
  p = retry_with_handler(size, align);
  if (p) return p;
  if (_ZSt17__throw_bad_allocv) _ZSt17__throw_bad_allocv();
  ga_fatal("goalloc: operator new(%zu): out of memory\n", size);
}

static void *new_nothrow(size_t size, size_t align) {
  void *p = align ? ga_aligned(align, size, "operator new") : ga_malloc(size);
  if (GA_LIKELY(p)) return p;
  return retry_with_handler(size, align);
}

/* new */
EXPORT void *_Znwm(size_t n) { return new_impl(n, 0); }
EXPORT void *_Znam(size_t n) { return new_impl(n, 0); }
EXPORT void *_ZnwmRKSt9nothrow_t(size_t n, const void *t) { return new_nothrow(n, 0); }
EXPORT void *_ZnamRKSt9nothrow_t(size_t n, const void *t) { return new_nothrow(n, 0); }
EXPORT void *_ZnwmSt11align_val_t(size_t n, size_t al) { return new_impl(n, al); }
EXPORT void *_ZnamSt11align_val_t(size_t n, size_t al) { return new_impl(n, al); }
EXPORT void *_ZnwmSt11align_val_tRKSt9nothrow_t(size_t n, size_t al, const void *t) {
  return new_nothrow(n, al);
}
EXPORT void *_ZnamSt11align_val_tRKSt9nothrow_t(size_t n, size_t al, const void *t) {
  return new_nothrow(n, al);
}

/* delete: all forms free; the size and alignment are not needed to find the
 * block (the arena index gives its span). */
EXPORT void _ZdlPv(void *p) { ga_free_named(p, "operator delete"); }
EXPORT void _ZdaPv(void *p) { ga_free_named(p, "operator delete[]"); }
EXPORT void _ZdlPvm(void *p, size_t n) { ga_free_named(p, "operator delete"); }
EXPORT void _ZdaPvm(void *p, size_t n) { ga_free_named(p, "operator delete[]"); }
EXPORT void _ZdlPvRKSt9nothrow_t(void *p, const void *t) { ga_free_named(p, "operator delete"); }
EXPORT void _ZdaPvRKSt9nothrow_t(void *p, const void *t) { ga_free_named(p, "operator delete[]"); }
EXPORT void _ZdlPvSt11align_val_t(void *p, size_t al) { ga_free_named(p, "operator delete"); }
EXPORT void _ZdaPvSt11align_val_t(void *p, size_t al) { ga_free_named(p, "operator delete[]"); }
EXPORT void _ZdlPvmSt11align_val_t(void *p, size_t n, size_t al) {
  ga_free_named(p, "operator delete");
}
EXPORT void _ZdaPvmSt11align_val_t(void *p, size_t n, size_t al) {
  ga_free_named(p, "operator delete[]");
}
EXPORT void _ZdlPvSt11align_val_tRKSt9nothrow_t(void *p, size_t al, const void *t) {
  ga_free_named(p, "operator delete");
}
EXPORT void _ZdaPvSt11align_val_tRKSt9nothrow_t(void *p, size_t al, const void *t) {
  ga_free_named(p, "operator delete[]");
}
