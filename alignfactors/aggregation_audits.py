"""Audits used by :func:`alignfactors.comparison.compare_aggregations`.

Rank-interval groups, independence of irrelevant alternatives (leave one model out),
leave-one-metric-out sensitivity and invariance to a monotone rescaling of one metric.
"""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pandas as pd
from scipy import stats

from .aggregation import aggregate
from .errors import DegenerateDataWarning


def _rank_frame(methods, ids, ranks, rank_est, n_boot):
    n = len(ids)
    rows = []
    for mi, m in enumerate(methods):
        ests = rank_est[mi * n:(mi + 1) * n]
        order = np.argsort(ranks[m].to_numpy(), kind="stable")
        group, lead_high = 0, -math.inf
        groups = np.zeros(n, int)
        for pos, i in enumerate(order):
            lo = ests[i].ci[0] if n_boot else ranks[m].iloc[i]
            if pos == 0 or not (lo <= lead_high):
                group += 1
                lead_high = ests[i].ci[1] if n_boot else ranks[m].iloc[i]
            groups[i] = group
        for i, model in enumerate(ids):
            d = ests[i].distribution
            d = d[np.isfinite(d)] if d is not None else np.array([])
            rows.append({"method": m, "model_id": model, "rank": float(ranks[m].iloc[i]),
                         "ci_low": ests[i].ci[0], "ci_high": ests[i].ci[1],
                         "p_rank1": float(np.mean(d == 1.0)) if d.size else math.nan,
                         "n_drawn": int(d.size), "group": int(groups[i])})
    return pd.DataFrame(rows)


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


def _tau_rho(a: pd.Series, b: pd.Series):
    ok = a.notna() & b.notna()
    if ok.sum() < 3:
        return math.nan, math.nan
    return float(stats.spearmanr(a[ok], b[ok])[0]), float(stats.kendalltau(a[ok], b[ok])[0])


def _leave_metric_out(table, methods, ids, scores, scorers):
    rows = []
    for m in methods:
        units = scorers[m].units
        for u in units:
            rest = [x for x in units if x != u]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DegenerateDataWarning)
                s = aggregate(table, method=m, metrics=rest)
            rho, tau = _tau_rho(scores[m], s.reindex(scores.index))
            rows.append({"method": m, "metric": u, "spearman": rho, "kendall": tau})
    return pd.DataFrame(rows)


def _monotone(table, methods, ids, scores, scorers, monotone):
    f = (lambda x: x**3) if monotone is True else monotone
    rows = []
    units = list(dict.fromkeys(u for m in methods for u in scorers[m].units))
    for u in units:
        sc = table.scores.copy()
        sc[u] = np.asarray(f(sc[u].to_numpy(dtype=float)), dtype=float)
        t2 = dataclasses.replace(table, scores=sc)
        for m in methods:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DegenerateDataWarning)
                s = aggregate(t2, method=m, **scorers[m].selection("all"))
            rows.append({"method": m, "metric": u, "kendall": _tau_rho(scores[m], s.reindex(scores.index))[1]})
    return pd.DataFrame(rows)
