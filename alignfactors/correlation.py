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
    "RankPlan",
    "resampled_ranks",
    "weighted_pearson",
    "resampled_correlation",
    "stacked_correlation",
    "cor_smooth",
]

CORR_METHODS = ("spearman", "pearson", "kendall")
_CHUNK_ELEMENTS = 5e6  # resamples x models x metrics per pass of the weighted kernels (~60 MB of rank arrays)


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


class RankPlan:
    """Precomputed tie structure of a complete matrix ``x`` (n, p) for :func:`resampled_ranks`.

    Holds each column's stable sort order and, for every (column, row), the rows (in a
    ``((n + 1) * p, B)`` array of cumulative counts, sorted position major) holding the count
    before its tie group and the count up to the end of its tie group.
    """

    def __init__(self, x):
        """``x``: an (n, p) array, or a list of (n, p_j) blocks taken side by side (as ``np.hstack``
        would, without building it: the null data sets of parallel analysis)."""
        is_blocks = isinstance(x, (list, tuple)) and len(x) > 0 and all(np.ndim(b) == 2 for b in x)
        blocks = [np.asarray(b, dtype=float) for b in (x if is_blocks else [x])]
        n = blocks[0].shape[0]
        p = sum(b.shape[1] for b in blocks)
        # int32 positions while they fit: a plan per null data set is kept for a whole bootstrap
        itype = np.int32 if p * (n + 1) < 2**31 else np.int64
        order = np.empty((n, p), dtype=itype)   # sorted position major: row of x at (position, column)
        before, upto = np.empty((p, n), dtype=itype), np.empty((p, n), dtype=itype)
        # columns are independent: a few at a time, so that the int64 temporaries of the sort stay
        # small (20 null sets of 5,000 x 200 side by side took 1 GB at once)
        step = max(1, int(_CHUNK_ELEMENTS // 8 // max(n, 1)))
        c0 = 0
        for b in blocks:
            for j in range(0, b.shape[1], step):
                xc = b[:, j:j + step]
                k = xc.shape[1]
                o, bf, up = self._columns(xc)
                order[:, c0:c0 + k] = o
                cols = np.arange(c0, c0 + k)[:, None]
                before[c0:c0 + k] = bf.T * p + cols
                upto[c0:c0 + k] = (up.T + 1) * p + cols
                c0 += k
        self.shape = (n, p)
        self.order, self.before, self.upto = order.ravel(), before.ravel(), upto.ravel()

    @staticmethod
    def _columns(x: np.ndarray):
        """Stable sort order of each column, and each row's first and last sorted position of its tie group."""
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
        return order, np.take_along_axis(first, inv, axis=0), np.take_along_axis(last, inv, axis=0)


def resampled_ranks(x: np.ndarray, weights: np.ndarray, ties: RankPlan | None = None) -> np.ndarray:
    """Average ranks of each row in each resample, from counts; shape ``(B, p, n)`` (metric-major).

    ``x`` (n, p) must be complete. In a resample, row i of column c gets rank
    ``C_before + (W_group + 1) / 2`` where ``C_before`` counts the drawn rows with smaller
    values and ``W_group`` the drawn rows tied with it (copies of a row are ties). A row
    with count 0 gets the rank it would have with weight 0; it enters no weighted sum.
    """
    n, p = np.shape(x) if ties is None else ties.shape
    return 0.5 * _doubled_ranks(x, weights, ties).T.reshape(weights.shape[0], p, n)


def _doubled_ranks(x: np.ndarray, weights: np.ndarray, ties: RankPlan | None = None) -> np.ndarray:
    """Twice :func:`resampled_ranks` as integers, ``C_before + C_upto + 1``, resample-minor: (p * n, B).

    The cumulative counts are laid out sorted-position major, ``((n + 1) * p, B)``: the scatter
    of the counts, the running sum (one vectorised add per sorted position; ``np.cumsum`` along
    an axis does not vectorise) and the two gathers then all move whole contiguous rows of B
    counts. Counts are integers, so everything runs in the smallest integer type that holds
    ``2 n + 1`` (int16 up to n = 16,000): the passes are memory-bound.
    """
    plan = ties if ties is not None else RankPlan(x)
    n, p = plan.shape
    b = weights.shape[0]
    dtype = np.int16 if 2 * n + 1 < np.iinfo(np.int16).max else np.int32 if 2 * n + 1 < 2**31 else np.int64
    wt = np.ascontiguousarray(np.rint(weights).astype(dtype).T)  # (n, B)
    cs = np.empty((n + 1, p, b), dtype=dtype)
    cs[0] = 0
    np.take(wt, plan.order.reshape(n, p), axis=0, out=cs[1:], mode="clip")
    for k in range(1, n + 1):
        np.add(cs[k], cs[k - 1], out=cs[k])
    flat = cs.reshape((n + 1) * p, b)
    total = np.take(flat, plan.before, axis=0)
    total += np.take(flat, plan.upto, axis=0)
    total += 1
    return total


def _corr_from_cov(cov: np.ndarray) -> np.ndarray:
    """Correlations from covariances (B, p, p), in place on ``cov`` (float64); NaN where a variance is 0."""
    d = np.sqrt(np.einsum("bii->bi", cov))
    with np.errstate(invalid="ignore", divide="ignore"):
        cov /= d[:, :, None]
        cov /= d[:, None, :]
    np.clip(cov, -1.0, 1.0, out=cov)
    idx = np.arange(cov.shape[1])
    cov[:, idx, idx] = np.where(d > 0, 1.0, np.nan)
    return cov


def weighted_pearson(zt: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Count-weighted Pearson correlation matrices, ``(B, p, p)``; NaN where a column is constant.

    ``zt`` is metric-major: (p, n) or (B, p, n). Each resample is handled by its own
    product, so results do not depend on how resamples are batched.
    """
    w = weights[:, None, :]
    total = weights.sum(axis=1)[:, None, None]
    mean = (zt * w).sum(axis=2, keepdims=True) / total
    zc = zt - mean
    return _corr_from_cov(np.matmul(zc * w, np.ascontiguousarray(np.swapaxes(zc, -1, -2))))


def _weighted_spearman(doubled: np.ndarray, weights: np.ndarray, m: int = 1, upper=None) -> np.ndarray:
    """Weighted Pearson of resample ranks, given doubled as integers (m * p * n, B) from
    :func:`_doubled_ranks`: ``(B, p, p)``, or ``(B, m, p, p)`` for m column blocks of p metrics each.

    Centred at ``N + 1`` (N drawn models), the doubled ranks ``d`` of a column sum to zero under
    the weights (the ranks of N items sum to N (N + 1) / 2 whatever the ties), so the weighted
    covariance is ``S = D diag(w) D^T`` alone. Its entries are sums of integers: exact in any
    summation order, which makes the result independent of BLAS blocking. The products are below
    ``N^3``; while that is below 2^24 (N <= 255 drawn models) they are exact in float32 too,
    which halves the memory traffic; larger resamples use float64 (exact up to n ~ 10^5).
    Rows a resample did not draw (weight 0, about 37% in a bootstrap) add nothing: each
    resample's drawn rows are gathered first (padded to the largest count with weight 0), which
    takes 20-28% off the time at 229 x 50 with the same sums, bit for bit.
    """
    b, n = weights.shape
    p = doubled.shape[0] // (m * n)
    total = weights.sum(axis=1)
    ftype = np.float32 if total.max() <= 255 else np.float64
    drawn = weights > 0
    k = int(drawn.sum(axis=1).max()) if b else n
    if k < n:  # only the drawn rows (about 63% in a bootstrap), the others padded with weight 0
        pos = np.argsort(~drawn, axis=1, kind="stable")[:, :k]  # (b, k): each resample's drawn rows first
        cols = (pos * b + np.arange(b)[:, None]).ravel()  # their (row, resample) cells in doubled's rows
        picked = np.take(doubled.reshape(m * p, n * b), cols, axis=1).reshape(m * p, b, k)
        d = np.empty((b, m * p, k), dtype=ftype)
        np.subtract(picked.transpose(1, 0, 2), (total + 1).astype(ftype)[:, None, None], out=d)
        weights, n = np.take_along_axis(weights, pos, axis=1), k
    else:
        d = np.empty((b, doubled.shape[0]), dtype=ftype)
        np.subtract(doubled.T, (total + 1).astype(ftype)[:, None], out=d)  # the transpose rides on the cast
    d = d.reshape(b * m, p, n)
    dw = (d.reshape(b, m * p, n) * weights.astype(ftype)[:, None, :]).reshape(b * m, p, n)
    s = np.matmul(dw, np.swapaxes(d, 1, 2))
    if upper is not None:  # only the pairs (i, j) of ``upper``: the same arithmetic as _corr_from_cov's
        i, j = upper
        sd = np.sqrt(np.einsum("bii->bi", s).astype(np.float64))
        with np.errstate(invalid="ignore", divide="ignore"):
            r = s[:, i, j].astype(np.float64)
            r /= sd[:, i]
            r /= sd[:, j]
        return np.clip(r, -1.0, 1.0, out=r)
    r = _corr_from_cov(s.astype(np.float64))
    return r if m == 1 else r.reshape(b, m, p, p)


def _in_chunks(kernel, weights: np.ndarray, cells: int) -> np.ndarray:
    """``kernel(weights)`` a chunk of resamples at a time, ``cells`` (models x metrics) per resample:
    resamples are independent, so this only bounds the (B, p, n) temporaries of a large table."""
    chunk = max(1, int(_CHUNK_ELEMENTS // max(1, cells)))
    if weights.shape[0] <= chunk:
        return kernel(weights)
    return np.concatenate([kernel(weights[s:s + chunk]) for s in range(0, weights.shape[0], chunk)])


def resampled_pairs(x: np.ndarray, weights: np.ndarray, upper, method: str = "spearman", ties=None) -> np.ndarray:
    """``resampled_correlation(x, weights, method, ties)[:, upper[0], upper[1]]``, (B, len(upper[0])):
    Spearman computes only those entries (the same values, bit for bit); other methods slice the matrices."""
    if method != "spearman":
        return resampled_correlation(x, weights, method, ties)[:, upper[0], upper[1]]
    n, p = np.shape(x) if ties is None else ties.shape
    return _in_chunks(lambda w: _weighted_spearman(_doubled_ranks(x, w, ties), w, upper=upper), weights, n * p)


def resampled_correlation(x: np.ndarray, weights: np.ndarray, method: str = "spearman", ties=None) -> np.ndarray:
    """Correlation matrices of the resamples given by ``weights``; ``x`` complete, (n, p).

    Spearman and Pearson use the weighted fast path (pass ``ties=RankPlan(x)`` to reuse the
    sort across batches); Kendall (no such path) materialises each resample and calls pandas.
    """
    n, p = np.shape(x) if ties is None else ties.shape
    if method == "spearman":
        return _in_chunks(lambda w: _weighted_spearman(_doubled_ranks(x, w, ties), w), weights, n * p)
    if method == "pearson":
        xt = np.ascontiguousarray(np.asarray(x, dtype=float).T)
        return _in_chunks(lambda w: weighted_pearson(xt, w), weights, n * p)
    if method == "kendall":
        out = np.empty((weights.shape[0], x.shape[1], x.shape[1]))
        for i, w in enumerate(weights):
            rows = np.repeat(np.arange(x.shape[0]), np.rint(w).astype(int))
            out[i] = pd.DataFrame(x[rows]).corr(method="kendall").to_numpy()
        return out
    raise ParameterError(f"method must be one of {CORR_METHODS}; got {method!r}.")


def stacked_correlation(stack: np.ndarray, weights: np.ndarray, method: str = "spearman",
                        ties: RankPlan | None = None) -> np.ndarray:
    """Correlation matrices of m data sets under the same resamples: ``(B, m, p, p)``.

    ``stack`` is (m, n, p), every set complete. The same as calling :func:`resampled_correlation`
    on each set, in one pass: pass ``ties=RankPlan(list(stack))`` (the sets side by side,
    ``(n, m p)``) to reuse the sort; the ranks of all sets are built together and each set's
    matrix is one product of a batched matmul. Used for the null data sets of parallel analysis.
    """
    m, n, p = stack.shape
    if method != "spearman":
        return np.stack([resampled_correlation(z, weights, method) for z in stack], axis=1)
    plan = ties if ties is not None else RankPlan(list(stack))
    return _in_chunks(lambda w: _weighted_spearman(_doubled_ranks(None, w, plan), w, m).reshape(len(w), m, p, p),
                      weights, n * p * m)


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
