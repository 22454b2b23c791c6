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

_FA1_CHUNK = 2e6  # matrix cells per fa1_fit_batch pass (16 MB per float64 array)
#: Newton steps after which a one-factor fit past psych's bound leaves the unbounded pass (on null
#: matrices none past it after 8 steps came back inside; they drifted on to the 50-step limit)
_FA1_LEAVE_AFTER = 8
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
    diagonal, as :func:`fa1_values`. Per matrix through LAPACK (the SMCs from the inverse Cholesky
    factor, one eigenpair by dsyevx): 2-3x cheaper than numpy's batched inverse and full eigh at
    p ~ 50, and 20 us a matrix cheaper than dpotri and dsyevr."""
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
        if info == 0:  # diag(r^-1) = column sums of squares of L^-1 (r = L L')
            c, info = lapack.dtrtri(c, lower=1)
        h = 1 - 1 / np.einsum("ij,ij->j", c, c) if info == 0 else smc(r[i])  # not positive definite: smc's pinv
        start = r[i].copy()
        np.fill_diagonal(start, np.clip(h, LOWER_BOUND, 1 - LOWER_BOUND))
        w, v, _, _, info = lapack.dsyevx(start, compute_v=1, range="I", il=p, iu=p)
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
                tol: float, leave_past: float | None = None) -> np.ndarray:
    """Newton's method with a backtracking line search on ``load[rows]`` (updated in place), the
    loadings where ``fixed`` (len(rows), p) held constant; returns, per row, whether the free
    gradient fell below ``tol``. An indefinite Hessian (far from a minimum) is shifted to positive
    definite (Levenberg-Marquardt) so that every step descends. With ``leave_past``, a row still
    unconverged after :data:`_FA1_LEAVE_AFTER` steps with a loading beyond it stops there (not
    converged): the unbounded minimum it heads for is past the bound, often at infinity."""
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
    for it in range(max_iter):
        conv = np.max(np.abs(g), axis=1) < tol
        done[active[conv]] = True
        if leave_past is not None and it >= _FA1_LEAVE_AFTER:
            leaving = ~conv & (np.max(np.abs(la), axis=1) > leave_past)
            conv = conv | leaving  # headed past the bound: left to the caller's bounded refit
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


def fa1_fit_batch(r: np.ndarray, *, max_iter: int = 50, tol: float = 1e-9) -> tuple[np.ndarray, np.ndarray]:
    """:func:`fa1_values` of a stack of correlation matrices (m, p, p) at once: (values (m, p), loadings (m, p)).

    Same objective, start and bound as :func:`fa1_values`, minimised by Newton's method with the
    exact Hessian, batched over the stack with numpy: the per-matrix L-BFGS-B of
    :func:`fa1_values` costs about 2 ms in scipy's Python loop, which dominates parallel analysis
    (20 null matrices per bootstrap resample). Newton's quadratic convergence from the principal-axis
    start reaches a gradient norm below ``tol`` in a few steps (an indefinite Hessian on the way is
    shifted to positive definite). ``tol`` 1e-9 leaves the values within ~1e-10 of the fully
    converged ones, 100x inside :func:`fa1_values`'s own tolerance, and saves the last of about
    five steps on null matrices of 50 metrics (about 10% of the fit). Loadings that pass psych's
    bound h^2 <= 0.995 are fixed at it and the rest refitted, kept where the KKT sign condition
    holds; a fit still past the bound after 8 Newton steps goes to that refit at once (on null
    matrices of 8-11 metrics about 10% drift there, and the batch iterated to 50 steps for them).
    A matrix whose steps do not converge, that fails that condition or whose Hessian over the free
    loadings is not positive definite at the end (a saddle) is refitted by :func:`fa1_values`, so
    the result is always a bounded local minimum, and the one :func:`fa1_values` finds (to ~1e-7,
    its tolerance) but for rare matrices where the objective has several minima and the two
    optimisers reach different ones from the same start (seen in 1 of 300 null matrices of 8
    metrics and 25 models). The start is the same principal axis as :func:`fa1_values`'s: a
    power-iteration or warm start was measured to land in another minimum now and then, so the
    start is part of the definition, not a tuning knob.
    """
    r = np.asarray(r, dtype=float)
    m, p, _ = r.shape
    step = max(1, int(_FA1_CHUNK // (p * p)))
    if m > step:  # Newton holds about ten (m, p, p) arrays: bound them (160 null matrices of 200 metrics: 0.3 GB)
        parts = [fa1_fit_batch(r[s:s + step], max_iter=max_iter, tol=tol) for s in range(0, m, step)]
        return np.concatenate([a for a, _ in parts]), np.concatenate([b for _, b in parts])
    out, load_out = np.full((m, p), np.nan), np.full((m, p), np.nan)
    if m == 0:
        return out, load_out
    idx = np.arange(p)
    roff = r.copy()
    roff[:, idx, idx] = 0.0
    load = _fa1_start(r)
    bound = math.sqrt(1 - LOWER_BOUND)
    done = _fa1_newton(load, roff, np.zeros((m, p), bool), np.arange(m), max_iter, tol, leave_past=bound)
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


# ----------------------------------------------------------------------------- batched refits (bootstrap)
# Newton's method over a stack of matrices at once, numpy-batched: a bootstrap refits thousands of
# resamples, and the per-matrix scipy L-BFGS-B / the first-order GPA spend most of their time in
# Python loops (ten-odd L-BFGS-B steps of a few numpy calls each; hundreds of GPA iterations).
# Each fit that Newton does not finish cleanly is done again by the per-matrix routine.
def _minres_eig(s: np.ndarray, psi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (ascending) and eigenvectors of ``S - diag(psi)`` for a stack (m, p, p)."""
    idx = np.arange(s.shape[-1])
    r = s.copy()
    r[:, idx, idx] -= psi
    return np.linalg.eigh(r)


