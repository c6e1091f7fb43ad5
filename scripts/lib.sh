# Set-up shared by the root scripts (run.sh, test.sh, bench.sh, demo.sh, publish.sh).
# Sourced, never run: `source scripts/lib.sh` from the repository root, after `set -euo pipefail`.
#
# Sourcing it also makes the script stop every process it started when it ends, however it ends
# (its last line, an error under `set -e`, Ctrl+C, SIGTERM or SIGHUP): see _stop.

# Azurite comes from package.json (pinned), installed into node_modules/ on first use.
ensure_azurite_installed() {
  [ -x node_modules/.bin/azurite ] || npm ci --no-audit --no-fund
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start_azurite LOG BLOB_PORT QUEUE_PORT TABLE_PORT [azurite options...]
# Starts Azurite in the background on 127.0.0.1 (its output to LOG) and waits until its queue
# and table ports answer (at most 20 s). It is stopped when the script ends. Without telemetry:
# Azurite's telemetry reaches out to the network and, on SIGTERM, keeps it running some 10-20 s
# after its services have closed.
start_azurite() {
  local log=$1 blob=$2 queue=$3 table=$4
  shift 4
  node_modules/.bin/azurite --silent --skipApiVersionCheck --loose --disableTelemetry \
    --blobHost 127.0.0.1 --queueHost 127.0.0.1 --tableHost 127.0.0.1 \
    --blobPort "$blob" --queuePort "$queue" --tablePort "$table" "$@" >"$log" 2>&1 &
  for _ in $(seq 1 100); do
    port_open "$queue" && port_open "$table" && return 0
    sleep 0.2
  done
  if [ "$log" = /dev/null ]; then echo "Azurite did not start" >&2; else echo "Azurite did not start; see $log" >&2; fi
  return 1
}

# local.settings.json: created from local.settings.sample.json on first use (with a signing secret
# of this machine's own, so project keys and dashboard links outlive a restart); afterwards the
# settings added to the sample since it was made (e.g. a queue or schedule a trigger names as
# %Setting%, which the host requires) are copied in, and everything else is left as it is.
ensure_local_settings() {
  if [ ! -f local.settings.json ]; then
    local secret
    secret=$(head -c 32 /dev/urandom | base64 | tr -d '\n=' | tr '+/' '-_')
    sed "s/\"RunLedger__SigningSecrets\": \"\"/\"RunLedger__SigningSecrets\": \"$secret\"/" \
      local.settings.sample.json >local.settings.json
    echo "Created local.settings.json from local.settings.sample.json (with a new signing secret)."
  fi
  node -e '
    const fs = require("fs");
    const sample = JSON.parse(fs.readFileSync("local.settings.sample.json", "utf8")).Values;
    const local = JSON.parse(fs.readFileSync("local.settings.json", "utf8"));
    local.Values = local.Values || {};
    const added = Object.keys(sample).filter(k => !(k in local.Values));
    for (const k of added) local.Values[k] = sample[k];
    if (added.length) {
      fs.writeFileSync("local.settings.json", JSON.stringify(local, null, 2) + "\n");
      console.log("Added to local.settings.json from the sample: " + added.join(", "));
    }'
}

# run_in_foreground COMMAND [ARGS...]
# Runs a long-lived command (the Functions host, the benchmark, the demo) and returns its exit
# status. It runs as a background job the script waits for, so that a signal to the script alone
# stops it too, not only Ctrl+C (which reaches the whole process group): on SIGINT, SIGTERM or
# SIGHUP the script stops the command, then everything else it started (see _stop), and carries on.
run_in_foreground() {
  "$@" &
  local child=$! status=0
  trap '_stop "$child"' INT TERM HUP
  while _alive "$child"; do
    wait "$child" || true    # returns early when a signal arrives; the loop waits on
  done
  wait "$child" || status=$?
  _trap_signals
  return "$status"
}

# Every process the script starts inherits this mark in its environment, so the script finds them
# all when it ends, even those whose parent has gone (a worker whose host died, the Azurite a test
# run left behind). A script run by another script marks its own processes afresh.
export RUNLEDGER_STARTED_BY="${0##*/}:$$:$RANDOM$RANDOM"

# _stop [PID...]: SIGTERM to the given processes, which .NET apps treat like Ctrl+C (the Functions
# host then stops its worker with WorkerTerminate and gives it 5 s) and Azurite as a request to
# close, and up to 15 s for them to end; then SIGTERM to every other process that carries the
# script's mark, and after 5 s SIGKILL to those still running.
_stop() {
  local pid
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  [ "$#" -eq 0 ] || _wait_gone 15 "$@" || true
  _collect_marked
  [ "${#_marked[@]}" -gt 0 ] || return 0
  for pid in "${_marked[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  _wait_gone 5 "${_marked[@]}" && return 0
  for pid in "${_marked[@]}"; do if _alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi; done
}

# The running processes that carry the script's mark (besides the script), into _marked. Without
# /proc (macOS) there are none: the script then stops only its own children.
_collect_marked() {
  local file pid
  _marked=()
  for file in $(grep -lzx "RUNLEDGER_STARTED_BY=$RUNLEDGER_STARTED_BY" /proc/[0-9]*/environ 2>/dev/null); do
    pid=${file#/proc/}
    pid=${pid%/environ}
    if [ "$pid" != "$$" ] && _alive "$pid"; then _marked+=("$pid"); fi
  done
}

# Whether a process is still running (a zombie has ended, whoever reaps it).
_alive() {
  local stat
  [ -d /proc/self ] || { kill -0 "$1" 2>/dev/null; return; }
  { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
  stat=${stat##*) }
  [ "${stat%% *}" != Z ]
}

# _wait_gone SECONDS PID...: waits until none of the processes runs, at most SECONDS.
_wait_gone() {
  local tenths=$(($1 * 10)) pid running
  shift
  while :; do
    running=""
    for pid in "$@"; do if _alive "$pid"; then running=$pid; break; fi; done
    [ -z "$running" ] && return 0
    [ "$tenths" -le 0 ] && return 1
    sleep 0.1
    tenths=$((tenths - 1))
  done
}

# On exit, however the script ends, its own children (Azurite, a host) and then whatever else it
# started are stopped (_stop).
_stop_started_processes() {
  local status=$?
  trap - INT TERM HUP
  # shellcheck disable=SC2046  # one id per word
  _stop $(jobs -p)
  exit "$status"
}

# A signal ends the script with the shell's usual status (128 + the signal), through the EXIT trap.
_trap_signals() { trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM; }

trap _stop_started_processes EXIT
_trap_signals
