#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (-DSSE_FUZZ=ON) and runs each one
# for SECONDS, after replaying its crash reproducers. Prints executions and
# CPU time per target; exits 1 if a target found a crash.
#
# Usage: tests/fuzz/run.sh [--build-only | --no-build] [SECONDS] [TARGET...]
#   SECONDS  per target (default 60); TARGET: config units json_state ...
#   SSE_FUZZ_BUILD_DIR  build directory (default: build-fuzz in the checkout)
#
# The working corpus grows in $SSE_FUZZ_BUILD_DIR/corpus/<target> across
# runs; tests/fuzz/corpus/<target> holds the committed seeds. A crash leaves
# $SSE_FUZZ_BUILD_DIR/artifacts/<target>-crash-*: fix it, then commit the
# input to tests/fuzz/regressions/<target>/.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${SSE_FUZZ_BUILD_DIR:-$root/build-fuzz}
mode=run
case "${1:-}" in
  --build-only) mode=build; shift ;;
  --no-build) mode=nobuild; shift ;;
esac
seconds=${1:-60}
shift || true
targets=("$@")
if ((${#targets[@]} == 0)); then
  for f in "$here"/fuzz_*.cc; do
    t=$(basename "$f" .cc)
    targets+=("${t#fuzz_}")
  done
fi

if [[ $mode != nobuild ]]; then
  CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DSSE_FUZZ=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" -j2 >/dev/null
fi
[[ $mode == build ]] && exit 0

dict_for() {
  case "$1" in
    config) echo "$here/yaml.dict" ;;
    json_state | service_list) echo "$here/json.dict" ;;
    http_response) echo "$here/http.dict" ;;
    *) echo "" ;;
  esac
}

mkdir -p "$build/artifacts"
failed=0
total_cpu=0
printf '%-16s %12s %10s %10s %8s  %s\n' target execs exec/s cpu_s corpus result
for t in "${targets[@]}"; do
  bin="$build/tests/fuzz/fuzz_$t"
  [[ -x $bin ]] || { echo "no fuzz target $t ($bin)" >&2; exit 2; }
  log="$build/artifacts/$t.log"
  : >"$log"
  result=ok
  # Crash reproducers found earlier must stay fixed.
  if compgen -G "$here/regressions/$t/*" >/dev/null; then
    if ! "$bin" "$here"/regressions/"$t"/* >>"$log" 2>&1; then
      result=REGRESSION
    fi
  fi
  corpus="$build/corpus/$t"
  mkdir -p "$corpus"
  args=(-max_total_time="$seconds" -timeout=25 -print_final_stats=1
        -artifact_prefix="$build/artifacts/$t-")
  dict=$(dict_for "$t")
  [[ -n $dict ]] && args+=(-dict="$dict")
  seeds=("$here/corpus/$t")
  [[ $t == config ]] && seeds+=("$root/tests/data/config" "$root/config")
  TIMEFORMAT='%U %S'
  rc=0
  { time "$bin" "${args[@]}" "$corpus" "${seeds[@]}" >>"$log" 2>&1; } 2>"$log.time" || rc=$?
  cpu=$(awk '{printf "%.1f", $1+$2}' "$log.time")
  [[ $rc -ne 0 && $result == ok ]] && result=CRASH
  [[ $result != ok ]] && failed=1
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  size=$(find "$corpus" -type f | wc -l)
  printf '%-16s %12s %10s %10s %8s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "$cpu" "$size" "$result"
  total_cpu=$(awk -v a="$total_cpu" -v b="$cpu" 'BEGIN{printf "%.1f", a+b}')
  if [[ $result != ok ]]; then
    grep -E 'invariant|ERROR|SUMMARY|Test unit written' "$log" | head -5 | sed 's/^/    /'
  fi
done
echo "total CPU seconds fuzzed: $total_cpu"
exit $failed
