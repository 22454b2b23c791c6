"""Tests of alignfactors.factors against R psych 2.2.9 fixtures (tests/reference/psych_reference.R)."""

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from alignfactors.errors import (ConvergenceWarning, DataError, NotFittedError, ParameterError, ParameterTypeError,
                                 SmoothingWarning)
from alignfactors.adequacy import bartlett_sphericity, kmo
from alignfactors.correlation import cor_smooth
from alignfactors.factor_bootstrap import bootstrap_loadings
from alignfactors.factors import FactorModel, tucker_congruence

REF = Path(__file__).parent / "reference"
DATASETS = ["harman74", "thurstone", "sim3"]
GRID = [(ds, fm, rot) for ds in DATASETS for fm in ("minres", "ml") for rot in ("none", "varimax", "oblimin", "promax")]
# Tolerances. Our optimiser converges tighter than R's optim/varimax (eps 1e-5), so the
# differences are R's convergence error: loadings <= 5e-4 (varimax, stats::varimax stops at
# 1e-5), other rotations and uniquenesses <= 1e-4, fit indices relative 1e-5.
ATOL_LOAD = {"none": 1e-4, "varimax": 1e-3, "oblimin": 1e-4, "promax": 2e-4}


def _ref(name):
    return json.loads((REF / f"{name}.json").read_text())


def _corr(d):
    return pd.DataFrame(d["correlation"], index=d["variables"], columns=d["variables"])


def _fit_ref(ds, fm, rot):
    d = _ref(ds)
    model = FactorModel(d["n_factors"], method=fm, rotation=None if rot == "none" else rot)
    return model.fit(_corr(d), is_corr=True, n_obs=d["n_obs"]), d["fa"][f"{fm}_{rot}"], d


def _sim(n=2000, seed=1):
    rng = np.random.default_rng(seed)
    L = np.zeros((9, 3))
    L[0:3, 0], L[3:6, 1], L[6:9, 2] = [0.8, 0.7, 0.6], [0.75, 0.65, 0.55], [0.7, 0.6, 0.5]
    phi = np.array([[1, 0.3, 0.2], [0.3, 1, 0.25], [0.2, 0.25, 1]])
    f = rng.normal(size=(n, 3)) @ np.linalg.cholesky(phi).T
    e = rng.normal(size=(n, 9)) * np.sqrt(1 - np.diag(L @ phi @ L.T))
    X = pd.DataFrame(f @ L.T + e, index=[f"m{i}" for i in range(n)], columns=[f"v{j}" for j in range(9)])
    return X, L


# ------------------------------------------------------------------ reference (psych)
@pytest.mark.parametrize("ds,fm,rot", GRID)
def test_fa_matches_psych(ds, fm, rot):
    m, ref, _ = _fit_ref(ds, fm, rot)
    # same factor order and signs as psych (both sort by variance explained, positive column sums)
    np.testing.assert_allclose(m.loadings_.to_numpy(), ref["loadings"]["values"], atol=ATOL_LOAD[rot])
    np.testing.assert_allclose(m.uniquenesses_.to_numpy(), ref["uniquenesses"], atol=1e-4)
    np.testing.assert_allclose(m.communalities_.to_numpy(), ref["communalities"], atol=1e-4)
    if ref["Phi"] is not None:
        np.testing.assert_allclose(m.factor_corr_.to_numpy(), ref["Phi"], atol=1e-4)
    else:
        np.testing.assert_array_equal(m.factor_corr_.to_numpy(), np.eye(m.n_factors))
    f = m.fit_
    assert f.dof == ref["dof"]
    for ours, theirs in [(f.statistic, "STATISTIC"), (f.objective, "objective"), (f.tli, "TLI"), (f.bic, "BIC"),
                         (f.null_statistic, "null_chisq")]:
        assert ours == pytest.approx(ref[theirs], rel=1e-5, abs=1e-4), theirs
    assert f.rmsea == pytest.approx(ref["RMSEA"], abs=1e-6)
    # R's uniroot stops at tol ~1.2e-4 in the noncentrality: about 1e-5 in RMSEA
    np.testing.assert_allclose(f.rmsea_ci, ref["RMSEA_full"][1:3], atol=5e-5)
    assert f.p_value == pytest.approx(ref["PVAL"], rel=1e-4, abs=1e-8)
    assert m.converged_ and m.heywood_ == []


@pytest.mark.parametrize("ds", DATASETS)
@pytest.mark.parametrize("rot", ["none", "varimax"])
def test_ml_matches_factanal(ds, rot):
    d = _ref(ds)
    ref = d["factanal"][rot]
    m = FactorModel(d["n_factors"], method="ml", rotation=None if rot == "none" else rot)
    m.fit(_corr(d), is_corr=True, n_obs=d["n_obs"])
    np.testing.assert_allclose(m.loadings_.to_numpy(), ref["loadings"]["values"], atol=ATOL_LOAD[rot])
    np.testing.assert_allclose(m.uniquenesses_.to_numpy(), ref["uniquenesses"], atol=1e-4)
    assert m.fit_.objective == pytest.approx(ref["objective"], rel=1e-6)


