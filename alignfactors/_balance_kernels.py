"""Count-weighted kernels for the balance of aggregation rules: weighted SD and Pearson
correlation per resample (NaN entries weight 0), the balance columns (R² alone, joint R², Shapley
shares, effective weights) and the share of resamples in which a rule is the most balanced.

Private: shared by :mod:`alignfactors.comparison` and :mod:`alignfactors._aggregation_audits`
(so neither imports the other's internals).
"""

from __future__ import annotations

import math

import numpy as np

_BAL_NAMES = ["r2_neural", "r2_behavioral", "r2_joint", "shapley_neural", "shapley_behavioral", "difference",
              "sd_neural", "sd_behavioral", "rho", "effective_neural", "effective_behavioral"]


def _wsd(a: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Count-weighted SD per row (ddof=1 on the materialised resample; NaN entries weight 0)."""
    ok = np.isfinite(a) & (w > 0)
    ww = np.where(ok, w, 0.0)
    a0 = np.where(ok, a, 0.0)
    sw = ww.sum(axis=1)
    mu = np.einsum("bn,bn->b", ww, a0) / sw
    d = np.where(ok, a0 - mu[:, None], 0.0)
    return np.sqrt(np.einsum("bn,bn,bn->b", ww, d, d) / (sw - 1))


def _balance_columns(s, nn, bb, w, nominal) -> np.ndarray:
    """R² alone, joint R², Shapley shares and their difference, the sub-aggregates' SDs and
    correlation, and the effective weights (nominal weight x SD), per resample (columns of
    :data:`_BAL_NAMES`)."""
    r_n, r_b, r_nb = _wcorr(s, nn, w), _wcorr(s, bb, w), _wcorr(nn, bb, w)
    r2n, r2b = r_n**2, r_b**2
    joint = (r2n + r2b - 2 * r_n * r_b * r_nb) / (1 - r_nb**2)
    phin, phib = (r2n + joint - r2b) / 2, (r2b + joint - r2n) / 2
    sdn, sdb = _wsd(nn, w), _wsd(bb, w)
    return np.column_stack([r2n, r2b, joint, phin, phib, phin - phib, sdn, sdb, r_nb,
                            nominal["neural"] * sdn, nominal["behavioral"] * sdb])


def _wcorr(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Count-weighted Pearson correlation per row (NaN entries get weight 0)."""
    ok = np.isfinite(a) & np.isfinite(b) & (w > 0)
    ww = np.where(ok, w, 0.0)
    a0, b0 = np.where(ok, a, 0.0), np.where(ok, b, 0.0)
    sw = ww.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ma = np.einsum("bn,bn->b", ww, a0) / sw
        mb = np.einsum("bn,bn->b", ww, b0) / sw
    da, db = np.where(ok, a0 - ma[:, None], 0.0), np.where(ok, b0 - mb[:, None], 0.0)
    cov = np.einsum("bn,bn,bn->b", ww, da, db)
    with np.errstate(invalid="ignore", divide="ignore"):  # no models or a constant column: undefined (NaN)
        return cov / np.sqrt(np.einsum("bn,bn,bn->b", ww, da, da) * np.einsum("bn,bn,bn->b", ww, db, db))


def _p_best(dists: dict, methods, n_boot) -> dict:
    """Share of resamples in which each rule has the smallest |difference|."""
    if not n_boot or any(d is None for d in dists.values()):
        return {m: math.nan for m in methods}
    diffs = np.column_stack([np.abs(dists[m]) for m in methods])
    valid = np.all(np.isfinite(diffs), axis=1)
    winners = np.argmin(diffs[valid], axis=1) if valid.any() else np.array([], int)
    return {m: float(np.mean(winners == i)) if len(winners) else math.nan for i, m in enumerate(methods)}
