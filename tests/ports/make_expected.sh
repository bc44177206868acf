#!/usr/bin/env bash
# Regenerates tests/ports/expected/<port>.txt: builds each port as written (torch::, <torch/torch.h>)
# against libtorch (Debian's libtorch-dev) and records what it prints. Not run by the build or the
# tests, which only compare against the committed files.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
source ../../scripts/ensure_packages.sh
ensure_packages g++ libtorch-dev
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for src in *.cpp; do
  port=${src%.cpp}
  g++ -std=c++17 -O1 "$src" -o "$tmp/$port" -I/usr/include/torch/csrc/api/include \
      -ltorch -ltorch_cpu -lc10
  (cd "$tmp" && "./$port") > "expected/$port.txt"  # in $tmp: a port may write files (mnist)
  echo "expected/$port.txt: $(wc -l < "expected/$port.txt") lines"
done