def _minres_batch_fg(s_diag: np.ndarray, psi: np.ndarray, w: np.ndarray, v: np.ndarray, k: int
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ULS objective ``F = sum_{b>k} lambda_b^2 / 2``, its gradient ``diag(L L') + psi - diag(S)`` (psych's
    ``FAgr.minres``) and whether it is defined (the k-th eigenvalue is positive and above the next)."""
    p = w.shape[-1]
    top, wt = v[:, :, p - k:], w[:, p - k:]
    g = np.einsum("bij,bj,bij->bi", top, np.maximum(wt, 0.0), top) + psi - s_diag
    f = 0.5 * np.sum(w[:, : p - k] ** 2, axis=1)
    ok = (wt[:, 0] > 0) & (wt[:, 0] > w[:, p - k - 1]) if p > k else wt[:, 0] > 0
    return f, g, ok


def _minres_batch_hessian(w: np.ndarray, v: np.ndarray, k: int) -> np.ndarray:
    """Exact Hessian of the ULS objective over the uniquenesses (first-order eigen-perturbation):
    ``I - Q o Q - 2 sum_{a<=k<b} lambda_a / (lambda_a - lambda_b) (v_a o v_b)(v_a o v_b)'`` with
    ``Q = V_k V_k'`` (o: elementwise product; w ascending, the top k last), for a stack."""
    m, p, _ = v.shape
    top, rest, wr = v[:, :, p - k:], v[:, :, : p - k], w[:, None, : p - k]
    q = top @ _tr(top)
    h = -q * q
    for a in range(k):
        va, la = top[:, :, a], w[:, p - k + a, None, None]
        h -= 2.0 * (va[:, :, None] * va[:, None, :]) * ((rest * (la / (la - wr))) @ _tr(rest))
    h[:, np.arange(p), np.arange(p)] += 1.0
    return h


def _newton_direction(h: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Newton steps ``H^-1 g`` of a stack and whether each H was positive definite; where it was not,
    H is shifted to positive definite (Levenberg-Marquardt) so that the step descends."""
    n = h.shape[-1]
    pd = np.ones(h.shape[0], bool)
    try:
        np.linalg.cholesky(h)
    except np.linalg.LinAlgError:
        pd = np.linalg.eigvalsh(h)[:, 0] > 0
    if not pd.all():
        hb = h[~pd]
        lam = np.linalg.eigvalsh(hb)[:, 0]
        scale = np.maximum(1.0, np.abs(hb).max(axis=(1, 2)))
        h = h.copy()
        h[~pd] = hb + ((-lam + 1e-3 * scale)[:, None, None] * np.eye(n))
    with np.errstate(all="ignore"):
        step = np.linalg.solve(h, g[:, :, None])[:, :, 0]
    return step, pd


def _minres_newton(s: np.ndarray, start: np.ndarray, k: int, tol: float, max_iter: int
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Newton's method on the ULS objective for a stack; returns (psi, top-k loadings (m, p, k) in
    descending eigenvalue order, solved, n_iter). ``solved``: max |gradient| < ``tol`` inside the bounds
    [LOWER_BOUND, 1], at a minimum (the last Hessian positive definite unshifted)."""
    m, p, _ = s.shape
    psi = np.array(np.broadcast_to(start, (m, p)), dtype=float)
    s_diag = np.einsum("bii->bi", s)
    w, v = _minres_eig(s, psi)
    f, g, ok = _minres_batch_fg(s_diag, psi, w, v, k)
    vec = v.copy()
    wts = w.copy()
    solved = np.zeros(m, bool)
    pd_last = np.zeros(m, bool)
    n_iter = np.zeros(m, int)
    active = np.flatnonzero(ok)
    f, g, w, v = f[active], g[active], w[active], v[active]
    for it in range(max_iter + 1):
        conv = np.max(np.abs(g), axis=1) < tol
        if conv.any():
            solved[active[conv]] = True
            n_iter[active[conv]] = it
            vec[active[conv]], wts[active[conv]] = v[conv], w[conv]
        keep = ~conv
        active, f, g, w, v = active[keep], f[keep], g[keep], w[keep], v[keep]
        if active.size == 0 or it == max_iter:
            break
        step, pd = _newton_direction(_minres_batch_hessian(w, v, k), g)
        pd_last[active] = pd
        slope = np.einsum("bi,bi->b", g, step)
        t = np.ones(active.size)
        moved = np.zeros(active.size, bool)
        pending = np.flatnonzero(np.isfinite(slope) & (slope > 0))
        base = psi[active]
        for _ in range(30):
            if pending.size == 0:
                break
            cand = base[pending] - t[pending, None] * step[pending]
            inside = np.all((cand >= LOWER_BOUND) & (cand <= 1.0), axis=1)
            pending, cand = pending[inside], cand[inside]  # a step out of the bounds: per-matrix fit
            if pending.size == 0:
                break
            wc, vc = _minres_eig(s[active[pending]], cand)
            fc, gc, okc = _minres_batch_fg(s_diag[active[pending]], cand, wc, vc, k)
            acc = okc & (fc <= f[pending] - 1e-4 * t[pending] * slope[pending] + 1e-15 * np.abs(f[pending]))
            i = pending[acc]
            psi[active[i]], f[i], g[i], w[i], v[i] = cand[acc], fc[acc], gc[acc], wc[acc], vc[acc]
            moved[i] = True
            pending = pending[~acc]
            t[pending] /= 2
        active, f, g, w, v = active[moved], f[moved], g[moved], w[moved], v[moved]
    # converged without a Newton step (already at the optimum): check the curvature there
    unchecked = np.flatnonzero(solved & (n_iter == 0))
    if unchecked.size:
        _, pd_last[unchecked] = _newton_direction(_minres_batch_hessian(wts[unchecked], vec[unchecked], k),
                                                  np.zeros((unchecked.size, p)))
    solved &= pd_last
    load = vec[:, :, ::-1][:, :, :k] * np.sqrt(np.maximum(wts[:, ::-1][:, None, :k], 0.0))
    return psi, load, solved, n_iter


def extract_batch(s: np.ndarray, k: int, method: str, *, start: np.ndarray | None = None, max_iter: int = 1000,
                  ftol: float = 1e-15, gtol: float = 1e-10, tol: float = 1e-10, chunk: int = 64
                  ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray]:
    """:func:`extract` of a stack of correlation matrices (m, p, p): loadings (m, p, k), uniquenesses
    (m, p) (None for principal), converged (m,), n_iter (m,).

    minres: Newton's method on psych's objective over the uniquenesses, batched over the stack in
    numpy (``chunk`` matrices at a time). psych's gradient ``diag(L L') + psi - 1`` is the exact
    gradient of the ULS objective ``sum_{b>k} lambda_b(S - diag(psi))^2 / 2``, whose stationary
    points are minres's; its Hessian follows from first-order eigen-perturbation
    (:func:`_minres_batch_hessian`), so Newton converges quadratically from a warm start (3-5
    steps, each one batched eigendecomposition), to max |gradient| < ``tol`` (1e-10, the full-data
    fit's ``gtol``). A matrix whose fit leaves the bounds [0.005, 1] (a Heywood case), ends where the
    Hessian is not positive definite (a saddle), has its k-th eigenvalue non-positive or tied with
    the next, or does not converge in 50 steps is fitted by :func:`extract` (L-BFGS-B) from the same
    start with ``ftol``/``gtol``/``max_iter``: the result is the bounded minimum that :func:`extract`
    finds, to ~1e-6 (where extract's own tolerance stops it). ml and principal: per matrix. ``n_iter``
    counts Newton steps (L-BFGS-B iterations for the matrices refitted by :func:`extract`).
    Start: ``start`` (e.g. the full-data uniquenesses) or psych's ``1 - smc``.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(200, 2)) @ rng.normal(size=(2, 8)) + rng.normal(size=(200, 8))
    >>> r = np.stack([np.corrcoef(x[rng.integers(0, 200, 200)].T) for _ in range(3)])
    >>> load, psi, conv, _ = extract_batch(r, 2, "minres")
    >>> one = extract(r[1], 2, "minres")[1]
    >>> bool(conv.all()), bool(np.allclose(psi[1], one, atol=1e-7))
    (True, True)
    """
    s = np.asarray(s, dtype=float)
    m, p, _ = s.shape
    starts = np.stack([1 - smc(x) for x in s]) if start is None else \
        np.array(np.broadcast_to(np.asarray(start, float), (m, p)))
    starts = np.clip(starts, LOWER_BOUND, 1.0)
    if method != "minres" or m == 0 or not 0 < k < p:
        fits = [extract(x, k, method, start=None if start is None else st, max_iter=max_iter, ftol=ftol, gtol=gtol)
                for x, st in zip(s, starts)]
        load = np.stack([f[0] for f in fits]) if m else np.empty((0, p, k))
        psi = None if method == "principal" else (np.stack([f[1] for f in fits]) if m else np.empty((0, p)))
        return load, psi, np.array([f[2] for f in fits], bool), np.array([f[3] for f in fits], int)
    load, psi = np.empty((m, p, k)), np.empty((m, p))
    conv, n_iter = np.zeros(m, bool), np.zeros(m, int)
    for lo in range(0, m, chunk):
        sl = slice(lo, lo + chunk)
        psi[sl], load[sl], conv[sl], n_iter[sl] = _minres_newton(s[sl], starts[sl], k, tol, min(50, max_iter))
    for i in np.flatnonzero(~conv):
        load[i], psi[i], conv[i], n_iter[i] = extract(s[i], k, method, start=starts[i], max_iter=max_iter,
                                                      ftol=ftol, gtol=gtol)
    return load, psi, conv, n_iter


def _rotation_fg(A: np.ndarray, T: np.ndarray, criterion: Criterion, oblique: bool
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Criterion, its projected (Riemannian) gradient ``Gp`` -- GPA's, whose norm GPA stops on -- and
    the loadings, for rotations T of unrotated loadings A (stacks (..., p, k), (..., k, k))."""
    if oblique:
        Ti = np.linalg.inv(T)
        L = A @ _tr(Ti)
        f, Gq = criterion(L)
        G = -_tr(_tr(L) @ Gq @ Ti)
        return f, G - T * np.sum(T * G, axis=-2, keepdims=True), L
    L = A @ T
    f, Gq = criterion(L)
    G = _tr(A) @ Gq
    M = _tr(T) @ G
    return f, G - T @ ((M + _tr(M)) / 2), L


def _retract(X: np.ndarray, oblique: bool) -> np.ndarray:
    """Back onto the constraint set as GPA steps: unit columns (oblique) or the polar factor (orthogonal)."""
    if oblique:
        return X / np.sqrt(np.sum(X * X, axis=-2, keepdims=True))
    u, _, vt = np.linalg.svd(X)
    return u @ vt


def _project(T: np.ndarray, V: np.ndarray, oblique: bool) -> np.ndarray:
    """V projected on the tangent space at T."""
    if oblique:
        return V - T * np.sum(T * V, axis=-2, keepdims=True)
    M = _tr(T) @ V
    return V - T @ ((M + _tr(M)) / 2)


def _tangent_basis(T: np.ndarray, oblique: bool) -> np.ndarray:
    """A basis (b, m, k, k) of the tangent space at each T (b, k, k): oblique, for each column j the k - 1
    columns of the Householder reflection taking e_1 to t_j (m = k(k-1)); orthogonal, T (e_a e_b' - e_b e_a')
    for a < b (m = k(k-1)/2)."""
    b, k, _ = T.shape
    if not oblique:
        a_idx, b_idx = np.triu_indices(k, 1)
        E = np.zeros((a_idx.size, k, k))
        E[np.arange(a_idx.size), a_idx, b_idx], E[np.arange(a_idx.size), b_idx, a_idx] = 1.0, -1.0
        return T[:, None] @ E[None]
    Z = np.zeros((b, k, k - 1, k, k))
    for j in range(k):
        w = T[:, :, j].copy()
        w[:, 0] += np.where(w[:, 0] >= 0, 1.0, -1.0)
        H = np.eye(k) - 2 * w[:, :, None] * w[:, None, :] / np.sum(w * w, axis=1)[:, None, None]
        Z[:, j, :, :, j] = _tr(H[:, :, 1:])
    return Z.reshape(b, k * (k - 1), k, k)


def rotate_newton(A: np.ndarray, criterion: Criterion, *, oblique: bool, Tmat: np.ndarray | None = None,
                  tol: float = 1e-10, max_iter: int = 50, h: float = 1e-6
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The rotation :func:`gpa_rotate` converges to, found by Newton's method: same criterion, same
    constraint (oblique: unit columns of T, L = A (T')^-1; orthogonal: T'T = I, L = A T), same start.

    GPA is a first-order method: near a flat optimum it needs hundreds of iterations (its 1e-5
    stopping rule then leaves errors of ~1e-4 in the loadings). Here each step solves the Newton
    system in coordinates of the tangent space at T (k(k-1) oblique, k(k-1)/2 orthogonal), with the
    Hessian from forward differences (step ``h``) of GPA's projected gradient, all resamples of the
    stack and all directions in one batched evaluation, then retracts as GPA does and backtracks
    (Armijo) on the criterion; an indefinite Hessian (far from the optimum) is shifted to positive
    definite. Written by hand because GPArotation/factor_analyzer have no second-order rotation.
    Returns ``(L, T, solved, n_iter)``; ``solved``: GPA's gradient norm below ``tol`` at a minimum
    (the last Hessian positive definite unshifted). See :func:`rotate_batch` for the GPA fallback.

    GPA run to a smaller ``eps`` approaches the same solution (GPA cannot reach ~1e-8: its line
    search then compares criterion changes below rounding):

    >>> import numpy as np
    >>> A = np.random.default_rng(0).normal(scale=0.5, size=(10, 3))
    >>> crit = lambda L: vgq_oblimin(L, 0.0)
    >>> L, T, ok, _ = rotate_newton(A[None], crit, oblique=True)
    >>> [float(np.abs(L[0] - gpa_rotate(A, crit, oblique=True, eps=eps)[0]).max().round(7)) for eps in (1e-5, 1e-7)]
    [2.6e-05, 3e-07]
    >>> bool(ok[0])
    True
    """
    A = np.asarray(A, dtype=float)
    B, p, k = A.shape
    T = np.broadcast_to(np.eye(k), (B, k, k)).copy() if Tmat is None else \
        _retract(np.array(np.broadcast_to(Tmat, (B, k, k)), dtype=float), oblique)
    f, g, L = _rotation_fg(A, T, criterion, oblique)
    L, T_out = L.copy(), T.copy()
    solved, pd_last = np.zeros(B, bool), np.zeros(B, bool)
    n_iter = np.zeros(B, int)
    active = np.arange(B)
    for it in range(max_iter + 1):
        conv = np.sqrt(np.sum(g * g, axis=(-2, -1))) < tol
        solved[active[conv]] = True
        n_iter[active[conv]] = it
        keep = ~conv
        active, f, g, T = active[keep], f[keep], g[keep], T[keep]
        if active.size == 0 or it == max_iter:
            break
        b = active.size
        Aa = A[active]
        Z = _tangent_basis(T, oblique)
        m = Z.shape[1]
        gy = np.einsum("bmij,bij->bm", Z, g)
        _, gh, _ = _rotation_fg(Aa[:, None], _retract(T[:, None] + h * Z, oblique), criterion, oblique)
        HZ = (_project(T[:, None], gh, oblique) - g[:, None]) / h
        H = np.einsum("bmij,bnij->bmn", Z, HZ)
        step, pd = _newton_direction((H + _tr(H)) / 2, gy)
        pd_last[active] = pd
        D = -np.einsum("bm,bmij->bij", step, Z)
        slope = np.einsum("bm,bm->b", gy, step)
        t = np.ones(b)
        moved = np.zeros(b, bool)
        pending = np.flatnonzero(np.isfinite(slope) & (slope > 0))
        for _ in range(30):
            if pending.size == 0:
                break
            Tc = _retract(T[pending] + t[pending, None, None] * D[pending], oblique)
            with np.errstate(all="ignore"):
                fc, gc, Lc = _rotation_fg(Aa[pending], Tc, criterion, oblique)
            acc = np.isfinite(fc) & (fc <= f[pending] - 1e-4 * t[pending] * slope[pending] + 1e-14 * np.abs(f[pending]))
            i = pending[acc]
            T[i], f[i], g[i] = Tc[acc], fc[acc], gc[acc]
            L[active[i]], T_out[active[i]] = Lc[acc], Tc[acc]
            moved[i] = True
            pending = pending[~acc]
            t[pending] /= 2
        active, f, g, T = active[moved], f[moved], g[moved], T[moved]
    unchecked = np.flatnonzero(solved & (n_iter == 0))
    for i in unchecked:  # at the optimum from the start: check the curvature there
        Ti = T_out[i:i + 1]
        Z = _tangent_basis(Ti, oblique)
        _, g0, _ = _rotation_fg(A[i:i + 1], Ti, criterion, oblique)
        _, gh, _ = _rotation_fg(A[i:i + 1, None], _retract(Ti[:, None] + h * Z, oblique), criterion, oblique)
        H = np.einsum("bmij,bnij->bmn", Z, (_project(Ti[:, None], gh, oblique) - g0[:, None]) / h)
        pd_last[i] = _newton_direction((H + _tr(H)) / 2, np.zeros((1, Z.shape[1])))[1][0]
    return L, T_out, solved & pd_last, n_iter


def rotate_batch(A: np.ndarray, criterion: Criterion, *, oblique: bool, Tmat: np.ndarray | None = None,
                 eps: float = 1e-5, max_iter: int = 1000, tol: float = 1e-10
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """GPA's rotation of a stack (B, p, k) by :func:`rotate_newton` (to gradient norm ``tol``); the
    solutions it does not finish are rotated by :func:`gpa_rotate` from the same start with GPA's
    ``eps`` and ``max_iter``, whose convergence flags they keep. Returns ``(L, T, converged, n_iter)``."""
    A = np.asarray(A, dtype=float)
    B, _, k = A.shape
    Tm = None if Tmat is None else np.array(np.broadcast_to(Tmat, (B, k, k)), dtype=float)
    L, T, conv, n_iter = rotate_newton(A, criterion, oblique=oblique, Tmat=Tm, tol=tol)
    bad = np.flatnonzero(~conv)
    if bad.size:
        L[bad], T[bad], conv[bad], n_iter[bad] = gpa_rotate(A[bad], criterion, oblique=oblique,
                                                            Tmat=None if Tm is None else Tm[bad], eps=eps,
                                                            max_iter=max_iter)
    return L, T, conv, n_iter
