#!/bin/bash
# Builds the goalloc API fuzz target with clang + libFuzzer + UBSan and runs it
# for a fixed number of runs from the checked-in seed corpus.
#
#   run-libfuzzer.sh WORKDIR CORPUS TARGET.c [--cflags FLAG...] --sources SRC.c...
#
# meson passes the allocator's flags (ga_c_args plus -I...) and core_src, so
# this script never has to know the source list. The allocator is built with
# UBSan only: ASan would replace malloc, which the goalloc_ entry points bypass
# anyway, and it is not what is under test.
#
# Environment knobs (for longer manual runs):
#   FUZZ_RUNS (25000: ~40 s here)  FUZZ_SEED (1)  FUZZ_MAX_TIME (seconds, 40)
#   FUZZ_JOBS (parallel compiles, nproc)  FUZZ_ARTIFACTS (/tmp/goalloc-libfuzzer-)
#   FUZZ_ARGS (extra libFuzzer flags)  CLANG (compiler, else clang or clang-14)
# Exit status: 0 pass, 1 failure (crash input saved under FUZZ_ARTIFACTS),
# 77 (meson's "skipped") only when clang or its libFuzzer runtime is missing.
set -u

if [ $# -lt 3 ]; then
  echo "usage: $0 WORKDIR CORPUS TARGET.c [--cflags FLAG...] --sources SRC.c..." >&2
  exit 2
fi
work=$1 corpus=$2 target=$3
shift 3
cflags=() sources=() mode=
for a in "$@"; do
  case $a in
    --cflags) mode=c ;;
    --sources) mode=s ;;
    *) if [ "$mode" = c ]; then cflags+=("$a"); elif [ "$mode" = s ]; then sources+=("$a");
       else echo "$0: unexpected argument $a" >&2; exit 2; fi ;;
  esac
done
if [ ${#sources[@]} -eq 0 ]; then
  echo "$0: no --sources given" >&2
  exit 2
fi

runs=${FUZZ_RUNS:-25000}
seed=${FUZZ_SEED:-1}
max_time=${FUZZ_MAX_TIME:-40}
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}
artifacts=${FUZZ_ARTIFACTS:-/tmp/goalloc-libfuzzer-}

clang=${CLANG:-}
if [ -z "$clang" ]; then
  for c in clang clang-14; do
    if command -v "$c" >/dev/null 2>&1; then clang=$c; break; fi
  done
fi
if [ -z "$clang" ] || ! command -v "$clang" >/dev/null 2>&1; then
  echo "SKIP: clang not found (apt-get install clang libclang-rt-14-dev)"
  exit 77
fi

mkdir -p "$work/obj" || exit 1
# libFuzzer's runtime comes with libclang-rt-14-dev on Debian; without it the
# link below fails, which is a missing tool, not a goalloc failure.
printf '#include <stdint.h>\n#include <stddef.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' \
  > "$work/probe.c"
if ! "$clang" -fsanitize=fuzzer,undefined "$work/probe.c" -o "$work/probe" >"$work/probe.log" 2>&1; then
  echo "SKIP: $clang cannot link -fsanitize=fuzzer,undefined (apt-get install libclang-rt-14-dev):"
  cat "$work/probe.log"
  exit 77
fi

san=(-fsanitize=fuzzer-no-link,undefined -fno-sanitize-recover=all)
common=(-g -O2 -std=gnu11 -fno-omit-frame-pointer)

# Compile the allocator (instrumented for coverage too, so the fuzzer steers
# into its paths) and the target, FUZZ_JOBS at a time.
objs=() pids=() names=() fail=0
compile() { # src obj extra-flags...
  local src=$1 obj=$2
  shift 2
  "$clang" "${common[@]}" "${san[@]}" "$@" -c "$src" -o "$obj"
}
incs=()
for f in "${cflags[@]}"; do
  case $f in -I*) incs+=("$f") ;; esac
done
i=0
for src in "${sources[@]}" "$target"; do
  obj="$work/obj/$i-$(basename "$src" .c).o"
  objs+=("$obj")
  if [ "$src" = "$target" ]; then
    compile "$src" "$obj" "${incs[@]}" & # the target needs only the headers
  else
    compile "$src" "$obj" "${cflags[@]}" &
  fi
  pids+=($!) names+=("$src")
  i=$((i + 1))
  if [ ${#pids[@]} -ge "$jobs" ]; then
    wait "${pids[0]}" || { echo "compile failed: ${names[0]}" >&2; fail=1; }
    pids=("${pids[@]:1}") names=("${names[@]:1}")
  fi
done
for k in "${!pids[@]}"; do
  wait "${pids[$k]}" || { echo "compile failed: ${names[$k]}" >&2; fail=1; }
done
[ $fail -eq 0 ] || exit 1
"$clang" -fsanitize=fuzzer,undefined "${objs[@]}" -lpthread -o "$work/fuzz-api" || exit 1

# A fresh working corpus each time keeps runs reproducible; libFuzzer writes
# new inputs only into the first directory, so the checked-in one stays as is.
rm -rf "$work/corpus-run"
mkdir -p "$work/corpus-run"
cmd=("$work/fuzz-api" -runs="$runs" -seed="$seed" -max_total_time="$max_time"
     -max_len=4096 -timeout=20 -rss_limit_mb=2048 -error_exitcode=1 -timeout_exitcode=1
     -artifact_prefix="$artifacts" -print_final_stats=1 ${FUZZ_ARGS:-}
     "$work/corpus-run" "$corpus")
echo "running: ${cmd[*]}"
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} "${cmd[@]}"
rc=$?
if [ $rc -ne 0 ]; then
  echo "libFuzzer failed (exit $rc); reproduce with: $work/fuzz-api CRASH_FILE" \
       "(FUZZ_TRACE=1 prints the operations)" >&2
  [ $rc -eq 77 ] && rc=1 # 77 would read as "skipped" to meson
  exit $rc
fi
exit 0
