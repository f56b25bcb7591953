#!/usr/bin/env bash
# deploy.configs: the exporter configurations the repository ships or
# documents are accepted by the exporter's own --config.check:
#  - every bundled config (config/*.yaml, among them config/muster-sidecar.yaml)
#    and every fixture (tests/deploy/fixtures/*.yaml, among them the muster
#    admin-API config of docs/muster.md);
#  - in README.md and docs/*.md, a ```yaml block right after the line
#    `<!-- config-check -->` is checked the same way, and one right after
#    `<!-- same as PATH -->` must be exactly the file PATH (so the docs show
#    what is checked, not a drifted copy), one right after
#    `<!-- web-config-check -->` is checked as a --web.config.file (TLS
#    files loaded, certificate and key matching); every other yaml block
#    there follows `<!-- not an exporter config: WHAT -->` (Kubernetes
#    fragments, a Prometheus scrape config), so none goes unchecked unseen;
#  - every `htpasswd` command in README.md and docs/ is the one the
#    exporter's own error message suggests for a plain password.
# Credential files the configs name need not exist: as in Prometheus, a
# missing one is no config error (the polls that need it fail). Certificate
# files must: the doc blocks are checked in a directory that has the ones
# the docs name (ca.pem, client.pem, client-key.pem, server.crt,
# server.key, clients-ca.crt), made here with openssl.
# Needs the built exporter (build/service_state_exporter or $SSE_BINARY).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$REPO_ROOT"
binary="$(exporter_binary)"
make_tmp

checked=0
failed=0
check() { # check FILE WHAT [--web.config.file=...]
  local out
  if out="$("$binary" --config.check --config.file="$1" "${@:3}" 2>&1)"; then
    checked=$((checked + 1))
    echo "ok: $2"
    [[ -z "$out" ]] || sed 's/^/    /' <<<"$out"
  else
    failed=$((failed + 1))
    echo "FAIL: $binary --config.check rejects $2:" >&2
    sed 's/^/    /' <<<"$out" >&2
  fi
}

