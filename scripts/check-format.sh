#!/usr/bin/env bash
# Fails if a C++ file of the repository differs from clang-format's output
# (.clang-format): prints each such file and the first lines of its diff.
# Usage: scripts/check-format.sh [--fix]   (--fix rewrites them in place)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || bash scripts/setup.sh --test
mapfile -t files < <(git ls-files '*.cc' '*.h' | grep -v '^tests/deploy/node_modules/')
if [[ "${1:-}" == "--fix" ]]; then
  clang-format -i --style=file "${files[@]}"
  exit 0
fi
bad=0
for f in "${files[@]}"; do
  if ! diff -q <(clang-format --style=file "$f") "$f" >/dev/null; then
    echo "format: $f differs from clang-format --style=file:"
    diff -u "$f" <(clang-format --style=file "$f") | sed -n '3,12p'  || true
    bad=$((bad + 1))
  fi
done
echo "format: ${#files[@]} files checked, $bad to reformat (scripts/check-format.sh --fix)"
((bad == 0))