@pytest.mark.parametrize("ds", DATASETS)
def test_kmo_bartlett_match_psych(ds):
    d = _ref(ds)
    km = kmo(_corr(d), is_corr=True)
    assert km.overall == pytest.approx(d["kmo"]["MSA"], abs=1e-12)
    np.testing.assert_allclose(km.per_variable.to_numpy(), d["kmo"]["MSAi"], atol=1e-12)
    assert list(km.per_variable.index) == d["variables"]
    b = bartlett_sphericity(_corr(d), is_corr=True, n_obs=d["n_obs"])
    assert b.statistic == pytest.approx(d["bartlett"]["chisq"], rel=1e-12)
    assert b.dof == d["bartlett"]["df"]
    assert b.p_value == pytest.approx(d["bartlett"]["p_value"], rel=1e-10)
    assert list(km.to_frame()["metric"])[-1] == "overall" and "msa" in km.to_markdown()
    assert b.to_frame().shape == (1, 4) and "p_value" in b.to_markdown()


@pytest.mark.parametrize("case", ["hand_made", "pairwise_missing"])
def test_cor_smooth_matches_psych(case):
    c = _ref("cor_smooth")["cases"][case]
    out, smoothed = cor_smooth(np.array(c["input"]))
    assert smoothed
    np.testing.assert_allclose(out, c["output"], atol=1e-12)
    np.testing.assert_allclose(np.sort(np.linalg.eigvalsh(out))[::-1], c["output_eigenvalues"], atol=1e-12)


def test_smoothing_warns_and_records():
    c = _ref("cor_smooth")["cases"]["hand_made"]
    R = pd.DataFrame(c["input"], index=c["variables"], columns=c["variables"])
    with pytest.warns(SmoothingWarning, match="not positive definite"), \
            pytest.warns(ConvergenceWarning, match="Heywood case: metrics \\['A1'\\]"):
        m = FactorModel(1).fit(R, is_corr=True, n_obs=50)
    assert m.smoothed_
    np.testing.assert_allclose(m.corr_.to_numpy(), c["output"], atol=1e-12)


def test_sim_data_raw_pearson_matches_correlation_fit():
    d = _ref("sim3")
    X = pd.read_csv(REF / d["data_file"])
    m = FactorModel(3, rotation="oblimin", corr_method="pearson").fit(X)
    ref = d["fa"]["minres_oblimin"]
    np.testing.assert_allclose(m.loadings_.to_numpy(), ref["loadings"]["values"], atol=1e-4)
    assert m.n_obs_ == 150


# ------------------------------------------------------------------ recovery
def test_recovers_simulated_loadings():
    X, L = _sim()
    m = FactorModel(3, rotation="oblimin", corr_method="pearson").fit(X)
    cong = np.abs(tucker_congruence(m.loadings_.to_numpy(), L))
    assert np.all(cong.max(axis=0) > 0.98)
    assert m.converged_ and not m.heywood_


# ------------------------------------------------------------------ sklearn contract
def test_sklearn_contract():
    m = FactorModel(2, rotation="varimax")
    assert not any(k.endswith("_") for k in vars(m))
    with pytest.raises(NotFittedError, match="call fit"):
        m.loadings_
    with pytest.raises(AttributeError):
        m.fit_
    assert m.get_params() == {"n_factors": 2, "method": "minres", "rotation": "varimax", "gamma": 0.0, "corr_method": "spearman",
                              "max_iter": 1000, "smooth": True}
    X, _ = _sim(200)
    assert m.fit(X) is m
    c = clone(m)
    assert c.get_params() == m.get_params() and "loadings_" not in vars(c)
    assert m.set_params(rotation="promax") is m and m.rotation == "promax"
    scores = FactorModel(3, corr_method="pearson").fit_transform(X)
    assert scores.shape == (200, 3) and list(scores.index) == list(X.index)
    with pytest.raises(NotFittedError, match="call fit"):
        FactorModel(1).transform(X)


@pytest.mark.filterwarnings("ignore::alignfactors.errors.ConvergenceWarning")  # Heywood fits on sklearn's random data
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")
def test_check_estimator_passes():
    """scikit-learn's full estimator check suite. No check is skipped on purpose: the only one
    scikit-learn skips itself is check_array_api_input (needs SCIPY_ARRAY_API=1 and array-api-compat;
    FactorModel does not claim array-API support)."""
    from sklearn.utils.estimator_checks import check_estimator

    results = check_estimator(FactorModel(), on_fail=None)
    failed = {r["check_name"]: str(r["exception"])[:200] for r in results if r["status"] == "failed"}
    skipped = {r["check_name"] for r in results if r["status"] == "skipped"}
    assert failed == {}
    assert skipped <= {"check_array_api_input"}
    assert len(results) >= 45


