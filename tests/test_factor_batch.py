"""Batched Newton refits of bootstrap_loadings (_factor_kernels.extract_batch / rotate_newton / rotate_batch)
against the per-matrix fits they replace (scipy L-BFGS-B minres, GPA rotation)."""

import numpy as np
import pytest

from alignfactors import _factor_kernels as K


def _corr(rng, n, p, k, strength):
    load = rng.uniform(0.3, 0.9, size=(p, k)) * (rng.random((p, k)) < 0.6) * strength
    x = rng.standard_normal((n, k)) @ load.T + rng.standard_normal((n, p))
    return np.corrcoef(x.T)


def _heywood():
    # two nearly collinear metrics: one-factor minres drives a uniqueness to the 0.005 bound
    r = np.array([[1.0, 0.99, 0.6], [0.99, 1.0, 0.3], [0.6, 0.3, 1.0]])
    return r


def _same_columns(a, b):
    """b's columns signed like a's (eigenvectors have arbitrary signs)."""
    return b * np.where(np.einsum("...ij,...ij->...j", a, b) < 0, -1.0, 1.0)[..., None, :]


@pytest.mark.parametrize("p,k", [(6, 1), (9, 2), (14, 3), (20, 2)])
def test_extract_batch_equals_the_per_matrix_fit(p, k):
    rng = np.random.default_rng(p * 10 + k)
    mats = np.stack([_corr(rng, int(rng.integers(60, 300)), p, k, s) for s in np.linspace(0.6, 1.6, 12)])
    for start in (None, K.extract(mats[0], k, "minres")[1]):  # psych's SMC start and a warm start
        load, psi, conv, _ = K.extract_batch(mats, k, "minres", start=start)
        for i, r in enumerate(mats):
            l1, psi1, c1, _ = K.extract(r, k, "minres", start=start)
            np.testing.assert_allclose(psi[i], psi1, atol=1e-6)
            np.testing.assert_allclose(load[i], _same_columns(load[i], l1), atol=1e-6)
            assert conv[i] == c1


def test_extract_batch_heywood_case_is_the_bounded_fit():
    """A Heywood case leaves Newton's unbounded path: it is refitted by L-BFGS-B with the bound [0.005, 1]."""
    r = _heywood()
    rng = np.random.default_rng(2)
    other = _corr(rng, 200, 3, 1, 1.0)
    load, psi, conv, _ = K.extract_batch(np.stack([other, r, other]), 1, "minres")
    l1, psi1, c1, _ = K.extract(r, 1, "minres")
    assert psi1.min() == pytest.approx(K.LOWER_BOUND) and psi[1].min() == pytest.approx(K.LOWER_BOUND)
    np.testing.assert_allclose(psi[1], psi1, atol=1e-12)
    np.testing.assert_allclose(load[1], _same_columns(load[1], l1), atol=1e-12)
    np.testing.assert_allclose(psi[0], psi[2], atol=0)
    np.testing.assert_allclose(psi[0], K.extract(other, 1, "minres")[1], atol=1e-6)


def test_extract_batch_does_not_depend_on_the_batch():
    rng = np.random.default_rng(5)
    mats = np.stack([_corr(rng, 150, 10, 2, 1.0) for _ in range(7)])
    load, psi, conv, it = K.extract_batch(mats, 2, "minres")
    for i in range(7):
        li, pi, ci, iti = K.extract_batch(mats[i:i + 1], 2, "minres")
        np.testing.assert_array_equal(psi[i], pi[0])
        np.testing.assert_array_equal(load[i], li[0])
        assert conv[i] == ci[0] and it[i] == iti[0]


def test_extract_batch_other_methods_are_the_per_matrix_fit():
    rng = np.random.default_rng(6)
    mats = np.stack([_corr(rng, 200, 8, 2, 1.2) for _ in range(3)])
    for method in ("ml", "principal"):
        load, psi, conv, _ = K.extract_batch(mats, 2, method)
        for i, r in enumerate(mats):
            l1, psi1, c1, _ = K.extract(r, 2, method)
            np.testing.assert_array_equal(load[i], l1)
            assert (psi is None) == (psi1 is None) and conv[i] == c1


def test_minres_hessian_is_the_derivative_of_psychs_gradient():
    rng = np.random.default_rng(3)
    s = _corr(rng, 300, 9, 2, 1.0)[None]
    psi = np.clip(1 - K.smc(s[0]), 0.05, 1)[None]
    w, v = K._minres_eig(s, psi)
    h = K._minres_batch_hessian(w, v, 2)[0]
    num = np.empty((9, 9))
    for j in range(9):
        d = np.zeros((1, 9))
        d[0, j] = 1e-6
        gp = K._minres_fun_grad(psi[0] + d[0], s[0], 2)[1]
        gm = K._minres_fun_grad(psi[0] - d[0], s[0], 2)[1]
        num[:, j] = (gp - gm) / 2e-6
    np.testing.assert_allclose(h, num, atol=1e-6)


