#!/usr/bin/env bash
# Runs every test. Installs what a fresh machine lacks (Azurite from package.json, Debian's
# chromium for the browser tests); the tests start their own Azurite on free ports with
# in-memory storage.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/lib.sh

ensure_azurite_installed

# The dashboard's browser tests drive Debian's Chromium through Playwright; Playwright's own
# browser download is blocked on the build machines and is never used.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
if [ -z "${RUNLEDGER_CHROMIUM:-}" ] && [ ! -x /usr/bin/chromium ]; then
  as_root=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then as_root="sudo -n"; else as_root="none"; fi
  fi
  if command -v apt-get >/dev/null 2>&1 && [ "$as_root" != none ]; then
    echo "Installing Chromium for the browser tests (apt-get install chromium)..."
    $as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
      && $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null || true
  fi
  if [ ! -x /usr/bin/chromium ]; then
    echo "MISSING: /usr/bin/chromium (Debian package 'chromium'), which the dashboard's browser tests need." >&2
    echo "  Install it as root: apt-get install -y chromium   (or set RUNLEDGER_CHROMIUM to a Chromium binary)." >&2
    echo "  The other tests run; tests/RunLedger.Tests/Dashboard browser tests fail saying the same." >&2
  fi
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
