"""Coverage of the bootstrap intervals of :func:`alignfactors.agreement.agreement`.

Simulates model x metric matrices with a known correlation structure (a Gaussian copula
with two domain blocks), at the size of a cleaned Brain-Score matrix, and counts how often
the 95% percentile and BCa intervals contain the true population values of

* the mean Spearman correlation over all metric pairs,
* the behavioral-behavioral block mean,
* the block difference behavioral-behavioral minus neural-behavioral.

For a bivariate normal with Pearson correlation rho the population Spearman correlation is
(6/pi) * arcsin(rho/2) (Kruskal 1958); monotone transforms of the margins leave it unchanged,
so the margins are made non-normal on purpose.

Run from the project root::

    python analyses/calibration.py --reps 200 --n-jobs 2 --seed 0

Writes reports/calibration.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from scipy import special, stats

from alignfactors.agreement import agreement

QUANTITIES = ("mean", "behavioral-behavioral", "behavioral-behavioral minus neural-behavioral")
METHODS = ("percentile", "bca")


def spearman_from_pearson(rho: float) -> float:
    """Population Spearman correlation of a bivariate normal with Pearson correlation ``rho``."""
    return 6.0 / np.pi * np.arcsin(rho / 2.0)


def design(n_neural: int, n_behavioral: int, rho_nn: float, rho_bb: float, rho_nb: float):
    """Latent correlation matrix (compound symmetric blocks), groups and true values."""
    p = n_neural + n_behavioral
    groups = np.array(["neural"] * n_neural + ["behavioral"] * n_behavioral)
    sigma = np.where(groups[:, None] == groups[None, :],
                     np.where(groups[:, None] == "neural", rho_nn, rho_bb), rho_nb)
    np.fill_diagonal(sigma, 1.0)
    if np.linalg.eigvalsh(sigma).min() <= 0:
        raise SystemExit("the block correlations give a matrix that is not positive definite")
    s_nn, s_bb, s_nb = (spearman_from_pearson(r) for r in (rho_nn, rho_bb, rho_nb))
    n_pairs_nn, n_pairs_bb = n_neural * (n_neural - 1) / 2, n_behavioral * (n_behavioral - 1) / 2
    n_pairs_nb = n_neural * n_behavioral
    mean = (n_pairs_nn * s_nn + n_pairs_bb * s_bb + n_pairs_nb * s_nb) / (n_pairs_nn + n_pairs_bb + n_pairs_nb)
    truth = {"mean": mean, "behavioral-behavioral": s_bb,
             "behavioral-behavioral minus neural-behavioral": s_bb - s_nb}
    return sigma, groups, truth


def moran_bias(n_models: int, n_neural: int, n_behavioral: int, rho_nn: float, rho_bb: float, rho_nb: float) -> dict:
    """Bias E r_s - rho_s of each quantity for normal data (Moran 1948)."""
    def e_rs(r):
        return 6.0 / np.pi * ((n_models - 2) / (n_models + 1) * np.arcsin(r / 2) + np.arcsin(r) / (n_models + 1))

    b = {k: e_rs(r) - spearman_from_pearson(r) for k, r in (("nn", rho_nn), ("bb", rho_bb), ("nb", rho_nb))}
    w = np.array([n_neural * (n_neural - 1) / 2, n_behavioral * (n_behavioral - 1) / 2, n_neural * n_behavioral])
    return {"mean": float(w @ [b["nn"], b["bb"], b["nb"]] / w.sum()), "behavioral-behavioral": b["bb"],
            "behavioral-behavioral minus neural-behavioral": b["bb"] - b["nb"]}


def simulate(n_models: int, sigma: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One matrix from the Gaussian copula, with three kinds of margins."""
    z = rng.standard_normal((n_models, sigma.shape[0])) @ np.linalg.cholesky(sigma).T
    x = z.copy()
    x[:, 0::3] = special.ndtr(z[:, 0::3])  # uniform margins
    x[:, 1::3] = np.exp(z[:, 1::3])  # log-normal margins
    return x


