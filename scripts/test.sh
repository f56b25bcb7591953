#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite with CTest.
# Usage: scripts/test.sh [--sanitize]
#   --sanitize  build with ASan/UBSan/LSan into build-asan and run the C++
#               tests there (the deploy checks run in the plain build). GCC,
#               not clang: clang 14 cannot compile coroutine frames with
#               debug info ("Cannot represent a difference across sections").
#
# Everything the tests need comes from Debian 12 (scripts/setup.sh --test)
# but two things, checked first, before anything is installed or built:
#  - `localhost` must resolve (an /etc/hosts with `127.0.0.1 localhost`):
#    the TLS and resolver tests verify certificates by that name;
#  - kubectl >= 1.21 (kustomize >= 4), for the deploy checks: Debian 12 has
#    none (tests/deploy/lib/kubectl.sh says how to get one). Not needed
#    with --sanitize, which runs no deploy checks.
set -euo pipefail
cd "$(dirname "$0")/.."

preflight_fail() {
  echo "test.sh: FAIL: $*" >&2
  echo "test.sh: nothing was installed or built; run bash scripts/test.sh again afterwards." >&2
  exit 1
}
if ! getent hosts localhost >/dev/null; then
  preflight_fail "the name localhost does not resolve. Add these lines to /etc/hosts:
  127.0.0.1 localhost
  ::1       localhost ip6-localhost ip6-loopback"
fi
if [[ "${1:-}" != "--sanitize" ]]; then
  source tests/deploy/lib/kubectl.sh
  find_kubectl || preflight_fail "kubectl is missing (tried: $KUBECTL_TRIED). The deploy checks need kubectl >= 1.21: $KUBECTL_HOW."
  echo "test.sh: kubectl: $KUBECTL_BIN"
  export KUBECTL="$KUBECTL_BIN"
fi

bash scripts/setup.sh --test
if [[ "${1:-}" == "--sanitize" ]]; then
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  CC=gcc CXX=g++ bash scripts/build.sh build-asan -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" -DSSE_SANITIZE=ON \
    -DSSE_WERROR="${SSE_WERROR:-OFF}"
  cd build-asan
  ctest --output-on-failure -j2 --timeout 300 -LE 'deploy|image|fuzz|bench'
else
  bash scripts/build.sh build -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSSE_WERROR="${SSE_WERROR:-OFF}"
  cd build
  ctest --output-on-failure -j2 --timeout 600 -LE 'image|fuzz|bench'
fi
