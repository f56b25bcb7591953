#!/usr/bin/env bash
# Configures and builds into a build directory.
# Usage: scripts/build.sh BUILD_DIR [cmake args...]
set -euo pipefail
dir=${1:?build dir}
shift
cmake -S . -B "$dir" -G Ninja "$@" >/dev/null
cmake --build "$dir" -j2
