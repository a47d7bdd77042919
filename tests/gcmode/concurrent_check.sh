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
GOALLOC_GC=collect GOALLOC_GCTRACE=1 GOALLOC_ON_ERROR=abort "$stress" 2 4 2>"$err" &
pid=$!
# A watchdog (it runs in 3 s normally; CI once saw it hang until meson's
# timeout, with nothing to show for it): on a hang, print what every
# thread is doing before failing.
waited=0
while kill -0 "$pid" 2>/dev/null && [ $waited -lt 900 ]; do
  sleep 0.1
  waited=$((waited + 1))
done
if kill -0 "$pid" 2>/dev/null; then
  echo "FAIL: gc_stress still running after 90 s; its last trace lines and threads:"
  tail -n 5 "$err"
  for t in /proc/"$pid"/task/*; do
    echo "thread ${t##*/} $(cat "$t"/comm 2>/dev/null) wchan=$(cat "$t"/wchan 2>/dev/null) syscall=$(cut -d' ' -f1 "$t"/syscall 2>/dev/null)"
  done
  if command -v gdb >/dev/null; then
    gdb -q -batch -p "$pid" -ex "thread apply all bt 25" 2>&1 | grep -E '^(Thread|#)'
  fi
  kill -9 "$pid"
  exit 1
fi
wait "$pid"
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