def test_correlation_input_has_no_data_state():
    d = _ref("thurstone")
    m = FactorModel(3).fit(_corr(d), is_corr=True, n_obs=d["n_obs"])
    assert "mean_" not in vars(m) and m.n_features_in_ == 9
    with pytest.raises(AttributeError, match="fitted on a correlation matrix"):
        m.mean_
    with pytest.raises(DataError, match="fitted on a correlation matrix"):
        m.transform(_corr(d))
    X, _ = _sim(200)
    assert "mean_" in vars(FactorModel(3).fit(X)) and "mean_" not in vars(m.fit(_corr(d), is_corr=True))


def test_transform_array_in_array_out_and_set_output():
    X, _ = _sim(200)
    a = FactorModel(2, corr_method="pearson").fit(X.to_numpy())
    s = a.transform(X.to_numpy())
    assert isinstance(s, np.ndarray) and s.shape == (200, 2)
    np.testing.assert_allclose(FactorModel(2, corr_method="pearson").fit(X).transform(X).to_numpy(), s)
    out = FactorModel(2, corr_method="pearson").set_output(transform="pandas").fit(X.to_numpy()).transform(X.to_numpy())
    assert list(out.columns) == ["F1", "F2"]
    with pytest.raises(DataError, match="X has 3 features, but FactorModel is expecting 9"):
        a.transform(X.to_numpy()[:, :3])


def test_oblimax_deprecated_and_gamma_validated():
    X, _ = _sim(200)
    with pytest.warns(DeprecationWarning, match="oblimax.*no counterpart in R"):
        FactorModel(2, rotation="oblimax").fit(X)
    with pytest.raises(ParameterError, match="gamma is oblimin's parameter"):
        FactorModel(2, rotation="varimax", gamma=0.5).fit(X)
    with pytest.raises(ParameterError, match="gamma must be a finite number"):
        FactorModel(2, rotation="oblimin", gamma=float("nan")).fit(X)


def test_with_rotation_returns_new_model():
    X, _ = _sim(300)
    m = FactorModel(3, corr_method="pearson").fit(X)
    before = m.loadings_.copy()
    o = m.with_rotation("oblimin")
    assert o is not m and o.rotation == "oblimin" and m.rotation is None
    pd.testing.assert_frame_equal(m.loadings_, before)
    direct = FactorModel(3, rotation="oblimin", corr_method="pearson").fit(X)
    np.testing.assert_allclose(o.loadings_, direct.loadings_, atol=1e-12)
    np.testing.assert_allclose(o.transform(X), direct.transform(X), atol=1e-10)


def test_rendering_and_dict():
    X, _ = _sim(300)
    m = FactorModel(2, rotation="oblimin").fit(X)
    s = m.summary()
    assert "Factor correlations" in s and "RMSEA" in s and "v0" in s
    tidy = m.get_loadings_frame()
    assert list(tidy.columns) == ["metric", "factor", "loading"] and len(tidy) == 18
    d = m.to_dict()
    json.dumps(d)
    assert d["params"]["rotation"] == "oblimin" and set(d["loadings"]["v0"]) == {"F1", "F2"}
    m2 = FactorModel(2).fit(_corr(_ref("thurstone")), is_corr=True)
    assert np.isnan(m2.fit_.statistic) and m2.to_dict()["fit"]["statistic"] is None


# ------------------------------------------------------------------ errors
def test_errors():
    X, _ = _sim(100)
    Xn = X.copy()
    Xn.iloc[3, 2] = np.nan
    with pytest.raises(DataError, match=r"missing values in metrics \['v2'\].*clean\(\).*is_corr=True"):
        FactorModel(1).fit(Xn)
    with pytest.raises(ParameterError, match="n_factors must be between 1 and .* 8.*got 9"):
        FactorModel(9).fit(X)
    with pytest.raises(ParameterTypeError, match="n_factors must be an int"):
        FactorModel(2.0).fit(X)
    with pytest.raises(ParameterError, match="method must be one of.*got 'pa'"):
        FactorModel(1, method="pa").fit(X)
    with pytest.raises(ParameterError, match="rotation must be one of.*got 'bogus'"):
        FactorModel(1, rotation="bogus").fit(X)
    with pytest.raises(ParameterError, match="corr_method must be one of"):
        FactorModel(1, corr_method="cosine").fit(X)
    with pytest.raises(DataError, match="too few models.*needs at least 5.*got 4"):
        FactorModel(3).fit(X.iloc[:4])
    Xc = X.copy()
    Xc["v1"] = 1.0
    with pytest.raises(DataError, match=r"\['v1'\] are constant"):
        FactorModel(1).fit(Xc)
    with pytest.raises(DataError, match="symmetric correlation matrix"):
        FactorModel(1).fit(X.iloc[:9], is_corr=True)
    with pytest.raises(DataError, match="Expected 2D array"):
        FactorModel(1).fit([1.0, 2.0, 3.0])
    Xi = X.copy()
    Xi.iloc[0, 4] = np.inf
    with pytest.raises(DataError, match=r"infinite values \(inf\) in metrics \['v4'\]"):
        FactorModel(1).fit(Xi)
    with pytest.raises(ParameterTypeError, match="dense"):
        from scipy import sparse
        FactorModel(1).fit(sparse.csr_matrix(X.to_numpy()))
    with pytest.raises(DataError, match=r"missing values in \['v2'\]"):
        kmo(Xn)
    with pytest.raises(ParameterError, match="n_obs must be an integer"):
        bartlett_sphericity(X.corr(), is_corr=True)


