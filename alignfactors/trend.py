"""The headline analyses on the leaderboard as it stood at several dates.

:func:`trend` takes a table with per-score timestamps (the Brain-Score snapshot JSON), rebuilds
the leaderboard at each date with :meth:`ScoreTable.as_of` (later scores removed, aggregates
recomputed with the website's rule), and runs on each: cleaning, agreement (mean and domain
blocks), the dimensionality rules and the R² of the aggregate on each of its parts, every number
with its bootstrap interval. Each date is an independent analysis of the models present then;
the intervals are those of the analyses (resampling models, or clusters with ``clusters=``).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._formatting import json_number, markdown_table, text_table
from .errors import AlignFactorsError, ParameterError, ParameterTypeError
from ._options import check_options, provenance, unit_of
from .estimate import Estimate

__all__ = ["trend", "Trend"]

_FRAME_COLUMNS = ["date", "quantity", "value", "ci_low", "ci_high", "method", "n_boot"]


@dataclass(frozen=True)
class Trend:
    """Result of :func:`trend`.

    Attributes
    ----------
    dates : tuple of str
        The dates, as given (sorted).
    n_models_table : dict of str -> int
        Models with at least one leaf score at each date (before cleaning).
    n_models, n_metrics : dict of str -> int
        Size of the cleaned matrix at each date (counts, no interval).
    agreement : dict of str -> dict of str -> Estimate
        ``agreement[date]["mean"]`` and one entry per domain block (``"neural-neural"``, ...).
    k : dict of str -> dict of str -> (int, int, int)
        ``k[date][rule] = (k, ci_low, ci_high)``: dimensions retained by each rule and the
        percentile interval of k over resamples.
    r2 : dict of str -> dict of str -> Estimate
        R² of the aggregate on each part alone, per date.
    skipped : dict of str -> str
        Dates (or analyses at a date, as ``"date: analysis"``) that could not be run, and why.
    options : dict
        The options used (aggregate, n_boot, seed, clusters, cleaning options).
    """

    dates: tuple
    n_models_table: dict
    n_models: dict
    n_metrics: dict
    agreement: dict
    k: dict
    r2: dict
    skipped: dict = field(default_factory=dict)
    options: dict = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """Tidy frame: one row per (date, quantity): value, ci_low, ci_high, method, n_boot.

        Quantities: ``n_models_table``, ``n_models``, ``n_metrics`` (counts, no interval),
        ``agreement.mean``, ``agreement.<block>``, ``k.<rule>`` (interval = percentile
        interval of k), ``r2.<part>``.
        """
        rows = []
        for d in self.dates:
            for name, counts in (("n_models_table", self.n_models_table),
                                 ("n_models", self.n_models), ("n_metrics", self.n_metrics)):
                if d in counts:
                    rows.append([d, name, float(counts[d]), math.nan, math.nan, "count", 0])
            for group, ests in (("agreement", self.agreement.get(d, {})),
                                ("r2", self.r2.get(d, {}))):
                for key, e in ests.items():
                    rows.append([d, f"{group}.{key}", e.value, e.ci[0], e.ci[1], e.method,
                                 e.n_boot])
            for rule, (k, lo, hi) in self.k.get(d, {}).items():
                rows.append([d, f"k.{rule}", float(k), float(lo), float(hi), "percentile",
                             self.options.get("n_boot", 0)])
        return pd.DataFrame(rows, columns=_FRAME_COLUMNS)

    def _wide(self) -> pd.DataFrame:
        """Quantities x dates, cells ``value [low, high]`` (rendering only)."""
        f = self.to_frame()
        if f.empty:
            return pd.DataFrame({"quantity": []})
        order = _quantity_order(f["quantity"])

        def cell(r):
            if r.method == "count":
                return str(int(r.value))
            if r.quantity.startswith("k."):
                if math.isnan(r.ci_low):
                    return str(int(r.value))
                return f"{int(r.value)} [{int(r.ci_low)}, {int(r.ci_high)}]"
            return Estimate(r.value, (r.ci_low, r.ci_high)).format(3)

        f = f.assign(cell=[cell(r) for r in f.itertuples(index=False)])
        wide = f.pivot(index="quantity", columns="date", values="cell").reindex(order)
        wide = wide.reindex(columns=[d for d in self.dates if d in wide.columns]).fillna("–")
        wide.columns.name = None
        return wide.reset_index()

    def to_markdown(self) -> str:
        """A markdown table: one row per quantity, one column per date, then what was skipped."""
        text = markdown_table(self._wide())
        if self.skipped:
            text += "\n\n" + "\n".join(f"- {k}: {v}" for k, v in self.skipped.items())
        return text

    def summary(self) -> str:
        """Text summary: the table of :meth:`to_markdown` in fixed width, then the options."""
        lines = [f"Trend over {len(self.dates)} dates (aggregate {self.options.get('aggregate')!r}, "
                 f"n_boot {self.options.get('n_boot')}, seed {self.options.get('seed')}, "
                 f"clusters {self.options.get('clusters')!r})", text_table(self._wide())]
        lines += [f"skipped {k}: {v}" for k, v in self.skipped.items()]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def plot(self, path=None):
        """Figure: cleaned models and metrics, mean agreement and blocks, k of each rule and R²
        of the aggregate on each part, against the date, with their intervals as error bars.

        Returns the matplotlib Figure; with ``path`` it is also written there (PNG, 150 dpi).
        """
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        f = self.to_frame()
        f = f.assign(when=pd.to_datetime(f["date"]))
        fig, axes = plt.subplots(2, 2, figsize=(11, 7.5), sharex=True)
        panels = [
            (axes[0, 0], ("n_models_table", "n_models", "n_metrics"),
             "Leaderboard size", "models"),
            (axes[0, 1], tuple(q for q in dict.fromkeys(f["quantity"]) if q.startswith(
                "agreement.")), "Agreement between metrics (Spearman)", "mean correlation"),
            (axes[1, 0], tuple(q for q in dict.fromkeys(f["quantity"]) if q.startswith("k.")),
             "Dimensions retained (rule: k)", "k"),
            (axes[1, 1], tuple(q for q in dict.fromkeys(f["quantity"]) if q.startswith("r2.")),
             f"R² of {self.options.get('aggregate')} on each part alone", "R²"),
        ]
        labels = {"n_models_table": "models with a score", "n_models": "models after cleaning",
                  "n_metrics": "metrics after cleaning"}
        order = _quantity_order(f["quantity"])
        twin = axes[0, 0].twinx()
        for ax, quantities, title, ylabel in panels:
            quantities = sorted(quantities, key=order.index)
            for j, q in enumerate(quantities):
                g = f[f["quantity"] == q]
                if g.empty:
                    continue
                if q == "n_metrics":  # a smaller count: its own axis
                    twin.plot(g["when"], g["value"], marker="s", ms=4, lw=1.2, color="C2",
                              label=labels[q])
                    twin.set_ylabel("metrics after cleaning", color="C2")
                    continue
                shift = pd.to_timedelta((j - (len(quantities) - 1) / 2) * 12, unit="D")
                x = g["when"] + (shift if not q.startswith("n_") else pd.Timedelta(0))
                err = None
                if g["ci_low"].notna().any():
                    err = np.vstack([(g["value"] - g["ci_low"]).clip(lower=0).fillna(0),
                                     (g["ci_high"] - g["value"]).clip(lower=0).fillna(0)])
                ax.errorbar(x, g["value"], yerr=err, marker="o", ms=4, capsize=3, lw=1.2,
                            label=labels.get(q, q.split(".", 1)[-1]))
            ax.set_title(title, fontsize=10)
            ax.set_ylabel(ylabel)
            ax.grid(alpha=0.3)
            if quantities:
                handles, names = ax.get_legend_handles_labels()
                if ax is axes[0, 0]:
                    more = twin.get_legend_handles_labels()
                    handles, names = handles + more[0], names + more[1]
                ax.legend(handles, names, fontsize=7, loc="best")
        for ax in axes[1]:
            ax.set_xlabel("leaderboard as of")
        unit = self.options.get("clusters")
        unit = "models" if unit in (None, "none") else f"clusters: {unit}"
        fig.suptitle(f"Leaderboard over time ({self.options.get('n_boot')} resamples of {unit}, "
                     f"{int(100 * self.options.get('ci', 0.95))}% intervals; seed "
                     f"{self.options.get('seed')})", fontsize=11)
        fig.autofmt_xdate()
        fig.tight_layout()
        if path is not None:
            fig.savefig(path, dpi=150)
        return fig

    def to_dict(self) -> dict:
        """JSON-ready dict: options, skipped, and per date the counts and estimates."""
        out = {"options": {k: (v if isinstance(v, (str, int, float, bool, type(None), list))
                               else repr(v)) for k, v in self.options.items()},
               "skipped": dict(self.skipped), "dates": {}}
        for d in self.dates:
            out["dates"][d] = {
                "n_models_table": self.n_models_table.get(d),
                "n_models": self.n_models.get(d), "n_metrics": self.n_metrics.get(d),
                "agreement": {k: e.to_dict() for k, e in self.agreement.get(d, {}).items()},
                "k": {r: {"k": k, "ci_low": json_number(lo), "ci_high": json_number(hi)}
                      for r, (k, lo, hi) in self.k.get(d, {}).items()},
                "r2": {k: e.to_dict() for k, e in self.r2.get(d, {}).items()},
            }
        return out


def _quantity_order(quantities) -> list[str]:
    """Counts, agreement (mean, then blocks), R², k; first appearance within a group."""
    groups = ("n_", "agreement.mean", "agreement.", "r2.", "k.")
    seen = list(dict.fromkeys(quantities))
    return sorted(seen, key=lambda q: (next(i for i, g in enumerate(groups) if q.startswith(g)),
                                       q if q.startswith("agreement.") else "",
                                       seen.index(q)))


def _dates(dates) -> list[str]:
    if isinstance(dates, str):
        dates = [d.strip() for d in dates.split(",") if d.strip()]
    if not isinstance(dates, Sequence) or isinstance(dates, (bytes, str)) or not dates:
        raise ParameterTypeError(f"dates must be a non-empty list of dates such as "
                                 f"['2020-12-31', '2021-12-31'], got {dates!r}")
    out = []
    for d in dates:
        try:
            ts = pd.Timestamp(d)
        except (ValueError, TypeError):
            raise ParameterError(f"dates: {d!r} is not a date (write it as YYYY-MM-DD)") from None
        if ts is pd.NaT:
            raise ParameterError(f"dates: {d!r} is not a date (write it as YYYY-MM-DD)")
        out.append((ts.tz_localize(None) if ts.tzinfo else ts, str(d)))
    labels = [lab for _, lab in sorted(out)]
    if len(set(labels)) != len(labels):
        raise ParameterError(f"dates: repeated dates in {labels}")
    return labels


def trend(
    table,
    dates,
    *,
    aggregate: str = "average_vision",
    parts: Sequence[str] | None = None,
    n_boot: int = 2000,
    ci: float = 0.95,
    seed: Any = None,
    clusters: Any = None,
    max_missing: float = 0.5,
    method: str = "spearman",
    n_jobs: int = 1,
    progress: bool | None = None,
    ci_method: str = "bca",
    batch_size: int | None = None,
    missing: str = "complete",
) -> Trend:
    """Run the headline analyses on the leaderboard as it stood at each date.

    At each date: :meth:`~alignfactors.io.table.ScoreTable.as_of` (scores computed later removed,
    aggregates recomputed with the website's rule), :func:`~alignfactors.cleaning.clean`
    (``max_missing``, complete cases), :func:`~alignfactors.agreement.agreement` (mean and
    domain blocks), :func:`~alignfactors.dimensions.dimensionality` (k of every rule with its
    percentile interval) and :func:`~alignfactors.decomposition.decompose` (R² of ``aggregate``
    on each part alone, over every model that has the aggregate and its parts, as in the
    report). Each date is resampled on its own models (or clusters); the seed of
    date *i* is drawn from ``numpy.random.SeedSequence(seed)``, so the whole run is
    reproducible from ``seed``. A date where an analysis cannot run (too few models or
    metrics) is listed in ``skipped`` with the reason, never silently left out.

    Parameters
    ----------
    table : ScoreTable
        With timestamps (``table.has_timestamps``), e.g. from the snapshot JSON.
    dates : list of str or str
        Dates (``YYYY-MM-DD``; a comma-separated string is accepted); sorted before use.
    aggregate : str, default "average_vision"
    parts : list of str, optional
        Parts of the aggregate for R² (default: its children).
    n_boot, ci, seed, n_jobs, progress
        As for the analyses.
    ci_method, batch_size
        As every analysis (:func:`alignfactors.resampling.bootstrap`).
    missing : {"complete"}, default="complete"
        Each date's matrix is cleaned to complete models (``clean(..., complete=True)``); the
        decomposition skips models missing the aggregate or a part.
    clusters : None, Series, "families" or "architecture"
        Resampling unit, passed to every analysis (see :mod:`alignfactors.families`).
    max_missing : float, default 0.5
        Cleaning: largest share of missing values a metric may have.
    method : str, default "spearman"

    Returns
    -------
    Trend

    Raises
    ------
    DataError
        The table has no timestamps, or a date is before the first score.
    ParameterError
        Bad dates or options.

    Examples
    --------
    A simulated leaderboard whose models were each scored on one day of 2020-2021:

    >>> import dataclasses
    >>> import alignfactors as af
    >>> t = af.datasets.simulate_leaderboard(n_models=80, seed=0)
    >>> day = pd.Timestamp("2020-01-01", tz="UTC") + pd.to_timedelta(
    ...     np.random.default_rng(0).integers(0, 730, t.n_models), unit="D")
    >>> t = dataclasses.replace(t, timestamps=pd.DataFrame({c: day for c in t.scores.columns},
    ...                                                    index=t.scores.index))
    >>> res = af.trend(t, ["2020-12-31", "2021-12-31"], n_boot=20, seed=0)
    >>> res.n_models_table
    {'2020-12-31': 34, '2021-12-31': 80}
    >>> sorted(res.r2["2021-12-31"])
    ['behavior_vision', 'neural_vision']
    """
    from .agreement import agreement
    from .cleaning import clean
    from .decomposition import decompose
    from .dimensions import dimensionality
    from .io.table import ScoreTable

    if not isinstance(table, ScoreTable):
        raise ParameterTypeError(f"table must be a ScoreTable, got {type(table).__name__}")
    labels = _dates(dates)
    check_options(n_boot=n_boot, ci=ci, ci_method=ci_method, seed=seed, n_jobs=n_jobs, batch_size=batch_size,
                  progress=progress, missing=missing, allowed_missing=("complete",), where="trend")
    if not (seed is None or isinstance(seed, (int, np.integer))):
        raise ParameterError(f"trend: seed must be None or a non-negative integer (each date gets a seed derived "
                             f"from it); got {seed!r}")
    seeds = np.random.SeedSequence(None if seed is None else int(seed)).generate_state(len(labels))
    extra = {} if clusters is None else {"clusters": clusters}
    common = dict(n_boot=int(n_boot), ci=ci, ci_method=ci_method, batch_size=batch_size, n_jobs=n_jobs,
                  progress=progress, **extra)
    snaps = [table.as_of(d) for d in labels]  # all dates checked before any analysis runs
    n_tab, n_mod, n_met, agr, ks, r2s, skipped = {}, {}, {}, {}, {}, {}, {}
    for d, t, s in zip(labels, snaps, seeds):
        s = int(s)
        leaves = [c for c in t.scores.columns if t.tree.is_leaf(c)]
        n_tab[d] = int((t.status[leaves] == "ok").any(axis=1).sum())
        try:
            cl = clean(t, max_missing=max_missing, complete=True)
        except AlignFactorsError as exc:
            skipped[d] = f"cleaning failed: {exc}"
            continue
        n_mod[d], n_met[d] = int(cl.matrix.shape[0]), int(cl.matrix.shape[1])
        if cl.matrix.shape[0] < 5 or cl.matrix.shape[1] < 2:
            skipped[d] = (f"cleaned matrix too small for the analyses ({cl.matrix.shape[0]} "
                          f"models x {cl.matrix.shape[1]} metrics)")
            continue
        groups = cl.domains if cl.domains.notna().all() else None
        try:
            a = agreement(cl.matrix, method=method, groups=groups, seed=s, **common)
            agr[d] = {"mean": a.mean, **dict(a.blocks)}
        except AlignFactorsError as exc:
            skipped[f"{d}: agreement"] = str(exc)
        try:
            dim_common = common if "clusters" in inspect.signature(dimensionality).parameters \
                else {k: v for k, v in common.items() if k != "clusters"}
            dim = dimensionality(cl.matrix, method=method, seed=s, **dim_common)
            ks[d] = {r: (int(k), *dim.k_ci.get(r, (math.nan, math.nan)))
                     for r, k in dim.n_dimensions.items()}
        except AlignFactorsError as exc:
            skipped[f"{d}: dimensionality"] = str(exc)
        if aggregate in t.scores.columns and not t.tree.is_leaf(aggregate):
            try:
                dec = decompose(t, aggregate=aggregate, parts=parts, seed=s, levels=False,
                                **common)
                r2s[d] = dict(dec.r2)
            except AlignFactorsError as exc:
                skipped[f"{d}: decomposition"] = str(exc)
        else:
            skipped[f"{d}: decomposition"] = f"no aggregate node {aggregate!r} with parts"
    options = {"aggregate": aggregate, "parts": None if parts is None else list(parts),
               "n_boot": int(n_boot), "ci": ci, "seed": None if seed is None else int(seed),
               "clusters": clusters if clusters is None or isinstance(clusters, str)
               else "given", "max_missing": max_missing, "method": method,
               "decomposition_models": "every model with the aggregate and its parts",
               "k_interval_unit": "clusters" if clusters is not None and "clusters" in
               inspect.signature(dimensionality).parameters else "models"}
    options.update({k: v for k, v in provenance(n_boot=n_boot, ci=ci, ci_method=ci_method, seed=seed,
                                                 unit=unit_of(clusters), missing=missing,
                                                 clusters=clusters).items() if k not in options})
    return Trend(tuple(labels), n_tab, n_mod, n_met, agr, ks, r2s, skipped, options)
