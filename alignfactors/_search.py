"""The search behind aggregate detection and tree inference: which columns are exact functions of
other columns, and how they nest.

Private kernel shared by :func:`alignfactors.io.tree_inference.infer_tree` (Brain-Score's rule: the mean of the
direct children, a missing child counted as 0) and :func:`alignfactors.io.aggregates.detect_aggregates`
(any leaderboard: a mean, a fixed non-negative-weight mean or a sum). Column order is never used.

How it works (written by hand: no library finds the nested structure of exact linear identities):

1. Columns equal to each other on every model are grouped; the first of a group stands for it.
2. Each column is regressed on all others with non-negative least squares
   (:func:`scipy.optimize.nnls`; trimmed refits tolerate the allowed mismatching models, then
   backward elimination drops the weights the exact fit does not need). A column is an aggregate
   when the fit is within the printed rounding on every model (but the allowed mismatches) and
   the number of models checked is large against the number of terms (else it is "undetermined").
3. The other columns are the leaves. Each aggregate is written over the leaves alone; with leaves
   that are not themselves exact combinations of each other, that representation is unique, and
   the aggregates' leaf sets nest like the tree (an aggregate's direct children are the largest
   aggregates inside its leaf set plus its remaining leaves).
4. Every parent is then fitted on its direct children, and the simplest rule that reproduces it
   within rounding is kept (mean, sum, weighted mean, non-negative weighted sum). A parent that
   no allowed rule reproduces is made a leaf and steps 3-4 are repeated.
5. Uniqueness: a parent whose leaf representation could drop a leaf and stay exact (leaves
   linearly dependent within rounding) is reported as ambiguous.

Speed (large tables, no mismatch allowed): every least-squares fit of one column on others over
the same rows has the objective of the same fit in the basis of one thin QR factor of the whole
matrix on those rows, ``|R_C w - R_p|`` (m x k instead of n x k), so the factor is computed once
per row set and shared by every column and candidate set; dropping a few models (trimmed refits)
downdates a small triangular factor; the mean over the children present is fitted in the same
basis plus the few columns with gaps; minimax checks (linear programmes) add violated models as
cutting planes. Fits agree with the row-wise ones to rounding error (a test checks the detected
trees and notes are the same).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linprog, nnls
from threadpoolctl import threadpool_limits

__all__: list[str] = []

RULES = ("mean", "sum", "weighted_mean", "weighted")


class _Budget:
    def __init__(self, max_steps: int | None):
        self.max_steps = max_steps
        self.steps = 0
        self.where = ""

    def tick(self, where: str) -> None:
        self.steps += 1
        self.where = where
        if self.max_steps is not None and self.steps > self.max_steps:
            raise OutOfSteps(where)


class OutOfSteps(Exception):
    pass


@dataclass
class Fit:
    """One fitted identity ``y ~ A w`` on the rows where ``y`` is present."""

    cols: list[int]            # columns with non-zero weight (positions in the full matrix)
    weights: np.ndarray        # their weights
    policy: str                # "complete" | "as_zero"
    rows: np.ndarray           # boolean mask of checked rows
    bad: np.ndarray            # boolean mask (over all rows) of checked rows outside tolerance
    resid: np.ndarray          # residual A w - y over all rows (0 where unchecked)
    tol: np.ndarray            # per-row tolerance over all rows
    r2: float = np.nan
    rule: str = "weighted"

    @property
    def n_rows(self) -> int:
        return int(self.rows.sum())

    @property
    def n_bad(self) -> int:
        return int(self.bad.sum())

    @property
    def max_error(self) -> float:
        r = np.abs(self.resid[self.rows])
        return float(r.max()) if r.size else 0.0

    @property
    def worst_row(self) -> int:
        r = np.where(self.rows, np.abs(self.resid), -1.0)
        return int(r.argmax())


@dataclass
class SearchResult:
    children: dict[int, list[int]] = field(default_factory=dict)   # parent -> children (positions)
    fits: dict[int, Fit] = field(default_factory=dict)
    duplicates: list[list[int]] = field(default_factory=list)
    undetermined: dict[int, Fit] = field(default_factory=dict)
    near: dict[int, Fit] = field(default_factory=dict)              # best non-exact fits, R^2 high
    best: dict[int, Fit] = field(default_factory=dict)              # best fit of every column tried
    overlapping: dict[int, list[int]] = field(default_factory=dict)  # aggregate -> leaves, not nested
    demoted: dict[int, Fit] = field(default_factory=dict)           # exact but no allowed rule
    ambiguous: dict[int, tuple[list[int], list[int]]] = field(default_factory=dict)
    frontier_fits: dict[int, Fit] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def half_widths(x: np.ndarray) -> np.ndarray:
    """Half a unit of the last printed decimal of each column (0.5e-3 for 3 decimals).

    The fewest decimals ``d <= 12`` that reproduce every value of the column; full-precision
    columns get ``1e-12`` times their largest magnitude.
    """
    out = np.zeros(x.shape[1])
    for j in range(x.shape[1]):
        v = x[~np.isnan(x[:, j]), j]
        if v.size == 0:
            continue
        for d in range(13):
            s = v * 10.0 ** d
            if np.all(np.abs(s - np.round(s)) <= 1e-6 + 1e-13 * np.abs(s)):
                out[j] = 0.5 * 10.0 ** -d
                break
        else:
            out[j] = 1e-12 * max(1.0, float(np.abs(v).max()))
    return out


def _subsample(y: np.ndarray, cap: int) -> np.ndarray:
    """Evenly spaced rows in the order of ``y`` (independent of row order up to ties)."""
    n = y.size
    if n <= cap:
        return np.arange(n)
    order = np.argsort(y, kind="stable")
    return np.sort(order[np.linspace(0, n - 1, cap).astype(int)])


def _nnls(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if a.shape[1] == 0:
        return np.zeros(0)
    try:
        return nnls(a, b, maxiter=50 * max(a.shape[1], 10))[0]
    except RuntimeError:  # iteration limit: fall back to the unconstrained fit clipped at 0
        w = np.linalg.lstsq(a, b, rcond=None)[0]
        return np.clip(w, 0, None)


class _Design:
    """Columns ``cols`` of ``src`` on the rows ``idx``, materialised only in the parts asked for.

    ``a[:, j]`` (a few columns on every row), ``a[sel]`` (some rows), ``a.block(sel, j)`` and
    ``a.full()``; gathering a 5,000 x 200 block for every fit cost more than the fits.
    """

    def __init__(self, src: np.ndarray, idx: np.ndarray, cols: list[int], all_rows: bool):
        self.src, self.idx, self.cols = src, idx, list(cols)
        self._cols = np.asarray(self.cols, dtype=int)
        self.all_rows = all_rows
        self.shape = (idx.size, len(self.cols))
        self._full = None

    def full(self) -> np.ndarray:
        if self._full is None:
            self._full = (self.src[:, self._cols] if self.all_rows
                          else self.src[np.ix_(self.idx, self._cols)])
        return self._full

    def block(self, sel, j) -> np.ndarray:
        return self.src[np.ix_(self.idx[sel], self._cols[j])]

    def __getitem__(self, key):
        if isinstance(key, tuple):
            rsel, j = key
            if isinstance(rsel, slice) and rsel == slice(None):
                if self._full is not None:
                    return self._full[:, j]
                c = self._cols[j]
                if self.all_rows:
                    return self.src[:, c]
                return self.src[np.ix_(self.idx, np.atleast_1d(c))]
            return self.full()[key]
        if self._full is not None:
            return self._full[key]
        return self.src[np.ix_(self.idx[key], self._cols)]


class _RowFactor:
    """Thin QR factor ``filled[idx] = Q R`` of every column on one set of rows.

    A least-squares fit of column ``p`` on columns ``C`` over these rows has the same objective
    (up to a constant) as the fit of ``R[:, p]`` on ``R[:, C]``: an m x k problem instead of an
    n x k one, shared by every column and every candidate set (written by hand: scipy's nnls
    takes no Gram matrix or factor).
    """

    def __init__(self, filled: np.ndarray, idx: np.ndarray, all_rows: bool):
        a = filled if all_rows else filled[idx]
        self.q, self.r = np.linalg.qr(a)
        self.a = a
        self._masked: dict[int, np.ndarray] = {}

    def masked(self, c: int, missing: np.ndarray) -> np.ndarray:
        """``Q^T diag(present_c) A``: column ``p`` of it is ``Q^T`` of ``y = A_p`` kept only
        where column ``c`` is present (``missing``: its gaps on these rows); one per column."""
        if c not in self._masked:
            self._masked[c] = self.r - self.q[missing].T @ self.a[missing]
        return self._masked[c]


def _downdate(t: np.ndarray, z: np.ndarray) -> np.ndarray | None:
    """Upper-triangular ``T'`` with ``T'^T T' = T^T T - Z^T Z`` (rows of ``Z`` removed from a
    least-squares problem), by hyperbolic rotations; None when it would lose definiteness."""
    t = t.copy()
    n = t.shape[0]
    for row in z:
        x = row.astype(float).copy()
        for k in range(n):
            d = t[k, k]
            r2 = d * d - x[k] * x[k]
            if not (r2 > 1e-10 * d * d) or d == 0:
                return None
            r = np.sqrt(r2)
            c, s_ = r / d, x[k] / d
            t[k, k] = r
            if k + 1 < n:
                t[k, k + 1:] = (t[k, k + 1:] - s_ * x[k + 1:]) / c
                x[k + 1:] = c * x[k + 1:] - s_ * t[k, k + 1:]
    return t


class Searcher:
    """Fits identities on one matrix; holds the filled matrix and the rounding half-widths."""

    def __init__(self, x: np.ndarray, half: np.ndarray, *, max_mismatch: float,
                 budget: _Budget, names: list[str]):
        self.x = x
        self.present = ~np.isnan(x)
        self.filled = np.nan_to_num(x, nan=0.0)
        self.half = half
        self.max_mismatch = max_mismatch
        self.budget = budget
        self.names = names
        self._factors: dict[bytes, _RowFactor | None] = {}
        self._all_present = self.present.all(axis=0)
        with np.errstate(all="ignore"):
            self._colmax = np.where(self.present.any(axis=0), np.nanmax(
                np.where(self.present, x, -np.inf), axis=0), 0.0)
            self._colmin = np.where(self.present.any(axis=0), np.nanmin(
                np.where(self.present, x, np.inf), axis=0), 0.0)

    def factor(self, rows: np.ndarray) -> _RowFactor | None:
        """The QR factor of the filled matrix on ``rows`` (cached per row set), or None when
        the rows are too few for it to pay (fewer than four times the columns, or 1,000)."""
        m = self.x.shape[1]
        n_r = int(rows.sum())
        if n_r < max(4 * m, 1000):
            return None
        key = np.packbits(rows).tobytes()
        if key not in self._factors:
            others = [k_ for k_, f_ in self._factors.items() if f_.q.shape[0] < rows.size]
            if len(others) >= 4:  # a few partial row sets at most (memory: n x m each)
                self._factors.pop(others[0])
            self._factors[key] = _RowFactor(self.filled, np.flatnonzero(rows), n_r == rows.size)
        return self._factors[key]

    def _lsq(self, p, rows, cols, a, y, keep=None) -> np.ndarray:
        """Non-negative least squares of ``y`` on ``a`` over all rows (``keep`` None) or all
        but a few (``keep`` False on them), through the shared row factor when it exists."""
        fac = self.factor(rows)
        n_drop = 0 if keep is None else int((~keep).sum())
        if fac is None or n_drop > 10:
            return _nnls(a.full(), y) if keep is None else _nnls(a[keep], y[keep])
        r = fac.r
        ci = np.asarray(cols, dtype=int)
        if not n_drop:
            return _nnls(r[:, ci], r[:, p])
        t = np.linalg.qr(np.c_[r[:, ci], r[:, p]], mode="r")
        t = _downdate(t, np.c_[a[~keep], y[~keep]])
        if t is None:
            return _nnls(a[keep], y[keep])
        k = len(cols)
        return _nnls(t[:k, :k], t[:k, k])

    def allowed(self, n_rows: int) -> int:
        return int(np.floor(self.max_mismatch * n_rows + 1e-9))

    def design(self, p: int, pool: list[int], policy: str):
        rows = self.present[:, p]
        idx = np.flatnonzero(rows)
        if policy in ("complete", "skip"):
            if idx.size == rows.size:  # every row: presence of each column is precomputed
                all_ = self._all_present[pool] if pool else np.zeros(0, bool)
                if policy == "complete":
                    ok = all_
                else:
                    ok = all_ | (self.present[:, pool].any(axis=0) if pool else all_)
                cols = [c for c, keep in zip(pool, ok) if keep]
                return rows, cols, _Design(self.x, idx, cols, True)
            have = self.present[np.ix_(idx, pool)] if pool else np.zeros((idx.size, 0), bool)
            # complete: children present wherever p is; skip: the mean is over the
            # children present (NaN kept)
            ok = have.all(axis=0) if policy == "complete" else have.any(axis=0)
            cols = [c for c, keep in zip(pool, ok) if keep]
            return rows, cols, _Design(self.x, idx, cols, idx.size == rows.size)
        return rows, list(pool), _Design(self.filled, idx, pool, idx.size == rows.size)

    # -- the mean over the children present: p = sum_c w_c x_c / sum_{c present} w_c --------
    # Linear in w once written as sum_{c present} w_c (x_c - p) = 0, with sum(w) = 1.
    def _evaluate_skip(self, p, rows, cols, w, a, y) -> Fit:
        n = self.x.shape[0]
        nz = np.flatnonzero(w)
        a_nz, w_nz = a[:, nz], w[nz]
        pres = ~np.isnan(a_nz)
        d = np.where(pres, a_nz - y[:, None], 0.0)
        pw = pres @ w_nz
        with np.errstate(invalid="ignore", divide="ignore"):
            r = np.where(pw > 0, (d @ w_nz) / np.where(pw > 0, pw, 1), np.inf)
            t = (self.half[p] + (pres * self.half[[cols[i] for i in nz]]) @ w_nz
                 / np.where(pw > 0, pw, 1) + 1e-9)
        resid, tol, bad = np.zeros(n), np.zeros(n), np.zeros(n, bool)
        resid[rows], tol[rows] = np.where(np.isfinite(r), r, 0.0), t
        bad[rows] = ~(np.abs(r) <= t)
        keep = w > 0
        ss = float(((y - y.mean()) ** 2).sum())
        fin = np.isfinite(r)
        r2 = 1 - float((r[fin] ** 2).sum()) / ss if ss > 0 and fin.all() else np.nan
        return Fit([c for c, k in zip(cols, keep) if k], w[keep], "skip", rows.copy(), bad,
                   resid, tol, r2)

    def _fit_skip(self, p, rows, cols, a, y, prune: bool) -> Fit:
        allowed = self.allowed(y.size)
        fac = None if allowed else self.factor(rows)
        if fac is None:
            af = a.full() if isinstance(a, _Design) else a
            d = np.where(~np.isnan(af), af - y[:, None], 0.0)
            lam = 1e3 * max(float(np.abs(d).max()), 1e-12) * np.sqrt(y.size)

            def dpart(sel, j=None):
                return d[sel] if j is None else d[sel][:, j]
        else:
            # the same penalty scale from the columns' ranges (a bound on max |x_c - y|), so
            # that the n x k matrix of differences is never formed
            ci = np.asarray(cols, dtype=int)
            hi = max(float(np.max(self._colmax[ci] - y.min())),
                     float(np.max(y.max() - self._colmin[ci])))
            lam = 1e3 * max(hi, 1e-12) * np.sqrt(y.size)
            system = self._skip_system(fac, p, rows, cols, y, lam)

            def dpart(sel, j=None):
                blk = a.block(sel, slice(None) if j is None else j)
                return np.nan_to_num(blk - y[sel][:, None], nan=0.0)

        def solve(keep, subset=None):
            n_drop = int((~keep).sum())
            if fac is not None and n_drop <= 10:
                m_, b_ = system
                if subset is not None:
                    m_ = m_[:, subset]
                k = m_.shape[1]
                if n_drop:
                    t = np.linalg.qr(np.c_[m_, b_], mode="r")
                    t = _downdate(t, np.c_[dpart(~keep, subset), np.zeros(n_drop)])
                    w = (_nnls(t[:k, :k], t[:k, k]) if t is not None else
                         _nnls(np.vstack([dpart(keep, subset), np.full((1, k), lam)]),
                               np.r_[np.zeros(int(keep.sum())), lam]))
                else:
                    w = _nnls(m_, b_)
            else:
                dd = dpart(keep, subset)
                k = dd.shape[1]
                w = _nnls(np.vstack([dd, np.full((1, k), lam)]), np.r_[np.zeros(dd.shape[0]), lam])
            full = np.zeros(len(cols))
            full[subset if subset is not None else slice(None)] = w
            return full / full.sum() if full.sum() > 0 else full

        if fac is None:
            keep = np.zeros(y.size, bool)
            keep[_subsample(y, max(2 * len(cols) + 100, 300))] = True
        else:  # the shared factor makes the fit on every model the cheaper one
            keep = np.ones(y.size, bool)
        w = solve(keep)
        f = self._evaluate_skip(p, rows, cols, w, a, y)
        if not keep.all() and f.n_bad > allowed:
            keep = np.ones(y.size, bool)
            w = solve(keep)
            f = self._evaluate_skip(p, rows, cols, w, a, y)
        used = keep  # the models the weights were estimated on
        for _ in range(4):
            nb = f.n_bad
            if nb <= allowed and (nb == 0 or _ > 0) or not (f.r2 > 0.9 and (nb < 0.9 * y.size or y.size <= 500)):
                break
            r = np.abs(f.resid[rows]) - f.tol[rows]
            r[f.bad[rows] & (f.resid[rows] == 0)] = np.inf
            keep = np.ones(y.size, bool)
            if nb > allowed:
                keep[np.argsort(-r, kind="stable")[: allowed + 1]] = False
            else:
                keep = r <= 0
            w2 = solve(keep)
            f2 = self._evaluate_skip(p, rows, cols, w2, a, y)
            if f2.n_bad >= nb:
                break
            w, f, used = w2, f2, keep
        if prune and (w > 0).sum() > 1 and f.n_bad <= allowed:
            # keep the weights that differ from 0 beyond their standard error (t > 5), the
            # errors of the models the weights were estimated on
            act = np.flatnonzero(w > 0)
            ok = ~f.bad[rows] & used
            dk = dpart(ok, act)
            r = dk @ w[act]
            sigma2 = max(float(r @ r) / max(dk.shape[0] - act.size, 1), 1e-30)
            g = dk.T @ dk
            ridge = 1e-12 * max(float(np.trace(g)), 1e-300) / act.size
            try:
                se = np.sqrt(np.clip(np.diag(np.linalg.inv(g + ridge * np.eye(act.size))), 0, None)
                             * sigma2)
                act = act[w[act] > 5 * se]
            except np.linalg.LinAlgError:
                act = np.flatnonzero(w >= 1e-3 * w.max())
            if 0 < act.size < (w > 0).sum():
                self.budget.tick(self.names[p])
                w2 = solve(~f.bad[rows] & used, act)
                f2 = self._evaluate_skip(p, rows, cols, w2, a, y)
                if f2.n_bad <= max(f.n_bad, allowed):
                    f = f2
        return f

    def _skip_system(self, fac, p, rows, cols, y, lam):
        """``(M, b)`` with ``|M w - b|^2 = |D w|^2 + lam^2 (sum(w) - 1)^2`` over every row,
        ``D`` the differences ``x_c - y`` where ``x_c`` is present (0 elsewhere): columns present
        on every row are ``R_c - R_p`` in the factor's basis; the few with gaps are projected
        on it and their remainders factored."""
        ci = np.asarray(cols, dtype=int)
        idx = np.flatnonzero(rows)
        every = (self._all_present[ci] if idx.size == rows.size
                 else self.present[rows][:, ci].all(axis=0))
        top = fac.r[:, ci] - fac.r[:, [p]]
        gi = np.flatnonzero(~every)
        parts = [top]
        if gi.size:
            v = np.nan_to_num(self.x[np.ix_(idx, ci[gi])] - y[:, None], nan=0.0)
            pres = self.present[np.ix_(idx, ci[gi])]
            try:
                if gi.size > 16:  # a per-column table for each would cost more than it saves
                    raise np.linalg.LinAlgError
                # Q^T v_c = R_c - Q^T (present_c * y), the latter from a per-column table
                c = np.column_stack([fac.r[:, ci[g]] - fac.masked(int(ci[g]), ~pres[:, j])[:, p]
                                     for j, g in enumerate(gi)])
                # the remainder outside the factor's span: e^T e = v^T v - c^T c
                r2 = np.linalg.cholesky(v.T @ v - c.T @ c).T
            except np.linalg.LinAlgError:
                c = fac.q.T @ v
                r2 = np.linalg.qr(v - fac.q @ c, mode="r")
            top[:, gi] = c
            bottom = np.zeros((gi.size, ci.size))
            bottom[:, gi] = r2
            parts.append(bottom)
        parts.append(np.full((1, ci.size), lam))
        m_ = np.vstack(parts)
        b_ = np.zeros(m_.shape[0])
        b_[-1] = lam
        return m_, b_

    def _evaluate(self, p, rows, cols, w, policy, a, y) -> Fit:
        n = self.x.shape[0]
        nz = np.flatnonzero(w)
        r = a[:, nz] @ w[nz] - y
        t = self.half[p] + self.half[cols] @ w + 1e-9 if cols else np.full(y.size, self.half[p])
        t = np.broadcast_to(t, y.shape)
        resid = np.zeros(n)
        tol = np.zeros(n)
        bad = np.zeros(n, bool)
        resid[rows] = r
        tol[rows] = t
        bad[rows] = np.abs(r) > t
        keep = w > 0
        ss = float(((y - y.mean()) ** 2).sum())
        r2 = 1 - float((r ** 2).sum()) / ss if ss > 0 else np.nan
        return Fit([c for c, k in zip(cols, keep) if k], w[keep], policy, rows.copy(), bad,
                   resid, tol, r2)

    def fit(self, p: int, pool: list[int], policy: str, *, prune: bool = True,
            allowed: int | None = None) -> Fit | None:
        """Best non-negative fit of column ``p`` on ``pool`` (trimmed, pruned).

        ``allowed`` overrides the number of models that may miss (for diagnosing near misses).
        """
        rows, cols, a = self.design(p, pool, policy)
        if not cols or rows.sum() == 0:
            return None
        self.budget.tick(self.names[p])
        y = self.x[rows, p]
        if policy == "skip":
            return self._fit_skip(p, rows, cols, a, y, prune)
        allowed = self.allowed(y.size) if allowed is None else allowed
        if allowed or self.factor(rows) is None:
            # (with mismatches allowed, a fit on a subsample that is already good enough is
            # where the trimmed refits start)
            sub = _subsample(y, max(2 * len(cols) + 100, 300))
            w = _nnls(a[sub], y[sub])
        else:  # the shared factor makes the fit on every model the cheaper one
            sub = np.arange(y.size)
            w = self._lsq(p, rows, cols, a, y)
        f = self._evaluate(p, rows, cols, w, policy, a, y)
        if sub.size < y.size and f.n_bad > allowed:
            sub = np.arange(y.size)
            w = self._lsq(p, rows, cols, a, y)
            f = self._evaluate(p, rows, cols, w, policy, a, y)
        used = np.zeros(y.size, bool)  # the models the weights were estimated on
        used[sub] = True
        for _ in range(4):  # trimmed refits: a few bad models must not pull the weights
            nb = f.n_bad
            if nb <= allowed and (nb == 0 or _ > 0) or not (f.r2 > 0.9 and (nb < 0.9 * y.size or y.size <= 500)):
                break  # exact, or too far from exact for a few models to explain
            r = np.abs(f.resid[rows]) - f.tol[rows]
            if nb > allowed:  # drop the worst models the allowance permits, plus 1
                drop = np.argsort(-r, kind="stable")[: allowed + 1]
                keep = np.ones(y.size, bool)
                keep[drop] = False
            else:
                keep = r <= 0
            w2 = self._lsq(p, rows, cols, a, y, keep)
            f2 = self._evaluate(p, rows, cols, w2, policy, a, y)
            if f2.n_bad >= nb:
                break
            w, f, used = w2, f2, keep
        if prune and f.n_bad <= allowed:
            w, f = self._prune(p, rows, cols, w, f, policy, a, y, allowed, used)
        elif prune and f.r2 > 0.99 and len(cols) <= 400 and f.n_bad <= max(3, 0.1 * y.size):
            # nearly exact: least squares over many collinear columns also fits the rounding
            # noise and can push a few models past the tolerance. The exact question is whether
            # any non-negative weights are within the rounding on every model (but the allowed
            # worst ones): a minimax linear programme answers it.
            r = np.abs(f.resid[rows]) - f.tol[rows]
            keep = np.ones(y.size, bool)
            keep[np.argsort(-r, kind="stable")[:allowed]] = False
            wm = self._minimax(p, cols, a[keep], y[keep], normalised=False,
                               give_up=not allowed)
            if wm is not None:
                f3 = self._evaluate(p, rows, cols, wm, policy, a, y)
                if f3.n_bad <= allowed:
                    w, f = self._prune(p, rows, cols, wm, f3, policy, a, y, allowed, keep)
        return f

    def _prune(self, p, rows, cols, w, f, policy, a, y, allowed, used=None):
        """Keep the weights that differ from 0 beyond their standard error (t > 5), then refit.

        Rounding noise is fitted by many small spurious weights; a true weight, however small,
        is estimated far more precisely than it is large. The standard errors are those of the
        models the weights were estimated on (``used``). The refit must stay exact.
        """
        act = np.flatnonzero(w > 0)
        if act.size <= 1:
            return w, f
        keep_rows = ~f.bad[rows] & (True if used is None else used)
        ak, yk = a.block(keep_rows, act), y[keep_rows]
        r = ak @ w[act] - yk
        dof = max(yk.size - act.size, 1)
        sigma2 = max(float(r @ r) / dof, 1e-4 * self.half[p] ** 2, 1e-30)
        g = ak.T @ ak
        ridge = 1e-12 * max(float(np.trace(g)), 1e-300) / act.size
        try:
            var = np.diag(np.linalg.inv(g + ridge * np.eye(act.size))) * sigma2
        except np.linalg.LinAlgError:
            return w, f
        sig = w[act] > 5 * np.sqrt(np.clip(var, 0, None))
        if sig.all() or not sig.any():
            return w, f
        trial = act[sig]
        self.budget.tick(self.names[p])
        wt = np.zeros_like(w)
        wt[trial] = _nnls(ak[:, sig], yk)
        ft = self._evaluate(p, rows, cols, wt, policy, a, y)
        if ft.n_bad <= allowed:
            return wt, ft
        # least squares on the kept columns misses somewhere; the exact question is whether
        # any non-negative weights on them stay within the rounding (the dropped weights had
        # only absorbed a model or two that least squares does not reach); asked only of a
        # few columns, as a parent's children are: over many the programme is slow and the
        # dropped weights mattered
        if trial.size > 32:
            return w, f
        keep = np.ones(y.size, bool)
        if allowed:
            r = np.abs(ft.resid[rows]) - ft.tol[rows]
            keep[np.argsort(-r, kind="stable")[:allowed]] = False
        wm = self._minimax(p, [cols[i] for i in trial], a[:, trial][keep], y[keep],
                           normalised=False, give_up=not allowed)
        if wm is not None:
            wt = np.zeros_like(w)
            wt[trial] = wm
            ft = self._evaluate(p, rows, cols, wt, policy, a, y)
            if ft.n_bad <= allowed and (wm > 0).all():
                return wt, ft
        return w, f

    def fit_rule(self, p: int, kids: list[int], policy: str, rules) -> Fit | None:
        """The simplest allowed rule that reproduces ``p`` from exactly ``kids``."""
        rows, cols, a = self.design(p, kids, policy)
        if len(cols) != len(kids) or rows.sum() == 0:
            return None
        y = self.x[rows, p]
        k = len(kids)
        allowed = self.allowed(y.size)
        fixed = {"mean": np.full(k, 1.0 / k), "sum": np.ones(k)}
        if policy == "skip":
            for rule in rules:
                if rule == "mean":
                    f = self._evaluate_skip(p, rows, cols, fixed["mean"], a, y)
                elif rule == "weighted_mean":
                    g = self._fit_skip(p, rows, cols, a, y, prune=False)
                    f = self._evaluate_skip(p, rows, cols, np.r_[[
                        dict(zip(g.cols, g.weights)).get(c, 0.0) for c in cols]], a, y)
                    if not (f.weights > 0).all() or len(f.cols) != k:
                        continue
                else:
                    continue  # a sum over the children present is not a fixed rule
                if f.n_bad <= allowed:
                    f.rule = rule
                    return f
            return None
        for rule in rules:
            if rule in fixed:
                f = self._evaluate(p, rows, cols, fixed[rule], policy, a, y)
                if f.n_bad <= allowed:
                    f.cols, f.weights, f.rule = list(cols), fixed[rule], rule
                    return f
            else:
                w = self._minimax(p, cols, a.full(), y, normalised=rule == "weighted_mean",
                                  give_up=not allowed)
                if w is None:
                    continue
                f = self._evaluate(p, rows, cols, w, policy, a, y)
                if f.n_bad <= allowed and (w > 0).all():
                    f.rule = rule
                    return f
                if allowed:  # with mismatches allowed: the trimmed least-squares weights
                    g = self.fit(p, kids, policy, prune=False)
                    if g is not None and g.n_bad <= allowed and len(g.cols) == k:
                        if rule == "weighted" or abs(g.weights.sum() - 1) <= 1e-3:
                            g.rule = rule
                            return g
        return None

    def _minimax(self, p, cols, a, y, *, normalised: bool, give_up: bool = False):
        """Non-negative weights making ``|A w - y| - h_A.w`` smallest (L-infinity, linprog).

        ``give_up``: None as soon as some rows alone prove that every weight vector misses the
        rounding on a model (the caller then needs no weights: with no mismatch allowed, the
        optimum would be rejected anyway)."""
        n, k = a.shape
        self.budget.tick(self.names[p])
        if n > 4000:  # the binding rows of a minimax fit are few: a subsample, then checked
            idx = _subsample(y, 4000)
            a, y = a[idx], y[idx]
            n = y.size
        h = self.half[cols]
        hp = self.half[p]
        # variables: w (k), t; minimise t s.t.  A w - y - h.w - t <= h_p,  -(A w - y) - h.w - t <= h_p
        c = np.r_[np.zeros(k), 1.0]
        eq = (np.r_[np.ones(k), 0.0][None, :], [1.0]) if normalised else (None, None)

        def lp(rows_):
            aa, yy, m = a[rows_], y[rows_], rows_.size
            ub = np.vstack([np.c_[aa - h, -np.ones(m)], np.c_[-aa - h, -np.ones(m)]])
            bu = np.r_[yy + hp, -yy + hp]
            return linprog(c, A_ub=ub, b_ub=bu, A_eq=eq[0], b_eq=eq[1],
                           bounds=[(0, None)] * k + [(None, None)], method="highs")

        # Cutting planes (by hand: linprog has no row generation): the binding rows of a
        # minimax fit are few, so solve on some rows, add the rows the solution violates, and
        # stop when it violates none; it is then the optimum over every row.
        chosen = np.zeros(n, bool)
        chosen[_subsample(y, min(n, max(2 * (k + 1), 300)))] = True
        for _ in range(40):
            if chosen.all():
                break
            res = lp(np.flatnonzero(chosen))
            if res.status == 3:  # unbounded on these rows: take more
                chosen[_subsample(y, min(n, 2 * int(chosen.sum())))] = True
                continue
            if res.status != 0:
                return None if res.status == 2 else self._minimax_all(lp, n, k)
            w, t = res.x[:k], res.x[k]
            if give_up and t > 1e-6:  # a lower bound of the optimum over every row
                return None
            r = a @ w - y
            viol = np.abs(r) - h @ w - t - hp
            bad = np.flatnonzero((viol > 1e-9 * (1 + abs(t))) & ~chosen)
            if bad.size == 0:
                return w
            add = bad[np.argsort(-viol[bad], kind="stable")[:max(50, int(chosen.sum()) // 2)]]
            chosen[add] = True
        return self._minimax_all(lp, n, k)

    @staticmethod
    def _minimax_all(lp, n, k):
        res = lp(np.arange(n))
        if res.status != 0:
            return None
        return res.x[:k]


def duplicate_groups(x: np.ndarray, half: np.ndarray, cols: list[int]) -> list[list[int]]:
    """Groups (in column order) of columns equal within rounding on every model."""
    present = ~np.isnan(x)
    groups: list[list[int]] = []
    by_pattern: dict[bytes, list[int]] = {}
    for j in cols:
        # as for any exact fit (_credible with one term): equality on a few models is chance
        if present[:, j].sum() >= 5:
            by_pattern.setdefault(np.packbits(present[:, j]).tobytes(), []).append(j)
    for members in by_pattern.values():
        if len(members) < 2:
            continue
        rows = present[:, members[0]]
        vals = x[rows][:, members]
        used: set[int] = set()
        for a_i, a in enumerate(members):
            if a in used:
                continue
            diff = np.abs(vals[:, a_i:] - vals[:, [a_i]])
            same = (diff <= half[members[a_i:]] + half[a] + 1e-9).all(axis=0)
            group = [m for m, s in zip(members[a_i:], same) if s and m not in used]
            if len(group) > 1:
                used.update(group)
                groups.append(group)
    return sorted(groups)


def search(x: np.ndarray, names: list[str], half: np.ndarray, *, rules=RULES,
           policies=("complete", "as_zero"), max_mismatch: float = 0.0,
           required=frozenset(), exclude=frozenset(), max_steps: int | None = None,
           near_r2: float = 0.9, scaled_copies: bool = False) -> SearchResult:
    """Find the aggregates among the columns of ``x`` and nest them into a forest.

    ``required`` columns (by position) are accepted as aggregates on an exact fit even when the
    fit is not credible on its own (few models); ``exclude`` columns take no part at all.
    ``scaled_copies``: a column that is a fixed multiple of one other (a total next to its
    average) is its parent, whatever ``rules`` allow.

    BLAS runs on one thread here: the search makes thousands of small products and
    factorisations, for which threads cost more than they give (25 s against 3 s of CPU at
    5,000 x 200 on two shared cores).
    """
    with threadpool_limits(limits=1, user_api="blas"):
        return _search(x, names, half, rules=rules, policies=policies, max_mismatch=max_mismatch,
                       required=required, exclude=exclude, max_steps=max_steps,
                       near_r2=near_r2, scaled_copies=scaled_copies)


def _search(x, names, half, *, rules, policies, max_mismatch, required, exclude, max_steps,
            near_r2, scaled_copies) -> SearchResult:
    budget = _Budget(max_steps)
    s = Searcher(x, half, max_mismatch=max_mismatch, budget=budget, names=names)
    res = SearchResult()
    m = x.shape[1]
    cols = [j for j in range(m) if j not in exclude]
    res.duplicates = duplicate_groups(x, half, cols)
    dup_members = {j for g in res.duplicates for j in g[1:]}
    reps = [j for j in cols if j not in dup_members]

    # 2. which columns are exact non-negative combinations of the others
    step_a: dict[int, Fit] = {}
    for p in reps:
        pool = [q for q in reps if q != p]
        f = _best_policy(s, p, pool, policies)
        if f is None:
            continue
        res.best[p] = f
        if f.n_bad <= s.allowed(f.n_rows):
            if _credible(f) or p in required:
                step_a[p] = f
            else:
                res.undetermined[p] = f
        elif f.r2 > 0.9 and (f.n_bad <= 0.5 * f.n_rows or f.n_rows <= 500):
            # how close: refit leaving out up to a quarter of the models, to name the misses
            g = s.fit(p, pool, f.policy, allowed=int(0.25 * f.n_rows)) \
                if f.policy != "skip" else None
            if g is not None and g.n_bad < f.n_bad:
                f = g
                res.best[p] = f
            if _near(f, near_r2):
                res.near[p] = f
    aggs = [p for p in reps if p in step_a]
    leaves = [q for q in reps if q not in step_a]
    # 3. order the aggregates bottom-up by the size of their leaf sets
    size: dict[int, int] = {}
    for p in aggs:
        f = s.fit(p, leaves, step_a[p].policy)
        size[p] = len(f.cols) if f is not None and f.n_bad <= s.allowed(f.n_rows) else m + 1
    order = _bottom_up(aggs, step_a, size)
    # 4. each aggregate over the current frontier (leaves and aggregates not yet inside another)
    frontier = set(leaves)
    children: dict[int, list[int]] = {}
    fits: dict[int, Fit] = {}
    for p in order:
        pool = sorted(frontier)
        f = _best_policy(s, p, pool, (step_a[p].policy,) + tuple(
            q for q in policies if q != step_a[p].policy))
        rule_fit = None
        if f is not None and f.n_bad <= s.allowed(f.n_rows):
            kids = sorted(f.cols)
            for policy in _policies_for(s, p, kids, f.policy, policies):
                rule_fit = s.fit_rule(p, kids, policy, rules)
                if rule_fit is not None:
                    break
        if rule_fit is None and f is not None and f.n_bad <= s.allowed(f.n_rows) \
                and len(f.cols) == 1 and scaled_copies and "weighted" not in rules:
            # a rescaled copy of one column (a total next to its average): the same aggregate
            rule_fit = s.fit_rule(p, list(f.cols), f.policy, ("weighted",))
        if rule_fit is None and f is not None and f.n_bad <= s.allowed(f.n_rows):
            # a column kept as a leaf (exact only by another rule) competes with its own
            # children in the frontier: try it in place of the columns of its fit
            kids = set(f.cols)
            swaps = [d for d in res.demoted if d in frontier and set(res.demoted[d].cols) & kids]
            for combo in ([swaps] if len(swaps) > 1 else []) + [[d] for d in swaps]:
                trial = set(kids)
                for d in combo:
                    trial = (trial - set(res.demoted[d].cols)) | {d}
                trial_l = sorted(trial)
                for policy in _policies_for(s, p, trial_l, f.policy, policies):
                    rule_fit = s.fit_rule(p, trial_l, policy, rules)
                    if rule_fit is not None:
                        break
                if rule_fit is not None:
                    break
        if rule_fit is None:
            if f is not None and f.n_bad <= s.allowed(f.n_rows):
                res.demoted[p] = f        # exact, but by no allowed rule
            else:
                res.overlapping[p] = step_a[p].cols  # exact only with columns used elsewhere
            frontier.add(p)
            continue
        children[p] = sorted(rule_fit.cols)
        fits[p] = rule_fit
        frontier -= set(children[p])
        frontier.add(p)
        res.frontier_fits[p] = f
    res.children, res.fits = children, fits
    # 5. uniqueness: could one child be left out and the fit stay as good?
    for p in children:
        pool = sorted((frontier | set(children[p])) - {p})
        alt = _alternative(s, p, res.frontier_fits[p], pool)
        if alt is not None:
            res.ambiguous[p] = (res.frontier_fits[p].cols, alt.cols)
    return res


def _bottom_up(aggs: list[int], step_a: dict[int, Fit], size: dict[int, int]) -> list[int]:
    """Aggregates ordered so that one used in another's exact fit comes first (smaller leaf
    sets first among the free ones; a cycle is broken at its smallest)."""
    key = {p: (size[p], -p) for p in aggs}
    needs = {p: {q for q in step_a[p].cols if q in key and q != p} for p in aggs}
    order: list[int] = []
    left = set(aggs)
    while left:
        free = [p for p in left if not (needs[p] & left)]
        p = min(free or left, key=key.__getitem__)
        order.append(p)
        left.discard(p)
    return order


def _near(f: Fit, r2: float) -> bool:
    """Close but not exact: within rounding on most models, with a high R^2."""
    return f.n_rows - f.n_bad >= 0.5 * f.n_rows and f.r2 >= r2


def _credible(f: Fit) -> bool:
    """An exact fit means something only with many more models than terms."""
    n_ok = f.n_rows - f.n_bad
    return n_ok >= 2 * len(f.cols) + 3


def _best_policy(s: Searcher, p: int, pool: list[int], policies) -> Fit | None:
    """The first policy that fits every model, else the one with fewest misses; one policy
    when nothing is missing (then they all agree)."""
    best = None
    rows = s.present[:, p]
    if not pool:
        gappy = []
    elif rows.all():
        gappy = [c for c in pool if not s._all_present[c]]
    else:
        have = s.present[rows][:, pool].all(axis=0)
        gappy = [c for c, h in zip(pool, have) if not h]
    if not gappy:
        policies = policies[:1]  # nothing missing where p is present: every policy is the same
    elif "complete" in policies and not _related(s, p, gappy):
        # the other policies differ only through columns with gaps; none of them moves with p
        # (|r| < 0.2 on the models both have), so none can be one of its children
        policies = ("complete",)
    for policy in policies:
        f = s.fit(p, pool, policy)
        if f is None:
            continue
        if f.n_bad == 0:
            return f
        if best is None or (f.n_bad, -np.nan_to_num(f.r2, nan=-np.inf)) < (
                best.n_bad, -np.nan_to_num(best.r2, nan=-np.inf)):
            best = f
    return best


def _related(s: Searcher, p: int, cols: list[int]) -> bool:
    """Whether any of ``cols`` correlates with ``p`` (|r| >= 0.2) where both have values."""
    y = s.x[:, p]
    for c in cols:
        both = s.present[:, p] & s.present[:, c]
        if both.sum() < 3:
            continue
        a, b = y[both], s.x[both, c]
        if a.std() == 0 or b.std() == 0:
            continue
        if abs(np.corrcoef(a, b)[0, 1]) >= 0.2:
            return True
    return False


def _policies_for(s: Searcher, p, kids, first, policies):
    rows = s.present[:, p]
    if s.present[rows][:, kids].all():
        return [policies[0]]
    return [first] + [q for q in policies if q != first]


def _alternative(s: Searcher, p: int, f: Fit, leaves: list[int]) -> Fit | None:
    """Another exact leaf set for ``p``, found by dropping one of its leaves; None if unique."""
    rows, cols, a = s.design(p, leaves, f.policy)
    if not cols:
        return None
    a = a.full()
    if f.policy == "skip":  # the linear form of the mean over the children present
        a = np.nan_to_num(a - s.x[rows, p][:, None], nan=0.0)
    pos = {c: i for i, c in enumerate(cols)}
    idx = [pos[c] for c in f.cols if c in pos]
    if len(idx) != len(f.cols):
        return None
    g = a.T @ a
    ridge = 1e-12 * max(float(np.trace(g)), 1e-300) / len(cols)
    try:
        diag = np.diag(np.linalg.inv(g + ridge * np.eye(len(cols))))
    except np.linalg.LinAlgError:
        return None
    ok = ~f.bad & f.rows
    rss_f = float((f.resid[ok] ** 2).sum())
    for c, i, w in zip(f.cols, idx, f.weights):
        rss = 1.0 / diag[i] if diag[i] > 0 else 0.0  # OLS residual of this leaf on the others
        if w * w * rss > 1.25 * rss_f + 1e-30:
            continue  # without it the fit is clearly worse: not an equally good alternative
        g2 = s.fit(p, [q for q in leaves if q != c], f.policy)
        if g2 is None or g2.n_bad > f.n_bad or set(g2.cols) == set(f.cols):
            continue
        ok2 = ~g2.bad & g2.rows
        if float((g2.resid[ok2] ** 2).sum()) <= 1.5 * rss_f + 1e-30:
            return g2
    return None


def describe_fit(f: Fit, names) -> str:
    """A fit in words: ``the mean of 2 ('a', 'b')``, ``the sum of ...`` or ``0.3*'a' + 0.7*'b'``."""
    big = np.asarray(f.weights, float) >= 0.01 * max(float(np.sum(f.weights)), 1e-300)
    cols = [names[c] for c, b in zip(f.cols, big) if b]  # terms of at least 1% of the total
    w = np.asarray(f.weights, float)[big]
    shown = ", ".join(repr(c) for c in cols[:4]) + (", ..." if len(cols) > 4 else "")
    if w.size and np.allclose(w, 1 / w.size, rtol=0.02, atol=0):
        return f"the mean of {len(cols)} ({shown})"
    if w.size and np.allclose(w, 1, rtol=0.02, atol=0):
        return f"the sum of {len(cols)} ({shown})"
    terms = " + ".join(f"{wi:.3g}*{c!r}" for wi, c in list(zip(w, cols))[:4])
    return terms + (" + ..." if len(cols) > 4 else "")
