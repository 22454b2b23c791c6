"""Kernels of :func:`alignfactors.dimensions.dimensionality`: the rules that choose a number of dimensions.

Each takes a correlation matrix (or its eigenvalues) and returns numbers or a k; none resamples.
References: Horn (1965) https://doi.org/10.1007/BF02289447 and ``psych::fa.parallel``; Velicer
(1976) https://doi.org/10.1007/BF02293557 and ``psych::VSS``; Raiche et al. (2013)
https://doi.org/10.1027/1614-2241/a000051 (optimal coordinates, acceleration factor).
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np
from scipy import special, stats

from ._factor_kernels import eigh_desc as _eigh_desc
from ._factor_kernels import fa1_fit_batch as _fa1_fit_batch
from ._factor_kernels import fa1_values as _fa1_values  # psych's fa(r, 1)$values, one implementation
from .correlation import RankPlan, stacked_correlation

_EPS = np.finfo(float).eps


def _map_values(r, w, v, max_k: int, power: int) -> np.ndarray:
    """Velicer's MAP as ``psych:::vss``'s ``map()``, m = 1..max_k (NaN for m >= p).

    All m at once: the partial covariances ``R - a_1 a_1' - ... - a_m a_m'`` are the running sums
    of ``[R, -a_1 a_1', ...]`` (the same subtractions, in the same order, as one at a time)."""
    p = r.shape[0]
    out = np.full(max_k, np.nan)
    k = min(max_k, p - 1)
    if k < 1:
        return out
    a = v[:, :k] * np.sqrt(np.maximum(w[:k], 0.0))
    stack = np.empty((k + 1, p, p))
    stack[0] = r
    np.multiply(a.T[:, :, None], a.T[:, None, :], out=stack[1:])
    np.negative(stack[1:], out=stack[1:])
    c = np.cumsum(stack, axis=0)[1:]
    d = np.sqrt(np.einsum("kii->ki", c))
    rstar = c / d[:, :, None] / d[:, None, :]
    idx = np.arange(p)
    rstar[:, idx, idx] = 0.0
    out[:k] = np.sum(rstar**power, axis=(1, 2)) / (p * (p - 1))
    return out


def _n_exceeding(observed, reference) -> int:
    """psych's ``which(!(observed > reference))[1] - 1``: leading eigenvalues above the reference."""
    fail = np.flatnonzero(~(observed > reference))
    return int(fail[0]) if fail.size else len(observed)


def _optimal_coordinates(eig, ref) -> int:
    """nFactors ``nScree``: leading eigenvalues above both the line through (i+1, last) and ``ref``."""
    nk = len(eig)
    k = 0
    for i in range(1, nk - 1):  # 1-based i; the line needs two distinct points i+1 < nk
        slope = (eig[nk - 1] - eig[i]) / (nk - (i + 1))
        predicted = eig[i] + slope * (i - (i + 1))
        if not (eig[i - 1] >= predicted and eig[i - 1] >= ref[i - 1]):
            break
        k = i
    return k


def _acceleration_factor(eig, ref) -> int:
    """nFactors ``nScree``: the elbow (max second difference) among eigenvalues after one above ``ref``."""
    af = np.full(len(eig), -np.inf)
    for j in range(1, len(eig) - 1):
        if eig[j - 1] >= ref[j - 1]:
            af[j] = eig[j + 1] - 2 * eig[j] + eig[j - 1]
    return int(np.argmax(af)) if np.isfinite(af).any() else 0


def _rule_ks(r, rules, ref_pc, ref_fa, max_k, map_power, fa_vals=None):
    """Eigenvalues, MAP curve, FA eigenvalues and the k of each (correlation-matrix) rule.

    ``fa_vals``: the one-factor eigenvalues of ``r`` when already computed (a batch of resamples
    is fitted at once by :func:`_fa1_fit_batch`)."""
    w, v = _eigh_desc(r)
    if fa_vals is None:
        fa_vals = _fa1_values(r) if "parallel_fa" in rules else np.full(len(w), np.nan)
    mp = _map_values(r, w, v, max_k, map_power) if "map" in rules else np.full(max_k, np.nan)
    ks = {}
    for rule in rules:
        if rule == "kaiser":
            ks[rule] = int(np.sum(w > 1.0))
        elif rule == "parallel_pc":
            ks[rule] = _n_exceeding(w, ref_pc)
        elif rule == "parallel_fa":
            ks[rule] = _n_exceeding(fa_vals, ref_fa)
        elif rule == "map":
            # undefined (NaN) when every partial correlation is (e.g. a resample of two distinct models)
            ks[rule] = int(np.nanargmin(mp)) + 1 if np.isfinite(mp).any() else np.nan
        elif rule == "optimal_coordinates":
            ks[rule] = _optimal_coordinates(w, ref_pc)
        elif rule == "acceleration_factor":
            ks[rule] = _acceleration_factor(w, ref_pc)
    return w, fa_vals, mp, ks


def _null_pool(x, n, p, n_iter, null, rng, codes=None, icc=None) -> np.ndarray:
    """``n_iter`` null data sets (n_iter, n, p): metrics independent of each other.

    ``"normal"``: standard normal rows (psych); with ``codes``, metric j of model i is
    :math:`\\sqrt{icc_j} u_{g(i) j} + \\sqrt{1 - icc_j} e_{ij}` (u, e standard normal), so rows of one
    cluster are correlated as in the data. ``"permutation"``: each column of ``x`` permuted.
    """
    pool = np.empty((n_iter, n, p))
    for i in range(n_iter):
        if null == "normal":
            pool[i] = rng.standard_normal((n, p))
            if codes is not None:
                u = rng.standard_normal((int(codes.max()) + 1, p))
                pool[i] = np.sqrt(1.0 - icc) * pool[i] + np.sqrt(icc) * u[codes]
        else:
            pool[i] = np.column_stack([rng.permutation(x[:, j]) for j in range(p)])
    return pool


#: Correlation cells (resamples x null sets x p x p) of one pass of :func:`_null_eigenvalues`
#: (1.6 MB a float64 array; a batch is split evenly). Measured with both cores busy: 10-15% less
#: time per null matrix at 23-34 metrics than one pass of the whole batch (3 MB arrays, of which
#: the minres Newton holds about ten: they spill the caches the two processes share); no change
#: at 50 metrics or below 12. Larger matrices (not measured) keep their batch.
_NULL_BATCH_CELLS = 2e5


def _null_eigenvalues(pool, plans, weights, method, need_fa):
    """Eigenvalues of every null data set under every resample's weights: (B, n_iter, p) twice.

    The null data get the resample's repeated rows (the same count weights), so a resample is
    compared with null data of its own kind. Components: eigenvalues of the weighted null
    correlation; factors: one-factor minres eigenvalues of it (psych's ``fa(r, 1)$values``, all
    of a batch fitted at once by :func:`_fa1_fit_batch`); NaN when not needed or undefined.
    ``plans``: :func:`null_plan` of the pool (sorts of the sets side by side, by group), or None.
    """
    b, (m, _, p) = weights.shape[0], pool.shape
    passes = min(b, -(-b * m * p * p // int(_NULL_BATCH_CELLS))) if p <= 64 else 1
    if passes > 1:  # a few resamples at a time: the batch's arrays stay in the CPU caches (see _NULL_BATCH_CELLS)
        parts = [_null_eigenvalues_pass(pool, plans, w, method, need_fa) for w in np.array_split(weights, passes)]
        return np.concatenate([a for a, _ in parts]), np.concatenate([f for _, f in parts])
    return _null_eigenvalues_pass(pool, plans, weights, method, need_fa)


def _null_eigenvalues_pass(pool, plans, weights, method, need_fa):
    """:func:`_null_eigenvalues` of the resamples ``weights`` in one pass."""
    b, (m, _, p) = weights.shape[0], pool.shape
    pcs, fas = np.full((b, m, p), np.nan), np.full((b, m, p), np.nan)
    if plans is None:
        rs_all = stacked_correlation(pool, weights, method)
    else:  # the sets in groups, each with its own plan (see null_plan)
        rs_all = np.concatenate([stacked_correlation(PoolShape((stop - start, *pool.shape[1:])), weights, method, plan)
                                 for start, stop, plan in plans], axis=1)
    ok = np.all(np.isfinite(rs_all), axis=(2, 3))
    if ok.any():
        pcs[ok] = np.linalg.eigvalsh(rs_all[ok])[:, ::-1]
        if need_fa:
            fas[ok] = _fa1_fit_batch(rs_all[ok])[0]
    return pcs, fas


class PoolShape(NamedTuple):
    """Stands for the null pool where only its shape is read (Spearman with a rank plan)."""

    shape: tuple


#: Null-set cells (sets x models x metrics) ranked in one pass; a larger pool is ranked in groups of
#: sets (5,000 x 200: 5 sets a group), which bounds a worker's rank arrays to ~60 MB.
_NULL_GROUP_CELLS = 5e6


def null_plan(pool, method):
    """The rank plans of the null data sets (Spearman), else None: a tuple of ``(start, stop, plan)``,
    each plan of the sets ``start:stop`` side by side; one group unless the pool is large (the same
    correlations, less memory a pass)."""
    if method != "spearman":
        return None
    m, n, p = pool.shape
    per = max(1, int(_NULL_GROUP_CELLS // max(1, n * p)))
    return tuple((s, min(m, s + per), RankPlan(list(pool[s:s + per]))) for s in range(0, m, per))


def _threshold(sims, quantile, axis=0):
    """psych's reference: the mean (Horn) or a quantile of the simulated eigenvalues along ``axis``."""
    return sims.mean(axis=axis) if quantile is None else np.quantile(sims, quantile, axis=axis)


def _normal_scores(x: np.ndarray) -> np.ndarray:
    return special.ndtri(stats.rankdata(x, axis=0) / (x.shape[0] + 1))


def _cv_folds(n, codes, rng, n_splits=5):
    """K-fold (train, test) index pairs; grouped by cluster (``GroupKFold``, shuffled) when ``codes`` is given."""
    from sklearn.model_selection import GroupKFold, KFold

    state = int(rng.integers(2**31 - 1))
    if codes is None:
        return list(KFold(n_splits=min(n_splits, n), shuffle=True, random_state=state).split(np.zeros(n)))
    g = int(codes.max()) + 1
    return list(GroupKFold(n_splits=min(n_splits, g), shuffle=True, random_state=state).split(np.zeros(n), groups=codes))


def _cv_likelihood(x, method, max_k, rng, n_splits=5, patience=2, codes=None, n_jobs=1):
    """Mean held-out log-likelihood per model of FactorAnalysis with k = 1..max_k factors.

    With cluster ``codes`` the folds are grouped (sklearn ``GroupKFold``, shuffled): a cluster's
    models are never split between training and held-out data, so near-copies cannot be
    predicted from each other. With ``n_jobs`` the folds of each k are fitted in parallel
    (each fit is deterministic: the same scores for any n_jobs).
    """
    z = x if method == "pearson" else _normal_scores(x)
    z = (z - z.mean(axis=0)) / z.std(axis=0)
    folds = _cv_folds(x.shape[0], codes, rng, n_splits)
    scores = np.full(max_k, np.nan)
    parallel = None
    if n_jobs != 1:
        from joblib import Parallel, delayed

        parallel = Parallel(n_jobs=n_jobs)
    for k in range(1, max_k + 1):
        if parallel is None:
            fold_scores = [_fa_fold_score(z, k, tr, te) for tr, te in folds]
        else:
            fold_scores = parallel(delayed(_fa_fold_score)(z, k, tr, te) for tr, te in folds)
        scores[k - 1] = np.mean(fold_scores)
        # held-out likelihood is unimodal in k in practice; stop `patience` steps past the best
        if k - (int(np.nanargmax(scores)) + 1) >= patience:
            break
    return scores


def _fa_fold_score(z, k, train, test):
    """Held-out log-likelihood per model of sklearn's FactorAnalysis with k factors fitted on ``train``."""
    from sklearn.decomposition import FactorAnalysis

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return FactorAnalysis(n_components=k, random_state=0).fit(z[train]).score(z[test])
