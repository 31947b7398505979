#!/usr/bin/env bash
# Crash soak: runs a federation (a coordinator and a few clients over mutual
# TLS on loopback, a tiny model, many short rounds) and kills the
# coordinator with SIGKILL at random moments, CYCLES times, restarting it
# after each kill. After every kill the experiment log is checked with
# bench/log_check (storage/log_check.h): PRAGMA integrity_check is ok, the
# rounds are 1..N with none missing or repeated, no round committed before
# the kill is gone, each (run, round, client) update is recorded once and
# matches its round's counts, and every checkpoint decodes; the restarted
# coordinator must resume after exactly the last committed round.
#
#   scripts/crash-soak.sh [CYCLES]        (default 100)
#
# Environment: EDGEFL_BUILD_DIR (default build/; built if a binary is
# missing), SOAK_DIR (default a new directory under /tmp; kept), SOAK_SEED
# (default 1: the kill delays), SOAK_CLIENTS (default 3), SOAK_MODE (sync,
# the default: FedAvg rounds; async: async_dn model versions, resumed after
# the last committed version).
# Each cycle waits until every client is connected (or, every 8th cycle,
# only until the coordinator listens: a kill during start-up and resume),
# then kills after a random 0.2-2.0 s. Exits 1 with the violation on the
# first broken invariant; prints a summary line at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/federation-lib.sh

cycles=${1:-100}
build_dir=${EDGEFL_BUILD_DIR:-build}
seed=${SOAK_SEED:-1}
clients=${SOAK_CLIENTS:-3}
mode=${SOAK_MODE:-sync}
case "$mode" in
  sync) mode_args=() unit=round ;;
  async) mode_args=(--set mode=async --set strategy=async_dn) unit=version ;;
  *) echo "crash-soak: SOAK_MODE must be sync or async, not '$mode'" >&2; exit 2 ;;
esac
dir=${SOAK_DIR:-$(mktemp -d /tmp/edgefl-crash-soak.XXXXXX)}
edgefl="$build_dir/tools/edgefl"
coordinator="$build_dir/coordinator/edgefl-coordinator"
client="$build_dir/client/edgefl-client"
log_check="$build_dir/bench/log_check"

for bin in "$edgefl" "$coordinator" "$client" "$log_check"; do
  if [[ ! -x "$bin" ]]; then
    EDGEFL_BUILD_DIR="$build_dir" ./scripts/build.sh >/dev/null
    break
  fi
done

mkdir -p "$dir"
certs="$dir/certs"
db="$dir/soak.db"
run=soak
federation_certs "$certs" "$clients"
[[ -f "$dir/fmnist.partition" ]] ||
  "$edgefl" partition --dataset fmnist --scheme iid --clients "$clients" --seed 1 -q \
    --out "$dir/fmnist.partition" >/dev/null

# A free port, fixed for the whole soak: the clients reconnect to it.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

pids=()
coordinator_pid=""
cleanup() {
  [[ -n "$coordinator_pid" ]] && kill -9 "$coordinator_pid" 2>/dev/null
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

fail() {
  echo "crash-soak: VIOLATION in cycle $cycle: $*" >&2
  echo "crash-soak: files kept in $dir" >&2
  exit 1
}

start_coordinator() {
  "$coordinator" --config examples/fedavg.toml --set port="$port" --set run_name="$run" \
    --set db="$db" --set cert="$certs/server.crt" --set key="$certs/server.key" \
    --set ca="$certs/ca.crt" --set clients="$clients" --set clients_per_round="$clients" \
    --set min_clients="$clients" --set rounds=1000000 --set model=logreg:784-10 \
    --set local_steps=2 --set test_subset=200 --set heartbeat=1 --set keep_checkpoints=3 \
    "${mode_args[@]}" >"$dir/coordinator.out" 2>"$dir/coordinator.log" &
  coordinator_pid=$!
}

# Polls (every 50 ms, up to 60 s) until `grep -c PATTERN coordinator.log`
# reaches COUNT; fails if the coordinator exits.
wait_log() {
  local pattern=$1 count=$2 seen
  for _ in $(seq 1 1200); do
    # grep prints nothing when the log does not exist yet: count that as 0.
    seen=$(grep -c -- "$pattern" "$dir/coordinator.log" 2>/dev/null || true)
    ((${seen:-0} >= count)) && return 0
    kill -0 "$coordinator_pid" 2>/dev/null || fail "the coordinator exited: $(tail -n 5 "$dir/coordinator.log")"
    sleep 0.05
  done
  fail "timed out waiting for '$pattern' x$count in the coordinator's log: $(tail -n 5 "$dir/coordinator.log")"
}

RANDOM=$seed
last=0     # rounds committed according to the last check
start=$(date +%s)
cycle=0
echo "crash-soak: $cycles cycles, $mode mode, $clients clients, port $port, seed $seed, files in $dir"
for ((cycle = 1; cycle <= cycles; cycle++)); do
  start_coordinator
  wait_log "listening on" 1
  if ((cycle == 1)); then
    for ((k = 0; k < clients; k++)); do
      federation_client_args "$k" "$port" "$certs" "$dir/fmnist.partition"
      "$client" "${CLIENT_ARGS[@]}" --retry-for 3600 2>>"$dir/client-$k.log" &
      pids+=("$!")
    done
  fi
  if ((cycle % 8 != 0)); then
    wait_log " connected from " "$clients"
  fi
  delay_ms=$((200 + RANDOM % 1801))
  sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
  kill -9 "$coordinator_pid" 2>/dev/null || fail "the coordinator exited before the kill: $(tail -n 5 "$dir/coordinator.log")"
  wait "$coordinator_pid" 2>/dev/null || true
  coordinator_pid=""

  # The restart of this cycle must have resumed after the rounds committed
  # before it (the log's state at the previous check); an async run says
  # "after version K" (one round row per model version).
  resumed=""
  if ((last > 0)); then
    resumed=$(sed -n -E "s/.*resuming run '$run' after (round|version) ([0-9]+).*/\2/p" "$dir/coordinator.out" "$dir/coordinator.log" | head -n 1)
    if [[ -n "$resumed" && "$resumed" != "$last" ]]; then
      fail "the coordinator resumed after $unit $resumed, but $last ${unit}s were committed"
    fi
  fi
  if [[ -f "$db" ]]; then
    check=$("$log_check" "$db" "$run" "$last" 2>&1) || fail "$check"
    now=$(sed -n "s/.*last round of $run: \([0-9]*\).*/\1/p" <<<"$check")
    [[ -n "$now" ]] || fail "unexpected log_check output: $check"
  else
    now=0
  fi
  printf 'cycle %3d: resumed after %s %s, killed after %4d ms, rounds %d -> %d; %s\n' "$cycle" \
    "$unit" "${resumed:--}" "$delay_ms" "$last" "$now" "${check:-no log yet}"
  last=$now
done

# A last clean stop: the run is marked interrupted, the log still sound.
start_coordinator
wait_log "listening on" 1
wait_log " connected from " "$clients"
sleep 1
kill -TERM "$coordinator_pid"
wait "$coordinator_pid" || fail "the coordinator's clean stop exited with $?"
coordinator_pid=""
check=$("$log_check" "$db" "$run" "$last" 2>&1) || fail "$check"
elapsed=$(($(date +%s) - start))
echo "crash-soak: $cycles kill -9 cycles ($mode), 0 violations, $(sed -n "s/.*last round of $run: \([0-9]*\).*/\1/p" <<<"$check") rounds committed, ${elapsed} s; $check"
