"""Aggregating many benchmark scores into one score per model, by several rules.

:func:`aggregate` turns a :class:`~alignfactors.io.table.ScoreTable` (or a models x metrics
DataFrame) into one score per model. ``method="brainscore"`` reproduces the Brain-Score
website (hierarchical mean, missing child = 0); the other methods are the usual
alternatives from the social-choice and psychometrics literature. Every method returns a
score where **higher is better**; :func:`rank_models` turns scores into ranks (1 = best).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from .errors import DataError, DegenerateDataWarning, ParameterError, ParameterTypeError
from .io.table import ScoreTable

__all__ = ["aggregate", "rank_models", "AGGREGATION_METHODS", "MISSING_POLICIES"]

#: Methods accepted by :func:`aggregate`, in the order reports list them.
AGGREGATION_METHODS = (
    "brainscore", "mean", "zscore", "rank", "median_rank", "geometric", "minmax", "pc1",
    "borda", "copeland", "domain_zscore",
)
#: Missing-data policies accepted by :func:`aggregate`.
MISSING_POLICIES = ("zero", "skip", "error")

_VIRTUAL_ROOT = "<all selected>"
# Methods whose value at a parent is the (weighted) mean / median of its children's values.
_RECURSIVE = ("brainscore", "mean", "zscore", "rank", "median_rank", "geometric", "minmax",
              "borda")
_ROUNDABLE = ("brainscore", "mean")


@dataclass(frozen=True)
class _Plan:
    method: str
    hierarchical: bool
    missing: str
    units: list            # the selected columns, treated as the leaves of the aggregation
    children: dict         # node -> selected children (pruned tree), incl. the top node
    top: str               # the node whose value is the aggregate
    weights: dict          # node -> weight (1 where not given)
    round_nodes: bool
    geometric_floor: float | None


def rank_models(scores: pd.Series) -> pd.Series:
    """Rank models by score: 1 = best (highest score), ties get the average rank.

    Parameters
    ----------
    scores : Series
        One score per model, higher = better (as :func:`aggregate` returns). NaN stays NaN.

    Returns
    -------
    Series
        Same index, name ``"rank"``, float ranks.

    Raises
    ------
    ParameterTypeError
        ``scores`` is not a pandas Series.

    Examples
    --------
    >>> rank_models(pd.Series([0.2, 0.9, 0.2], index=["a", "b", "c"])).tolist()
    [2.5, 1.0, 2.5]
    """
    if not isinstance(scores, pd.Series):
        raise ParameterTypeError(f"scores must be a pandas Series, got {type(scores).__name__}")
    values = pd.to_numeric(scores, errors="raise").to_numpy(dtype=float)
    ranks = rankdata(-values, method="average", nan_policy="omit")
    return pd.Series(ranks, index=scores.index, name="rank")


def aggregate(
    table,
    *,
    method: str = "brainscore",
    hierarchical: bool | None = None,
    weights: Mapping[str, float] | None = None,
    missing: str | None = None,
    domains: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
    models: Sequence[str] | None = None,
    root: str | None = None,
    round_nodes: bool = False,
    geometric_floor: float | None = None,
) -> pd.Series:
    """One score per model from many benchmark scores; higher = better for every method.

    Parameters
    ----------
    table : ScoreTable or DataFrame
        A DataFrame (models x metrics, index = model id) is read with
        ``ScoreTable.from_wide(..., aggregates="none")`` as a flat tree: every column is a
        metric (pass a ScoreTable built with ``aggregates="detect"`` to find summary columns).
    method : str, default="brainscore"
        One of :data:`AGGREGATION_METHODS` (see Notes).
    hierarchical : bool, optional
        Aggregate up the benchmark tree (each parent = combination of its direct children,
        so every level is weighted as the tree says) or treat all selected metrics as one
        flat list. Default True for ``"brainscore"`` and ``"domain_zscore"``, False otherwise.
    weights : mapping of str to float, optional
        Node (metric or parent) -> non-negative weight; nodes not named weigh 1. In the
        hierarchical form a weight is relative to the node's siblings; in the flat form a
        metric's weight is the product of its own weight and its selected ancestors'.
    missing : {"zero", "skip", "error"}, optional
        ``"zero"``: a missing or failed score counts as 0 (Brain-Score's rule; default for
        ``"brainscore"``). ``"skip"``: combine the present values only (default for the other
        methods except ``"pc1"``); the number of skipped cells is in
        ``result.attrs["n_missing_skipped"]``. ``"error"``: raise :class:`DataError` naming the
        models and metrics with missing values (default for ``"pc1"``, which has no skip
        form). Nothing is ever imputed silently.
    domains : sequence of str, optional
        Keep the leaves of these domains. Default: neural and behavioral leaves when the tree
        has them (all leaves under ``root`` when ``root`` is given), else all leaves.
    metrics : sequence of str, optional
        Explicit columns to aggregate (overrides ``domains``). A parent listed here is used as
        a leaf (its own score; its subtree is not descended).
    models : sequence of str, optional
        Subset of model ids (standardisation and ranks are computed among these).
    root : str, optional
        Aggregate only the subtree under this node. Default: the top of the selected part of
        the tree (``average_vision`` on a Brain-Score vision export); several top nodes are
        combined with equal weights.
    round_nodes : bool, default=False
        ``"brainscore"``/``"mean"`` only: round every parent to 3 decimals as it is computed,
        as the website does.
    geometric_floor : float, optional
        ``"geometric"`` only: values below this positive floor are raised to it (counted in
        ``attrs["n_floored"]``). Default None: a value <= 0 raises :class:`DataError`.

    Returns
    -------
    Series
        Index ``model_id`` (the table's order), name = ``method``, float. ``attrs`` holds
        ``method``, ``hierarchical``, ``missing``, ``metrics`` (the leaves used), ``root``,
        ``n_models``, ``n_missing``, ``n_missing_skipped``, ``n_missing_zeroed`` and
        ``leaf_weights`` (metric -> effective weight in the aggregate, summing to 1, for
        complete data; with ``missing="skip"`` a model's weights are renormalised over its
        present values within each parent).

    Raises
    ------
    ParameterError
        Unknown method or missing policy, unknown metric / model / root / weight name,
        negative or non-finite weight, an option that does not apply to the method.
    ParameterTypeError
        ``table`` is neither a ScoreTable nor a DataFrame; ``weights`` is not a mapping.
    DataError
        ``missing="error"`` and a selected cell is missing; ``"geometric"`` with a value
        <= 0; nothing left to aggregate.

    Warns
    -----
    DegenerateDataWarning
        A metric is constant over the models (``"zscore"``, ``"minmax"``, ``"pc1"``: it then
        contributes the same value to every model), or a model has no present value.

    Notes
    -----
    Per-metric values ``x_im`` (model i, metric m) are first transformed column by column,
    on the present values: ``brainscore``/``mean``: ``x``; ``geometric``: ``log x``;
    ``zscore``: ``(x - mean_m) / sd_m`` (ddof=1); ``minmax``: ``(x - min_m) / (max_m - min_m)``;
    ``rank``/``median_rank``: ``-r_im`` where ``r_im`` is the rank of model i on metric m,
    1 = best, ties averaged; ``borda``: Borda points = number of models beaten + half the
    ties (``= n_m - r_im``). Then each parent = weighted mean of its children's values
    (weighted median for ``median_rank``), from the leaves up; the flat form uses one parent
    holding every selected metric. ``geometric`` exponentiates the result (nested geometric
    means). So ``rank`` returns the *negative* mean rank (``-result`` is the mean rank) and
    ``borda`` the Borda count divided by the number of metrics.

    ``pc1``: the first principal component score of the standardised matrix, columns
    weighted by ``sqrt(w_m)`` where ``w_m`` is the metric's effective weight (in the
    hierarchical form the product of ``w_node / sum(w_siblings)`` along its path), sign
    chosen so that it correlates positively with the weighted mean of the raw values.
    ``domain_zscore``: balanced by construction. Every selected leaf is z-scored over the
    models; every node of each domain's part of the tree is the weighted mean of its children,
    z-scored again over the models (``hierarchical=False``: the flat mean of the domain's
    z-scored leaves); each domain's sub-aggregate is z-scored; the score is the equal-weight
    mean of the domains' z-scores. Every domain therefore contributes the same weight (1 / the
    number of domains) times the same SD (1), whatever the number of metrics it holds;
    ``attrs["domains"]`` lists each domain's leaves (leaves without a domain form ``"other"``).
    ``copeland``: model i beats j when the (effectively weighted) number of metrics on which
    ``x_im > x_jm`` exceeds that with ``x_jm > x_im`` (only metrics both have); score =
    wins - losses.

    References
    ----------
    .. [1] Schrimpf, M. et al. (2020). Integrative benchmarking to advance neurally
       mechanistic models of human intelligence. Neuron 108(3), 413-423.
       https://doi.org/10.1016/j.neuron.2020.07.040
    .. [2] Brandt, F., Conitzer, V., Endriss, U.,
       Lang, J. & Procaccia, A. (eds.) (2016). Handbook of Computational Social Choice.
       Cambridge University Press. https://doi.org/10.1017/CBO9781107446984

    Examples
    --------
    >>> df = pd.DataFrame({"a": [0.9, 0.1, 0.5], "b": [0.2, 0.4, 0.3], "c": [0.2, 0.5, 0.4]},
    ...                   index=["m1", "m2", "m3"])
    >>> aggregate(df, method="mean").round(3).tolist()
    [0.433, 0.333, 0.4]
    >>> rank_models(aggregate(df, method="rank")).tolist()
    [3.0, 1.0, 2.0]
    """
    table, plan, x = _validate_aggregate(
        table, method, hierarchical, weights, missing, domains, metrics, models, root,
        round_nodes, geometric_floor,
    )
    n_missing = int(np.isnan(x).sum())
    attrs = {
        "method": plan.method, "hierarchical": plan.hierarchical, "missing": plan.missing,
        "metrics": list(plan.units), "root": None if plan.top == _VIRTUAL_ROOT else plan.top,
        "n_models": int(x.shape[0]), "n_missing": n_missing,
        "n_missing_skipped": n_missing if plan.missing == "skip" else 0,
        "n_missing_zeroed": n_missing if plan.missing == "zero" else 0,
        "leaf_weights": dict(zip(plan.units, _effective_weights(plan).tolist())),
    }
    if plan.method == "geometric":
        filled = np.where(np.isnan(x), 0.0, x) if plan.missing == "zero" else x
        attrs["n_floored"] = _check_positive(filled, plan, table.scores.index)[1]
    if plan.method == "domain_zscore":
        attrs["domains"] = {d: list(us) for d, us in _domain_groups(plan, table.tree).items()}
        attrs["leaf_weights"] = _domain_zscore_leaf_weights(plan, table.tree)
    out = _score_leaves(x, plan, table, table.scores.index)
    undefined = np.isnan(out)
    if undefined.any():
        warnings.warn(
            f"aggregate: {int(undefined.sum())} model(s) have no present value on the selected "
            f"metrics and get NaN, e.g. {list(table.scores.index[undefined][:3])}",
            DegenerateDataWarning, stacklevel=2,
        )
    result = pd.Series(out, index=table.scores.index.copy(), name=plan.method, dtype=float)
    result.index.name = "model_id"
    result.attrs.update(attrs)
    return result


def _score_leaves(x, plan, table, index) -> np.ndarray:
    """The scores of ``aggregate`` from the leaf matrix ``x`` (models ``index`` x plan.units, NaN
    where missing): missing cells zero-filled where the plan says so, the geometric floor checked,
    then :func:`_compute`. Lets an audit re-score a changed matrix without rebuilding the plan."""
    if plan.missing == "zero":
        x = np.where(np.isnan(x), 0.0, x)
    if plan.method == "geometric":
        x = _check_positive(x, plan, index)[0]
    return _compute(x, plan, table.tree)


# -- validation ---------------------------------------------------------------------------------
def _validate_aggregate(table, method, hierarchical, weights, missing, domains, metrics, models,
                        root, round_nodes, geometric_floor):
    if isinstance(table, pd.DataFrame):
        table = ScoreTable.from_wide(table, aggregates="none")
    if not isinstance(table, ScoreTable):
        raise ParameterTypeError(
            f"table must be a ScoreTable or a pandas DataFrame, got {type(table).__name__}"
        )
    if not isinstance(method, str) or method not in AGGREGATION_METHODS:
        raise ParameterError(f"method={method!r} is not known; use one of {AGGREGATION_METHODS}")
    if hierarchical is None:
        hierarchical = method in ("brainscore", "domain_zscore")
    if not isinstance(hierarchical, (bool, np.bool_)):
        raise ParameterTypeError(f"hierarchical must be True, False or None, got {hierarchical!r}")
    if missing is None:
        missing = {"brainscore": "zero", "pc1": "error"}.get(method, "skip")
    if not isinstance(missing, str) or missing not in MISSING_POLICIES:
        raise ParameterError(f"missing={missing!r} is not known; use one of {MISSING_POLICIES}")
    if method == "pc1" and missing == "skip":
        raise ParameterError(
            "missing='skip' is not defined for method='pc1' (a principal component needs every "
            "cell); use missing='error' after clean(table), or missing='zero'"
        )
    if round_nodes and method not in _ROUNDABLE:
        raise ParameterError(f"round_nodes=True applies to methods {_ROUNDABLE}, not {method!r}")
    if geometric_floor is not None:
        if method != "geometric":
            raise ParameterError(
                f"geometric_floor applies to method='geometric' only, not {method!r}"
            )
        if not (isinstance(geometric_floor, (int, float)) and np.isfinite(geometric_floor)
                and geometric_floor > 0):
            raise ParameterError(f"geometric_floor must be a finite number > 0, got "
                                 f"{geometric_floor!r}")
    tree = table.tree
    if root is not None and root not in tree:
        raise ParameterError(
            f"root={root!r} is not a benchmark node; roots of the tree: {tree.roots[:5]}"
        )
    units = _select_units(tree, domains, metrics, root)
    if models is not None:
        if isinstance(models, str):
            raise ParameterTypeError("models must be a list of model ids, not a single string")
        models = [str(m) for m in models]
        unknown = [m for m in models if m not in table.scores.index]
        if unknown:
            raise ParameterError(f"models: unknown model ids {unknown[:5]}; ids look like "
                                 f"{list(table.scores.index[:3])}")
        if not models or len(set(models)) != len(models):
            raise ParameterError("models must be a non-empty list of distinct model ids")
        keep = table.scores.index.isin(models)
        table = table.subset(models=list(table.scores.index[keep]))
    children, top = _pruned_tree(tree, units, root)
    w = _validate_weights(weights, children, tree)
    if not hierarchical:  # one parent over every metric; a metric's weight folds in its ancestors'
        w = {u: float(np.prod([w.get(a, 1.0) for a in [u, *_ancestors(tree, u)]])) for u in units}
        children, top = {_VIRTUAL_ROOT: list(units)}, _VIRTUAL_ROOT
        if sum(w.values()) <= 0:
            raise ParameterError("weights: every selected metric has weight 0")
    plan = _Plan(method, bool(hierarchical), missing, units, children, top, w,
                 bool(round_nodes), geometric_floor)
    x = table.scores[units].to_numpy(dtype=float)
    if missing == "error" and np.isnan(x).any():
        rows, cols = np.nonzero(np.isnan(x))
        cells = ", ".join(f"{table.scores.index[r]!r} on {units[c]!r}"
                          for r, c in list(zip(rows, cols))[:5])
        bad_models = list(dict.fromkeys(table.scores.index[rows]))
        raise DataError(
            f"missing='error': {len(rows)} missing score(s) in {len(bad_models)} model(s): "
            f"{cells}{' ...' if len(rows) > 5 else ''}. Drop them (clean(table)), or pass "
            "missing='skip' or missing='zero'"
        )
    return table, plan, x


def _select_units(tree, domains, metrics, root) -> list[str]:
    under = None if root is None else set([root, *tree.descendants(root)])
    if metrics is not None:
        if isinstance(metrics, str):
            raise ParameterTypeError("metrics must be a list of column names, not a single string")
        metrics = [str(m) for m in metrics]
        unknown = [m for m in metrics if m not in tree]
        if unknown:
            raise ParameterError(f"metrics: unknown columns {unknown[:5]}; columns start "
                                 f"{tree.nodes[:4]}")
        if len(set(metrics)) != len(metrics):
            raise ParameterError(f"metrics lists a column twice: {metrics}")
        chosen = set(metrics)
        for m in metrics:
            nested = [a for a in _ancestors(tree, m) if a in chosen]
            if nested:
                raise ParameterError(f"metrics lists both {m!r} and its ancestor {nested[0]!r}; "
                                     "list one of them")
        if under is not None and not chosen <= under:
            raise ParameterError(f"metrics {sorted(chosen - under)[:5]} are not under "
                                 f"root={root!r}")
        units = [n for n in tree.nodes if n in chosen]
    else:
        leaves = tree.leaves(under=root) if root is not None else tree.leaves()
        labelled = {tree.domain(n) for n in leaves} - {None}
        if domains is None:
            wanted = None if root is not None else ({"neural", "behavioral"} & labelled or None)
        else:
            if isinstance(domains, str):
                raise ParameterTypeError("domains must be a list of domain names, e.g. "
                                         "['neural'], not a single string")
            wanted = {str(d).lower() for d in domains}
            unknown = wanted - labelled
            if unknown:
                raise ParameterError(
                    f"domains={list(domains)!r}: no selected leaf has domain "
                    f"{sorted(unknown)!r}; available: {sorted(labelled) or 'none'}"
                )
        units = [n for n in leaves if wanted is None or tree.domain(n) in wanted]
    if not units:
        raise DataError("no metric is selected: check domains=, metrics= and root=")
    return units


def _ancestors(tree, name) -> list[str]:
    out = []
    p = tree.parent(name)
    while p is not None:
        out.append(p)
        p = tree.parent(p)
    return out


def _pruned_tree(tree, units, root) -> tuple[dict, str]:
    keep = set(units)
    for u in units:
        keep.update(_ancestors(tree, u))
    unit_set = set(units)
    children = {}
    for n in tree.nodes:
        if n in keep and n not in unit_set:
            children[n] = [c for c in tree.children(n) if c in keep]
    if root is not None:
        top = root
    else:
        tops = [r for r in tree.roots if r in keep]
        if len(tops) == 1:
            top = tops[0]
        else:
            children[_VIRTUAL_ROOT] = tops
            top = _VIRTUAL_ROOT
    # Drop what is not under the top (ancestors above an explicit root).
    reach, stack = {}, [top]
    while stack:
        n = stack.pop()
        if n in children:
            reach[n] = children[n]
            stack.extend(children[n])
    return reach, top


def _validate_weights(weights, children, tree) -> dict:
    if weights is None:
        return {}
    if not isinstance(weights, Mapping):
        raise ParameterTypeError(f"weights must be a mapping node -> weight, got "
                                 f"{type(weights).__name__}")
    known = {c for cs in children.values() for c in cs}
    out = {}
    for name, value in weights.items():
        if name not in known:
            why = "a node of the table, but not selected" if name in tree else "no such column"
            raise ParameterError(
                f"weights: {name!r} is not among the selected metrics or their parents ({why}); "
                f"selected nodes include {sorted(known)[:4]}"
            )
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) \
                or not np.isfinite(value) or value < 0:
            raise ParameterError(f"weights: the weight of {name!r} must be a finite number "
                                 f">= 0, got {value!r}")
        out[str(name)] = float(value)
    for parent, kids in children.items():
        if sum(out.get(k, 1.0) for k in kids) <= 0:
            raise ParameterError(f"weights: every child of {parent!r} has weight 0 ({kids[:5]})")
    return out


# -- computation --------------------------------------------------------------------------------
def _compute(x, plan, tree) -> np.ndarray:
    """The rule of ``plan`` applied to the (already zero-filled / floored) leaf matrix ``x``.

    Shared by :func:`aggregate` and the benchmark / measurement-error resampling of
    :mod:`alignfactors.rank_uncertainty`, which calls it with resampled node weights.
    """
    if plan.method == "domain_zscore":
        return _domain_zscore(x, plan, tree)
    if plan.method in _RECURSIVE:
        values = _transform(x, plan.method, plan.units)
        col = {u: values[:, j] for j, u in enumerate(plan.units)}
        out = _combine_tree(plan.top, plan, col)
        return np.exp(out) if plan.method == "geometric" else out
    w = _effective_weights(plan)
    return _pc1(x, w, plan.units) if plan.method == "pc1" else _copeland(x, w)


#: ``counts`` of :func:`_standardise` for resamples that keep every model once (benchmark resampling).
_EVERY_MODEL = "every model"

#: Methods :func:`_compute_many` scores for many benchmark resamples at once.
_MANY = ("brainscore", "mean", "zscore", "rank", "geometric", "minmax", "borda", "domain_zscore")


def _compute_many(x, plan, tree, n_draws: int) -> np.ndarray:
    """:func:`_compute` for ``n_draws`` benchmark resamples at once: (B, n).

    ``plan.weights`` may hold arrays of shape (B,) (a node's weight in each resample, e.g. its
    count of draws times its nominal weight) and ``x`` may be (n, p) or (B, n, p) (perturbed
    scores). Equal to calling :func:`_compute` resample by resample (tested); the methods of
    :data:`_MANY` only (a weighted median has no batched form here).
    """
    if plan.method not in _MANY:
        raise ValueError(f"_compute_many has no batched form of {plan.method!r}")
    b = n_draws
    ones = _EVERY_MODEL
    if plan.method == "domain_zscore":
        if x.ndim == 2 and b > 2:  # one leaf matrix for every resample: its z-scores computed once
            z = _repeat_rows(_standardise(np.broadcast_to(x, (2, *x.shape)), ones), b)
        else:
            z = _standardise(np.broadcast_to(x, (b, *x.shape[-2:])), ones)
        col = {u: z[:, :, j] for j, u in enumerate(plan.units)}
        doms = []
        for units in _domain_groups(plan, tree).values():
            sub = _domain_plan(plan, tree, units)
            doms.append(_standardise(_combine_standardised(sub.top, sub, col, ones, b), ones))
        return _weighted_mean(np.stack(doms, axis=-1), np.ones(len(doms)))
    if x.ndim == 2:
        values = _transform(x, plan.method, plan.units)
        if not plan.round_nodes and not np.isnan(values).any():
            # no missing value: every node's mean is linear, the score is values @ leaf weights
            out = (values @ _effective_weights_many(plan, b)).T
            return np.exp(out) if plan.method == "geometric" else out
        col = {u: values[:, j] for j, u in enumerate(plan.units)}
    else:
        values = np.stack([_transform(xb, plan.method, plan.units) for xb in x])
        col = {u: values[:, :, j] for j, u in enumerate(plan.units)}
    out = _combine_tree_many(plan.top, plan, col, b)
    return np.exp(out) if plan.method == "geometric" else out


def _repeat_rows(z2: np.ndarray, b: int) -> np.ndarray:
    """``b`` copies of the first row of ``z2`` (2, ...), a computation made on two identical rows, laid
    out in memory as numpy lays out the same computation on ``b`` rows (axes in the order of
    ``z2``'s strides), so that every later reduction adds in the same order: the same numbers as
    computing all ``b`` rows, for the price of two and a copy. (One row would not do: numpy drops
    a length-1 axis and may then reduce in another order.)"""
    order = np.argsort(z2.strides, kind="stable")[::-1]
    shape = (b, *z2.shape[1:])
    out = np.empty([shape[a] for a in order]).transpose(np.argsort(order))
    out[...] = z2[:1]
    return out


def _effective_weights_many(plan, b: int) -> np.ndarray:
    """:func:`_effective_weights` with per-resample node weights: (p, B), for data without NaN.

    A node all of whose children have weight 0 in a resample has no value there and is left out
    of its parent's mean, as :func:`_combine_tree` leaves out a NaN child (NaN if the top is)."""
    alive: dict = {}

    def up(node):
        kids = plan.children.get(node)
        if kids is None:
            alive[node] = np.ones(b, bool)
        else:
            live = np.stack([up(k) for k in kids], axis=1) & (_kid_weights(plan, kids, b) > 0)
            alive[node] = live.any(axis=1)
        return alive[node]

    up(plan.top)
    w = {}

    def down(node, mass):
        kids = plan.children.get(node)
        if kids is None:
            w[node] = mass
            return
        raw = _kid_weights(plan, kids, b) * np.stack([alive[k] for k in kids], axis=1)
        tot = raw.sum(axis=1, keepdims=True)
        share = raw / np.where(tot > 0, tot, 1.0)
        for j, k in enumerate(kids):
            down(k, mass * share[:, j])

    down(plan.top, np.where(alive[plan.top], 1.0, np.nan))
    return np.stack([w[u] for u in plan.units])


def _kid_weights(plan, kids, b: int) -> np.ndarray:
    """Weights of ``kids`` in each of ``b`` resamples, (B, k): arrays or scalars in plan.weights."""
    return np.stack([np.broadcast_to(np.asarray(plan.weights.get(k, 1.0), dtype=float), (b,)) for k in kids], axis=1)


def _combine_tree_many(node, plan, col, b) -> np.ndarray:
    if node not in plan.children:
        return np.broadcast_to(col[node], (b, col[node].shape[-1]))
    kids = plan.children[node]
    vals = np.stack([_combine_tree_many(k, plan, col, b) for k in kids], axis=-1)
    out = _weighted_mean(vals, _kid_weights(plan, kids, b))
    return np.round(out, 3) if plan.round_nodes else out


def _standardise(v, counts=None) -> np.ndarray:
    """z-score over the present values (ddof=1); a constant column gives 0 where present.

    ``counts`` (B, n): bootstrap count weights; ``v`` is then (B, n) or (B, n, p) and each
    resample is standardised as its materialised sample would be (a model drawn c times counts
    c times, one never drawn not at all): the weighted form used by :mod:`alignfactors.comparison`.
    """
    if counts is _EVERY_MODEL:  # (B, n[, p]), every model once in each resample (benchmark resampling)
        with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            if np.isnan(v).any():
                mu, sd = np.nanmean(v, axis=1, keepdims=True), np.nanstd(v, axis=1, ddof=1, keepdims=True)
            else:
                mu, sd = v.mean(axis=1, keepdims=True), v.std(axis=1, ddof=1, keepdims=True)
            flat = ~(sd > 0)
            out = (v - mu) / np.where(flat, 1.0, sd)
        return np.where(flat, np.where(np.isnan(v), np.nan, 0.0), out) if flat.any() else out
    if counts is not None:
        c = counts if v.ndim == 2 else counts[:, :, None]
        present = ~np.isnan(v) & (c > 0)
        cc, vv = np.where(present, c, 0.0), np.where(present, v, 0.0)
        total = cc.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            mu = (cc * vv).sum(axis=1, keepdims=True) / total
            dev = np.where(present, vv - mu, 0.0)
            sd = np.sqrt((cc * dev * dev).sum(axis=1, keepdims=True) / (total - 1))
            flat = ~(sd > 0)
            out = (v - mu) / np.where(flat, 1.0, sd)
        return np.where(flat, np.where(np.isnan(v), np.nan, 0.0), out) if flat.any() else out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mu, sd = np.nanmean(v, axis=0), np.nanstd(v, axis=0, ddof=1)
    flat = ~(sd > 0)
    out = (v - mu) / np.where(flat, 1.0, sd)
    if np.ndim(out) == 1:
        return np.where(np.isnan(v), np.nan, 0.0) if flat else out
    out[:, flat] = np.where(np.isnan(v[:, flat]), np.nan, 0.0)
    return out


def _domain_groups(plan, tree) -> dict:
    """Domain -> selected units (file order); units without a domain form the group "other"."""
    groups: dict = {}
    for u in plan.units:
        groups.setdefault(tree.domain(u) or "other", []).append(u)
    return groups


def _domain_plan(plan, tree, units):
    """The part of ``plan`` over ``units`` (one domain), as a plan with its own top node."""
    if plan.hierarchical:
        children, top = _pruned_tree(tree, units, None)
        # climb from the top while it has a single child: the domain node is the first real fork
        while top in children and len(children[top]) == 1 and children[top][0] in children:
            top = children[top][0]
        if top in children and len(children[top]) == 1:  # a single unit
            top = children[top][0]
    else:
        children, top = {_VIRTUAL_ROOT: list(units)}, _VIRTUAL_ROOT
    return _Plan(plan.method, plan.hierarchical, plan.missing, list(units), children, top, plan.weights,
                 False, None)


def _combine_standardised(node, plan, col, counts=None, n_draws=None) -> np.ndarray:
    """A node of domain_zscore: the standardised weighted mean of its children. ``n_draws``: the
    node weights are per benchmark resample (arrays (B,), see :func:`_compute_many`)."""
    if node not in plan.children:
        return col[node]
    kids = plan.children[node]
    vals = np.stack([_combine_standardised(k, plan, col, counts, n_draws) for k in kids], axis=-1)
    if n_draws is not None:
        return _standardise(_weighted_mean(vals, _kid_weights(plan, kids, n_draws)), counts)
    w = np.array([plan.weights.get(k, 1.0) for k in kids])
    return _standardise(_weighted_mean(vals, w), counts)


def _domain_zscore(x, plan, tree, counts=None) -> np.ndarray:
    """The domain_zscore rule on the leaf matrix ``x`` (n, p); with bootstrap ``counts`` (B, n) the
    scores of every resample at once, (B, n), each standardisation weighted by the counts."""
    # Standardise every leaf, then every node of the tree as it is combined from its children,
    # then the domain sub-aggregates; the score is the equal-weight mean of the domains' z-scores.
    if counts is None:
        z = _transform(x, "zscore", plan.units)
        col = {u: z[:, j] for j, u in enumerate(plan.units)}
    else:
        z = _standardise(np.broadcast_to(x, (counts.shape[0], *x.shape)), counts)
        col = {u: z[:, :, j] for j, u in enumerate(plan.units)}
    doms = []
    for units in _domain_groups(plan, tree).values():
        sub = _domain_plan(plan, tree, units)
        doms.append(_standardise(_combine_standardised(sub.top, sub, col, counts), counts))
    return _weighted_mean(np.stack(doms, axis=-1), np.ones(len(doms)))


def _domain_zscore_leaf_weights(plan, tree) -> dict:
    """Nominal leaf weights of domain_zscore: 1/(number of domains) per domain, split along the
    domain's tree (the standardisations then rescale each node by its SD)."""
    groups = _domain_groups(plan, tree)
    out = {}
    for units in groups.values():
        sub = _domain_plan(plan, tree, units)
        for u, w in zip(units, _effective_weights(sub)):
            out[u] = float(w) / len(groups)
    return {u: out[u] for u in plan.units}


def _check_positive(x, plan, index):
    if plan.geometric_floor is not None:
        low = x < plan.geometric_floor
        return np.where(low, plan.geometric_floor, x), int(low.sum())
    bad = x <= 0
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise DataError(
            f"method='geometric' needs positive scores, but {int(bad.sum())} selected cell(s) "
            f"are <= 0 (e.g. model {index[r]!r} on {plan.units[c]!r} = {x[r, c]:g}"
            f"{', a missing cell counted as 0' if plan.missing == 'zero' else ''}); pass "
            "geometric_floor=<small positive value> to floor them, or use another method"
        )
    return x, 0


def _transform(x, method, units) -> np.ndarray:
    if method in ("brainscore", "mean"):
        return x
    if method == "geometric":
        return np.log(x)
    if method in ("rank", "median_rank", "borda"):
        up = rankdata(x, axis=0, method="average", nan_policy="omit")  # 1 = worst
        if method == "borda":
            return up - 1.0
        n = np.sum(~np.isnan(x), axis=0)
        return up - (n + 1.0)  # = -(rank with 1 = best)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if method == "zscore":
            centre, scale = np.nanmean(x, axis=0), np.nanstd(x, axis=0, ddof=1)
        else:  # minmax
            centre = np.nanmin(x, axis=0)
            scale = np.nanmax(x, axis=0) - centre
    flat = ~(scale > 0)
    if flat.any():
        warnings.warn(
            f"aggregate(method={method!r}): metric(s) {[units[j] for j in np.flatnonzero(flat)][:5]} "
            "are constant (or have < 2 values) over the models; they give every model the same "
            "value", DegenerateDataWarning, stacklevel=3,
        )
    out = (x - centre) / np.where(flat, 1.0, scale)
    out[:, flat] = np.where(np.isnan(x[:, flat]), np.nan, 0.0 if method == "zscore" else 0.5)
    return out


def _combine_tree(node, plan, col) -> np.ndarray:
    if node not in plan.children:
        return col[node]
    kids = plan.children[node]
    vals = np.column_stack([_combine_tree(k, plan, col) for k in kids])
    w = np.array([plan.weights.get(k, 1.0) for k in kids])
    out = _weighted_median(vals, w) if plan.method == "median_rank" else _weighted_mean(vals, w)
    if plan.round_nodes:
        out = np.round(out, 3)
    return out


def _weighted_mean(vals, w) -> np.ndarray:
    """Mean of the present values along the last axis, weighted by ``w``: one weight vector (k,)
    for values (..., k), or one per resample (B, k) for values (B, n, k)."""
    present = ~np.isnan(vals)
    if w.ndim == 1:
        den = present @ w
        num = np.where(present, vals, 0.0) @ w
    else:
        den = np.einsum("bnk,bk->bn", present.astype(float), w)
        num = np.einsum("bnk,bk->bn", np.where(present, vals, 0.0), w)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _weighted_median(vals, w) -> np.ndarray:
    out = np.full(vals.shape[0], np.nan)
    for i, row in enumerate(vals):
        ok = ~np.isnan(row) & (w > 0)
        if not ok.any():
            continue
        v, ww = row[ok], w[ok]
        order = np.argsort(v, kind="stable")
        v, ww = v[order], ww[order]
        cum, half = np.cumsum(ww), ww.sum() / 2
        k = int(np.searchsorted(cum, half - 1e-12 * ww.sum()))
        # Exactly half the weight at or below v[k]: average with the next value (ordinary median).
        out[i] = (v[k] + v[k + 1]) / 2 if np.isclose(cum[k], half) and k + 1 < len(v) else v[k]
    return out


def _effective_weights(plan) -> np.ndarray:
    w = {}

    def walk(node, mass):
        kids = plan.children.get(node)
        if kids is None:
            w[node] = mass
            return
        raw = np.array([plan.weights.get(k, 1.0) for k in kids])
        share = raw / raw.sum()
        for k, s in zip(kids, share):
            walk(k, mass * s)

    walk(plan.top, 1.0)
    return np.array([w[u] for u in plan.units])


def _pc1(x, w, units) -> np.ndarray:
    z = _transform(x, "zscore", units)
    zw = z * np.sqrt(w)
    # Column-weighted PCA has no sklearn form; the SVD of the weighted standardised matrix is it.
    _, _, vt = np.linalg.svd(zw, full_matrices=False)
    score = zw @ vt[0]
    ref = x @ (w / w.sum())
    if np.corrcoef(score, ref)[0, 1] < 0:
        score = -score
    return score


def _copeland(x, w) -> np.ndarray:
    both = ~np.isnan(x)[:, None, :] & ~np.isnan(x)[None, :, :]
    with np.errstate(invalid="ignore"):
        beats = (x[:, None, :] > x[None, :, :]) & both
    votes = beats @ w  # votes[i, j]: weighted metrics on which i beats j
    margin = votes - votes.T
    return (np.sign(np.round(margin, 12))).sum(axis=1).astype(float)
