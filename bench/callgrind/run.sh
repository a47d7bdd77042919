#!/usr/bin/env bash
# run.sh - instruction cost of allocator fast paths, measured with callgrind.
#
# usage: bench/callgrind/run.sh [path/to/libgoalloc.so]
#
#   The goalloc library may also be given as GOALLOC_SO=...; without it (or if
#   the file does not exist) the goalloc column is left out.
#
# environment:
#   OUT=file     where to write the markdown report
#                (default: docs/benchmarks-callgrind.md; OUT=- prints only)
#   JOBS=n       parallel valgrind runs (default: nproc).  Counts are
#                deterministic, parallelism does not change them.
#   SCALE=n      multiply every repetition count by n (default 1)
#   KEEP=1       keep the temporary directory with the callgrind outputs
#   GOALLOC_NOTE=text   appended to the goalloc line of the report (how it
#                was built, ...)
#
# Each (allocator, mode, size) cell is run twice, with N and 2N repetitions,
# under  valgrind --tool=callgrind --collect-atstart=no --toggle-collect=bench_*
# and the cell is  (cost(2N) - cost(N)) / ops(N)  where cost is the inclusive
# Ir of the allocator calls (malloc/free/realloc and everything they call)
# made from the measured bench_* functions of pair.c.  The harness's own loop
# instructions are reported separately in the last column.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
GOALLOC_SO=${1:-${GOALLOC_SO:-}}
GOALLOC_ARG=$GOALLOC_SO
OUT=${OUT:-$REPO/docs/benchmarks-callgrind.md}
JOBS=${JOBS:-$(nproc)}
SCALE=${SCALE:-1}
LIBDIR=/usr/lib/x86_64-linux-gnu

for tool in valgrind gcc awk callgrind_annotate; do
	command -v "$tool" >/dev/null || { echo "run.sh: $tool not found" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/goalloc-callgrind.XXXXXX)
if [[ ${KEEP:-0} == 1 ]]; then
	echo "run.sh: keeping $WORK" >&2
else
	trap 'rm -rf "$WORK"' EXIT
fi

CFLAGS="-O2 -g -fno-builtin -pthread"
gcc $CFLAGS -o "$WORK/pair" "$HERE/pair.c"

# ---- allocators -----------------------------------------------------------
ALLOCS=(glibc)
declare -A SO=([glibc]="")
declare -A OBJ=([glibc]="libc.so.6")	# object the calls must land in
for a in jemalloc:libjemalloc.so.2 tcmalloc:libtcmalloc_minimal.so.4 \
	 mimalloc:libmimalloc.so.2; do
	name=${a%%:*} file=$LIBDIR/${a#*:}
	if [[ -e $file ]]; then
		ALLOCS+=("$name"); SO[$name]=$file; OBJ[$name]=$(basename "$(readlink -f "$file")")
	else
		echo "run.sh: $file missing, skipping $name" >&2
	fi
done
if [[ -n $GOALLOC_SO ]]; then
	if [[ -e $GOALLOC_SO ]]; then
		GOALLOC_SO=$(readlink -f "$GOALLOC_SO")
		ALLOCS+=(goalloc); SO[goalloc]=$GOALLOC_SO; OBJ[goalloc]=$(basename "$GOALLOC_SO")
	else
		echo "run.sh: $GOALLOC_SO does not exist, no goalloc column" >&2
	fi
fi

# ---- cases: mode size N ---------------------------------------------------
CASES=(
	"pair 8 20000" "pair 16 20000" "pair 64 20000" "pair 256 20000" "pair 1024 20000"
	"batch 16 20" "batch 64 20" "batch 256 20" "batch 1024 20"
	"xalloc 64 20" "xfree 64 20" "xalloc 1024 20" "xfree 1024 20"
	"realloc 33 3000" "realloc 1001 3000"
)

run_one() {	# alloc mode size n
	local a=$1 mode=$2 size=$3 n=$4
	local base=$WORK/$a.$mode.$size.$n
	if ! env ${SO[$a]:+LD_PRELOAD=${SO[$a]}} valgrind --tool=callgrind \
		--collect-atstart=no --toggle-collect='bench_*' \
		--callgrind-out-file="$base.cg" \
		"$WORK/pair" "$mode" "$size" "$n" >"$base.log" 2>&1; then
		echo "run.sh: FAILED: $a $mode $size $n (see $base.log)" >&2
		return 0
	fi
	awk -f "$HERE/cgparse.awk" "$base.cg" >"$base.sum"
}

echo "run.sh: ${#ALLOCS[@]} allocators x ${#CASES[@]} cases x 2 runs, $JOBS at a time" >&2
for a in "${ALLOCS[@]}"; do
	for c in "${CASES[@]}"; do
		read -r mode size n <<<"$c"
		n=$((n * SCALE))
		for reps in "$n" "$((2 * n))"; do
			while (( $(jobs -rp | wc -l) >= JOBS )); do wait -n || true; done
			run_one "$a" "$mode" "$size" "$reps" &
		done
	done
done
wait

# ---- reduce ---------------------------------------------------------------
# ops per repetition for each mode
ops_per() { case $1 in pair) echo 1;; realloc) echo 7;; *) echo 1000;; esac; }

