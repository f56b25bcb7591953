#!/usr/bin/env bash
# Installs the fake muster's npm packages (tests/mcp/package.json: the MCP
# TypeScript SDK, versions pinned in package-lock.json) into
# tests/mcp/node_modules with `npm ci`. Does nothing when node_modules already
# matches the lock file. Safe to run concurrently (CTest -j): a lock
# serialises installs.
#
# package.json overrides @hono/node-server to 1.19.x: the SDK accepts 1.x or
# 2.x, and 2.x needs node >= 20 while Debian 12 ships node 18.
#
# Needs Debian's (or NodeSource's) node >= 18 and npm, and the npm registry.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

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
echo "tests/mcp: npm ci (package-lock.json changed or node_modules missing)" >&2
npm ci --no-audit --no-fund --loglevel=error
echo "$want" >"$stamp"
