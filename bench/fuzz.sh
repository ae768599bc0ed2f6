#!/usr/bin/env bash
# bench/fuzz.sh TARGET SECONDS [libFuzzer flags...]    (bench/FUZZING.md)
# bench/fuzz.sh list
# MUGAI_FUZZ_CPU=1 bench/fuzz.sh TARGET SECONDS   SECONDS of CPU time, not wall time
# MUGAI_FUZZ_NICE=N   the fuzzer's niceness (default 19: it takes what is idle)
#
# Builds the libFuzzer targets into build-fuzz/ (clang, ASan+UBSan, once; $MUGAI_FUZZ_BUILD_DIR
# to choose), collects seed corpora from the test fixtures (fuzz/collect_seeds.py, once), then
# runs fuzz_TARGET for SECONDS of wall time (of CPU time with MUGAI_FUZZ_CPU=1: on a shared machine
# a niced fuzzer gets what is idle, and the campaign counts CPU-minutes) under `nice -n 19`, one
# process, one job. The working
# corpus (build-fuzz/fuzz/corpus/TARGET) is kept between runs, so campaigns add up.
# Every crash, leak, timeout or out-of-memory input is copied to tests/fuzz-regressions/TARGET/,
# which ctest replays through the same entry point in the normal build (mugai_fuzz_replay).
# One line per run is appended to build-fuzz/fuzz/campaign.tsv (execs, cov, ft, corpus, findings).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
build="${MUGAI_FUZZ_BUILD_DIR:-$here/build-fuzz}"
if [ $# -lt 1 ]; then
  sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi

configure() {
  "$here/scripts/bootstrap.sh" --with-fuzz-tools  # clang and libFuzzer: quick when installed
  if [ ! -f "$build/CMakeCache.txt" ]; then
    CC=clang CXX=clang++ cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DMUGAI_FUZZ=ON -DMUGAI_SANITIZE=address,undefined \
      -DMUGAI_BUILD_TESTS=OFF -DMUGAI_BUILD_BENCH=OFF >/dev/null
  fi
}

if [ "$1" = list ]; then
  configure
  cat "$build/fuzz/targets.txt"
  exit 0
fi
[ $# -ge 2 ] || { echo "usage: $0 TARGET SECONDS [libFuzzer flags...]" >&2; exit 2; }
target="$1" seconds="$2"
shift 2
case "$seconds" in ''|*[!0-9]*) echo "SECONDS must be a number" >&2; exit 2 ;; esac

configure
if ! grep -qx "$target" "$build/fuzz/targets.txt"; then
  echo "unknown target '$target'; targets: $(tr '\n' ' ' < "$build/fuzz/targets.txt")" >&2
  exit 2
fi
# MUGAI_FUZZ_NO_BUILD=1: use the fuzzer as built (another build is running in the same tree).
if [ -z "${MUGAI_FUZZ_NO_BUILD:-}" ]; then
  nice -n 19 cmake --build "$build" --target "fuzz_$target" -j "${MUGAI_FUZZ_JOBS:-2}" 2>&1 |
    { grep -vE '^\[ *[0-9]+%\] (Building|Linking|Built)' || true; }
  [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "build of fuzz_$target failed" >&2; exit 1; }
fi

seeds="$build/fuzz/seeds"
# Collected again when the collector changed (a new target gets its seeds).
if [ ! -f "$seeds/.stamp" ] || [ "$here/fuzz/collect_seeds.py" -nt "$seeds/.stamp" ]; then
  python3 "$here/fuzz/collect_seeds.py" "$seeds" >/dev/null
  touch "$seeds/.stamp"
fi
corpus="$build/fuzz/corpus/$target"
artifacts="$build/fuzz/artifacts/$target"
regressions="$here/tests/fuzz-regressions/$target"
mkdir -p "$corpus" "$artifacts"
log="$build/fuzz/logs/$target-$(date -u +%Y%m%dT%H%M%SZ).log"
mkdir -p "$(dirname "$log")"
dict=()
[ -f "$here/fuzz/dict/$target.dict" ] && dict=("-dict=$here/fuzz/dict/$target.dict")
seed_dirs=()
[ -d "$seeds/$target" ] && seed_dirs+=("$seeds/$target")
[ -d "$regressions" ] && seed_dirs+=("$regressions")

# -timeout: one input may take 25 s (ASan, a loaded machine); the engine's own deadline is 60 s.
# -rss_limit_mb/-malloc_limit_mb: a default install charges at most 100 MB of decoded bytes per
# message; an input that makes us hold 2 GB is a finding.
# Targets that reach libgsf unwind malloc stacks fully (slower), so that fuzz/lsan.supp can name
# libgsf's own leak (gsf_infile_msole_new, bench/FUZZING.md finding 5) and nothing else of glib.
asan_default=detect_leaks=1
case "$target" in ole2|sanitizer|offcrypto_info) asan_default=detect_leaks=1:fast_unwind_on_malloc=0 ;; esac
# pdf_flatten: poppler's decoders (JBIG2 above all) ask for gigabytes in one allocation and check
# for failure. In serve they run in a worker whose RLIMIT_AS (worker_memory_limit, 2 GB) refuses
# such an allocation; here one allocation over 1.5 GB is refused the same way, so the campaign
# fuzzes what ships instead of stopping at every such input (bench/FUZZING.md finding 7).
[ "$target" = pdf_flatten ] && asan_default=detect_leaks=1:allocator_may_return_null=1:max_allocation_size_mb=1536
set +e
wall=$seconds
[ -n "${MUGAI_FUZZ_CPU:-}" ] && wall=$((seconds * 50))  # the CPU budget below ends the run
# The sanitizers' options go on the fuzzer's own command line (exported to it): until
# 2026-12-07 they sat on an assignment line and never reached the fuzzer (bench/FUZZING.md).
ASAN_OPTIONS="${ASAN_OPTIONS:-$asan_default}" \
UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}" \
LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$here/fuzz/lsan.supp}" \
nice -n "${MUGAI_FUZZ_NICE:-19}" "$build/fuzz/fuzz_$target" -max_total_time="$wall" -timeout=25 \
  -rss_limit_mb=2048 -malloc_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$artifacts/" "${dict[@]}" "$@" "$corpus" "${seed_dirs[@]}" >"$log" 2>&1 &
