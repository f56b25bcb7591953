#!/usr/bin/env bash
# Installs what service_state_exporter needs on Debian 12, from Debian's
# packages only. Usage: scripts/setup.sh [--test]
#   (no flag)  build dependencies
#   --test     also the tools the test suite runs for real (promtool,
#              prometheus, clang for the sanitizer build, ...)
#   --bench    also the peers and tools of bench/run.sh (nginx, wrk,
#              blackbox_exporter, perf, gnuplot); not part of --test
# Installs only what is missing; safe to run again.
set -euo pipefail

build_packages=(
  g++ cmake ninja-build ccache pkg-config git ca-certificates curl
  prometheus-cpp-dev libboost1.81-dev libboost-url1.81-dev libboost-system1.81-dev
  nlohmann-json3-dev libspdlog-dev libyaml-cpp-dev libssl-dev zlib1g-dev catch2
  libcrypt-dev
)
test_packages=(
  prometheus clang libclang-rt-14-dev curl openssl
  # the format check of .ci/run (scripts/check-format.sh)
  clang-format
  # headless browser for the landing page test; the Python client's strict
  # OpenMetrics parser lints our OpenMetrics output (promtool cannot)
  chromium python3-prometheus-client
  # htpasswd makes the bcrypt hashes of the web config tests, as users do
  apache2-utils
)

bench_packages=(
  nginx-light wrk prometheus-blackbox-exporter linux-perf gnuplot-nox curl
)

want=("${build_packages[@]}")
if [[ "${1:-}" == "--bench" ]]; then
  want+=("${bench_packages[@]}")
fi
if [[ "${1:-}" == "--test" ]]; then
  want+=("${test_packages[@]}")
  # node and npm run the fake muster (tests/mcp, the MCP TypeScript SDK)
  # and the deploy checks; Debian's nodejs 18 is enough. A node already on
  # PATH (these machines have node 20 outside Debian) is used as it is.
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    want+=(nodejs npm)
  fi
  # util-linux: flock (npm installs) and prlimit (descriptor tests).
  want+=(util-linux)
fi

missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The prometheus package starts a server on :9090 where systemd runs;
  # the tests start their own on 127.0.0.1 and do not need it.
else
  echo "setup: all packages present"
fi
