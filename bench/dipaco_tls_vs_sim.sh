#!/usr/bin/env bash
# One seed: DiPaCo 2×2 (examples/dipaco.toml, mlp:784-32-32-10, 4 clients, 3 rounds, 4000 training and
# 1000 test samples), simulator vs a coordinator and 4 edgefl-client processes over mutual TLS whose
# data comes from `edgefl partition --scheme kmeans` (client certificates sim-000K, so per-client
# seeds and paths are the simulator's). Prints the routed test accuracy after round 3 of both runs.
set -euo pipefail
seed=$1
B=${EDGEFL_BUILD_DIR:-$(cd "$(dirname "$0")/.." && pwd)/build}
W=${EDGEFL_BENCH_DIR:-/tmp/dipaco-bench}/s$seed
src=$(cd "$(dirname "$0")/.." && pwd)
data=${EDGEFL_FMNIST_DIR:-/usr/share/datasets/fashion-mnist}
rm -rf "$W"; mkdir -p "$W"; cd "$W"
common=(--set clients=4 --set clients_per_round=4 --set rounds=3 --set kmeans_clusters=4 --set train_subset=4000 --set test_subset=1000 --set model=mlp:784-32-32-10 --set seed=$seed --set data_path=$data)
$B/tools/edgefl sim --config $src/examples/dipaco.toml "${common[@]}" --set db=sim.db --set run_name=sim >/dev/null 2>&1
sim=$(sqlite3 sim.db "select accuracy from evaluations where round=3")
$B/tools/edgefl certs init --dir certs >/dev/null; $B/tools/edgefl certs issue-server 127.0.0.1 --dir certs >/dev/null
for k in 0 1 2 3; do $B/tools/edgefl certs issue-client sim-000$k --dir certs >/dev/null; done
$B/tools/edgefl partition --dataset fmnist --data-dir $data --scheme kmeans --clusters 4 --clients 4 --seed $seed --train-subset 4000 -q --out k.partition >/dev/null
$B/coordinator/edgefl-coordinator --config $src/examples/dipaco.toml "${common[@]}" --set port=0 --set min_clients=4 --set db=tls.db --set run_name=tls --set cert=certs/server.crt --set key=certs/server.key --set ca=certs/ca.crt > coord.out 2> coord.log &
cpid=$!
for i in $(seq 300); do grep -q "listening on" coord.log && break; sleep 0.1; done
port=$(sed -n 's/.*listening on [^ ]*:\([0-9][0-9]*\).*/\1/p' coord.log | head -1)
pids=()
for k in 0 1 2 3; do $B/client/edgefl-client --coordinator 127.0.0.1:$port --cert certs/sim-000$k.crt --key certs/sim-000$k.key --ca certs/ca.crt --data k.partition --index $k --data-dir $data 2> c$k.log & pids+=($!); done
wait $cpid; for p in "${pids[@]}"; do wait $p; done
tls=$(sqlite3 tls.db "select accuracy from evaluations where round=3")
echo "seed=$seed sim_routed_accuracy=$sim tls_routed_accuracy=$tls"
