#!/usr/bin/env bash
# deploy.image: builds the Dockerfile with podman from a debootstrapped Debian
# 12 base and smoke-tests the image (scripts/build-image.sh): --version,
# /-/healthy, /-/ready and /metrics answer with the default ENTRYPOINT and
# CMD under a read-only root filesystem without capabilities, and the image
# runs as a non-root user. Takes minutes (debootstrap, then a C++ build in
# the image); needs root, and podman buildah debootstrap runc (installed when
# missing), iproute2, curl and Debian's mirror. Fails, with a fallback
# message, where podman cannot be had.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$REPO_ROOT"
bash scripts/build-image.sh "$@" || fail "the image did not build or failed its smoke test (see above)"
echo "deploy.image: OK"