def test_heywood_detected_and_warned():
    # three metrics, two nearly collinear: minres drives a uniqueness to the 0.005 bound
    R = np.array([[1.0, 0.99, 0.3], [0.99, 1.0, 0.3], [0.3, 0.3, 1.0]])
    R[0, 2] = R[2, 0] = 0.6
    with pytest.warns(ConvergenceWarning, match="Heywood"), pytest.warns(SmoothingWarning):
        m = FactorModel(1).fit(R, is_corr=True, n_obs=100)
    # psych's convention: the communality of a Heywood metric is 1 - the bounded uniqueness,
    # while uniquenesses_ (1 - diag(L Phi L')) shows how improper the solution is
    assert m.heywood_ and np.allclose(m.communalities_[m.heywood_], 0.995)
    assert m.uniquenesses_[m.heywood_].le(0.005 + 1e-6).all()
    assert "Heywood cases (communality reported as 1 - 0.005)" in m.summary()
    assert m.to_frame().set_index("metric").loc[m.heywood_, "heywood"].all()


# ------------------------------------------------------------------ invariance
def test_row_permutation_invariance():
    X, _ = _sim(300)
    perm = np.random.default_rng(3).permutation(len(X))
    for rot in ("oblimin", "varimax"):
        a = FactorModel(3, rotation=rot).fit(X).loadings_
        b = FactorModel(3, rotation=rot).fit(X.iloc[perm]).loadings_
        np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), atol=1e-10)


def test_ndarray_input_gets_labels():
    X, _ = _sim(200)
    m = FactorModel(2).fit(X.to_numpy())
    assert list(m.loadings_.index)[:2] == ["metric1", "metric2"] and list(m.loadings_.columns) == ["F1", "F2"]


# ------------------------------------------------------------------ bootstrap
def test_bootstrap_loadings_reproducible_and_njobs_batch_invariant():
    X, L = _sim(100, seed=5)
    params = dict(n_factors=3, rotation="oblimin", corr_method="pearson")
    a = bootstrap_loadings(X, FactorModel(**params), n_boot=12, seed=7, ci_method="percentile")
    b = bootstrap_loadings(X, params, n_boot=12, seed=7, ci_method="percentile", n_jobs=2, batch_size=5)
    pd.testing.assert_frame_equal(a.loadings, b.loadings)
    fr = a.to_frame()
    assert list(fr.columns) == ["metric", "factor", "loading", "ci_low", "ci_high", "se", "n_undefined"]
    # percentile intervals of 12 resamples need not contain the estimate; only their order is checked
    assert len(fr) == 27 and (fr["ci_low"] <= fr["ci_high"]).all() and fr["se"].gt(0).all()
    # the loading column is the full-data fit, exactly
    full = FactorModel(**params).fit(X).loadings_
    np.testing.assert_array_equal(fr["loading"].to_numpy(), full.to_numpy().ravel())
    # congruence: the full-data value (1 by construction), the replicates in the interval
    for f, e in a.congruence.items():
        assert e.value == 1.0 and e.method == "percentile"
        assert 0.8 < e.ci[0] <= e.ci[1] <= 1.0 and e.ci == b.congruence[f].ci
    assert a.n_undefined == 0 and a.options["ci_method"] == "percentile" and a.options["unit"] == "model"
    json.dumps(a.to_dict())
    assert "Congruence" in str(a)


def test_bootstrap_loadings_refit_matches_from_scratch_refit():
    """The warm-started, batched refit gives the from-scratch FactorModel fit of each resample."""
    from alignfactors.factor_bootstrap import _LoadingsStatistic, _align
    from alignfactors.resampling import weights_to_indices

    X, _ = _sim(150, seed=8)
    for rot in ("oblimin", "varimax", "geomin_obl", "promax"):
        model = FactorModel(3, rotation=rot, corr_method="spearman")
        full = clone(model).fit(X)
        stat = _LoadingsStatistic(X.to_numpy(), model, full, "tucker")
        w = np.random.default_rng(1).multinomial(150, np.full(150, 1 / 150), size=6).astype(float)
        out = stat(w)
        np.testing.assert_array_equal(stat(np.ones((1, 150)))[0], stat.full_value)
        for b in range(6):
            scratch = clone(model).fit(X.iloc[weights_to_indices(w[b])]).loadings_.to_numpy()
            np.testing.assert_allclose(out[b, :27], _align(scratch, full.loadings_.to_numpy(), "tucker").ravel(),
                                       atol=2e-4, err_msg=rot)


