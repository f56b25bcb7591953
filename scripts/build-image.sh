#!/usr/bin/env bash
# Builds the Dockerfile without a Docker engine or a registry, and
# smoke-tests the image: podman and buildah from Debian, with a Debian 12
# base image made locally by debootstrap (the way an air-gapped user builds
# it, too). Everything it makes (temp storage, base image, containers,
# network namespace) is removed at the end.
#
# usage: scripts/build-image.sh [--tag NAME] [--save FILE.tar] [--no-smoke]
#   --tag NAME       image name (default localhost/service_state_exporter:test)
#   --save FILE.tar  also write the image as an OCI archive
#                    (`docker load -i FILE.tar` / `podman load -i FILE.tar`)
#   --no-smoke       build only
# Environment:
#   SSE_IMAGE_BASE_TAR  reuse this tarball of the debootstrapped base (made
#                       on the first run when missing): saves ~2 minutes.
#   DEBIAN_MIRROR       mirror for debootstrap (default: from the host's apt
#                       sources, else http://deb.debian.org/debian).
#
# Needs root, and installs (apt-get) podman buildah debootstrap runc when
# missing. Smoke test: --version; the container answers /-/healthy, /-/ready
# and /metrics (its own health as a watched service, up 1) with the default
# ENTRYPOINT and CMD, in its own network namespace, with a read-only root
# filesystem and no capabilities; the image's USER is not root and the
# process runs with a non-zero uid and no effective capabilities. Prints the
# image size.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tag=localhost/service_state_exporter:test
save=""
smoke=yes
while [[ $# -gt 0 ]]; do
  case "$1" in
    --tag) tag="$2"; shift 2 ;;
    --save) save="$(realpath -m "$2")"; shift 2 ;;
    --no-smoke) smoke=no; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done

say() { echo "build-image: $*" >&2; }
die() { echo "build-image: FAIL: $*" >&2; exit 1; }
fallback() {
  cat >&2 <<EOF
build-image: FAIL: $*
build-image: podman cannot build the image on this machine. The Dockerfile
build-image: is standard; with a Docker engine, build and smoke-test it with:
build-image:   docker build -t service_state_exporter .
build-image:   docker run --rm -d -p 9810:9810 --read-only --cap-drop ALL --name sse service_state_exporter
build-image:   curl -s localhost:9810/metrics | grep muster_service_up; docker rm -f sse
EOF
  exit 1
}
start=$SECONDS
phase_start=$SECONDS
phase() { say "$1 done in $((SECONDS - phase_start))s"; phase_start=$SECONDS; }

[[ $(id -u) -eq 0 ]] || fallback "needs root (rootful podman with a private storage; rootless is not set up here)"
[[ -f "$repo/Dockerfile" ]] || die "no Dockerfile in $repo"

# 1. Tools.
missing=()
for tool in podman buildah debootstrap runc; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  say "installing ${missing[*]} (apt-get)"
  command -v apt-get >/dev/null || fallback "${missing[*]} missing and no apt-get to install them"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman buildah debootstrap runc >/dev/null; } ||
    fallback "could not install podman buildah debootstrap runc with apt-get"
  phase "install"
fi
for tool in ip curl; do command -v "$tool" >/dev/null || die "$tool missing (Debian: iproute2, curl)"; done