ROTATIONS = [("oblimin", lambda L: K.vgq_oblimin(L, 0.0), True),
             ("biquartimin", lambda L: K.vgq_oblimin(L, 0.5), True),
             ("geomin_obl", lambda L: K.vgq_geomin(L, 0.01), True),
             ("quartimax", K.vgq_quartimax, False),
             ("equamax", lambda L: K.vgq_cf(L, 3 / 24), False),
             ("geomin_ort", lambda L: K.vgq_geomin(L, 0.01), False)]


def _unrotated(rng, b, p=12, k=3):
    simple = np.zeros((p, k))
    simple[np.arange(p), np.arange(p) % k] = rng.uniform(0.5, 0.9, p)
    out = []
    for _ in range(b):
        q, _ = np.linalg.qr(rng.standard_normal((k, k)))
        out.append((simple + rng.normal(scale=0.1, size=(p, k))) @ q)
    return np.stack(out)


@pytest.mark.parametrize("name,crit,oblique", ROTATIONS, ids=[r[0] for r in ROTATIONS])
def test_rotate_newton_finds_gpas_solution(name, crit, oblique):
    """Newton ends at a stationary minimum of GPA's criterion; from a start near GPA's solution (what a
    bootstrap's warm start is) it is GPA's solution, which GPA at eps 1e-7 approaches to ~1e-6. (From a far
    start the two paths may end at different optima: the criteria have several.)"""
    rng = np.random.default_rng(len(name))
    A = _unrotated(rng, 6)
    L, T, ok, _ = K.rotate_newton(A, crit, oblique=oblique)
    assert ok.all()
    f, g, L2 = K._rotation_fg(A, T, crit, oblique)
    assert np.sqrt(np.sum(g * g, axis=(1, 2))).max() < 1e-10
    np.testing.assert_array_equal(L, L2)
    Lg, Tg, cg, _ = K.gpa_rotate(A, crit, oblique=oblique, eps=1e-7, max_iter=100000)
    assert cg.all()
    near = Tg + rng.normal(scale=0.05, size=Tg.shape)
    Ln, Tn, okn, _ = K.rotate_newton(A, crit, oblique=oblique, Tmat=near)
    assert okn.all()
    np.testing.assert_allclose(Ln, Lg, atol=2e-5)
    np.testing.assert_allclose(K._rotation_fg(A, Tn, crit, oblique)[0], crit(Lg)[0], atol=1e-10)
    if oblique:
        np.testing.assert_allclose(np.sum(T * T, axis=1), 1, atol=1e-12)
    else:
        np.testing.assert_allclose(np.swapaxes(T, 1, 2) @ T, np.broadcast_to(np.eye(3), T.shape), atol=1e-12)


def test_rotate_newton_warm_start_and_batch_independence():
    rng = np.random.default_rng(9)
    A = _unrotated(rng, 5)
    crit = lambda L: K.vgq_oblimin(L, 0.0)  # noqa: E731
    start = np.stack([np.linalg.qr(rng.standard_normal((3, 3)))[0] for _ in range(5)])
    L, T, ok, it = K.rotate_newton(A, crit, oblique=True, Tmat=start)
    for i in range(5):
        Li, Ti, oki, iti = K.rotate_newton(A[i:i + 1], crit, oblique=True, Tmat=start[i])
        np.testing.assert_array_equal(L[i], Li[0])
        assert ok[i] == oki[0] and it[i] == iti[0]
    Lg = K.gpa_rotate(A, crit, oblique=True, Tmat=start, eps=1e-7, max_iter=100000)[0]
    np.testing.assert_allclose(L, Lg, atol=2e-5)


def test_rotate_batch_falls_back_to_gpa_with_its_flags(monkeypatch):
    rng = np.random.default_rng(4)
    A = _unrotated(rng, 4)
    crit = lambda L: K.vgq_oblimin(L, 0.0)  # noqa: E731
    newton = K.rotate_newton

    def half_solved(*args, **kw):
        L, T, ok, it = newton(*args, **kw)
        ok[1::2] = False
        return L, T, ok, it

    monkeypatch.setattr(K, "rotate_newton", half_solved)
    L, T, conv, it = K.rotate_batch(A, crit, oblique=True, max_iter=3)
    Lg, Tg, cg, itg = K.gpa_rotate(A[1::2], crit, oblique=True, max_iter=3)
    np.testing.assert_array_equal(L[1::2], Lg)
    assert not cg.any() and not conv[1::2].any() and conv[::2].all()
    np.testing.assert_array_equal(it[1::2], itg)


def test_fa1_fit_batch_in_passes_is_the_one_pass_fit(monkeypatch):
    """Bounding the arrays of a large stack (passes of _FA1_CHUNK cells) changes no value."""
    rng = np.random.default_rng(2)
    stack = np.stack([np.corrcoef(rng.standard_normal((60, 8)).T) for _ in range(7)])
    whole = K.fa1_fit_batch(stack)
    monkeypatch.setattr(K, "_FA1_CHUNK", 3 * 64)  # three matrices a pass
    parts = K.fa1_fit_batch(stack)
    np.testing.assert_array_equal(parts[0], whole[0])
    np.testing.assert_array_equal(parts[1], whole[1])