def test_bootstrap_loadings_clusters():
    X, _ = _sim(120, seed=9)
    fam = pd.Series([f"fam{i // 3}" for i in range(120)], index=X.index)
    r = bootstrap_loadings(X, FactorModel(2, corr_method="pearson"), n_boot=10, seed=1, ci_method="percentile",
                           clusters=fam)
    assert r.options["unit"] == "cluster" and r.options["n_units"] == 40
    assert "40 cluster clusters" in r.summary() or "40 cluster" in r.summary()


def test_bootstrap_loadings_old_order_and_method_deprecated():
    X, _ = _sim(80, seed=6)
    new = bootstrap_loadings(X, {"n_factors": 2}, n_boot=8, seed=3, ci_method="percentile")
    with pytest.warns(DeprecationWarning, match=r"pass the data first"):
        old = bootstrap_loadings({"n_factors": 2}, X, n_boot=8, seed=3, ci_method="percentile")
    with pytest.warns(DeprecationWarning, match=r"method=\.\.\.\) is deprecated; use ci_method"):
        old2 = bootstrap_loadings(X, {"n_factors": 2}, n_boot=8, seed=3, method="percentile")
    pd.testing.assert_frame_equal(new.loadings, old.loadings)
    pd.testing.assert_frame_equal(new.loadings, old2.loadings)
    assert old2.method == "percentile"


def test_bootstrap_loadings_procrustes_and_errors():
    X, _ = _sim(80, seed=6)
    r = bootstrap_loadings(X, {"n_factors": 2, "corr_method": "pearson"}, n_boot=10, seed=1, align="procrustes",
                           ci_method="percentile")
    assert r.align == "procrustes" and r.loadings.shape == (18, 7)
    with pytest.raises(ParameterError, match="align must be 'tucker' or 'procrustes'; got 'x'"):
        bootstrap_loadings(X, {"n_factors": 2}, n_boot=5, align="x")
    with pytest.raises(ParameterTypeError, match="model must be a FactorModel"):
        bootstrap_loadings(X, "minres", n_boot=5)
    with pytest.raises(ParameterError, match="bootstrap_loadings: ci_method must be one of"):
        bootstrap_loadings(X, {"n_factors": 2}, n_boot=5, ci_method="basic")
    with pytest.raises(ParameterTypeError, match="unexpected keyword arguments \\['nboot'\\]"):
        bootstrap_loadings(X, {"n_factors": 2}, nboot=5)


def test_align_recovers_permutation_and_sign():
    from alignfactors.factor_bootstrap import _align

    rng = np.random.default_rng(0)
    T = rng.normal(size=(8, 3))
    shuffled = T[:, [2, 0, 1]] * np.array([-1, 1, -1])
    np.testing.assert_allclose(_align(shuffled, T, "tucker"), T)
    np.testing.assert_allclose(_align(shuffled, T, "procrustes"), T, atol=1e-12)


def test_spearman_invariant_to_monotone_transform():
    X, _ = _sim(200)
    Y = X.copy()
    Y["v0"] = np.exp(3 * Y["v0"])
    a = FactorModel(3, rotation="oblimin").fit(X).loadings_
    b = FactorModel(3, rotation="oblimin").fit(Y).loadings_
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), atol=1e-10)


def test_real_export_three_factors(brainscore_path):
    from alignfactors.cleaning import clean
    from alignfactors.io.loading import load_brainscore

    c = clean(load_brainscore(brainscore_path))
    m = FactorModel(3, rotation="oblimin").fit(c.matrix)
    L = m.loadings_
    behav = c.domains[c.domains == "behavioral"].index
    # behavioural error-consistency metrics define F1; the V4/IT predictivity metrics load on another factor
    assert (L.loc[behav, "F1"].abs() >= L.loc[behav].abs().max(axis=1) - 1e-12).mean() > 0.9
    it = [x for x in L.index if x.endswith("IT-pls")]
    assert L.loc[it].abs().idxmax(axis=1).nunique() == 1 and L.loc[it].abs().idxmax(axis=1).iloc[0] != "F1"


# ------------------------------------------------------------------ every extraction x rotation vs R (factor_grid.json)
GRID_REF = json.loads((REF / "factor_grid.json").read_text())
GRID_TOL = 1e-3


