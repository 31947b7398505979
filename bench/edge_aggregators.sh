#!/usr/bin/env bash
# Edge aggregators at fleet scale (issue 20, docs/edge-aggregators.md): one root edgefl-coordinator,
# A edgefl-coordinator processes with role = "aggregator" under it, and under each aggregator one
# `edgefl-client --load-sessions N` process (N idle mutual-TLS sessions: Hello, Welcome, heartbeats,
# no training). Prints the time until every aggregator's group was established and the aggregator
# was welcomed by the root, each process's VmRSS with its sessions, and the root's.
#
#   bench/edge_aggregators.sh [A=10] [N=1000] [R=0]
#
# With R > 0 the sessions answer each TrainTask at once with the model it carries
# (`--answer-tasks`, client/load_sessions.h) and the root runs R rounds through the tree: each round
# sends A x N tasks down and sums A x N answers up; the root's per-round progress lines and the
# time to the end of the run are printed.
#
# Needs an open-files limit above N + 64 per aggregator (the coordinator raises its soft limit to the
# hard one; docs/operations.md). With R = 0 the load sessions never answer a task, so the root's
# round 1 stays open: this measures holding the tree. Run it on an idle machine for figures.
set -euo pipefail
A=${1:-10}
N=${2:-1000}
R=${3:-0}
answer=(); root_rounds=1
if [ "$R" -gt 0 ]; then answer=(--answer-tasks); root_rounds=$R; fi
B=${EDGEFL_BUILD_DIR:-$(cd "$(dirname "$0")/.." && pwd)/build}
src=$(cd "$(dirname "$0")/.." && pwd)
W=${EDGEFL_BENCH_DIR:-/tmp/edge-aggregators-bench}
rm -rf "$W"; mkdir -p "$W"; cd "$W"
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
rss() { awk '/VmRSS/ {print $2 " kB"}' "/proc/$1/status"; }
port_of() { # waits for "listening on HOST:PORT" in $1
  for _ in $(seq 600); do grep -q "listening on" "$1" && break; sleep 0.1; done
  sed -n 's/.*listening on [^ ]*:\([0-9][0-9]*\).*/\1/p' "$1" | head -1
}
certs_start=$(date +%s.%N)
$B/tools/edgefl certs init --dir certs >/dev/null
$B/tools/edgefl certs issue-server 127.0.0.1 --dir certs >/dev/null
for a in $(seq 0 $((A - 1))); do $B/tools/edgefl certs issue-client agg-$a --dir certs >/dev/null; done
for k in $(seq 0 $((N - 1))); do $B/tools/edgefl certs issue-client client-$k --dir certs >/dev/null; done
echo "($((A + N)) client certificates issued in $(echo "$(date +%s.%N) - $certs_start" | bc) s)"
tls=(--set cert=certs/server.crt --set key=certs/server.key --set ca=certs/ca.crt --set port=0
     --set model=logreg:784-10 --set max_connections=$((N + 64)))
start=$(date +%s.%N)
$B/coordinator/edgefl-coordinator --config "$src/examples/fedavg.toml" "${tls[@]}" --set db=root.db \
  --set run_name=root --set clients=$A --set clients_per_round=$A --set min_clients=$A \
  --set quorum_unit=samples --set rounds=$root_rounds > root.out 2> root.log &
root=$!; pids+=($root)
root_port=$(port_of root.log)
for a in $(seq 0 $((A - 1))); do
  $B/coordinator/edgefl-coordinator --config "$src/examples/fedavg.toml" "${tls[@]}" \
    --set role=aggregator --set upstream=127.0.0.1:$root_port \
    --set upstream_cert=certs/agg-$a.crt --set upstream_key=certs/agg-$a.key \
    --set db=agg-$a.db --set run_name=agg-$a --set clients=$N --set clients_per_round=$N \
    --set min_clients=$N > agg-$a.out 2> agg-$a.log &
  aggs[$a]=$!; pids+=($!)
done
for a in $(seq 0 $((A - 1))); do
  port=$(port_of agg-$a.log)
  $B/client/edgefl-client --load-sessions $N --coordinator 127.0.0.1:$port --cert-dir certs \
    --hold 600 "${answer[@]}" > load-$a.out 2> load-$a.log &
  pids+=($!)
done
for _ in $(seq 6000); do
  [ "$(grep -c 'welcomed as' agg-*.log | awk -F: '{s += $2} END {print s}')" -ge "$A" ] && break
  sleep 0.1
done
echo "tree established: $A aggregators x $N sessions under one root in $(echo "$(date +%s.%N) - $start" | bc) s"
for a in $(seq 0 $((A - 1))); do echo "agg-$a: $(rss ${aggs[$a]}) with $N sessions; $(cat load-$a.out | head -1)"; done
echo "root: $(rss $root) with $A aggregators"
if [ "$R" -gt 0 ]; then
  for _ in $(seq 36000); do kill -0 "$root" 2>/dev/null || break; sleep 0.1; done
  wait "$root" && status=0 || status=$?
  echo "root exited with $status, $(echo "$(date +%s.%N) - $start" | bc) s after it started; its rounds:"
  grep '^round ' root.out || true
  for a in $(seq 0 $((A - 1))); do echo "agg-$a: $(grep -c 'result in' agg-$a.log) results logged"; done
fi
