#!/usr/bin/env bash
# The main job, end to end on this machine: installs missing packages,
# builds, then runs a federation on loopback with real processes and real
# TLS, training on the real Fashion-MNIST:
#   - a project CA, a certificate for the coordinator and one per client
#     (edgefl certs);
#   - the training set split across 10 clients with Dirichlet(0.5) label
#     skew (edgefl partition; each client loads only its own share);
#   - edgefl-coordinator and 10 edgefl-client processes over mutual TLS,
#     FedAvg for 10 rounds (examples/fedavg.toml), one line per round;
#   - the SQLite experiment log runs/demo.db, and its report runs/demo.html
#     (edgefl report: accuracy/loss per round, participation, configuration).
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup-deps.sh
EDGEFL_TARGETS="edgefl edgefl-coordinator edgefl-client" ./scripts/build.sh >/dev/null
build_dir=${EDGEFL_BUILD_DIR:-build}
out=${EDGEFL_DEMO_OUT:-runs}
rounds=${EDGEFL_DEMO_ROUNDS:-10}
mkdir -p "$out"

echo "== The 10 clients' data: Fashion-MNIST train split, Dirichlet(0.5) label skew =="
"$build_dir/tools/edgefl" partition --dataset fmnist --scheme dirichlet --alpha 0.5 --clients 10 \
  --seed 1
echo

echo "== Federation over mutual TLS: edgefl-coordinator + 10 edgefl-client processes, FedAvg =="
rm -f "$out/demo.db" "$out/demo.db-wal" "$out/demo.db-shm"
EDGEFL_FED_DB="$out/demo.db" ./scripts/federation.sh "$out/demo" 10 --set rounds="$rounds" \
  --set run_name=demo
echo
echo "== The run, as 'edgefl runs show' prints it =="
"$build_dir/tools/edgefl" runs show demo --db "$out/demo.db"
echo
"$build_dir/tools/edgefl" report --db "$out/demo.db" -o "$out/demo.html" \
  --title "edgefl demo: FedAvg over mutual TLS, 10 clients, Fashion-MNIST Dir(0.5)"
echo "demo: experiment log $out/demo.db (runs, rounds, client_updates, evaluations, checkpoints)"
echo "demo: report $(realpath "$out/demo.html") (open it in a browser; it needs no network)"
echo "demo: certificates, partition file and process logs in $out/demo/"