def _grid_input(case):
    if case["dataset"] == "harman_burt":
        h = GRID_REF["harman_burt"]
        return pd.DataFrame(h["correlation"], index=h["variables"], columns=h["variables"])
    return _corr(_ref(case["dataset"]))


def grid_differences(key):
    """Largest absolute differences to R for one case of factor_grid.json, after matching factors.

    Factors are matched to psych's by Hungarian assignment on |Tucker congruence| and sign: psych and
    we both sort by variance explained, but near-ties may order two factors differently.
    """
    from scipy.optimize import linear_sum_assignment

    case = GRID_REF["cases"][key]
    rot = None if case["rotation"] == "none" else case["rotation"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = FactorModel(case["n_factors"], method=case["method"], rotation=rot, gamma=case["gamma"]).fit(
            _grid_input(case), is_corr=True, n_obs=case["n_obs"])
    ours, theirs = m.loadings_.to_numpy(), np.array(case["loadings"])
    c = tucker_congruence(ours, theirs)
    rows, cols = linear_sum_assignment(-np.abs(c))
    perm = np.empty(len(rows), int)
    perm[cols] = rows
    sign = np.sign(c[perm, np.arange(len(cols))])
    ours = ours[:, perm] * sign
    out = {"loadings": np.abs(ours - theirs).max()}
    if case["Phi"] is not None:
        phi = m.factor_corr_.to_numpy()[np.ix_(perm, perm)] * np.outer(sign, sign)
        out["Phi"] = np.abs(phi - np.array(case["Phi"])).max()
    comm = case["communalities"] if case["communalities"] is not None else case["communality"]
    out["communalities"] = np.abs(m.communalities_.to_numpy() - comm).max()
    out["uniquenesses"] = np.abs(m.uniquenesses_.to_numpy() - case["uniquenesses"]).max()
    return out, m


@pytest.mark.parametrize("key", sorted(GRID_REF["cases"]))
def test_every_extraction_and_rotation_matches_r(key):
    case = GRID_REF["cases"][key]
    if "error" in case:
        pytest.skip(f"R itself fails on this case: {case['error']}")
    diffs, m = grid_differences(key)
    if case["dataset"] != "harman_burt":
        assert max(diffs.values()) <= GRID_TOL, diffs
        return
    # Heywood case (Harman.Burt, k = 3). Both solutions put Sociability and Sorrow at the bound and
    # report their communalities as 1 - 0.005 (psych's $communalities), flagged in heywood_. psych's
    # optim stops early on this improper solution (its projected gradient is still 4e-3), so the other
    # metrics differ by up to 0.03; ours has the lower minres objective. Not counted as agreement.
    from alignfactors import _factor_kernels as kern

    psych_comm = np.array(case["communalities"])
    assert m.heywood_ == [v for v, c in zip(m.loadings_.index, psych_comm) if c >= 0.995 - 1e-9]
    np.testing.assert_allclose(m.communalities_[m.heywood_], 0.995, atol=1e-9)
    r = m.corr_.to_numpy()
    ours = kern._minres_fun_grad(1 - m.communalities_.to_numpy(), r, 3)[0]
    theirs = kern._minres_fun_grad(np.clip(1 - psych_comm, 0.005, 1), r, 3)[0]
    assert ours < theirs


def test_grid_covers_every_offered_option():
    from alignfactors.factors import METHODS, ROTATIONS

    seen = {(c["method"], c["rotation"]) for c in GRID_REF["cases"].values() if "error" not in c}
    offered = {(m, r) for m in METHODS for r in ROTATIONS if r not in (None, "oblimax")}
    assert offered <= seen


# ------------------------------------------------------------------ fit over k
def test_factor_fit_table_matches_psych_and_flags():
    from alignfactors.adequacy import factor_fit_table

    d = _ref("harman74")
    t = factor_fit_table(_corr(d), 4, is_corr=True, n_obs=d["n_obs"], source="parallel_fa")
    assert list(t.table["k"]) == [2, 3, 4, 5, 6] and t.k == 4 and not t.clipped
    row = t.table.set_index("k").loc[4]
    ref = d["fa"]["minres_none"]
    assert row.rmsea == pytest.approx(ref["RMSEA"], abs=1e-6) and row.tli == pytest.approx(ref["TLI"], rel=1e-5)
    assert row.bic == pytest.approx(ref["BIC"], rel=1e-5) and row.dof == ref["dof"]
    # Harman74 with 4 factors: RMSEA 0.039, TLI 0.93 -> acceptable; 2 factors: poor
    assert not t.poor_fit and t.table.set_index("k").at[2, "poor_fit"]
    assert "k = 4 from parallel_fa. At k = 4: RMSEA 0.039" in t.note() and "clipped" not in t.note()
    json.dumps(t.to_dict())
    assert list(t.to_frame().columns)[:3] == ["k", "chi2", "dof"] and "poor_fit" in t.to_markdown()


def test_factor_fit_table_says_when_k_is_clipped():
    from alignfactors.adequacy import factor_fit_table

    X, _ = _sim(300)
    t = factor_fit_table(X, 5, max_factors=2, source="parallel_fa", corr_method="pearson")
    assert t.k == 2 and t.k_requested == 5 and t.clipped
    assert set(t.table["k"]) >= {2, 5}
    assert "k = 5 from parallel_fa, clipped to max_factors = 2: k = 2 factors are fitted" in t.note()
    # the true model has 3 factors: 2 fit poorly, 3 do not
    tab = t.table.set_index("k")
    assert tab.at[2, "poor_fit"] and not tab.at[3, "poor_fit"] and t.poor_fit
    assert t.k_min_bic == 3
    with pytest.raises(ParameterTypeError, match="max_factors must be a positive integer"):
        factor_fit_table(X, 3, max_factors=0)


@pytest.mark.parametrize("ds", DATASETS)
def test_kernels_match_psych_one_factor_values(ds):
    from alignfactors import _factor_kernels as kern

    d = _ref(ds)
    r = np.array(d["correlation"])
    np.testing.assert_allclose(kern.fa1_values(r), d["fa1_minres_values"], atol=1e-6)
    psi = kern.extract(r, 1, "minres")[1]
    red = r.copy()
    np.fill_diagonal(red, 1 - psi)
    np.testing.assert_allclose(kern.eigh_desc(red)[0], d["fa1_minres_values"], atol=1e-6)
    np.testing.assert_allclose(kern.eigh_desc(r)[0], d["eigenvalues"], atol=1e-10)
    np.testing.assert_allclose(1 - 1 / np.diag(np.linalg.inv(r)), kern.smc(r), atol=1e-12)


def test_gpa_batch_gives_the_same_bits_as_one_at_a_time():
    from alignfactors import _factor_kernels as kern

    rng = np.random.default_rng(4)
    A = rng.normal(scale=0.5, size=(7, 12, 3))
    for crit, obl in [(lambda L: kern.vgq_oblimin(L, 0.0), True), (lambda L: kern.vgq_geomin(L, 0.01), True),
                      (kern.vgq_quartimax, False), (lambda L: kern.vgq_cf(L, 3 / 24), False)]:
        L, T, conv, it = kern.gpa_rotate(A, crit, oblique=obl)
        for i in range(7):
            Li, Ti, ci, iti = kern.gpa_rotate(A[i], crit, oblique=obl)
            np.testing.assert_array_equal(L[i], Li)
            assert conv[i] == ci and it[i] == iti


def test_results_pickle_round_trip():
    import pickle

    from alignfactors.adequacy import factor_fit_table

    X, _ = _sim(120, seed=2)
    m = FactorModel(2, rotation="oblimin", corr_method="pearson").fit(X)
    b = bootstrap_loadings(X, m, n_boot=6, seed=0, ci_method="percentile")
    t = factor_fit_table(X, 2, corr_method="pearson")
    for obj in (m, b, t):
        back = pickle.loads(pickle.dumps(obj))
        assert type(back) is type(obj)
    pd.testing.assert_frame_equal(pickle.loads(pickle.dumps(b)).loadings, b.loadings)
    pd.testing.assert_frame_equal(pickle.loads(pickle.dumps(t)).table, t.table)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(m)).transform(X), m.transform(X))


