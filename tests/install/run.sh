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
#    goalloc_* and GC_* (the libgc-compatible API): nothing internal leaks
#    (ga_* would collide with programs).
so=$build/libgoalloc.so
nm -D --defined-only "$so" | awk '{print $3}' | sed 's/@.*//' | sort -u > "$work/exported"
grep -vE '^ *(goalloc_|GC_)\*' "$src/preload/goalloc.map" | tr ';' '\n' | sed 's/[[:space:]]//g' |
  grep -E '^[A-Za-z_][A-Za-z0-9_]*$' | grep -vE '^(global|local)$' | sort -u > "$work/listed"
bad=$(grep -vxFf "$work/listed" "$work/exported" | grep -vE '^(goalloc_|GC_)' || true)
[ -z "$bad" ] || fail "unexpected exported symbols: $bad"
missing=$(grep -vxFf "$work/exported" "$work/listed" || true)
[ -z "$missing" ] || fail "symbols listed in goalloc.map but not exported: $missing"
for s in malloc free calloc realloc posix_memalign aligned_alloc malloc_usable_size _Znwm _ZdlPvm goalloc_get_stats; do
  grep -qx "$s" "$work/exported" || fail "$s not exported"
done
echo "exports: $(wc -l < "$work/exported") symbols, all expected"

# 2. meson install into a staging root.
meson install -C "$build" --destdir "$work/root" --quiet >/dev/null
pc=$(find "$work/root" -name goalloc.pc | head -1)
[ -n "$pc" ] || fail "goalloc.pc not installed"
find "$work/root" -name goalloc.h | grep -q . || fail "goalloc.h not installed"
find "$work/root" -name 'libgoalloc.a' | grep -q . || fail "libgoalloc.a not installed"

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
