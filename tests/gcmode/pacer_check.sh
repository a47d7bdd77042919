#!/bin/sh
# The concurrent cycle's trigger is chosen from measured rates: runs
# gc_pacer (which checks the final statistics itself) with
# GOALLOC_GCTRACE=1 and reads every cycle's "pacer:" section:
#   - each next trigger lies strictly between the marked heap and the goal,
#     between 45/64 and 61/64 of the way (or goal - 4 MiB for large goals);
#   - no cycle but the first starts before 40/64 of the way to its goal;
#   - the fast phase (much allocated per mark) moves the trigger earlier
#     than the slow phase (nothing allocated per mark) keeps it: the fast
#     phase's earliest next trigger at least 4/64 before the slow phase's
#     median. Only the direction is asserted, and only once: under a loaded
#     machine the one mutator may get little CPU during some marks (a mark
#     that sees nothing allocated measures nothing), but the estimate is
#     the maximum of the last five measurements.
# Skipped (77) where the concurrent mark is unavailable.
# usage: pacer_check.sh GC_PACER
set -u
prog=$1
err=$(mktemp)
trap 'rm -f "$err"' EXIT
GOALLOC_GCTRACE=1 GOALLOC_ON_ERROR=abort "$prog" 2>"$err"
rc=$?
grep -v '^gc ' "$err" >&2
if grep -q '^gc: concurrent mark off' "$err"; then
  echo "SKIP: $(grep '^gc: concurrent mark off' "$err")"
  exit 77
fi
if [ $rc -ne 0 ]; then
  echo "FAIL: gc_pacer exited $rc"
  exit 1
fi
awk '
function median(a, n,   i, j, t) {
  for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
  return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
/^gc_pacer: phase slow/ { phase = 1; next }
/^gc_pacer: phase fast/ { phase = 2; skip = 1; next }
/^gc_pacer: end/ { phase = 3; next }
/^gc [0-9]+ .*pacer:/ {
  s = $0; sub(/.*next: marked /, "", s)
  split(s, f, " ")
  m = f[1] + 0; t = f[4] + 0; g = f[8] + 0
  frac = f[6]; gsub(/[(]|\/64[)],?/, "", frac); frac += 0
  n++
  if (!(m < t && t < g)) { printf "FAIL: cycle %d: marked %d KB, trigger %d KB, goal %d KB\n", n, m, t, g; bad = 1 }
  lo = m + (g - m) * 45 / 64 - 2; hi = m + (g - m) * 61 / 64 + 2
  if (g - 4096 > hi) hi = g - 4096 + 2
  if (t < lo || t > hi) { printf "FAIL: cycle %d: trigger %d KB outside [%d, %d]\n", n, t, lo, hi; bad = 1 }
  # Where this cycle started: none but the first (its trigger predates
  # any measurement) starts well short of its trigger. Before the pages
  # the last sweep freed in spans a thread owns counted as free (sweep.c,
  # ga_gc_sweep_owed_bytes), a cycle often began at once after the last,
  # at 3/64, with that garbage still in use.
  st = $0; sub(/.*pacer: started at [0-9]+ MB [(]/, "", st); sub(/\/64.*/, "", st); st += 0
  if (n > 1 && st < 40) { printf "FAIL: cycle %d started at %.2f/64 of the way to its goal\n", n, st; bad = 1 }
  if (phase == 1) slow[++ns] = frac
  else if (phase == 2) { if (skip) skip = 0; else fast[++nf] = frac }
}
END {
  if (n < 6 || ns < 3 || nf < 3) { printf "FAIL: too few cycles: %d (%d slow, %d fast)\n", n, ns, nf; exit 1 }
  ms = median(slow, ns); mf = median(fast, nf)
  lf = fast[1]; for (i = 2; i <= nf; i++) if (fast[i] < lf) lf = fast[i]
  printf "%d cycles; next trigger at a median %.2f/64 in the slow phase (%d cycles); in the fast phase (%d) median %.2f/64, earliest %.2f/64\n", n, ms, ns, nf, mf, lf
  if (ms < lf + 4) { print "FAIL: the trigger did not move with the allocation rate"; exit 1 }
  if (bad) exit 1
  print "OK"
}' "$err"
