"""How much of an aggregate score does each of its parts explain? R², Shapley and covariance shares.

Brain-Score's ``average_vision`` is the mean of ``neural_vision`` and ``behavior_vision``; if
models differ much more on one part, that part decides the ranking. :func:`decompose`
measures this over models with bootstrap intervals: the R² of the aggregate on each part
alone (Ahlert et al.'s "explained variance"), the joint OLS fit, Shapley (LMG) shares of the
joint R², covariance shares of a linear aggregate and each part's variance.

All bootstrap statistics are written with count weights: weighted least squares with the
resampling counts as weights is ordinary least squares on the materialised resample.
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ._formatting import estimates_frame, json_number, markdown_table, text_table
from ._validation import check_labels
from .errors import DataError, ParameterError, ParameterTypeError
from .estimate import Estimate
from ._options import check_options, provenance, seed_record
from .families import cluster_codes
from .families import matrix_names
from .attenuation import table_noise_errors
from .resampling import bootstrap, check_n_boot_ci

__all__ = ["decompose", "Decomposition", "MAX_EXACT_PARTS", "MISSING_CHILDREN"]

logger = logging.getLogger(__name__)

#: Largest number of parts for the exact (all-subsets) Shapley decomposition.
MAX_EXACT_PARTS = 14
#: Parent and children are each rounded to 3 decimals in a Brain-Score export (per tree level).
_LINEAR_TOL = 0.001 + 1e-9


@dataclass(frozen=True)
class Decomposition:
    """Result of :func:`decompose`.

    Attributes
    ----------
    aggregate : str
        The decomposed score.
    parts : list of str
    r2 : dict of str -> Estimate
        R² of the aggregate on each part alone (squared Pearson correlation).
    r2_joint : Estimate
        R² of the aggregate on all parts jointly (OLS with intercept).
    shapley : dict of str -> Estimate
        Shapley (LMG) share of ``r2_joint`` of each part; they sum to ``r2_joint``.
    covariance_shares : dict of str -> Estimate
        :math:`w_i \\operatorname{Cov}(X_i, A) / \\operatorname{Var}(A)`; they sum to 1 for an
        exactly linear aggregate.
    weights : Series
        The weights :math:`w_i` behind ``covariance_shares`` (on the full data).
    weights_source : str
        ``"tree"`` (Brain-Score: means of children along the tree), ``"equal"`` (1/k, the
        aggregate is the plain mean of the parts) or ``"ols"`` (the aggregate is not an exact
        linear combination; weights are OLS slopes and shares are those of the fitted part).
    variance : dict of str -> dict of str -> Estimate
        ``variance[name]["var"]`` and ``["sd"]`` for the aggregate and each part (ddof=1).
    coefficients : DataFrame
        Joint OLS fit: term, estimate, se_hc3, statistic, p_value (HC3, statsmodels),
        ci_low, ci_high, se_boot (bootstrap), ci_method.
    n_models, n_excluded : int
        Models used; models dropped for a missing aggregate or part.
    excluded : DataFrame
        model_id and reason for each dropped model.
    sublevels : dict of str -> Decomposition
        One level down (``levels=True``): each part with children decomposed into its own
        children, keyed by that part.
    finer : Decomposition or None
        The same aggregate decomposed into its parts' children (a leaf part stays itself),
        e.g. ``average_vision`` on V1, V2, V4, IT and the behavioral benchmarks.
    identity : bool
        The aggregate is an exact linear combination of the parts (``weights_source`` "tree" or
        "equal", up to the export's rounding): ``r2_joint`` is then stated (method
        ``"identity"``, no interval), ``coefficients`` holds the weights without standard errors
        or p-values, and :attr:`primary` is ``"covariance_shares"``.
    missing : str
        The missing-children policy (``"as_website"``, ``"complete_children"``, ``"skip"``).
    zero_fill : dict of str -> Estimate
        Zero-fill diagnostic per part with children: Pearson correlation over the models used
        between the part and its number of missing direct children (the website counts them
        as 0, so a strong negative correlation means the part measures coverage as much as
        alignment). Undefined (NaN) when no model misses a child.
    missing_children : dict of str -> float
        Mean number of missing direct children per model, per part.
    """

    aggregate: str
    parts: list
    r2: dict
    r2_joint: Estimate
    shapley: dict
    covariance_shares: dict
    weights: pd.Series
    weights_source: str
    variance: dict
    coefficients: pd.DataFrame
    n_models: int
    n_excluded: int
    n_boot: int
    level: float
    seed: Any = None
    excluded: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["model_id", "reason"]))
    sublevels: dict = field(default_factory=dict)
    finer: "Decomposition | None" = None
    options: dict = field(default_factory=dict)
    identity: bool = False
    missing: str = "as_website"
    zero_fill: dict = field(default_factory=dict)
    missing_children: dict = field(default_factory=dict)

    @property
    def primary(self) -> str:
        """The decomposition to read first: covariance shares for an exact linear identity (they
        sum to 1 and need no model), Shapley shares of the joint R² otherwise."""
        return "covariance_shares" if self.identity else "shapley"

    # -- tidy views -----------------------------------------------------------------------------
    def _own_frame(self) -> pd.DataFrame:
        frames = []
        for quantity, ests in (("r2", self.r2), ("shapley", self.shapley),
                               ("covariance_share", self.covariance_shares)):
            f = estimates_frame(ests, name="part")
            f.insert(0, "quantity", quantity)
            frames.append(f)
        f = estimates_frame({"(all)": self.r2_joint}, name="part")
        f.insert(0, "quantity", "r2_joint")
        frames.append(f)
        if self.zero_fill:
            f = estimates_frame(self.zero_fill, name="part")
            f.insert(0, "quantity", "r_missing_children")
            frames.append(f)
        for stat in ("var", "sd"):
            f = estimates_frame({k: v[stat] for k, v in self.variance.items()}, name="part")
            f.insert(0, "quantity", stat)
            frames.append(f)
        out = pd.concat(frames, ignore_index=True)
        out.insert(0, "aggregate", self.aggregate)
        out.insert(1, "decomposition", "parts")
        return out

    def to_frame(self) -> pd.DataFrame:
        """Tidy frame: aggregate, decomposition ("parts" | "finer" | "sublevel"), quantity, part,
        value, ci_low, ci_high, se, level, method, n_boot, n_undefined; sublevels included."""
        frames = [self._own_frame()]
        if self.finer is not None:
            f = self.finer._own_frame()
            f["decomposition"] = "finer"
            frames.append(f)
        for sub in self.sublevels.values():
            f = sub._own_frame()
            f["decomposition"] = "sublevel"
            frames.append(f)
        return pd.concat(frames, ignore_index=True)

    def _parts_table(self) -> pd.DataFrame:
        rows = []
        for p in self.parts:
            row = {"part": p}
            first = ("cov_share", "r2", "shapley") if self.identity else ("r2", "shapley", "cov_share")
            vals = {"r2": self.r2[p], "shapley": self.shapley[p], "cov_share": self.covariance_shares[p]}
            row.update({k: vals[k] for k in first})
            row.update({"weight": float(self.weights[p]), "sd": self.variance[p]["sd"]})
            if p in self.zero_fill:
                row["r_missing_children"] = self.zero_fill[p]
            rows.append(row)
        return pd.DataFrame(rows)

    def _head(self) -> str:
        boot = (f"{self.n_boot} bootstrap resamples over models, {self.level:.0%} intervals" if self.n_boot
                else "n_boot=0: no intervals")
        head = (f"Decomposition of {self.aggregate!r} over {self.n_models} models (missing={self.missing!r}; "
                f"{self.n_excluded} excluded; {boot}). ")
        if self.identity:
            terms = " + ".join(f"{float(self.weights[p]):.3g}·{p}" for p in self.parts)
            return head + (f"Identity: {self.aggregate} = {terms} exactly (weights from {self.weights_source!r}), so "
                           "the joint R² is 1 by construction (not estimated) and the covariance shares are the "
                           "decomposition to read.")
        return head + (f"Joint R² = {self.r2_joint.format()}; covariance-share weights from "
                       f"{self.weights_source!r} (OLS slopes: not an identity).")

    def summary(self) -> str:
        blocks = [self._head(), text_table(self._parts_table())]
        for title, sub in self._children_items():
            blocks += ["", f"{title}:", sub._head(), text_table(sub._parts_table())]
        return "\n".join(blocks)

    def _children_items(self):
        items = []
        if self.finer is not None:
            items.append((f"{self.aggregate} one level down", self.finer))
        items += [(f"{k} on its children", v) for k, v in self.sublevels.items()]
        return items

    def to_markdown(self) -> str:
        blocks = [self._head(), "", markdown_table(self._parts_table())]
        for title, sub in self._children_items():
            blocks += ["", f"**{title}** — " + sub._head(), "", markdown_table(sub._parts_table())]
        return "\n".join(blocks)

    def to_dict(self) -> dict:
        """Plain JSON-ready dict (estimates via ``Estimate.to_dict()``, NaN as None)."""
        num = json_number
        coef = [{k: num(v) for k, v in row.items()}
                for row in self.coefficients.to_dict(orient="records")]
        return {
            "aggregate": self.aggregate,
            "parts": list(self.parts),
            "n_models": int(self.n_models),
            "n_excluded": int(self.n_excluded),
            "n_boot": int(self.n_boot),
            "level": float(self.level),
            "seed": seed_record(self.seed),
            "r2": {k: v.to_dict() for k, v in self.r2.items()},
            "r2_joint": self.r2_joint.to_dict(),
            "identity": bool(self.identity),
            "missing": self.missing,
            "primary": self.primary,
            "zero_fill": {k: v.to_dict() for k, v in self.zero_fill.items()},
            "missing_children": {k: float(v) for k, v in self.missing_children.items()},
            "shapley": {k: v.to_dict() for k, v in self.shapley.items()},
            "covariance_shares": {k: v.to_dict() for k, v in self.covariance_shares.items()},
            "weights": {k: float(v) for k, v in self.weights.items()},
            "weights_source": self.weights_source,
            "variance": {k: {s: e.to_dict() for s, e in v.items()} for k, v in self.variance.items()},
            "coefficients": coef,
            "finer": None if self.finer is None else self.finer.to_dict(),
            "sublevels": {k: v.to_dict() for k, v in self.sublevels.items()},
            "options": self.options,
        }

    def __str__(self) -> str:
        return self.summary()


# -- kernels --------------------------------------------------------------------------------------
def _shapley_matrix(k: int) -> np.ndarray:
    """M (2^k, k) with shapley = R2_subsets @ M (Shapley values are linear in the subset R²)."""
    n_sub = 1 << k
    size = np.array([bin(m).count("1") for m in range(n_sub)])
    fact = [math.factorial(i) for i in range(k + 1)]
    M = np.zeros((n_sub, k))
    for i in range(k):
        has = (np.arange(n_sub) >> i) & 1 == 1
        s = size
        plus = np.array([fact[x - 1] * fact[k - x] for x in s[has]], dtype=float) / fact[k]
        minus = np.array([fact[x] * fact[k - x - 1] for x in s[~has]], dtype=float) / fact[k]
        M[has, i] = plus
        M[~has, i] = -minus
    return M


#: A subset whose next predictor has residual variance (correlation units) at or below this is
#: singular: its R², and that of every subset containing it, is NaN.
_SINGULAR_TOL = 1e-12
#: Floats of sweep state per chunk of resamples in :func:`_subset_r2` (~3 MB: stays in cache).
_SWEEP_FLOATS = 400_000


def _sweep_plan(k: int):
    """Packed upper-triangle layout of the sweep state over [x_0..x_{k-1}, y] for :func:`_subset_r2`.

    Row-major upper triangle without the (y, y) entry: row 0 (the pivot's row) comes first and
    the rows below it form, in the same layout, the state one predictor smaller. Returns the
    (row, col) pairs of the full state and, per step (state size p = k+1 .. 2), the (row, col) of
    each entry of that smaller state in the current one's coordinates.
    """
    def pairs(p):
        i, j = np.triu_indices(p)
        return i[:-1], j[:-1]

    steps = []
    for p in range(k + 1, 1, -1):
        i, j = pairs(p)
        steps.append((i[i >= 1], j[i >= 1]))
    return pairs(k + 1), steps


def _subset_r2(r_y: np.ndarray, rxx: np.ndarray) -> np.ndarray:
    """R² of y on every subset of k standardised predictors, for a batch of correlation matrices.

    ``r_y`` (B, k) holds corr(y, x_j), ``rxx`` (B, k, k) the predictors' correlations. Returns
    (B, 2^k): column ``mask`` is :math:`r_S^T R_{SS}^{-1} r_S` for the subset S whose bit j is set
    for predictor j (0 for the empty set).

    Written by hand (no library has all-subsets regression): one sweep (outer-product Cholesky)
    per predictor, vectorised over resamples and subsets. After step i the state holds, for each
    of the 2^i subsets of predictors 0..i-1, the residual covariance of [x_i..x_{k-1}, y] given
    the subset. Step i keeps each subset (x_i left out) and adds x_i to a copy by a rank-one
    update with pivot d² = Var(x_i | subset); R² grows by Cov(x_i, y | subset)² / d². New
    subsets follow the old ones, so the final index is the bitmask. The state is symmetric
    (stored packed) and its (y, y) entry is never needed: about 6·2^k floats per resample,
    against a solve per subset (~k³2^k/6 flops). Resamples are swept in chunks that keep the
    state in cache. A pivot d² <= ``_SINGULAR_TOL`` (a duplicated or collinear predictor in a
    resample, i.e. R_SS singular) makes that subset's R², and that of every superset, NaN.
    """
    B, k = r_y.shape
    out = np.empty((B, 1 << k))
    (iu, ju), steps = _sweep_plan(k)
    chunk = max(1, _SWEEP_FLOATS // (6 << k))
    for b0 in range(0, B, chunk):
        c = min(chunk, B - b0)
        full = np.empty((c, k + 1, k + 1))
        full[:, :k, :k] = rxx[b0:b0 + c]
        full[:, :k, k] = full[:, k, :k] = r_y[b0:b0 + c]
        state = np.ascontiguousarray(full[:, iu, ju].T[:, None, :])  # (entries, subsets, resamples)
        r2 = np.zeros((1, c))
        for i, (ti, tj) in enumerate(steps):
            p, m = k + 1 - i, state.shape[1]
            row = state[:p]  # the pivot's row: Cov(x_i, [x_i..x_{k-1}, y] | subset)
            with np.errstate(all="ignore"):
                scaled = row * np.where(row[0] > _SINGULAR_TOL, 1.0 / row[0], np.nan)  # NaN pivot: NaN too
                grown = np.empty((2 * m, c))
                grown[:m] = r2
                np.add(r2, scaled[-1] * row[-1], out=grown[m:])
                if i < k - 1:
                    nxt = np.empty((len(ti), 2 * m, c))
                    nxt[:, :m] = state[p:]
                    np.subtract(state[p:], scaled[ti] * row[tj], out=nxt[:, m:])
                    state = nxt
            r2 = grown
        out[b0:b0 + c] = r2.T
    return out


def _solve(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Batched solve; singular systems (a constant part in a resample) give NaN, not an error."""
    try:
        return np.linalg.solve(A, b)
    except np.linalg.LinAlgError:
        flatA = A.reshape(-1, *A.shape[-2:])
        flatb = b.reshape(-1, *b.shape[-2:])
        out = np.full(flatb.shape, np.nan)
        for i in range(flatA.shape[0]):
            try:
                out[i] = np.linalg.solve(flatA[i], flatb[i])
            except np.linalg.LinAlgError:
                pass
        return out.reshape(b.shape)


def _weighted_cov(z: np.ndarray, w: np.ndarray):
    """Weighted means (B, p) and population covariances (B, p, p), one resample at a time; z is
    (n, p), or (B, n, p) for data that differ between resamples."""
    sw = w.sum(axis=1)
    if z.ndim == 2:
        mean = np.einsum("bn,nj->bj", w, z) / sw[:, None]
    else:
        mean = np.einsum("bn,bnj->bj", w, z) / sw[:, None]
    zc = z - mean[:, None, :]
    cov = np.matmul((w[:, :, None] * zc).transpose(0, 2, 1), zc) / sw[:, None, None]  # stacked: per resample
    return mean, cov, sw


def _make_statistic(z: np.ndarray, k: int, weights: np.ndarray | None, noise_map: np.ndarray | None = None):
    """Statistic over count weights for data z = [aggregate, part_1..part_k] (n, k+1).

    Output columns: r2 (k), r2_joint, shapley (k), covariance shares (k), var (k+1),
    sd (k+1), coefficients (intercept + k). With ``noise_map`` (n, L, k+1) the statistic also
    takes ``noise`` (B, n, L): perturbations of L error sources (leaf scores), which move the
    columns of z by ``noise[b, i] @ noise_map[i]`` (the tree's weights), each resample its own data.
    """
    M = _shapley_matrix(k)

    def statistic(w: np.ndarray, noise: np.ndarray | None = None) -> np.ndarray:
        if noise is None:
            return compute(z, w)
        return compute(z + np.matmul(noise[:, :, None, :], noise_map)[:, :, 0], w)  # stacked per (resample, model)

    def compute(z: np.ndarray, w: np.ndarray) -> np.ndarray:
        mean, cov, sw = _weighted_cov(z, w)
        sd = np.sqrt(np.diagonal(cov, axis1=1, axis2=2))
        with np.errstate(all="ignore"):
            corr = cov / (sd[:, :, None] * sd[:, None, :])
            bad = ~(sd > 1e-12 * np.maximum(1.0, np.abs(mean))).all(axis=1)
            corr[bad] = np.nan
            r_y = corr[:, 0, 1:]
            rxx = corr[:, 1:, 1:]
            r2_single = r_y**2
            r2_sub = _subset_r2(r_y, rxx)  # (B, 2^k), column = subset bitmask
            r2_joint = r2_sub[:, -1]
            shap = np.matmul(r2_sub[:, None, :], M)[:, 0]  # stacked (per resample) BLAS product
            cxx = cov[:, 1:, 1:]
            cxy = cov[:, 1:, 0]
            beta = _solve(cxx, cxy[..., None])[..., 0]
            intercept = mean[:, 0] - np.einsum("bi,bi->b", beta, mean[:, 1:])
            var_a = cov[:, 0, 0]
            if weights is None:
                # OLS weights: shares of the fitted linear part, beta_i Cov(X_i, A) / Var(A_hat)
                shares = beta * cxy / np.einsum("bi,bi->b", beta, cxy)[:, None]
            else:
                shares = weights[None, :] * cxy / var_a[:, None]
            unbiased = cov * (sw / (sw - 1))[:, None, None]
            var = np.diagonal(unbiased, axis1=1, axis2=2).copy()
            sds = np.sqrt(var)
            out = np.hstack([r2_single, r2_joint[:, None], shap, shares, var, sds,
                             intercept[:, None], beta])
        out[bad] = np.nan
        # variances stay defined for a constant part
        out[bad, 3 * k + 1: 5 * k + 3] = np.hstack([var, sds])[bad]
        return out

    n_sub = 1 << k
    statistic.batch_size = int(max(1, min(256, 2e8 // (8 * (3 * z.shape[0] * (k + 1) + 4 * n_sub)))))
    return statistic


# -- score error ----------------------------------------------------------------------------------
def _noise_map(errors: pd.DataFrame, tree, scores: pd.DataFrame, ratio: pd.DataFrame | None, rules: dict,
               cols: list, index, identity_weights: np.ndarray | None):
    """Error sources of the columns ``cols`` over the models ``index``: standard errors ``se`` (n, L)
    of L leaf scores and the map ``W`` (n, L, len(cols)) with which a perturbation of the leaves
    moves each column.

    A column with its own errors is its own source. A parent without errors moves with its
    children by the tree's rule, per model: the mean of its present children (``rules[node] ==
    "mean_of_present"``) or of all of them (a missing child counts as 0), recursively down to the
    leaves; ``ratio`` (raw / score of each leaf, for sources whose aggregates are means of raw
    values) converts a leaf's error to the scale its parent averages. The aggregate of an exact
    identity moves as ``sum_i w_i part_i``, so a perturbed resample keeps the identity.
    """
    n = len(index)
    own = {c for c in errors.columns if errors.loc[index, c].notna().any()} if len(index) else set()
    memo: dict = {}

    def leaf_weights(node: str) -> dict:
        if node in memo:
            return memo[node]
        if node in own:
            out = {node: np.ones(n)}
        elif tree is None or node not in tree or not tree.children(node):
            out = {}
        else:
            kids = tree.children(node)
            present = scores.loc[index, kids].notna().to_numpy(dtype=float)
            denom = present.sum(axis=1) if rules.get(node) == "mean_of_present" else np.full(n, float(len(kids)))
            share = np.divide(present, denom[:, None], out=np.zeros_like(present), where=denom[:, None] > 0)
            out = {}
            for j, kid in enumerate(kids):
                scale = share[:, j]
                if ratio is not None and kid in ratio.columns and tree.is_leaf(kid):
                    scale = scale * ratio.loc[index, kid].to_numpy(dtype=float)
                for leaf, v in leaf_weights(kid).items():
                    out[leaf] = out.get(leaf, 0.0) + scale * v
        memo[node] = out
        return out

    per_col = [leaf_weights(c) for c in cols]
    if identity_weights is not None:  # the aggregate moves with its parts: the identity holds in every resample
        agg: dict = {}
        for wi, d in zip(identity_weights, per_col[1:]):
            for leaf, v in d.items():
                agg[leaf] = agg.get(leaf, 0.0) + wi * v
        per_col[0] = agg
    leaves = list(dict.fromkeys(leaf for d in per_col for leaf in d))
    W = np.zeros((n, len(leaves), len(cols)))
    for c, d in enumerate(per_col):
        for leaf, v in d.items():
            W[:, leaves.index(leaf), c] = v
    se = np.nan_to_num(errors.reindex(index=index, columns=leaves).to_numpy(dtype=float), nan=0.0) \
        if leaves else np.zeros((n, 0))
    W = np.nan_to_num(W, nan=0.0)
    without = [c for c, d in zip(cols, per_col) if not d]
    return se, W, leaves, without


# -- tree helpers ---------------------------------------------------------------------------------
def _tree_weights(tree, aggregate: str, parts: Sequence[str]):
    """Weights of ``parts`` in ``aggregate`` by the tree's mean-of-children rule, and the depth.

    ``None`` when the parts are not a cut of the aggregate's subtree (each leaf below it
    under exactly one part).
    """
    if tree is None or aggregate not in tree or any(p not in tree for p in parts):
        return None
    weights, depth = {}, 0
    for p in parts:
        w, node, d = 1.0, p, 0
        while node != aggregate:
            parent = tree.parent(node)
            if parent is None:
                return None
            w /= len(tree.children(parent))
            node, d = parent, d + 1
        if d == 0:
            return None
        weights[p], depth = w, max(depth, d)
    covered = [leaf for p in parts for leaf in tree.leaves(under=p)]
    if len(covered) != len(set(covered)) or set(covered) != set(tree.leaves(under=aggregate)):
        return None
    return np.array([weights[p] for p in parts]), depth


def _choose_weights(tree, aggregate, parts, data: pd.DataFrame):
    y = data[aggregate].to_numpy()
    x = data[list(parts)].to_numpy()
    tw = _tree_weights(tree, aggregate, parts)
    candidates = []
    if tw is not None:
        candidates.append(("tree", tw[0], tw[1]))
    candidates.append(("equal", np.full(len(parts), 1.0 / len(parts)), 1))
    for source, w, depth in candidates:
        if np.max(np.abs(y - x @ w)) <= _LINEAR_TOL * depth:
            return source, w
    return "ols", None


#: Values of ``missing=`` in :func:`decompose`.
MISSING_CHILDREN = ("as_website", "complete_children", "skip")


def _validate_decompose(table, aggregate, parts, models, n_boot, ci, levels, missing="as_website"):
    if isinstance(table, pd.DataFrame):
        scores, tree = table.set_axis([str(i) for i in table.index], axis=0), None
    elif hasattr(table, "scores") and hasattr(table, "tree"):
        scores, tree = table.scores, table.tree
    else:
        raise ParameterTypeError(
            f"table must be a ScoreTable (load_brainscore, ScoreTable.from_wide) or a DataFrame of "
            f"columns holding the aggregate and its parts; got {type(table).__name__}."
        )
    if not isinstance(aggregate, str):
        raise ParameterTypeError(f"aggregate must be a column name (str); got {aggregate!r}.")
    if aggregate not in scores.columns:
        raise ParameterError(
            f"aggregate={aggregate!r} is not a column of the table; columns start {list(scores.columns)[:6]}."
        )
    if parts is None:
        if tree is not None:
            parts = tree.children(aggregate)
            if not parts:
                raise ParameterError(
                    f"aggregate={aggregate!r} is a leaf of the benchmark tree (it has no parts); "
                    "pass parts=[...] explicitly."
                )
        else:
            parts = [c for c in scores.columns if c != aggregate]
    parts = check_labels(parts, scores.columns, name="parts", kind="column names", where="columns of the table",
                         hint=f"columns start {list(scores.columns)[:6]}")
    if aggregate in parts:
        raise ParameterError(f"parts must not contain the aggregate {aggregate!r} itself.")
    if len(set(parts)) != len(parts) or not parts:
        raise ParameterError(f"parts must be a non-empty list of distinct columns; got {parts}.")
    if len(parts) > MAX_EXACT_PARTS:
        raise ParameterError(
            f"the exact Shapley decomposition is limited to {MAX_EXACT_PARTS} parts (2^k subset "
            f"regressions per resample); got {len(parts)} parts. Group parts into sub-aggregates."
        )
    nonnum = [c for c in [aggregate, *parts] if not pd.api.types.is_numeric_dtype(scores[c])]
    if nonnum:
        raise DataError(f"columns {nonnum} are not numeric.")
    if models is not None:
        models = check_labels(models, scores.index, name="models", kind="model ids", where="in the table")
    check_n_boot_ci(n_boot, ci)
    if not isinstance(levels, bool):
        raise ParameterTypeError(f"levels must be True or False; got {levels!r}.")
    if missing not in MISSING_CHILDREN:
        raise ParameterError(f"missing={missing!r} is not known; use one of {MISSING_CHILDREN}.")
    if missing != "as_website" and tree is None:
        raise ParameterError(f"missing={missing!r} needs the benchmark tree (a ScoreTable) to find each part's "
                             "children; a DataFrame has none. Use missing='as_website'.")
    return scores, tree, parts, models


def decompose(
    table,
    *,
    aggregate: str = "average_vision",
    parts: Sequence[str] | None = None,
    models: Sequence[str] | None = None,
    n_boot: int = 2000,
    ci: float = 0.95,
    seed: Any = None,
    n_jobs: int = 1,
    progress: bool | None = None,
    levels: bool = True,
    ci_method: str = "bca",
    batch_size: int | None = None,
    clusters: Any = None,
    missing: str = "as_website",
    noise: str | None = None,
    errors: Any = None,
) -> Decomposition:
    """Decompose the variance of an aggregate score over models into its parts.

    Parameters
    ----------
    table : ScoreTable or DataFrame
        A ScoreTable, or a DataFrame (models x columns) holding the aggregate and its parts.
    aggregate : str, default="average_vision"
    parts : list of str, optional
        Default: the aggregate's children in the benchmark tree (``neural_vision``,
        ``behavior_vision``); for a DataFrame, all other columns.
    models : list of str, optional
        Model ids to use; default all. Models missing the aggregate or any part are
        excluded (counted in ``n_excluded``, listed in ``excluded`` and logged).
    n_boot : int, default=2000
        Bootstrap resamples over models (0: no intervals).
    ci : float, default=0.95
    seed, n_jobs, progress
        See :func:`alignfactors.resampling.bootstrap`.
    levels : bool, default=True
        Also decompose one level down (``sublevels`` and ``finer``); needs a tree.
    ci_method : {"bca", "percentile"}, default="bca"
    batch_size : int, optional
        See :func:`alignfactors.resampling.bootstrap`.
    clusters : None, Series, "families" or "architecture", default=None
        Resampling unit: None resamples models; otherwise whole families are drawn with
        replacement (see :func:`alignfactors.families.resolve_clusters`). A Series may name
        models that are excluded here, never unknown ones.
    missing : {"as_website", "complete_children", "skip"}, default="as_website"
        Missing children of a part. ``"as_website"``: the table's values, in which Brain-Score
        counts a never-run or failed child as 0. ``"complete_children"``: only the models with
        every direct child of every part present (each level of ``levels=True`` applies this to
        its own parts).
        ``"skip"``: every parent under the aggregate recomputed as the mean of its present
        children, from the leaves up (:func:`~alignfactors.aggregation.aggregate` with
        ``method="mean", missing="skip"``). The last two need a tree.
        Under every policy, models missing the aggregate or a part are skipped: counted in
        ``n_excluded``, listed with the reason in ``excluded`` and logged.
    noise : {None, "errors"}, default=None
        ``"errors"``: each resample also perturbs the scores by their standard errors
        (:func:`alignfactors.resampling.bootstrap`, antithetic replicates), so the intervals carry
        score error as well as the sampling of models. Errors live on the leaves (a Brain-Score
        export has none for its aggregates): a part or aggregate without its own errors moves
        with its leaves by the tree's rule, model by model (the mean of all children or of the
        present ones, as the source computed it; ``missing="skip"``: of the present ones; on the
        raw scale when the source's aggregates are means of raw values), and the aggregate of an
        exact identity moves as the weighted sum of its parts, so the identity and its stated
        joint R² hold in every perturbed resample. Leaves whose errors are not standard errors
        (``error_kind="spread_over_subjects"``) are not perturbed (a warning names them); the
        zero-fill diagnostic is not perturbed. ``options["noise"]`` records the option.
    errors : DataFrame or ScoreTable, optional
        Standard errors (models x columns, the scale of the scores); default ``table.errors`` of a
        ScoreTable. Only with ``noise="errors"``.

    Returns
    -------
    Decomposition

    Raises
    ------
    ParameterError
        Unknown aggregate, part or model; too many parts; bad ``n_boot``/``ci``.
    DataError
        Fewer than ``k + 2`` complete models, or collinear parts.

    Notes
    -----
    With :math:`A` the aggregate and parts :math:`X_1..X_k`: ``r2[i]`` is
    :math:`\\operatorname{corr}(A, X_i)^2`; ``r2_joint`` the R² of the OLS regression of A on
    all parts; the Shapley (LMG) share of part i is
    :math:`\\sum_{S \\not\\ni i} \\frac{|S|!(k-|S|-1)!}{k!}[R^2(S \\cup i) - R^2(S)]`, computed
    exactly over all :math:`2^k` subsets, and the shares sum to ``r2_joint``. Covariance
    shares :math:`w_i \\operatorname{Cov}(X_i, A)/\\operatorname{Var}(A)` sum to 1 for
    :math:`A = \\sum_i w_i X_i`. Every bootstrap replicate is a count-weighted least squares
    fit, identical to OLS on the materialised resample.

    References
    ----------
    .. [1] Ahlert, J., Klein, T., Wichmann, F. & Geirhos, R. (2024). How aligned are
       different alignment metrics? https://doi.org/10.48550/arXiv.2407.07530
    .. [2] Lindeman, R. H., Merenda, P. F. & Gold, R. Z. (1980). Introduction to Bivariate and
       Multivariate Analysis. Scott, Foresman.
    .. [3] Grömping, U. (2006). Relative importance for linear regression in R: the package
       relaimpo. J. Stat. Softw. 17(1). https://doi.org/10.18637/jss.v017.i01

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from alignfactors.decomposition import decompose
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"n": rng.normal(0, 0.1, 40), "b": rng.normal(0, 0.3, 40)})
    >>> df["avg"] = (df["n"] + df["b"]) / 2
    >>> dec = decompose(df, aggregate="avg", n_boot=200, seed=0)
    >>> dec.weights_source, round(sum(e.value for e in dec.covariance_shares.values()), 6)
    ('equal', 1.0)
    >>> bool(dec.r2["b"].value > dec.r2["n"].value)
    True
    """
    check_options(n_boot=n_boot, ci=ci, ci_method=ci_method, seed=seed, n_jobs=n_jobs, batch_size=batch_size,
                  progress=progress, missing=missing, allowed_missing=MISSING_CHILDREN, where="decompose")
    scores, tree, parts, models = _validate_decompose(table, aggregate, parts, models, n_boot, ci, levels, missing)
    raw = scores
    if missing == "skip":
        scores = _skip_parents(table, scores, tree, aggregate)
    opts = {"ci_method": ci_method, "batch_size": batch_size, "clusters": clusters, "missing": missing,
            "names_from": table if hasattr(table, "models") else None,
            "names": matrix_names(table) if isinstance(table, pd.DataFrame) else None, "raw": raw,
            "noise": noise, "errors": table_noise_errors(table, noise, errors)}
    if opts["errors"] is not None:
        opts["ratio"] = None
        if getattr(table, "aggregates_from", "scores") == "raw" and missing != "skip":
            with np.errstate(all="ignore"):
                r = table.raw.set_axis([str(i) for i in table.raw.index], axis=0) / scores
            opts["ratio"] = r.where(np.isfinite(r), 1.0)
        rules = table._aggregate_rules("source") if hasattr(table, "_aggregate_rules") else {}
        opts["rules"] = {p: "mean_of_present" for p in rules} if missing == "skip" else rules
    return _decompose(scores, tree, aggregate, parts, models, n_boot, ci, seed, n_jobs, progress, levels, opts)


def _skip_parents(table, scores, tree, aggregate):
    """Every parent under ``aggregate`` (and itself) as the mean of its present children."""
    from .aggregation import aggregate as _aggregate
    from .errors import DegenerateDataWarning

    out = scores.copy()
    for node in [aggregate, *tree.descendants(aggregate)]:
        if tree.children(node):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DegenerateDataWarning)
                out[node] = _aggregate(table, method="mean", hierarchical=True, missing="skip", root=node).to_numpy()
    n_changed = int((~np.isclose(out.to_numpy(float), scores.to_numpy(float), atol=1e-3, equal_nan=True)).sum())
    logger.info("decompose(missing='skip'): %d parent cells recomputed from their present children differ from the "
                "export's by more than its rounding", n_changed)
    return out


def _complete_children(scores, tree, nodes):
    """Per model: True when every direct child of every node in ``nodes`` is present."""
    ok = pd.Series(True, index=scores.index)
    for p in nodes:
        kids = tree.children(p)
        if kids:
            ok &= scores[kids].notna().all(axis=1)
    return ok


def _zero_fill(raw, tree, data, parts, n_boot, ci, seed, n_jobs, codes=None, unit=None):
    """Correlation of each part with its number of missing direct children, over ``data``'s models
    (Pearson, count-weighted so that the engine's resamples are OLS on the materialised data)."""
    out, counts = {}, {}
    if tree is None:
        return out, counts
    with_kids = [p for p in parts if tree.children(p)]
    n_miss = {p: raw.loc[data.index, tree.children(p)].isna().sum(axis=1).to_numpy(float) for p in with_kids}
    for p in with_kids:
        counts[p] = float(n_miss[p].mean())
        if np.ptp(n_miss[p]) == 0:  # no model misses a child (or all miss the same): undefined, not estimated
            out[p] = Estimate(np.nan, level=ci)
    with_kids = [p for p in with_kids if p not in out]
    if not with_kids:
        return out, counts
    x = np.column_stack([n_miss[p] for p in with_kids])
    y = data[with_kids].to_numpy(float)

    def statistic(w):
        sw = w.sum(axis=1)
        mx = w @ x / sw[:, None]
        my = w @ y / sw[:, None]
        dx = x[None] - mx[:, None]
        dy = y[None] - my[:, None]
        cxy = np.einsum("bn,bnj,bnj->bj", w, dx, dy)
        vx = np.einsum("bn,bnj,bnj->bj", w, dx, dx)
        vy = np.einsum("bn,bnj,bnj->bj", w, dy, dy)
        with np.errstate(all="ignore"):
            return np.where((vx > 0) & (vy > 0), cxy / np.sqrt(vx * vy), np.nan)

    statistic.batch_size = 64
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = bootstrap(statistic, len(data), n_boot=n_boot, ci=ci, method="percentile", seed=seed, n_jobs=n_jobs,
                        clusters=codes, unit=unit)
    for j, p in enumerate(with_kids):
        out[p] = res.estimates[j]
    return {p: out[p] for p in parts if p in out}, counts


def _decompose(scores, tree, aggregate, parts, models, n_boot, ci, seed, n_jobs, progress, levels, opts=None):
    opts = opts or {"ci_method": "bca", "batch_size": None, "clusters": None, "missing": "as_website",
                    "names_from": None, "names": None, "raw": None}
    import statsmodels.api as sm

    policy = opts["missing"]
    raw = scores if opts.get("raw") is None else opts["raw"]
    pool = scores if models is None else scores.loc[models]
    cols = [aggregate, *parts]
    sub = pool[cols].astype(float)
    missing = sub.isna()
    if policy == "complete_children":
        incomplete = ~_complete_children(raw.loc[sub.index], tree, parts)
        missing = missing.assign(**{"(a child)": incomplete})
    miss = missing.to_numpy(dtype=bool)
    dropped = miss.any(axis=1)
    names = np.array([str(c) for c in missing.columns], dtype=object)
    reasons = [f"missing {', '.join(names[row])}" for row in miss[dropped]]
    excluded = pd.DataFrame({"model_id": list(sub.index[dropped]), "reason": reasons}, columns=["model_id", "reason"])
    data = sub[~dropped]
    k = len(parts)
    if len(excluded):
        logger.info("decompose(%s): %d of %d models excluded (missing the aggregate or a part: %s)",
                    aggregate, len(excluded), len(sub), ", ".join(f"{c}: {int(missing[c].sum())}" for c in cols))
    if len(data) < k + 2:
        raise DataError(
            f"decomposing {aggregate!r} into {k} parts needs at least {k + 2} models with all of "
            f"{cols} present; only {len(data)} have them."
        )
    x = data[parts].to_numpy()
    if np.linalg.matrix_rank(np.column_stack([np.ones(len(x)), x])) < k + 1:
        raise DataError(f"the parts {parts} are collinear (or one is constant) over the {len(data)} models.")
    source, w = _choose_weights(tree, aggregate, parts, data)
    identity = source in ("tree", "equal")
    z = data[cols].to_numpy()
    noisy = {}
    W = None
    if opts.get("errors") is not None:
        se, W, _, without = _noise_map(opts["errors"], tree, scores, opts.get("ratio"), opts.get("rules", {}), cols,
                                       data.index, w if identity else None)
        if without:
            from .errors import DegenerateDataWarning

            warnings.warn(f"noise='errors': {aggregate!r} decomposition: no perturbation for {without} (no errors of "
                          "their own and no leaves with errors below them).", DegenerateDataWarning, stacklevel=4)
        noisy = {"noise": se}
    stat = _make_statistic(z, k, w, W)
    codes, unit = cluster_codes(opts["clusters"], data.index, table=opts["names_from"], names=opts["names"],
                                known=scores.index)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = bootstrap(stat, len(data), n_boot=n_boot, ci=ci, method=opts["ci_method"], seed=seed, n_jobs=n_jobs,
                        batch_size=opts["batch_size"], progress=progress, clusters=codes, unit=unit, **noisy)
    est = list(res.estimates)
    r2 = dict(zip(parts, est[:k]))
    r2_joint = est[k]
    if identity:  # stated, not bootstrapped: the value is the fit on the data (1 up to the export's rounding)
        r2_joint = Estimate(r2_joint.value, level=ci, method="identity")
    shapley = dict(zip(parts, est[k + 1: 2 * k + 1]))
    shares = dict(zip(parts, est[2 * k + 1: 3 * k + 1]))
    names = [aggregate, *parts]
    var_e = est[3 * k + 1: 4 * k + 2]
    sd_e = est[4 * k + 2: 5 * k + 3]
    variance = {nm: {"var": v, "sd": s} for nm, v, s in zip(names, var_e, sd_e)}
    coef_e = est[5 * k + 3:]
    fit = sm.OLS(data[aggregate], sm.add_constant(data[parts], has_constant="add")).fit(cov_type="HC3")
    terms = ["const", *parts]
    if identity:  # the weights of the identity; no standard errors, no p-values
        coefficients = pd.DataFrame({"term": terms, "estimate": [float(fit.params[t]) for t in terms],
                                     "identity_weight": [0.0, *[float(v) for v in w]]})
    else:
        coefficients = pd.DataFrame({
            "term": terms,
            "estimate": [float(fit.params[t]) for t in terms],
            "se_hc3": [float(fit.bse[t]) for t in terms],
            "statistic": [float(fit.tvalues[t]) for t in terms],
            "p_value": [float(fit.pvalues[t]) for t in terms],
            "ci_low": [e.ci[0] for e in coef_e],
            "ci_high": [e.ci[1] for e in coef_e],
            "se_boot": [e.se for e in coef_e],
            "ci_method": [e.method for e in coef_e],
        })
    weights = pd.Series(w if w is not None else np.array([float(fit.params[p]) for p in parts]),
                        index=parts, name="weight")
    sublevels, finer, not_run = {}, None, {}
    if levels and tree is not None:
        kids = {p: tree.children(p) for p in parts}
        for p in parts:
            if kids[p] and len(kids[p]) <= MAX_EXACT_PARTS:
                try:
                    sublevels[p] = _decompose(scores, tree, p, kids[p], models, n_boot, ci, seed, n_jobs,
                                              progress, False, opts)
                except DataError as exc:  # too few models at that level: the level above still stands
                    not_run[f"{p} on its children"] = str(exc)
        down = [c for p in parts for c in (kids[p] or [p])]
        if any(kids.values()) and len(down) <= MAX_EXACT_PARTS:
            try:
                finer = _decompose(scores, tree, aggregate, down, models, n_boot, ci, seed, n_jobs, progress, False,
                                   opts)
            except DataError as exc:
                not_run[f"{aggregate} one level down"] = str(exc)
    zero_fill, counts = _zero_fill(raw, tree, data, parts, n_boot, ci, seed, n_jobs, codes, unit)
    options = provenance(n_boot=n_boot, ci=ci, ci_method=opts["ci_method"], seed=seed, unit=unit,
                         n_units=res.n_units, n=len(data), missing=opts["missing"], clusters=opts["clusters"])
    if opts.get("noise") is not None:
        options["noise"] = opts["noise"]
    if not_run:
        options["levels_not_run"] = not_run
    return Decomposition(aggregate, list(parts), r2, r2_joint, shapley, shares, weights, source, variance,
                         coefficients, len(data), len(excluded), n_boot, ci, seed, excluded, sublevels, finer,
                         options, identity=identity, missing=policy, zero_fill=zero_fill, missing_children=counts)