# sum of allocator call costs (field 6) whose callee name matches $3
# ("" = all, "!re" = not matching re); prints "cost calls objects-ok"
calls_sum() {	# file objname regex
	awk -F'\t' -v obj="$2" -v re="$3" '
		BEGIN { neg = sub(/^!/, "", re) }
		$1 == "call" && (re == "" || ($3 ~ re) != neg) {
			c += $6; k += $5
			# "???": code outside .text (tcmalloc keeps malloc/free in a
			# "google_malloc" section, which valgrind maps to no object)
			n = split($4, p, "/")
			if (p[n] != obj && !(p[n] == "???" && obj != "libc.so.6")) bad = 1
		}
		END { printf "%d %d %d\n", c, k, bad ? 0 : 1 }' "$1"
}

# harness instructions: self cost of the pair binary in the measured region
harness_self() { awk -F'\t' '$1 == "self" && $2 ~ /\/pair$/ { print $3 }' "$1"; }

cell() {	# alloc mode size n [regex] -> "123.4" or "n/a"
	local a=$1 mode=$2 size=$3 n=$4 re=${5:-}
	local f1=$WORK/$a.$mode.$size.$n.sum f2=$WORK/$a.$mode.$size.$((2 * n)).sum
	[[ -s $f1 && -s $f2 ]] || { echo "fail"; return; }
	local c1 k1 ok1 c2 k2 ok2
	read -r c1 k1 ok1 < <(calls_sum "$f1" "${OBJ[$a]}" "$re")
	read -r c2 k2 ok2 < <(calls_sum "$f2" "${OBJ[$a]}" "$re")
	local mark=""
	(( ok1 && ok2 )) || mark="!"
	if [[ $mode == realloc ]] && grep -q 'realloc moved' "$WORK/$a.$mode.$size.$((2 * n)).log"; then
		mark="$mark*"
	fi
	if (( k2 - k1 == 0 )); then echo "n/a"; return; fi
	awk -v d=$((c2 - c1)) -v ops=$((n * $(ops_per "$mode"))) -v m="$mark" \
		'BEGIN { printf "%.1f%s", d / ops, m }'
}

harness_cell() {	# mode size n  (from the glibc runs; same binary for all)
	local mode=$1 size=$2 n=$3
	local f1=$WORK/glibc.$mode.$size.$n.sum f2=$WORK/glibc.$mode.$size.$((2 * n)).sum
	[[ -s $f1 && -s $f2 ]] || { echo "fail"; return; }
	awk -v h1="$(harness_self "$f1")" -v h2="$(harness_self "$f2")" \
		-v ops=$((n * $(ops_per "$mode"))) 'BEGIN { printf "%.1f", (h2 - h1) / ops }'
}

label() {
	case $1 in
	pair) echo "pair $2 (malloc+free)";;
	batch) echo "batch $2 (malloc+free)";;
	xalloc) echo "cross-thread $2: malloc (thread A)";;
	xfree) echo "cross-thread $2: free (thread B)";;
	realloc) echo "realloc $2→$(($2 + 1))..$(($2 + 7)) (per call)";;
	esac
}

TABLE=$WORK/table.md
{
	printf '| mode / size |'; printf ' %s |' "${ALLOCS[@]}"; printf ' harness |\n'
	printf '|---|'; printf -- '---:|%.0s' "${ALLOCS[@]}"; printf -- '---:|\n'
	for c in "${CASES[@]}"; do
		read -r mode size n <<<"$c"; n=$((n * SCALE))
		printf '| %s |' "$(label "$mode" "$size")"
		for a in "${ALLOCS[@]}"; do printf ' %s |' "$(cell "$a" "$mode" "$size" "$n")"; done
		printf ' %s |\n' "$(harness_cell "$mode" "$size" "$n")"
	done
} >"$TABLE"

SPLIT=$WORK/split.md
{
	printf '| mode / size |'; printf ' %s |' "${ALLOCS[@]}"; printf '\n'
	printf '|---|'; printf -- '---:|%.0s' "${ALLOCS[@]}"; printf '\n'
	for c in "${CASES[@]}"; do
		read -r mode size n <<<"$c"; n=$((n * SCALE))
		[[ $mode == pair || $mode == batch ]] || continue
		printf '| %s %s |' "$mode" "$size"
		for a in "${ALLOCS[@]}"; do
			printf ' %s / %s |' "$(cell "$a" "$mode" "$size" "$n" '!free')" \
				"$(cell "$a" "$mode" "$size" "$n" 'free')"
		done
		printf '\n'
	done
} >"$SPLIT"

