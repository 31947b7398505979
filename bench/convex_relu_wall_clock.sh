#!/usr/bin/env bash
# Wall-clock of the federated convex program vs FedAvg-SGD on the same data (BENCHMARKS convex_relu part 2),
# both arms per seed in one invocation, threads=1 each (one client at a time), on an idle machine.
set -euo pipefail
# Usage: bench/convex_relu_wall_clock.sh [SCRATCH_DIR]  (after a Release build in build/)
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "${1:-convex-wall}" && cd "${1:-convex-wall}"
B=$root/build/tools/edgefl
C="--set dataset=fmnist --set partition=dirichlet --set alpha=0.5 --set clients=10 --set clients_per_round=10 --set rounds=10 --set train_subset=10000 --set test_subset=2000 --set threads=1"
for S in 1 2 3; do
  rm -f s$S.db
  /usr/bin/time -f "convex seed $S wall %e s" $B sim --config $root/examples/convex_relu.toml $C --set model=gated_relu:784-4-10-10 --set convex_beta=1 --set convex_rho=100 --set seed=$S --set db=s$S.db --set run_name=convex-$S 2>&1 | grep -E "done:|wall"
  /usr/bin/time -f "sgd seed $S wall %e s" $B sim --config $root/examples/fedavg.toml $C --set model=mlp:784-80-10 --set seed=$S --set db=s$S.db --set run_name=sgd-$S 2>&1 | grep -E "done:|wall"
done
