#!/bin/sh
# Runs gc_big_data with GOALLOC_GCTRACE=1 and requires every concurrent
# cycle to have needed at most 2 pre-cleaning rounds (see gc_big_data.c).
# Skipped (77) where the concurrent mark is unavailable.
# usage: big_data_check.sh GC_BIG_DATA
set -u
err=$(mktemp)
trap 'rm -f "$err"' EXIT
GOALLOC_GCTRACE=1 "$1" 2>"$err"
rc=$?
if [ $rc -ne 0 ]; then
  cat "$err"
  echo "FAIL: gc_big_data exited $rc"
  exit 1
fi
if ! grep -q 'concurrent mark' "$err"; then
  echo "SKIP: no concurrent cycle"
  exit 77
fi
grep -o '[0-9]* rounds' "$err"
if grep -o '[0-9]* rounds' "$err" | awk '$1 > 2 { bad = 1 } END { exit !bad }'; then
  echo "FAIL: a cycle with nothing written ran more than 2 pre-cleaning rounds"
  exit 1
fi
echo "OK"
