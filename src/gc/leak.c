/* gc/leak.c: leak mode's allocation sites and report.
 *
 * With GOALLOC_GC=leak every allocation records where it came from: a
 * backtrace taken with libunwind's unw_backtrace (loaded with dlopen once
 * libc is up, so programs that do not ask for leak mode never load it),
 * hashed and interned in a table of sites; the object keeps the site's
 * index (a span's per-slot `sites` array, or the large span's `site`).
 * A leak collection (collector.c) marks as usual and, instead of freeing,
 * hands every unreachable object to ga_gc_leak_note, which adds it to its
 * site's count. The report lists sites by bytes, each with its frames
 * symbolized through dladdr (no allocation, so it works at exit).
 *
 * Memory: the site table and the per-span site arrays live in address
 * space reserved from the OS, never in the heap (they must not be scanned,
 * and must not allocate inside malloc). Site arrays are kept with their
 * span descriptor when the span is freed and reused by the next span that
 * gets the descriptor (4 KiB covers the largest nelems, 1024 slots).
 *
 * Locks: interning takes site_lock (a spin lock) only to insert; lookups
 * read published entries (hash stored last, release/acquire). Counting and
 * printing happen under the collector's gc_lock. */
#include "gc/leak.h"

#include <dlfcn.h>
#include <link.h>
#include <string.h>

#include "arena.h"
#include "os.h"
#include "span.h"

#define MAX_FRAMES 16
#define NSITES (1u << 16)
#define SKIP_MAX 8

typedef struct {
  uint64_t hash; /* 0: empty; written last */
  uint32_t nframes;
  void *frames[MAX_FRAMES];
  uint64_t bytes, objects; /* this report's counts */
} site_t;

static site_t *sites;
static ga_spinlock_t site_lock;
static uint32_t nsites;
static int (*unw_backtrace_fn)(void **, int);
static uintptr_t self_lo, self_hi; /* our own code, skipped in backtraces */
static __thread int in_site;

static char *chunks; /* per-span site arrays */
static size_t chunk_next;
#define CHUNK_RESERVE ((size_t)1 << 32)
#define CHUNK_SIZE 4096

static int find_self(struct dl_phdr_info *info, size_t size, void *arg) {
  uintptr_t me = (uintptr_t)arg;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X)) continue;
    uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
    if (me >= lo && me < hi) {
      /* Linked into the program itself: its code is the program's too, so
       * only a fixed number of frames is skipped (see ga_gc_leak_site). */
      if (info->dlpi_name && info->dlpi_name[0]) {
        self_lo = lo;
        self_hi = hi;
      }
      return 1;
    }
  }
  return 0;
}

void ga_gc_leak_init(void) {
  if (!sites) sites = ga_os_reserve(NSITES * sizeof(site_t), 4096);
  if (!chunks) chunks = ga_os_reserve(CHUNK_RESERVE, 4096);
  dl_iterate_phdr(find_self, (void *)(uintptr_t)&ga_gc_leak_init);
  void *h = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
  if (h) unw_backtrace_fn = (int (*)(void **, int))dlsym(h, "unw_backtrace");
  if (!unw_backtrace_fn)
    ga_printf(2, "goalloc: leak mode: libunwind.so.8 not found (apt-get install libunwind8); "
                 "sites are the immediate caller only\n");
}

static uint64_t hash_frames(void *const *f, uint32_t n) {
  uint64_t h = 1469598103934665603ull;
  for (uint32_t i = 0; i < n; i++) {
    h ^= (uint64_t)(uintptr_t)f[i];
    h *= 1099511628211ull;
  }
  return h | 1;
}

static uint32_t intern(void *const *f, uint32_t n) {
  uint64_t h = hash_frames(f, n);
  uint32_t i = (uint32_t)(h >> 20) & (NSITES - 1);
  for (uint32_t probe = 0; probe < NSITES; probe++, i = (i + 1) & (NSITES - 1)) {
    if (i == 0) continue; /* 0 means unknown */
    uint64_t eh = __atomic_load_n(&sites[i].hash, __ATOMIC_ACQUIRE);
    if (eh == h && sites[i].nframes == n && !memcmp(sites[i].frames, f, n * sizeof *f)) return i;
    if (eh) continue;
    ga_spin_lock(&site_lock);
    if (!sites[i].hash && nsites < NSITES * 3 / 4) {
      sites[i].nframes = n;
      memcpy(sites[i].frames, f, n * sizeof *f);
      __atomic_store_n(&sites[i].hash, h, __ATOMIC_RELEASE);
      nsites++;
      ga_spin_unlock(&site_lock);
      return i;
    }
    bool full = nsites >= NSITES * 3 / 4;
    ga_spin_unlock(&site_lock);
    if (full) return 0;
    i = (i - 1) & (NSITES - 1); /* someone filled it: look at it again */
    probe--;
  }
  return 0;
}

