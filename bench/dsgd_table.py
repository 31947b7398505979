#!/usr/bin/env python3
"""D-SGD bench table from a seed_sweep experiment log (BENCHMARKS.md, "D-SGD").

Per (alpha, variant) over seeds: final test accuracy of the average model x̄ (FedAvg: the global
model), final mean test accuracy of the node models (split node_mean), final consensus distance, and
the rounds and bytes per node (sent + received, mean over nodes) until an accuracy first reaches the
target, on x̄ and on the node mean. Usage: dsgd_table.py LOG.db [TARGET]
"""
import re
import sqlite3
import statistics
import sys

db = sqlite3.connect(sys.argv[1])
target = float(sys.argv[2]) if len(sys.argv) > 2 else 0.70


def ms(values, spec=".2f"):
    values = [v for v in values if v is not None]
    if not values:
        return "—"
    if len(values) == 1:
        return format(values[0], spec)
    return f"{format(statistics.mean(values), spec)} ± {format(statistics.stdev(values), spec)}"


def to_target(run_id, split):
    row = db.execute(
        "select min(round) from evaluations where run_id=? and split=? and accuracy>=?",
        (run_id, split, target)).fetchone()
    if row[0] is None:
        return None, None
    rounds = row[0]
    nodes = db.execute("select count(distinct client_id) from client_updates where run_id=?",
                       (run_id,)).fetchone()[0]
    total = db.execute(
        "select sum(bytes_in + bytes_out) from client_updates where run_id=? and round<=?",
        (run_id, rounds)).fetchone()[0]
    return rounds, total / nodes / 1e6


groups = {}
for run_id, name in db.execute("select id, name from runs order by id"):
    m = re.match(r"sweep-(\w+)-alpha([\d.]+)-s(\d+)", name)
    if not m:
        continue
    groups.setdefault((float(m.group(2)), m.group(1)), []).append(run_id)

print(f"target accuracy {target:.2f}; bytes = MB sent + received per node; n/N = seeds that reached it")
print("| Dir(α) | variant | x̄ final % | node mean final % | consensus final | rounds→target x̄ |"
      " MB/node→target x̄ | rounds→target node mean | MB/node→target node mean |")
print("|---|---|---|---|---|---|---|---|---|")
order = {"fedavg": 0, "ring": 1, "torus": 2, "exponential": 3}
for (alpha, variant) in sorted(groups, key=lambda k: (-k[0], order.get(k[1], 9))):
    runs = groups[(alpha, variant)]
    last = lambda r, s: db.execute(
        "select accuracy, loss from evaluations where run_id=? and split=? order by round desc"
        " limit 1", (r, s)).fetchone()
    avg = [100 * last(r, "test")[0] for r in runs]
    node = [100 * last(r, "node_mean")[0] for r in runs if last(r, "node_mean")]
    cons = [last(r, "consensus")[1] for r in runs if last(r, "consensus")]
    tx = [to_target(r, "test") for r in runs]
    tn = [to_target(r, "node_mean") for r in runs] if node else []
    def fmt(pairs, i):
        got = [p[i] for p in pairs if p[0] is not None]
        return f"{ms(got)} ({len(got)}/{len(pairs)})" if pairs else "—"
    print(f"| {alpha:g} | {variant} | {ms(avg)} | {ms(node) if node else '— (= x̄)'} | "
          f"{ms(cons, '.2g') if cons else '—'} | {fmt(tx, 0)} | {fmt(tx, 1)} | "
          f"{fmt(tn, 0) if tn else '—'} | {fmt(tn, 1) if tn else '—'} |")