pid=$!
cpu=0
tick=$(getconf CLK_TCK)
while kill -0 "$pid" 2>/dev/null; do
  # utime + stime of the fuzzer (fields 14 and 15 of /proc/PID/stat; the name may hold spaces).
  if stat=$(cat "/proc/$pid/stat" 2>/dev/null); then
    set -- ${stat##*) }
    cpu=$(( (${12} + ${13}) / tick ))
    if [ -n "${MUGAI_FUZZ_CPU:-}" ] && [ "$cpu" -ge "$seconds" ]; then
      kill -USR1 "$pid" 2>/dev/null  # libFuzzer: stop gracefully, print the final stats
      break
    fi
  fi
  sleep 2
done
wait "$pid"
rc=$?
set -e

# Findings become regression files (named by libFuzzer: crash-<sha1>, leak-, timeout-, oom-).
found=0
for f in "$artifacts"/crash-* "$artifacts"/leak-* "$artifacts"/timeout-* "$artifacts"/oom-*; do
  [ -f "$f" ] || continue
  mkdir -p "$regressions"
  if [ ! -f "$regressions/$(basename "$f")" ]; then
    cp "$f" "$regressions/"
    found=$((found + 1))
    echo "finding: tests/fuzz-regressions/$target/$(basename "$f")"
  fi
done

execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
eps=$(sed -n 's/.* exec\/s: \([0-9]*\).*/\1/p' <<<"$last")
printf '%s: %s s %s budget, %s s CPU, %s execs (%s/s), cov %s, ft %s, corpus %s, new findings %s, exit %s\n' \
 "$target" "$seconds" "$([ -n "${MUGAI_FUZZ_CPU:-}" ] && echo CPU || echo wall)" "$cpu" "${execs:-?}" "${eps:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$found" "$rc"
printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$target" "$seconds" \
  "${execs:-}" "${cov:-}" "${ft:-}" "${corp:-}" "$found" "$rc" "$cpu" >>"$build/fuzz/campaign.tsv"
if [ "$rc" -ne 0 ]; then
  echo "log: $log" >&2
  grep -m1 -E 'ERROR: (AddressSanitizer|libFuzzer|LeakSanitizer)|runtime error|check failed' "$log" >&2 || true
fi
exit "$rc"
