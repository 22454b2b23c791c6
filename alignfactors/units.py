"""Headline numbers under each resampling unit: models, families, architectures, side by side.

The same statistic gets a different interval depending on what is treated as the independent
unit: models (another draw of models like these), families of near-copies (another run of
these models) or architectures (other architectures like these). :func:`compare_units` runs
the analyses once per unit, on the same data with the same seed, and lays the intervals side
by side together with the design effect of each clustering.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ._options import check_options, provenance, seed_record, unit_of
from ._formatting import markdown_table, text_table
from .errors import ParameterError, ParameterTypeError

__all__ = ["compare_units", "UnitComparison", "UNIT_QUANTITIES"]

#: Quantities compared across units, in this order (blocks and parts are expanded).
UNIT_QUANTITIES = ("agreement mean", "agreement block", "lambda_1", "participation ratio", "r2", "shapley")

_UNIT_NAMES = {None: "model", "families": "family", "architecture": "architecture"}


@dataclass(frozen=True)
class UnitComparison:
    """Result of :func:`compare_units`.

    Attributes
    ----------
    frame : DataFrame
        One row per quantity and unit: ``quantity``, ``unit`` ("model", "family",
        "architecture"), ``n_units``, ``value``, ``ci_low``, ``ci_high``, ``se``, ``method``
        and ``se_ratio`` (the unit's standard error over the model bootstrap's).
    design : dict of str -> DesignEffect
        Intra-family correlation and effective n for each clustering ("family", "architecture").
    n_families : dict of str -> int
        Number of clusters of each unit ("model" counts models).
    options : dict
        Provenance (options, seed, n, versions).
    """

    frame: pd.DataFrame
    design: dict
    n_families: dict
    options: dict = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """The long frame (one row per quantity and unit)."""
        return self.frame.copy()

    def wide(self) -> pd.DataFrame:
        """One row per quantity; for each unit its interval and SE ratio (for reading side by side)."""
        rows = []
        for q, g in self.frame.groupby("quantity", sort=False):
            row = {"quantity": q, "value": float(g["value"].iloc[0])}
            for r in g.itertuples(index=False):
                row[f"{r.unit} ci"] = (r.ci_low, r.ci_high)
                row[f"{r.unit} se ratio"] = r.se_ratio
            rows.append(row)
        return pd.DataFrame(rows)

    def summary(self) -> str:
        counts = ", ".join(f"{u}: {n}" for u, n in self.n_families.items())
        lines = [f"Intervals by resampling unit ({counts}; {self.options.get('n_boot')} resamples, "
                 f"seed {self.options.get('seed')})."]
        for lvl, de in self.design.items():
            lines.append(f"{lvl}: median intra-family correlation {de.median_icc}, "
                         f"median effective n {de.median_n_eff.format(1)} of {de.n_models}.")
        lines.append(text_table(self.frame[["quantity", "unit", "n_units", "value", "ci_low", "ci_high", "se",
                                            "se_ratio"]]))
        return "\n".join(lines)

    def to_markdown(self) -> str:
        return markdown_table(self.frame[["quantity", "unit", "n_units", "value", "ci_low", "ci_high", "se_ratio"]])

    def to_dict(self) -> dict:
        from ._formatting import json_number

        return {
            "n_units": dict(self.n_families),
            "design_effect": {k: v.to_dict() for k, v in self.design.items()},
            "rows": [{k: json_number(v) for k, v in r.items()} for r in self.frame.to_dict(orient="records")],
            "options": self.options,
        }

    def __str__(self) -> str:
        return self.summary()


def _rows(quantity: str, est, unit: str) -> dict:
    return {"quantity": quantity, "unit": unit, "n_units": est.n_units, "value": est.value,
            "ci_low": est.ci[0], "ci_high": est.ci[1], "se": est.se, "method": est.method}


def _reused(result, common: dict, same_data: bool, **expected):
    """``result`` when it was computed on this call's data (``same_data``) with its options (recorded
    n_boot, ci, ci_method, seed and ``expected``); else None, and it is recomputed."""
    if result is None or not same_data:
        return None
    o = getattr(result, "options", {}) or {}
    want = {"n_boot": int(common["n_boot"]), "ci": float(common["ci"]), "ci_method": common["ci_method"],
            "seed": seed_record(common["seed"]), **expected}
    return result if all(o.get(k) == v for k, v in want.items()) else None


def _same_groups(a, b) -> bool:
    """Two metric -> domain groupings (or None) are the same."""
    if a is None or b is None:
        return a is None and b is None
    return pd.Series(a).astype(str).sort_index().equals(pd.Series(b).astype(str).sort_index())


def compare_units(
    table: Any,
    *,
    matrix: pd.DataFrame | None = None,
    groups: pd.Series | None = None,
    units: Sequence[Any] = (None, "families", "architecture"),
    method: str = "spearman",
    aggregate: str | None = "average_vision",
    parts: Sequence[str] | None = None,
    n_boot: int = 2000,
    ci: float = 0.95,
    ci_method: str = "bca",
    seed: Any = None,
    n_jobs: int = 1,
    batch_size: int | None = None,
    progress: bool | None = None,
    missing: str = "complete",
    reuse: dict | None = None,
) -> UnitComparison:
    """The headline numbers with the interval of each resampling unit, side by side.

    For each unit -- models (``None``), variant families (``"families"``) and architectures
    (``"architecture"``), or a Series of your own -- runs :func:`~alignfactors.agreement`
    (mean and domain blocks), :func:`~alignfactors.dimensionality` (λ1 and the participation
    ratio) and :func:`~alignfactors.decompose` (R² and Shapley shares of ``aggregate``) with
    the same data and seed, plus :func:`~alignfactors.families.design_effect` of each clustering.

    Parameters
    ----------
    table : ScoreTable
        The leaderboard (model names give the families; the decomposition uses its tree).
    matrix : DataFrame, optional
        Models x metrics; default ``clean(table).matrix`` (complete).
    groups : Series, optional
        metric -> domain for the blocks; default the cleaned domains.
    units : sequence, default=(None, "families", "architecture")
        Resampling units; None (the model bootstrap) must come first: it is the reference of
        ``se_ratio``.
    method : str, default="spearman"
        Correlation of agreement and dimensionality.
    aggregate : str or None, default="average_vision"
        Aggregate to decompose (over every model of ``table`` with the aggregate and its parts,
        as :func:`~alignfactors.decompose` does); None skips the decomposition.
    parts : list of str, optional
    n_boot, ci, ci_method, seed, n_jobs, batch_size, progress
        As every analysis (:func:`alignfactors.resampling.bootstrap`).
    missing : {"complete"}, default="complete"
        The matrix must be complete.
    reuse : dict, optional
        Results already computed on the same data, e.g. by a report: ``{unit: {"agreement": ...,
        "dimensionality": ..., "decomposition": ...}}``. A result is taken instead of being
        recomputed only when it was computed on these models and metrics (and groups, aggregate,
        parts, missing policy) with the options this call would use (n_boot, ci, ci_method, seed,
        correlation method, resampling unit and number of units; a dimensionality with its eigenvalue
        intervals); otherwise it is recomputed.
        The numbers are the same either way.

    Returns
    -------
    UnitComparison

    Examples
    --------
    >>> import alignfactors as af
    >>> from alignfactors.units import compare_units
    >>> t = af.datasets.simulate_leaderboard(80, seed=0)
    >>> uc = compare_units(t, n_boot=30, seed=0, units=[None, "architecture"])  # doctest: +SKIP
    >>> sorted(uc.frame["unit"].unique())  # doctest: +SKIP
    ['architecture', 'model']
    """
    from .agreement import agreement
    from .cleaning import clean
    from .decomposition import decompose
    from .dimensions import dimensionality
    from .families import cluster_labels, design_effect

    check_options(n_boot=n_boot, ci=ci, ci_method=ci_method, seed=seed, n_jobs=n_jobs, batch_size=batch_size,
                  progress=progress, missing=missing, allowed_missing=("complete",), where="compare_units")
    if not hasattr(table, "scores"):
        raise ParameterTypeError(f"table must be a ScoreTable; got {type(table).__name__}.")
    units = [None if (isinstance(u, str) and u == "none") else u for u in units]
    if not units or units[0] is not None:
        raise ParameterError("units must start with None (the model bootstrap, the reference of se_ratio).")
    if matrix is None:
        cleaned = clean(table)
        matrix = cleaned.matrix
        groups = cleaned.domains if groups is None and cleaned.domains.notna().all() else groups
    common = dict(n_boot=n_boot, ci=ci, ci_method=ci_method, seed=seed, n_jobs=n_jobs, batch_size=batch_size,
                  progress=progress)
    rows, design, n_units = [], {}, {}
    for u in units:
        label = _UNIT_NAMES.get(u, "cluster") if isinstance(u, (str, type(None))) else "cluster"
        clusters = u
        if u is not None:
            lab = cluster_labels(u, matrix.index, table)
            clusters = lab
            design[label] = design_effect(matrix, lab, **common, missing="complete")
        given = (reuse or {}).get(u, {})
        unit_n = {"unit": unit_of(u), "n_units": len(matrix) if u is None else int(pd.Series(clusters).nunique())}
        cols = [str(c) for c in matrix.columns]
        a, d = given.get("agreement"), given.get("dimensionality")
        agr = _reused(a, common, a is not None and a.method == method and a.n_models == len(matrix)
                      and [str(c) for c in a.matrix.columns] == cols and _same_groups(a.groups, groups), **unit_n)
        if agr is None:
            agr = agreement(matrix, method=method, groups=groups, missing="complete", clusters=clusters, **common)
        dim = _reused(d, common, d is not None and d.method == method and d.n_models == len(matrix)
                      and d.n_metrics == len(cols), eigen_intervals=True, **unit_n)
        if dim is None:
            dim = dimensionality(matrix, method=method, rules=["kaiser"], clusters=clusters, **common)
        rows.append(_rows("agreement mean", agr.mean, label))
        rows += [_rows(f"block {b}", e, label) for b, e in agr.blocks.items()]
        rows.append(_rows("lambda_1", dim.eigenvalue_estimates[1], label))
        rows.append(_rows("participation ratio", dim.participation_ratio, label))
        if aggregate is not None and aggregate in table.scores.columns:
            # every model with the aggregate and its parts, as the report's decomposition
            g = given.get("decomposition")
            dec = _reused(g, common, g is not None and g.aggregate == aggregate and g.missing == "as_website"
                          and (parts is None or list(g.parts) == list(parts)), unit=unit_n["unit"])
            if dec is None:
                dec = decompose(table, aggregate=aggregate, parts=parts, levels=False, clusters=u, **common)
            rows += [_rows(f"r2 {p}", e, label) for p, e in dec.r2.items()]
            rows += [_rows(f"shapley {p}", e, label) for p, e in dec.shapley.items()]
        n_units[label] = int(agr.mean.n_units) if agr.mean.n_units is not None else len(matrix)
    frame = pd.DataFrame(rows)
    ref = frame[frame["unit"] == "model"].set_index("quantity")["se"]
    frame["se_ratio"] = frame["se"].to_numpy() / ref.reindex(frame["quantity"]).to_numpy()
    opts = provenance(n_boot=n_boot, ci=ci, ci_method=ci_method, seed=seed, unit="model", n_units=len(matrix),
                      n=len(matrix), missing=missing, clusters=None,
                      units=[unit_of(u) if isinstance(u, (str, type(None))) else "cluster" for u in units])
    return UnitComparison(frame, design, n_units, opts)
