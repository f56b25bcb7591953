#!/usr/bin/env bash
# Writes the PrometheusRule of deploy/kubernetes/components/prometheus-rule
# from deploy/prometheus/rules.yml, the source of truth.
#
# kustomize cannot embed a file into a custom resource's spec, so the
# PrometheusRule is generated and committed; tests/deploy/check_rules.sh runs
# this script with --check and fails while the committed file differs.
# The rules are copied verbatim (indented under `spec:`), comments included,
# so the PrometheusRule carries exactly what promtool tested.
#
# usage: deploy/prometheus/generate-prometheusrule.sh [--check]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
rules="$here/rules.yml"
out="$(cd "$here/../kubernetes/components/prometheus-rule" && pwd)/prometheusrule.yaml"

render() {
  cat <<'HEADER'
# GENERATED from deploy/prometheus/rules.yml by
# deploy/prometheus/generate-prometheusrule.sh. Do not edit: edit rules.yml
# and run the script again.
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: service-state-exporter
  labels:
    app.kubernetes.io/name: service-state-exporter
    app.kubernetes.io/component: exporter
spec:
HEADER
  # Everything from the top-level `groups:` key on, indented by two spaces
  # (empty lines stay empty). The header comment of rules.yml is left out.
  awk 'found || /^groups:/ { found = 1; if ($0 == "") print ""; else print "  " $0 }' "$rules"
}

if ! grep -q '^groups:' "$rules"; then
  echo "error: $rules has no top-level 'groups:' key" >&2
  exit 1
fi

if [[ "${1:-}" == "--check" ]]; then
  if ! diff -u "$out" <(render) >&2; then
    echo "error: $out is out of date with $rules;" \
      "run deploy/prometheus/generate-prometheusrule.sh" >&2
    exit 1
  fi
  exit 0
elif [[ $# -gt 0 ]]; then
  echo "usage: $0 [--check]" >&2
  exit 2
fi

render >"$out.tmp"
mv "$out.tmp" "$out"
echo "wrote $out"
