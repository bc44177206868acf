#!/usr/bin/env bash
# Quick start 1: installs what is missing, builds, and runs the main demo.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
./build/release/examples/ag_demo "$@"
