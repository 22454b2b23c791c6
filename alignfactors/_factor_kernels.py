"""Private numerical kernels of factor analysis, each written once (ndarrays in, ndarrays out).

Used by :mod:`alignfactors.factors`, :mod:`alignfactors.factor_bootstrap` and the dimension
rules. Everything follows R's ``psych::fa`` (2.2.9) and ``GPArotation`` (2022.10):

- :func:`smc` -- squared multiple correlations (``psych::smc``), the start of minres/ml;
- :func:`eigh_desc` -- eigenvalues/vectors in descending order (R's ``eigen``);
- :func:`fit_uniquenesses` / :func:`extract` -- minres or ml over the uniquenesses with psych's
  objective and gradient (``fit.residuals``/``FAgr.minres``, ``FAfn``/``FAgr``) and bounds
  [0.005, 1], optionally from a warm start; :func:`fa1_values`, its one-factor case for
  parallel analysis;
- :func:`gpa_rotate` -- gradient projection rotation (``GPArotation::GPForth``/``GPFoblq``) with a
  starting rotation ``Tmat`` and criteria quartimax, Crawford-Ferguson (equamax), oblimin
  (``gam``), geomin (``delta``).

Written by hand because factor_analyzer's ``Rotator`` takes no starting rotation (needed to warm
start bootstrap refits) and its ``FactorAnalyzer`` has no warm start for the uniquenesses.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
from scipy import optimize
from scipy.linalg import lapack

LOWER_BOUND = 0.005  # psych::fa (and factor_analyzer) bound the uniquenesses to [0.005, 1]
_EPS = np.finfo(float).eps


# ----------------------------------------------------------------------------- linear algebra
def smc(r: np.ndarray) -> np.ndarray:
    """Squared multiple correlations ``1 - 1/diag(R^-1)`` (pseudo-inverse if singular), in [0, 1]."""
    try:
        inv = np.linalg.inv(r)
    except np.linalg.LinAlgError:
        inv = np.linalg.pinv(r)
    return np.clip(1 - 1 / np.diag(inv), 0, 1)


def eigh_desc(m: np.ndarray, k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (descending) and matching eigenvectors of a symmetric matrix; the first ``k`` if given."""
    vals, vecs = np.linalg.eigh(m)
    vals, vecs = vals[::-1], vecs[:, ::-1]
    return (vals, vecs) if k is None else (vals[:k], vecs[:, :k])


# ----------------------------------------------------------------------------- extraction
def _minres_fun_grad(psi: np.ndarray, s: np.ndarray, k: int) -> tuple[float, np.ndarray]:
    """psych's minres objective (``fit.residuals``) and gradient (``FAgr.minres``) from ONE eigh.

    Both decompose ``S`` with ``1 - psi`` on the diagonal (S has a unit diagonal, so this is also
    ``S - diag(psi)``). The objective sums squared lower-triangle residuals with eigenvalues below
    eps set to 100 eps; the gradient is ``diag(L L') + psi - 1`` with negative eigenvalues at 0.
    """
    r = s.copy()
    np.fill_diagonal(r, 1 - psi)
    vals, vecs = eigh_desc(r, k)
    load = vecs * np.sqrt(np.where(vals < _EPS, 100 * _EPS, vals))
    res = r - load @ load.T
    f = float(np.sum(np.tril(res, -1) ** 2))
    lg = vecs * np.sqrt(np.maximum(vals, 0))
    return f, np.einsum("ij,ij->i", lg, lg) + psi - np.diag(s)


def _ml_eig(psi, s):
    sc = 1 / np.sqrt(psi)
    return eigh_desc(s * sc[:, None] * sc[None, :])


def ml_loadings(psi: np.ndarray, s: np.ndarray, k: int) -> np.ndarray:
    """ML loadings at uniquenesses ``psi`` (psych's ``FAout``)."""
    vals, vecs = _ml_eig(psi, s)
    return np.sqrt(psi)[:, None] * vecs[:, :k] * np.sqrt(np.maximum(vals[:k] - 1, 0))


def _ml_fun_grad(psi: np.ndarray, s: np.ndarray, k: int) -> tuple[float, np.ndarray]:
    """psych's ML objective (``FAfn``) and gradient (``FAgr``) from one eigendecomposition."""
    vals, vecs = _ml_eig(psi, s)
    e = vals[k:]
    f = float(-(np.sum(np.log(e) - e) - k + s.shape[0]))
    load = np.sqrt(psi)[:, None] * vecs[:, :k] * np.sqrt(np.maximum(vals[:k] - 1, 0))
    return f, (np.einsum("ij,ij->i", load, load) + psi - np.diag(s)) / psi**2


