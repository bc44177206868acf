#!/usr/bin/env bash
# The benchmark workloads of bench/workloads.h in ag and in libtorch, side by side:
# installs what is missing (apt, Debian 12, libtorch-dev included), configures a Release build in
# build/compare with -DAG_BUILD_COMPARE=ON, builds ag_compare, runs it at 1 and 2 threads and prints
# Markdown tables (also written to build/compare/compare.md). A few minutes on 2 cores.
# Arguments go to ag_compare: --threads 1,2  --budget 0.3 (seconds per engine and measurement)
#   --rounds 5  --only xor,mlp_large  --out FILE
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

source scripts/ensure_packages.sh
ensure_packages g++ cmake ninja-build pkg-config libfmt-dev libopenblas-dev libxsmm-dev libbenchmark-dev nlohmann-json3-dev \
                libtorch-dev

BUILD=build/compare
LAUNCHER=()
command -v ccache >/dev/null && LAUNCHER=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DAG_BUILD_TESTS=OFF -DAG_BUILD_EXAMPLES=OFF \
      -DAG_BUILD_BENCH=ON -DAG_BUILD_COMPARE=ON "${LAUNCHER[@]}" >/dev/null
cmake --build "$BUILD" -j "$(nproc)" --target ag_compare
"$BUILD/bench/ag_compare" --out "$BUILD/compare.md" "$@"
echo
echo "Written to $BUILD/compare.md"
