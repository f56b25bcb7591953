#!/usr/bin/env bash
# The soak test: the real exporter against a fake fleet of 10,000 services
# polled every second (~10k polls/s) for 10 minutes, a quarter of them
# flapping. Samples RSS and open fds, compares the exporter's transition
# counters with the fleet's own change log, prints a summary table.
#
# Usage: bench/soak.sh [sse_soak flags...]   e.g. --duration=2m
#   (defaults: --duration=10m --services=10000 --interval=1s
#    --flapping=0.25 --flap-period=5s..15s --warmup=60s)
# Runs nice'd; builds build/ (RelWithDebInfo) first.
set -euo pipefail
cd "$(dirname "$0")/.."
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$(cd .. && pwd)}
nice bash scripts/build.sh build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build --target sse_soak service_state_exporter >/dev/null
# Each poll connection is a file descriptor in the exporter and the fleet.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
mkdir -p build/bench
exec nice ./build/bench/sse_soak --exporter=build/service_state_exporter \
  --duration=10m --services=10000 --interval=1s --flapping=0.25 \
  --flap-period=5s..15s --warmup=60s --sample=5s \
  --log=build/bench/soak-changes.log "$@"
