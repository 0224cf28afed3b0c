#!/usr/bin/env bash
# THE test command: installs what the tests need (scripts/setup.sh), runs every Deno test of the
# repo in parallel, keeps the output in a log, and ends with one line "N passed, N failed" taken
# from Deno's summary. Exits non-zero when a test failed or no summary was printed (a type error,
# say: counted as one failure). Extra arguments go to `deno test` (paths, --filter).
# Namespace tests need root; run as another user, they are reported as ignored.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
log=${WEAVE_TEST_LOG:-$here/test.log}

if ! deno=$(bash scripts/setup.sh); then
  echo "test: scripts/setup.sh failed" >&2
  echo "0 passed, 1 failed"
  exit 1
fi

# The router's bundle (see ./weave), built once here rather than by each test's first launch.
./weave --bundle || echo "test: no router bundle; routers run the sources" >&2

NO_COLOR=1 "$deno" test --allow-all --parallel "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}

summary=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E '^(ok|FAILED) \| [0-9]+ passed' | tail -n 1)
if [ -z "$summary" ]; then
  echo "test: no Deno test summary in $log (exit code $rc): counted as 1 failure" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
passed=$(sed -E 's/^[A-Z a-z]+\| ([0-9]+) passed.*/\1/' <<<"$summary")
failed=$(sed -E 's/.*\| ([0-9]+) failed.*/\1/' <<<"$summary")
ignored=$(grep -oE '[0-9]+ ignored' <<<"$summary" | cut -d' ' -f1)
if [ -n "$ignored" ] && [ "$ignored" != 0 ]; then
  echo "test: $ignored ignored (see $log)"
fi
echo "$passed passed, $failed failed"
if [ "$failed" != 0 ] || [ "$rc" != 0 ]; then exit 1; fi
