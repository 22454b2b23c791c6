"""Number of dimensions of the cleaned Brain-Score matrix and its P(k), by resampling unit.

For each resampling unit -- models (``clusters=None``), variant-level families
(``clusters="families"``) and architectures (``clusters="architecture"``) -- runs
``af.dimensionality`` on the cleaned 2025-05-07 export and prints, per rule, the k on the full
data, P(k) for the most likely values, the 95% interval of k, and the leading eigenvalue and
participation ratio with their intervals. With clusters, the parallel-analysis null data keep the
family structure (so the full-data k can change too) and cv_likelihood folds are grouped.

Run from the project root::

    python -m analyses.dimensions_brainscore --n-boot 2000 --seed 0 --units none,families,architecture
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import alignfactors as af

DATA = Path("../shared/data/brainscore_vision_leaderboard_2025-05-07.csv")


def top_pk(dist: dict, n: int = 3) -> str:
    best = sorted(dist.items(), key=lambda kv: -kv[1])[:n]
    return ", ".join(f"P({k})={p:.2f}" for k, p in sorted(best))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n-boot", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--units", default="none,families,architecture")
    ap.add_argument("--n-jobs", type=int, default=1)
    ap.add_argument("--data", type=Path, default=DATA)
    args = ap.parse_args(argv)
    table = af.load_brainscore(str(args.data))
    matrix = af.clean(table).matrix
    print(f"# dimensionality of the cleaned {args.data.name}: {matrix.shape[0]} models x {matrix.shape[1]} metrics, "
          f"n_boot={args.n_boot}, seed={args.seed}\n")
    for unit in args.units.split(","):
        clusters = None if unit == "none" else unit
        t0 = time.perf_counter()
        res = af.dimensionality(matrix, n_boot=args.n_boot, seed=args.seed, clusters=clusters, n_jobs=args.n_jobs)
        n_cl = res.options["n_clusters"]
        print(f"## clusters={clusters!r} ({'229 models' if n_cl is None else f'{n_cl} clusters'}; "
              f"{(time.perf_counter() - t0) / 60:.1f} min)\n")
        print("| rule | k (full data) | P(k = full-data k) | 95% interval of k | most likely k |")
        print("|---|---|---|---|---|")
        for rule, k in res.n_dimensions.items():
            dist = res.k_distribution.get(rule)
            if dist:
                lo, hi = res.k_ci[rule]
                print(f"| {rule} | {k} | {dist.get(k, 0.0):.3f} | [{lo}, {hi}] | {top_pk(dist)} |")
            else:
                print(f"| {rule} | {k} | not bootstrapped | | |")
        print(f"\nlambda1 {res.eigenvalue_estimates[1].format()}; explained by the first component "
              f"{res.explained_estimates[1].format()}; participation ratio {res.participation_ratio.format()}")
        for note in res.notes:
            print(f"- {note}")
        print()
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
