# Shared helpers for tests/deploy/check_*.sh (sourced, not run).
# Every check runs from the repository root, fails loudly and never skips:
# a missing tool is a failure that names the Debian package to install.

DEPLOY_TESTS="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO_ROOT="$(cd "$DEPLOY_TESTS/../.." && pwd)"

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# require TOOL HOW: fails unless TOOL is on PATH; HOW says how to get it.
require() {
  command -v "$1" >/dev/null 2>&1 ||
    fail "required tool '$1' not found: $2 (see tests/deploy/README.md)"
}

# Installs tests/deploy/node_modules from package-lock.json when missing or
# stale (tests/deploy/setup.sh), so every check can use the npm packages.
ensure_node_modules() {
  require node "install the Debian package nodejs"
  require npm "install the Debian package npm"
  bash "$DEPLOY_TESTS/setup.sh" >&2 || fail "tests/deploy/setup.sh could not install the npm packages"
}

# make_tmp: a private temp dir, removed when the script exits.
make_tmp() {
  TMP="$(mktemp -d "${TMPDIR:-/tmp}/sse-deploy-check.XXXXXX")"
  trap 'rm -rf "$TMP"' EXIT
}

# The exporter binary: $SSE_BINARY, else build/service_state_exporter.
exporter_binary() {
  local bin="${SSE_BINARY:-$REPO_ROOT/build/service_state_exporter}"
  [[ -x "$bin" ]] || fail "exporter binary $bin not found: build it first (cmake --build build) or set SSE_BINARY"
  echo "$bin"
}
