"""Rank uncertainty, balance and decomposition figures on the real Brain-Score data.

Run from the project root:

    python analyses/rankings_balance.py [--n-boot 2000] [--seed 0]

Prints (markdown) on the cleaned 2025-05-07 export:
1. P(rank 1), marginal and simultaneous rank intervals of the top 5 models under ``brainscore``
   with benchmark resampling (all models kept), and on the 2024-01-01 snapshot with measurement
   error (scores perturbed by their standard errors) and with both;
2. the balance table of the aggregation rules (nominal and effective weights, Shapley difference
   over models and over benchmark resamples), including ``domain_zscore``;
3. the decomposition of ``average_vision`` under the three ``missing=`` policies.

The snapshot's benchmark tree: the tree of the 2025 export restricted to the snapshot's columns
(the loader cannot infer it from the snapshot yet); 5 snapshot benchmarks absent from the 2025
tree are left out of the aggregate.
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
from alignfactors.rank_uncertainty import rank_uncertainty

ROOT = Path(__file__).resolve().parents[1]
CSV = ROOT / "../shared/data/brainscore_vision_leaderboard_2025-05-07.csv"
SNAPSHOT = ROOT / "../shared/data/brainscore_vision_snapshot_2024-01-01.json.gz"


def _top(ru, names, k=5):
    out = [f"_{ru.carries}; {ru.n_boot} resamples; {ru.n_models} models; simultaneous over the top {ru.n_family}; "
           f"confidence set for the best: {len(ru.best_set)} models_", "",
           "| rank | model | P(rank 1) | 95% rank interval | simultaneous | P(ahead of next) |",
           "|---|---|---|---|---|---|"]
    nxt = ru.pairs.set_index("model_id")["p_ordered"]
    for r in ru.top(k).itertuples(index=False):
        out.append(f"| {r.rank:.0f} | {names.get(r.model_id, r.model_id)} ({r.model_id}) | {r.p_rank1:.3f} | "
                   f"[{r.ci_low:.1f}, {r.ci_high:.1f}] | [{r.sim_low:.0f}, {r.sim_high:.0f}] | "
                   f"{nxt.get(r.model_id, float('nan')):.3f} |")
    return out


def _snapshot(tree):
    flat = af.load_brainscore(SNAPSHOT, tree=False)
    cols = set(flat.scores.columns)
    mapping = {n: [c for c in tree.children(n) if c in cols] for n in tree.nodes if tree.children(n) and n in cols}
    return af.load_brainscore(SNAPSHOT, tree={k: v for k, v in mapping.items() if v})


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-boot", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    t0 = time.time()
    warnings.simplefilter("ignore")
    table = af.load_brainscore(CSV)
    cleaned = af.clean(table)
    ids, mets = list(cleaned.matrix.index), list(cleaned.matrix.columns)
    names = table.models["model_name"]
    lines = [f"# Rankings, balance, decomposition (n_boot={args.n_boot}, seed={args.seed})", "",
             f"## 1. Top 5 under brainscore, 2025-05-07 export ({len(ids)} cleaned models)", ""]
    ru = rank_uncertainty(table, method="brainscore", resample="benchmarks", models=ids, n_boot=args.n_boot,
                          seed=args.seed, top=5)
    lines += _top(ru, names) + [""]
    snap = _snapshot(table.tree)
    sids = list(af.clean(snap).matrix.index)
    snames = snap.models["model_name"]
    for res in ("errors", "both"):
        ru = rank_uncertainty(snap, method="brainscore", resample=res, models=sids, n_boot=args.n_boot,
                              seed=args.seed, top=5)
        lines += [f"### 2024-01-01 snapshot, resample={res!r} ({ru.n_perturbed} scores perturbed, "
                  f"{ru.n_unperturbed} without a standard error kept fixed)", ""] + _top(ru, snames) + [""]
    cmp = compare_aggregations(table, methods=["brainscore", "mean", "zscore", "rank", "domain_zscore"], models=ids,
                               metrics=mets, n_boot=args.n_boot, seed=args.seed, iia=False, metric_sensitivity=False,
                               monotone=False)
    lines += ["## 2. Balance (cleaned export; Shapley difference N − B; intervals over models / metrics within "
              "domain / datasets within tree)", "",
              "| rule | nominal N / B | effective N / B | difference [models] | [metrics within domain] | "
              "[datasets within tree] | P(best) models / domain / tree |", "|---|---|---|---|---|---|---|"]
    for r in cmp.balance.itertuples(index=False):
        lines.append(f"| {r.method} | {r.weight_neural:.2f} / {r.weight_behavioral:.2f} | "
                     f"{r.effective_neural:.4g} / {r.effective_behavioral:.4g} | {r.difference:+.3f} "
                     f"[{r.diff_ci_low:+.3f}, {r.diff_ci_high:+.3f}] | [{r.diff_domain_low:+.3f}, "
                     f"{r.diff_domain_high:+.3f}] | [{r.diff_tree_low:+.3f}, {r.diff_tree_high:+.3f}] | "
                     f"{r.p_best:.3f} / {r.p_best_domain:.3f} / {r.p_best_tree:.3f} |")
    four = [m for m in cmp.methods if m != "domain_zscore"]
    lines += ["", "P(best) among the rules other than domain_zscore (balanced by construction):", "",
              "| over | " + " | ".join(four) + " |", "|---" * (len(four) + 1) + "|"]
    for over in ("models", "domain", "tree"):
        pb = cmp.p_best(four, over=over)
        lines.append(f"| {over} | " + " | ".join(f"{pb[m]:.3f}" for m in four) + " |")
    lines += ["", "## 3. Decomposition of average_vision", "",
              "| missing= | models | part | R² alone | covariance share | r with # missing children |",
              "|---|---|---|---|---|---|"]
    for m in ("as_website", "complete_children", "skip"):
        d = decompose(table, missing=m, levels=False, n_boot=args.n_boot, seed=args.seed)
        for p in d.parts:
            z = d.zero_fill.get(p)
            lines.append(f"| {m} | {d.n_models} | {p} | {d.r2[p].format()} | {d.covariance_shares[p].format()} | "
                         f"{'–' if z is None or z.value != z.value else z.format()} |")
    print("\n".join(lines))
    print(f"done in {time.time() - t0:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
