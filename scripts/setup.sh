#!/usr/bin/env bash
# Installs the Debian 12 packages the build needs (only when one is missing), then configures and
# builds the `release` preset. Sourced by demo.sh and test.sh; run as root on a fresh machine.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

AG_PACKAGES=(g++ cmake ninja-build pkg-config libfmt-dev libopenblas-dev libxsmm-dev doctest-dev libbenchmark-dev
             nlohmann-json3-dev python3 python3-numpy)
source scripts/ensure_packages.sh
ensure_packages "${AG_PACKAGES[@]}"

cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)"
