#!/usr/bin/env bash
# Runs Run Ledger locally: Azurite (installed from package.json if missing, data in .azurite/)
# and the app on http://localhost:7071, processing the agent-progress queue itself.
set -euo pipefail
cd "$(dirname "$0")"

if [ ! -x node_modules/.bin/azurite ]; then
  npm ci --no-audit --no-fund
fi

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

azurite_pid=""
if port_open 10001 && port_open 10002; then
  echo "Azurite already listening on 10001/10002; using it."
else
  mkdir -p .azurite
  node_modules/.bin/azurite --location .azurite --silent --skipApiVersionCheck --loose \
    --blobHost 127.0.0.1 --queueHost 127.0.0.1 --tableHost 127.0.0.1 \
    >.azurite/azurite.log 2>&1 &
  azurite_pid=$!
  trap '[ -n "$azurite_pid" ] && kill "$azurite_pid" 2>/dev/null || true' EXIT
  for _ in $(seq 1 100); do
    port_open 10001 && port_open 10002 && break
    sleep 0.2
  done
  port_open 10002 || { echo "Azurite did not start; see .azurite/azurite.log" >&2; exit 1; }
  echo "Azurite started (data in .azurite/)."
fi

export AzureWebJobsStorage="${AzureWebJobsStorage:-UseDevelopmentStorage=true}"
export ASPNETCORE_ENVIRONMENT="${ASPNETCORE_ENVIRONMENT:-Development}"
echo "Run Ledger on http://localhost:7071 (Ctrl+C stops it and Azurite)."
dotnet run --project functions/RunLedger -c Release -- "$@"
