#!/usr/bin/env bash
# Strong and weak scaling of `mpirun -n R edgefl sim` for R in {1, 2}, one
# core a rank (threads=1), and the round model of BENCHMARKS.md ("Simulation
# over MPI ranks") checked against them. Reads every figure back from the
# runs' logs: the mean host seconds of a round (rounds 2.., ended_at -
# started_at).
#   strong: cohort K = 20 at R = 1 and 2;  weak: K = 10 R.
# The model: T(R) = ceil(K/R) c + s + [(R-1) + (K - ceil(K/R))] 4P / B,
# c the seconds of one client's task on one core and s the rest of rank 0's
# round (aggregation, commit), both solved from the two R = 1 runs
# (T(1, K) = K c + s at K = 10 and 20), and B the MPI bandwidth
# (bench/mpi_bandwidth at the model's size; pass it in MB/s as $1).
#   bench/mpi_scaling.sh [bandwidth_MBps] [build_dir]
set -euo pipefail
cd "$(dirname "$0")/.."
bandwidth=${1:-4000}
build=${2:-build}
edgefl=$build/tools/edgefl
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
model=mlp:784-200-10
params=$((784 * 200 + 200 + 200 * 10 + 10))
common=(--set dataset=fmnist --set partition=iid --set train_subset=12000 --set test_subset=2000
        --set clients=40 --set model=$model --set local_epochs=5 --set batch_size=32
        --set eval_every=100
        --set lr=0.05 --set rounds=6 --set threads=1 --set seed=1 -q)

# the mean round seconds (rounds >= 2) of a log's run
round_seconds() {
  sqlite3 "$1" "select avg(ended_at - started_at) from rounds where round >= 2;"
}

run() {  # kind ranks cohort -> "round_seconds final_accuracy"
  local db=$dir/$1-$2.db
  local args=("${common[@]}" --set clients_per_round=$3 --set run_name=r --set db=$db)
  local out
  if [[ $2 == 1 ]]; then
    out=$("$edgefl" sim "${args[@]}")
  else
    out=$(mpirun --oversubscribe -n "$2" "$edgefl" sim "${args[@]}")
  fi
  echo "$(round_seconds "$db") $(sed -n 's/.*final test accuracy \([0-9.]*\).*/\1/p' <<<"$out")"
}

read -r t20 acc_s1 < <(run strong 1 20)
read -r t10 acc_w1 < <(run weak 1 10)
read -r s20 acc_s2 < <(run strong 2 20)
read -r w20 acc_w2 < <(run weak 2 20)
c=$(awk -v a="$t20" -v b="$t10" 'BEGIN{print (a - b) / 10}')
s=$(awk -v a="$t10" -v c="$c" 'BEGIN{print a - 10 * c}')
predict() {  # ranks cohort
  awk -v c="$c" -v s="$s" -v r="$1" -v k="$2" -v p="$params" -v b="$bandwidth" \
    'BEGIN{share=int((k+r-1)/r); print share*c + s + ((r-1)+(k-share))*4*p/(b*1e6)}'
}
echo "inputs: c = $c s a task, s = $s s a round (rank 0's rest), P = $params, B = $bandwidth MB/s"
printf '%-6s %2s %3s %10s %10s %10s\n' kind R K round_s model_s final_acc
printf '%-6s %2d %3d %10.4f %10.4f %10s\n' strong 1 20 "$t20" "$(predict 1 20)" "$acc_s1"
printf '%-6s %2d %3d %10.4f %10.4f %10s\n' strong 2 20 "$s20" "$(predict 2 20)" "$acc_s2"
printf '%-6s %2d %3d %10.4f %10.4f %10s\n' weak 1 10 "$t10" "$(predict 1 10)" "$acc_w1"
printf '%-6s %2d %3d %10.4f %10.4f %10s\n' weak 2 20 "$w20" "$(predict 2 20)" "$acc_w2"
