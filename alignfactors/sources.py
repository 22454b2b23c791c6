"""Benchmark-source structure: are "many metrics" many datasets, or many statistics of a few?

On Brain-Score, 17 of the 18 behavioral metrics of the cleaned matrix are Geirhos2021 error
consistencies and 22 of the 32 neural ones are Marques2020 V1 statistics. Metrics from one
source share stimuli, subjects and analysis, so they correlate for reasons that have nothing
to do with the models' alignment. This module

- names each metric's source (:func:`benchmark_sources`: the dataset, e.g. ``Marques2020``,
  or the benchmark one tree level up);
- compares the correlation of metrics within a source with that between sources, with
  bootstrap intervals over models (:func:`source_agreement`);
- collapses the metrics of each source into one benchmark-level column
  (:func:`source_matrix`), on which :func:`~alignfactors.agreement.agreement` and
  :func:`~alignfactors.dimensions.dimensionality` run beside the leaves;
- gives the most / least correlated pairs with simultaneous (max-t) intervals
  (:func:`extreme_pairs`): pairs selected for their estimates need intervals that hold for
  every pair at once, else the selection biases them (winner's curse).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ._formatting import json_number, markdown_table, text_table
from .correlation import RankPlan, check_method, correlation_matrix, resampled_correlation
from .errors import DataError, ParameterError, ParameterTypeError
from .estimate import Estimate
from .resampling import bootstrap, check_n_boot_ci

__all__ = ["benchmark_sources", "source_matrix", "source_agreement", "SourceAgreement", "extreme_pairs"]

_DATASET = re.compile(r"[A-Z][A-Za-z]*\d{4}")


def benchmark_sources(table, metrics=None, level: str = "dataset") -> pd.Series:
    """The source of each metric: its dataset, or its benchmark one tree level up.

    Parameters
    ----------
    table : ScoreTable
        Its tree gives the parents.
    metrics : sequence of str, optional
        Default: the leaves of the tree.
    level : {"dataset", "parent"}, default="dataset"
        ``"dataset"``: the first author-year token of the metric's name or, failing that, of
        its nearest ancestor's (``Marques2020_Ringach2002-or_selective`` -> ``Marques2020``,
        ``Geirhos2021colour-error_consistency`` -> ``Geirhos2021``, ``MajajHong2015.IT-pls`` ->
        ``MajajHong2015``); a metric with none is its own source. ``"parent"``: the metric's
        parent node in the tree (a root is its own source).

    Returns
    -------
    Series
        metric -> source, name ``"source"``.

    Examples
    --------
    >>> from alignfactors.io.table import ScoreTable
    >>> df = pd.DataFrame(np.random.default_rng(0).uniform(size=(6, 3)),
    ...                   columns=["Marques2020_a-x", "Marques2020_b-y", "Rajalingham2018-i2n"])
    >>> benchmark_sources(ScoreTable.from_wide(df)).tolist()
    ['Marques2020', 'Marques2020', 'Rajalingham2018']
    """
    if not hasattr(table, "tree"):
        raise ParameterTypeError(f"table must be a ScoreTable (its tree names the sources); got {type(table).__name__}.")
    tree = table.tree
    metrics = list(tree.leaves()) if metrics is None else [str(m) for m in metrics]
    unknown = [m for m in metrics if m not in tree]
    if unknown:
        raise ParameterError(f"metrics {unknown[:5]} are not nodes of the table's tree.")
    if level not in ("dataset", "parent"):
        raise ParameterError(f"level={level!r} is not known; use 'dataset' or 'parent'.")
    out = {}
    for m in metrics:
        if level == "parent":
            out[m] = tree.parent(m) or m
            continue
        node, name = m, None
        while node is not None and name is None:
            hit = _DATASET.search(node)
            name = hit.group(0) if hit else None
            node = tree.parent(node)
        out[m] = name or m
    return pd.Series(out, name="source").rename_axis("metric")


def source_matrix(matrix: pd.DataFrame, sources: pd.Series, domains: pd.Series | None = None) -> tuple:
    """One column per source: the mean of its metrics' scores (as a benchmark tree averages).

    Returns ``(matrix, domains)``: models x sources, and each source's domain when ``domains``
    (metric -> domain) is given and the source's metrics share one (else None).

    Examples
    --------
    >>> m = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0], "c": [0.0, 1.0]})
    >>> source_matrix(m, pd.Series({"a": "S", "b": "S", "c": "T"}))[0].to_numpy().tolist()
    [[2.0, 0.0], [3.0, 1.0]]
    """
    src = _check_sources(matrix, sources)
    order = list(dict.fromkeys(src))
    out = pd.DataFrame({s: matrix.loc[:, src.index[src == s]].mean(axis=1) for s in order}, index=matrix.index)
    dom = None
    if domains is not None:
        dom = pd.Series({s: (lambda d: d[0] if len(d) == 1 else None)(
            list(dict.fromkeys(domains.reindex(src.index[src == s])))) for s in order}, name="domain")
    return out, dom


def _check_sources(matrix, sources) -> pd.Series:
    if not isinstance(matrix, pd.DataFrame):
        raise ParameterTypeError(f"matrix must be a DataFrame (models x metrics); got {type(matrix).__name__}.")
    if not isinstance(sources, pd.Series):
        raise ParameterTypeError(f"sources must be a Series metric -> source (benchmark_sources); got "
                                 f"{type(sources).__name__}.")
    missing = [c for c in matrix.columns if c not in sources.index]
    if missing:
        raise ParameterError(f"sources has no entry for metrics {missing[:5]}; pass benchmark_sources(table, "
                             "metrics=matrix.columns).")
    return sources.reindex(matrix.columns).astype(str)


@dataclass(frozen=True)
class SourceAgreement:
    """Result of :func:`source_agreement`.

    Attributes
    ----------
    within, between, difference : Estimate
        Mean correlation of metric pairs from the same source, from different sources, and
        within minus between; bootstrap intervals over models.
    by_source : DataFrame
        source, n_metrics, within (mean correlation of its pairs; NaN with one metric).
    n_within, n_between : int
        Numbers of pairs.
    """

    within: Estimate
    between: Estimate
    difference: Estimate
    by_source: pd.DataFrame
    n_within: int
    n_between: int
    method: str
    n_models: int
    n_boot: int
    level: float

    def to_frame(self) -> pd.DataFrame:
        rows = [{"quantity": k, "n_pairs": n, **e.to_dict()} for k, e, n in
                (("within", self.within, self.n_within), ("between", self.between, self.n_between),
                 ("within - between", self.difference, None))]
        return pd.DataFrame(rows)

    def _head(self) -> str:
        boot = (f"{self.n_boot} bootstrap resamples over models, {self.level:.0%} intervals" if self.n_boot
                else "n_boot=0: no intervals")
        return (f"Mean {self.method} correlation within sources {self.within.format()} ({self.n_within} pairs) vs "
                f"between sources {self.between.format()} ({self.n_between} pairs); difference "
                f"{self.difference.format()} ({self.n_models} models; {boot}).")

    def summary(self) -> str:
        return self._head() + "\n" + text_table(self.by_source)

    def to_markdown(self) -> str:
        return self._head() + "\n\n" + markdown_table(self.by_source)

    def to_dict(self) -> dict:
        return {"method": self.method, "n_models": int(self.n_models), "n_boot": int(self.n_boot),
                "level": float(self.level), "within": self.within.to_dict(), "between": self.between.to_dict(),
                "difference": self.difference.to_dict(), "n_within": int(self.n_within),
                "n_between": int(self.n_between),
                "by_source": [{k: json_number(v) for k, v in r.items()} for r in self.by_source.to_dict("records")]}

    def __str__(self) -> str:
        return self.summary()


def _pair_statistic(x, method):
    ties = RankPlan(x) if method == "spearman" else None
    iu = np.triu_indices(x.shape[1], k=1)

    def pairs(w):
        return resampled_correlation(x, w, method, ties)[:, iu[0], iu[1]]

    return pairs, iu


def source_agreement(matrix: pd.DataFrame, sources: pd.Series, *, method: str = "spearman", n_boot: int = 2000,
                     ci: float = 0.95, seed: Any = None, n_jobs: int = 1, clusters=None) -> SourceAgreement:
    """Mean correlation of metrics within the same source vs between sources, with intervals.

    Parameters
    ----------
    matrix : DataFrame
        Complete models x metrics matrix (``clean(table).matrix``).
    sources : Series
        metric -> source (:func:`benchmark_sources`).
    method : {"spearman", "pearson", "kendall"}, default="spearman"
    n_boot, ci, seed, n_jobs
        Bootstrap over models (:func:`alignfactors.resampling.bootstrap`; 0: no intervals).
    clusters : optional
        Passed to the engine when it supports resampling families (see the engine contract);
        None resamples models.

    Returns
    -------
    SourceAgreement

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=(60, 2))
    >>> m = pd.DataFrame(np.repeat(f, 3, axis=1) + rng.normal(0, 0.5, (60, 6)), columns=list("abcdef"))
    >>> res = source_agreement(m, pd.Series(dict(zip("abcdef", "SSSTTT"))), n_boot=100, seed=0)
    >>> bool(res.within.value > 0.5 > abs(res.between.value))
    True
    """
    src = _check_sources(matrix, sources)
    method = check_method(method)
    check_n_boot_ci(n_boot, ci)
    x = matrix.to_numpy(dtype=float)
    if np.isnan(x).any():
        raise DataError("source_agreement needs a complete matrix (no NaN); use clean(table, complete=True).matrix.")
    pairs, iu = _pair_statistic(x, method)
    s = src.to_numpy()
    same = s[iu[0]] == s[iu[1]]
    if not same.any() or same.all():
        raise DataError(f"source_agreement needs pairs both within and between sources; sources: "
                        f"{sorted(set(s))[:6]}.")
    owners = list(dict.fromkeys(s))
    own_all = {o: same & (s[iu[0]] == o) for o in owners}
    multi = [o for o in owners if own_all[o].any()]  # a one-metric source has no within pair
    own = [own_all[o] for o in multi]

    def statistic(w):
        r = pairs(w)
        cols = [r[:, same].mean(axis=1), r[:, ~same].mean(axis=1)]
        cols.append(cols[0] - cols[1])
        cols += [r[:, m].mean(axis=1) for m in own]
        return np.column_stack(cols)

    statistic.batch_size = 32
    kw = {} if clusters is None else {"clusters": clusters}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = bootstrap(statistic, x.shape[0], n_boot=n_boot, ci=ci, method="percentile", seed=seed,
                        n_jobs=n_jobs, **kw)
    est = list(res.estimates)
    counts = src.value_counts()
    per = dict(zip(multi, est[3:]))
    none = Estimate(np.nan)
    by = pd.DataFrame({"source": owners, "n_metrics": [int(counts[o]) for o in owners],
                       "within": [per.get(o, none).value for o in owners],
                       "ci_low": [per.get(o, none).ci[0] for o in owners],
                       "ci_high": [per.get(o, none).ci[1] for o in owners]})
    return SourceAgreement(est[0], est[1], est[2], by, int(same.sum()), int((~same).sum()), method,
                           x.shape[0], int(n_boot), float(ci))


def extreme_pairs(matrix: pd.DataFrame, k: int = 5, *, method: str = "spearman", n_boot: int = 2000,
                  ci: float = 0.95, seed: Any = None, n_jobs: int = 1, groups: pd.Series | None = None,
                  clusters=None) -> pd.DataFrame:
    """The ``k`` most and ``k`` least correlated metric pairs with simultaneous max-t intervals.

    Pairs chosen for their estimates need intervals valid for all pairs at once: with
    :math:`se_{jk}` the bootstrap SE of pair (j, k) and :math:`c` the ``ci`` quantile of
    :math:`\\max_{j<k} |r^*_{jk} - \\hat r_{jk}| / se_{jk}` over resamples, every pair's interval is
    :math:`\\hat r_{jk} \\pm c\\, se_{jk}` and all of them hold together with probability ``ci``
    (asymptotically), so they still hold for the pairs selected afterwards.

    clusters : array of int codes, optional
        Cluster codes of the rows for the engine (families resampled whole); None: models.

    Returns
    -------
    DataFrame
        which ("most" | "least"), metric_a, metric_b, block (from ``groups``), r, ci_low,
        ci_high (simultaneous; NaN with ``n_boot=0``), critical_value.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> m = pd.DataFrame(rng.normal(size=(50, 5)), columns=list("abcde"))
    >>> ex = extreme_pairs(m, k=2, n_boot=200, seed=0)
    >>> ex["which"].tolist(), bool((ex["ci_high"] - ex["ci_low"] > 0).all())
    (['most', 'most', 'least', 'least'], True)
    """
    if not isinstance(matrix, pd.DataFrame):
        raise ParameterTypeError(f"matrix must be a DataFrame; got {type(matrix).__name__}.")
    method = check_method(method)
    check_n_boot_ci(n_boot, ci)
    x = matrix.to_numpy(dtype=float)
    if np.isnan(x).any():
        raise DataError("extreme_pairs needs a complete matrix (no NaN); use clean(table, complete=True).matrix.")
    corr, _ = correlation_matrix(matrix, method)
    pairs, iu = _pair_statistic(x, method)
    r0 = corr.to_numpy()[iu]
    c = np.nan
    lo = hi = np.full(len(r0), np.nan)
    if n_boot:
        kw = {} if clusters is None else {"clusters": clusters}
        res = bootstrap(pairs, x.shape[0], n_boot=n_boot, ci=ci, method="percentile", seed=seed, n_jobs=n_jobs,
                        keep_distribution=False, **kw)
        d = res.distribution
        se = np.nanstd(d, axis=0, ddof=1)
        ok = se > 0
        t = np.abs(d[:, ok] - r0[ok]) / se[ok]
        c = float(np.quantile(np.nanmax(t, axis=1), ci))
        lo, hi = np.clip(r0 - c * se, -1, 1), np.clip(r0 + c * se, -1, 1)
    cols = list(matrix.columns)
    order = np.argsort(-r0, kind="stable")
    rows = []
    for which, idx in (("most", order[:k]), ("least", order[::-1][:k])):
        for i in idx:
            a, b = cols[iu[0][i]], cols[iu[1][i]]
            block = "" if groups is None else "-".join(sorted([str(groups.get(a)), str(groups.get(b))]))
            rows.append({"which": which, "metric_a": a, "metric_b": b, "block": block, "r": float(r0[i]),
                         "ci_low": float(lo[i]), "ci_high": float(hi[i]), "critical_value": c})
    return pd.DataFrame(rows)
