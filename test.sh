#!/usr/bin/env bash
# Runs every test. Installs what a fresh machine lacks (Azurite from package.json); the tests
# start their own Azurite on free ports with in-memory storage.
set -euo pipefail
cd "$(dirname "$0")"

if [ ! -x node_modules/.bin/azurite ]; then
  npm ci --no-audit --no-fund
fi

rm -rf TestResults && mkdir -p TestResults
set +e
dotnet test RunFunctions.sln "$@" 2>&1 | tee TestResults/output.log
status=${PIPESTATUS[0]}
set -e

# dotnet test prints one summary line per test project, e.g.
#   Passed!  - Failed:     0, Passed:    12, Skipped:     0, Total:    12, Duration: ...
# The last line sums them plainly.
grep -E '^(Passed|Failed)! ' TestResults/output.log | awk -F'[:,]' '
  { f += $2; p += $4; s += $6 }
  END { printf "%d passed, %d failed, %d skipped\n", p, f, s }'
exit "$status"
