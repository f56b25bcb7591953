#!/usr/bin/env bash
# The README's two commands on a fresh Debian 12, from a clean clone: what a
# new user's first hour looks like. Not part of the default test run (it
# takes about 30 minutes on 2 cores: debootstrap, two first builds, the
# whole suite).
#
# usage: tests/fresh/check.sh [--kubectl PATH] [--dir DIR] [--keep]
#   --kubectl PATH  a kubectl >= 1.21 to copy into the chroot for a third
#                   phase: the whole test suite with it
#   --dir DIR       where to debootstrap (default /srv/chroot-fresh; must
#                   not exist)
#   --keep          keep the chroot afterwards (unmounted)
# Environment: DEBIAN_MIRROR (default: the host's apt sources, else
# http://deb.debian.org/debian).
#
# It makes a Debian 12 minbase chroot (debootstrap) with a standard
# /etc/hosts, the host's apt sources, resolv.conf and local CA certificates
# (/usr/local/share/ca-certificates: proxies that re-sign TLS), /proc, /sys
# and /dev mounted, clones the checked-out branch into /src/sse, and runs:
#  1. `bash scripts/run.sh` in the background until `curl -s
#     localhost:9810/metrics | grep muster_service_up` (run inside the
#     chroot, with the curl the set-up installed) shows the exporter up;
#     then stops it by its PID;
#  2. `bash scripts/test.sh` without kubectl: it must stop within a minute,
#     before installing or building, naming kubectl;
#  3. with --kubectl: `bash scripts/test.sh` with that kubectl in
#     /usr/local/bin: it must pass.
# Prints each phase's time and exit code; everything is unmounted at the
# end. Needs root, debootstrap (installed with apt-get when missing), git,
# curl and the network to Debian's mirror and npm's registry. The exporter
# listens on the host's 127.0.0.1:9810 (the chroot shares the network):
# port 9810 must be free.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
root=/srv/chroot-fresh
kubectl=""
keep=no
while [[ $# -gt 0 ]]; do
  case "$1" in
    --kubectl) kubectl="$(realpath "$2")"; shift 2 ;;
    --dir) root="$2"; shift 2 ;;
    --keep) keep=yes; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done

