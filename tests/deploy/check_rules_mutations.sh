#!/usr/bin/env bash
# deploy.rules_mutations: proves that the promtool tests of
# deploy/prometheus/tests pin down what issue 5 asks of the alerts. Each
# mutation below breaks one property of one alert in a copy of rules.yml; the
# alert's test file must then fail. A mutation that survives means a test no
# longer covers that edge; a mutation that no longer applies (the rule was
# rewritten) fails too, so this list is kept up to date with the rules.
# Needs promtool (Debian: prometheus) and node.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$REPO_ROOT"

require promtool "install the Debian package prometheus"
require node "install the Debian package nodejs"
make_tmp

# Minutes of promtool on every core would starve the timing tests ctest -j2
# runs beside this one (integration.a large config is parsed off the I/O
# thread bounds an answer at 0.5 s): one core, and the lowest priority.
export GOMAXPROCS=1
renice -n 19 -p $$ >/dev/null

# Five fields per mutation: alert, test file, what the test must notice,
# text to replace (first occurrence in the alert's rule), replacement ("\n"
# is a newline).
mutations=(
  MusterServiceDown service_down "4m59s vs 5m" "for: 5m" "for: 4m"
  MusterServiceDown service_down "4m59s vs 5m" "for: 5m" "for: 6m"
  MusterServiceDown service_down "stopped does not page" 'state="stopped"' 'state="stoped"'
  MusterServiceDown service_down "one replica seeing it up is enough" "max without (instance, pod) (muster_service_up)" "min without (instance, pod) (muster_service_up)"
  MusterServiceDown service_down "two replicas do not double" "max without (instance, pod) (muster_service_up)" "max without (instance) (muster_service_up)"
  MusterServiceFlapping service_flapping "4 transitions do not fire (increase() extrapolates)" "floor(" "("
  MusterServiceFlapping service_flapping "5 transitions fire" ") > 4" ") > 5"
  MusterServiceFlapping service_flapping "4 transitions do not fire" ") > 4" ") > 3"
  MusterServiceFlapping service_flapping "counted over all from/to pairs" "(increase(muster_service_state_changes_total[10m]))" "(increase(muster_service_state_transitions_total[10m]))"
  MusterServiceFlapping service_flapping "fires at once" "severity: warning" 'severity: warning\n        for: 1m'
  MusterServiceFlapping service_flapping "two replicas do not double" "max without (instance, pod)" "max without (instance)"
  MusterHighToolErrorRate tool_error_rate "4m59s vs 5m" "for: 5m" "for: 4m"
  MusterHighToolErrorRate tool_error_rate "error_result counts as an error" 'outcome=~"error|error_result"' 'outcome=~"error"'
  MusterHighToolErrorRate tool_error_rate "10% threshold" ") > 0.1" ") > 0.2"
  MusterHighToolErrorRate tool_error_rate "ratio over all aggregator replicas" "sum without (instance, pod, outcome) (rate(muster_tool_calls_total{" "max without (instance, pod, outcome) (rate(muster_tool_calls_total{"
  ServiceStateExporterDown exporter "4m59s vs 5m" "for: 5m" "for: 4m"
  ServiceStateExporterDown exporter "one alert for all replicas" "count without (instance, pod)" "count without (instance)"
  ServiceStateExporterDown exporter "only the exporter's job" 'up{job="service-state-exporter"} == 0' "up == 0"
  ServiceStateExporterAbsent exporter "9m59s vs 10m" "for: 10m" "for: 9m"
  ServiceStateExporterPollsFailing exporter "more than half" ") > 0.5" ") > 0.2"
  ServiceStateExporterPollsFailing exporter "10m14s vs 10m15s" "for: 10m" "for: 9m"
  ServiceStateExporterConfigReloadFailed exporter "any replica" "min without (instance, pod)" "max without (instance, pod)"
  ServiceStateExporterConfigReloadFailed exporter "4m59s vs 5m" "for: 5m" "for: 4m"
  ServiceStateExporterShardMisconfigured shards "14m59s vs 15m" "for: 15m" "for: 14m"
  ServiceStateExporterShardMisconfigured shards "two replicas with one index" 'shard_count!="1"}) > 1' 'shard_count!="1"}) > 2'
  ServiceStateExporterShardMisconfigured shards "unsharded replicas all have index 0" '{shard_count!="1"}' ''
  ServiceStateExporterShardMisconfigured shards "duplicates counted over all replicas" 'count without (instance, pod) (service_state_exporter_shard_info' 'count without (instance) (service_state_exporter_shard_info'
  ServiceStateExporterShardMisconfigured shards "a missing shard" 'count without (shard_index, shard_count) (' 'count without (shard_index) ('
  ServiceStateExporterShardMisconfigured shards "replicas that disagree on the count" 'max without (instance, pod, shard_index) (service_state_exporter_shard_info)' 'max without (instance, pod, shard_index) (service_state_exporter_shard_info{shard_count="4"})'
)

survived=0
count=0
for ((i = 0; i < ${#mutations[@]}; i += 5)); do
  alert="${mutations[i]}" testfile="${mutations[i + 1]}" what="${mutations[i + 2]}"
  from="${mutations[i + 3]}" to="${mutations[i + 4]//\\n/$'\n'}"
  count=$((count + 1))
  mkdir -p "$TMP/m/tests"
  node "$DEPLOY_TESTS/lib/mutate-rule.mjs" deploy/prometheus/rules.yml "$alert" "$from" "$to" >"$TMP/m/rules.yml" ||
    fail "mutation of $alert ($what) no longer applies to rules.yml: update tests/deploy/check_rules_mutations.sh"
  # The mutant must be valid rules, so that only a test can kill it.
  promtool check rules "$TMP/m/rules.yml" >"$TMP/out" 2>&1 ||
    { cat "$TMP/out" >&2; fail "mutation of $alert ($what) makes invalid rules: fix the mutation"; }
  cp "deploy/prometheus/tests/$testfile.yml" "$TMP/m/tests/"
  if promtool test rules "$TMP/m/tests/$testfile.yml" >"$TMP/out" 2>&1; then
    echo "SURVIVED: $alert: '$from' -> '$to' passes $testfile.yml, so nothing tests: $what" >&2
    survived=$((survived + 1))
  else
    echo "killed: $alert: $what"
  fi
done
[[ $survived -eq 0 ]] || fail "$survived mutation(s) of rules.yml pass the promtool tests"
echo "deploy.rules_mutations: OK ($count mutations, all caught)"
