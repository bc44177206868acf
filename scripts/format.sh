#!/usr/bin/env bash
# clang-format (style in .clang-format) over every tracked *.h and *.cpp.
#   bash scripts/format.sh           # rewrites the files in place
#   bash scripts/format.sh --check   # changes nothing: lists each file that is not formatted and
#                                    # fails if there is one (clang-format --dry-run -Werror), as CI does
# Installs Debian 12's clang-format if missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v clang-format >/dev/null; then
  source scripts/ensure_packages.sh
  ensure_packages clang-format
fi
mapfile -t files < <(git ls-files -- '*.h' '*.cpp')

case "${1:-}" in
  --check)
    # one line per file that is not formatted (clang-format reports each place: file:line:col: error:)
    if ! out=$(clang-format --dry-run -Werror "${files[@]}" 2>&1); then
      bad=$(grep -oE '^[^:[:space:]]+:[0-9]+:[0-9]+: error' <<<"$out" | cut -d: -f1 | sort -u || true)
      [ -n "$bad" ] && echo "$bad" || echo "$out"
      echo "$(grep -c . <<<"$bad") of ${#files[@]} files are not formatted (.clang-format): run bash scripts/format.sh" >&2
      exit 1
    fi
    echo "all ${#files[@]} files formatted" >&2
    ;;
  "")
    clang-format -i "${files[@]}"
    ;;
  *)
    echo "usage: bash scripts/format.sh [--check]" >&2
    exit 2
    ;;
esac
