"""How sure is a leaderboard's ranking? Rank intervals from the choice of benchmarks and score noise.

A model's rank is decided by its scores and by which benchmarks the leaderboard happens to
contain, not by which *other models* were submitted: resampling the ranked models gives the
top model the interval [1, 1] whatever the gaps (in a resample, a rank only counts the better
models that happen to be drawn). :func:`rank_uncertainty` keeps every model and resamples what
decides the ranking:

- ``resample="benchmarks"``: the benchmark lottery (Dehghani et al. 2021). For a hierarchical
  rule (``brainscore``, ``domain_zscore``), within every node of the benchmark tree that belongs
  to one domain, the node's children are drawn with replacement (a nested bootstrap: at every
  level of the tree); the children of a node spanning several domains (``average_vision`` =
  neural + behavioral) are kept, so every domain keeps its weight. A flat rule, or a flat
  table (no parents), draws its metrics with replacement within each domain (``scheme=``).
- ``resample="errors"``: measurement error. Every score with a standard error
  (``table.errors`` for benchmarks whose ``error_kind`` is ``"standard_error"``) is replaced by
  ``score + error * N(0, 1)``, independently.
- ``resample="both"``: both at once.

The rule is re-applied to every resample (for ``zscore``/``rank`` the per-metric
standardisation and ranks are recomputed on the perturbed scores). From the resampled scores:
each model's marginal rank interval and P(rank 1), the probability that each adjacent pair of
the leaderboard keeps its order, and simultaneous rank confidence intervals for all models
(Mogstad, Romano, Shaikh & Wilhelm 2024, bootstrap max-t version) with the set of models
that could be the best.

The engine (:func:`alignfactors.resampling.bootstrap`) resamples models; this module draws its
own resamples of benchmarks and noise (a stratified, nested scheme the engine does not offer),
all from one ``numpy.random.Generator``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, replace
from typing import Any, Sequence

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from ._formatting import json_number, markdown_table, text_table
from .aggregation import (_MANY, AGGREGATION_METHODS, _VIRTUAL_ROOT, _compute, _compute_many, _pruned_tree,
                          _validate_aggregate, rank_models)
from .errors import DataError, DegenerateDataWarning, ParameterError, ParameterTypeError
from .resampling import _counts, check_n_boot_ci, check_seed
from .io.table import ScoreTable

__all__ = ["rank_uncertainty", "RankUncertainty", "RESAMPLE_OPTIONS", "simultaneous_rank_intervals", "best_set"]

#: Values of ``resample``: what the rank intervals carry.
RESAMPLE_OPTIONS = ("benchmarks", "errors", "both")
_CHUNK = 256  # benchmark resamples scored at once (memory: chunk x models x metrics floats)
_CARRIES = {
    "benchmarks": "choice of benchmarks (children resampled within each tree node of a domain; all models kept)",
    "errors": "score measurement error (scores perturbed by their standard errors; benchmarks and models fixed)",
    "both": "choice of benchmarks and score measurement error (all models kept)",
}


@dataclass(frozen=True)
class RankUncertainty:
    """Result of :func:`rank_uncertainty`.

    Attributes
    ----------
    method, resample : str
        The aggregation rule and what was resampled (one of :data:`RESAMPLE_OPTIONS`).
    carries : str
        One sentence: the uncertainty the intervals carry.
    intervals : DataFrame
        One row per model, by rank: model_id, score, rank, ci_low, ci_high (marginal percentile
        interval of the rank), p_rank1, sim_low, sim_high (simultaneous interval, all models),
        could_be_best (sim_low == 1), group (consecutive models whose simultaneous intervals
        overlap the group's first model's).
    pairs : DataFrame
        Adjacent pairs of the leaderboard: rank, model_id (the better one), next_model_id,
        p_ordered (share of resamples in which the better one still scores higher).
    best_set : list of str
        Confidence set for the best model (:func:`best_set`, one-sided over all pairs).
    critical_value, critical_value_best : float
        The max-t critical values of the simultaneous intervals and of the best set.
    n_family : int
        Models covered by the simultaneous intervals.
    resampled_nodes : list of str
        Nodes whose children were drawn with replacement (``"<domain> (flat)"`` for a flat table).
    n_perturbed, n_unperturbed : int
        Scores perturbed by their errors; present scores without a usable error (kept fixed).
    """

    method: str
    resample: str
    carries: str
    intervals: pd.DataFrame
    pairs: pd.DataFrame
    best_set: list
    critical_value: float
    critical_value_best: float
    n_family: int
    resampled_nodes: list
    n_perturbed: int
    n_unperturbed: int
    n_models: int
    n_boot: int
    level: float
    seed: Any = None

    def top(self, k: int = 5) -> pd.DataFrame:
        """The first ``k`` rows of :attr:`intervals`."""
        return self.intervals.head(k)

    def to_frame(self) -> pd.DataFrame:
        """:attr:`intervals` with the method and what was resampled."""
        out = self.intervals.copy()
        out.insert(0, "method", self.method)
        out.insert(1, "resampled", self.resample)
        return out

    def _head(self) -> str:
        if self.n_boot == 0:
            return (f"Ranks of {self.n_models} models under {self.method!r}; no resamples (n_boot=0), so no "
                    "rank intervals.")
        return (f"Rank uncertainty of {self.n_models} models under {self.method!r}: {self.n_boot} resamples of the "
                f"{self.carries}; {self.level:.0%} intervals (marginal: percentile; simultaneous over the top "
                f"{self.n_family}: max-t critical value {self.critical_value:.2f}). Confidence set for the best "
                f"({len(self.best_set)} models): {', '.join(self.best_set[:12])}{' ...' if len(self.best_set) > 12 else ''}.")

    def summary(self, k: int = 10) -> str:
        return "\n\n".join([self._head(), text_table(self.top(k)), "Adjacent pairs kept in order:",
                            text_table(self.pairs.head(k))])

    def to_markdown(self, k: int = 10) -> str:
        return "\n\n".join([self._head(), markdown_table(self.top(k)), markdown_table(self.pairs.head(k))])

    def to_dict(self) -> dict:
        def records(df):
            return [{k: json_number(v) for k, v in r.items()} for r in df.to_dict(orient="records")]

        return {"method": self.method, "resample": self.resample, "carries": self.carries,
                "n_models": int(self.n_models), "n_boot": int(self.n_boot), "level": float(self.level),
                "seed": self.seed if isinstance(self.seed, (int, type(None))) else repr(self.seed),
                "critical_value": json_number(self.critical_value),
                "critical_value_best": json_number(self.critical_value_best), "n_family": int(self.n_family),
                "best_set": list(self.best_set),
                "resampled_nodes": list(self.resampled_nodes), "n_perturbed": int(self.n_perturbed),
                "n_unperturbed": int(self.n_unperturbed),
                "intervals": records(self.intervals), "pairs": records(self.pairs)}

    def __str__(self) -> str:
        return self.summary()


# -- the resampler ------------------------------------------------------------------------------
class _Resampler:
    """Scores of every model under a rule, for resampled benchmarks and perturbed scores.

    ``scheme="tree"``: the draw is made on the benchmark tree pruned to the leaves the rule
    uses: every node inside one domain draws its children with replacement; a hierarchical
    rule takes the counts as node weights, a flat rule each leaf's number of copies in the
    materialised nested resample (the product of the counts along its path). ``"domain"``:
    the leaves are drawn with replacement within each domain (also the fallback for a table
    without parents inside a domain). ``"rule"``: "tree" for a hierarchical rule, "domain" for
    a flat one (a flat rule treats its leaves as exchangeable). Rules on the same leaves with
    the same scheme see the same draws for the same seed.
    """

    def __init__(self, table: ScoreTable, method: str, models: list, selection: dict, resample: str, error_kinds,
                 scheme: str = "rule"):
        self.table = table
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DegenerateDataWarning)
            _, self.plan, x = _validate_aggregate(table, method, None, None, None, selection.get("domains"),
                                                  selection.get("metrics"), models, None, False, None)
        self.models = list(models)
        self.x = x
        self.zero = self.plan.missing == "zero"
        self.scheme = scheme if scheme != "rule" else ("tree" if self.plan.hierarchical else "domain")
        self.children, self.groups = self._groups() if resample in ("benchmarks", "both") else ({}, [])
        self.sigma = None
        self.n_perturbed = self.n_unperturbed = 0
        if resample in ("errors", "both"):
            self.sigma = self._sigma(error_kinds)

    def _groups(self):
        """(node, children) whose children are drawn with replacement, over the pruned tree."""
        tree, units = self.table.tree, self.plan.units
        children, _ = _pruned_tree(tree, units, None) if self.scheme == "tree" else ({}, None)
        out = []
        for node, kids in children.items():
            if len(kids) < 2 or node == _VIRTUAL_ROOT:
                continue
            doms = {tree.domain(u) for u in _leaves(children, node)}
            if len(doms) == 1 and None not in doms:
                out.append((node, list(kids)))
        if not out:  # no parent inside a domain: draw the leaves within each domain
            by: dict = {}
            for u in units:
                by.setdefault(tree.domain(u) or "other", []).append(u)
            children = {f"{d} (flat)": kids for d, kids in by.items()}
            out = [(f"{d} (flat)", kids) for d, kids in by.items() if len(kids) > 1]
        return children, out

    def _sigma(self, error_kinds):
        t = self.table
        if t.errors is None:
            raise DataError(
                f"resample='errors' needs the scores' standard errors, but the table ({t.source}) has none "
                "(table.errors is None). Load a source with errors (e.g. the Brain-Score snapshot JSON) or "
                "use resample='benchmarks'.")
        units = self.plan.units
        err = t.errors.loc[self.models, units].to_numpy(dtype=float)
        kinds = t.benchmarks["error_kind"].reindex(units).fillna("none").to_numpy() \
            if getattr(t, "benchmarks", None) is not None else np.full(len(units), "unknown")
        use = np.isin(kinds, list(error_kinds))
        sig = np.where(use[None, :] & np.isfinite(err) & (err >= 0), err, np.nan)
        present = np.isfinite(self.x)
        self.n_perturbed = int((present & np.isfinite(sig)).sum())
        self.n_unperturbed = int((present & ~np.isfinite(sig)).sum())
        if self.n_perturbed == 0:
            raise DataError(
                f"resample='errors': none of the {len(units)} benchmarks used by the rule has a usable standard "
                f"error (error_kind in {tuple(error_kinds)}); kinds found: {sorted(set(kinds))}.")
        return np.where(present, np.nan_to_num(sig, nan=0.0), 0.0)

    def draw(self, rng: np.random.Generator):
        """One resample: (node -> count of draws, standard normal noise or None)."""
        counts = {}
        for node, kids in self.groups:
            c = np.bincount(rng.integers(0, len(kids), len(kids)), minlength=len(kids))
            counts.update(zip(kids, c.astype(float)))
        noise = rng.standard_normal(self.x.shape) if self.sigma is not None else None
        return counts, noise

    def _weights(self, plan, counts):
        if not counts:
            return plan
        w = dict(plan.weights)
        if plan.hierarchical:
            for k, c in counts.items():
                w[k] = plan.weights.get(k, 1.0) * c
        else:  # copies of each leaf in the materialised nested resample
            parent = {k: p for p, kids in self.children.items() for k in kids}
            for u in plan.units:
                m, node = 1.0, u
                while node in parent:
                    m *= counts.get(node, 1.0)
                    node = parent[node]
                w[u] = plan.weights.get(u, 1.0) * m
        return replace(plan, weights=w)

    def scores(self, draw=None, plan=None, cols=None) -> np.ndarray:
        """Scores under ``draw`` (None: the original data) with this rule's plan, or with ``plan``
        over the columns ``cols`` of the leaf matrix (a sub-aggregate on the same draw)."""
        plan = self.plan if plan is None else plan
        counts, noise = draw if draw is not None else ({}, None)
        x = self._leaf_matrix(cols, None if noise is None else noise[None])
        return self._score(x if noise is None else x[0], self._weights(plan, counts), None)

    def draw_many(self, rng: np.random.Generator, k: int):
        """``k`` resamples at once: (node -> counts (k,), standard normal noise (k, n, p) or None).
        Each node's children are drawn with replacement, as :meth:`draw` does one at a time."""
        counts = {}
        for node, kids in self.groups:
            c = _counts(rng.integers(0, len(kids), (k, len(kids))), len(kids))
            counts.update({kid: c[:, j] for j, kid in enumerate(kids)})
        noise = rng.standard_normal((k, *self.x.shape)) if self.sigma is not None else None
        return counts, noise

    def scores_many(self, draws, plan=None, cols=None) -> np.ndarray:
        """:meth:`scores` of many draws at once, (B, n): ``draws`` is a list of :meth:`draw` results
        or one :meth:`draw_many` result. The node weights become arrays over the draws
        (:func:`alignfactors.aggregation._compute_many`); rules without a batched form are scored
        draw by draw."""
        plan = self.plan if plan is None else plan
        if isinstance(draws, tuple):  # one draw_many batch
            counts, noise = draws
            b = len(next(iter(counts.values()))) if counts else len(noise)
        else:  # a list of draw() results, stacked into one batch
            b = len(draws)
            if b == 0:
                return np.empty((0, len(self.models)))
            counts = {k: np.array([d[0][k] for d in draws]) for k in draws[0][0]}
            noise = None if draws[0][1] is None else np.stack([d[1] for d in draws])
        if plan.method not in _MANY:
            return np.stack([self.scores(({k: v[i] for k, v in counts.items()},
                                          None if noise is None else noise[i]), plan, cols) for i in range(b)])
        return self._score(self._leaf_matrix(cols, noise), self._weights(plan, counts), b)

    def _leaf_matrix(self, cols, noise=None):
        """The leaf matrix (columns ``cols``; all when None), (n, p); with ``noise`` (B, n, p) of
        standard normal draws, each draw's perturbed copy x + noise * standard error, (B, n, p)."""
        x = self.x if cols is None else self.x[:, cols]
        if noise is None:
            return x
        sig = self.sigma if cols is None else self.sigma[:, cols]
        return x[None] + sig[None] * (noise if cols is None else noise[:, :, cols])

    def _score(self, x, plan, n_draws):
        """The rule on the leaf matrix, missing cells and the geometric floor as aggregate() treats
        them: one draw (``n_draws`` None, :func:`_compute`) or a batch (:func:`_compute_many`)."""
        if plan.missing == "zero":
            x = np.where(np.isnan(x), 0.0, x)
        if plan.method == "geometric":
            x = np.maximum(x, plan.geometric_floor or np.finfo(float).tiny)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", DegenerateDataWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            if n_draws is None:
                return _compute(x, plan, self.table.tree)
            return _compute_many(x, plan, self.table.tree, n_draws)


