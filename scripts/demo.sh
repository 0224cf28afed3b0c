#!/usr/bin/env bash
# The demo to run first: three hosts in network namespaces, a weave router on each, and the mesh
# that peer discovery completes. Needs root (namespaces); installs what it needs via setup.sh.
#   ./scripts/demo.sh           run it and clean up
#   ./scripts/demo.sh --keep    leave the hosts running to look around
#   ./scripts/demo.sh --clean   remove what an earlier --keep left
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ "$(id -u)" != 0 ]; then
  echo "demo: needs root to create network namespaces: sudo $0 $*" >&2
  exit 1
fi
deno=$(bash "$here/scripts/setup.sh")
cd "$here"
./weave --bundle || true # the router's bundle (see ./weave); without it routers run the sources
exec "$deno" run --allow-all scripts/demo.ts "$@"
