#!/usr/bin/env python3
"""Language-model bench table from a seed_sweep experiment log (BENCHMARKS.md, "Language modelling").

Per variant (run names sweep-VARIANT-...-sSEED) and round: mean ± std over seeds of the test
perplexity exp(loss) and of the next-character accuracy. Usage: fortunes_lm_table.py LOG.db
"""
import math
import re
import sqlite3
import statistics
import sys
from collections import defaultdict

db = sqlite3.connect(sys.argv[1])


def ms(values, spec):
    if len(values) == 1:
        return format(values[0], spec)
    return f"{format(statistics.mean(values), spec)} ± {format(statistics.stdev(values), spec)}"


ppl = defaultdict(lambda: defaultdict(list))
acc = defaultdict(lambda: defaultdict(list))
for name, rnd, loss, accuracy in db.execute(
        "select r.name, e.round, e.loss, e.accuracy from evaluations e join runs r "
        "on r.id = e.run_id where e.split = 'test' order by r.name, e.round"):
    m = re.match(r"sweep-(.+?)-[^-]*-s(\d+)$", name)
    if not m:
        continue
    ppl[m.group(1)][rnd].append(math.exp(loss))
    acc[m.group(1)][rnd].append(100.0 * accuracy)

variants = sorted(ppl)
rounds = sorted({r for v in variants for r in ppl[v]})
print("| round | " + " | ".join(f"{v} perplexity | {v} acc %" for v in variants) + " |")
print("|---|" + "---|---|" * len(variants))
for r in rounds:
    cells = []
    for v in variants:
        cells.append(ms(ppl[v][r], ".2f") if ppl[v][r] else "—")
        cells.append(ms(acc[v][r], ".1f") if acc[v][r] else "—")
    n = min((len(ppl[v][r]) for v in variants if ppl[v][r]), default=0)
    print(f"| {r} | " + " | ".join(cells) + f" |  <!-- seeds {n} -->")
