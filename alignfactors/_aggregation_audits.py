"""Audits used by :func:`alignfactors.comparison.compare_aggregations`.

Balance under benchmark resampling, independence of irrelevant alternatives (leave one model out),
leave-one-metric-out sensitivity and invariance to a monotone rescaling of one metric.
"""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pandas as pd
from scipy import stats

from .aggregation import _score_leaves, _validate_aggregate, aggregate
from .errors import DegenerateDataWarning


def _iia(scorers, methods, ids, full):
    n = len(ids)
    rows = []
    for m in methods:
        s0 = full[m]["all"][0]
        d0 = np.sign(s0[:, None] - s0[None, :])
        for start in range(0, n, 32):
            r = np.arange(start, min(n, start + 32))
            w = np.ones((len(r), n))
            w[np.arange(len(r)), r] = 0.0
            s = scorers[m](w)["all"]
            for bi, ri in enumerate(r):
                keep = np.ones(n, bool)
                keep[ri] = False
                keep &= np.isfinite(s0) & np.isfinite(s[bi])
                si = s[bi][keep]
                d1 = np.sign(si[:, None] - si[None, :])
                swapped = int(np.sum((d0[np.ix_(keep, keep)] * d1) < 0) // 2)
                n_pairs = int(keep.sum() * (keep.sum() - 1) // 2)
                rows.append({"method": m, "removed": ids[ri], "n_pairs_swapped": swapped,
                             "fraction": swapped / n_pairs if n_pairs else math.nan})
    df = pd.DataFrame(rows)
    summ = []
    for m, g in df.groupby("method", sort=False):
        worst = g.sort_values("fraction", ascending=False, kind="stable").iloc[0]
        summ.append({"method": m, "mean_fraction": g["fraction"].mean(), "max_fraction": worst["fraction"],
                     "n_removals_with_swap": int((g["n_pairs_swapped"] > 0).sum()),
                     "most_disruptive": worst["removed"] if worst["n_pairs_swapped"] > 0 else ""})
    return df, pd.DataFrame(summ)


def _tau_rho(a, b):
    """Spearman and Kendall (tau-b) correlation over the models where both are present."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3:
        return math.nan, math.nan
    return float(stats.spearmanr(a[ok], b[ok])[0]), float(stats.kendalltau(a[ok], b[ok])[0])


def _leave_metric_out(table, methods, ids, scores, scorers):
    rows = []
    for m in methods:
        units = scorers[m].units
        base = scores[m].to_numpy()
        for u in units:
            rest = [x for x in units if x != u]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DegenerateDataWarning)
                s = aggregate(table, method=m, metrics=rest)
            rho, tau = _tau_rho(base, s.reindex(scores.index).to_numpy())
            rows.append({"method": m, "metric": u, "spearman": rho, "kendall": tau})
    return pd.DataFrame(rows)


def _monotone(table, methods, ids, scores, scorers, monotone):
    """Kendall's tau between each rule's scores and its scores after ``monotone`` is applied to one
    metric, for every metric. Each rule's plan is built once; only the metric's column changes."""
    f = (lambda x: x**3) if monotone is True else monotone
    rows = []
    units = list(dict.fromkeys(u for m in methods for u in scorers[m].units))
    plans = {}
    for m in methods:
        sel = scorers[m].selection("all")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DegenerateDataWarning)
            t, plan, x = _validate_aggregate(table, m, None, None, None, sel.get("domains"), sel.get("metrics"),
                                             None, None, False, None)
        plans[m] = (plan, x, t.scores.index)
    for u in units:
        new = np.asarray(f(table.scores[u].to_numpy(dtype=float)), dtype=float)
        for m in methods:
            plan, x, index = plans[m]
            if u in plan.units:
                x = x.copy()
                x[:, plan.units.index(u)] = pd.Series(new, index=table.scores.index).reindex(index).to_numpy()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DegenerateDataWarning)
                s = pd.Series(_score_leaves(x, plan, table, index), index=index)
            rows.append({"method": m, "metric": u,
                         "kendall": _tau_rho(scores[m].to_numpy(), s.reindex(scores.index).to_numpy())[1],
                         "used": u in plan.units})
    return pd.DataFrame(rows)


def _balance_under_benchmarks(table, methods, ids, metrics, scorers, n_boot, seed, ci=0.95,
                              schemes=("domain", "tree"), n_jobs=1):
    """Balance of each rule when its benchmarks are resampled (all models kept).

    Each rule's score and its neural / behavioral sub-aggregates are recomputed on the same
    benchmark resample (:mod:`alignfactors.rank_uncertainty`), under each scheme: ``"domain"``
    (leaves drawn within each domain: the numbers of metrics per domain stay fixed) and
    ``"tree"`` (children drawn within every tree node of a domain: a flat rule then sees the
    numbers of metrics per domain change with the datasets drawn). Per rule and scheme:
    percentile interval of the Shapley difference and the share of resamples in which the rule
    has the smallest |difference| (rules on the same leaves share the draws). Each (scheme, rule)
    has its own stream from ``seed``, so ``n_jobs`` workers give the same numbers.
    """
    from ._balance_kernels import _p_best

    alpha = (1 - ci) / 2
    jobs = [(scheme, m) for scheme in schemes for m in methods]
    args = {m: ([scorers[m].selection(d) if scorers[m].masks[d].any() else None for d in ("neural", "behavioral")],
                scorers[m].selection("all"), scorers[m].nominal) for m in methods}
    if n_jobs == 1:
        diffs = [_benchmark_differences(table, m, ids, *args[m], scheme, n_boot, seed) for scheme, m in jobs]
    else:
        from joblib import Parallel, delayed

        diffs = Parallel(n_jobs=n_jobs)(delayed(_benchmark_differences)(table, m, ids, *args[m], scheme, n_boot, seed)
                                        for scheme, m in jobs)
    out = {m: {} for m in methods}
    for scheme in schemes:
        dist = {}
        for (sch, m), diff in zip(jobs, diffs):
            if sch != scheme:
                continue
            dist[m] = diff
            q = np.nanquantile(diff, [alpha, 1 - alpha]) if n_boot else (np.nan, np.nan)
            out[m][f"diff_{scheme}_low"], out[m][f"diff_{scheme}_high"] = float(q[0]), float(q[1])
            out[m][f"_dist_{scheme}"] = diff
        p = _p_best(dist, methods, n_boot)
        for m in methods:
            out[m][f"p_best_{scheme}"] = p[m]
    return out


def _benchmark_differences(table, m, ids, sub_selections, selection, nominal, scheme, n_boot, seed) -> np.ndarray:
    """Shapley difference (neural - behavioral) of rule ``m`` in each of ``n_boot`` benchmark resamples."""
    from ._balance_kernels import _balance_columns
    from .rank_uncertainty import _CHUNK, _Resampler
    from .resampling import check_seed

    rs = _Resampler(table, m, ids, selection, "benchmarks", (), scheme)
    subs = []
    for sel in sub_selections:
        if sel is None:
            subs.append((None, None))
            continue
        sub = _Resampler(table, m, ids, sel, "none", ())
        subs.append((sub.plan, [rs.plan.units.index(u) for u in sub.plan.units]))
    rng = check_seed(seed)
    diff = np.full(n_boot, np.nan)
    for start in range(0, n_boot, _CHUNK):  # drawn and scored a chunk at a time
        k = min(_CHUNK, n_boot - start)
        draws = rs.draw_many(rng, k)
        s = rs.scores_many(draws)
        parts = [rs.scores_many(draws, plan=p, cols=c) if p is not None else np.full(s.shape, np.nan)
                 for p, c in subs]
        diff[start:start + k] = _balance_columns(s, parts[0], parts[1], np.ones(s.shape), nominal)[:, 5]
    return diff