def one_replication(rep: int, child_seed: np.random.SeedSequence, n_models, sigma, groups, truth, n_boot):
    rng = np.random.default_rng(child_seed)
    x = simulate(n_models, sigma, rng)
    cols = [f"{g}_{i}" for i, g in enumerate(groups)]
    matrix = pd.DataFrame(x, columns=cols)
    grp = pd.Series(groups, index=cols)
    boot_seed = int(rng.integers(2**31))
    rows = []
    for method in METHODS:
        res = agreement(matrix, groups=grp, n_boot=n_boot, seed=boot_seed, ci_method=method, n_jobs=1)
        diff = res.differences["neural-behavioral minus behavioral-behavioral"]
        found = {
            "mean": (res.mean.value, *res.mean.ci, res.mean.n_undefined),
            "behavioral-behavioral": (res.blocks["behavioral-behavioral"].value,
                                      *res.blocks["behavioral-behavioral"].ci,
                                      res.blocks["behavioral-behavioral"].n_undefined),
            # agreement labels blocks in order of appearance; negate to get bb minus nb.
            "behavioral-behavioral minus neural-behavioral": (-diff.value, -diff.ci[1], -diff.ci[0],
                                                              diff.n_undefined),
        }
        for q, (value, low, high, n_undef) in found.items():
            rows.append({"rep": rep, "quantity": q, "method": method, "value": value, "low": low,
                         "high": high, "n_undefined": n_undef, "truth": truth[q]})
    return rows


def summarise(df: pd.DataFrame) -> pd.DataFrame:
    out = []
    for (q, m), g in df.groupby(["quantity", "method"], sort=False):
        ok = np.isfinite(g["low"]) & np.isfinite(g["high"])
        covered = ((g["low"] <= g["truth"]) & (g["truth"] <= g["high"]) & ok).to_numpy()
        k, n = int(covered.sum()), len(g)
        ci = stats.binomtest(k, n).proportion_ci(0.95, method="exact")
        miss_low = int((g["truth"] < g["low"]).sum())
        miss_high = int((g["truth"] > g["high"]).sum())
        out.append({
            "quantity": q, "method": m, "coverage": k / n, "coverage_ci_low": ci.low,
            "coverage_ci_high": ci.high, "truth_below_interval": miss_low, "truth_above_interval": miss_high,
            "mean_width": float((g["high"] - g["low"]).mean()), "mean_n_undefined": float(g["n_undefined"].mean()),
            "truth": float(g["truth"].iloc[0]), "mean_estimate": float(g["value"].mean()),
            "bias": float(g["value"].mean() - g["truth"].iloc[0]),
            "sd_estimate": float(g["value"].std(ddof=1)), "n_reps": n,
        })
    return pd.DataFrame(out)


