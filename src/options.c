/* options.c: the option table (mimalloc and Go keep theirs the same way:
 * one row per option, the parser and the documentation come from it). */
#include "options.h"

#include <string.h>

#include "os.h"

typedef enum { KIND_BOOL, KIND_INT, KIND_ENUM, KIND_PERCENT, KIND_SIZE } kind_t;

typedef struct {
  const char *name;  /* environment variable */
  kind_t kind;
  long def, min, max;
  const char *values; /* KIND_ENUM: '|'-separated names, index = value */
  const char *doc;
} option_desc_t;

static const option_desc_t table[GA_OPT_COUNT] = {
    [GA_OPT_STATS] = {"GOALLOC_STATS", KIND_BOOL, 0, 0, 1, NULL,
                      "print allocator statistics to stderr at exit"},
    [GA_OPT_ON_ERROR] = {"GOALLOC_ON_ERROR", KIND_ENUM, 0, 0, 1, "abort|warn",
                         "invalid or double free: print one line and abort, or print and go on"},
    [GA_OPT_SCAVENGE] = {"GOALLOC_SCAVENGE", KIND_BOOL, 1, 0, 1, NULL,
                         "background scavenger returning free pages to the OS"},
    [GA_OPT_SCAVENGE_RETAIN] = {"GOALLOC_SCAVENGE_RETAIN", KIND_INT, 10, 0, 1000, NULL,
                                "free pages kept, in percent of the in-use heap (Go: 10)"},
    [GA_OPT_SCAVENGE_PERIOD] = {"GOALLOC_SCAVENGE_PERIOD_MS", KIND_INT, 10, 1, 60000, NULL,
                                "scavenger wake-up period in milliseconds"},
    [GA_OPT_TINY] = {"GOALLOC_TINY", KIND_ENUM, 0, 0, 2, "noscan|all|off",
                     "Go's tiny allocator (requests under 16 B packed into 16-byte blocks): "
                     "for goalloc_malloc_noscan only, for every malloc, or never"},
    [GA_OPT_MIN_ALIGN] = {"GOALLOC_MIN_ALIGN", KIND_ENUM, 0, 0, 1, "16|8",
                          "alignment of blocks of 16 B and more: 16 as glibc, or 8 to use Go's 24 B class"},
    [GA_OPT_GC] = {"GOALLOC_GC", KIND_ENUM, 0, 0, 2, "off|collect|leak",
                   "the collector: off, reclaim unreachable objects (free() still works), "
                   "or report them at exit (docs/GC.md)"},
    [GA_OPT_GOGC] = {"GOALLOC_GOGC", KIND_PERCENT, 100, -1, 100000, NULL,
                     "heap growth over the live heap before a collection, percent, or off (Go's GOGC)"},
    [GA_OPT_MEMLIMIT] = {"GOALLOC_MEMLIMIT", KIND_SIZE, 0, 0, 0, NULL,
                         "soft heap limit for the collector's pacing (bytes, KiB/MiB/GiB suffixes; "
                         "0 = none; Go's GOMEMLIMIT)"},
    [GA_OPT_GCTRACE] = {"GOALLOC_GCTRACE", KIND_BOOL, 0, 0, 1, NULL,
                        "print one line per collection to stderr (Go's GODEBUG=gctrace=1)"},
    [GA_OPT_GC_SIGNAL] = {"GOALLOC_GC_SIGNAL", KIND_INT, 30, 1, 64, NULL,
                          "signal the collector stops threads with (30 = SIGPWR, as bdwgc)"},
    [GA_OPT_LARGE_CACHE] = {"GOALLOC_LARGE_CACHE", KIND_BOOL, 1, 0, 1, NULL,
                            "per-thread cache of freed large blocks' pages (up to 8 spans, 32 MiB)"},
    [GA_OPT_GC_CONCURRENT] = {"GOALLOC_GC_CONCURRENT", KIND_BOOL, 1, 0, 1, NULL,
                              "collector: mark concurrently with the program (one short pause) "
                              "where the kernel tracks written pages, or in one pause"},
    [GA_OPT_GC_PERIOD] = {"GOALLOC_GC_PERIOD_MS", KIND_INT, 0, 0, 86400000, NULL,
                          "collector: also collect when no cycle ran for this many milliseconds, "
                          "allocating or not (Go forces one every 2 minutes: 120000); 0 = off"},
    [GA_OPT_GC_BLACKLIST] = {"GOALLOC_GC_BLACKLIST", KIND_BOOL, 1, 0, 1, NULL,
                             "collector: keep large and scanned objects off free pages that "
                             "scanned words pointed at in the last two cycles (Boehm's blacklisting)"},
    [GA_OPT_GC_CREDIT] = {"GOALLOC_GC_CREDIT", KIND_BOOL, 0, 0, 1, NULL,
                          "collector: Go's pacing in full: assists first steal the work the "
                          "background banked, and allocating threads mark in slices while "
                          "background marking is below 25% of the CPUs (lower peak heap, longer "
                          "pauses: docs/GC.md); 0 = assists scan at least a byte per byte allocated"},
    [GA_OPT_LEAK_SIGNAL] = {"GOALLOC_LEAK_SIGNAL", KIND_INT, 0, 0, 64, NULL,
                            "leak mode: a signal number that prints a leak report while the "
                            "program runs (e.g. 12 = SIGUSR2; replaces the program's handler); 0 = none"},
};

