"""Do aggregation rules agree, and how do they behave? An audit of several ways to rank models.

:func:`compare_aggregations` scores every model by several rules (:func:`~alignfactors.aggregation.aggregate`),
measures how much the rankings agree, how sure each model's rank is, how evenly each rule
weighs the neural and behavioral domains, and three properties from social choice: independence
of irrelevant alternatives (leave one model out), sensitivity to each metric (leave one metric
out) and invariance to a monotone rescaling of one metric.

Agreement and balance intervals resample models. Rules such as ``zscore`` and ``rank`` depend
on which models are present, so each resample re-applies the rule to the resampled models (with
their counts, as on the materialised resample). Rank intervals never resample the ranked models:
they come from :mod:`alignfactors.rank_uncertainty` (benchmarks resampled and/or scores perturbed
by their standard errors, all models kept). Balance is also assessed under benchmark resampling.
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from ._formatting import estimates_frame, json_number, markdown_table, text_table
from .aggregation import AGGREGATION_METHODS, _domain_zscore, _validate_aggregate, aggregate, rank_models
from ._validation import check_labels
from .errors import DataError, DegenerateDataWarning, ParameterError, ParameterTypeError
from ._aggregation_audits import (_benchmark_jobs, _benchmark_summary, _iia_rule, _iia_summary, _leave_metric_out_rule,
                                  _monotone_f, _monotone_frame, _monotone_rule, _monotone_units, _run_tasks)
from .estimate import Estimate
from .rank_uncertainty import RESAMPLE_OPTIONS
from .rank_uncertainty import rank_uncertainty as _rank_uncertainty
from ._options import check_options, provenance, seed_record
from .families import cluster_codes
from ._rule_agreement_kernels import _batched_kendall, _batched_ranks, _batched_topk, _batched_topk_overlap
from ._balance_kernels import _BAL_NAMES, _balance_columns, _p_best, _wcorr, _wsd  # noqa: F401
from .families import matrix_names
from .attenuation import table_noise_errors
from .resampling import bootstrap, check_n_boot_ci, root_seed
from .io.table import ScoreTable

__all__ = ["compare_aggregations", "AggregationComparison", "balance_difference"]

_FIXED = ("brainscore", "mean", "geometric")  # a model's score does not depend on the other models
_FAST = ("zscore", "rank")  # population-dependent rules with a vectorised weighted form
_TREE_WEIGHTED = ("domain_zscore",)  # population-dependent along the tree; weighted form in aggregation.py
_DOMAINS = ("neural", "behavioral")


@dataclass(frozen=True)
class AggregationComparison:
    """Result of :func:`compare_aggregations`.

    Attributes
    ----------
    scores, ranks : DataFrame
        models x methods: each rule's score (higher = better) and rank (1 = best).
    agreement : DataFrame
        One row per pair of methods and measure (``kendall``, ``spearman``, ``top_k``):
        value, ci_low, ci_high, se, method (interval), n_undefined.
    rank_intervals : DataFrame
        One row per method and model (:meth:`RankUncertainty.to_frame` of each rule): method,
        resampled (what the intervals carry: ``"benchmarks"``, ``"errors"`` or ``"both"``; never
        the models), model_id, score, rank, ci_low, ci_high, p_rank1, sim_low, sim_high
        (simultaneous over the ``top_k`` best), could_be_best, group.
    rank_uncertainty : dict of str -> RankUncertainty
        Per rule, with the adjacent-pair order probabilities and the confidence set for the best.
    balance : DataFrame
        Per method: ``linear`` (the score is exactly ``w_N S_N + w_B S_B + c`` in its neural and
        behavioral sub-aggregates), weight_neural / weight_behavioral (nominal: the rule's total
        weight on each domain's leaves), sd_neural / sd_behavioral, rho (correlation of the
        sub-aggregates), effective_neural / effective_behavioral (weight x SD), r2_neural,
        r2_behavioral, r2_joint (1 by identity for a linear rule: stated, not bootstrapped),
        shapley_neural, shapley_behavioral and difference (neural - behavioral) with intervals
        over models (diff_ci_low/high, ``p_best`` = share of model resamples in which the rule
        has the smallest ``|difference|``) and over benchmark resamples (diff_domain_low/high,
        p_best_domain: leaves drawn within domains; diff_tree_low/high, p_best_tree: within tree
        nodes, so a flat rule's metric counts per domain change).
    best_balance : str
        The rule with the smallest ``|shapley_neural - shapley_behavioral|``.
    iia : DataFrame or None
        Per method and removed model: n_pairs_swapped, fraction (of pairs of the other models).
    iia_summary : DataFrame or None
        Per method: mean_fraction, max_fraction, n_removals_with_swap, most disruptive model.
    metric_sensitivity : DataFrame or None
        Per method and left-out metric: spearman, kendall with the full ranking.
    monotone : DataFrame or None
        Per method and rescaled metric: kendall with the original ranking.
    estimates : dict of str -> Estimate
        Every bootstrap estimate by name (agreement and balance).
    """

    methods: list
    scores: pd.DataFrame
    ranks: pd.DataFrame
    agreement: pd.DataFrame
    rank_intervals: pd.DataFrame
    balance: pd.DataFrame
    best_balance: str
    iia: pd.DataFrame | None
    iia_summary: pd.DataFrame | None
    metric_sensitivity: pd.DataFrame | None
    monotone: pd.DataFrame | None
    estimates: dict
    n_models: int
    n_excluded: int
    n_boot: int
    level: float
    top_k: int
    seed: Any = None
    options: dict = field(default_factory=dict)
    rank_uncertainty: dict = field(default_factory=dict)
    rank_resample: str = "benchmarks"

    def to_frame(self) -> pd.DataFrame:
        """Tidy frame of every bootstrap estimate (agreement between rules and balance)."""
        return estimates_frame(self.estimates)

    def p_best(self, methods: Sequence[str] | None = None, over: str = "models") -> dict:
        """Share of resamples in which each of ``methods`` (default all) has the smallest
        ``|difference|`` among them; ``over`` = "models", "domain" or "tree" (the resampling of
        the balance intervals), e.g. to compare rules without ``domain_zscore``, which is
        balanced by construction."""
        methods = list(self.methods if methods is None else methods)
        key = "difference" if over == "models" else f"difference_{over}"
        if over not in ("models", "domain", "tree"):
            raise ParameterError(f"over={over!r} is not known; use 'models', 'domain' or 'tree'.")
        dists = {m: getattr(self.estimates.get(f"{key}:{m}"), "distribution", None) for m in methods}
        return _p_best(dists, methods, self.n_boot)

    def sensitivity_summary(self) -> pd.DataFrame:
        """Per method: mean and min Kendall tau over left-out metrics and the most influential metric."""
        if self.metric_sensitivity is None:
            return pd.DataFrame(columns=["method", "mean_kendall", "min_kendall", "most_influential"])
        rows = []
        for m, g in self.metric_sensitivity.groupby("method", sort=False):
            worst = g.sort_values("kendall", kind="stable").iloc[0]
            rows.append({"method": m, "mean_kendall": g["kendall"].mean(), "min_kendall": worst["kendall"],
                         "most_influential": worst["metric"]})
        return pd.DataFrame(rows)

    def monotone_summary(self, tol: float = 1e-9) -> pd.DataFrame:
        """Per method, over the metrics the rule uses: mean and min Kendall tau with the original
        ranking and ``n_changed``, the number of rescaled metrics with tau below ``1 - tol``."""
        if self.monotone is None:
            return pd.DataFrame(columns=["method", "n_metrics", "mean_kendall", "min_kendall", "n_changed"])
        mono = self.monotone
        if "used" in mono.columns:
            mono = mono[mono["used"]]
        rows = []
        for m, g in mono.groupby("method", sort=False):
            tau = g["kendall"]
            rows.append({"method": m, "n_metrics": int(len(g)), "mean_kendall": tau.mean(), "min_kendall": tau.min(),
                         "n_changed": int((tau < 1 - tol).sum())})
        return pd.DataFrame(rows)

    def _sections(self):
        agree = self.agreement[["method_a", "method_b", "measure", "value", "ci_low", "ci_high"]]
        cols = ["method", "weight_neural", "weight_behavioral", "effective_neural", "effective_behavioral",
                "difference", "diff_ci_low", "diff_ci_high", "diff_domain_low", "diff_domain_high", "diff_tree_low",
                "diff_tree_high", "p_best", "p_best_domain", "p_best_tree"]
        bal = self.balance[[c for c in cols if c in self.balance.columns]]
        top = (self.rank_intervals.sort_values(["method", "rank"], kind="stable").groupby("method", sort=False)
               .head(5)[["method", "model_id", "rank", "ci_low", "ci_high", "p_rank1", "sim_low", "sim_high"]])
        out = [("Agreement between rules", agree),
               (f"Top 5 per rule with rank intervals (resampled: {self.rank_resample}; all models kept)", top),
               (f"Balance of neural vs behavioral (best: {self.best_balance})", bal)]
        if self.iia_summary is not None:
            out.append(("Independence of irrelevant alternatives (leave one model out)", self.iia_summary))
        if self.metric_sensitivity is not None:
            out.append(("Leave one metric out", self.sensitivity_summary()))
        if self.monotone is not None:
            out.append(("Monotone rescaling of one metric", self.monotone_summary()))
        return out

    def _head(self) -> str:
        if self.n_boot == 0:
            return (f"Comparison of aggregation rules {self.methods} over {self.n_models} models "
                    f"({self.n_excluded} without any score excluded; n_boot=0: no intervals, top_k={self.top_k}).")
        return (f"Comparison of aggregation rules {self.methods} over {self.n_models} models "
                f"({self.n_excluded} without any score excluded; {self.n_boot} resamples, {self.level:.0%} intervals, "
                f"top_k={self.top_k}). Agreement and balance intervals resample models; rank intervals resample "
                f"{self.rank_resample} with all models kept.")

    def summary(self) -> str:
        return "\n\n".join([self._head()] + [f"{t}:\n{text_table(df)}" for t, df in self._sections()])

    def to_markdown(self) -> str:
        return "\n\n".join([self._head()] + [f"**{t}**\n\n{markdown_table(df)}" for t, df in self._sections()])

    def to_dict(self) -> dict:
        """Plain JSON-ready dict (NaN as None, deterministic key order)."""
        def records(df):
            if df is None:
                return None
            out = []
            for row in df.to_dict(orient="records"):
                out.append({k: json_number(v) for k, v in row.items()})
            return out

        return {
            "methods": list(self.methods), "n_models": int(self.n_models), "n_excluded": int(self.n_excluded),
            "n_boot": int(self.n_boot), "level": float(self.level), "top_k": int(self.top_k),
            "seed": seed_record(self.seed),
            "best_balance": self.best_balance,
            "estimates": {k: v.to_dict() for k, v in self.estimates.items()},
            "balance": records(self.balance), "agreement": records(self.agreement),
            "rank_intervals": records(self.rank_intervals), "rank_resample": self.rank_resample,
            "rank_uncertainty": {m: u.to_dict() for m, u in self.rank_uncertainty.items()},
            "iia_summary": records(self.iia_summary),
            "metric_sensitivity": records(self.metric_sensitivity), "monotone": records(self.monotone),
            "options": self.options,
        }

    def __str__(self) -> str:
        return self.summary()


# -- balance --------------------------------------------------------------------------------------
def balance_difference(a: float, b: float, rho: float) -> float:
    r"""Shapley difference (neural - behavioral) of a rule ``score = w_N S_N + w_B S_B``.

    With effective weights :math:`a = w_N \operatorname{SD}(S_N)`, :math:`b = w_B \operatorname{SD}(S_B)`
    and :math:`\rho = \operatorname{corr}(S_N, S_B)`, the joint R² is 1 and
    :math:`\phi_N - \phi_B = R^2_N - R^2_B = (1 - \rho^2)(a^2 - b^2) / (a^2 + b^2 + 2\rho ab)`:
    zero exactly when the effective weights are equal.

    Examples
    --------
    >>> balance_difference(0.5, 0.5, 0.3)
    0.0
    >>> round(balance_difference(1.0, 0.0, 0.0), 3)
    1.0
    """
    return (1 - rho**2) * (a**2 - b**2) / (a**2 + b**2 + 2 * rho * a * b)


def _is_linear(full: dict, nominal: dict) -> bool:
    """The score is exactly ``w_N S_N + w_B S_B + c`` (nominal weights) over the models."""
    s, nn, bb = full["all"][0], full["neural"][0], full["behavioral"][0]
    ok = np.isfinite(s) & np.isfinite(nn) & np.isfinite(bb)
    if ok.sum() < 3:
        return False
    r = s[ok] - nominal["neural"] * nn[ok] - nominal["behavioral"] * bb[ok]
    scale = max(1.0, float(np.max(np.abs(s[ok]))))
    return bool(np.ptp(r) <= 1e-9 * scale)


# -- weighted kernels (one resample per row of w) ------------------------------------------------
def _desc_rank_parts(x_col: np.ndarray):
    """Fixed sort structure of one column (present values, descending) for weighted ranks."""
    present = np.flatnonzero(~np.isnan(x_col))
    order = present[np.argsort(-x_col[present], kind="stable")]
    xs = x_col[order]
    m = len(order)
    new = np.ones(m, bool)
    new[1:] = xs[1:] != xs[:-1]
    start = np.maximum.accumulate(np.where(new, np.arange(m), 0))
    endm = np.ones(m, bool)
    endm[:-1] = new[1:]
    end = np.minimum.accumulate(np.where(endm, np.arange(m), m)[::-1])[::-1]
    return order, start, end


def _weighted_desc_rank(w: np.ndarray, parts) -> tuple[np.ndarray, np.ndarray]:
    """Weight above and weight tied (incl. self) for each present model: (B, m) each."""
    order, start, end = parts
    ws = w[:, order]
    cs = np.cumsum(ws, axis=1)
    above = np.where(start > 0, cs[:, np.maximum(start - 1, 0)], 0.0)
    tied = cs[:, end] - above
    return above, tied


def _resample_view(s: np.ndarray, w: np.ndarray):
    """For the drawn models' scores ``s`` and counts ``w``: each one's rank (1 = best; the other
    drawn models counted with their counts, ties half) and the sign matrix of score differences."""
    ok = np.isfinite(s)
    sign = np.sign(s[:, None] - s[None, :])
    sign[~ok, :] = np.nan
    sign[:, ~ok] = np.nan
    better = np.nansum(np.where(sign < 0, w[None, :], 0.0), axis=1)
    tied = np.nansum(np.where(sign == 0, w[None, :], 0.0), axis=1) - w
    rank = np.where(ok, 1.0 + better + tied / 2, np.nan)
    return rank, sign


def _wkendall(sa: np.ndarray, sb: np.ndarray, w: np.ndarray) -> float:
    """Kendall tau-b on the materialised resample from sign matrices and counts (scipy has no
    count-weighted form); pairs of copies of one model are ties in both."""
    ok = np.isfinite(np.diagonal(sa)) & np.isfinite(np.diagonal(sb))
    if ok.sum() < 2:
        return math.nan
    sa, sb, w = sa[np.ix_(ok, ok)], sb[np.ix_(ok, ok)], w[ok]
    n_tot = w.sum()
    ww = w[:, None] * w[None, :]
    s = 0.5 * np.sum(ww * sa * sb)
    n0 = n_tot * (n_tot - 1) / 2
    t_a = (np.sum(ww * (sa == 0)) - n_tot) / 2
    t_b = (np.sum(ww * (sb == 0)) - n_tot) / 2
    den = math.sqrt((n0 - t_a) * (n0 - t_b))
    return s / den if den > 0 else math.nan


def _wkendall_all(signs: list, w: np.ndarray) -> np.ndarray | None:
    """:func:`_wkendall` of every pair of rules at once, from one weighted Gram matrix of their
    sign matrices: (R, R). None when a rule has a missing score (the pairs then differ in the
    models they use; :func:`_wkendall` handles them one by one)."""
    s = np.stack([x.ravel() for x in signs])
    if not np.isfinite(s).all() or len(w) < 2:
        return None
    n_tot = w.sum()
    ww = np.outer(w, w).ravel()
    gram = (s * ww) @ s.T
    ties = ((s == 0) @ ww - n_tot) / 2
    n0 = n_tot * (n_tot - 1) / 2
    den = np.sqrt(np.outer(n0 - ties, n0 - ties))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, 0.5 * gram / np.where(den > 0, den, 1.0), np.nan)


def _topk_overlap(a: np.ndarray, b: np.ndarray, k: int) -> float:
    ok = np.flatnonzero(np.isfinite(a) & np.isfinite(b))
    if len(ok) < k:
        return math.nan
    ta = ok[np.argsort(-a[ok], kind="stable")[:k]]
    tb = ok[np.argsort(-b[ok], kind="stable")[:k]]
    return len(np.intersect1d(ta, tb)) / k


class _Scorer:
    """Each rule's overall and per-domain scores of every model under resampling counts."""

    def __init__(self, table: ScoreTable, method: str, models: list[str], metrics: list[str] | None = None):
        self.method = method
        self.table = table
        self.models = models
        self.metrics = metrics
        self.keys = ["all", *_DOMAINS]
        self.fixed = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DegenerateDataWarning)
            full = aggregate(table, method=method, **self.selection("all"))
        self.units = list(full.attrs["metrics"])
        doms = [table.tree.domain(u) for u in self.units]
        lw = full.attrs.get("leaf_weights", {})
        self.nominal = {d: float(sum(lw.get(u, 0.0) for u, x in zip(self.units, doms) if x == d)) for d in _DOMAINS}
        self.masks = {"all": np.ones(len(self.units), bool),
                      **{d: np.array([x == d for x in doms]) for d in _DOMAINS}}
        if method in _FIXED:
            for key in self.keys:
                if key == "all":
                    self.fixed[key] = full.to_numpy()
                elif self.masks[key].any():
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", DegenerateDataWarning)
                        self.fixed[key] = aggregate(table, method=method, **self.selection(key)).to_numpy()
                else:
                    self.fixed[key] = np.full(len(models), np.nan)
        elif method in _FAST:
            self.x = table.scores.loc[models, self.units].to_numpy(dtype=float)
            self.rank_parts = [_desc_rank_parts(self.x[:, j]) for j in range(self.x.shape[1])]
        elif method in _TREE_WEIGHTED:  # each key's plan and leaf matrix, as aggregate() builds them
            self.plans = {}
            for key in self.keys:
                if key != "all" and not self.masks[key].any():
                    continue
                sel = self.selection(key)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DegenerateDataWarning)
                    _, plan, x = _validate_aggregate(table, method, None, None, None, sel.get("domains"),
                                                     sel.get("metrics"), models, None, False, None)
                self.plans[key] = (plan, np.where(np.isnan(x), 0.0, x) if plan.missing == "zero" else x)

    def selection(self, key: str) -> dict:
        """aggregate() keywords choosing the metrics of ``key`` ("all" or a domain) for this rule."""
        if self.metrics is None or self.method == "brainscore":
            return {} if key == "all" else {"domains": [key]}
        return {"metrics": [m for m in self.metrics if key == "all" or self.table.tree.domain(m) == key]}

    def __call__(self, w: np.ndarray, noise: np.ndarray | None = None) -> dict:
        """Scores per key under counts ``w`` (B, n); ``noise`` (B, n, len(units)) perturbs the units' scores."""
        if noise is not None:
            return self._perturbed(w, noise)
        if self.method in _FIXED:
            return {k: np.broadcast_to(v, w.shape) for k, v in self.fixed.items()}
        if self.method in _FAST:
            t = self._transform(w)
            out = {}
            nan = bool(np.isnan(t).any())  # else the mean is nanmean's sum divided by the count, without a copy
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # a model without values in a domain
                for key, mask in self.masks.items():
                    if not mask.any():
                        out[key] = np.full(w.shape, np.nan)
                        continue
                    tt = t[:, :, mask]  # a copy, in the memory order its mean has always been summed in
                    out[key] = np.nanmean(tt, axis=2) if nan else tt.mean(axis=2)
            return out
        if self.method in _TREE_WEIGHTED:
            out = {k: np.full(w.shape, np.nan) for k in self.keys}
            with np.errstate(all="ignore"):
                for key, (plan, x) in self.plans.items():
                    out[key] = np.where(w > 0, _domain_zscore(x, plan, self.table.tree, w), np.nan)
            return out
        return self._materialised(w)

    def _perturbed(self, w: np.ndarray, noise: np.ndarray) -> dict:
        """Scores with every unit's score moved by ``noise`` (one resample at a time for the
        population-dependent rules; fixed rules on one stacked table of all resamples)."""
        if self.method in _FAST:
            x0, parts0 = self.x, self.rank_parts
            rows = []
            try:
                for b in range(w.shape[0]):
                    self.x = x0 + noise[b]
                    if self.method == "rank":
                        self.rank_parts = [_desc_rank_parts(self.x[:, j]) for j in range(self.x.shape[1])]
                    rows.append(self._from_transform(self._transform(w[b:b + 1]), w[b:b + 1]))
            finally:
                self.x, self.rank_parts = x0, parts0
            return {k: np.vstack([r[k] for r in rows]) for k in self.keys}
        sc = self.table.scores.loc[self.models]
        if self.method in _FIXED:  # a model's score depends on its own scores only: all resamples at once
            B, n = w.shape
            big = pd.concat([sc] * B)
            pos = [big.columns.get_loc(u) for u in self.units]
            vals = big.to_numpy(dtype=float, copy=True)
            vals[:, pos] += noise.reshape(B * n, -1)
            ids = pd.Index([f"{m}#{b}" for b in range(B) for m in self.models], name="model_id")
            st = pd.concat([self.table.status.loc[self.models]] * B).set_axis(ids)
            stacked = ScoreTable(pd.DataFrame(vals, index=ids, columns=big.columns), st,
                                 pd.DataFrame({"model_name": list(ids)}, index=ids), self.table.tree)
            out = {}
            for key in self.keys:
                if key != "all" and not self.masks[key].any():
                    out[key] = np.full(w.shape, np.nan)
                    continue
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DegenerateDataWarning)
                    out[key] = aggregate(stacked, method=self.method, **self.selection(key)).to_numpy().reshape(B, n)
            return out
        return self._materialised(w, noise)

    def _from_transform(self, t: np.ndarray, w: np.ndarray) -> dict:
        out = {}
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a model without values in a domain
            for key, mask in self.masks.items():
                out[key] = np.nanmean(t[:, :, mask], axis=2) if mask.any() else np.full(w.shape, np.nan)
        return out

    def _transform(self, w: np.ndarray) -> np.ndarray:
        x = self.x
        B, (n, p) = w.shape[0], x.shape
        t = np.full((B, n, p), np.nan)
        cols = range(p)
        if self.method == "rank":  # the metrics every model has: all at once (the same sums, column by column)
            full = np.array([j for j in range(p) if len(self.rank_parts[j][0]) == n], dtype=int)
            if len(full):
                order, start, end = (np.stack([self.rank_parts[j][k] for j in full]) for k in range(3))  # (f, n)
                cs = np.cumsum(w[:, order], axis=2)  # (B, f, n)
                above = np.where(start > 0, np.take_along_axis(cs, np.broadcast_to(np.maximum(start - 1, 0), cs.shape),
                                                               axis=2), 0.0)
                tied = np.take_along_axis(cs, np.broadcast_to(end, cs.shape), axis=2) - above
                t[:, order, full[:, None]] = -(1.0 + above + (tied - 1.0) / 2)
                cols = [j for j in range(p) if j not in set(full.tolist())]
        for j in cols:
            col = x[:, j]
            present = ~np.isnan(col)
            if self.method == "zscore":
                ww = np.where(present, w, 0.0)
                xc = np.where(present, col, 0.0)
                sw = ww.sum(axis=1)
                mu = np.einsum("bn,n->b", ww, xc) / sw
                dev = np.where(present, xc[None, :] - mu[:, None], 0.0)
                sd = np.sqrt(np.einsum("bn,bn,bn->b", ww, dev, dev) / (sw - 1))
                flat = ~(sd > 0)
                z = dev / np.where(flat, 1.0, sd)[:, None]
                z[flat] = 0.0
                t[:, :, j] = np.where(present, z, np.nan)
            else:  # rank: minus the average rank (1 = best) in the materialised resample
                order, _, _ = self.rank_parts[j]
                above, tied = _weighted_desc_rank(w, self.rank_parts[j])
                t[:, order, j] = -(1.0 + above + (tied - 1.0) / 2)
        return t

    def _materialised(self, w: np.ndarray, noise: np.ndarray | None = None) -> dict:
        # Rules without a weighted form: apply aggregate() to the materialised resample.
        out = {k: np.full(w.shape, np.nan) for k in self.keys}
        sc = self.table.scores.loc[self.models]
        st = self.table.status.loc[self.models]
        pos = [sc.columns.get_loc(u) for u in self.units]
        for b in range(w.shape[0]):
            counts = np.rint(w[b]).astype(int)
            idx = np.repeat(np.arange(len(self.models)), counts)
            first = np.concatenate([[0], np.cumsum(counts)[:-1]])
            ids = pd.Index([f"{self.models[i]}#{c}" for i, c in zip(idx, _copy_numbers(counts))], name="model_id")
            scb = sc
            if noise is not None:
                vals = sc.to_numpy(dtype=float, copy=True)
                vals[:, pos] += noise[b]
                scb = pd.DataFrame(vals, index=sc.index, columns=sc.columns)
            sub = ScoreTable(scb.iloc[idx].set_axis(ids), st.iloc[idx].set_axis(ids),
                             pd.DataFrame({"model_name": list(ids)}, index=ids), self.table.tree)
            drawn = counts > 0
            for key in self.keys:
                if key != "all" and not self.masks[key].any():
                    continue
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DegenerateDataWarning)
                    s = aggregate(sub, method=self.method, **self.selection(key))
                out[key][b, drawn] = s.to_numpy()[first[drawn]]
        return out


