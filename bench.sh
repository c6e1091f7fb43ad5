#!/usr/bin/env bash
# Benchmark: time and allocation per applied report, as a ratio to the bare storage calls the
# ledger makes (same run, same in-memory Azurite, alternating rounds, after enough rounds for the
# JIT to settle). Prints figures; asserts nothing.
#   ./bench.sh [reports per round] [rounds] [queue reports per run] [live streams per run, e.g. 1,20,200]
# Then the cold start of the published worker (launch -> first GET of a run) vs an empty ASP.NET
# Core app; reports applied per second through the queue trigger (local host + worker, 16 runs,
# after a warm-up) vs the same storage work done bare, with and without each report's queue
# requests, and the CPU each process (host, worker, Azurite, client) spent per report; and live
# streams on one run (1, 20, 200 at once): the worker's table requests per second for them, idle
# and while reports arrive, and whether every stream got every event once, in order.
# RUNLEDGER_BENCH_ONLY=queue or =streams runs that scenario alone.
# Its Azurite, and every process the benchmark starts, is stopped when it ends (scripts/lib.sh).
set -euo pipefail
cd "$(dirname "$0")"
source scripts/lib.sh

ensure_azurite_installed
base=$((20000 + RANDOM % 20000))
start_azurite /dev/null "$base" $((base + 1)) $((base + 2)) --inMemoryPersistence

key='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
conn="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$key;QueueEndpoint=http://127.0.0.1:$((base + 1))/devstoreaccount1;TableEndpoint=http://127.0.0.1:$((base + 2))/devstoreaccount1;"
# Cold start is measured on the package Azure runs (ReadyToRun), made afresh by ./publish.sh.
./publish.sh >/dev/null
rounds_args=("${1:-100}" "${2:-5}" "${3:-100}")
export RUNLEDGER_BENCH_STREAMS="${4:-1,20,200}"
run_in_foreground dotnet run --project tools/RunLedger.Bench -c Release -- "$conn" "${rounds_args[@]}" \
  "$(pwd)/functions/RunLedger/bin/Release/net10.0" "$(pwd)/host.json" "$(pwd)/publish/package"