# 2. A private podman configuration and storage.
work="$(mktemp -d /var/tmp/sse-image.XXXXXX)"
netns=""
cleanup() {
  set +e
  if [[ -n "${CONTAINERS_STORAGE_CONF:-}" ]]; then
    podman rm -af -t 0 >/dev/null 2>&1
    podman system reset -f >/dev/null 2>&1
  fi
  [[ -n "$netns" ]] && ip netns delete "$netns" 2>/dev/null
  # Overlay mounts left behind would keep rm from removing the storage.
  grep -o " $work/[^ ]*" /proc/mounts 2>/dev/null | sort -r | xargs -r -n1 umount -l 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
hard_n="$(ulimit -Hn)"; [[ "$hard_n" == unlimited || "$hard_n" -gt 1024 ]] && hard_n=1024
hard_u="$(ulimit -Hu)"; [[ "$hard_u" == unlimited || "$hard_u" -gt 1024 ]] && hard_u=1024
cat >"$work/containers.conf" <<EOF
[containers]
# At or below the hard limits: without CAP_SYS_RESOURCE runc cannot raise them.
default_ulimits = ["nofile=$hard_n:$hard_n", "nproc=$hard_u:$hard_u"]
[engine]
# crun fails here ("cgroups in hybrid mode not supported"); runc works.
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
cat >"$work/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$work/storage"
runroot = "$work/runroot"
EOF
export CONTAINERS_CONF="$work/containers.conf" CONTAINERS_STORAGE_CONF="$work/storage.conf"

# 3. The base image, debian:bookworm-slim, made locally.
# shellcheck source=scripts/lib/debian-mirror.sh
source "$repo/scripts/lib/debian-mirror.sh"
base=docker.io/library/debian:bookworm-slim
if [[ -n "${SSE_IMAGE_BASE_TAR:-}" && -s "$SSE_IMAGE_BASE_TAR" ]]; then
  say "importing the base image from $SSE_IMAGE_BASE_TAR"
  podman import -q "$SSE_IMAGE_BASE_TAR" "$base" >/dev/null
else
  say "debootstrap bookworm (minbase) from $mirror"
  rootfs="$work/rootfs"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log" >&2; die "debootstrap failed (log above)"; }
  # Updates and security fixes for the apt-get in the Dockerfile.
  cat >"$rootfs/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security bookworm-security main
EOF
  # Slim, as Debian's official -slim images are: no documentation (but the
  # copyright files), man pages or translations, now or from later installs.
  printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' \
    'path-exclude /usr/share/man/*' 'path-exclude /usr/share/info/*' \
    'path-exclude /usr/share/locale/*' 'path-exclude /usr/share/lintian/*' \
    >"$rootfs/etc/dpkg/dpkg.cfg.d/slim"
  find "$rootfs/usr/share/doc" -mindepth 1 -not -type d -not -name copyright -delete
  find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$rootfs"/usr/share/{man,info,locale,lintian}/*
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/lib/apt/lists/*
  if [[ -n "${SSE_IMAGE_BASE_TAR:-}" ]]; then
    tar -C "$rootfs" -c . >"$SSE_IMAGE_BASE_TAR"
    podman import -q "$SSE_IMAGE_BASE_TAR" "$base" >/dev/null
  else
    tar -C "$rootfs" -c . | podman import -q - "$base" >/dev/null
  fi
  rm -rf "$rootfs"
fi
phase "base image"

# 4. Build (niced: the C++ build takes both cores for minutes).
revision="$(git -C "$repo" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
say "podman build -t $tag (revision $revision)"
nice -n 10 podman build --pull=never --network host --build-arg "REVISION=$revision" \
  -t "$tag" -f "$repo/Dockerfile" "$repo" >"$work/build.log" 2>&1 ||
  { tail -40 "$work/build.log" >&2; die "podman build failed (last lines above)"; }
phase "build"
say "image size: $(podman image inspect --format '{{.Size}}' "$tag" | awk '{ printf "%.1f MB", $1 / 1e6 }')"

if [[ -n "$save" ]]; then
  podman save --format oci-archive -o "$save" "$tag" >/dev/null
  say "saved the image to $save"
fi
if [[ $smoke == no ]]; then
  say "built $tag in $((SECONDS - start))s (no smoke test)"
  exit 0
fi

# 5. Smoke test.
user="$(podman image inspect --format '{{.Config.User}}' "$tag")"
case "${user%%:*}" in
  "" | 0 | root) die "the image's USER is '${user}': it would run as root" ;;
esac
version="$(podman run --rm --network none "$tag" --version 2>&1)" || die "--version failed: $version"
[[ "$version" == *service_state_exporter* ]] || die "--version printed: $version"
say "image user $user; $version"

# Default ENTRYPOINT and CMD: the bundled config, :9810, watching its own
# /-/healthy. Its own network namespace, so nothing on the host's port 9810
# interferes; locked down like the Kubernetes manifests.
netns="sse-smoke-$$"
ip netns add "$netns"
ip -n "$netns" link set lo up
cid="$(podman run -d --network "ns:/run/netns/$netns" --read-only --cap-drop ALL \
  --security-opt no-new-privileges "$tag")"
in_ns() { ip netns exec "$netns" "$@"; }
ready=no
for _ in $(seq 1 100); do
  if in_ns curl -fsS -o /dev/null http://127.0.0.1:9810/-/ready 2>/dev/null; then ready=yes; break; fi
  [[ "$(podman inspect --format '{{.State.Running}}' "$cid")" == true ]] || break
  sleep 0.2
done
if [[ $ready != yes ]]; then
  podman logs "$cid" >&2 || true
  die "the container did not become ready on :9810/-/ready (its log above)"
fi
# The image has no shell or `id`: the process's own status says who it runs
# as and with which capabilities.
pid="$(podman inspect --format '{{.State.Pid}}' "$cid")"
uid="$(awk '/^Uid:/ { print $3 }' "/proc/$pid/status")"
capeff="$(awk '/^CapEff:/ { print $2 }' "/proc/$pid/status")"
[[ "$uid" =~ ^[0-9]+$ && "$uid" -ne 0 ]] || die "the exporter runs as uid '$uid'"
[[ "$capeff" =~ ^0+$ ]] || die "the exporter has capabilities $capeff"
say "the exporter runs as uid $uid without capabilities (CapEff $capeff), read-only"
in_ns curl -fsS -o /dev/null http://127.0.0.1:9810/-/healthy || die "/-/healthy did not answer 200"
metrics="$(in_ns curl -fsS http://127.0.0.1:9810/metrics)" || die "/metrics did not answer"
grep -Eq '^muster_service_up\{[^}]*service_name="service_state_exporter"[^}]*\} 1$' <<<"$metrics" ||
  { echo "$metrics" | head -40 >&2; die "/metrics lacks muster_service_up{service_name=\"service_state_exporter\"} 1"; }
grep -q '^service_state_exporter_build_info{' <<<"$metrics" || die "/metrics lacks service_state_exporter_build_info"
podman stop -t 5 "$cid" >/dev/null
status="$(podman inspect --format '{{.State.ExitCode}}' "$cid")"
[[ "$status" == 0 ]] || { podman logs "$cid" >&2; die "the exporter exited $status on SIGTERM"; }
phase "smoke test"
say "OK: $tag built and smoke-tested in $((SECONDS - start))s"
