#!/usr/bin/env bash
# Installs the Debian 12 packages the build needs (only when one is missing), configures the
# `release` preset and builds the given targets (with their dependencies), or everything without.
#   bash scripts/setup.sh            # the libraries, tests, bench and examples
#   bash scripts/setup.sh ag_demo    # the libraries and the demo only
# Run by demo.sh and test.sh; run as root on a fresh machine.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

AG_PACKAGES=(g++ cmake ninja-build pkg-config libfmt-dev libopenblas-dev libxsmm-dev libdnnl-dev doctest-dev libbenchmark-dev
             nlohmann-json3-dev libboost-stacktrace-dev python3 python3-numpy libopenmpi-dev openmpi-bin)
source scripts/ensure_packages.sh
ensure_packages "${AG_PACKAGES[@]}"

targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" "${targets[@]}"
