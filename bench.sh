#!/usr/bin/env bash
# Benchmark: time and allocation per applied report, as a ratio to the bare storage calls the
# ledger makes (same run, same in-memory Azurite, alternating rounds). Prints figures; asserts nothing.
#   ./bench.sh [reports per round] [rounds] [queue reports per run] [live streams per run, e.g. 1,20,200]
# Then reports applied per second through the queue trigger (local host + worker, 16 runs) vs the
# bare read + transaction by 16 concurrent writers, the cold start of the published worker
# (launch -> first GET of a run) vs an empty ASP.NET Core app, and live streams on one run (1, 20,
# 200 at once): the worker's table requests per second for them, idle and while reports arrive,
# and whether every stream got every event once, in order.
# RUNLEDGER_BENCH_ONLY=streams runs the live-stream scenario alone.
set -euo pipefail
cd "$(dirname "$0")"
[ -x node_modules/.bin/azurite ] || npm ci --no-audit --no-fund

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
base=$((20000 + RANDOM % 20000))
node_modules/.bin/azurite --inMemoryPersistence --silent --skipApiVersionCheck --loose \
  --blobHost 127.0.0.1 --queueHost 127.0.0.1 --tableHost 127.0.0.1 \
  --blobPort "$base" --queuePort $((base + 1)) --tablePort $((base + 2)) >/dev/null 2>&1 &
azurite=$!
trap 'kill "$azurite" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do port_open $((base + 2)) && port_open $((base + 1)) && break; sleep 0.2; done

key='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
conn="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$key;QueueEndpoint=http://127.0.0.1:$((base + 1))/devstoreaccount1;TableEndpoint=http://127.0.0.1:$((base + 2))/devstoreaccount1;"
# Cold start is measured on the package Azure runs (ReadyToRun), made afresh by ./publish.sh.
./publish.sh >/dev/null
rounds_args=("${1:-100}" "${2:-5}" "${3:-100}")
export RUNLEDGER_BENCH_STREAMS="${4:-1,20,200}"
dotnet run --project tools/RunLedger.Bench -c Release -- "$conn" "${rounds_args[@]}" \
  "$(pwd)/functions/RunLedger/bin/Release/net10.0" "$(pwd)/host.json" "$(pwd)/publish/package"
