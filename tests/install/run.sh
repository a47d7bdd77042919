#!/usr/bin/env bash
# Packaging checks: the export list, `meson install`, and linking an
# application through pkg-config against the shared and the static library.
# Usage: run.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# 1. Exactly the libc names of the version script, the C++ operators and
#    goalloc_*: nothing internal leaks (ga_* would collide with programs),
#    and no GC_* name (those are libgoalloc-gc's: preloading libgoalloc into
#    a program built with the real libgc must not take over its GC_malloc).
so=$build/libgoalloc.so
nm -D --defined-only "$so" | awk '{print $3}' | sed 's/@.*//' | sort -u > "$work/exported"
grep -vE '^ *goalloc_\*' "$src/preload/goalloc.map" | tr ';' '\n' | sed 's/[[:space:]]//g' |
  grep -E '^[A-Za-z_][A-Za-z0-9_]*$' | grep -vE '^(global|local)$' | sort -u > "$work/listed"
bad=$(grep -vxFf "$work/listed" "$work/exported" | grep -vE '^goalloc_' || true)
[ -z "$bad" ] || fail "unexpected exported symbols: $bad"
missing=$(grep -vxFf "$work/exported" "$work/listed" || true)
[ -z "$missing" ] || fail "symbols listed in goalloc.map but not exported: $missing"
for s in malloc free calloc realloc posix_memalign aligned_alloc malloc_usable_size _Znwm _ZdlPvm goalloc_get_stats; do
  grep -qx "$s" "$work/exported" || fail "$s not exported"
done
echo "exports: $(wc -l < "$work/exported") symbols, all expected"
gcso=$build/libgoalloc-gc.so
nm -D --defined-only "$gcso" | awk '{print $3}' | sed 's/@.*//' | sort -u > "$work/gc_exported"
bad=$(grep -vE '^GC_' "$work/gc_exported" || true)
[ -z "$bad" ] || fail "libgoalloc-gc exports more than GC_*: $bad"
for s in GC_malloc GC_malloc_atomic GC_gcollect GC_register_finalizer GC_pthread_create; do
  grep -qx "$s" "$work/gc_exported" || fail "$s not exported by libgoalloc-gc"
done
echo "libgoalloc-gc exports: $(wc -l < "$work/gc_exported") GC_* symbols"

# 2. meson install into a staging root.
meson install -C "$build" --destdir "$work/root" --quiet >/dev/null
pc=$(find "$work/root" -name goalloc.pc | head -1)
[ -n "$pc" ] || fail "goalloc.pc not installed"
find "$work/root" -name goalloc.h | grep -q . || fail "goalloc.h not installed"
find "$work/root" -name 'libgoalloc.a' | grep -q . || fail "libgoalloc.a not installed"
find "$work/root" -name goalloc-gc.pc | grep -q . || fail "goalloc-gc.pc not installed"
find "$work/root" -path '*gc/gc.h' | grep -q . || fail "gc/gc.h not installed"

# 3. An application linked through pkg-config (shared), then statically.
cat > "$work/app.c" <<'C'
#include <goalloc.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void) {
  char *p = malloc(100);
  strcpy(p, "hello");
  goalloc_stats_t st;
  st.struct_size = sizeof st;
  if (goalloc_get_stats(&st) != 0 || st.alloc_objects < 1) return 2;
  /* malloc must be goalloc's: its usable size is the 112-byte class. */
  printf("%s %s %zu\n", goalloc_version(), p, malloc_usable_size(p));
  free(p);
  return 0;
}
C
export PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR=$work/root
libdir=$(dirname "$(find "$work/root" -name 'libgoalloc.so' | head -1)")
cc "$work/app.c" $(pkg-config --cflags --libs goalloc) -o "$work/app_shared"
out=$(LD_LIBRARY_PATH=$libdir "$work/app_shared")
[ "$out" = "0.1.0 hello 112" ] || fail "shared app printed '$out'"
cc -static "$work/app.c" $(pkg-config --cflags goalloc) "$libdir/libgoalloc.a" -pthread -o "$work/app_static"
out=$("$work/app_static")
[ "$out" = "0.1.0 hello 112" ] || fail "static app printed '$out'"
echo "install, pkg-config (shared) and static link: OK"

# 4. A program written for libgc, built through pkg-config goalloc-gc.
cat > "$work/gcapp.c" <<'C'
#include <gc.h>
#include <stdio.h>
int main(void) {
  GC_INIT();
  void **p = GC_MALLOC(64);
  for (int i = 0; i < 100000; i++) GC_MALLOC(64); /* garbage */
  GC_gcollect();
  printf("%s %d\n", p && GC_get_heap_size() > 0 ? "ok" : "bad", (int)GC_size(p) >= 64);
  return 0;
}
C
cc "$work/gcapp.c" $(pkg-config --cflags --libs goalloc-gc) -o "$work/gcapp"
out=$(LD_LIBRARY_PATH=$libdir "$work/gcapp")
[ "$out" = "ok 1" ] || fail "gc.h app printed '$out'"
echo "libgc-style app through pkg-config goalloc-gc: OK"

# 5. The same program built against Debian's real libgc, with libgoalloc
#    preloaded: GC_malloc must stay libgc's.
if [ -e /usr/include/gc.h ] && echo 'int main(void){return 0;}' | cc -x c - -lgc -o "$work/t" 2>/dev/null; then
  cat > "$work/realgc.c" <<'C'
#define _GNU_SOURCE
#include <gc.h>
#include <dlfcn.h>
#include <stdio.h>
int main(void) {
  GC_INIT();
  void *p = GC_MALLOC(64);
  Dl_info di;
  void *sym = dlsym(RTLD_DEFAULT, "GC_malloc");
  if (!p || !sym || !dladdr(sym, &di)) return 2;
  printf("%s\n", di.dli_fname);
  return 0;
}
C
  cc -I/usr/include "$work/realgc.c" -lgc -ldl -o "$work/realgc"
  out=$(LD_PRELOAD=$so "$work/realgc")
  case "$out" in
    *libgc.so*) echo "real libgc program with libgoalloc preloaded: GC_malloc from $out" ;;
    *) fail "GC_malloc resolved to '$out' with libgoalloc preloaded, not libgc" ;;
  esac
else
  echo "real libgc not installed (libgc-dev): check 5 skipped"
fi
