#!/usr/bin/env python3
"""Bytes to a target accuracy, compressed vs fp32 (issue 20, BENCHMARKS.md).

Reads an experiment log written by bench/seed_sweep (runs named
sweep-<variant>--s<seed>). For every seed the target is the fp32 variant's
(--baseline) final test accuracy minus --margin points; for every variant
and seed it sums client_updates.bytes_in (upload) and bytes_out (download)
over the rounds up to the first evaluation at or above the target, and
prints per-seed values and mean +- std, with the ratio to fp32's upload.

  python3 bench/compression_bytes.py --db compression.db --seeds 1,2,3 \
      --variants none,int8,topk1,topk5 [--baseline none] [--margin 0.5]
"""
import argparse
import sqlite3
import statistics


def run_id(db, name):
    row = db.execute("SELECT id FROM runs WHERE name = ?", (name,)).fetchone()
    if row is None:
        raise SystemExit(f"no run {name!r} in the log")
    return row[0]


def curve(db, rid):
    acc = dict(db.execute(
        "SELECT round, accuracy FROM evaluations WHERE run_id = ? AND split = 'test' "
        "ORDER BY round", (rid,)).fetchall())
    up, down = {}, {}
    for rnd, b_in, b_out in db.execute(
            "SELECT round, SUM(bytes_in), SUM(bytes_out) FROM client_updates "
            "WHERE run_id = ? GROUP BY round ORDER BY round", (rid,)):
        up[rnd], down[rnd] = b_in, b_out
    return acc, up, down


def to_target(acc, up, down, target):
    total_up = total_down = 0
    for rnd in sorted(up):
        total_up += up[rnd]
        total_down += down[rnd]
        if acc.get(rnd, -1.0) >= target:
            return rnd, total_up, total_down
    return None, None, None


def mean_std(values):
    if not values:
        return "not reached"
    if len(values) == 1:
        return f"{values[0]:.3g}"
    return f"{statistics.mean(values):.3g} ± {statistics.stdev(values):.2g}"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--db", required=True)
    p.add_argument("--seeds", required=True)
    p.add_argument("--variants", required=True)
    p.add_argument("--baseline", default="none")
    p.add_argument("--margin", type=float, default=0.5, help="points below fp32's final accuracy")
    args = p.parse_args()
    db = sqlite3.connect(f"file:{args.db}?mode=ro", uri=True)
    seeds = args.seeds.split(",")
    variants = args.variants.split(",")
    targets, base_up = {}, {}
    for s in seeds:
        acc, up, down = curve(db, run_id(db, f"sweep-{args.baseline}--s{s}"))
        targets[s] = acc[max(acc)] - args.margin / 100.0
        base_up[s] = to_target(acc, up, down, targets[s])[1]
    print(f"target per seed (fp32 final - {args.margin} points): " +
          ", ".join(f"s{s} {100 * t:.2f}%" for s, t in targets.items()))
    print("| variant | final acc % | rounds to target | upload MB to target | download MB to "
          "target | upload vs fp32 | per seed (rounds, upload MB) |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for v in variants:
        finals, rounds, ups, downs, ratios, cells = [], [], [], [], [], []
        for s in seeds:
            acc, up, down = curve(db, run_id(db, f"sweep-{v}--s{s}"))
            finals.append(100 * acc[max(acc)])
            r, u, d = to_target(acc, up, down, targets[s])
            if r is None:
                cells.append(f"s{s}: not reached")
                continue
            rounds.append(r)
            ups.append(u / 1e6)
            downs.append(d / 1e6)
            ratios.append(base_up[s] / u)
            cells.append(f"s{s}: {r}, {u / 1e6:.3g}")
        reached = f"{len(rounds)}/{len(seeds)} seeds" if len(rounds) < len(seeds) else ""
        print(f"| {v} | {mean_std(finals)} | {mean_std(rounds)} {reached} | {mean_std(ups)} | "
              f"{mean_std(downs)} | {mean_std(ratios)}× | {'; '.join(cells)} |")


if __name__ == "__main__":
    main()