def test_report_takes_k_from_the_rule_and_renders_fit_and_clipping():
    from types import SimpleNamespace

    from alignfactors.reporting.run import _factor_fit_table
    from alignfactors.reporting._render import _md_factor_fit

    X, _ = _sim(300)
    dim = SimpleNamespace(n_dimensions={"parallel_fa": 5})
    ft = _factor_fit_table(X, dim, {"n_factors": None, "max_factors": 2, "factor_method": "minres",
                                    "method": "pearson"})
    assert ft.k == 2 and ft.clipped and ft.source == "the parallel_fa rule"
    md = "\n".join(_md_factor_fit(ft))
    assert "| **2** |" in md and "**Poor fit:**" in md and "| 3 |" in md
    assert "clipped to max_factors = 2" in ft.note()
    ft3 = _factor_fit_table(X, dim, {"n_factors": 3, "max_factors": 5, "factor_method": "minres", "method": "pearson"})
    assert ft3.k == 3 and not ft3.clipped and "Poor fit" not in "\n".join(_md_factor_fit(ft3))


@pytest.mark.parametrize("ds", DATASETS)
def test_batched_one_factor_values_match_psych(ds):
    from alignfactors import _factor_kernels as kern

    r = np.array(_ref(ds)["correlation"])
    vals, load = kern.fa1_fit_batch(np.stack([r, r]))
    np.testing.assert_allclose(vals, np.stack([_ref(ds)["fa1_minres_values"]] * 2), atol=1e-6)
    red = r - np.diag(1 - load[0] ** 2)
    np.testing.assert_allclose(kern.eigh_desc(red)[0], vals[0], atol=1e-10)


