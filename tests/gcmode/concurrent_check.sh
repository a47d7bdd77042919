#!/bin/sh
# The concurrent mark is really used where the kernel supports it: runs
# gc_stress (which checks that nothing reachable is lost and garbage is
# reclaimed) with GOALLOC_GCTRACE=1 and requires cycles with a concurrent
# mark whose pause found and freed garbage. Skipped (77) where the collector
# says dirty-page tracking is unavailable (every cycle is then one pause,
# which the gc_stress_stw test covers).
# usage: concurrent_check.sh GC_STRESS
set -u
stress=$1
err=$(mktemp)
trap 'rm -f "$err"' EXIT
GOALLOC_GC=collect GOALLOC_GCTRACE=1 GOALLOC_ON_ERROR=abort "$stress" 2 4 2>"$err"
rc=$?
grep -v '^gc ' "$err" >&2
if [ $rc -ne 0 ]; then
  echo "FAIL: gc_stress exited $rc"
  exit 1
fi
if grep -q '^gc: concurrent mark off' "$err"; then
  echo "SKIP: $(grep '^gc: concurrent mark off' "$err")"
  exit 77
fi
conc=$(grep -c '^gc [0-9]*.*concurrent mark' "$err")
total=$(grep -c '^gc [0-9]' "$err")
freeing=$(grep '^gc [0-9]*.*concurrent mark' "$err" | grep -vc 'freed 0 objects')
echo "$total cycles, $conc with a concurrent mark, $freeing of them freed garbage"
grep '^gc [0-9]*.*concurrent mark' "$err" | tail -1
if [ "$conc" -lt 1 ] || [ "$conc" -ne "$total" ]; then
  echo "FAIL: expected every cycle to mark concurrently"
  exit 1
fi
if [ "$freeing" -lt 1 ]; then
  echo "FAIL: no concurrent cycle freed anything"
  exit 1
fi
echo "OK"
