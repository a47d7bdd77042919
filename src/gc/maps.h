/* gc/maps.h: lookups in /proc/thread-self/maps without malloc or stdio.
 *
 * Why it exists: the collector needs the bounds of a few mappings (the main
 * thread's [stack], the block that holds a thread's TCB and static TLS)
 * before libc's malloc may be called (glibc's pthread_getattr_np reads this
 * file through fopen, which mallocs, and goalloc may be that malloc). This
 * module reads the file with open/read into a stack buffer and parses it by
 * hand.
 *
 * Who may call it: any thread, at any time except inside a signal handler
 * (open/read are async-signal-safe, but the answer may be stale while
 * another thread maps or unmaps; callers use it at registration, not during
 * a stop). No state, no lock. */
#ifndef GA_GC_MAPS_H
#define GA_GC_MAPS_H

#include <stdbool.h>
#include <stdint.h>

/* The mapping [*lo, *hi) that contains addr; false if none does. */
bool ga_gc_maps_find(uintptr_t addr, uintptr_t *lo, uintptr_t *hi);
/* The first mapping whose path field is exactly name ("[stack]"). */
bool ga_gc_maps_find_named(const char *name, uintptr_t *lo, uintptr_t *hi);
/* Every private read-write mapping that is not a file (anonymous memory,
 * [heap], [anon:...]), in address order. Used by the collector in a pause. */
bool ga_gc_maps_for_each_anon(void (*fn)(uintptr_t lo, uintptr_t hi, void *arg), void *arg);

#endif
