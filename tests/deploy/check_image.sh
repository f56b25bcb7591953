#!/usr/bin/env bash
# deploy.image: builds the Dockerfile with podman from a debootstrapped Debian
# 12 base and smoke-tests the image (scripts/build-image.sh): --version,
# /-/healthy, /-/ready and /metrics answer with the default ENTRYPOINT and
# CMD under a read-only root filesystem without capabilities, the image's
# USER is not root and the process runs with a non-zero uid and no effective
# capabilities; prints the image size (the final stage is FROM scratch plus
# what the binary needs). Takes minutes (debootstrap, then a C++ build in
# the image); needs root, and podman buildah debootstrap runc (installed when
# missing), iproute2, curl and Debian's mirror. Fails, with a fallback
# message, where podman cannot be had.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$REPO_ROOT"
bash scripts/build-image.sh "$@" || fail "the image did not build or failed its smoke test (see above)"
echo "deploy.image: OK"
