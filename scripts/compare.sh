#!/usr/bin/env bash
# The benchmark workloads of bench/workloads.h in ag and in libtorch at its best configuration on this
# machine, side by side, and the GEMM ceiling: installs what is missing (apt, Debian 12, libtorch-dev
# and libdnnl-dev included), configures a Release build in build/compare with -DAG_BUILD_COMPARE=ON,
# builds ag_compare, runs it at 1 and 2 threads and prints Markdown tables (also written to
# build/compare/compare.md). ag_compare runs libtorch's side and the GEMM libraries in child processes,
# one per configuration (OPENBLAS_CORETYPE, OPENBLAS_NUM_THREADS, OMP_WAIT_POLICY, torch threads), and
# keeps libtorch's best per workload and thread count (docs/performance.md). About 5 minutes on 2 cores.
# Ours runs with OPENBLAS_CORETYPE as the environment has it.
# Arguments go to ag_compare: --threads 1,2  --budget 0.3 (seconds per engine, configuration and
#   measurement)  --rounds 5  --only xor,mlp_large  --gemm-budget 0.05  --denormals  --out FILE
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

source scripts/ensure_packages.sh
ensure_packages g++ cmake ninja-build pkg-config libfmt-dev libopenblas-dev libxsmm-dev libbenchmark-dev nlohmann-json3-dev libboost-stacktrace-dev \
                libtorch-dev libdnnl-dev

BUILD=build/compare
LAUNCHER=()
command -v ccache >/dev/null && LAUNCHER=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DAG_BUILD_TESTS=OFF -DAG_BUILD_EXAMPLES=OFF \
      -DAG_BUILD_BENCH=ON -DAG_BUILD_COMPARE=ON "${LAUNCHER[@]}" >/dev/null
cmake --build "$BUILD" -j "$(nproc)" --target ag_compare
"$BUILD/bench/ag_compare" --out "$BUILD/compare.md" "$@"
echo
echo "Written to $BUILD/compare.md"