def _leaves(children, node):
    kids = children.get(node)
    if kids is None:
        return [node]
    return [u for k in kids for u in _leaves(children, k)]


# -- inference on ranks -------------------------------------------------------------------------
def _ranks(s: np.ndarray) -> np.ndarray:
    """Average ranks, 1 = highest score, along the last axis (NaN scores rank last)."""
    from scipy.stats import rankdata

    return rankdata(-np.where(np.isnan(s), -np.inf, s), axis=-1, method="average")


def _pair_sd(d: np.ndarray) -> np.ndarray:
    cov = np.cov(d, rowvar=False)
    v = np.diag(cov)
    return np.sqrt(np.maximum(v[:, None] + v[None, :] - 2 * cov, 0.0))


def simultaneous_rank_intervals(scores: np.ndarray, dist: np.ndarray, level: float = 0.95,
                                family: Sequence[int] | None = None, chunk: int | None = None):
    r"""Simultaneous rank intervals of a family of models from bootstrap replicates of the scores.

    The bootstrap version of Mogstad, Romano, Shaikh & Wilhelm (2024), two-sided: with
    :math:`\hat\sigma_{jk}` the bootstrap SD of :math:`s^*_j - s^*_k` and :math:`c` the
    ``level`` quantile of :math:`\max_{j \in J, k \ne j} |(s^*_j - s^*_k) - (\hat s_j - \hat s_k)|
    / \hat\sigma_{jk}`, model j is certainly worse than k when
    :math:`\hat s_k - \hat s_j > c \hat\sigma_{jk}` (and certainly better in the mirror case),
    and the ranks of all j in J lie in ``[1 + #certainly better, n - #certainly worse]`` at once
    with probability ``level`` (asymptotically). Pairs with :math:`\hat\sigma_{jk} = 0` are
    ordered only when their scores differ.

    Parameters
    ----------
    scores : ndarray (n,)
        Scores on the original data (higher = better).
    dist : ndarray (B, n)
        Bootstrap replicates of the scores.
    level : float
    family : sequence of int, optional
        Indices J of the models whose ranks are covered jointly; default all.

    Returns
    -------
    low, high : ndarray (n,)
        Simultaneous rank bounds (1 = best); NaN outside the family.
    c : float
        The critical value.

    References
    ----------
    .. [1] Mogstad, M., Romano, J. P., Shaikh, A. M. & Wilhelm, D. (2024). Inference for ranks
       with applications to mobility across neighbourhoods and academic achievement across
       countries. Review of Economic Studies 91(1), 476-518. https://doi.org/10.1093/restud/rdad006

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> s = np.array([3.0, 2.0, 1.9, 0.0])
    >>> d = s + rng.normal(0, 0.05, (500, 4))
    >>> lo, hi, c = simultaneous_rank_intervals(s, d)
    >>> lo.tolist(), hi.tolist()
    ([1.0, 2.0, 2.0, 4.0], [1.0, 3.0, 3.0, 4.0])
    """
    s = np.asarray(scores, float)
    d = np.asarray(dist, float)
    return _simultaneous(s, d, _pair_sd(d) if d.shape[0] >= 2 else None, level, family, chunk)


