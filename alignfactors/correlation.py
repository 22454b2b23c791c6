"""Correlation kernels: full-data matrices and fast resampled (weighted) versions.

The resampled kernels take bootstrap *weights* (how often each model was drawn) instead of
materialised resamples. A bootstrap resample only repeats original rows, so the average
rank of a row in a resample follows from the counts: cumulative counts along each column's
sorted order, ties of the original data and copies of a row sharing one tie group. The
Spearman correlation is then a count-weighted Pearson correlation of those ranks, computed
as a stacked matrix product. It equals ``scipy.stats.spearmanr`` on the materialised
resample to rounding error.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import ParameterError

__all__ = [
    "CORR_METHODS",
    "correlation_matrix",
    "resampled_ranks",
    "weighted_pearson",
    "resampled_correlation",
    "cor_smooth",
]

CORR_METHODS = ("spearman", "pearson", "kendall")


def check_method(method: str) -> str:
    if method not in CORR_METHODS:
        raise ParameterError(f"method must be one of {CORR_METHODS}; got {method!r}.")
    return method


def correlation_matrix(matrix: pd.DataFrame, method: str = "spearman") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Correlation matrix with pairwise-complete observations, and the n of each pair.

    Returns ``(corr, n_pairs)``, both metric x metric DataFrames. With complete data every
    pair has n = number of models. Spearman ranks each pair's complete cases with average
    ranks for ties (as R's ``cor(..., use="pairwise.complete.obs")``).
    """
    check_method(method)
    corr = matrix.corr(method=method)
    present = matrix.notna().to_numpy(dtype=float)
    n_pairs = pd.DataFrame(present.T @ present, index=matrix.columns, columns=matrix.columns).astype(int)
    return corr, n_pairs


def _tie_structure(x: np.ndarray):
    """Stable sort order, inverse permutation, first/last sorted index of each tie group (per column)."""
    n, p = x.shape
    order = np.argsort(x, axis=0, kind="stable")
    xs = np.take_along_axis(x, order, axis=0)
    pos = np.arange(n)[:, None]
    new_group = np.ones((n, p), dtype=bool)
    new_group[1:] = xs[1:] != xs[:-1]
    first = np.maximum.accumulate(np.where(new_group, pos, 0), axis=0)
    end_group = np.ones((n, p), dtype=bool)
    end_group[:-1] = new_group[1:]
    last = np.flip(np.minimum.accumulate(np.flip(np.where(end_group, pos, n), axis=0), axis=0), axis=0)
    inv = np.argsort(order, axis=0, kind="stable")
    return order, inv, first, last


def resampled_ranks(x: np.ndarray, weights: np.ndarray, ties=None) -> np.ndarray:
    """Average ranks of each row in each resample, from counts; shape ``(B, n, p)``.

    ``x`` (n, p) must be complete. A row with count 0 gets the rank it would have if present
    with weight 0; it does not enter any weighted sum.
    """
    order, inv, first, last = ties if ties is not None else _tie_structure(x)
    b, n = weights.shape
    p = x.shape[1]
    ws = weights[:, order]  # (B, n, p): counts in each column's sorted order
    cs = np.zeros((b, n + 1, p))
    np.cumsum(ws, axis=1, out=cs[:, 1:, :])
    before = np.take_along_axis(cs, np.broadcast_to(first[None], (b, n, p)), axis=1)
    upto = np.take_along_axis(cs, np.broadcast_to(last[None] + 1, (b, n, p)), axis=1)
    ranks_sorted = before + (upto - before + 1.0) / 2.0
    return np.take_along_axis(ranks_sorted, np.broadcast_to(inv[None], (b, n, p)), axis=1)


def weighted_pearson(z: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Count-weighted Pearson correlation matrices, ``(B, p, p)``; NaN where a column is constant.

    ``z`` is (n, p) or (B, n, p). Each resample is handled by its own product, so results do
    not depend on how resamples are batched.
    """
    w = weights[:, :, None]
    total = weights.sum(axis=1)[:, None, None]
    mean = (w * z).sum(axis=1, keepdims=True) / total
    zc = z - mean
    cov = np.matmul(np.swapaxes(zc * w, 1, 2), zc)
    d = np.sqrt(np.einsum("bii->bi", cov))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = cov / d[:, :, None] / d[:, None, :]
    r = np.clip(r, -1.0, 1.0)
    idx = np.arange(r.shape[1])
    r[:, idx, idx] = np.where(d > 0, 1.0, np.nan)
    return r


def resampled_correlation(x: np.ndarray, weights: np.ndarray, method: str = "spearman", ties=None) -> np.ndarray:
    """Correlation matrices of the resamples given by ``weights``; ``x`` complete, (n, p).

    Spearman and Pearson use the weighted fast path; Kendall (no such path) materialises each
    resample and calls pandas.
    """
    if method == "spearman":
        return weighted_pearson(resampled_ranks(x, weights, ties), weights)
    if method == "pearson":
        return weighted_pearson(x, weights)
    if method == "kendall":
        out = np.empty((weights.shape[0], x.shape[1], x.shape[1]))
        for i, w in enumerate(weights):
            rows = np.repeat(np.arange(x.shape[0]), np.rint(w).astype(int))
            out[i] = pd.DataFrame(x[rows]).corr(method="kendall").to_numpy()
        return out
    raise ParameterError(f"method must be one of {CORR_METHODS}; got {method!r}.")


def cor_smooth(corr: np.ndarray, eig_tol: float = 1e-12) -> tuple[np.ndarray, bool]:
    """Smooth a non-positive-definite correlation matrix as ``psych::cor.smooth``; returns ``(matrix, smoothed)``.

    If the smallest eigenvalue is below machine epsilon, eigenvalues below ``eig_tol`` are set
    to ``100 * eig_tol``, all eigenvalues are rescaled to sum to p, and the rebuilt matrix is
    rescaled to unit diagonal (``cov2cor``). Otherwise the matrix is returned unchanged.
    """
    r = np.asarray(corr, dtype=float)
    vals, vecs = np.linalg.eigh(r)
    if vals.min() >= np.finfo(float).eps:
        return r.copy(), False
    vals = np.where(vals < eig_tol, 100 * eig_tol, vals)
    vals = vals * r.shape[0] / vals.sum()
    m = (vecs * vals) @ vecs.T
    d = 1 / np.sqrt(np.diag(m))
    m = m * d[:, None] * d[None, :]
    return (m + m.T) / 2, True
