/* pagealloc.h: the page allocator under the heap (Go's pageAlloc).
 *
 * It hands out runs of 8 KiB pages, address-ordered first fit, as Go's does.
 * Go keeps a bitmap per 4 MiB chunk and a 5-level radix tree of summaries
 * (free run at the start, longest, at the end) over the whole address space.
 * Our heap is a sorted list of 64 MiB arenas, so two summary levels match it:
 * per 512-page chunk (start/max/end, Go's pallocSum) and per arena (longest
 * run); first fit walks arenas in address order, skips those whose longest
 * run is too short, joins runs across chunk boundaries from the summaries
 * and only reads the bitmap inside the one chunk that holds the answer.
 * Freeing clears bits, so neighbouring free runs coalesce by construction.
 * Runs do not cross arenas: a request over 64 MiB gets a huge group of its
 * own (arena.c).
 *
 * A second bitmap marks free pages that were given back to the OS
 * (scavenged): they read as zero, so a run made only of them needs no
 * clearing for calloc, and the scavenger looks for free pages without it.
 *
 * Everything here runs under the heap lock (heap.c). */
#ifndef GA_PAGEALLOC_H
#define GA_PAGEALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"

/* First fit of npages pages at a multiple of align_pages; grows the heap by
 * one arena when nothing fits. 0 when the OS refuses. *needzero is set when
 * some page of the run may hold old data. When no whole arena can be had,
 * only small-object spans (small) may grow the heap by a partial arena: the
 * last of the address space is kept for small allocations, which must keep
 * working when a large one has failed. */
/* avoid: the run should hold no page of the collector's blacklist
 * (gc/blacklist.h): when the first fit does, the first run of the heap
 * that does not is taken, and the first fit only if none fits anywhere
 * (the blacklist never grows the heap). */
uintptr_t ga_pages_alloc(size_t npages, size_t align_pages, bool small, bool avoid,
                         bool *needzero);
/* Large objects: the shortest free run that fits (lowest address among
 * equals), searched in the first BEST_FIT_ARENAS (4) arenas that have one;
 * grows the heap like ga_pages_alloc. With sizes that vary widely, first
 * fit splits the big holes that later big requests need, and the heap
 * grows: bench/ large touched 131 MiB with first fit, 92 MiB with best fit
 * (69 MiB live at peak). */
/* avoid: as for ga_pages_alloc; in an arena whose best fit holds a
 * blacklisted page, its shortest clean run competes instead. */
uintptr_t ga_pages_alloc_best(size_t npages, bool avoid, bool *needzero);
void ga_pages_free(uintptr_t base, size_t npages);
/* Takes the more pages right after [base, base+npages) if they are free and
 * in the same arena (realloc growing a large block in place). */
bool ga_pages_extend(uintptr_t base, size_t npages, size_t more);
/* Heap lock held: the end of the free pages of arena a from addr on (addr
 * itself if it is allocated or at a's end), looking at most max_pages
 * ahead and not past a's usable pages. */
uintptr_t ga_pages_free_run_end(ga_arena_t *a, uintptr_t addr, size_t max_pages);

/* Scavenger support: takes the highest run of free, not yet scavenged pages
 * (at most maxpages), marking it allocated so nobody else uses it while the
 * caller returns it to the OS without the heap lock. false if none. Unless
 * recent, chunks (512 pages) where pages were freed during the current or
 * the previous scavenger period (ga_pages_gen) are passed over: their pages
 * are the likeliest to be allocated again at once. */
bool ga_pages_take_unscavenged(uintptr_t *base, size_t *npages, size_t maxpages, bool recent);
/* Bumped by the background scavenger once per period. */
extern uint32_t ga_pages_gen;
/* Gives back a run taken above, now scavenged. */
void ga_pages_put_scavenged(uintptr_t base, size_t npages);

typedef struct {
  uint64_t inuse_pages;    /* pages in spans */
  uint64_t free_pages;     /* free, still resident (or never released) */
  uint64_t scav_pages;     /* free, released to the OS (or never touched) */
  uint64_t total_pages;    /* pages in page-allocator arenas */
} ga_pages_stats_t;
extern ga_pages_stats_t ga_pages_stats;

/* For tests: the arenas in address order. */
size_t ga_pages_arena_count(void);
ga_arena_t *ga_pages_arena(size_t i);

#endif
