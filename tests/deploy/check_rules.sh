#!/usr/bin/env bash
# deploy.rules: the alert rules deploy/prometheus/rules.yml
#  - `promtool check rules` (syntax, PromQL);
#  - `promtool test rules deploy/prometheus/tests/*.yml` (each alert firing
#    and quiet at its edges: 4m59s vs 5m, 4 vs 5 transitions, stopped does
#    not page, two replicas do not double, a three-state cycle flaps);
#  - the PrometheusRule of deploy/kubernetes/components/prometheus-rule is
#    exactly rules.yml (regenerated and diffed);
#  - lib/check-rules-meta.mjs: required alerts, severity, summary,
#    description, runbook_url to an existing docs/runbook.md section, firing
#    and quiet tests per alert, known metrics only, replica labels
#    aggregated away.
# Needs promtool (Debian: prometheus), node and npm.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$REPO_ROOT"

require promtool "install the Debian package prometheus"
ensure_node_modules

rules=deploy/prometheus/rules.yml
promtool check rules "$rules" || fail "promtool check rules $rules"
shopt -s nullglob
tests=(deploy/prometheus/tests/*.yml)
[[ ${#tests[@]} -gt 0 ]] || fail "no promtool tests in deploy/prometheus/tests"
promtool test rules "${tests[@]}" || fail "promtool test rules: an alert does not behave as its tests say"
deploy/prometheus/generate-prometheusrule.sh --check ||
  fail "the PrometheusRule does not carry exactly $rules"
echo "PrometheusRule: carries exactly $rules"
node "$DEPLOY_TESTS/lib/check-rules-meta.mjs" "$rules" deploy/prometheus/tests docs/runbook.md "$DEPLOY_TESTS/known-metrics.txt"
echo "deploy.rules: OK"
