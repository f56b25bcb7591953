#!/usr/bin/env bash
# deploy.run_config: the bundled config follows the listen address, as
# scripts/run.sh uses it: scripts/example-config.sh HOST:PORT, run on
# --web.listen-address=HOST:PORT (127.0.0.1, a free port), shows
# muster_service_up{service_name="service_state_exporter"} 1 within 15 s.
# Without it, config/example.yaml on another port shows the service
# unreachable. Needs curl and the built exporter.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$REPO_ROOT"
require curl "install the Debian package curl"
binary="$(exporter_binary)"
make_tmp

pid=""
stop() {
  [[ -n "$pid" ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$TMP"
}
trap stop EXIT

up_line='^muster_service_up\{[^}]*service_name="service_state_exporter"[^}]*\} 1$'
for attempt in 1 2 3 4 5; do
  port=$((20000 + RANDOM % 30000))
  bash scripts/example-config.sh "127.0.0.1:$port" >"$TMP/config.yaml"
  grep -q "url: http://127.0.0.1:$port/-/healthy" "$TMP/config.yaml" ||
    fail "scripts/example-config.sh did not point the URL at 127.0.0.1:$port"
  "$binary" --config.file="$TMP/config.yaml" --web.listen-address="127.0.0.1:$port" \
    >"$TMP/log" 2>&1 &
  pid=$!
  for _ in $(seq 1 150); do
    if curl -fsS "http://127.0.0.1:$port/metrics" 2>/dev/null | grep -Eq "$up_line"; then
      echo "deploy.run_config: OK (port $port: the bundled config watches its own listener, up 1)"
      exit 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    cat "$TMP/log" >&2
    fail "no muster_service_up{service_name=\"service_state_exporter\"} 1 on 127.0.0.1:$port within 15 s"
  fi
  wait "$pid" || true
  pid=""
  grep -q "address already in use\|Address already in use" "$TMP/log" || { cat "$TMP/log" >&2; fail "the exporter exited"; }
done
fail "no free port in 5 attempts"
