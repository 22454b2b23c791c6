"""Balance of aggregation rules across alternative cleanings: how the verdict on which rule
weighs the neural and behavioral domains evenly depends on which metrics survive cleaning."""

from __future__ import annotations

import warnings

import pandas as pd

__all__ = ["balance_across_cleanings"]


def balance_across_cleanings(table, methods=("brainscore", "mean", "zscore", "rank", "domain_zscore"),
                             cleanings=None, n_jobs: int = 1) -> pd.DataFrame:
    """Balance of each rule on the matrices left by alternative cleanings (no resampling).

    Parameters
    ----------
    table : ScoreTable
    methods : sequence of str
    cleanings : list of dict, optional
        Keyword sets for :func:`alignfactors.cleaning.clean`; default: ``max_missing`` 0.2,
        0.35, 0.5 (the paper's), 0.65 and 0.8, complete models.
    n_jobs : int, default=1
        Cleanings compared at once in joblib workers (no randomness: the same table for any
        ``n_jobs``).

    Returns
    -------
    DataFrame
        One row per cleaning and rule: cleaning (its options), n_models, n_neural,
        n_behavioral, method, weight_neural, effective_neural, effective_behavioral, rho,
        difference (Shapley, neural - behavioral), best (smallest |difference| in that cleaning).

    Examples
    --------
    >>> import alignfactors as af
    >>> t = af.datasets.simulate_leaderboard(60, seed=0)
    >>> df = balance_across_cleanings(t, methods=["mean", "domain_zscore"], cleanings=[{"max_missing": 0.5}])
    >>> float(abs(df.set_index("method").loc["domain_zscore", "difference"])) < 1e-9
    True
    """
    if cleanings is None:
        cleanings = [{"max_missing": v} for v in (0.2, 0.35, 0.5, 0.65, 0.8)]
    if n_jobs == 1 or len(cleanings) < 2:
        done = [_balance_of_cleaning(table, methods, opts) for opts in cleanings]
    else:
        from joblib import Parallel, delayed

        done = Parallel(n_jobs=n_jobs)(delayed(_balance_of_cleaning)(table, methods, opts) for opts in cleanings)
    rows = []
    for opts, (c, cmp) in zip(cleanings, done):
        doms = c.domains.value_counts()
        b = cmp.balance
        best = str(b.loc[b["difference"].abs().idxmin(), "method"])
        label = ", ".join(f"{k}={v!r}" for k, v in opts.items())
        for r in b.itertuples(index=False):
            rows.append({"cleaning": label, "n_models": c.matrix.shape[0], "n_neural": int(doms.get("neural", 0)),
                         "n_behavioral": int(doms.get("behavioral", 0)), "method": r.method,
                         "weight_neural": r.weight_neural, "effective_neural": r.effective_neural,
                         "effective_behavioral": r.effective_behavioral, "rho": r.rho,
                         "difference": r.difference, "best": r.method == best})
    return pd.DataFrame(rows)


def _balance_of_cleaning(table, methods, opts):
    """The cleaned matrix of ``clean(table, **opts)`` and the rules' balance on it (no resampling)."""
    from .cleaning import clean
    from .comparison import compare_aggregations

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c = clean(table, **opts)
        cmp = compare_aggregations(table, methods=list(methods), models=list(c.matrix.index),
                                   metrics=list(c.matrix.columns), n_boot=0, iia=False,
                                   metric_sensitivity=False, monotone=False)
    return c, cmp
