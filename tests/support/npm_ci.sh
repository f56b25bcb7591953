#!/usr/bin/env bash
# Installs the npm packages of a test folder (its package.json, versions
# pinned in its package-lock.json) into DIR/node_modules with `npm ci`.
# Does nothing when node_modules already matches the lock file. Safe to run
# concurrently (CTest -j): a lock serialises installs.
# Usage: tests/support/npm_ci.sh DIR
#
# Needs Debian's (or NodeSource's) node >= 18 and npm, and the npm registry.
set -euo pipefail
dir="${1:?usage: npm_ci.sh DIR}"
cd "$dir"

command -v node >/dev/null || { echo "FAIL: node not found (Debian package nodejs)" >&2; exit 1; }
command -v npm >/dev/null || { echo "FAIL: npm not found (Debian package npm)" >&2; exit 1; }
command -v flock >/dev/null || { echo "FAIL: flock not found (Debian package util-linux)" >&2; exit 1; }

stamp=node_modules/.installed-from-lock.sha256
want="$(sha256sum package-lock.json | cut -d' ' -f1)"

exec 9>.setup.lock
flock 9
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  exit 0
fi
echo "$dir: npm ci (package-lock.json changed or node_modules missing)" >&2
npm ci --no-audit --no-fund --loglevel=error
echo "$want" >"$stamp"