# ---- per-function breakdown for goalloc, pair 64 ----------------------------
# Per-pair cost of each function = (Ir(2N) - Ir(N)) / N from callgrind_annotate.
BREAKDOWN=$WORK/breakdown.md
: >"$BREAKDOWN"
annot_diff() {	# f1 f2 n inclusive(yes/no) top
	local inc=$4
	for f in "$1" "$2"; do
		# function list only; shorten "dir/file.c:fn [dir/obj]" to
		# "file.c:fn [obj]"; drop the harness and the start-up chain.
		callgrind_annotate --inclusive="$inc" --auto=no --threshold=100 "$f" 2>/dev/null |
			awk '/file:function/ { on = 1; next }
			on && /^ *[0-9][0-9,]* \(/ {
				c = $1; gsub(",", "", c)
				s = $0; sub(/^ *[0-9,]+ \([^)]*\) +/, "", s)
				if (s ~ /pair\.c:|\(below main\)|__libc_start_main|ld-linux-x86-64\.so\.2\]$/)
					next
				gsub(/[^ :\[]*\//, "", s)
				print c "\t" s }' >"$f.annot.$inc"
	done
	awk -F'\t' -v n="$3" 'NR == FNR { a[$2] = $1; next }
		{ d = $1 - a[$2]; if (d >= 0.1 * n) printf "%8.1f  %s\n", d / n, $2 }' \
		"$1.annot.$inc" "$2.annot.$inc" | sort -rn | awk -v top="$5" 'NR <= top'  # no SIGPIPE
}
hot_lines() {	# f1 f2 n top
	awk -f "$HERE/cglines.awk" "$1" >"$1.lines"
	awk -f "$HERE/cglines.awk" "$2" >"$2.lines"
	awk -F'\t' -v n="$3" 'NR == FNR { a[$1 FS $2] = $3; next }
		$1 !~ /pair\.c$/ { d = $3 - a[$1 FS $2]; if (d >= n) printf "%.1f\t%s\t%s\n", d / n, $1, $2 }' \
		"$1.lines" "$2.lines" | sort -rn | awk -v top="$4" 'NR <= top' |
	while IFS=$'\t' read -r c f l; do
		printf '%6s  %-22s %s\n' "$c" "${f##*/}:$l" \
			"$(sed -n "${l}p" "$f" 2>/dev/null | sed 's/^[[:space:]]*//' | cut -c1-100)"
	done
}
if [[ -n ${SO[goalloc]:-} ]]; then
	read -r _ _ n <<<"pair 64 $((20000 * SCALE))"
	g1=$WORK/goalloc.pair.64.$n.cg g2=$WORK/goalloc.pair.64.$((2 * n)).cg
	if [[ -s $g1 && -s $g2 ]]; then
		{
			echo "Inclusive instructions per malloc+free pair (function and its callees):"
			echo
			echo '```'
			annot_diff "$g1" "$g2" "$n" yes 25
			echo '```'
			echo
			echo "Exclusive (self) instructions per malloc+free pair:"
			echo
			echo '```'
			annot_diff "$g1" "$g2" "$n" no 25
			echo '```'
			echo
			echo "Hottest source lines (exclusive instructions per pair, >= 1.0; inlined"
			echo "code is charged to the header it comes from):"
			echo
			echo '```'
			hot_lines "$g1" "$g2" "$n" 40
			echo '```'
		} >>"$BREAKDOWN"
	fi
fi

# ---- report -----------------------------------------------------------------
ver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "?"; }
GOALLOC_DESC=""
if [[ -n ${SO[goalloc]:-} ]]; then
	rev=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo "no commit")
	dirty=$(git -C "$REPO" status --porcelain -- src preload include meson.build 2>/dev/null | wc -l)
	GOALLOC_DESC="goalloc: \`${SO[goalloc]}\` (git $rev, $dirty uncommitted file(s) in src/ preload/ include/ meson.build; sha256 $(sha256sum "${SO[goalloc]}" | cut -c1-16))${GOALLOC_NOTE:+; $GOALLOC_NOTE}"
fi
CMD="bench/callgrind/run.sh${GOALLOC_ARG:+ $GOALLOC_ARG}"
[[ $SCALE == 1 ]] || CMD="SCALE=$SCALE $CMD"

