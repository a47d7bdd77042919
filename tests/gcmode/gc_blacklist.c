/* gc_blacklist: a word that points into free heap pages (here a global
 * holding a stale address) is noted by the marker, and the next large
 * object is placed off those pages, so it is reclaimed once dropped. With
 * GOALLOC_GC_BLACKLIST=0 (argument "off") the same object lands on the
 * pages the word points into and the word keeps it alive: the control run
 * shows that the placement is what the blacklist changes.
 *
 *   1. a 256 KiB object is made and dropped; collections reclaim it (a
 *      large object made since the last cycle is spared once: young);
 *   2. a global gets an address inside its old pages (a false pointer);
 *   3. a collection notes the page (goalloc_gc_get_stats);
 *   4. a new 256 KiB object: off the page (on), or over it (off);
 *   5. it is dropped: collections reclaim it (on) or not (off).
 * Built at -O0 with helpers that leave no copies in registers. */
#include <goalloc.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define SIZE (256 * 1024)
#define KEY ((uintptr_t)0x5a5a5a5a5a5a5a5aull)

static volatile uintptr_t false_word; /* a root: the program's .bss */
static uintptr_t hidden_old, hidden_new; /* XOR'd: not pointers */
static __attribute__((noinline)) void clear_stack(void) {
  volatile char buf[16384];
  memset((char *)buf, 0, sizeof buf);
}

static __attribute__((noinline)) void make(uintptr_t *hidden) {
  void *p = goalloc_gc_malloc(SIZE);
  memset(p, 0, SIZE);
  *hidden = (uintptr_t)p ^ KEY;
  p = 0;
}

/* Whether the new object covers the false pointer (no copy of its address
 * left in main's frame). */
static __attribute__((noinline)) int new_is_under(void) {
  return false_word - (hidden_new ^ KEY) < SIZE;
}

/* Collections enough to reclaim a dropped large object (young once);
 * returns the bytes they freed. */
static uint64_t collect(void) {
  goalloc_gc_stats_t st = {.struct_size = sizeof st};
  goalloc_gc_get_stats(&st);
  uint64_t before = st.freed_bytes;
  for (int i = 0; i < 3; i++) {
    clear_stack();
    goalloc_gc_collect();
  }
  goalloc_gc_get_stats(&st);
  return st.freed_bytes - before;
}

int main(int argc, char **argv) {
  int on = !(argc > 1 && strcmp(argv[1], "off") == 0);
  goalloc_gc_init();
  make(&hidden_old);
  uint64_t freed = collect();
  if (freed < SIZE) {
    fprintf(stderr, "FAIL: setup: the first object was not reclaimed (%lu bytes freed)\n",
            (unsigned long)freed);
    return 1;
  }
  false_word = (hidden_old ^ KEY) + 5 * 8192 + 40; /* inside its sixth page */
  collect();
  goalloc_gc_stats_t st = {.struct_size = sizeof st};
  goalloc_gc_get_stats(&st);
  make(&hidden_new);
  int over = new_is_under();
  int reclaimed = collect() >= SIZE;
  printf("blacklist %s: %lu pages noted; old object %#lx, new %#lx, %s the false pointer; "
         "new object %s\n",
         on ? "on" : "off", (unsigned long)st.blacklisted_pages, (unsigned long)(hidden_old ^ KEY),
         (unsigned long)(hidden_new ^ KEY), over ? "under" : "clear of",
         reclaimed ? "reclaimed" : "retained");
  if (on) {
    if (st.blacklisted_pages < 1) {
      fprintf(stderr, "FAIL: the collection noted no page\n");
      return 1;
    }
    if (over || !reclaimed) {
      fprintf(stderr, "FAIL: the new object was placed under the false pointer or kept\n");
      return 1;
    }
  } else {
    if (st.blacklisted_pages != 0) {
      fprintf(stderr, "FAIL: pages noted with GOALLOC_GC_BLACKLIST=0\n");
      return 1;
    }
    /* The control: without the blacklist the heap reuses the pages. */
    if (!over || reclaimed) {
      fprintf(stderr, "FAIL: control: the new object did not land under the false pointer, "
                      "so the test shows nothing\n");
      return 1;
    }
  }
  return 0;
}