say() { echo "fresh: $*"; }
die() { echo "fresh: FAIL: $*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || die "needs root (debootstrap, chroot, mounts)"
[[ ! -e "$root" ]] || die "$root exists: remove it or pass --dir"
[[ -z "$kubectl" || -x "$kubectl" ]] || die "--kubectl $kubectl is not executable"
if curl -s -o /dev/null http://127.0.0.1:9810/ 2>/dev/null; then die "something answers on 127.0.0.1:9810"; fi
command -v git >/dev/null || die "git missing"
if ! command -v debootstrap >/dev/null; then
  say "installing debootstrap"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi

branch="$(git -C "$repo" rev-parse --abbrev-ref HEAD)"
commit="$(git -C "$repo" rev-parse HEAD)"
[[ -z "$(git -C "$repo" status --porcelain --untracked-files=no)" ]] ||
  say "note: $repo has uncommitted changes; the chroot gets commit $commit only"

run_pid=""
cleanup() {
  set +e
  [[ -n "$run_pid" ]] && kill "$run_pid" 2>/dev/null && wait "$run_pid" 2>/dev/null
  for m in dev sys proc; do mountpoint -q "$root/$m" && umount -R "$root/$m"; done
  if grep -q " $root/" /proc/mounts; then
    # Never remove a tree that still has the host's /dev bound into it.
    echo "fresh: $root still has mounts (grep $root /proc/mounts); not removing it" >&2
  elif [[ $keep == no ]]; then
    rm -rf --one-file-system "$root" || echo "fresh: could not remove $root" >&2
  fi
}
trap cleanup EXIT

# shellcheck source=scripts/lib/debian-mirror.sh
source "$repo/scripts/lib/debian-mirror.sh"

t0=$SECONDS
say "debootstrap --variant=minbase bookworm $root $mirror"
debootstrap --variant=minbase bookworm "$root" "$mirror" >/tmp/fresh-debootstrap.log 2>&1 ||
  { tail -20 /tmp/fresh-debootstrap.log >&2; die "debootstrap failed"; }
cat >"$root/etc/apt/sources.list" <<SOURCES
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security bookworm-security main
SOURCES
cp /etc/resolv.conf "$root/etc/resolv.conf"
printf '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  mkdir -p "$root/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
fi
mount -t proc proc "$root/proc"
mount -t sysfs sys "$root/sys"
mount --rbind /dev "$root/dev" # with /dev/pts and /dev/shm (chromium)
mount --make-rslave "$root/dev"
git clone -q --branch "$branch" "$repo" "$root/src/sse"
# The commit this run started with, even if the branch moved meanwhile.
git -C "$root/src/sse" reset -q --hard "$commit"
say "chroot ready in $((SECONDS - t0))s: $(. "$root/etc/os-release"; echo "$PRETTY_NAME"), clone of $branch at ${commit:0:12}"
in_root() { chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin TERM=dumb "$@"; }

# 1. bash scripts/run.sh, then the README's curl inside the chroot.
t1=$SECONDS
say "1. bash scripts/run.sh (log: $root/run.log)"
chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  bash -c 'cd /src/sse && exec bash scripts/run.sh' >"$root/run.log" 2>&1 &
run_pid=$!
# The series shows 0 until the exporter's first poll of itself (spread over
# the 15 s poll interval): wait up to a minute from its first sight for 1.
up=no
seen=
up_line='^muster_service_up{service_name="service_state_exporter",service_type="exporter"} 1$'
while kill -0 "$run_pid" 2>/dev/null && ((SECONDS - t1 < 3600)); do
  if [[ -x "$root/usr/bin/curl" ]] &&
    in_root bash -c 'curl -s localhost:9810/metrics | grep muster_service_up' >"$root/curl.out" 2>/dev/null; then
    seen=${seen:-$SECONDS}
    if grep -q "$up_line" "$root/curl.out" || ((SECONDS - seen > 60)); then
      up=yes
      break
    fi
  fi
  sleep 5
done
if [[ $up != yes ]]; then
  tail -30 "$root/run.log" >&2
  die "run.sh: no muster_service_up within $((SECONDS - t1))s (log above)"
fi
say "1. run.sh: up after $((SECONDS - t1))s; curl -s localhost:9810/metrics | grep muster_service_up:"
sed 's/^/     /' "$root/curl.out"
grep -q "$up_line" "$root/curl.out" ||
  die "run.sh: the exporter is not up 1"
grep -E '^setup:|^run.sh:' "$root/run.log" | sed 's/^/     /'
pid="$run_pid"
kill "$pid"
wait "$pid" && rc=0 || rc=$?
run_pid=""
say "1. stopped the exporter (PID $pid, SIGTERM): exit $rc"

# 2. bash scripts/test.sh without kubectl: fails fast, naming it.
t2=$SECONDS
if in_root bash -c 'command -v kubectl' >/dev/null 2>&1; then
  say "2. skipped: the chroot has a kubectl"
else
  say "2. bash scripts/test.sh without kubectl"
  in_root bash -c 'cd /src/sse && bash scripts/test.sh' >"$root/test-nokubectl.log" 2>&1 && rc=0 || rc=$?
  sed 's/^/     /' "$root/test-nokubectl.log" | head -20
  say "2. test.sh without kubectl: exit $rc after $((SECONDS - t2))s"
  [[ $rc -ne 0 ]] || die "test.sh passed without kubectl?"
  grep -q kubectl "$root/test-nokubectl.log" || die "test.sh did not name kubectl"
  ((SECONDS - t2 < 60)) || die "test.sh took $((SECONDS - t2))s to stop"
  ! grep -q '^setup: installing' "$root/test-nokubectl.log" || die "test.sh installed packages before stopping"
fi

# 3. bash scripts/test.sh with a kubectl: the whole suite.
if [[ -n "$kubectl" ]]; then
  install -m 0755 "$kubectl" "$root/usr/local/bin/kubectl"
  t3=$SECONDS
  say "3. bash scripts/test.sh with kubectl $(in_root kubectl version --client 2>/dev/null | head -1) (log: $root/test.log)"
  in_root bash -c 'cd /src/sse && bash scripts/test.sh' >"$root/test.log" 2>&1 && rc=0 || rc=$?
  grep -E '^setup:|^test.sh:|tests passed|tests failed|Total Test time' "$root/test.log" | sed 's/^/     /'
  if [[ $rc -ne 0 ]]; then
    grep -E 'Failed|\*\*\*' "$root/test.log" | tail -30 >&2
    cp "$root/test.log" /tmp/fresh-test.log
    die "test.sh with kubectl: exit $rc after $((SECONDS - t3))s (log: /tmp/fresh-test.log)"
  fi
  say "3. test.sh with kubectl: exit 0 after $((SECONDS - t3))s"
fi
say "OK: the README's commands pass on a fresh Debian 12 in $((SECONDS - t0))s"
