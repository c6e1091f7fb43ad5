#!/usr/bin/env bash
# Runs Run Ledger locally on http://localhost:7071: Azurite (installed from package.json if
# missing, data in .azurite/), then the Functions app under Core Tools (`func start`) where they
# are installed, otherwise under the project's local Functions host (tools/FunctionsHost), which
# runs the same worker build with the Azure host's HTTP, queue and timer semantics.
# Settings: local.settings.json (created from local.settings.sample.json on first run), then the environment.
# Ctrl+C (or SIGTERM) stops the app and the Azurite this script started (scripts/lib.sh).
#   ./run.sh                Development, as Core Tools run an app: the API is open while no admin key is set.
#   ./run.sh --production   As Azure runs it: AZURE_FUNCTIONS_ENVIRONMENT=Production, every request needs a
#                           key (an admin key, a project key or a read link), the host's admin API its own key.
#                           Both keys are made once and kept in .azurite/production.keys (never printed).
set -euo pipefail
cd "$(dirname "$0")"
source scripts/lib.sh

production=""
args=()
for arg in "$@"; do
  if [ "$arg" = "--production" ]; then production=1; else args+=("$arg"); fi
done
set -- "${args[@]+"${args[@]}"}"

ensure_azurite_installed

if port_open 10001 && port_open 10002; then
  echo "Azurite already listening on 10001/10002; using it."
else
  mkdir -p .azurite
  start_azurite .azurite/azurite.log 10000 10001 10002 --location .azurite
  echo "Azurite started (data in .azurite/)."
fi

ensure_local_settings

if [ -n "$production" ]; then
  keys=.azurite/production.keys
  if [ ! -f "$keys" ]; then
    mkdir -p .azurite
    (umask 077; {
      echo "RunLedger__AdminKeys=rla_$(head -c 24 /dev/urandom | base64 | tr -d '\n=' | tr '+/' '-_')"
      echo "FunctionsHost__FunctionKeys=$(head -c 24 /dev/urandom | base64 | tr -d '\n=' | tr '+/' '-_')"
    } >"$keys")
  fi
  set -a; source "$keys"; set +a
  export AZURE_FUNCTIONS_ENVIRONMENT=Production
  echo "Production mode: every request needs a key. The admin key (RunLedger__AdminKeys) and the host's"
  echo "admin API key (FunctionsHost__FunctionKeys) are in $keys."
fi

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