def render(summary: pd.DataFrame, args, command: str, seconds: float) -> str:
    lines = [
        "# Coverage of agreement() intervals",
        "",
        f"Reproduce: `{command}`",
        "",
        f"Seed {args.seed}; {args.reps} replications; {args.n_models} models x "
        f"{args.n_neural + args.n_behavioral} metrics ({args.n_neural} neural, {args.n_behavioral} behavioral); "
        f"{args.n_boot} bootstrap resamples per interval; nominal level 95%; "
        f"wall time {seconds / 60:.1f} min with n_jobs={args.n_jobs} (one replication per worker, "
        "agreement(..., n_jobs=1) inside).",
        "",
        "Data: Gaussian copula with compound-symmetric blocks, latent Pearson correlations "
        f"neural-neural {args.rho_nn}, behavioral-behavioral {args.rho_bb}, neural-behavioral {args.rho_nb}; "
        "margins uniform / log-normal / normal in turn (Spearman is unchanged by them). "
        "True values are population Spearman correlations, (6/pi) arcsin(rho/2), averaged over the pairs.",
        "",
        "| quantity | interval | coverage | 95% CI of coverage | truth below / above | mean width | mean n_undefined |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in summary.itertuples():
        lines.append(f"| {r.quantity} | {r.method} | {r.coverage:.3f} | [{r.coverage_ci_low:.3f}, {r.coverage_ci_high:.3f}] "
                     f"| {r.truth_below_interval} / {r.truth_above_interval} | {r.mean_width:.4f} | {r.mean_n_undefined:.2f} |")
    lines += [
        "",
        "Point estimates against the truth (same for both interval methods):",
        "",
        "| quantity | truth | mean estimate | bias | bias / sd | sd of estimate |",
        "|---|---|---|---|---|---|",
    ]
    for r in summary[summary["method"] == METHODS[0]].itertuples():
        lines.append(f"| {r.quantity} | {r.truth:.4f} | {r.mean_estimate:.4f} | {r.bias:+.4f} | "
                     f"{r.bias / r.sd_estimate:+.2f} | {r.sd_estimate:.4f} |")
    lo, hi = 0.93, 0.97
    short = summary[(summary["coverage_ci_high"] < lo) | (summary["coverage_ci_low"] > hi)]
    lines += ["", f"Target coverage {lo:.0%}-{hi:.0%}. "
              + ("All coverage intervals overlap the target band." if short.empty else
                 "Outside the target band (coverage CI excludes it): "
                 + "; ".join(f"{r.quantity} / {r.method} ({r.coverage:.3f})" for r in short.itertuples()) + ".")]
    lines += [
        "",
        "Diagnostics: `sd` is the spread of the point estimate over replications (the target an interval's "
        "half-width/1.96 should match); `width / (3.92 sd)` below 1 means the bootstrap intervals are too narrow. "
        "`Moran bias` is the bias of the sample Spearman correlation predicted for normal data, "
        "E r_s = (6/pi)[(n-2)/(n+1) arcsin(rho/2) + arcsin(rho)/(n+1)] (Moran 1948), averaged like the quantity.",
        "",
        "| quantity | interval | width / (3.92 sd) | Moran bias | Moran bias / sd |",
        "|---|---|---|---|---|",
    ]
    for r in summary.itertuples():
        mb = args.moran_bias[r.quantity]
        lines.append(f"| {r.quantity} | {r.method} | {r.mean_width / (3.92 * r.sd_estimate):.3f} | {mb:+.4f} | "
                     f"{mb / r.sd_estimate:+.2f} |")
    lines += ["", "Reading: with n models the bootstrap over models estimates the sampling sd of a mean of "
              "correlations with O(1/n) error and the sample Spearman correlation has an O(1/n) bias; "
              "both show up as a coverage a little below 95% when the width ratio is below 1 or |bias/sd| "
              "is not small. Coverage estimates from few replications have wide binomial intervals (column 4).", ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=200, help="replications (default 200: ~10 min on 2 cores)")
    ap.add_argument("--n-models", type=int, default=85)
    ap.add_argument("--n-neural", type=int, default=33)
    ap.add_argument("--n-behavioral", type=int, default=33)
    ap.add_argument("--rho-nn", type=float, default=0.2)
    ap.add_argument("--rho-bb", type=float, default=0.45)
    ap.add_argument("--rho-nb", type=float, default=0.1)
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="reports/calibration.md")
    args = ap.parse_args(argv)
    command = "python analyses/calibration.py " + " ".join(
        f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if k not in ("out", "moran_bias"))
    sigma, groups, truth = design(args.n_neural, args.n_behavioral, args.rho_nn, args.rho_bb, args.rho_nb)
    args.moran_bias = moran_bias(args.n_models, args.n_neural, args.n_behavioral, args.rho_nn, args.rho_bb, args.rho_nb)
    children = np.random.SeedSequence(args.seed).spawn(args.reps)
    t0 = time.perf_counter()
    results = Parallel(n_jobs=args.n_jobs, verbose=5)(
        delayed(one_replication)(i, children[i], args.n_models, sigma, groups, truth, args.n_boot)
        for i in range(args.reps))
    seconds = time.perf_counter() - t0
    df = pd.DataFrame([row for rows in results for row in rows])
    summary = summarise(df)
    text = render(summary, args, command, seconds)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
