/* options.h: goalloc's run-time options, one table (options.c) read from
 * GOALLOC_* environment variables. Options are read once at start-up and
 * again from the library constructor (environ may not be set when ld.so
 * makes its first allocation); afterwards they are read-only. */
#ifndef GA_OPTIONS_H
#define GA_OPTIONS_H

#include <stdbool.h>

typedef enum {
  GA_OPT_STATS,            /* print statistics at exit */
  GA_OPT_ON_ERROR,         /* 0 abort, 1 warn */
  GA_OPT_SCAVENGE,         /* background scavenger on/off */
  GA_OPT_SCAVENGE_RETAIN,  /* percent of the in-use heap kept as free pages */
  GA_OPT_SCAVENGE_PERIOD,  /* scavenger wake-up period, ms */
  GA_OPT_TINY,             /* tiny allocator: 0 noscan requests only, 1 all, 2 off */
  GA_OPT_MIN_ALIGN,        /* 0: 16-byte alignment from 16 B up; 1: Go's 8-byte 24 B class */
  GA_OPT_GC,               /* collector: 0 off, 1 collect, 2 leak */
  GA_OPT_GOGC,             /* percent; -1 off */
  GA_OPT_MEMLIMIT,         /* soft limit in bytes; 0 none */
  GA_OPT_GCTRACE,          /* one line per collection on stderr */
  GA_OPT_GC_SIGNAL,        /* the stop-the-world signal */
  GA_OPT_LARGE_CACHE,      /* per-thread cache of freed large spans (pagecache.c) */
  GA_OPT_GC_CONCURRENT,    /* concurrent mark where dirty tracking works */
  GA_OPT_LEAK_SIGNAL,      /* leak mode: a signal that prints a report */
  GA_OPT_GC_PERIOD,        /* collect when no cycle ran for this long (ms) */
  GA_OPT_GC_BLACKLIST,     /* keep objects off pages false pointers hit */
  GA_OPT_GC_CREDIT,        /* Go's assist credit and fractional marking */
  GA_OPT_COUNT
} ga_option_t;

extern long ga_options[GA_OPT_COUNT];
#define ga_option(o) (ga_options[(o)])

void ga_options_init(void);
/* Prints the option table (name, default, doc): the README's list. */
void ga_options_print(int fd);

#endif
