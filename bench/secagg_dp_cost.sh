#!/usr/bin/env bash
# The cost of DP and secure aggregation per round (issue 19), each arm next to plain FedAvg in the
# same invocation. Fashion-MNIST, Dir(0.5), mlp:784-200-200-10 (d = 199,210), the keys of
# base.toml below (local_steps 10, batch 32, lr 0.1); k and t as chosen (10 per round: k = 4, t = 2).
#   sim  SEED        — the simulator, 100 clients, 10 per round, 10 rounds; arms plain, dp (central),
#                      secagg, dp+secagg (distributed DP). Per arm: process CPU seconds per round
#                      (clients and coordinator in one process), bytes per selected client and round
#                      (model transfer + secure-aggregation stages), the simulator's virtual round
#                      time, final test accuracy.
#   tls  N SEED      — a coordinator and N edgefl-client processes over mutual TLS, all N per round,
#                      3 rounds; arms plain, secagg, dp+secagg. Per arm: mean round latency
#                      (ended_at − started_at in the log), coordinator CPU seconds per round, mean
#                      client-process CPU seconds per round, bytes per client and round.
# Prints one markdown row per arm. Wall-clock and CPU figures on a shared machine are indicative.
set -euo pipefail
B=${EDGEFL_BUILD_DIR:-$(cd "$(dirname "$0")/.." && pwd)/build}
data=${EDGEFL_FMNIST_DIR:-/usr/share/datasets/fashion-mnist}
mode=$1
shift

# The arms: overrides of base.toml (written below). z = 0.5, C = 1, δ = 1/N; distributed DP's
# noise from the run seed in the simulator ("seeded"), from each client's CSPRNG between processes.
dp_keys="--set dp=true --set dp_noise_multiplier=0.5 --set dp_clip=1.0 --set dp_delta=0.01"
sa_keys="--set secure_aggregation=true"
declare -A arm_sim_extra=([dp]="--set dp_noise=seeded" [dp+secagg]="--set dp_noise=seeded")
declare -A arm_keys=(
  [plain]=""
  [dp]="$dp_keys"
  [secagg]="$sa_keys"
  [dp+secagg]="$dp_keys $sa_keys"
)

write_base() {
  cat > base.toml <<TOML
strategy = "fedavg"
dataset = "fmnist"
partition = "dirichlet"
alpha = 0.5
model = "mlp:784-200-200-10"
batch_size = 32
local_steps = 10
lr = 0.1
test_subset = 2000
TOML
}

# bytes per selected client and round: the model transfer of every update row plus the
# secure-aggregation stages' messages, over the rounds.
bytes_per_client_round() {
  sqlite3 "$1" "select (select coalesce(sum(bytes_in + bytes_out), 0) from client_updates)
    + (select coalesce(sum(coalesce(json_extract(metrics, '$.secagg_bytes_up'), 0)
                         + coalesce(json_extract(metrics, '$.secagg_bytes_down'), 0)), 0) from rounds),
    (select sum(selected) from rounds)" | awk -F'|' '{printf "%.0f", $1 / $2}'
}

cpu_seconds() {  # /usr/bin/time -f "%U %S" output file -> user + system
  tail -1 "$1" | awk '{printf "%.2f", $1 + $2}'
}

