#!/usr/bin/env bash
# Runs Run Ledger locally on http://localhost:7071: Azurite (installed from package.json if
# missing, data in .azurite/), then the Functions app under Core Tools (`func start`) where they
# are installed, otherwise under the project's local Functions host (tools/FunctionsHost), which
# runs the same worker build with the Azure host's HTTP, queue and timer semantics.
# Settings: local.settings.json (created from local.settings.sample.json on first run), then the environment.
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

if [ ! -f local.settings.json ]; then
  # A signing secret of this machine's own, so project keys and dashboard links outlive a restart.
  secret=$(head -c 32 /dev/urandom | base64 | tr -d '\n=' | tr '+/' '-_')
  sed "s/\"RunLedger__SigningSecrets\": \"\"/\"RunLedger__SigningSecrets\": \"$secret\"/" \
    local.settings.sample.json >local.settings.json
  echo "Created local.settings.json from local.settings.sample.json (with a new signing secret)."
else
  # Settings the host requires (the triggers' %Setting% expressions) that local.settings.json, made
  # before they existed, lacks are copied in from the sample; everything else is left as it is.
  node -e '
    const fs = require("fs");
    const required = ["RunLedger__ProgressQueue", "RunLedger__StaleSweepSchedule", "RunLedger__RetentionSchedule"];
    const sample = JSON.parse(fs.readFileSync("local.settings.sample.json", "utf8"));
    const local = JSON.parse(fs.readFileSync("local.settings.json", "utf8"));
    local.Values = local.Values || {};
    const added = required.filter(k => !(k in local.Values));
    for (const k of added) local.Values[k] = sample.Values[k];
    if (added.length) {
      fs.writeFileSync("local.settings.json", JSON.stringify(local, null, 2) + "\n");
      console.log("Added to local.settings.json from the sample: " + added.join(", "));
    }'
fi

# Settings added to the sample since local.settings.json was created (e.g. a new queue a trigger
# names as %Setting%) are copied in, so an older local.settings.json keeps working.
node -e '
const fs = require("fs");
const sample = JSON.parse(fs.readFileSync("local.settings.sample.json", "utf8")).Values;
const local = JSON.parse(fs.readFileSync("local.settings.json", "utf8"));
const added = Object.keys(sample).filter(k => !(k in local.Values));
for (const k of added) local.Values[k] = sample[k];
if (added.length) {
  fs.writeFileSync("local.settings.json", JSON.stringify(local, null, 2) + "\n");
  console.log("Added to local.settings.json from the sample: " + added.join(", "));
}'

if command -v func >/dev/null 2>&1; then
  echo "Run Ledger under Core Tools on http://localhost:7071 (Ctrl+C stops it and Azurite)."
  (cd functions/RunLedger && func start --port 7071 "$@")
else
  # ErrorsOnly: the Worker SDK's generated extensions project warns NU1603 (harmless, see the csproj).
  dotnet build functions/RunLedger -c Release --nologo -v quiet -clp:ErrorsOnly
  dotnet build tools/FunctionsHost -c Release --nologo -v quiet -clp:ErrorsOnly
  echo "Run Ledger under the local Functions host on http://localhost:7071 (Ctrl+C stops it and Azurite)."
  dotnet tools/FunctionsHost/bin/Release/net10.0/FunctionsHost.dll \
    --app functions/RunLedger/bin/Release/net10.0 --settings local.settings.json --port 7071 "$@"
fi
