#!/usr/bin/env bash
# The main job, end to end on this machine. Installs missing packages,
# builds, and runs the current demonstration on the real Fashion-MNIST:
#   1. splits the training set across 10 clients with Dirichlet(0.5) label
#      skew, prints each client's class counts and writes the partition file
#      each client loads by its id;
#   2. runs a federated experiment (FedAvg, 10 clients, every client every
#      round) with in-process clients training in parallel, printing one line
#      per round, and records it in the SQLite experiment log.
# (The TLS coordinator + client processes replace step 2 as they land.)
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup-deps.sh
./scripts/build.sh >/dev/null
build_dir=${EDGEFL_BUILD_DIR:-build}
out=${EDGEFL_DEMO_OUT:-out/demo}
mkdir -p "$out"
edgefl="$build_dir/tools/edgefl"

echo "== 1. non-IID split of Fashion-MNIST across 10 clients (Dirichlet alpha=0.5) =="
"$edgefl" partition --dataset fmnist --scheme dirichlet --alpha 0.5 --clients 10 --seed 1 \
  --out "$out/fmnist-dir0.5-10.partition"
echo

echo "== 2. federated training: FedAvg, 10 clients, Dirichlet(0.5), mlp:784-200-200-10 =="
rm -f "$out/experiments.db" "$out/experiments.db-wal" "$out/experiments.db-shm"
"$edgefl" sim --config examples/fedavg.toml --set rounds=${EDGEFL_DEMO_ROUNDS:-10} \
  --set db="$out/experiments.db" --set run_name=demo-fedavg
echo
echo "demo: partition file: $out/fmnist-dir0.5-10.partition"
echo "demo: experiment log: $out/experiments.db (SQLite: runs, rounds, client_updates, evaluations, checkpoints)"