def minres_loadings(psi: np.ndarray, s: np.ndarray, k: int) -> np.ndarray:
    """minres loadings at uniquenesses ``psi``: top-k eigenpairs of ``S - diag(psi)``."""
    vals, vecs = eigh_desc(s - np.diag(psi), k)
    return vecs * np.sqrt(np.maximum(vals, 0))


def principal_loadings(s: np.ndarray, k: int) -> np.ndarray:
    """Principal-component loadings: top-k eigenvectors scaled by sqrt(eigenvalue) (``psych::principal``)."""
    vals, vecs = eigh_desc(s, k)
    return vecs * np.sqrt(np.maximum(vals, 0))


def fit_uniquenesses(s: np.ndarray, k: int, method: str, *, start: np.ndarray | None = None,
                     max_iter: int = 1000, ftol: float = 1e-15, gtol: float = 1e-10) -> tuple[np.ndarray, bool, int]:
    """Uniquenesses minimising psych's minres or ml objective; returns (psi, converged, n_iter).

    Start at ``1 - smc(s)`` as psych does, or at ``start`` (a warm start, e.g. the full-data
    solution when refitting a bootstrap resample). L-BFGS-B with bounds [0.005, 1]. psych uses
    ``optim(L-BFGS-B, parscale = 0.01)``; scipy has no parscale, so the default tolerances are
    tightened instead (they put the fixtures within 1e-6 of psych).
    """
    fun = _minres_fun_grad if method == "minres" else _ml_fun_grad
    x0 = 1 - smc(s) if start is None else np.asarray(start, float)
    res = optimize.minimize(fun, np.clip(x0, LOWER_BOUND, 1), args=(s, k), jac=True, method="L-BFGS-B",
                            bounds=[(LOWER_BOUND, 1.0)] * s.shape[0],
                            options={"maxiter": max_iter, "ftol": ftol, "gtol": gtol, "maxcor": 20})
    converged = (bool(res.success) or res.status == 2) and res.nit < max_iter  # 2: no progress possible (at optimum)
    return res.x, converged, int(res.nit)


def extract(s: np.ndarray, k: int, method: str, *, start: np.ndarray | None = None, max_iter: int = 1000,
            ftol: float = 1e-15, gtol: float = 1e-10) -> tuple[np.ndarray, np.ndarray | None, bool, int]:
    """Unrotated loadings, the optimiser's bounded uniquenesses (None for principal), converged, n_iter."""
    if method == "principal":
        return principal_loadings(s, k), None, True, 0
    psi, converged, nit = fit_uniquenesses(s, k, method, start=start, max_iter=max_iter, ftol=ftol, gtol=gtol)
    load = minres_loadings(psi, s, k) if method == "minres" else ml_loadings(psi, s, k)
    return load, psi, converged, nit


def _minres1_fun_grad(load: np.ndarray, r: np.ndarray) -> tuple[float, np.ndarray]:
    e = r - np.outer(load, load)
    np.fill_diagonal(e, 0.0)
    return float(np.sum(e * e)), -4.0 * (e @ load)


