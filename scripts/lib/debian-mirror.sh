# Sourced: sets `mirror` and `security` to the Debian archive and security
# URIs this host's apt uses (DEBIAN_MIRROR overrides the first), falling back
# to deb.debian.org, for debootstrap and the sources of what it makes.
host_uri() { # first URI of the host's apt sources whose suite matches $1
  if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
    awk -v s="$1" '/^URIs:/ { u = $2 } /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == s) { print u; exit } }' \
      /etc/apt/sources.list.d/debian.sources
  elif [[ -f /etc/apt/sources.list ]]; then
    awk -v s="$1" '$1 == "deb" && $3 == s { print $2; exit }' /etc/apt/sources.list
  fi
}
mirror="${DEBIAN_MIRROR:-$(host_uri bookworm)}"
mirror="${mirror:-http://deb.debian.org/debian}"
security="$(host_uri bookworm-security)"
security="${security:-http://deb.debian.org/debian-security}"
