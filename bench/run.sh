#!/usr/bin/env bash
# Performance benchmark: the exporter against blackbox_exporter and wrk, on
# one nginx-light fleet on 127.0.0.1, at several fleet sizes. Prints the
# figures, peer ratios and the issue's targets (bench/README.md).
#
# Usage: bench/run.sh [--smoke] [--exporter=PATH] [bench.py flags...]
#   --smoke            100 services, a few seconds per phase (< 30 s); does
#                      not install or build: exits 77 (skip) if a tool or
#                      the exporter is missing
#   --exporter=PATH    the binary to measure (default: build/, built first)
#   --services=100,1000,10000,50000  fleet sizes (default)
#   --duration=30      steady-state window per size, seconds
#   --json=FILE        also write the figures as JSON (bench/plot.sh reads it)
# Installs the missing tools with apt (scripts/setup.sh --bench) otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

smoke=0
exporter=""
args=()
for arg in "$@"; do
  case "$arg" in
    --smoke) smoke=1; args+=("$arg") ;;
    --exporter=*) exporter=${arg#--exporter=} ;;
    *) args+=("$arg") ;;
  esac
done

tools=(nginx wrk prometheus-blackbox-exporter python3)
if ((smoke)); then
  for t in "${tools[@]}"; do
    command -v "$t" >/dev/null || { echo "bench: $t missing; skipped"; exit 77; }
  done
  [[ -x "${exporter:-build/service_state_exporter}" ]] || { echo "bench: no exporter; skipped"; exit 77; }
else
  for t in "${tools[@]}"; do
    command -v "$t" >/dev/null || { bash scripts/setup.sh --bench; break; }
  done
fi
if [[ -z "$exporter" ]]; then
  exporter=build/service_state_exporter
  if ((!smoke)); then
    export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$(cd .. && pwd)}
    nice -n 10 bash scripts/build.sh build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build build --target service_state_exporter >/dev/null
  fi
fi
# One connection per service in the exporter and in nginx's worker.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec python3 bench/bench.py --exporter="$exporter" "${args[@]}"
