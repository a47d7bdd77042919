/* gc/maps.c: see maps.h. The parser reads the file in 4 KiB pieces and
 * keeps a partial line between reads; a line longer than the buffer (a path
 * near PATH_MAX) is cut, which only matters for find_named, whose names are
 * short. */
#include "gc/maps.h"

#include "os.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

typedef bool (*line_fn)(uintptr_t lo, uintptr_t hi, const char *perms, const char *path, void *arg);

static uintptr_t parse_hex(const char **s) {
  uintptr_t v = 0;
  for (;; (*s)++) {
    char c = **s;
    unsigned d;
    if (c >= '0' && c <= '9') d = (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f') d = (unsigned)(c - 'a' + 10);
    else break;
    v = v << 4 | d;
  }
  return v;
}

/* One line "lo-hi perms offset dev inode   path" (NUL-terminated). */
static bool parse_line(const char *s, line_fn fn, void *arg) {
  uintptr_t lo = parse_hex(&s);
  if (*s != '-') return false;
  s++;
  uintptr_t hi = parse_hex(&s);
  while (*s == ' ') s++;
  const char *perms = s;
  /* Skip perms, offset, dev, inode: four space-separated fields. */
  for (int f = 0; f < 4; f++) {
    while (*s == ' ') s++;
    while (*s && *s != ' ') s++;
  }
  while (*s == ' ') s++;
  return fn(lo, hi, perms, s, arg);
}

/* Calls fn for each line until it returns true; true if one did. */
static bool maps_scan(line_fn fn, void *arg) {
  int fd = ga_os_open_proc("maps");
  if (fd < 0) return false;
  char buf[4096 + 1];
  size_t have = 0;
  bool found = false, skipping = false;
  for (;;) {
    ssize_t n = read(fd, buf + have, sizeof buf - 1 - have);
    if (n < 0) break;
    have += (size_t)n;
    size_t start = 0;
    for (size_t i = 0; i < have; i++) {
      if (buf[i] != '\n') continue;
      buf[i] = 0;
      if (!skipping && parse_line(buf + start, fn, arg)) {
        found = true;
        goto out;
      }
      skipping = false;
      start = i + 1;
    }
    if (n == 0) {
      if (start < have && !skipping) {
        buf[have] = 0;
        found = parse_line(buf + start, fn, arg);
      }
      break;
    }
    if (start == 0 && have == sizeof buf - 1) {
      /* A line longer than the buffer: parse its head, drop the rest. */
      buf[have] = 0;
      if (!skipping && parse_line(buf, fn, arg)) {
        found = true;
        break;
      }
      skipping = true;
      have = 0;
      continue;
    }
    memmove(buf, buf + start, have - start);
    have -= start;
  }
out:
  close(fd);
  return found;
}

struct find_ctx {
  uintptr_t addr, lo, hi;
  const char *name;
};

static bool find_addr(uintptr_t lo, uintptr_t hi, const char *perms, const char *path, void *arg) {
  struct find_ctx *c = arg;
  if (c->addr < lo || c->addr >= hi) return false;
  c->lo = lo;
  c->hi = hi;
  return true;
}

static bool find_name(uintptr_t lo, uintptr_t hi, const char *perms, const char *path, void *arg) {
  struct find_ctx *c = arg;
  if (strcmp(path, c->name) != 0) return false;
  c->lo = lo;
  c->hi = hi;
  return true;
}

bool ga_gc_maps_find(uintptr_t addr, uintptr_t *lo, uintptr_t *hi) {
  struct find_ctx c = {.addr = addr};
  if (!maps_scan(find_addr, &c)) return false;
  *lo = c.lo;
  *hi = c.hi;
  return true;
}

bool ga_gc_maps_find_named(const char *name, uintptr_t *lo, uintptr_t *hi) {
  struct find_ctx c = {.name = name};
  if (!maps_scan(find_name, &c)) return false;
  *lo = c.lo;
  *hi = c.hi;
  return true;
}

struct anon_ctx {
  void (*fn)(uintptr_t lo, uintptr_t hi, void *arg);
  void *arg;
};

static bool anon_line(uintptr_t lo, uintptr_t hi, const char *perms, const char *path, void *arg) {
  struct anon_ctx *c = arg;
  /* Private, readable and writable, and not a file: anonymous memory, the
   * brk heap, or a named anonymous region. */
  if (perms[0] != 'r' || perms[1] != 'w' || perms[3] != 'p') return false;
  if (path[0] && strncmp(path, "[heap]", 6) && strncmp(path, "[anon", 5)) return false;
  c->fn(lo, hi, c->arg);
  return false;
}

bool ga_gc_maps_for_each_anon(void (*fn)(uintptr_t lo, uintptr_t hi, void *arg), void *arg) {
  struct anon_ctx c = {fn, arg};
  maps_scan(anon_line, &c);
  return true;
}
