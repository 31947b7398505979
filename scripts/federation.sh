#!/usr/bin/env bash
# Runs a federation on this machine: a coordinator and N client processes
# talking mutual TLS over loopback, training on real Fashion-MNIST.
#
#   scripts/federation.sh OUT_DIR [N_CLIENTS] [--set key=value ...]
#
# Creates OUT_DIR/certs (a project CA, the coordinator's and each client's
# certificate), OUT_DIR/fmnist.partition (Dirichlet(0.5) split, each client
# loads its own share), starts edgefl-coordinator with examples/fedavg.toml
# (overridable with --set) and the clients, waits for the run to finish,
# and leaves the SQLite experiment log ($EDGEFL_FED_DB, default
# OUT_DIR/federation.db) and the logs OUT_DIR/coordinator.log and
# OUT_DIR/client-K.log. EDGEFL_CLIENT names another client program to start
# (with the same arguments; scripts/cross-arm64.sh runs an arm64 build).
# EDGEFL_DATA_DIR names the directory of the Fashion-MNIST IDX files (gzip or
# plain) that the partition, the coordinator and every client read; unset,
# each reads its own default (the Debian package's files).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/federation-lib.sh

out=${1:?usage: scripts/federation.sh OUT_DIR [N_CLIENTS] [--set key=value ...]}
shift
clients=${1:-10}
[[ $# -gt 0 ]] && shift
build_dir=${EDGEFL_BUILD_DIR:-build}
edgefl="$build_dir/tools/edgefl"
coordinator="$build_dir/coordinator/edgefl-coordinator"
client=${EDGEFL_CLIENT:-$build_dir/client/edgefl-client}

data_dir_args=() coordinator_data_args=()
if [[ -n "${EDGEFL_DATA_DIR:-}" ]]; then
  data_dir_args=(--data-dir "$EDGEFL_DATA_DIR")
  coordinator_data_args=(--set data_path="$EDGEFL_DATA_DIR")
fi

mkdir -p "$out"
db=${EDGEFL_FED_DB:-$out/federation.db}
certs="$out/certs"
federation_certs "$certs" "$clients"
echo "federation: certificates for the coordinator and $clients clients in $certs"

"$edgefl" partition --dataset fmnist "${data_dir_args[@]}" --scheme dirichlet --alpha 0.5 \
  --clients "$clients" --seed 1 -q --out "$out/fmnist.partition"

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

"$coordinator" --config examples/fedavg.toml --set port=0 --set clients="$clients" \
  --set clients_per_round="$clients" --set min_clients="$clients" \
  --set cert="$certs/server.crt" --set key="$certs/server.key" --set ca="$certs/ca.crt" \
  --set db="$db" --set run_name=federation "${coordinator_data_args[@]}" "$@" \
  2>"$out/coordinator.log" &
coordinator_pid=$!
pids+=("$coordinator_pid")

port=""
for _ in $(seq 1 600); do
  port=$(sed -n 's/.*listening on [^ ]*:\([0-9][0-9]*\).*/\1/p' "$out/coordinator.log" | head -n 1)
  [[ -n "$port" ]] && break
  if ! kill -0 "$coordinator_pid" 2>/dev/null; then
    echo "federation: the coordinator exited:" >&2
    cat "$out/coordinator.log" >&2
    exit 1
  fi
  sleep 0.1
done
[[ -n "$port" ]] || { echo "federation: the coordinator did not start listening" >&2; exit 1; }
echo "federation: coordinator listening on 127.0.0.1:$port; starting $clients clients"

for ((k = 0; k < clients; k++)); do
  federation_client_args "$k" "$port" "$certs" "$out/fmnist.partition"
  "$client" "${CLIENT_ARGS[@]}" "${data_dir_args[@]}" --retry-for 60 2>"$out/client-$k.log" &
  pids+=("$!")
done

status=0
wait "$coordinator_pid" || status=$?
if [[ $status -ne 0 ]]; then
  echo "federation: the coordinator failed (exit $status); its log:" >&2
  tail -n 20 "$out/coordinator.log" >&2
  exit "$status"
fi
# Clients exit on the coordinator's Bye.
for pid in "${pids[@]:1}"; do wait "$pid" || status=$?; done
pids=()
[[ $status -eq 0 ]] || echo "federation: a client exited with $status (see $out/client-*.log)" >&2
echo "federation: experiment log $db"
exit "$status"
