#!/usr/bin/env bash
# deploy.dashboard: checks deploy/grafana/service-state-exporter.json
# (lib/check-dashboard.mjs): Grafana's schema (npm @grafana/schema, unknown
# options included), the datasource variable, the namespace and pod
# variables and that every query filters on them, the panels issue 5 asks
# for; every PromQL expression parses (`promtool check rules` on the
# expressions as recording rules) and names only metrics the exporter or
# the aggregator serves (known-metrics.txt, itself checked against the
# built exporter's /metrics).
# Needs promtool (Debian: prometheus), node, npm, curl and the built exporter.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$DEPLOY_TESTS/lib/served-metrics.sh"
cd "$REPO_ROOT"

require promtool "install the Debian package prometheus"
ensure_node_modules
binary="$(exporter_binary)"
make_tmp

dashboard=deploy/grafana/service-state-exporter.json
node "$DEPLOY_TESTS/lib/check-dashboard.mjs" "$dashboard" "$DEPLOY_TESTS/known-metrics.txt" "$TMP/dashboard-rules.yml"
if ! promtool check rules "$TMP/dashboard-rules.yml" >"$TMP/promtool.out" 2>&1; then
  cat "$TMP/promtool.out" >&2
  echo "the expressions, in order:" >&2
  sed -n 's/^      # //p' "$TMP/dashboard-rules.yml" | nl -v1 >&2
  fail "promtool rejects a PromQL expression of $dashboard (rule N above is expression N)"
fi
echo "promtool: every dashboard expression parses"
check_served_metrics "$binary" "$DEPLOY_TESTS/known-metrics.txt" "$TMP"
echo "deploy.dashboard: OK"