long ga_options[GA_OPT_COUNT];

static bool parse_long(const char *s, long *out) {
  long v = 0;
  if (!*s) return false;
  for (; *s; s++) {
    if (*s < '0' || *s > '9' || v > 1000000000L) return false;
    v = v * 10 + (*s - '0');
  }
  *out = v;
  return true;
}

/* GOMEMLIMIT's syntax: a number with an optional B, KiB, MiB, GiB or TiB. */
static bool parse_size(const char *s, long *out) {
  long v = 0;
  if (*s < '0' || *s > '9') return false;
  for (; *s >= '0' && *s <= '9'; s++) {
    if (v > (1L << 50)) return false;
    v = v * 10 + (*s - '0');
  }
  static const char *const suffix[] = {"", "B", "KiB", "MiB", "GiB", "TiB"};
  static const int shift[] = {0, 0, 10, 20, 30, 40};
  for (int i = 0; i < 6; i++)
    if (!strcmp(s, suffix[i])) {
      if (v > (1L << (62 - shift[i]))) return false;
      *out = v << shift[i];
      return true;
    }
  return false;
}

static bool parse_enum(const char *values, const char *s, long *out) {
  size_t n = strlen(s);
  long i = 0;
  for (const char *v = values; *v; i++) {
    const char *bar = strchr(v, '|');
    size_t len = bar ? (size_t)(bar - v) : strlen(v);
    if (len == n && strncmp(v, s, n) == 0) {
      *out = i;
      return true;
    }
    if (!bar) break;
    v = bar + 1;
  }
  return false;
}

void ga_options_init(void) {
  static bool warned[GA_OPT_COUNT];
  for (int i = 0; i < GA_OPT_COUNT; i++) {
    const option_desc_t *d = &table[i];
    long v = d->def;
    const char *s = ga_os_getenv(d->name);
    if (s) {
      bool ok;
      if (d->kind == KIND_BOOL) {
        ok = true;
        if (!strcmp(s, "1") || !strcmp(s, "on") || !strcmp(s, "true") || !strcmp(s, "yes"))
          v = 1;
        else if (!strcmp(s, "0") || !strcmp(s, "off") || !strcmp(s, "false") || !strcmp(s, "no"))
          v = 0;
        else
          ok = false;
      } else if (d->kind == KIND_INT) {
        ok = parse_long(s, &v) && v >= d->min && v <= d->max;
      } else if (d->kind == KIND_PERCENT) {
        ok = !strcmp(s, "off") ? (v = -1, true) : parse_long(s, &v) && v <= d->max;
      } else if (d->kind == KIND_SIZE) {
        ok = parse_size(s, &v);
      } else {
        ok = parse_enum(d->values, s, &v);
      }
      if (!ok) {
        v = d->def;
        if (!warned[i]) {
          warned[i] = true;
          if (d->kind == KIND_ENUM)
            ga_printf(2, "goalloc: warning: %s=%s is not one of %s; using the default\n", d->name,
                      s, d->values);
          else if (d->kind == KIND_PERCENT)
            ga_printf(2, "goalloc: warning: %s=%s is not a percentage or off; using the default %ld\n",
                      d->name, s, d->def);
          else if (d->kind == KIND_SIZE)
            ga_printf(2, "goalloc: warning: %s=%s is not a size (like 512MiB); using no limit\n",
                      d->name, s);
          else if (d->kind == KIND_BOOL)
            ga_printf(2, "goalloc: warning: %s=%s is not 0 or 1; using the default %ld\n",
                      d->name, s, d->def);
          else
            ga_printf(2, "goalloc: warning: %s=%s is not a number in %ld..%ld; using the default %ld\n",
                      d->name, s, d->min, d->max, d->def);
        }
      }
    }
    ga_options[i] = v;
  }
}

void ga_options_print(int fd) {
  for (int i = 0; i < GA_OPT_COUNT; i++) {
    const option_desc_t *d = &table[i];
    if (d->kind == KIND_ENUM)
    {
      /* The default's name: the def-th of the '|'-separated values. */
      const char *v = d->values;
      for (long k = 0; k < d->def && strchr(v, '|'); k++) v = strchr(v, '|') + 1;
      size_t len = strchr(v, '|') ? (size_t)(strchr(v, '|') - v) : strlen(v);
      char name[32];
      ga_snprintf(name, len + 1 < sizeof name ? len + 1 : sizeof name, "%s", v);
      ga_printf(fd, "%s=%s (default %s): %s\n", d->name, d->values, name, d->doc);
    }
    else
      ga_printf(fd, "%s (default %ld): %s\n", d->name, d->def, d->doc);
  }
}
