# Finds a kubectl that can render the kustomizations under deploy/ (sourced,
# not run; by tests/deploy/check_kustomize.sh and by scripts/test.sh before
# it installs or builds anything).
#
# Needs kubectl >= 1.21 (kustomize >= 4: components). Debian 12 has none:
# its kubernetes-client is 1.20 (kustomize 2.0.3, no components). $KUBECTL
# wins; then `kubectl` on PATH; then the Google Cloud SDK's versioned
# binaries (/usr/lib/google-cloud-sdk/bin/kubectl.1.*), because its
# /usr/bin/kubectl dispatcher has been seen replaced by a stub that only
# prints "v1.20.2". A candidate must report kustomize >= 4 and render a
# one-object kustomization, so a stub or a too-old kubectl is never used.

# kubectl_renders KUBECTL: true when it reports kustomize >= 4 and renders.
kubectl_renders() {
  local k="$1" major probe rc
  major="$("$k" version --client 2>/dev/null | sed -n 's/^Kustomize Version: v\{0,1\}\([0-9]*\).*/\1/p')"
  [[ -n "$major" && "$major" -ge 4 ]] || return 1
  probe="$(mktemp -d)"
  printf 'resources: [cm.yaml]\n' >"$probe/kustomization.yaml"
  printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: probe}\n' >"$probe/cm.yaml"
  "$k" kustomize "$probe" 2>/dev/null | grep -q '^kind: ConfigMap'
  rc=$?
  rm -rf "$probe"
  return $rc
}

# find_kubectl: sets KUBECTL_BIN to the first usable candidate and returns
# 0, or sets KUBECTL_TRIED to what was tried and returns 1.
find_kubectl() {
  local candidates=() k
  KUBECTL_BIN=""
  [[ -n "${KUBECTL:-}" ]] && candidates+=("$KUBECTL")
  command -v kubectl >/dev/null && candidates+=("$(command -v kubectl)")
  mapfile -t -O "${#candidates[@]}" candidates < <(ls -d /usr/lib/google-cloud-sdk/bin/kubectl.1.* 2>/dev/null | sort -rV)
  for k in "${candidates[@]}"; do
    if kubectl_renders "$k"; then
      KUBECTL_BIN="$k"
      return 0
    fi
  done
  KUBECTL_TRIED="${candidates[*]:-none}"
  return 1
}

# How to get one, for the failure message.
KUBECTL_HOW="install kubectl >= 1.21 (Debian 12 has none: its kubernetes-client is 1.20, whose kustomize cannot render components), e.g.
  curl -fLO https://dl.k8s.io/release/v1.32.4/bin/linux/amd64/kubectl
  install -m 0755 kubectl /usr/local/bin/kubectl
(see https://kubernetes.io/docs/tasks/tools/install-kubectl-linux/), or point KUBECTL at one"
