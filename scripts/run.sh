#!/usr/bin/env bash
# Sets up, builds and runs the exporter on the bundled default config.
# Extra arguments are passed to the exporter (e.g. --log.level=debug).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh build-release -DCMAKE_BUILD_TYPE=Release -DSSE_BUILD_TESTS=OFF
exec ./build-release/service_state_exporter --config.file=config/example.yaml "$@"
