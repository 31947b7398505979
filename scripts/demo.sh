#!/usr/bin/env bash
# The main job, end to end on this machine. Installs missing packages,
# builds, and runs the current demonstration:
#   1. splits the real Fashion-MNIST training set across 10 clients with
#      Dirichlet(0.5) label skew and prints each client's class counts;
#   2. writes one partition file, from which each client loads its share.
# (The TLS coordinator + client federation replaces this as it lands.)
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup-deps.sh
./scripts/build.sh >/dev/null
build_dir=${EDGEFL_BUILD_DIR:-build}
out=${EDGEFL_DEMO_OUT:-out/demo}
mkdir -p "$out"

echo "== edgefl demo: non-IID split of Fashion-MNIST across 10 clients =="
"$build_dir/tools/edgefl" partition --dataset fmnist --scheme dirichlet --alpha 0.5 \
  --clients 10 --seed 1 --out "$out/fmnist-dir0.5-10.partition"
echo
echo "demo: partition file for the clients: $out/fmnist-dir0.5-10.partition"
