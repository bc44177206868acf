#!/usr/bin/env bash
# Quick start 1: installs what is missing, builds the libraries and the main demo (nothing else:
# the tests and benchmarks are built by test.sh), and runs the demo.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh ag_demo
./build/release/examples/ag_demo "$@"
