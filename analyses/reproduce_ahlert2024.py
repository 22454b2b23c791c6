"""Reproduce the analysis of Ahlert et al. (2024) on the 2025-05-07 Brain-Score export.

Run from the project root:

    python analyses/reproduce_ahlert2024.py [--n-boot 2000] [--seed 0]

Writes reports/ahlert2024_reproduction.md: the study's numbers (mean Spearman correlation
between metrics; explained variance of average_vision by neural_vision and behavior_vision;
agreement of the mean / z-score / rank aggregations) with bootstrap intervals, next to the
published values. Only public alignfactors functions are used.

Reference: Ahlert, J., Klein, T., Wichmann, F. & Geirhos, R. (2024). How aligned are different
alignment metrics? https://doi.org/10.48550/arXiv.2407.07530
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import alignfactors as af
from alignfactors.comparison import compare_aggregations
from alignfactors.decomposition import decompose

ROOT = Path(__file__).resolve().parents[1]
DATA = Path("../shared/data/brainscore_vision_leaderboard_2025-05-07.csv")
OUT = Path("reports/ahlert2024_reproduction.md")
PUBLISHED = {"n_models": 80, "n_metrics": 69, "mean_spearman": 0.198, "r2_behavior": 0.9525, "r2_neural": 0.3333}
AGGREGATIONS = ["mean", "zscore", "rank"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-boot", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    t0 = time.time()
    table = af.load_brainscore(ROOT / DATA)
    cleaned = af.clean(table)  # paper defaults: max_missing=0.5, complete models, neural + behavioral leaves
    n, p = cleaned.matrix.shape
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        agr = af.agreement(cleaned.matrix, method="spearman", groups=cleaned.domains, n_boot=args.n_boot,
                           seed=args.seed)
        dec = decompose(table, aggregate="average_vision", parts=["neural_vision", "behavior_vision"],
                        n_boot=args.n_boot, seed=args.seed, levels=False)
        comp = compare_aggregations(table, methods=AGGREGATIONS, models=list(cleaned.matrix.index),
                                    n_boot=args.n_boot, seed=args.seed, iia=False, metric_sensitivity=False,
                                    monotone=False)
    cmd = f"python analyses/reproduce_ahlert2024.py --n-boot {args.n_boot} --seed {args.seed}"
    pct = lambda e: f"{100 * e.value:.2f}% [{100 * e.ci[0]:.2f}%, {100 * e.ci[1]:.2f}%]"  # noqa: E731
    lines = [
        "# Reproduction of Ahlert et al. (2024) on the 2025-05-07 Brain-Score export", "",
        "Regenerate with (from the project root):", "", "```", cmd, "```", "",
        f"Input: `{DATA.name}` (456 models, one row per submission). Every interval is a {agr.level:.0%} "
        f"bootstrap interval over models ({args.n_boot} resamples, seed {args.seed}).", "",
        "## Side by side", "",
        "| quantity | published (Ahlert et al., 2024) | this reproduction |", "|---|---|---|",
        f"| cleaned matrix | {PUBLISHED['n_models']} models × {PUBLISHED['n_metrics']} metrics | "
        f"{n} models × {p} metrics |",
        f"| mean Spearman correlation between metrics | {PUBLISHED['mean_spearman']:.3f} | {agr.mean.format()} |",
        f"| R² of average_vision on behavior_vision | {100 * PUBLISHED['r2_behavior']:.2f}% | "
        f"{pct(dec.r2['behavior_vision'])} |",
        f"| R² of average_vision on neural_vision | {100 * PUBLISHED['r2_neural']:.2f}% | "
        f"{pct(dec.r2['neural_vision'])} |", "",
        f"The R² values use the {dec.n_models} models that have both parts ({dec.n_excluded} excluded for a "
        "missing value); the Shapley shares of the joint R² are "
        + ", ".join(f"{k} {pct(v)}" for k, v in dec.shapley.items()) + ".", "",
        "Agreement within and between domains (mean Spearman r):", "",
        "| block | mean r |", "|---|---|",
        *[f"| {k} | {v.format()} |" for k, v in agr.blocks.items()], "",
        "## The three aggregations", "",
        f"Mean, z-score and rank aggregation (``alignfactors.aggregate`` defaults: the neural and behavioral "
        f"benchmark leaves, missing values skipped) over the {comp.n_models} models of the cleaned matrix; "
        "agreement between the rankings they produce:", "",
        "| rule a | rule b | Kendall τ-b | Spearman ρ | top-10 overlap |", "|---|---|---|---|---|",
    ]
    rows = {}
    for r in comp.agreement.itertuples(index=False):
        rows.setdefault((r.method_a, r.method_b), {})[r.measure] = af.Estimate(r.value, (r.ci_low, r.ci_high)).format()
    lines += [f"| {a} | {b} | {v.get('kendall', '–')} | {v.get('spearman', '–')} | {v.get('top_k', '–')} |"
              for (a, b), v in rows.items()]
    lines += ["", "## Differences from the paper", "",
              "- The paper reports 80 models × 69 metrics; with the same rules (metrics with at most 50% missing "
              f"values, complete models) this export gives {n} × {p}. The leaderboard has changed since the paper "
              "(newer benchmarks run on part of the models, more submissions), so the cleaned matrix differs; "
              "the cleaning log in reports/brainscore_2025-05-07/report.md lists every dropped item.",
              "- R² is computed over all models that have both neural_vision and behavior_vision, as the "
              "paper's explained variance of the aggregate by each part.", "",
              f"- The R² of average_vision on neural_vision alone is {pct(dec.r2['neural_vision'])} here, against "
              f"the paper's 33.33%; the Shapley share of neural_vision in the joint R² is "
              f"{pct(dec.shapley['neural_vision'])}"
              + (", numerically close to the paper's figure. The paper used an older leaderboard, so this export "
                 "cannot tell whether its 33.33% was an R² alone or a share."
                 if abs(dec.shapley["neural_vision"].value - 1 / 3) < 0.02 else "."), ""]
    (ROOT / OUT).write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {OUT} in {time.time() - t0:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
