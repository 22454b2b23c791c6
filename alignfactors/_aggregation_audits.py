"""Audits used by :func:`alignfactors.comparison.compare_aggregations`.

Balance under benchmark resampling, independence of irrelevant alternatives (leave one model out),
leave-one-metric-out sensitivity and invariance to a monotone rescaling of one metric. Each is
split into one task per rule (and scheme); :func:`_run_tasks` runs them one after another or in
joblib workers, with single-threaded BLAS, and the same numbers either way.
"""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pandas as pd
from scipy import stats
from threadpoolctl import threadpool_limits

from .aggregation import _score_leaves, _validate_aggregate, aggregate
from .errors import DegenerateDataWarning


def _iia_rule(scorer, m, ids, s0) -> list:
    """IIA rows of rule ``m``: for each removed model, the pairs of the other models (both scored
    with and without it) whose strict order reverses; 32 removals scored and compared at once."""
    n = len(ids)
    d0 = np.sign(s0[:, None] - s0[None, :])
    rows = []
    for start in range(0, n, 32):
        r = np.arange(start, min(n, start + 32))
        w = np.ones((len(r), n))
        w[np.arange(len(r)), r] = 0.0
        s = scorer(w)["all"]
        keep = np.isfinite(s0)[None, :] & np.isfinite(s) & (w > 0)
        kept = keep.sum(axis=1)
        swapped = np.empty(len(r), np.int64)
        step = max(1, 2**21 // (n * n))  # removals compared at once: (step, n, n) arrays of ~16 MB at most
        for c in range(0, len(r), step):
            sc, kc = s[c:c + step], keep[c:c + step]
            d1 = np.sign(sc[:, :, None] - sc[:, None, :])
            both = kc[:, :, None] & kc[:, None, :]
            swapped[c:c + step] = np.count_nonzero((d0[None] * d1 < 0) & both, axis=(1, 2)) // 2
        for bi, ri in enumerate(r):
            n_pairs = int(kept[bi] * (kept[bi] - 1) // 2)
            rows.append({"method": m, "removed": ids[ri], "n_pairs_swapped": int(swapped[bi]),
                         "fraction": int(swapped[bi]) / n_pairs if n_pairs else math.nan})
    return rows


def _iia_summary(rows: list):
    """IIA rows of every rule as a frame, and the per-rule summary."""
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


def _leave_metric_out_rule(table, m, units, base: pd.Series) -> list:
    """Spearman and Kendall correlation of rule ``m``'s scores with and without each of its metrics."""
    rows = []
    for u in units:
        rest = [x for x in units if x != u]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DegenerateDataWarning)
            s = aggregate(table, method=m, metrics=rest)
        rho, tau = _tau_rho(base.to_numpy(), s.reindex(base.index).to_numpy())
        rows.append({"method": m, "metric": u, "spearman": rho, "kendall": tau})
    return rows


def _monotone_rule(table, m, scorer, f, units, base: pd.Series) -> list:
    """Kendall's tau between rule ``m``'s scores and its scores after ``f`` is applied to one metric,
    for each of ``units``. The rule's plan is built once; only the metric's column changes."""
    sel = scorer.selection("all")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateDataWarning)
        t, plan, x0 = _validate_aggregate(table, m, None, None, None, sel.get("domains"), sel.get("metrics"),
                                          None, None, False, None)
    index = t.scores.index
    rows = []
    for u in units:
        x = x0
        if u in plan.units:
            new = np.asarray(f(table.scores[u].to_numpy(dtype=float)), dtype=float)
            x = x0.copy()
            x[:, plan.units.index(u)] = pd.Series(new, index=table.scores.index).reindex(index).to_numpy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DegenerateDataWarning)
            s = pd.Series(_score_leaves(x, plan, table, index), index=index)
        rows.append({"method": m, "metric": u,
                     "kendall": _tau_rho(base.to_numpy(), s.reindex(base.index).to_numpy())[1],
                     "used": u in plan.units})
    return rows


def _monotone_frame(per_rule: list) -> pd.DataFrame:
    """Rows of every rule, metric by metric (the metrics of all rules in order), rules in turn."""
    by_metric: dict = {}
    for rows in per_rule:
        for r in rows:
            by_metric.setdefault(r["metric"], []).append(r)
    return pd.DataFrame([r for rows in by_metric.values() for r in rows])


def _monotone_units(methods, scorers) -> list:
    """The metrics any rule uses, in order: each is rescaled in turn for every rule."""
    return list(dict.fromkeys(u for m in methods for u in scorers[m].units))


def _monotone_f(monotone):
    """The strictly increasing rescaling: ``x**3`` for ``monotone=True``, else the user's function."""
    return (lambda x: x**3) if monotone is True else monotone


def _benchmark_jobs(table, methods, ids, scorers, n_boot, seed, schemes=("domain", "tree")) -> list:
    """Balance of each rule when its benchmarks are resampled (all models kept): the tasks.

    Each rule's score and its neural / behavioral sub-aggregates are recomputed on the same
    benchmark resample (:mod:`alignfactors.rank_uncertainty`), under each scheme: ``"domain"``
    (leaves drawn within each domain: the numbers of metrics per domain stay fixed) and
    ``"tree"`` (children drawn within every tree node of a domain: a flat rule then sees the
    numbers of metrics per domain change with the datasets drawn). Returns ((scheme, rule), task)
    pairs for :func:`_run_tasks`; each task returns the rule's Shapley differences over ``n_boot``
    resamples from its own stream of ``seed`` (rules on the same leaves share the draws), so any
    ``n_jobs`` gives the same numbers. :func:`_benchmark_summary` turns them into intervals.
    """
    args = {m: ([scorers[m].selection(d) if scorers[m].masks[d].any() else None for d in ("neural", "behavioral")],
                scorers[m].selection("all"), scorers[m].nominal) for m in methods}
    return [((scheme, m), (_benchmark_differences, (table, m, ids, *args[m], scheme, n_boot, seed)))
            for scheme in schemes for m in methods]


def _benchmark_summary(keys, diffs, methods, n_boot, ci, schemes=("domain", "tree")) -> dict:
    """Per rule: the percentile interval of the difference and P(best) under each scheme."""
    from ._balance_kernels import _p_best

    alpha = (1 - ci) / 2
    out = {m: {} for m in methods}
    for scheme in schemes:
        dist = {}
        for (sch, m), diff in zip(keys, diffs):
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


def _one_thread(fn, args, kwargs):
    """``fn(*args, **kwargs)`` with single-threaded BLAS: the audits' products are small, and
    threaded BLAS only makes the threads wait for each other (up to 50x slower on a busy machine)."""
    with threadpool_limits(limits=1, user_api="blas"):
        return fn(*args, **kwargs)


def _run_tasks(tasks: list, n_jobs: int = 1) -> list:
    """Results of independent tasks ``(fn, args[, kwargs])``, in order: one after another, or in
    ``n_jobs`` joblib workers. Each task draws from its own stream (its seed is in its arguments),
    so the results are the same for any ``n_jobs``."""
    tasks = [(t[0], t[1], t[2] if len(t) > 2 else {}) for t in tasks]
    if n_jobs == 1 or len(tasks) < 2:
        return [_one_thread(fn, args, kw) for fn, args, kw in tasks]
    from joblib import Parallel, delayed

    return Parallel(n_jobs=n_jobs)(delayed(_one_thread)(fn, args, kw) for fn, args, kw in tasks)


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