REPORT=$WORK/report.md
{
	echo "# Allocator fast-path instruction counts (callgrind)"
	echo
	echo "Generated $(date -u '+%Y-%m-%d %H:%M UTC') by \`$CMD\`."
	echo
	echo "- valgrind $(ver valgrind), gcc $(gcc -dumpfullversion), $(uname -sr), $(nproc) CPUs"
	echo "- glibc: libc6 $(ver libc6) (no preload)"
	[[ -n ${SO[jemalloc]:-} ]] && echo "- jemalloc: libjemalloc2 $(ver libjemalloc2) (\`${SO[jemalloc]}\`)"
	[[ -n ${SO[tcmalloc]:-} ]] && echo "- tcmalloc: libtcmalloc-minimal4 $(ver libtcmalloc-minimal4) (\`${SO[tcmalloc]}\`)"
	[[ -n ${SO[mimalloc]:-} ]] && echo "- mimalloc: libmimalloc2.0 $(ver libmimalloc2.0) (\`${SO[mimalloc]}\`)"
	if [[ -n $GOALLOC_DESC ]]; then echo "- $GOALLOC_DESC"; else echo "- goalloc: not measured (no libgoalloc.so given)"; fi
	echo
	echo "## Instructions per operation"
	echo
	echo "Instructions executed inside the allocator (the malloc/free/realloc call and"
	echo "everything it calls, PLT included) per operation, steady state. Deterministic:"
	echo "rerunning gives the same numbers. \`harness\` is the benchmark loop's own"
	echo "instructions per operation (same binary for every allocator); add it to get"
	echo "the whole-loop cost."
	echo
	cat "$TABLE"
	echo
	echo "\`!\` = some measured calls did not land in the expected library (preload not"
	echo "effective); \`*\` = realloc moved the block at least once (not in place);"
	echo "\`fail\` = the run crashed. (tcmalloc's malloc/free live in a \`google_malloc\`"
	echo "section that callgrind attributes to object \`???\`; that is accepted.)"
	echo
	echo "## malloc / free split"
	echo
	echo "Same runs, instructions per malloc call / per free call."
	echo
	cat "$SPLIT"
	if [[ -s $BREAKDOWN ]]; then
		echo
		echo "## goalloc: per-function breakdown, pair mode, size 64"
		echo
		echo "From \`callgrind_annotate\` on the N and 2N runs, difference divided by N"
		echo "(so: instructions per malloc+free pair; functions under 0.1 omitted)."
		echo
		cat "$BREAKDOWN"
	fi
	echo
	echo "## Method"
	echo
	cat <<'EOF'
`bench/callgrind/pair.c` (built with `gcc -O2 -g -fno-builtin -pthread`; every
pointer escapes through an empty `asm volatile` with a memory clobber, so no
malloc/free pair can be folded away) warms the size class up, then runs the
measured loop inside functions named `bench_*`.  Callgrind runs with
`--collect-atstart=no --toggle-collect=bench_*`, so only those functions and
their callees are counted (toggling is per thread).  Every cell is run with N
and 2N repetitions; the cell is (Ir(2N) - Ir(N)) / ops(N), so start-up and
one-time costs inside the measured region cancel and slow paths (refills,
flushes, page-heap work) are amortised at their steady-state rate.

- **pair SIZE**: `p = malloc(SIZE); free(p);` N = 20000.
- **batch SIZE**: 1000 × malloc(SIZE) into an array, then free all 1000 in
  allocation order; N = 20 rounds; per malloc+free.
- **cross-thread SIZE**: thread A mallocs 1000 objects, posts a semaphore,
  thread B frees all 1000, posts back; N = 20 rounds, two persistent threads,
  strict ping-pong (only one thread is ever inside the allocator, so the
  counts do not depend on scheduling).  A's mallocs and B's frees are counted
  in separate runs; the semaphore traffic is outside the measured functions.
  Memory therefore flows one way, A's caches must be refilled from what B
  returned: this is the cost of remote frees plus the refill path.
- **realloc SIZE**: `p = malloc(SIZE)`, then 7 × `p = realloc(p, size + 1)`
  (sizes chosen so SIZE..SIZE+7 stay within one size class / chunk for all
  allocators), then free; only the realloc calls are measured; N = 3000.

Caveats: instruction counts only, not cycles: no cache misses, branch
mispredictions, atomics' latency, or syscalls/page faults (kernel time is
not counted, only the user-space instructions around the syscall).  glibc is
not preloaded, so its malloc is reached through the same PLT as the others.
glibc, tcmalloc and goalloc reproduce exactly; jemalloc's purging is driven by
wall-clock time (decay), which valgrind stretches ~50x, so its batch and
cross-thread cells move by a few percent with machine load (mimalloc's
batch 1024 cell by < 1%).
EOF
} >"$REPORT"

cat "$REPORT"
if [[ $OUT != - ]]; then
	mkdir -p "$(dirname "$OUT")"
	cp "$REPORT" "$OUT"
	echo "run.sh: wrote $OUT" >&2
fi
