"""Batched kernels for the agreement between aggregation rules in model resamples.

:func:`alignfactors.comparison.compare_aggregations` needs, in every model resample (count
weights ``w``), each rule's rank of every drawn model, Kendall's tau-b between every pair of
rules and the overlap of their top-k sets, all as on the materialised resample. These kernels
compute them for a whole batch of resamples at once (the resample axis first), with the same
numbers as the per-resample reference functions of :mod:`alignfactors.comparison`
(``_resample_view``, ``_wkendall_all``, ``_wkendall``, ``_topk_overlap``; tested equal).

Exactness: with integer count weights every sum of weights or of products of weights is an
integer far below 2**53, so it is exact in float64 whatever the order of summation; the
kernels only reorder such sums, and then apply the reference's final arithmetic.
Written here because scipy has no count-weighted, batched Kendall tau-b.
"""

from __future__ import annotations

import numpy as np

__all__: list = []


def _batched_ranks(s: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rank (1 = best) of each drawn model with a finite score, the other drawn models counted
    with their counts and ties counted half: ``1 + above + (tied - w_i) / 2``; NaN for models not
    drawn or without a score. ``s`` and ``w`` are (B, n).

    Also returns each model's tie level (B, n) int: the position of its tie group in the
    resample's descending order, so ``sign(s_i - s_j) == sign(level_j - level_i)`` for two drawn
    models with a score; and per resample the weighted number of tied ordered pairs, each model
    with itself included, ``sum_g W_g**2`` over the tie groups ``g`` (Kendall's tie correction).
    """
    valid = np.isfinite(s) & (w > 0)
    key = np.where(valid, -s, np.inf)
    order = np.argsort(key, axis=1, kind="stable")
    ks = np.take_along_axis(key, order, axis=1)
    ws = np.take_along_axis(np.where(valid, w, 0.0), order, axis=1)
    B, n = s.shape
    new = np.ones((B, n), bool)
    new[:, 1:] = ks[:, 1:] != ks[:, :-1]
    pos = np.broadcast_to(np.arange(n), (B, n))
    start = np.maximum.accumulate(np.where(new, pos, 0), axis=1)
    last = np.ones((B, n), bool)
    last[:, :-1] = new[:, 1:]
    end = np.minimum.accumulate(np.where(last, pos, n)[:, ::-1], axis=1)[:, ::-1]
    cs = np.cumsum(ws, axis=1)
    above = np.where(start > 0, np.take_along_axis(cs, np.maximum(start - 1, 0), axis=1), 0.0)
    group = np.take_along_axis(cs, end, axis=1) - above  # weight of each model's tie group
    rank_sorted = np.where(ws > 0, 1.0 + above + (group - ws) / 2, np.nan)
    rank = np.empty_like(rank_sorted)
    np.put_along_axis(rank, order, rank_sorted, axis=1)
    level = np.empty((B, n), np.int16 if n < 2**15 else np.int64)
    np.put_along_axis(level, order, start, axis=1)
    tied_pairs = np.einsum("bn,bn->b", ws, group)
    return rank, level, tied_pairs


def _batched_kendall(levels: list, w: np.ndarray, tied: list) -> np.ndarray:
    """Count-weighted Kendall tau-b of every pair of rules in every resample: (B, R, R).

    ``levels`` and ``tied`` are each rule's tie levels and ``tied_pairs`` of
    :func:`_batched_ranks`, ``w`` (B, n) the counts. Every rule must have a finite score for every
    drawn model (the caller handles the other resamples one by one). The drawn models of each
    resample are gathered first (padded with weight 0), and the numerator
    ``sum_ij w_i w_j sign_a(i, j) sign_b(i, j)`` of every pair of rules comes from one weighted
    Gram matrix of the sign arrays. The sums are integers: float32 is exact while
    ``(sum w)**2 < 2**24`` and the weights are integers, else float64 is used.
    """
    B, n = w.shape
    R = len(levels)
    drawn = w > 0
    m = drawn.sum(axis=1)
    M = max(int(m.max()), 1) if B else 1
    # indices of the drawn models first (in model order), then the others as padding
    idx = np.argsort(~drawn, axis=1, kind="stable")[:, :M]
    pad = np.arange(M)[None, :] >= m[:, None]
    wd = np.where(pad, 0.0, np.take_along_axis(w, idx, axis=1))
    n_tot = w.sum(axis=1)
    exact32 = B == 0 or (float(n_tot.max()) ** 2 < 2**24 and bool(np.all(w == np.round(w))))
    dtype = np.float32 if exact32 else np.float64
    # padding: any level, weight 0; integer levels are exact in float32 (n < 2**24)
    lev = np.stack([np.take_along_axis(lv, idx, axis=1) for lv in levels], axis=1).astype(dtype)  # (B, R, M)
    wd = wd.astype(dtype)
    sign = np.empty((R, M, M), dtype)  # one resample at a time: the (R, M, M) arrays stay in cache
    flat = sign.reshape(R, M * M)
    weighted = np.empty_like(flat)
    gram = np.empty((B, R, R))
    for b in range(B):
        np.subtract(lev[b][:, None, :], lev[b][:, :, None], out=sign)
        np.clip(sign, -1, 1, out=sign)  # integer levels: the sign of the difference
        np.multiply(flat, np.outer(wd[b], wd[b]).reshape(1, -1), out=weighted)
        gram[b] = weighted @ flat.T  # integers: exact
    ties = (np.stack(tied, axis=1) - n_tot[:, None]) / 2  # (B, R)
    n0 = n_tot * (n_tot - 1) / 2
    left = n0[:, None] - ties
    den = np.sqrt(left[:, :, None] * left[:, None, :])
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(den > 0, 0.5 * gram / np.where(den > 0, den, 1.0), np.nan)
    out[m < 2] = np.nan
    return out


def _batched_topk(s: np.ndarray, w: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each resample's top ``k`` drawn models with a finite score (highest first, ties broken by
    model order: a stable sort, as ``_topk_overlap`` does) as a boolean mask (B, n), and the number
    of drawn models with a finite score (B,)."""
    ok = np.isfinite(s) & (w > 0)
    order = np.argsort(np.where(ok, -s, np.inf), axis=1, kind="stable")[:, :k]
    top = np.zeros(s.shape, bool)
    np.put_along_axis(top, order, True, axis=1)
    return top, ok.sum(axis=1)


def _batched_topk_overlap(top_a: np.ndarray, top_b: np.ndarray, n_ok: np.ndarray, k: int) -> np.ndarray:
    """Share of the top ``k`` two rules share, per resample (masks of :func:`_batched_topk` over the
    same scored models, ``n_ok`` of them); NaN when fewer than ``k`` models are scored."""
    return np.where(n_ok >= k, (top_a & top_b).sum(axis=1) / k, np.nan)
