#!/usr/bin/env bash
# Installs the fake muster's npm packages (tests/mcp/package.json: the MCP
# TypeScript SDK, versions pinned in package-lock.json) into
# tests/mcp/node_modules.
#
# package.json overrides @hono/node-server to 1.19.x: the SDK accepts 1.x or
# 2.x, and 2.x needs node >= 20 while Debian 12 ships node 18.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec bash "$here/../support/npm_ci.sh" "$here"