def _simultaneous(s, d, sd, level, family, chunk):
    """:func:`simultaneous_rank_intervals` with the pair SDs ``sd`` of :func:`_pair_sd` given."""
    n = s.size
    fam = np.arange(n) if family is None else np.asarray(family, int)
    low, high = np.full(n, np.nan), np.full(n, np.nan)
    if d.shape[0] < 2:
        return low, high, math.nan
    tiny = 1e-12 * max(1.0, float(np.nanmax(np.abs(s))))
    ok = sd > tiny
    dev = d - s[None, :]
    inv = np.where(ok, 1.0 / np.where(ok, sd, 1.0), 0.0)  # a pair without spread counts 0
    chunk = chunk or max(1, int(2e6 // (d.shape[0] * n)))  # (B, chunk, n) blocks of ~16 MB: in cache, in place
    tmax = np.zeros(d.shape[0])
    for j0 in range(0, len(fam), chunk):
        js = fam[j0:j0 + chunk]
        diff = dev[:, js, None] - dev[:, None, :]  # (B, c, n)
        np.abs(diff, out=diff)
        diff *= inv[js]
        np.maximum(tmax, diff.max(axis=(1, 2)), out=tmax)
    c = float(np.quantile(tmax, level))
    gap = s[None, :] - s[fam, None]  # gap[j, k] = s_k - s_j, j in the family
    thr = np.where(ok[fam], c * sd[fam], tiny)
    low[fam] = 1.0 + (gap > thr).sum(axis=1)
    high[fam] = float(n) - (-gap > thr).sum(axis=1)
    return low, high, c


def best_set(scores: np.ndarray, dist: np.ndarray, level: float = 0.95, tau: int = 1, chunk: int | None = None):
    r"""Confidence set for the ``tau`` best models (Mogstad et al. 2024, the "tau-best").

    One-sided bootstrap max-t over all ordered pairs: model k is certainly better than j when
    :math:`\hat s_k - \hat s_j > c_1 \hat\sigma_{jk}` with :math:`c_1` the ``level`` quantile of
    :math:`\max_{j \ne k} [(s^*_k - s^*_j) - (\hat s_k - \hat s_j)] / \hat\sigma_{jk}`; the set
    holds every model with fewer than ``tau`` models certainly better, and contains all of the
    true ``tau`` best with probability ``level`` (asymptotically). Returns (indices, c_1).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> s = np.array([3.0, 2.99, 1.0, 0.0])
    >>> best_set(s, s + rng.normal(0, 0.05, (500, 4)))[0].tolist()
    [0, 1]
    """
    s = np.asarray(scores, float)
    d = np.asarray(dist, float)
    return _best_set(s, d, _pair_sd(d) if d.shape[0] >= 2 else None, level, tau, chunk)


def _best_set(s, d, sd, level, tau, chunk):
    """:func:`best_set` with the pair SDs ``sd`` of :func:`_pair_sd` given."""
    n = s.size
    if d.shape[0] < 2:
        return np.arange(n), math.nan
    tiny = 1e-12 * max(1.0, float(np.nanmax(np.abs(s))))
    ok = sd > tiny
    dev = d - s[None, :]
    inv = np.where(ok, 1.0 / np.where(ok, sd, 1.0), 0.0)
    off = ok.copy()
    np.fill_diagonal(off, False)
    if chunk is None and off.any() and np.array_equal(inv, inv.T):
        tmax = _max_abs_t(dev, inv)
    else:
        skip = np.where(ok, 0.0, -np.inf)  # a pair without spread never attains the max
        chunk = chunk or max(1, int(2e6 // (d.shape[0] * n)))  # (B, chunk, n) blocks of ~16 MB: in cache, in place
        tmax = np.full(d.shape[0], -np.inf)
        for j0 in range(0, n, chunk):
            js = slice(j0, min(n, j0 + chunk))
            diff = dev[:, None, :] - dev[:, js, None]  # (s*_k - s_k) - (s*_j - s_j)
            diff *= inv[js]
            diff += skip[js]
            np.maximum(tmax, diff.max(axis=(1, 2)), out=tmax)
    c = float(np.quantile(tmax, level))
    gap = s[None, :] - s[:, None]
    better = (gap > np.where(ok, c * sd, tiny)).sum(axis=1)
    return np.flatnonzero(better < tau), c


def _max_abs_t(dev: np.ndarray, inv: np.ndarray, rows: int = 128, cells: int = 1 << 16) -> np.ndarray:
    """Per resample, the max over ordered pairs j != k of ``(dev_k - dev_j) * inv_jk`` when ``inv`` is
    symmetric (as the pair SDs of :func:`_pair_sd` are) and some pair has spread: the pair (k, j)
    then gives exactly the negated value, so the max is that of ``|dev_k - dev_j| * inv_jk`` over
    k >= j (a pair without spread, inv 0, gives 0, below the max, which is >= 0). Blocks of
    ``rows`` resamples x a few j x the k >= j fit in cache; the same numbers as the full sweep."""
    B, n = dev.shape
    tmax = np.full(B, -np.inf)
    c = max(1, cells // (rows * n))
    buf = np.empty(min(rows, B) * c * n)
    for b0 in range(0, B, rows):
        dv = dev[b0:b0 + rows]
        out = tmax[b0:b0 + rows]
        for j0 in range(0, n, c):
            j1 = min(n, j0 + c)
            diff = buf[:len(dv) * (j1 - j0) * (n - j0)].reshape(len(dv), j1 - j0, n - j0)
            np.subtract(dv[:, None, j0:], dv[:, j0:j1, None], out=diff)
            np.abs(diff, out=diff)
            diff *= inv[j0:j1, j0:]
            np.maximum(out, diff.max(axis=(1, 2)), out=out)
    return tmax


def _validate(table, method, resample, n_boot, ci, models, metrics, error_kinds):
    if isinstance(table, pd.DataFrame):
        table = ScoreTable.from_wide(table)
    if not isinstance(table, ScoreTable):
        raise ParameterTypeError(f"table must be a ScoreTable or a DataFrame (models x metrics); "
                                 f"got {type(table).__name__}.")
    if method not in AGGREGATION_METHODS:
        raise ParameterError(f"method={method!r} is not known; use one of {AGGREGATION_METHODS}.")
    if resample not in RESAMPLE_OPTIONS:
        raise ParameterError(f"resample={resample!r} is not known; use one of {RESAMPLE_OPTIONS} (a ranking never "
                             "gets an interval from resampling the ranked models).")
    check_n_boot_ci(n_boot, ci)
    if isinstance(error_kinds, str):
        raise ParameterTypeError(f"error_kinds must be a list of error kinds, e.g. ['standard_error']; got "
                                 f"{error_kinds!r}.")
    return table


def rank_uncertainty(
    table,
    *,
    method: str = "brainscore",
    resample: str = "benchmarks",
    n_boot: int = 2000,
    ci: float = 0.95,
    seed: Any = None,
    models: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
    error_kinds: Sequence[str] = ("standard_error",),
    top: int = 10,
    scheme: str = "rule",
) -> RankUncertainty:
    """Rank intervals, P(rank 1) and simultaneous rank confidence sets from benchmarks and noise.

    Parameters
    ----------
    table : ScoreTable or DataFrame
    method : str, default="brainscore"
        Rule of :func:`~alignfactors.aggregation.aggregate` (its default options).
    resample : {"benchmarks", "errors", "both"}, default="benchmarks"
        What the intervals carry (see the module docstring). All models are always kept.
    n_boot : int, default=2000
        Resamples (0: ranks only, no intervals).
    ci : float, default=0.95
    seed : None, int or Generator
        Decides every draw.
    models : sequence of str, optional
        Models to rank (e.g. ``clean(table).matrix.index``); default all.
    metrics : sequence of str, optional
        Leaves the rule aggregates (not ``brainscore``, which always uses the whole tree).
    error_kinds : sequence of str, default=("standard_error",)
        ``table.benchmarks["error_kind"]`` values whose errors are used as standard errors;
        other scores are kept fixed (counted in ``n_unperturbed``).
    scheme : {"rule", "tree", "domain"}, default="rule"
        How benchmarks are drawn: ``"tree"`` within every node of the tree that lies inside one
        domain (nested, at every level); ``"domain"``: leaves within each domain; ``"rule"``:
        "tree" for a hierarchical rule (``brainscore``, ``domain_zscore``), "domain" for a flat one.
    top : int, default=10
        Size of the family J of the simultaneous intervals: the ``top`` best models on the
        observed scores (J is chosen on the data; the intervals are simultaneous given J).

    Returns
    -------
    RankUncertainty

    Raises
    ------
    ParameterError, ParameterTypeError
        Unknown method or resample option, bad n_boot/ci.
    DataError
        ``resample`` needs errors and the table has none usable; fewer than 2 models.

    Notes
    -----
    Marginal interval: percentiles of the model's rank over resamples (average ranks for
    ties). P(rank 1): share of resamples in which the model has the highest score (a tie for
    the top counts 1/k for each of the k tied models). Pair
    order: share of resamples in which the leaderboard's better model of an adjacent pair
    still scores strictly higher. Simultaneous intervals: :func:`simultaneous_rank_intervals`.

    References
    ----------
    .. [1] Dehghani, M. et al. (2021). The benchmark lottery. arXiv:2107.07002.
    .. [2] Mogstad, M., Romano, J. P., Shaikh, A. M. & Wilhelm, D. (2024). Inference for ranks.
       Review of Economic Studies 91(1), 476-518. https://doi.org/10.1093/restud/rdad006
    .. [3] Davison, A. C. & Hinkley, D. V. (1997). Bootstrap Methods and their Application,
       section 3.8 (multistage sampling). Cambridge University Press.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame(rng.uniform(size=(8, 6)), index=[f"m{i}" for i in range(8)],
    ...                   columns=[f"neural_{i}" for i in range(3)] + [f"behavior_{i}" for i in range(3)])
    >>> ru = rank_uncertainty(df, method="mean", n_boot=200, seed=0)
    >>> ru.intervals.columns[:5].tolist()
    ['model_id', 'score', 'rank', 'ci_low', 'ci_high']
    >>> bool((ru.intervals["p_rank1"].sum() - 1) < 1e-9)
    True
    """
    table = _validate(table, method, resample, n_boot, ci, models, metrics, error_kinds)
    ids = list(table.scores.index) if models is None else [str(m) for m in models]
    selection = {} if metrics is None or method == "brainscore" else {"metrics": [str(m) for m in metrics]}
    if scheme not in ("rule", "tree", "domain"):
        raise ParameterError(f"scheme={scheme!r} is not known; use 'rule', 'tree' or 'domain'.")
    rs = _Resampler(table, method, ids, selection, resample, tuple(error_kinds), scheme)
    s0 = rs.scores()
    ok = np.isfinite(s0)
    if ok.sum() < 2:
        raise DataError(f"rank_uncertainty needs at least 2 models with a score under {method!r}; got {int(ok.sum())}.")
    rank0 = rank_models(pd.Series(s0, index=ids)).to_numpy()
    rng = check_seed(seed)
    dist = np.empty((n_boot, len(ids)))
    # small products: multithreaded BLAS only makes its threads wait for each other (up to 50x slower on a busy
    # machine); the numbers do not depend on it
    with threadpool_limits(limits=1, user_api="blas"):
        for start in range(0, n_boot, _CHUNK):  # drawn and scored a chunk at a time
            k = min(_CHUNK, n_boot - start)
            dist[start:start + k] = rs.scores_many(rs.draw_many(rng, k))
    order = np.argsort(rank0, kind="stable")
    alpha = (1 - ci) / 2
    if n_boot:
        r = _ranks(dist)
        lo, hi = np.quantile(r, [alpha, 1 - alpha], axis=0)
        best_score = np.nanmax(dist, axis=1)
        at_top = dist == best_score[:, None]
        p1 = np.mean(at_top / at_top.sum(axis=1, keepdims=True), axis=0)  # a tie for the top splits rank 1
        fam = order[:min(top, len(ids))]
        filled = np.where(np.isfinite(dist), dist, -np.inf)
        s_ok = np.where(ok, s0, -np.inf)
        finite = np.isfinite(s_ok).all() and np.isfinite(filled).all()
        d_use, s_use = (dist, s0) if finite else (np.where(np.isfinite(dist), dist, np.nanmin(dist) - 1),
                                                  np.where(ok, s0, np.nanmin(s0) - 1))
        with threadpool_limits(limits=1, user_api="blas"):
            sd = _pair_sd(d_use)  # shared by the simultaneous intervals and the best set
        slo, shi, c = _simultaneous(s_use, d_use, sd, ci, fam, None)
        best_idx, c1 = _best_set(s_use, d_use, sd, ci, 1, None)
    else:
        lo = hi = p1 = slo = shi = np.full(len(ids), np.nan)
        c = c1 = math.nan
        best_idx = np.array([], int)
    could = np.zeros(len(ids), bool)
    could[best_idx] = True
    group = np.zeros(len(ids), int)
    g, lead_high = 0, -math.inf
    for pos, i in enumerate(order):
        if pos == 0 or not (lo[i] <= lead_high):
            g += 1
            lead_high = hi[i]
        group[i] = g
    intervals = pd.DataFrame({"model_id": ids, "score": s0, "rank": rank0, "ci_low": lo, "ci_high": hi,
                              "p_rank1": p1, "sim_low": slo, "sim_high": shi, "could_be_best": could,
                              "group": group}).iloc[order].reset_index(drop=True)
    prow = []
    for a, b in zip(order[:-1], order[1:]):
        p = float(np.mean(dist[:, a] > dist[:, b])) if n_boot else math.nan
        prow.append({"rank": float(rank0[a]), "model_id": ids[a], "next_model_id": ids[b], "p_ordered": p})
    pairs = pd.DataFrame(prow, columns=["rank", "model_id", "next_model_id", "p_ordered"])
    best = list(intervals.loc[intervals["could_be_best"], "model_id"])
    nodes = [g for g, _ in rs.groups] if resample != "errors" else []
    carries = _CARRIES[resample]
    if resample != "errors":
        carries = carries.replace("within each tree node of a domain", "within each tree node of a domain"
                                  if rs.scheme == "tree" else "within each domain")
    return RankUncertainty(method, resample, carries, intervals, pairs, best, c, c1, len(fam) if n_boot else 0,
                           nodes, rs.n_perturbed, rs.n_unperturbed, len(ids), int(n_boot), float(ci), seed)
