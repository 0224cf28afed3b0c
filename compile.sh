#!/usr/bin/env bash
# Builds dist/weave, a single executable, with `deno compile`, exactly the
# permissions listed in scripts/permissions.txt and the router's V8 flags of
# the ./weave launcher (router_v8_flags there; see its comment).
#
# deno compile needs Deno's runtime (denort) for the target: it downloads it
# from dl.deno.land unless DENORT_BIN points at a denort binary of the same
# Deno version, which is what offline builds must do.
set -euo pipefail

here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
cd "$here"

deno="$here/.tools/node_modules/deno/deno"
if [[ ! -x "$deno" ]]; then
  deno="$(command -v deno || true)"
fi
if [[ -z "$deno" ]]; then
  echo "compile.sh: Deno not found: run the setup script or put deno on PATH" >&2
  exit 1
fi

if [[ -n "${DENORT_BIN:-}" ]]; then
  if [[ ! -x "$DENORT_BIN" ]]; then
    echo "compile.sh: DENORT_BIN=$DENORT_BIN is not an executable file" >&2
    exit 1
  fi
  export DENORT_BIN
fi

mapfile -t permissions < <(grep -v '^[[:space:]]*#' scripts/permissions.txt | tr -s ' \t' '\n' | grep -v '^$')
v8_flags="$(sed -n 's/^router_v8_flags="\(.*\)"$/\1/p' weave)"
if [[ -z "$v8_flags" ]]; then
  echo "compile.sh: no router_v8_flags=\"...\" line in ./weave" >&2
  exit 1
fi
# The minified bundle the launcher runs routers from (see ./weave), so that the
# binary's router holds the same, smaller source.
if ! ./weave --bundle || [[ ! -f dist/weave.js ]]; then
  echo "compile.sh: cannot bundle the sources (./weave --bundle)" >&2
  exit 1
fi
# kube/cli.ts is imported at run time by `weave kube-launch` (see cli/kube_launch.ts).
"$deno" compile --quiet "${permissions[@]}" --v8-flags="$v8_flags" --include kube/cli.ts \
  --output dist/weave dist/weave.js
echo "Built dist/weave"
