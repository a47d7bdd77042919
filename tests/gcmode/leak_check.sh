#!/bin/bash
# Leak mode against valgrind: the same program (leak_prog) is run under
#   valgrind --leak-check=full   (definitely + indirectly lost blocks)
#   goalloc, GOALLOC_GC=leak      (unreachable objects in the report)
# and the counts must agree; the report must name the allocating functions,
# and a clean run must report no leaks under both.
#   leak_check.sh LIBGOALLOC_SO LEAK_PROG
set -u
SO=$1 PROG=$2
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v valgrind >/dev/null || fail "valgrind missing (apt-get install valgrind)"

vg_count() { # definitely + indirectly lost blocks
  valgrind --leak-check=full "$@" 2>"$W/vg" >/dev/null || fail "valgrind run failed"
  local d i
  d=$(sed -n 's/.*definitely lost: [0-9,]* bytes in \([0-9,]*\) blocks.*/\1/p' "$W/vg" | tr -d ,)
  i=$(sed -n 's/.*indirectly lost: [0-9,]* bytes in \([0-9,]*\) blocks.*/\1/p' "$W/vg" | tr -d ,)
  echo $(( ${d:-0} + ${i:-0} ))
}

ga_run() {
  env GOALLOC_GC=leak GOALLOC_LEAK_FILE="$W/report" LD_PRELOAD="$SO" "$@" >"$W/out" 2>"$W/err" \
    || fail "goalloc leak run failed: $(cat "$W/err")"
}

ga_count() {
  sed -n 's/^goalloc: leak summary: [0-9]* bytes in \([0-9]*\) objects$/\1/p' "$W/report"
}

vg=$(vg_count "$PROG")
ga_run "$PROG"
grep -q leaky "$W/out" || fail "program output missing"
ga=$(ga_count)
echo "leaky: valgrind $vg blocks lost, goalloc $ga objects unreachable"
cat "$W/report"
[ "$vg" -gt 0 ] || fail "valgrind found no leak in the leaky program"
[ "$ga" = "$vg" ] || fail "goalloc reports $ga leaked objects, valgrind $vg"
for f in make_list leak_strings leak_large thread_leak; do
  grep -q "in $f+" "$W/report" || fail "allocation site $f not in the report"
done

vg=$(vg_count "$PROG" clean)
ga_run "$PROG" clean
echo "clean: valgrind $vg blocks lost"
cat "$W/report"
[ "$vg" = 0 ] || fail "valgrind finds leaks in the clean run"
grep -q '^goalloc: leak check: no leaks$' "$W/report" || fail "goalloc reports leaks in the clean run"
echo PASS