shopt -s nullglob
configs=(config/*.yaml tests/deploy/fixtures/*.yaml)
shopt -u nullglob
[[ -f config/muster-sidecar.yaml && -f tests/deploy/fixtures/muster-admin-api.yaml ]] ||
  fail "config/muster-sidecar.yaml or tests/deploy/fixtures/muster-admin-api.yaml is missing"
for f in "${configs[@]}"; do check "$f" "$f"; done

# Marked YAML blocks of the docs: each becomes $TMP/block-N.yaml, listed in
# $TMP/blocks as "N<TAB>MARK<TAB>ARG<TAB>FILE:LINE".
docs=(README.md docs/*.md)
awk -v dir="$TMP" '
  FNR == 1 { mark = ""; inblock = 0 }
  inblock {
    if ($0 ~ /^```[ \t]*$/) { inblock = 0; close(out); next }
    print > out; next
  }
  match($0, /^<!-- *config-check *-->[ \t]*$/) { mark = "check"; arg = "-"; at = FNR; next }
  match($0, /^<!-- *web-config-check *-->[ \t]*$/) { mark = "web"; arg = "-"; at = FNR; next }
  match($0, /^<!-- *not an exporter config: [^ ].* *-->[ \t]*$/) { mark = "other"; arg = "-"; at = FNR; next }
  match($0, /^<!-- *same as [^ ]+ *-->[ \t]*$/) {
    mark = "same"; arg = $0
    sub(/^<!-- *same as /, "", arg); sub(/ *-->[ \t]*$/, "", arg); at = FNR; next
  }
  mark == "" && /^```ya?ml[ \t]*$/ {
    printf "%s:%d: a yaml block without a marker (<!-- config-check -->, <!-- web-config-check -->, <!-- same as PATH --> or <!-- not an exporter config: WHAT -->)\n", FILENAME, FNR > (dir "/errors")
    inblock = 1; out = "/dev/null"; next
  }
  mark == "other" && /^```ya?ml[ \t]*$/ { others++; inblock = 1; out = "/dev/null"; mark = ""; next }
  mark != "" && /^```ya?ml[ \t]*$/ {
    n++; out = dir "/block-" n ".yaml"; printf "" > out
    printf "%d\t%s\t%s\t%s:%d\n", n, mark, arg, FILENAME, FNR + 1 > (dir "/blocks")
    inblock = 1; mark = ""; next
  }
  mark != "" && !/^[ \t]*$/ { printf "%s:%d: a marker must be followed by a ```yaml block\n", FILENAME, at > (dir "/errors"); mark = "" }
' "${docs[@]}"
if [[ -s "$TMP/errors" ]]; then
  sed 's/^/FAIL: /' "$TMP/errors" >&2
  failed=$((failed + 1))
fi
# The certificate files the doc blocks name, beside the blocks.
require openssl "install the Debian package openssl"
pem() { # pem NAME: a self-signed certificate NAME.crt/NAME.key for localhost
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
    -keyout "$TMP/$1.key" -out "$TMP/$1.crt" 2>/dev/null || fail "openssl could not make a test certificate"
}
pem server
pem client
pem ca
cp "$TMP/client.crt" "$TMP/client.pem"
cp "$TMP/client.key" "$TMP/client-key.pem"
cp "$TMP/ca.crt" "$TMP/ca.pem"
cp "$TMP/ca.crt" "$TMP/clients-ca.crt"
printf 'services: []\n' >"$TMP/empty.yaml"

blocks=0
if [[ -f "$TMP/blocks" ]]; then
  while IFS=$'\t' read -r n mark arg where; do
    blocks=$((blocks + 1))
    if [[ $mark == check ]]; then
      check "$TMP/block-$n.yaml" "the yaml block at $where"
    elif [[ $mark == web ]]; then
      check "$TMP/empty.yaml" "the web config block at $where" --web.config.file="$TMP/block-$n.yaml"
    elif [[ ! -f "$arg" ]]; then
      echo "FAIL: $where: <!-- same as $arg -->: no such file" >&2
      failed=$((failed + 1))
    elif ! diff -u --label "$arg" --label "$where" "$arg" "$TMP/block-$n.yaml" >&2; then
      echo "FAIL: the yaml block at $where differs from $arg (above); copy the file into the docs" >&2
      failed=$((failed + 1))
    else
      echo "ok: the yaml block at $where is $arg"
    fi
  done <"$TMP/blocks"
fi
# One htpasswd line: the one the exporter's error message suggests for a
# plain password in basic_auth_users is the one README.md and docs/ show.
printf 'basic_auth_users:\n  prometheus: not-a-hash\n' >"$TMP/plain.yml"
suggested="$("$binary" --config.check --config.file="$TMP/empty.yaml" --web.config.file="$TMP/plain.yml" 2>&1 |
  grep -o 'htpasswd [^)]*' | head -1)" || true
[[ -n "$suggested" ]] || { echo "FAIL: the error for a plain password suggests no htpasswd line" >&2; failed=$((failed + 1)); }
while IFS= read -r shown; do
  [[ "$shown" == *"$suggested"* ]] ||
    { echo "FAIL: $shown: not the htpasswd line of the error message ($suggested)" >&2; failed=$((failed + 1)); }
done < <(grep -Hn 'htpasswd -' README.md docs/*.md || true)
echo "ok: README.md and docs/ show the error message's htpasswd line: $suggested"

grep -q '<!-- *same as tests/deploy/fixtures/muster-admin-api.yaml *-->' docs/muster.md ||
  fail "docs/muster.md does not show tests/deploy/fixtures/muster-admin-api.yaml (<!-- same as ... --> block)"

[[ $failed -eq 0 ]] || fail "$failed problem(s) above"
echo "deploy.configs: OK ($checked config(s) accepted by --config.check, $blocks doc block(s))"