def _units(table, method, metrics=None):
    if metrics is not None and method != "brainscore":
        return list(metrics)
    probe = table.scores.iloc[:3] if len(table.scores) >= 3 else table.scores
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateDataWarning)
        try:
            return aggregate(table, method=method, models=list(probe.index)).attrs["metrics"]
        except DataError:
            return aggregate(table, method="mean", models=list(probe.index)).attrs["metrics"]


def _subset(table, ids):
    if list(table.scores.index) == list(ids):
        return table
    return table.subset(models=list(ids))


def _copy_numbers(counts):
    return np.concatenate([np.arange(c) for c in counts if c > 0]) if counts.sum() else np.array([], int)


# -- validation and main --------------------------------------------------------------------------
def _validate_compare(table, methods, n_boot, ci, top_k, iia, metric_sensitivity, monotone, models):
    if isinstance(table, pd.DataFrame):
        table = ScoreTable.from_wide(table, aggregates="none")  # a matrix: its columns are metrics
    if not isinstance(table, ScoreTable):
        raise ParameterTypeError(f"table must be a ScoreTable or a DataFrame (models x metrics); "
                                 f"got {type(table).__name__}.")
    if isinstance(methods, str):
        raise ParameterTypeError(f"methods must be a list of rule names, not a string; got {methods!r}.")
    methods = list(methods)
    bad = [m for m in methods if m not in AGGREGATION_METHODS]
    if bad:
        raise ParameterError(f"methods {bad} are not known; use some of {AGGREGATION_METHODS}.")
    if len(methods) < 2 or len(set(methods)) != len(methods):
        raise ParameterError(f"methods must name at least 2 distinct rules; got {methods}.")
    check_n_boot_ci(n_boot, ci)
    if not isinstance(top_k, (int, np.integer)) or isinstance(top_k, bool) or top_k < 1:
        raise ParameterError(f"top_k must be a positive integer; got {top_k!r}.")
    for name, val in (("iia", iia), ("metric_sensitivity", metric_sensitivity)):
        if not isinstance(val, bool):
            raise ParameterTypeError(f"{name} must be True or False; got {val!r}.")
    if not (isinstance(monotone, bool) or callable(monotone)):
        raise ParameterTypeError(f"monotone must be True, False or a strictly increasing function; got {monotone!r}.")
    ids = list(table.scores.index)
    if models is not None:
        models = set(check_labels(models, table.scores.index, name="models", kind="model ids", where="in the table"))
        ids = [m for m in ids if m in models]
    return table, methods, ids


