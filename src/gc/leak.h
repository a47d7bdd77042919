/* gc/leak.h: allocation sites and the leak report (leak.c). */
#ifndef GA_GC_LEAK_H
#define GA_GC_LEAK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Loads the unwinder (once libc is up). */
void ga_gc_leak_init(void);
/* The calling allocation's site id (0: unknown). */
uint32_t ga_gc_leak_site(void);
/* Records the site of the object at p (just allocated, leak mode). */
void ga_gc_leak_record(void *p, uint32_t site);
/* During a leak collection's pause: count an unreachable object. */
void ga_gc_leak_note(uint32_t site, uint64_t bytes, uint64_t objects);
void ga_gc_leak_reset(void);
/* Prints the report gathered by the last leak collection; returns the
 * number of leaked objects. */
long ga_gc_leak_print(int fd);

#endif
