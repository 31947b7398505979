#!/usr/bin/env bash
# One seed: D-SGD ring of 4, 10 rounds, simulator vs real processes (node ids sim-000K so the
# per-node seeds match the simulator's), node_mean accuracy at round 10; and the global metrics
# (the average model x̄'s accuracy, split "test", and the consensus distance, split "consensus"),
# which the processes log from the metrics node's gather.
set -euo pipefail
seed=$1
B=${EDGEFL_BUILD_DIR:-$(cd "$(dirname "$0")/.." && pwd)/build}
W=${EDGEFL_BENCH_DIR:-/tmp/dsgd-bench}/s$seed
src=$(cd "$(dirname "$0")/.." && pwd)
rm -rf "$W"; mkdir -p "$W"; cd "$W"
common=(--set clients=4 --set clients_per_round=4 --set rounds=10 --set eval_every=10 --set test_subset=1000 --set seed=$seed)
$B/tools/edgefl sim --config $src/examples/dsgd_tls.toml "${common[@]}" --set db=sim.db --set run_name=sim >/dev/null 2>&1
sim=$(sqlite3 sim.db "select accuracy from evaluations where split='node_mean' and round=10")
simavg=$(sqlite3 sim.db "select accuracy from evaluations where split='test' and round=10")
simcons=$(sqlite3 sim.db "select loss from evaluations where split='consensus' and round=10")
$B/tools/edgefl certs init --dir certs >/dev/null; $B/tools/edgefl certs issue-server 127.0.0.1 --dir certs >/dev/null
for k in 0 1 2 3; do $B/tools/edgefl certs issue-peer sim-000$k --dir certs >/dev/null; done
$B/tools/edgefl partition --dataset fmnist --scheme dirichlet --alpha 0.5 --seed $seed -q --clients 4 --out p.partition >/dev/null
$B/coordinator/edgefl-coordinator --config $src/examples/dsgd_tls.toml "${common[@]}" --set port=0 --set db=proc.db --set run_name=proc --set cert=certs/server.crt --set key=certs/server.key --set ca=certs/ca.crt > coord.out 2> coord.log &
cpid=$!
for i in $(seq 100); do grep -q "listening on" coord.log && break; sleep 0.1; done
port=$(sed -n 's/.*listening on [^ ]*:\([0-9][0-9]*\).*/\1/p' coord.log | head -1)
pids=()
for k in 0 1 2 3; do $B/client/edgefl-client --coordinator 127.0.0.1:$port --cert certs/sim-000$k.crt --key certs/sim-000$k.key --ca certs/ca.crt --data p.partition --index $k --peer-listen 127.0.0.1:0 2> n$k.log & pids+=($!); done
wait $cpid; for p in "${pids[@]}"; do wait $p; done
proc=$(sqlite3 proc.db "select accuracy from evaluations where split='node_mean' and round=10")
nb=$(sqlite3 proc.db "select accuracy from evaluations where split='neighbourhood_mean' and round=10")
procavg=$(sqlite3 proc.db "select accuracy from evaluations where split='test' and round=10")
proccons=$(sqlite3 proc.db "select loss from evaluations where split='consensus' and round=10")
echo "seed=$seed sim_node_mean=$sim sim_avg_model=$simavg proc_node_mean=$proc proc_neighbourhood_mean=$nb proc_avg_model=$procavg sim_consensus=$simcons proc_consensus=$proccons"
