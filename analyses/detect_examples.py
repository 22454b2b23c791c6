"""What aggregate detection finds on small hand-made leaderboards (the cases of the tests) and on
the constructed LLM leaderboard in tests/data, and what it changes in the mean agreement.

Run from the project root: ``python analyses/detect_examples.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import alignfactors as af  # noqa: E402


def metrics(n=60, k=6, seed=0):
    rng = np.random.default_rng(seed)
    x = 0.5 + 0.1 * rng.normal(size=(n, 1)) + 0.1 * rng.normal(size=(n, k))
    return pd.DataFrame(np.round(x, 3), columns=[f"m{i}" for i in range(k)],
                        index=[f"model{i}" for i in range(n)])


def cases():
    m = metrics()
    m["Average"] = m.mean(axis=1).round(3)
    yield "a mean", m
    m = metrics(80, 6, 1)
    m["Score"] = (m[["m0", "m1", "m2", "m3"]] @ [0.4, 0.3, 0.2, 0.1]).round(3)
    m["Half"] = (0.25 * m["m4"] + 0.75 * m["m5"]).round(3)
    yield "two weighted means", m
    m = (metrics(50, 4, 2) * 10).round(1)
    m["Total"] = m.sum(axis=1).round(1)
    yield "a sum", m
    m = metrics(70, 7, 3)
    m["Vision"] = m[["m0", "m1", "m2"]].mean(axis=1).round(3)
    m["Language"] = m[["m3", "m4", "m5", "m6"]].mean(axis=1).round(3)
    m["Overall"] = m[["Vision", "Language"]].mean(axis=1).round(3)
    yield "a two-level tree, shuffled", m[list(np.random.default_rng(0).permutation(m.columns))]
    m = metrics(40, 4, 5)
    m["Rank"] = m["m0"].rank(ascending=False, method="min")
    m["Suite"] = 2024.0
    yield "a rank and a constant column", m
    m = metrics(60, 5, 6)
    avg = m.mean(axis=1).round(3)
    avg.iloc[[7, 30]] += [0.02, -0.015]
    m["Avg"] = avg
    yield "a near miss (the mean, off on 2 models)", m
    rng = np.random.default_rng(7)
    base = rng.normal(size=200)
    yield "8 near-collinear metrics (r > 0.99)", pd.DataFrame(
        {f"c{i}": np.round(0.5 + 0.1 * base + 0.004 * rng.normal(size=200), 3) for i in range(8)})


def main() -> int:
    for title, m in cases():
        d = af.detect_aggregates(m)
        print(f"== {title}: {m.shape[0]} models x {m.shape[1]} columns")
        print(d.summary())
        print()
    board = ROOT / "tests" / "data" / "llm_board.csv"
    print(f"== {board.relative_to(ROOT)} (constructed; Open LLM Leaderboard v1 structure)")
    for mode in ("detect", "none"):
        t = af.load_table(board, aggregates=mode)
        c = af.clean(t)
        a = af.agreement(c.matrix, n_boot=2000, seed=0)
        print(f"aggregates={mode!r}: {c.matrix.shape[1]} metrics; mean Spearman agreement "
              f"{a.mean.value:.3f} [{a.mean.ci[0]:.3f}, {a.mean.ci[1]:.3f}] (BCa 95%, 2000 "
              f"resamples of models, seed 0)")
        if mode == "detect":
            print(" ", t.detection.headline())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
