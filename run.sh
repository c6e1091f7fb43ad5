#!/usr/bin/env bash
# Runs Run Ledger locally on http://localhost:7071: Azurite (installed from package.json if
# missing, data in .azurite/), then the Functions app under Core Tools (`func start`) where they
# are installed, otherwise under the project's local Functions host (tools/FunctionsHost), which
# runs the same worker build with the Azure host's HTTP, queue and timer semantics.
# Settings: local.settings.json (created from local.settings.sample.json on first run), then the environment.
# Ctrl+C (or SIGTERM) stops the app and the Azurite this script started (scripts/lib.sh).
set -euo pipefail
cd "$(dirname "$0")"
source scripts/lib.sh

ensure_azurite_installed

if port_open 10001 && port_open 10002; then
  echo "Azurite already listening on 10001/10002; using it."
else
  mkdir -p .azurite
  start_azurite .azurite/azurite.log 10000 10001 10002 --location .azurite
  echo "Azurite started (data in .azurite/)."
fi

ensure_local_settings

if command -v func >/dev/null 2>&1; then
  echo "Run Ledger under Core Tools on http://localhost:7071 (Ctrl+C stops it and Azurite)."
  cd functions/RunLedger
  run_in_foreground func start --port 7071 "$@"
else
  # ErrorsOnly: the Worker SDK's generated extensions project warns NU1603 (harmless, see the csproj).
  dotnet build functions/RunLedger -c Release --nologo -v quiet -clp:ErrorsOnly
  dotnet build tools/FunctionsHost -c Release --nologo -v quiet -clp:ErrorsOnly
  echo "Run Ledger under the local Functions host on http://localhost:7071 (Ctrl+C stops it and Azurite)."
  run_in_foreground dotnet tools/FunctionsHost/bin/Release/net10.0/FunctionsHost.dll \
    --app functions/RunLedger/bin/Release/net10.0 --settings local.settings.json --port 7071 "$@"
fi
