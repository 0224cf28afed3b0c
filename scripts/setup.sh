#!/usr/bin/env bash
# Installs what weave's demo, tests and benchmarks need on a Debian machine with Node and npm,
# as root. Safe to run twice: it installs only what is missing. Prints where Deno is.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DENO_VERSION=2.9.6

# Installs the packages of "$@" (after the options for apt-get, up to --) that are missing.
install_missing() {
  local opts=() missing=()
  while [ "$1" != "--" ]; do opts+=("$1"); shift; done
  shift
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  apt-get install -y -qq "${opts[@]}" "${missing[@]}" >/dev/null
}

# The tools of the tests and demo; containerd, runc and the CNI reference plugins and libcni's
# source for the CNI tests; openssl for the Kubernetes client's TLS test.
install_missing -- iproute2 nftables iperf3 iputils-ping bind9-dnsutils tcpdump tshark libsodium23 \
  procps util-linux dnsperf containerd runc busybox-static containernetworking-plugins golang-go \
  golang-github-appc-cni-dev openssl
# The Docker engine for the Docker tests (proxy, plugin, containers by name), without the
# recommended extras; busybox-static makes their image offline.
install_missing --no-install-recommends -- docker.io busybox-static

deno="$here/.tools/node_modules/deno/deno"
if [ ! -x "$deno" ] || [ "$("$deno" --version | head -1 | cut -d' ' -f2)" != "$DENO_VERSION" ]; then
  echo "setup: installing Deno $DENO_VERSION from the npm registry" >&2
  mkdir -p "$here/.tools"
  npm install --silent --no-save --no-audit --no-fund --prefix "$here/.tools" "deno@$DENO_VERSION" >&2
fi
echo "$deno"
