#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite with CTest.
# Usage: scripts/test.sh [--sanitize]
#   --sanitize  build with ASan/UBSan/LSan into build-asan and run the C++
#               tests there (the deploy checks run in the plain build). GCC,
#               not clang: clang 14 cannot compile coroutine frames with
#               debug info ("Cannot represent a difference across sections").
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
if [[ "${1:-}" == "--sanitize" ]]; then
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  CC=gcc CXX=g++ bash scripts/build.sh build-asan -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" -DSSE_SANITIZE=ON
  cd build-asan
  ctest --output-on-failure -j2 --timeout 300 -LE 'deploy|image|fuzz|bench'
else
  bash scripts/build.sh build -DCMAKE_BUILD_TYPE=RelWithDebInfo
  cd build
  ctest --output-on-failure -j2 --timeout 600 -LE 'image|fuzz|bench'
fi
