#!/usr/bin/env bash
# deploy.kustomize: renders every kustomization under deploy/ with
# `kubectl kustomize` and checks the result:
#  - rendering succeeds without warnings;
#  - every object is valid against its API schema, unknown fields included
#    (lib/validate-k8s.mjs: npm kubernetes-models and
#    @kubernetes-models/prometheus-operator, ajv + TypeScript);
#  - the parts fit together and follow issue 5 (lib/check-rendered.mjs:
#    non-root, read-only root filesystem, no privilege escalation, requests
#    and limits, probes on /-/healthy and /-/ready, Service port `metrics`,
#    ServiceMonitor -> Service -> pods, the config accepted by the exporter's
#    own --config.check, PrometheusRule == deploy/prometheus/rules.yml,
#    dashboard ConfigMap == deploy/grafana JSON with grafana_dashboard: "1");
#  - every kustomization has an entry in kustomize-expectations.json and
#    every component is used by at least one rendered kustomization.
# Needs kubectl with kustomize >= 4 (components), node, npm and the built
# exporter (build/service_state_exporter or $SSE_BINARY).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$REPO_ROOT"

# A kubectl whose kustomize can render components (lib/kubectl.sh).
source "$DEPLOY_TESTS/lib/kubectl.sh"
find_kubectl || fail "no kubectl with kustomize >= 4 (components) that renders; tried: $KUBECTL_TRIED. $KUBECTL_HOW"
echo "using $KUBECTL_BIN ($("$KUBECTL_BIN" version --client 2>/dev/null | tr '\n' ' '))"
ensure_node_modules
binary="$(exporter_binary)"
make_tmp

mapfile -t kfiles < <(find deploy -name kustomization.yaml -o -name kustomization.yml -o -name Kustomization | sort)
[[ ${#kfiles[@]} -gt 0 ]] || fail "no kustomization under deploy/"

renders=()
components=()
for kf in "${kfiles[@]}"; do
  dir="$(dirname "$kf")"
  if grep -q '^kind: *Component' "$kf"; then
    components+=("$dir")
    continue
  fi
  out="$TMP/render-${#renders[@]}.yaml"
  if ! "$KUBECTL_BIN" kustomize "$dir" >"$out" 2>"$TMP/stderr"; then
    cat "$TMP/stderr" >&2
    fail "kubectl kustomize $dir failed"
  fi
  if [[ -s "$TMP/stderr" ]]; then
    cat "$TMP/stderr" >&2
    fail "kubectl kustomize $dir printed warnings"
  fi
  echo "rendered $dir ($(grep -c '^kind:' "$out") objects)"
  renders+=("$dir=$out")
done

# The sharded overlay sets its replicas in one place and a replacement
# copies them into --shard.count: rendered again from a copy with another
# count, both follow (check-rendered.mjs checks they agree in the real one).
sharded=deploy/kubernetes/overlays/sharded
cp -r deploy "$TMP/deploy-copy"
sed -i 's/^\(    count:\) [0-9][0-9]*$/\1 7/' "$TMP/deploy-copy/kubernetes/overlays/sharded/kustomization.yaml"
grep -q '^    count: 7$' "$TMP/deploy-copy/kubernetes/overlays/sharded/kustomization.yaml" ||
  fail "$sharded/kustomization.yaml: no replicas count line to change"
"$KUBECTL_BIN" kustomize "$TMP/deploy-copy/kubernetes/overlays/sharded" >"$TMP/sharded-7.yaml" ||
  fail "kubectl kustomize of $sharded with 7 replicas failed"
grep -q '^  replicas: 7$' "$TMP/sharded-7.yaml" && grep -q -- '- --shard.count=7$' "$TMP/sharded-7.yaml" ||
  fail "$sharded with replicas 7 does not render replicas: 7 and --shard.count=7 (the replacement)"
echo "rendered $sharded with 7 replicas: --shard.count=7"

# Every component is reached from some rendered kustomization (directly or
# through another component).
for comp in "${components[@]}"; do
  used=no
  for kf in "${kfiles[@]}"; do
    dir="$(dirname "$kf")"
    while read -r ref; do
      [[ -n "$ref" ]] || continue
      if [[ "$(realpath -m "$dir/$ref")" == "$(realpath -m "$comp")" ]]; then used=yes; fi
    done < <(sed -n '/^components:/,/^[^ -]/s/^ *- *\([^ #]*\).*/\1/p' "$kf")
  done
  [[ $used == yes ]] || fail "component $comp is not used by any kustomization, so nothing renders (or checks) it"
done

# Expectations cover exactly the rendered kustomizations.
node -e '
  const e = Object.keys(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")));
  const r = process.argv.slice(2).map((x) => x.split("=")[0]);
  const stale = e.filter((k) => !r.includes(k));
  if (stale.length) { console.error("FAIL: kustomize-expectations.json names missing kustomizations: " + stale.join(", ")); process.exit(1); }
' "$DEPLOY_TESTS/kustomize-expectations.json" "${renders[@]}"

node "$DEPLOY_TESTS/lib/validate-k8s.mjs" "${renders[@]#*=}"
node "$DEPLOY_TESTS/lib/check-rendered.mjs" --expect "$DEPLOY_TESTS/kustomize-expectations.json" \
  --binary "$binary" --tmp "$TMP" "${renders[@]}"
echo "deploy.kustomize: OK (${#renders[@]} kustomizations, ${#components[@]} components)"
