#!/usr/bin/env bash
# Installs the npm packages the deploy checks use (tests/deploy/package.json,
# versions pinned in package-lock.json) into tests/deploy/node_modules.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec bash "$here/../support/npm_ci.sh" "$here"