def test_batched_one_factor_values_equal_the_one_at_a_time_fit():
    """Noise, one strong factor, two clusters, a Heywood case (bound h^2 <= 0.995 active) and a
    singular matrix in one batch: the batched Newton fit gives fa1_values' minimum for each."""
    from alignfactors import _factor_kernels as kern

    rng = np.random.default_rng(11)
    mats = []
    for i in range(60):
        n, p = int(rng.integers(20, 200)), int(rng.integers(4, 40))
        x = rng.standard_normal((n, p))
        if i % 3 == 1:
            x += rng.uniform(0.3, 2) * rng.standard_normal((n, 1))
        if i % 3 == 2:
            x[:, : p // 2] += rng.standard_normal((n, 1))
        mats.append((p, np.corrcoef(x.T)))
    heywood = np.corrcoef(np.column_stack([np.repeat(rng.standard_normal(30), 1)] * 2
                                          + [rng.standard_normal(30) for _ in range(3)]).T + 0.0)
    heywood[0, 1] = heywood[1, 0] = 0.999
    singular = np.corrcoef(np.column_stack([x[:, 0], x[:, 0] * 2, x[:, 1:4]]).T)
    for r in (heywood, singular):
        mats.append((r.shape[0], r))
    for p in sorted({q for q, _ in mats}):
        stack = np.stack([r for q, r in mats if q == p])
        got = kern.fa1_fit_batch(stack)[0]
        want = np.stack([kern.fa1_values(r) for r in stack])
        np.testing.assert_allclose(got, want, atol=2e-6)


def test_batched_one_factor_fit_of_small_null_matrices_past_the_bound(monkeypatch):
    """Null matrices of 8 metrics: many one-factor fits head past psych's bound and leave the
    unbounded Newton pass after 8 steps instead of drifting on to the 50-step limit; the bounded
    refit gives the same minimum as without that exit, and fa1_values' minimum but for rare
    matrices where the two optimisers reach different local minima from the same start."""
    from alignfactors import _factor_kernels as kern

    rng = np.random.default_rng(5)
    stack = np.stack([np.corrcoef(rng.standard_normal((25, 8)).T) for _ in range(300)])
    got, load = kern.fa1_fit_batch(stack)
    monkeypatch.setattr(kern, "_FA1_LEAVE_AFTER", 10**6)
    np.testing.assert_allclose(kern.fa1_fit_batch(stack)[0], got, atol=1e-8)
    at_bound = np.isclose(np.abs(load), np.sqrt(1 - kern.LOWER_BOUND)).any(axis=1)
    assert at_bound.sum() >= 20  # the path is exercised
    want = np.stack([kern.fa1_values(r) for r in stack])
    same = np.abs(got - want).max(axis=1) < 2e-6
    assert same.mean() >= 0.99


def test_factor_fit_table_in_processes_is_the_same_table_and_warnings():
    """n_jobs fits the k in worker processes: the same rows, and their warnings re-issued in order."""
    import warnings

    from alignfactors.adequacy import factor_fit_table

    rng = np.random.default_rng(4)
    f = rng.normal(size=(120, 2))
    x = f @ rng.uniform(0.5, 0.8, size=(2, 7)) + rng.normal(size=(120, 7))
    x = np.column_stack([x, x[:, 0] + 1e-3 * rng.normal(size=120)])  # a near-copy: a Heywood case
    X = pd.DataFrame(x)
    out = {}
    for n_jobs in (1, 2):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            t = factor_fit_table(X, 2, corr_method="pearson", n_jobs=n_jobs)
        out[n_jobs] = (t, [(w.category, str(w.message)) for w in caught])
    pd.testing.assert_frame_equal(out[1][0].table, out[2][0].table)
    assert out[1][1] == out[2][1]
    assert out[1][0].table["n_heywood"].max() > 0


def test_factor_fit_table_reissues_a_fits_warnings(monkeypatch):
    """A fit's warnings (other than convergence and smoothing, which the table reports itself) come
    back from its process and are issued again by the caller."""
    import warnings

    import alignfactors.factors as F
    from alignfactors.adequacy import _fit_row

    fit = F.FactorModel.fit

    def noisy(self, *a, **kw):
        warnings.warn("something to say", UserWarning)
        return fit(self, *a, **kw)

    monkeypatch.setattr(F.FactorModel, "fit", noisy)
    X = pd.DataFrame(np.random.default_rng(0).normal(size=(60, 5)))
    row, _, caught = _fit_row(1, X, "minres", "pearson", False, None, 0.08, 0.9)
    assert row["k"] == 1 and [str(w.message) for w in caught] == ["something to say"]
    import pickle

    assert pickle.loads(pickle.dumps(caught))[0].category is UserWarning