def compare_aggregations(
    table,
    *,
    methods: Sequence[str] = ("brainscore", "mean", "zscore", "rank"),
    n_boot: int = 2000,
    ci: float = 0.95,
    seed: Any = None,
    n_jobs: int = 1,
    top_k: int = 10,
    progress: bool | None = None,
    iia: bool = True,
    metric_sensitivity: bool = True,
    monotone: bool | Callable = True,
    models: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
    ci_method: str = "bca",
    batch_size: int | None = None,
    clusters: Any = None,
    missing: str = "rule_default",
    rank_uncertainty: str = "benchmarks",
    balance_benchmarks: bool = True,
    noise: str | None = None,
    errors: Any = None,
) -> AggregationComparison:
    """Compare rules for aggregating benchmark scores: agreement, rank certainty, balance, properties.

    Parameters
    ----------
    table : ScoreTable or DataFrame
    methods : sequence of str, default=("brainscore", "mean", "zscore", "rank")
        Rules of :func:`~alignfactors.aggregation.aggregate`, each with its default options.
    n_boot : int, default=2000
        Bootstrap resamples over models (0: no intervals).
    ci : float, default=0.95
    seed, n_jobs, progress
        See :func:`alignfactors.resampling.bootstrap`.
    top_k : int, default=10
        Size of the top set for the top-k overlap between rules.
    iia : bool, default=True
        Leave-one-model-out audit of independence of irrelevant alternatives.
    metric_sensitivity : bool, default=True
        Leave-one-metric-out rank correlations.
    monotone : bool or callable, default=True
        Rescale one metric at a time by a strictly increasing function (default ``x**3``)
        and compare the rankings.
    ci_method : {"bca", "percentile"}, default="bca"
        Interval method for agreement and balance over models (the default of every analysis;
        until 0.1 it was "percentile" here).
    batch_size : int, optional
        See :func:`alignfactors.resampling.bootstrap`.
    clusters : None, Series, "families" or "architecture", default=None
        Resampling unit for agreement and balance: None resamples models; otherwise whole
        families are drawn with replacement (see :func:`alignfactors.families.resolve_clusters`).
        Rank intervals never resample models or families.
    missing : {"rule_default"}, default="rule_default"
        Each rule applies its own missing-value policy of :func:`~alignfactors.aggregation.aggregate`
        (``"zero"`` for ``brainscore``, the website's rule; ``"skip"`` for the others); models with
        no score on any selected metric are excluded and counted in ``n_excluded``.
    rank_uncertainty : {"benchmarks", "errors", "both"}, default="benchmarks"
        What the rank intervals resample (:func:`alignfactors.rank_uncertainty.rank_uncertainty`,
        all models kept, ``n_boot`` resamples): benchmarks within the tree (hierarchical rules) or
        within domains (flat rules), scores perturbed by their standard errors, or both.
    balance_benchmarks : bool, default=True
        Also assess balance under benchmark resampling (two schemes, ``n_boot`` resamples each).
    models : sequence of str, optional
        Model ids to compare (e.g. ``clean(table).matrix.index``); default all. Models with no
        score on any selected metric are excluded.
    metrics : sequence of str, optional
        Leaf metrics the rules other than ``brainscore`` aggregate (e.g. ``clean(table).matrix.columns``,
        so every such rule sees the same complete matrix); default: each rule's default selection
        (the neural and behavioral leaves). ``brainscore`` always applies the website's rule to the
        whole tree.
    noise : {None, "errors"}, default=None
        ``"errors"``: in each model resample the leaf scores are also perturbed by their standard
        errors and every rule is re-applied to the perturbed scores, so the agreement and balance
        intervals over models carry score error too (antithetic replicates,
        :func:`alignfactors.resampling.bootstrap`). Leaves whose errors are not standard errors
        (``error_kind="spread_over_subjects"``) are not perturbed (a warning names them). The rank
        intervals have their own option (``rank_uncertainty="errors"`` or ``"both"``); balance under
        benchmark resampling, IIA, metric sensitivity and monotonicity are not perturbed.
        Rules whose score of a model depends on its own scores only are re-applied to all resamples
        of a batch at once; the others one resample at a time (slower). ``options["noise"]``
        records the option.
    errors : DataFrame or ScoreTable, optional
        Standard errors of the leaf scores (models x leaves, the scale of the scores); default
        ``table.errors``. Only with ``noise="errors"``.

    Returns
    -------
    AggregationComparison

    Raises
    ------
    ParameterError, ParameterTypeError
        Unknown method or model, bad option.
    DataError
        Fewer than 3 models with a score.

    Notes
    -----
    In a model resample with counts :math:`w`, each rule is applied to the resampled models with
    their counts (column means, SDs and ranks as on the materialised resample). Kendall's tau-b and
    Spearman's rho between rules are those of the materialised resample. Ranks never get an
    interval from resampling models (a model's score under ``brainscore`` does not depend on the
    others; its rank in a resample would only count the better models drawn): rank intervals
    resample benchmarks and/or score noise with every model kept.

    Balance: each rule's score regressed on its own neural and behavioral sub-aggregates
    :math:`S_N, S_B`; Shapley shares :math:`\\phi_N = \\tfrac12[R^2_N + R^2_{NB} - R^2_B]`. Every rule
    here except ``median_rank``, ``pc1`` and ``copeland`` is linear in them,
    :math:`S = w_N S_N + w_B S_B` with the nominal weights, so :math:`R^2_{NB} = 1` and the
    difference is the closed form :func:`balance_difference` of the effective weights
    :math:`a = w_N SD(S_N)`, :math:`b = w_B SD(S_B)` and :math:`\\rho`:
    :math:`(1 - \\rho^2)(a^2 - b^2)/(a^2 + b^2 + 2\\rho ab)`. ``domain_zscore`` has
    :math:`a = b = 1/2` by construction. IIA: the fraction of pairs of the remaining models whose
    strict order reverses when one model is removed.

    References
    ----------
    .. [1] Arrow, K. J. (1951). Social Choice and Individual Values. Wiley.
    .. [2] Colombo, M., Brandt, F. et al. — see Brandt et al. (2016), Handbook of Computational
       Social Choice. https://doi.org/10.1017/CBO9781107446984
    .. [3] Schrimpf, M. et al. (2020). Integrative benchmarking to advance neurally mechanistic
       models of human intelligence. Neuron 108(3). https://doi.org/10.1016/j.neuron.2020.07.040

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from alignfactors.comparison import compare_aggregations
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame(rng.uniform(size=(12, 4)), columns=["neural_a", "neural_b", "behavior_a", "behavior_b"],
    ...                   index=[f"m{i}" for i in range(12)])
    >>> res = compare_aggregations(df, methods=["mean", "rank"], n_boot=50, seed=0, top_k=3)
    >>> res.ranks.shape
    (12, 2)
    >>> float(res.iia_summary.set_index("method").loc["mean", "mean_fraction"])
    0.0
    """
    check_options(n_boot=n_boot, ci=ci, ci_method=ci_method, seed=seed, n_jobs=n_jobs, batch_size=batch_size,
                  progress=progress, missing=missing, allowed_missing=("rule_default",), where="compare_aggregations")
    names_src = table if hasattr(table, "models") else None
    names = matrix_names(table) if isinstance(table, pd.DataFrame) else None
    err_frame = table_noise_errors(table, noise, errors)
    table, methods, ids = _validate_compare(table, methods, n_boot, ci, top_k, iia, metric_sensitivity,
                                            monotone, models)
    rank_resample = rank_uncertainty
    if rank_resample not in RESAMPLE_OPTIONS:
        raise ParameterError(f"rank_uncertainty={rank_resample!r} is not known; use one of {RESAMPLE_OPTIONS} "
                             "(rank intervals never come from resampling the ranked models).")
    if metrics is not None:
        metrics = check_labels(metrics, table.scores.columns, name="metrics", kind="metric names",
                               where="columns of the table", hint="pass leaf benchmark names")
    units = list(dict.fromkeys(u for m in methods for u in _units(table, m, metrics)))
    has = table.scores.loc[ids, units].notna().any(axis=1)
    excluded = [m for m in ids if not has[m]]
    ids = [m for m in ids if has[m]]
    if len(ids) < 3:
        raise DataError(f"compare_aggregations needs at least 3 models with a score; got {len(ids)}.")
    codes, unit = cluster_codes(clusters, ids, table=names_src, names=names, known=table.scores.index)
    table = _subset(table, ids)
    scorers = {m: _Scorer(table, m, ids, metrics) for m in methods}
    n = len(ids)
    ones = np.ones((1, n))
    full = {m: scorers[m](ones) for m in methods}
    scores = pd.DataFrame({m: full[m]["all"][0] for m in methods}, index=pd.Index(ids, name="model_id"))
    ranks = pd.DataFrame({m: rank_models(scores[m]) for m in methods}, index=scores.index)
    pairs = list(itertools.combinations(methods, 2))
    k_eff = min(top_k, n)
    noisy = {}
    if err_frame is not None:  # standard errors of every unit any rule uses (0 where none)
        units = list(dict.fromkeys(u for m in methods for u in scorers[m].units))
        se = err_frame.reindex(index=[str(i) for i in ids], columns=[str(u) for u in units]).to_numpy(dtype=float)
        without = [u for j, u in enumerate(units) if not np.isfinite(se[:, j]).any()]
        if without:
            warnings.warn(f"noise='errors': no perturbation for {len(without)} leaves without errors (e.g. "
                          f"{without[:3]}).", DegenerateDataWarning, stacklevel=2)
        noisy = {"noise": np.nan_to_num(se, nan=0.0)}
        cols_of = {m: [units.index(u) for u in scorers[m].units] for m in methods}

    index = {m: i for i, m in enumerate(methods)}

    def statistic(w, noise=None):
        B = len(w)
        sc = {m: scorers[m](w) if noise is None else scorers[m](w, noise[:, :, cols_of[m]]) for m in methods}
        rk, level, tied = {}, {}, {}
        for m in methods:  # each rule's rank of every drawn model, all resamples at once
            rk[m], level[m], tied[m] = _batched_ranks(sc[m]["all"], w)
        agree = np.full((B, 3 * len(pairs)), np.nan)
        clean = np.logical_and.reduce([(np.isfinite(sc[m]["all"]) | (w <= 0)).all(axis=1) for m in methods])
        rows = np.flatnonzero(clean)  # every rule scores every drawn model: Kendall and top-k batched
        if len(rows):
            wc = w[rows]
            taus = _batched_kendall([level[m][rows] for m in methods], wc, [tied[m][rows] for m in methods])
            tops = {m: _batched_topk(sc[m]["all"][rows], wc, k_eff) for m in methods}
            for j, (a, b) in enumerate(pairs):
                agree[rows, 3 * j] = taus[:, index[a], index[b]]
                agree[rows, 3 * j + 2] = _batched_topk_overlap(tops[a][0], tops[b][0], tops[a][1], k_eff)
        for i in np.flatnonzero(~clean):  # a rule without a score for a drawn model: pair by pair
            drawn = np.flatnonzero(w[i] > 0)
            wi = w[i, drawn]
            signs = {m: _resample_view(sc[m]["all"][i, drawn], wi)[1] for m in methods}
            for j, (a, b) in enumerate(pairs):
                agree[i, 3 * j] = _wkendall(signs[a], signs[b], wi)
                agree[i, 3 * j + 2] = _topk_overlap(sc[a]["all"][i, drawn], sc[b]["all"][i, drawn], k_eff)
        for j, (a, b) in enumerate(pairs):
            # Spearman = weighted Pearson of the average ranks in the materialised resample
            agree[:, 3 * j + 1] = _wcorr(rk[a] + (w - 1) / 2, rk[b] + (w - 1) / 2, w)
        cols = [agree]
        for m in methods:
            s, nn, bb = sc[m]["all"], sc[m]["neural"], sc[m]["behavioral"]
            cols.append(_balance_columns(s, nn, bb, w, scorers[m].nominal))
        return np.hstack(cols)

    statistic.batch_size = 16
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", DegenerateDataWarning)
        res = bootstrap(statistic, n, n_boot=n_boot, ci=ci, method=ci_method, seed=seed, n_jobs=n_jobs,
                        batch_size=batch_size, progress=progress, clusters=codes, unit=unit, **noisy)
    est = list(res.estimates)
    names = []
    for a, b in pairs:
        names += [f"{meas}:{a}~{b}" for meas in ("kendall", "spearman", "top_k")]
    for m in methods:
        names += [f"{q}:{m}" for q in _BAL_NAMES]
    estimates = dict(zip(names, est[: len(names)]))
    linear = {m: _is_linear(full[m], scorers[m].nominal) for m in methods}
    for m in methods:
        if linear[m]:  # the score is an exact linear function of its two sub-aggregates: stated, not bootstrapped
            estimates[f"r2_joint:{m}"] = Estimate(1.0, level=ci, method="identity")

    agreement = pd.DataFrame([
        {"method_a": a, "method_b": b, "measure": meas, "value": e.value, "ci_low": e.ci[0], "ci_high": e.ci[1],
         "se": e.se, "ci_method": e.method, "n_undefined": e.n_undefined}
        for (a, b) in pairs for meas in ("kendall", "spearman", "top_k")
        for e in [estimates[f"{meas}:{a}~{b}"]]])

    p_best = _p_best({m: estimates[f"difference:{m}"].distribution for m in methods}, methods, n_boot)
    # each rule's benchmark resampling starts from the seed itself (a Generator: from its SeedSequence, not
    # its advancing state), so every rule gets the same stream whether the rules run in turn or in parallel
    bench_seed = root_seed(seed) if isinstance(seed, np.random.Generator) else seed
    # balance needs both domains: a leaderboard without neural and behavioral metrics has none to audit
    two_domains = all(any(scorers[m].masks[d].any() for m in methods) for d in _DOMAINS)
    rank_kw = dict(resample=rank_resample, n_boot=n_boot, ci=ci, seed=bench_seed, models=ids, metrics=metrics,
                   top=k_eff)
    # the audits are independent tasks, each rule's with its own streams of the seed: run one after another
    # or in n_jobs workers, with the same numbers
    bench_jobs = _benchmark_jobs(table, methods, ids, scorers, n_boot, bench_seed) \
        if n_boot and balance_benchmarks and two_domains else []
    tasks = [(("bench", key), job) for key, job in bench_jobs]
    tasks += [(("rank", m), (_rank_uncertainty, (table,), dict(method=m, **rank_kw))) for m in methods]
    if iia:
        tasks += [(("iia", m), (_iia_rule, (scorers[m], m, ids, full[m]["all"][0]))) for m in methods]
    if metric_sensitivity:
        tasks += [(("sens", m), (_leave_metric_out_rule, (table, m, scorers[m].units, scores[m]))) for m in methods]
    if monotone is not False:
        f, mono_units = _monotone_f(monotone), _monotone_units(methods, scorers)
        tasks += [(("mono", m), (_monotone_rule, (table, m, scorers[m], f, mono_units, scores[m]))) for m in methods]
    done = dict(zip([k for k, _ in tasks], _run_tasks([t for _, t in tasks], n_jobs)))
    bench = _benchmark_summary([k for k, _ in bench_jobs], [done[("bench", k)] for k, _ in bench_jobs], methods,
                               n_boot, ci) if bench_jobs else None
    brows = []
    for m in methods:
        row = {"method": m, "linear": linear[m], "weight_neural": scorers[m].nominal["neural"],
               "weight_behavioral": scorers[m].nominal["behavioral"]}
        for q in _BAL_NAMES:
            row[q] = estimates[f"{q}:{m}"].value
        d = estimates[f"difference:{m}"]
        row.update({"diff_ci_low": d.ci[0], "diff_ci_high": d.ci[1], "p_best": p_best[m]})
        if bench is not None:
            row.update({k: v for k, v in bench[m].items() if not k.startswith("_dist_")})
            for scheme in ("domain", "tree"):
                d = bench[m][f"_dist_{scheme}"]
                estimates[f"difference_{scheme}:{m}"] = Estimate(
                    estimates[f"difference:{m}"].value, (row[f"diff_{scheme}_low"], row[f"diff_{scheme}_high"]),
                    se=float(np.nanstd(d, ddof=1)) if len(d) > 1 else math.nan, level=ci,
                    method=f"percentile (benchmarks resampled: {scheme})", n_boot=n_boot,
                    n_undefined=int(np.isnan(d).sum()), distribution=d)
        brows.append(row)
    balance = pd.DataFrame(brows)
    absdiff = balance["difference"].abs()
    best_balance = str(balance.loc[absdiff.idxmin(), "method"]) if absdiff.notna().any() else ""

    uncertainty = {m: done[("rank", m)] for m in methods}
    rank_intervals = pd.concat([u.to_frame() for u in uncertainty.values()], ignore_index=True)
    iia_df, iia_sum = _iia_summary([r for m in methods for r in done[("iia", m)]]) if iia else (None, None)
    sens = pd.DataFrame([r for m in methods for r in done[("sens", m)]]) if metric_sensitivity else None
    mono = _monotone_frame([done[("mono", m)] for m in methods]) if monotone is not False else None
    options = provenance(n_boot=n_boot, ci=ci, ci_method=ci_method, seed=seed, unit=unit, n_units=res.n_units,
                         n=n, missing=missing, clusters=clusters)
    if noise is not None:
        options["noise"] = noise
    return AggregationComparison(methods, scores, ranks, agreement, rank_intervals, balance, best_balance,
                                 iia_df, iia_sum, sens, mono, estimates, n, len(excluded), n_boot, ci, k_eff, seed,
                                 options, uncertainty, rank_resample)
