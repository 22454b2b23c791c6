"""Families of the cleaned 2025-05-07 Brain-Score export and the intervals they change.

Prints, for ``clean(load_brainscore(...))`` with its defaults:
- the number of families at the variant and architecture level and the largest ones;
- each level's median intra-family correlation and Kish effective number of models (design_effect);
- the model-bootstrap and family-bootstrap (variant, architecture) intervals side by side for the
  agreement mean, each domain block, lambda_1, the participation ratio and the R2/Shapley shares
  of average_vision (compare_units).

Usage (about 2-4 CPU-minutes with 2000 resamples):
    python analyses/families_brainscore.py --n-boot 2000 --seed 0
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd  # noqa: E402

import alignfactors as af  # noqa: E402
from alignfactors.units import compare_units  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "../shared/data/brainscore_vision_leaderboard_2025-05-07.csv"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--n-boot", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-jobs", type=int, default=1)
    args = ap.parse_args()

    table = af.load_brainscore(args.data)
    cleaned = af.clean(table)
    idx = cleaned.matrix.index
    print(f"cleaned matrix: {cleaned.matrix.shape[0]} models x {cleaned.matrix.shape[1]} metrics")
    for level in ("variant", "architecture"):
        fam = af.model_families(table, level=level)
        sizes = fam.loc[idx].value_counts()
        print(f"\n{level}: {len(sizes)} families of {len(idx)} cleaned models "
              f"({(sizes == 1).sum()} singletons); all {len(table.models)} models: {fam.nunique()} families")
        print("  largest (cleaned): " + ", ".join(f"{k} {v}" for k, v in sizes.head(10).items()))
    uc = compare_units(table, matrix=cleaned.matrix, groups=cleaned.domains, n_boot=args.n_boot, seed=args.seed,
                       n_jobs=args.n_jobs, progress=False)
    print()
    for level, de in uc.design.items():
        print(f"design effect, {level}: median ICC(1) {de.median_icc}, median Kish effective n "
              f"{de.median_n_eff.format(1)} of {de.n_models} (size-weighted mean family size {de.mean_size:.2f})")
    print()
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        f = uc.frame.copy()
        f["interval"] = [f"[{lo:.3f}, {hi:.3f}]" for lo, hi in zip(f["ci_low"], f["ci_high"])]
        wide = f.pivot_table(index="quantity", columns="unit", values="interval", aggfunc="first", sort=False)
        ratio = f[f["unit"] != "model"].pivot_table(index="quantity", columns="unit", values="se_ratio",
                                                    aggfunc="first", sort=False).add_prefix("se x ")
        value = f.drop_duplicates("quantity").set_index("quantity")["value"].round(3)
        out = pd.concat([value, wide[[c for c in ("model", "family", "architecture") if c in wide]], ratio.round(2)],
                        axis=1)
        print(out.to_string())
    n = f.drop_duplicates(["unit", "n_units"])[["unit", "n_units"]]
    print("\nunits resampled:", "; ".join(f"{u} {k}" for u, k in n.itertuples(index=False)))
    print(f"({args.n_boot} resamples, seed {args.seed}, BCa)")


if __name__ == "__main__":
    main()
