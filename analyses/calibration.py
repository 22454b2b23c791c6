"""Coverage of the bootstrap intervals when models come in families: model vs family bootstrap.

Simulates leaderboards shaped like the cleaned 2025-05-07 Brain-Score matrix -- 229 models in
families of the sizes ``model_families`` finds there (variant level: 181 families; architecture
level: 18), 32 neural and 18 behavioral metrics -- with a known correlation structure between
metrics and a known intra-family correlation (``analyses/clustered_designs.py``), and counts how
often the 95% BCa intervals contain the true value of

* the agreement mean (all metric pairs) and the three block means (``agreement``),
* the first eigenvalue and the participation ratio of the Spearman correlation matrix
  (``dimensionality``),
* the R² of an aggregate on each of its two parts and the Shapley share of the neural part
  (``decompose``; aggregate = mean of the neural mean and the behavioral mean),

each with models as the resampling unit (``clusters=None``) and with the true families
(``clusters=families``). Truths: rows are N(0, Sigma) whatever the family, so the population
Spearman matrix is (6/pi) arcsin(Sigma/2) (Kruskal 1958) and the decomposition's R² are those
of the normal linear model.

Acceptance rule: the 95% Clopper-Pearson interval of the coverage contains 0.95.

Run from the project root (the ``-m`` form imports this worktree's package)::

    python -m analyses.calibration --reps 200 --n-boot 500 --n-jobs 2 --seed 0

Writes ``reports/calibration.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from scipy import stats

from alignfactors.agreement import agreement
from alignfactors.decomposition import decompose
from alignfactors.dimensions import dimensionality
from analyses.clustered_designs import FAMILY_SIZES, simulate, spearman_from_pearson

N_NEURAL, N_BEHAVIORAL = 32, 18
#: Latent Pearson block correlations whose Spearman values are the block means of the cleaned
#: 2025-05-07 matrix (neural-neural 0.114, behavioral-behavioral 0.749, neural-behavioral 0.123).
RHO = {"nn": 0.119, "bb": 0.764, "nb": 0.129}
#: Brain-Score-like designs: family sizes and the median intra-family correlation of the real
#: metrics at that level (af.design_effect on the cleaned matrix: 0.58 variant, 0.23 architecture).
DESIGNS = {"variant": 0.58, "architecture": 0.23}
QUANTITIES = ("mean", "neural-neural", "behavioral-behavioral", "neural-behavioral", "lambda1",
              "participation ratio", "R2 neural", "R2 behavioral", "Shapley neural")
UNITS = ("models", "families")


def sigma_and_groups():
    p = N_NEURAL + N_BEHAVIORAL
    groups = np.array(["neural"] * N_NEURAL + ["behavioral"] * N_BEHAVIORAL)
    sigma = np.where(groups[:, None] == groups[None, :],
                     np.where(groups[:, None] == "neural", RHO["nn"], RHO["bb"]), RHO["nb"])
    np.fill_diagonal(sigma, 1.0)
    if np.linalg.eigvalsh(sigma).min() <= 0:
        raise SystemExit(f"the block correlations {RHO} give a {p} x {p} matrix that is not positive definite")
    return sigma, groups


def truths(sigma: np.ndarray, groups: np.ndarray) -> dict:
    s = spearman_from_pearson(sigma)
    np.fill_diagonal(s, 1.0)
    iu = np.triu_indices_from(s, 1)
    out = {"mean": s[iu].mean()}
    for a, b in (("neural", "neural"), ("behavioral", "behavioral"), ("neural", "behavioral")):
        blk = s[np.ix_(groups == a, groups == b)]
        out[f"{a}-{b}"] = blk[np.triu_indices_from(blk, 1)].mean() if a == b else blk.mean()
    w = np.linalg.eigvalsh(s)
    out["lambda1"] = w[-1]
    out["participation ratio"] = w.sum() ** 2 / np.sum(w**2)
    # parts: N = mean of neural z, B = mean of behavioral z; aggregate A = (N + B) / 2
    cn, cb = (groups == "neural") / N_NEURAL, (groups == "behavioral") / N_BEHAVIORAL
    ca = (cn + cb) / 2
    cov = lambda u, v: float(u @ sigma @ v)  # noqa: E731
    r2n = cov(ca, cn) ** 2 / (cov(ca, ca) * cov(cn, cn))
    r2b = cov(ca, cb) ** 2 / (cov(ca, ca) * cov(cb, cb))
    out.update({"R2 neural": r2n, "R2 behavioral": r2b, "Shapley neural": (r2n + 1.0 - r2b) / 2})
    return out


def one_replication(design, rep, seed, sigma, groups, n_boot):
    rng = np.random.default_rng([seed, 0 if design == "variant" else 1, rep])
    m, fam = simulate(FAMILY_SIZES[design], sigma, DESIGNS[design], rng)
    grp = pd.Series(groups, index=m.columns)
    parts = pd.DataFrame({"neural": m.loc[:, groups == "neural"].mean(axis=1),
                          "behavioral": m.loc[:, groups == "behavioral"].mean(axis=1)})
    parts.insert(0, "aggregate", parts.mean(axis=1))
    boot_seed = int(rng.integers(2**31))  # one root seed: every quantity of a replication sees the same resamples
    rows = []
    for unit in UNITS:
        cl = fam if unit == "families" else None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            a = agreement(m, groups=grp, n_boot=n_boot, seed=boot_seed, clusters=cl)
            d = dimensionality(m, rules=["kaiser"], n_boot=n_boot, seed=boot_seed, clusters=cl)
            dec = decompose(parts, aggregate="aggregate", parts=["neural", "behavioral"], n_boot=n_boot,
                            seed=boot_seed, clusters=cl, levels=False)
        found = {"mean": a.mean, **{k: a.blocks[k] for k in ("neural-neural", "behavioral-behavioral",
                                                             "neural-behavioral")},
                 "lambda1": d.eigenvalue_estimates[1], "participation ratio": d.participation_ratio,
                 "R2 neural": dec.r2["neural"], "R2 behavioral": dec.r2["behavioral"],
                 "Shapley neural": dec.shapley["neural"]}
        for q, e in found.items():
            rows.append({"design": design, "rep": rep, "unit": unit, "quantity": q, "value": e.value,
                         "low": e.ci[0], "high": e.ci[1], "method": e.method, "n_units": e.n_units})
    return rows


def summarise(df: pd.DataFrame, truth: dict) -> pd.DataFrame:
    out = []
    for (design, q, unit), g in df.groupby(["design", "quantity", "unit"], sort=False):
        t = truth[q]
        ok = np.isfinite(g["low"]) & np.isfinite(g["high"])
        covered = ((g["low"] <= t) & (t <= g["high"]) & ok).to_numpy()
        k, n = int(covered.sum()), len(g)
        ci = stats.binomtest(k, n).proportion_ci(0.95, method="exact")
        out.append({
            "design": design, "quantity": q, "unit": unit, "coverage": k / n, "cov_low": ci.low,
            "cov_high": ci.high, "accept": ci.low <= 0.95 <= ci.high, "below": int((t < g["low"]).sum()),
            "above": int((t > g["high"]).sum()), "width": float((g["high"] - g["low"]).mean()),
            "truth": t, "bias": float(g["value"].mean() - t), "sd": float(g["value"].std(ddof=1)),
            "bca_share": float((g["method"] == "bca").mean()), "n": n,
        })
    return pd.DataFrame(out)


def render(summary: pd.DataFrame, args, command: str, seconds: float) -> str:
    lines = [
        "# Coverage of the bootstrap intervals when models come in families",
        "",
        f"Reproduce: `{command}`",
        "",
        f"Seed {args.seed}; {args.reps} replications per design; {args.n_boot} bootstrap resamples per interval "
        f"(BCa, 95%); wall time {seconds / 60:.1f} min with n_jobs={args.n_jobs} on a shared 2-core machine.",
        "",
        f"Data: 229 models x {N_NEURAL + N_BEHAVIORAL} metrics ({N_NEURAL} neural, {N_BEHAVIORAL} behavioral). "
        "Latent rows z_i = sqrt(icc) u_family + sqrt(1 - icc) e_i with u, e ~ N(0, Sigma), so every model is "
        "N(0, Sigma) and two models of one family correlate icc on every metric. Sigma: compound-symmetric blocks, "
        f"latent Pearson neural-neural {RHO['nn']}, behavioral-behavioral {RHO['bb']}, neural-behavioral "
        f"{RHO['nb']} (their Spearman values are the block means of the cleaned 2025-05-07 matrix). Designs: "
        f"family sizes of that matrix at the variant level ({len(FAMILY_SIZES['variant'])} families, "
        f"icc {DESIGNS['variant']}) and at the architecture level ({len(FAMILY_SIZES['architecture'])} families, "
        f"largest {FAMILY_SIZES['architecture'][:5]}, icc {DESIGNS['architecture']}); icc = the median "
        "intra-family correlation of the real metrics at that level (`af.design_effect`). "
        "Decomposition: aggregate = (neural mean + behavioral mean) / 2 of the latent scores.",
        "",
        "unit = models: `clusters=None` (each model an independent draw); unit = families: "
        "`clusters=` the true families (whole families drawn with replacement, leave-one-family-out BCa).",
        "",
        "Acceptance: the 95% Clopper-Pearson interval of the coverage contains 0.95.",
        "",
    ]
    for design in DESIGNS:
        s = summary[summary["design"] == design]
        if s.empty:
            continue
        lines += [f"## {design} families", "",
                  "| quantity | truth | unit | coverage | 95% CI of coverage | accepted | truth below / above "
                  "| mean width | bias / sd | BCa share |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for r in s.itertuples():
            lines.append(f"| {r.quantity} | {r.truth:.4f} | {r.unit} | {r.coverage:.3f} | "
                         f"[{r.cov_low:.3f}, {r.cov_high:.3f}] | {'yes' if r.accept else 'no'} | "
                         f"{r.below} / {r.above} | {r.width:.4f} | {r.bias / r.sd:+.2f} | {r.bca_share:.2f} |")
        wide = s.pivot(index="quantity", columns="unit", values="width")
        sd = s.groupby("quantity")["sd"].first()
        lines += ["", "Width against the spread of the estimate over replications (width / (3.92 sd); 1 = right "
                  "size for a normal estimate):", "",
                  "| quantity | models | families | family / model width |", "|---|---|---|---|"]
        for q in QUANTITIES:
            if q in wide.index:
                lines.append(f"| {q} | {wide.loc[q, 'models'] / (3.92 * sd[q]):.2f} | "
                             f"{wide.loc[q, 'families'] / (3.92 * sd[q]):.2f} | "
                             f"{wide.loc[q, 'families'] / wide.loc[q, 'models']:.2f} |")
        lines.append("")
    fail = summary[~summary["accept"]]
    lines += ["## Reading", "",
              "Rows whose coverage interval excludes 0.95: "
              + ("none." if fail.empty else "; ".join(f"{r.design} / {r.quantity} / {r.unit} ({r.coverage:.3f})"
                                                      for r in fail.itertuples()) + "."),
              "",
              "`bias / sd` is the bias of the point estimate in units of its spread over replications: a plug-in "
              "eigenvalue statistic (lambda1, participation ratio) is biased at this n (sample eigenvalues spread "
              "around the population ones), and no interval centred on a biased estimate covers at the nominal "
              "rate however its width is chosen.", ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=200, help="replications per design")
    ap.add_argument("--n-boot", type=int, default=500)
    ap.add_argument("--designs", default="variant,architecture")
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="reports/calibration.md")
    args = ap.parse_args(argv)
    command = "python -m analyses.calibration " + " ".join(
        f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if k != "out")
    sigma, groups = sigma_and_groups()
    truth = truths(sigma, groups)
    designs = [d for d in args.designs.split(",") if d]
    t0 = time.perf_counter()
    results = Parallel(n_jobs=args.n_jobs, verbose=2)(
        delayed(one_replication)(design, rep, args.seed, sigma, groups, args.n_boot)
        for design in designs for rep in range(args.reps))
    seconds = time.perf_counter() - t0
    df = pd.DataFrame([row for rows in results for row in rows])
    summary = summarise(df, truth)
    text = render(summary, args, command, seconds)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