def _fa1_fit(r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One-factor minres by L-BFGS-B over the loadings: (values, loadings); see :func:`fa1_values`."""
    p = r.shape[0]
    h = np.clip(smc(r), LOWER_BOUND, 1 - LOWER_BOUND)
    start = r.copy()
    np.fill_diagonal(start, h)
    w, v = eigh_desc(start, 1)
    load0 = v[:, 0] * math.sqrt(max(w[0], 1e-6))
    bound = math.sqrt(1 - LOWER_BOUND)
    fit = optimize.minimize(_minres1_fun_grad, load0, args=(r,), jac=True, method="L-BFGS-B",
                            bounds=[(-bound, bound)] * p, options={"maxiter": 1000, "ftol": 1e-14, "gtol": 1e-10})
    reduced = r.copy()
    np.fill_diagonal(reduced, fit.x * fit.x)
    return eigh_desc(reduced)[0], fit.x


def fa1_values(r: np.ndarray) -> np.ndarray:
    """``psych::fa(r, 1, fm="minres")$values`` (what ``fa.parallel`` compares): eigenvalues of ``r`` with
    the one-factor minres communalities on the diagonal, descending.

    The one-factor case of :func:`fit_uniquenesses` written over the loadings with the exact
    gradient: O(p^2) per step and no eigendecomposition, about 3x faster on the null matrices of
    parallel analysis; psych's bound h^2 <= 0.995. Agrees with psych's fixtures to 1e-7 (as
    ``extract(r, 1, "minres")`` does). Start: first principal axis of r with SMCs on the diagonal.
    For many matrices at once use :func:`fa1_fit_batch`.
    """
    return _fa1_fit(r)[0]


def _fa1_start(r: np.ndarray) -> np.ndarray:
    """Start of the one-factor fit for each of (m, p, p): the principal axis of r with SMCs on the
    diagonal, as :func:`fa1_values`. Per matrix through LAPACK (Cholesky inverse for the SMCs, one
    eigenpair by dsyevr): 2-3x cheaper than numpy's batched inverse and full eigh at p ~ 50."""
    m, p, _ = r.shape
    if p <= 12:  # tiny matrices: numpy's batched inverse and eigh beat a Python loop of LAPACK calls
        try:
            h = 1 - 1 / np.einsum("bii->bi", np.linalg.inv(r))
        except np.linalg.LinAlgError:  # a singular one in the batch: smc's pseudo-inverse for each
            h = np.stack([1 - 1 / np.diag(np.linalg.pinv(x)) for x in r])
        start = r.copy()
        idx = np.arange(p)
        start[:, idx, idx] = np.clip(h, LOWER_BOUND, 1 - LOWER_BOUND)
        w, v = np.linalg.eigh(start)
        return v[:, :, -1] * np.sqrt(np.maximum(w[:, -1], 1e-6))[:, None]
    out = np.empty((m, p))
    for i in range(m):
        c, info = lapack.dpotrf(r[i], lower=1)
        if info == 0:
            inv, info = lapack.dpotri(c, lower=1)
        h = 1 - 1 / np.diag(inv) if info == 0 else smc(r[i])  # not positive definite: smc's pseudo-inverse
        start = r[i].copy()
        np.fill_diagonal(start, np.clip(h, LOWER_BOUND, 1 - LOWER_BOUND))
        w, v, _, _, info = lapack.dsyevr(start, compute_v=1, range="I", il=p, iu=p)
        if info != 0:
            w, v = eigh_desc(start, 1)
        out[i] = v[:, 0] * math.sqrt(max(float(w[0]), 1e-6))
    return out


def _fa1_fun_grad(lv: np.ndarray, ro: np.ndarray, residuals: bool = False):
    """Batched one-factor minres objective sum_{i != j} (r_ij - l_i l_j)^2 and its gradient; ro has a zero
    diagonal. With ``residuals``, also the residual matrices e (zero diagonal), from which
    :func:`_fa1_hessian` builds the Hessian in two passes."""
    e = lv[:, :, None] * lv[:, None, :]
    np.subtract(ro, e, out=e)
    idx = np.arange(lv.shape[1])
    e[:, idx, idx] = 0.0
    f, g = np.einsum("bij,bij->b", e, e), -4.0 * np.matmul(e, lv[:, :, None])[:, :, 0]
    return (f, g, e) if residuals else (f, g)


def _fa1_hessian(lv: np.ndarray, ro: np.ndarray | None = None, e: np.ndarray | None = None) -> np.ndarray:
    """Its exact Hessian, 4 (diag(|l|^2 - l_i^2) - R_offdiag + 2 (l l')_offdiag), divided by 4.

    Off the diagonal it is ``l l' - e`` with the residuals ``e = R_offdiag - l l'`` (computed from
    ``ro`` when not given)."""
    if e is None:
        e = _fa1_fun_grad(lv, ro, residuals=True)[2]
    idx = np.arange(lv.shape[1])
    h = lv[:, :, None] * lv[:, None, :]
    h -= e
    h[:, idx, idx] = np.einsum("bi,bi->b", lv, lv)[:, None] - lv * lv
    return h


def _fa1_newton(load: np.ndarray, roff: np.ndarray, fixed: np.ndarray, rows: np.ndarray, max_iter: int,
                tol: float) -> np.ndarray:
    """Newton's method with a backtracking line search on ``load[rows]`` (updated in place), the
    loadings where ``fixed`` (len(rows), p) held constant; returns, per row, whether the free
    gradient fell below ``tol``. An indefinite Hessian (far from a minimum) is shifted to positive
    definite (Levenberg-Marquardt) so that every step descends."""
    p = load.shape[1]
    idx = np.arange(p)
    any_fixed = bool(fixed.any())
    ro = roff[rows]
    la = load[rows]
    f, g, e = _fa1_fun_grad(la, ro, residuals=True)
    if any_fixed:
        g = np.where(fixed, 0.0, g)
    active = np.arange(rows.size)
    fx = fixed
    done = np.zeros(rows.size, bool)
    for _ in range(max_iter):
        conv = np.max(np.abs(g), axis=1) < tol
        done[active[conv]] = True
        if conv.any():  # the converged leave the batch (their loadings are already in place)
            keep = ~conv
            active, f, g, la, ro, e, fx = active[keep], f[keep], g[keep], la[keep], ro[keep], e[keep], fx[keep]
        if active.size == 0:
            break
        h = _fa1_hessian(la, e=e)  # a quarter of the Hessian: the step solves h s = g / 4
        if any_fixed:
            h = np.where(fx[:, :, None] | fx[:, None, :], 0.0, h)
            h[:, idx, idx] = np.where(fx, 1.0, h[:, idx, idx])
        gq = 0.25 * g
        try:
            step = np.linalg.solve(h, gq[:, :, None])[:, :, 0]
            bad = ~(np.einsum("bi,bi->b", g, step) > 0) | ~np.isfinite(step).all(axis=1)
        except np.linalg.LinAlgError:  # a singular Hessian somewhere in the batch
            step, bad = np.zeros_like(g), np.ones(active.size, bool)
        if bad.any():
            hb = h[bad]
            lam = np.linalg.eigvalsh(hb)[:, 0]
            # the shift of the full Hessian (4 h): |lambda_min| + 1e-3 max(1, max |4 h|), in units of h
            hb[:, idx, idx] += (np.maximum(0.0, -lam) + 0.25e-3 * np.maximum(1.0, 4.0 * np.abs(hb).max(axis=(1, 2))))[:, None]
            step[bad] = np.linalg.solve(hb, gq[bad][:, :, None])[:, :, 0]
        t = np.ones(active.size)
        new_l, new_f, new_g, new_e = la.copy(), f.copy(), g.copy(), e
        pending = np.arange(active.size)
        for _ls in range(30):
            whole = pending.size == active.size
            cand = la - step if whole and _ls == 0 else la[pending] - t[pending, None] * step[pending]
            fc, gc, ec = _fa1_fun_grad(cand, ro if whole else ro[pending], residuals=True)
            ok = np.isfinite(fc) & (fc <= f[pending] + 1e-15 * np.abs(f[pending]))
            acc = pending[ok]
            if whole and ok.all():
                new_l, new_f, new_e = cand, fc, ec
                new_g = np.where(fx, 0.0, gc) if any_fixed else gc
            else:
                if new_e is e:
                    new_e = e.copy()
                new_l[acc], new_f[acc], new_e[acc] = cand[ok], fc[ok], ec[ok]
                new_g[acc] = np.where(fx[acc], 0.0, gc[ok]) if any_fixed else gc[ok]
            pending = pending[~ok]
            if pending.size == 0:
                break
            t[pending] /= 2
        la, f, g, e = new_l, new_f, new_g, new_e
        load[rows[active]] = la
        if pending.size:  # no decrease along the Newton direction: left to the caller's fallback
            keep = np.ones(active.size, bool)
            keep[pending] = False
            active, f, g, la, ro, e, fx = active[keep], f[keep], g[keep], la[keep], ro[keep], e[keep], fx[keep]
    return done


def fa1_fit_batch(r: np.ndarray, *, max_iter: int = 50, tol: float = 1e-11) -> tuple[np.ndarray, np.ndarray]:
    """:func:`fa1_values` of a stack of correlation matrices (m, p, p) at once: (values (m, p), loadings (m, p)).

    Same objective, start and bound as :func:`fa1_values`, minimised by Newton's method with the
    exact Hessian, batched over the stack with numpy: the per-matrix L-BFGS-B of
    :func:`fa1_values` costs about 2 ms in scipy's Python loop, which dominates parallel analysis
    (20 null matrices per bootstrap resample). Newton's quadratic convergence from the principal-axis
    start reaches a gradient norm below ``tol`` in a few steps (an indefinite Hessian on the way is
    shifted to positive definite). Loadings that pass psych's bound h^2 <= 0.995 are fixed at it
    and the rest refitted, kept where the KKT sign condition holds. A matrix whose steps do not
    converge, that fails that condition or whose Hessian over the free loadings is not positive
    definite at the end (a saddle) is refitted by :func:`fa1_values`, so the result is always the
    bounded minimum that :func:`fa1_values` finds (to ~1e-7, its tolerance). The start is the
    same principal axis as :func:`fa1_values`'s: the objective can have several minima (a
    power-iteration or warm start was measured to land in another one now and then), so the
    start is part of the definition, not a tuning knob.
    """
    r = np.asarray(r, dtype=float)
    m, p, _ = r.shape
    out, load_out = np.full((m, p), np.nan), np.full((m, p), np.nan)
    if m == 0:
        return out, load_out
    idx = np.arange(p)
    roff = r.copy()
    roff[:, idx, idx] = 0.0
    load = _fa1_start(r)
    bound = math.sqrt(1 - LOWER_BOUND)
    done = _fa1_newton(load, roff, np.zeros((m, p), bool), np.arange(m), max_iter, tol)
    good = done & np.all(np.abs(load) <= bound, axis=1)
    # psych's bound h^2 <= 0.995 active (a Heywood case, frequent in small null matrices): fix the
    # loadings past it at the bound and minimise over the others; accepted only where the fixed
    # ones satisfy the KKT sign condition (the gradient pushes them outward), as L-BFGS-B's would
    heywood = np.flatnonzero(~good & np.any(np.abs(load) > bound, axis=1))  # converged or not: past the bound
    if heywood.size:
        fixed = np.abs(load[heywood]) >= bound
        load[heywood] = np.clip(load[heywood], -bound, bound)
        ok = _fa1_newton(load, roff, fixed, heywood, max_iter, tol)
        _, g = _fa1_fun_grad(load[heywood], roff[heywood])
        kkt = np.all(~fixed | (g * np.sign(load[heywood]) <= 0), axis=1)
        inside = np.all(np.abs(load[heywood]) <= bound * (1 + 1e-12), axis=1)
        good[heywood[ok & kkt & inside]] = True
    if good.any():
        gi = np.flatnonzero(good)
        h = _fa1_hessian(load[gi], roff[gi])
        free = np.abs(load[gi]) < bound * (1 - 1e-9)
        h = np.where(free[:, :, None] & free[:, None, :], h, 0.0)  # curvature along the free loadings
        h[:, idx, idx] = np.where(free, h[:, idx, idx], 1.0)
        try:  # positive definite: a minimum (one batched Cholesky; eigenvalues only if it fails)
            np.linalg.cholesky(h)
        except np.linalg.LinAlgError:
            good[gi[np.linalg.eigvalsh(h)[:, 0] <= 0]] = False
            gi = np.flatnonzero(good)
        reduced = r[gi].copy()
        reduced[:, idx, idx] = load[gi] ** 2
        out[gi] = np.linalg.eigvalsh(reduced)[:, ::-1]
        load_out[gi] = load[gi]
    for i in np.flatnonzero(~good):
        out[i], load_out[i] = _fa1_fit(r[i])
    return out, load_out


# ----------------------------------------------------------------------------- rotation criteria (vgQ.*)
# Each takes loadings L of shape (..., p, k) -- one solution or a stack of B -- and returns the
# criterion f (shape (...)) and its gradient Gq (same shape as L).
def vgq_quartimax(L: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GPArotation ``vgQ.quartimax``: f = -sum(L^4)/4."""
    return -np.sum(L**4, axis=(-2, -1)) / 4, -(L**3)


def vgq_cf(L: np.ndarray, kappa: float) -> tuple[np.ndarray, np.ndarray]:
    """GPArotation ``vgQ.cf`` (Crawford-Ferguson family; kappa = k/(2p) is equamax)."""
    p, k = L.shape[-2:]
    L2 = L**2
    rows = L2 @ (np.ones((k, k)) - np.eye(k))
    cols = (np.ones((p, p)) - np.eye(p)) @ L2
    f = (1 - kappa) * np.sum(L2 * rows, axis=(-2, -1)) / 4 + kappa * np.sum(L2 * cols, axis=(-2, -1)) / 4
    return f, (1 - kappa) * L * rows + kappa * L * cols


def vgq_oblimin(L: np.ndarray, gam: float) -> tuple[np.ndarray, np.ndarray]:
    """GPArotation ``vgQ.oblimin``: gam 0 quartimin, 0.5 biquartimin, 1 covarimin."""
    p, k = L.shape[-2:]
    X = (L**2) @ (np.ones((k, k)) - np.eye(k))
    if gam != 0:
        X = X - (gam / p) * X.sum(axis=-2, keepdims=True)
    return np.sum(L**2 * X, axis=(-2, -1)) / 4, L * X


def vgq_geomin(L: np.ndarray, delta: float) -> tuple[np.ndarray, np.ndarray]:
    """GPArotation ``vgQ.geomin``."""
    k = L.shape[-1]
    L2 = L**2 + delta
    pro = np.exp(np.log(L2).sum(axis=-1) / k)
    return pro.sum(axis=-1), (2 / k) * (L / L2) * pro[..., None]


Criterion = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def _tr(x: np.ndarray) -> np.ndarray:
    return np.swapaxes(x, -1, -2)


def gpa_rotate(A: np.ndarray, criterion: Criterion, *, oblique: bool, Tmat: np.ndarray | None = None,
               eps: float = 1e-5, max_iter: int = 1000) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Gradient projection rotation, ``GPArotation::GPForth`` / ``GPFoblq`` step by step (normalize=FALSE).

    ``A`` is one unrotated solution (p, k) or a stack (B, p, k), rotated together: each solution
    follows exactly the iterations it would follow alone (its own step size, line search and
    stopping), the arithmetic is only batched, so a result does not depend on the batch it is in.
    Returns ``(L, Tmat, converged, n_iter)``: loadings ``L = A T`` (orthogonal) or
    ``L = A (T')^{-1}`` (oblique, Phi = T'T); stops when the projected gradient norm < ``eps``
    (GPArotation's default 1e-5). ``Tmat`` is the starting rotation (identity by default): a
    warm start, e.g. the full-data rotation when refitting bootstrap resamples.
    """
    single = A.ndim == 2
    A = A[None] if single else A
    B, _, k = A.shape
    T = np.broadcast_to(np.eye(k), (B, k, k)).copy() if Tmat is None else \
        np.array(np.broadcast_to(Tmat, (B, k, k)), dtype=float)

    def rot(a, t):
        if not oblique:
            return a @ t, None
        ti = np.linalg.inv(t)
        return a @ _tr(ti), ti

    def grad(a, L, Gq, ti):
        return _tr(a) @ Gq if not oblique else -_tr(_tr(L) @ Gq @ ti)

    L, Ti = rot(A, T)
    f, Gq = criterion(L)
    G = grad(A, L, Gq, Ti)
    al = np.ones(B)
    s = np.full(B, np.inf)
    n_iter = np.zeros(B, int)
    active = np.arange(B)
    for it in range(max_iter + 1):
        Ta, Ga = T[active], G[active]
        if oblique:
            Gp = Ga - Ta * np.sum(Ta * Ga, axis=-2, keepdims=True)
        else:
            M = _tr(Ta) @ Ga
            Gp = Ga - Ta @ ((M + _tr(M)) / 2)
        sa = np.sqrt(np.sum(Gp * Gp, axis=(-2, -1)))
        s[active] = sa
        n_iter[active] = it
        go = sa >= eps
        active, Gp, sa, Ta = active[go], Gp[go], sa[go], Ta[go]
        if active.size == 0 or it == max_iter:
            break
        Aa, fa = A[active], f[active]
        ala = al[active] * 2
        searching = np.ones(active.size, bool)
        Tt = np.empty_like(Ta)
        Lt = np.empty_like(L[active])
        ft = np.empty(active.size)
        Gqt = np.empty_like(Lt)
        Tit = np.empty_like(Ta) if oblique else None
        for _ in range(11):
            i = np.flatnonzero(searching)
            X = Ta[i] - ala[i, None, None] * Gp[i]
            if oblique:
                Tc = X / np.sqrt(np.sum(X**2, axis=-2, keepdims=True))
            else:
                u, _, vt = np.linalg.svd(X)
                Tc = u @ vt
            Lc, Tic = rot(Aa[i], Tc)
            fc, Gqc = criterion(Lc)
            Tt[i], Lt[i], ft[i], Gqt[i] = Tc, Lc, fc, Gqc
            if oblique:
                Tit[i] = Tic
            ok = fa[i] - fc > 0.5 * sa[i] ** 2 * ala[i]
            searching[i[ok]] = False
            ala[i[~ok]] /= 2
            if not searching.any():
                break
        T[active], L[active], f[active] = Tt, Lt, ft
        G[active] = grad(Aa, Lt, Gqt, Tit)
        al[active] = ala
    out_L = L[0] if single else L
    out_T = T[0] if single else T
    conv = s < eps
    return out_L, out_T, (bool(conv[0]) if single else conv), (int(n_iter[0]) if single else n_iter)
