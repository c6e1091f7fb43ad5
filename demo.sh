#!/usr/bin/env bash
# Plays a realistic pipeline run against a running Run Ledger (start it with ./run.sh first):
# starts a run through the webhook, sends agent reports through the agent-progress queue
# (some redelivered, some out of order) and prints the run's live event stream.
# Options: --url URL  --key KEY (or env RUNLEDGER_KEY)  --project ID  --queue NAME
set -euo pipefail
cd "$(dirname "$0")"
source scripts/lib.sh

run_in_foreground dotnet run --project tools/RunLedger.Demo -c Release -- "$@"
