"""Speed and correctness of aggregate detection on a large simulated leaderboard.

The table: ``--models`` (default 5,000) rows and ``--columns`` (default 200) columns, printed to
3 decimals, in shuffled column order:

- metrics from a 3-factor model (loadings 0.3-0.8, so many pairs correlate above 0.9 in
  blocks), a near-duplicate pair (r > 0.99) and a near-collinear block;
- category means (each over 6-10 metrics), fixed-weight means, one sum, two overall means over
  categories (two levels), one "available" mean over metrics with missing cells, and a mean
  that the "website" got wrong on 3 models (a near miss: must stay a metric);
- a rank column and a constant column.

The baseline a user would otherwise run is nothing at all (every column is a metric); the ratio
printed is the detection time against the time to read the same table back from CSV
(``pandas.read_csv``), the step every analysis pays anyway.

Run from the project root::

    python benchmarks/bench_detect.py                 # writes reports/benchmark_detect.md
    python benchmarks/bench_detect.py --models 1000   # smaller
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from alignfactors.io.aggregates import detect_aggregates  # noqa: E402


def simulate(n: int, n_cols: int, seed: int = 0):
    """The table and its truth: parent -> children, metadata columns, the near miss."""
    rng = np.random.default_rng(seed)
    n_agg = max(8, n_cols // 8)
    n_metrics = n_cols - n_agg - 2
    f = rng.normal(size=(n, 3))
    load = rng.uniform(0.3, 0.8, (n_metrics, 3)) * (rng.random((n_metrics, 3)) < 0.6)
    x = 0.5 + 0.1 * (f @ load.T) + 0.05 * rng.normal(size=(n, n_metrics))
    x[:, 1] = x[:, 0] + 0.003 * rng.normal(size=n)              # near-duplicate metrics
    x[:, 2:6] = x[:, [2]] + 0.004 * rng.normal(size=(n, 4))      # a near-collinear block
    m = pd.DataFrame(np.round(x, 3), columns=[f"metric{i:03d}" for i in range(n_metrics)])
    with_missing = [f"metric{i:03d}" for i in range(n_metrics - 8, n_metrics)]
    for c in with_missing:
        m.loc[rng.random(n) < 0.2, c] = np.nan
    truth: dict[str, set] = {}
    free = [c for c in m.columns if c not in with_missing]
    rng.shuffle(free)
    cats = []
    i = 0
    k_cat = n_agg - 6
    for j in range(k_cat):
        size = int(rng.integers(6, 11))
        kids = free[i:i + size]
        i += size
        name = f"cat{j:02d}"
        if j % 4 == 3:  # a fixed-weight mean (weights of at least a few percent: a weight
            # whose contribution stays below the printed rounding cannot be told from 0)
            w = rng.dirichlet(np.full(len(kids), 4.0))
            m[name] = (m[kids] @ w).round(3)
        elif j % 4 == 2:  # a sum
            m[name] = m[kids].sum(axis=1).round(3)
        else:
            m[name] = m[kids].mean(axis=1).round(3)
        truth[name] = set(kids)
        cats.append(name)
    half = len(cats) // 2
    m["overall_A"] = m[cats[:half]].mean(axis=1).round(3)
    m["overall_B"] = m[cats[half:]].mean(axis=1).round(3)
    truth["overall_A"], truth["overall_B"] = set(cats[:half]), set(cats[half:])
    m["grand"] = m[["overall_A", "overall_B"]].mean(axis=1).round(3)
    truth["grand"] = {"overall_A", "overall_B"}
    m["avail_mean"] = m[with_missing].mean(axis=1).round(3)
    truth["avail_mean"] = set(with_missing)
    near_kids = free[i:i + 5]
    near = m[near_kids].mean(axis=1).round(3)
    near.iloc[[10, 20, 30]] += [0.02, -0.03, 0.015]
    m["near_miss"] = near
    m["rank"] = m["grand"].rank(ascending=False, method="min")
    m["suite_version"] = 3.0
    m = m.iloc[:, : n_cols] if m.shape[1] > n_cols else m
    cols = list(rng.permutation(m.columns))
    return m[cols], truth, {"rank": "rank", "suite_version": "constant"}, "near_miss"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", type=int, default=5000)
    ap.add_argument("--columns", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(ROOT / "reports" / "benchmark_detect.md"))
    args = ap.parse_args()
    m, truth, meta, near = simulate(args.models, args.columns, args.seed)
    text = m.to_csv(index=False)
    load0 = os.getloadavg()
    t0 = time.perf_counter()
    pd.read_csv(io.StringIO(text))
    t_read = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    d = detect_aggregates(m)
    t_detect, c_detect = time.perf_counter() - t0, time.process_time() - c0
    load1 = os.getloadavg()
    found = {p: set(f.children) for p, f in d.aggregates.items()}
    exact = found == truth
    wrong = {p: (sorted(found.get(p, set()) ^ truth.get(p, set()))[:4])
             for p in set(found) | set(truth) if found.get(p) != truth.get(p)}
    lines = [
        "# Aggregate detection: speed and correctness",
        "",
        f"Command: `python benchmarks/bench_detect.py --models {args.models} --columns "
        f"{args.columns} --seed {args.seed}`",
        "",
        f"Table: {m.shape[0]} models x {m.shape[1]} columns (3 decimals, shuffled order): "
        f"{len(truth)} aggregates (means, fixed-weight means, sums, two levels, one mean over "
        "the children present), a near miss, a rank and a constant column, near-duplicate and "
        "near-collinear metrics.",
        "",
        "| quantity | value |",
        "|---|---|",
        f"| detect_aggregates time (wall) | {t_detect:.2f} s |",
        f"| detect_aggregates CPU time of this process (all threads) | {c_detect:.2f} s |",
        f"| pandas.read_csv of the same table (baseline every analysis pays) | {t_read:.2f} s |",
        f"| ratio detection / read_csv | {t_detect / t_read:.1f} |",
        f"| aggregates found / true | {len(found)} / {len(truth)} |",
        f"| every parent's children exactly right | {exact} |",
        f"| metadata found | {d.metadata} (true {meta}) |",
        f"| near miss kept as a metric, with a note | {near not in d.aggregates and any(repr(near) in n for n in d.notes)} |",
        f"| metrics left | {len(d.metrics)} |",
        f"| machine | {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"load average {load0[0]:.1f} before, {load1[0]:.1f} after |",
        "",
    ]
    if wrong:
        lines += ["Differences (parent: symmetric difference of children):", ""]
        lines += [f"- {p}: {v}" for p, v in sorted(wrong.items())] + [""]
    lines += ["Notes from the detection:", ""] + [f"- {n}" for n in d.notes] + [""]
    report = "\n".join(lines)
    print(report)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(report, encoding="utf-8")
    return 0 if exact else 1


if __name__ == "__main__":
    raise SystemExit(main())
