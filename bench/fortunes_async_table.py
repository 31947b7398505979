#!/usr/bin/env python3
"""DN + DyLU vs synchronous Local-SGD on text: tables from a seed_sweep log (BENCHMARKS.md,
"Language modelling: DN + DyLU against synchronous Local-SGD").

Per run (names sweep-VARIANT-...-sSEED): the test perplexity exp(loss) of the global model at each
evaluated round, against three clocks read from the log: client updates applied (accepted
client_updates), local steps taken by those updates (their local_steps), and the virtual time of
the round (rounds.virtual_time). A point "at x" is the last evaluation made at or before x (the
model the server held then). Prints mean ± std over seeds of
  1. perplexity at equal client updates (--updates, comma-separated),
  2. perplexity at equal local steps (--steps),
  3. perplexity at equal virtual time: T = the end of the quickest run of each seed; at T/4, T/2, T,
     and the virtual seconds and client updates each run needs to reach the final perplexity of the
     --reference variant (the synchronous run).
Usage: fortunes_async_table.py LOG.db --updates 40,80,160 --steps 800,1600,3200 --reference sync
"""
import argparse
import math
import re
import sqlite3
import statistics
from collections import defaultdict

parser = argparse.ArgumentParser()
parser.add_argument("db")
parser.add_argument("--updates", default="")
parser.add_argument("--steps", default="")
parser.add_argument("--reference", default="")
args = parser.parse_args()
db = sqlite3.connect(args.db)


def ms(values, spec):
    if not values:
        return "—"
    if len(values) == 1:
        return format(values[0], spec)
    return f"{format(statistics.mean(values), spec)} ± {format(statistics.stdev(values), spec)}"


# curves[variant][seed] = [(updates, steps, virtual_s, ppl)], round 0 first.
curves = defaultdict(dict)
for run_id, name in db.execute("select id, name from runs order by name"):
    m = re.match(r"sweep-(.+?)-[^-]*-s(\d+)$", name)
    if not m:
        continue
    ppl = {r: math.exp(loss) for r, loss in db.execute(
        "select round, loss from evaluations where run_id = ? and split = 'test'", (run_id,))}
    per_round = {r: (n, s or 0) for r, n, s in db.execute(
        "select round, count(*), sum(local_steps) from client_updates "
        "where run_id = ? and status = 'accepted' group by round", (run_id,))}
    curve = [(0, 0, 0.0, ppl[0])] if 0 in ppl else []
    updates = steps = 0
    for r, vt in db.execute("select round, virtual_time from rounds where run_id = ? order by round",
                            (run_id,)):
        n, s = per_round.get(r, (0, 0))
        updates += n
        steps += s
        if r in ppl:
            curve.append((updates, steps, vt or 0.0, ppl[r]))
    curves[m.group(1)][int(m.group(2))] = curve


def at(curve, index, x):
    """Perplexity of the last point whose clock `index` is <= x; None past the run's end."""
    if curve[-1][index] < x:
        return None
    best = None
    for p in curve:
        if p[index] <= x:
            best = p[3]
    return best


variants = sorted(curves)
seeds = sorted({s for v in variants for s in curves[v]})


def table(title, index, points, label):
    if not points:
        return
    print(f"\n{title}\n")
    print(f"| run | " + " | ".join(f"{label} {x:,}" for x in points) + " |")
    print("|---|" + "---|" * len(points))
    for v in variants:
        cells = []
        for x in points:
            vals = [at(c, index, x) for c in curves[v].values()]
            vals = [p for p in vals if p is not None]
            cells.append(ms(vals, ".2f") + ("" if len(vals) == len(curves[v]) else f" ({len(vals)})"))
        print(f"| {v} | " + " | ".join(cells) + " |")


table("Perplexity at equal client updates", 0,
      [int(x) for x in args.updates.split(",") if x], "updates")
table("Perplexity at equal local steps (all clients' steps summed)", 1,
      [int(x) for x in args.steps.split(",") if x], "steps")

# Equal virtual time.
print("\nPerplexity at equal virtual time (T = the end of the seed's quickest run)\n")
ends = {s: min(curves[v][s][-1][2] for v in variants if s in curves[v]) for s in seeds}
print("T per seed: " + ", ".join(f"s{s} {ends[s]:.1f} s" for s in seeds) + "\n")
ref_final = {}
if args.reference in curves:
    ref_final = {s: c[-1][3] for s, c in curves[args.reference].items()}
header = "| run | at T/4 | at T/2 | at T | final | virtual s | "
header += f"virtual s to {args.reference}'s final | updates to it |" if ref_final else ""
print(header)
print("|---|---|---|---|---|---|" + ("---|---|" if ref_final else ""))
for v in variants:
    cells = []
    for frac in (0.25, 0.5, 1.0):
        cells.append(ms([at(c, 2, frac * ends[s]) for s, c in curves[v].items()], ".2f"))
    cells.append(ms([c[-1][3] for c in curves[v].values()], ".2f"))
    cells.append(ms([c[-1][2] for c in curves[v].values()], ".1f"))
    if ref_final:
        secs, ups, missed = [], [], 0
        for s, c in curves[v].items():
            hit = next((p for p in c if p[3] <= ref_final[s]), None)
            if hit is None:
                missed += 1
            else:
                ups.append(hit[0])
                secs.append(hit[2])
        suffix = f" ({len(secs)}/{len(curves[v])})" if missed else ""
        cells.append(ms(secs, ".1f") + suffix)
        cells.append(ms(ups, ".0f") + suffix)
    print(f"| {v} | " + " | ".join(cells) + " |")
