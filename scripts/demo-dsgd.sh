#!/usr/bin/env bash
# D-SGD between real processes on this machine (docs/algorithms.md, "D-SGD
# between processes"): 8 edgefl-client nodes on a ring over loopback, each
# linked to its two neighbours by mutual TLS with a peer certificate of the
# project CA; edgefl-coordinator is only the rendezvous (hands out the ring
# and the addresses, logs the nodes' per-round reports) and never sees a
# model. After a few rounds one node is killed with SIGKILL: its two
# neighbours re-weight over the neighbour they have left and every other
# node trains on to the last round.
#
#   scripts/demo-dsgd.sh [OUT_DIR]       (default runs/dsgd-demo)
#
# Env: EDGEFL_BUILD_DIR (default build; built if missing), EDGEFL_DSGD_ROUNDS
# (default 30), EDGEFL_DSGD_KILL_AFTER (the round after which node 5 is
# killed, default 5).
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:-runs/dsgd-demo}
build_dir=${EDGEFL_BUILD_DIR:-build}
rounds=${EDGEFL_DSGD_ROUNDS:-30}
kill_after=${EDGEFL_DSGD_KILL_AFTER:-5}
nodes=8
victim=5
edgefl="$build_dir/tools/edgefl"
coordinator="$build_dir/coordinator/edgefl-coordinator"
client="$build_dir/client/edgefl-client"
if [[ ! -x "$edgefl" || ! -x "$coordinator" || ! -x "$client" ]]; then
  EDGEFL_TARGETS="edgefl edgefl-coordinator edgefl-client" ./scripts/build.sh >/dev/null
fi

rm -rf "$out"
mkdir -p "$out"
certs="$out/certs"
"$edgefl" certs init --dir "$certs" >/dev/null
"$edgefl" certs issue-server 127.0.0.1 --dir "$certs" >/dev/null
for ((k = 0; k < nodes; k++)); do
  "$edgefl" certs issue-peer "node-$k" --dir "$certs" >/dev/null
done
echo "demo-dsgd: a project CA, the coordinator's certificate and $nodes peer certificates in $certs"
"$edgefl" partition --dataset fmnist --scheme dirichlet --alpha 0.5 --clients "$nodes" --seed 1 \
  -q --out "$out/fmnist.partition"

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

"$coordinator" --config examples/dsgd_tls.toml --set port=0 --set rounds="$rounds" \
  --set cert="$certs/server.crt" --set key="$certs/server.key" --set ca="$certs/ca.crt" \
  --set db="$out/dsgd.db" --set eval_every=5 \
  >"$out/coordinator.out" 2>"$out/coordinator.log" &
coordinator_pid=$!
pids+=("$coordinator_pid")
port=""
for _ in $(seq 1 600); do
  port=$(sed -n 's/.*listening on [^ ]*:\([0-9][0-9]*\).*/\1/p' "$out/coordinator.log" | head -n 1)
  [[ -n "$port" ]] && break
  kill -0 "$coordinator_pid" 2>/dev/null || { cat "$out/coordinator.log" >&2; exit 1; }
  sleep 0.1
done
[[ -n "$port" ]] || { echo "demo-dsgd: the coordinator did not start listening" >&2; exit 1; }
echo "demo-dsgd: rendezvous on 127.0.0.1:$port; starting $nodes nodes (ring, $rounds rounds)"

node_pids=()
for ((k = 0; k < nodes; k++)); do
  "$client" --coordinator "127.0.0.1:$port" --cert "$certs/node-$k.crt" \
    --key "$certs/node-$k.key" --ca "$certs/ca.crt" --data "$out/fmnist.partition" --index "$k" \
    --peer-listen 127.0.0.1:0 --retry-for 60 2>"$out/node-$k.log" &
  node_pids+=("$!")
  pids+=("$!")
done

for _ in $(seq 1 1200); do
  grep -q "round $kill_after/" "$out/coordinator.out" 2>/dev/null && break
  kill -0 "$coordinator_pid" 2>/dev/null || break
  sleep 0.05
done
kill -KILL "${node_pids[$victim]}"
echo "demo-dsgd: killed node-$victim (pid ${node_pids[$victim]}) with SIGKILL after round $kill_after"

status=0
wait "$coordinator_pid" || status=$?
for ((k = 0; k < nodes; k++)); do
  [[ $k -eq $victim ]] && { wait "${node_pids[$k]}" 2>/dev/null || true; continue; }
  wait "${node_pids[$k]}" || { echo "demo-dsgd: node-$k exited with $?" >&2; status=1; }
done
pids=()
echo
echo "== Per round (coordinator): nodes reporting, node accuracy, local consensus, bytes per node =="
cat "$out/coordinator.out"
echo
echo "== node-$((victim - 1)) (a neighbour of node-$victim) =="
grep -E "link down|round ($((kill_after + 1))|$rounds):|finished" "$out/node-$((victim - 1)).log" || true
echo
finished=$(grep -l "finished $rounds rounds" "$out"/node-*.log | wc -l)
echo "demo-dsgd: $finished of $((nodes - 1)) surviving nodes finished all $rounds rounds"
echo "demo-dsgd: experiment log $out/dsgd.db; process logs in $out/"
[[ $status -eq 0 && $finished -eq $((nodes - 1)) ]]
