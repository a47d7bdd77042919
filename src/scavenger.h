/* scavenger.h: gives free pages back to the OS (Go's mgcscavenge.go).
 *
 * Pacing, as Go's: the heap may keep free-but-resident pages up to
 * GOALLOC_SCAVENGE_RETAIN percent (default 10, Go's 1.1x) of the pages in
 * use, plus 1 MiB; a background thread, woken by frees that push the heap
 * past that, returns the excess with madvise(MADV_DONTNEED) in 64 KiB steps
 * from the highest addresses down, taking the heap lock only to pick a run
 * and to mark it scavenged (never across the system call). When there is no
 * excess it sleeps until the next kick, so an idle program does not wake up.
 * malloc_trim(0) returns every free page at once, on the calling thread.
 *
 * With the collector on, the allowance follows the heap goal instead (Go's
 * gcPaceScavenger): after each cycle the collector sets the retained heap
 * it may keep, the heap in use at the last mark's end scaled by how the
 * goal moved, plus 10%, so the pages a sweep frees stay resident for the
 * allocation that will refill them before the next cycle, but never more
 * free pages than the in-use heap grows by before a cycle (GOGC% + 10%);
 * and with a memory limit, 95% of it as a cap on the retained heap.
 *
 * The thread is started lazily on the first kick after the library
 * constructor ran (a malloc library must not start threads inside ld.so's
 * first allocations), and again in a fork child when needed. */
#ifndef GA_SCAVENGER_H
#define GA_SCAVENGER_H

#include <stddef.h>
#include <stdint.h>

void ga_scavenger_enable(void);
/* After pages were freed; cheap when there is nothing to do. */
void ga_scavenger_kick(void);
/* Starts the thread if a kick asked for it: called only where the
 * allocator's state is whole (the end of free's slow paths), since starting a
 * thread allocates. */
void ga_scavenger_start_pending(void);
/* The collector's goals: the retained heap (in use + free resident) to
 * keep at least, in bytes, with at most growth percent of the in-use heap
 * free; and at most limit_bytes retained (0 for retain or limit: none). */
void ga_scavenger_set_goals(uint64_t retain_bytes, uint64_t growth, uint64_t limit_bytes);
/* Returns all free pages to the OS; the number of bytes released. */
size_t ga_scavenge_all(void);
extern uint64_t ga_scavenged_total;

void ga_scavenger_lock(void);
void ga_scavenger_unlock(void);
void ga_scavenger_fork_child(void);

#endif
