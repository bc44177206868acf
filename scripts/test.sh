#!/usr/bin/env bash
# Quick start 2: installs what is missing, builds everything (libraries, tests, bench, examples),
# and runs the whole test suite with CTest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
ctest --preset release -j "$(nproc)"
