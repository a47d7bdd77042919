#!/bin/bash
# Leak reports on a signal (GOALLOC_LEAK_SIGNAL): leak_prog signal sends
# itself SIGUSR2, waits for the report, forks a child that does the same,
# leaks 3 more objects and exits. The file must hold the report on the
# signal, the child's (same leaks), then the one at exit, which finds
# exactly 3 unreachable objects more.
#   leak_signal.sh LIBGOALLOC_SO LEAK_PROG
set -u
SO=$1 PROG=$2
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
fail() { echo "FAIL: $*" >&2; cat "$W/report" "$W/err" >&2 2>/dev/null; exit 1; }
env GOALLOC_GC=leak GOALLOC_LEAK_SIGNAL=12 GOALLOC_LEAK_FILE="$W/report" LD_PRELOAD="$SO" \
  "$PROG" signal >"$W/out" 2>"$W/err" || fail "leak_prog signal failed"
cat "$W/report"
grep -q leaky "$W/out" || fail "program output missing"
grep -q '^goalloc: leak report on signal 12 (pid [0-9]*)$' "$W/report" || fail "no report header for the signal"
mapfile -t counts < <(sed -n 's/^goalloc: leak summary: [0-9]* bytes in \([0-9]*\) objects$/\1/p' "$W/report")
[ "${#counts[@]}" = 3 ] || fail "expected 3 reports (signal, child's signal, exit), found ${#counts[@]}"
[ "$(grep -c '^goalloc: leak report on signal 12' "$W/report")" = 2 ] || fail "expected 2 signal report headers"
[ "${counts[0]}" -gt 0 ] || fail "the report on the signal found no leak"
[ "${counts[1]}" = "${counts[0]}" ] || fail "the fork child's report: ${counts[1]} objects, the parent's ${counts[0]}"
[ $(( counts[2] - counts[0] )) = 3 ] || fail "exit report: ${counts[2]} objects, signal report ${counts[0]}: expected 3 more"
grep -q "in make_list+" "$W/report" || fail "allocation site make_list not in the report"
# A bad value: a warning and no handler (the default action of SIGUSR2 is not needed here).
env GOALLOC_GC=leak GOALLOC_LEAK_SIGNAL=99 LD_PRELOAD="$SO" "$PROG" clean >"$W/out" 2>"$W/err" \
  || fail "bad GOALLOC_LEAK_SIGNAL made the program fail"
grep -q "GOALLOC_LEAK_SIGNAL" "$W/err" || fail "no warning for GOALLOC_LEAK_SIGNAL=99"
echo PASS
