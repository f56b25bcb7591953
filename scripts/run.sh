#!/usr/bin/env bash
# Sets up, builds and runs the exporter on the bundled default config
# (config/example.yaml: the exporter watches its own /-/healthy).
# Extra arguments are passed to the exporter (e.g. --log.level=debug).
#
# The bundled config follows the listen address: with
# --web.listen-address=HOST:PORT (other than the default :9810), this script
# runs the exporter on a copy of config/example.yaml whose URL points at
# that address (build-release/example.yaml, from scripts/example-config.sh;
# an empty or wildcard host becomes 127.0.0.1). With --config.file, that
# file is used as it is.
set -euo pipefail
cd "$(dirname "$0")/.."

listen=":9810"
config_given=no
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
    --web.listen-address=*) listen="${args[i]#*=}" ;;
    --web.listen-address) listen="${args[i + 1]:-}" ;;
    --config.file | --config.file=*) config_given=yes ;;
  esac
done

bash scripts/setup.sh
echo "run.sh: building build-release (the first build takes 5-15 minutes on 2 cores)"
bash scripts/build.sh build-release -DCMAKE_BUILD_TYPE=Release -DSSE_BUILD_TESTS=OFF

config=config/example.yaml
if [[ $config_given == no && "$listen" != ":9810" ]]; then
  config=build-release/example.yaml
  bash scripts/example-config.sh "$listen" >"$config"
  echo "run.sh: the bundled config, following $listen: $config"
fi
exec ./build-release/service_state_exporter --config.file="$config" "$@"
