#!/usr/bin/env bash
# Builds the libFuzzer targets (preset `fuzz`: clang, ASan + UBSan) and runs each for SECONDS
# (default 60) from a generated seed corpus. Installs clang and the libFuzzer runtime if missing.
#   bash scripts/fuzz.sh            # a short run of each target, as CI does
#   bash scripts/fuzz.sh 3600 ops   # a long run of one target (ops or safetensors)
# Findings are written to build/fuzz/artifacts/; reproduce one with build/fuzz/fuzz/fuzz_<target> <file>.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SECONDS_PER_TARGET="${1:-60}"
TARGETS=("${@:2}")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=(ops safetensors)

source scripts/ensure_packages.sh
ensure_packages clang libclang-rt-14-dev python3

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$(nproc)"
python3 fuzz/make_corpus.py build/fuzz/corpus
mkdir -p build/fuzz/artifacts
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export OPENBLAS_NUM_THREADS=1
for t in "${TARGETS[@]}"; do
  mkdir -p "build/fuzz/work/$t"
  echo "== fuzz_$t for ${SECONDS_PER_TARGET}s"
  log="build/fuzz/fuzz_$t.log"
  if ! build/fuzz/fuzz/fuzz_"$t" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix=build/fuzz/artifacts/ "build/fuzz/work/$t" "build/fuzz/corpus/$t" >"$log" 2>&1; then
    tail -n 60 "$log"
    echo "fuzz_$t found a problem: see $log and build/fuzz/artifacts/" >&2
    exit 1
  fi
  grep -E "stat::number_of_executed_units|Done [0-9]+ runs" "$log" || true
done