uint32_t ga_gc_leak_site(void) {
  if (!sites || in_site) return 0;
  in_site = 1;
  void *raw[MAX_FRAMES + SKIP_MAX];
  int n;
  if (unw_backtrace_fn) {
    n = unw_backtrace_fn(raw, MAX_FRAMES + SKIP_MAX);
  } else {
    raw[0] = __builtin_return_address(0);
    n = 1;
  }
  int skip = 0;
  if (self_hi) {
    while (skip < n && (uintptr_t)raw[skip] >= self_lo && (uintptr_t)raw[skip] < self_hi) skip++;
  } else if (unw_backtrace_fn) {
    skip = 3; /* ga_gc_leak_site, ga_gc_alloc, the malloc entry point */
  }
  if (skip >= n) skip = n ? n - 1 : 0;
  int m = n - skip;
  if (m > MAX_FRAMES) m = MAX_FRAMES;
  uint32_t id = m > 0 ? intern(raw + skip, (uint32_t)m) : 0;
  in_site = 0;
  return id;
}

void ga_gc_leak_record(void *p, uint32_t site) {
  ga_span_t *s = ga_span_of((uintptr_t)p);
  if (!s) return;
  if (s->spanclass == 0) {
    s->site = site;
    return;
  }
  if (!s->sites) {
    /* Only the owner allocates from s, so only it gets here for s. */
    size_t off = __atomic_fetch_add(&chunk_next, CHUNK_SIZE, __ATOMIC_RELAXED);
    if (!chunks || off + CHUNK_SIZE > CHUNK_RESERVE) return;
    s->sites = (uint32_t *)(chunks + off);
  }
  long idx = ga_span_object_index(s, (uintptr_t)p);
  if (idx >= 0) s->sites[idx] = site;
}

void ga_gc_leak_reset(void) {
  if (!sites) return;
  for (uint32_t i = 0; i < NSITES; i++) sites[i].bytes = sites[i].objects = 0;
}

static uint64_t unknown_bytes, unknown_objects;

void ga_gc_leak_note(uint32_t site, uint64_t bytes, uint64_t objects) {
  if (!sites || site == 0 || site >= NSITES) {
    unknown_bytes += bytes;
    unknown_objects += objects;
    return;
  }
  sites[site].bytes += bytes;
  sites[site].objects += objects;
}

static void print_frame(int fd, int i, void *ip) {
  Dl_info info;
  /* Return addresses point after the call: look up ip - 1. */
  if (dladdr((char *)ip - 1, &info) && info.dli_fname) {
    if (info.dli_sname)
      ga_printf(fd, "    #%d %p in %s+0x%lx (%s)\n", i, ip, info.dli_sname,
                (unsigned long)((uintptr_t)ip - (uintptr_t)info.dli_saddr), info.dli_fname);
    else
      ga_printf(fd, "    #%d %p in %s+0x%lx\n", i, ip, info.dli_fname,
                (unsigned long)((uintptr_t)ip - (uintptr_t)info.dli_fbase));
  } else {
    ga_printf(fd, "    #%d %p\n", i, ip);
  }
}

long ga_gc_leak_print(int fd) {
  uint64_t total_b = unknown_bytes, total_o = unknown_objects;
  uint32_t nused = 0;
  static uint32_t order[NSITES];
  if (sites)
    for (uint32_t i = 1; i < NSITES; i++)
      if (sites[i].objects) {
        order[nused++] = i;
        total_b += sites[i].bytes;
        total_o += sites[i].objects;
      }
  if (!total_o) {
    ga_printf(fd, "goalloc: leak check: no leaks\n");
    unknown_bytes = unknown_objects = 0;
    return 0;
  }
  /* Largest first (shell sort: no allocation at exit). */
  for (uint32_t gap = nused / 2; gap; gap /= 2)
    for (uint32_t i = gap; i < nused; i++)
      for (uint32_t j = i; j >= gap && sites[order[j - gap]].bytes < sites[order[j]].bytes; j -= gap) {
        uint32_t t = order[j];
        order[j] = order[j - gap];
        order[j - gap] = t;
      }
  ga_printf(fd, "goalloc: leak check: %lu bytes in %lu unreachable objects, from %u allocation sites\n",
            (unsigned long)total_b, (unsigned long)total_o, nused + (unknown_objects ? 1 : 0));
  for (uint32_t k = 0; k < nused; k++) {
    site_t *st = &sites[order[k]];
    ga_printf(fd, "goalloc: leak: %lu bytes in %lu objects allocated at:\n",
              (unsigned long)st->bytes, (unsigned long)st->objects);
    for (uint32_t i = 0; i < st->nframes; i++) print_frame(fd, (int)i, st->frames[i]);
  }
  if (unknown_objects)
    ga_printf(fd, "goalloc: leak: %lu bytes in %lu objects allocated at an unknown site\n",
              (unsigned long)unknown_bytes, (unsigned long)unknown_objects);
  ga_printf(fd, "goalloc: leak summary: %lu bytes in %lu objects\n", (unsigned long)total_b,
            (unsigned long)total_o);
  unknown_bytes = unknown_objects = 0;
  return (long)total_o;
}