case $mode in
  sim)
    seed=$1
    W=${EDGEFL_BENCH_DIR:-/tmp/secagg-dp-bench}/sim-s$seed
    rm -rf "$W"; mkdir -p "$W"; cd "$W"
    write_base
    common=(--set clients=100 --set clients_per_round=10 --set rounds=10 --set train_subset=20000
            --set seed=$seed --set data_path=$data)
    for arm in ${EDGEFL_ARMS:-plain dp secagg dp+secagg}; do
      db=$W/${arm/+/_}.db
      # shellcheck disable=SC2086
      /usr/bin/time -f "%U %S" -o "${arm/+/_}.time" $B/tools/edgefl sim --config base.toml \
        "${common[@]}" ${arm_keys[$arm]} ${arm_sim_extra[$arm]:-} --set db=$db --set run_name=$arm > /dev/null 2>&1
      rounds=$(sqlite3 "$db" "select count(*) from rounds")
      cpu=$(cpu_seconds "${arm/+/_}.time")
      vt=$(sqlite3 "$db" "select max(virtual_time) / count(*) from rounds")
      acc=$(sqlite3 "$db" "select accuracy from evaluations where split='test' order by round desc limit 1")
      eps=$(sqlite3 "$db" "select coalesce(json_extract(metrics, '$.epsilon'), '-') from rounds order by round desc limit 1")
      printf "| sim | %s | %s | %.2f | %s | %.2f | %.4f | %s |\n" "$seed" "$arm" \
        "$(echo "$cpu / $rounds" | bc -l)" "$(bytes_per_client_round "$db")" "$vt" "$acc" "$eps"
    done
    ;;
  tls)
    n=$1
    seed=$2
    W=${EDGEFL_BENCH_DIR:-/tmp/secagg-dp-bench}/tls-n$n-s$seed
    rm -rf "$W"; mkdir -p "$W"; cd "$W"
    write_base
    common=(--set clients=$n --set clients_per_round=$n --set rounds=3 --set train_subset=$((n * 200))
            --set seed=$seed --set data_path=$data)
    $B/tools/edgefl certs init --dir certs > /dev/null
    $B/tools/edgefl certs issue-server 127.0.0.1 --dir certs > /dev/null
    for k in $(seq 0 $((n - 1))); do
      $B/tools/edgefl certs issue-client "$(printf 'sim-%04d' "$k")" --dir certs > /dev/null
    done
    $B/tools/edgefl partition --dataset fmnist --data-dir $data --scheme dirichlet --alpha 0.5 \
      --clients $n --seed $seed --train-subset $((n * 200)) -q --out d.partition > /dev/null
    for arm in plain secagg dp+secagg; do
      a=${arm/+/_}
      # shellcheck disable=SC2086
      /usr/bin/time -f "%U %S" -o $a.coord.time $B/coordinator/edgefl-coordinator \
        --config base.toml "${common[@]}" ${arm_keys[$arm]} \
        --set port=0 --set min_clients=$n --set db=$a.db --set run_name=$arm \
        --set cert=certs/server.crt --set key=certs/server.key --set ca=certs/ca.crt \
        > $a.coord.out 2> $a.coord.log &
      cpid=$!
      for i in $(seq 600); do grep -q "listening on" $a.coord.log && break; sleep 0.1; done
      port=$(sed -n 's/.*listening on [^ ]*:\([0-9][0-9]*\).*/\1/p' $a.coord.log | head -1)
      pids=()
      for k in $(seq 0 $((n - 1))); do
        id=$(printf 'sim-%04d' "$k")
        /usr/bin/time -f "%U %S" -o $a.c$k.time $B/client/edgefl-client --coordinator 127.0.0.1:$port \
          --cert certs/$id.crt --key certs/$id.key --ca certs/ca.crt --data d.partition --index $k \
          --data-dir $data 2> $a.c$k.log &
        pids+=($!)
      done
      wait $cpid
      for p in "${pids[@]}"; do wait "$p" || true; done
      rounds=$(sqlite3 $a.db "select count(*) from rounds where aggregated = 1")
      total=$(sqlite3 $a.db "select count(*) from rounds")
      latency=$(sqlite3 $a.db "select avg(ended_at - started_at) from rounds")
      coord=$(cpu_seconds $a.coord.time)
      clients=$(for k in $(seq 0 $((n - 1))); do cpu_seconds $a.c$k.time; echo; done |
        awk -v n=$n '{s += $1} END {printf "%.2f", s / n}')
      acc=$(sqlite3 $a.db "select accuracy from evaluations where split='test' order by round desc limit 1")
      printf "| %s processes | %s | %s | %s/%s | %.2f | %.2f | %.2f | %s | %.4f |\n" "$n" "$seed" "$arm" \
        "$rounds" "$total" "$latency" "$(echo "$coord / $total" | bc -l)" \
        "$(echo "$clients / $total" | bc -l)" "$(bytes_per_client_round $a.db)" "$acc"
    done
    ;;
  *)
    echo "usage: $0 sim SEED | tls N SEED" >&2
    exit 2
    ;;
esac
