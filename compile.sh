#!/usr/bin/env bash
# Builds dist/weave, a single executable, with `deno compile` and exactly the
# permissions listed in scripts/permissions.txt.
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
mkdir -p dist
"$deno" compile --quiet "${permissions[@]}" --output dist/weave main.ts
echo "Built dist/weave"
