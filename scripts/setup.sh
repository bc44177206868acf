#!/usr/bin/env bash
# Installs the Debian 12 packages the build needs (only when one is missing), then configures and
# builds the `release` preset. Sourced by demo.sh and test.sh; run as root on a fresh machine.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

AG_PACKAGES=(g++ cmake ninja-build pkg-config libfmt-dev libopenblas-dev doctest-dev libbenchmark-dev
             nlohmann-json3-dev python3 python3-numpy)
missing=()
for p in "${AG_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)"
