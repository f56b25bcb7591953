# check_served_metrics BINARY KNOWN_METRICS TMPDIR (sourced from the checks)
#
# Runs the built exporter on 127.0.0.1 watching its own /-/ready (503 until
# its first poll, then 200: one real state transition, so even the
# transition counter family exists), scrapes /metrics and fails unless every
# `exporter` line of KNOWN_METRICS is served with that type. Keeps the list
# the dashboard and rules are checked against honest. Stops the exporter it
# started.
check_served_metrics() {
  local binary="$1" known="$2" dir="$3"
  require curl "install the Debian package curl"
  local port pid="" i
  for _ in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 20000))
    cat >"$dir/served.yaml" <<YAML
global:
  poll_interval: 300ms
  poll_timeout: 250ms
services:
  - name: self
    type: exporter
    url: http://127.0.0.1:$port/-/ready
    source: http_status
YAML
    "$binary" --config.file="$dir/served.yaml" --web.listen-address="127.0.0.1:$port" >"$dir/served.log" 2>&1 &
    pid=$!
    for i in $(seq 1 50); do
      if curl -fsS "http://127.0.0.1:$port/-/healthy" >/dev/null 2>&1; then break; fi
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then break; fi
    pid=""
  done
  [[ -n "$pid" ]] || { cat "$dir/served.log" >&2; fail "could not start $binary on 127.0.0.1"; }

  local missing="" ok=no
  for i in $(seq 1 50); do
    curl -fsS "http://127.0.0.1:$port/metrics" >"$dir/served.txt" 2>/dev/null || true
    missing="$(awk '
      FNR == NR { if ($1 == "#" && $2 == "TYPE") served[$3] = $4; next }
      /^[[:space:]]*(#|$)/ { next }
      $3 == "exporter" && served[$1] != $2 { printf "%s (%s, served: %s)\n", $1, $2, served[$1] == "" ? "no" : served[$1] }
    ' "$dir/served.txt" "$known")"
    if [[ -z "$missing" ]]; then ok=yes; break; fi
    sleep 0.2
  done
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if [[ $ok != yes ]]; then
    echo "$missing" >&2
    fail "the exporter does not serve these metrics of tests/deploy/known-metrics.txt as listed"
  fi
  echo "served metrics: every exporter metric of known-metrics.txt is served with its type"
}
