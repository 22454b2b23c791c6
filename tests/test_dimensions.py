"""Tests for alignfactors.dimensions: psych references, errors, invariances."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alignfactors._dimension_rules import _acceleration_factor, _optimal_coordinates
from alignfactors.dimensions import RULES, dimensionality
from alignfactors.errors import DataError, ParameterError, ParameterTypeError, SmoothingWarning

REF = Path(__file__).parent / "reference"
FIXTURES = ["harman74", "thurstone", "sim3"]
FAST = ["kaiser", "parallel_pc", "parallel_fa", "map", "optimal_coordinates", "acceleration_factor"]


def _load(name):
    d = json.loads((REF / f"{name}.json").read_text())
    r = pd.DataFrame(d["correlation"], index=d["variables"], columns=d["variables"])
    return d, r


def _sim(n=80, p=8, k=2, seed=0):
    rng = np.random.default_rng(seed)
    load = np.zeros((k, p))
    for j in range(p):
        load[j % k, j] = 0.8
    x = rng.normal(size=(n, k)) @ load + 0.6 * rng.normal(size=(n, p))
    return pd.DataFrame(x, index=[f"model{i}" for i in range(n)], columns=[f"m{j}" for j in range(p)])


@pytest.fixture(scope="module")
def small():
    return _sim()


# ----------------------------------------------------------------- references (R psych 2.2.9)
@pytest.mark.parametrize("name", FIXTURES)
def test_reference_eigen_map_fa_values(name):
    d, r = _load(name)
    res = dimensionality(corr=r, n_obs=d["n_obs"], method="pearson", max_k=min(8, len(r) - 1), seed=0)
    np.testing.assert_allclose(res.eigenvalues.to_numpy(), d["eigenvalues"], atol=1e-10, rtol=0)
    ref_map = np.array(d["vss"]["map"], dtype=float)
    np.testing.assert_allclose(res.map_values.to_numpy()[: len(ref_map)], ref_map, atol=1e-6, rtol=0)
    assert res.n_dimensions["map"] == d["vss"]["map_argmin"]
    # minres optimiser tolerances differ from psych's optim(); agreement is ~2e-7
    np.testing.assert_allclose(res.parallel["fa_observed"], d["fa1_minres_values"], atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", FIXTURES)
def test_reference_map_fourth_power(name):
    d, r = _load(name)
    res = dimensionality(corr=r, n_obs=d["n_obs"], method="pearson", map_power=4, rules=["map"],
                         max_k=min(8, len(r) - 1), seed=0)
    hand = d["map_by_hand"]
    np.testing.assert_allclose(res.map_values.to_numpy(), hand["fourth"][1 : len(res.map_values) + 1], atol=1e-6)
    assert res.n_dimensions["map"] == hand["argmin_fourth_excl_0"]


@pytest.mark.parametrize("name", FIXTURES)
def test_reference_parallel_decisions(name):
    # Simulated draws differ from R's, so only the decisions are compared (psych's 95% quantile rule).
    # harman74's third eigenvalue is within 0.02 of the reference: 400 null sets make the quantile stable.
    d, r = _load(name)
    res = dimensionality(corr=r, n_obs=d["n_obs"], method="pearson", rules=["parallel_pc", "parallel_fa"], seed=1,
                         n_iter=400)
    assert res.n_dimensions["parallel_pc"] == d["fa_parallel"]["ncomp"]
    assert res.n_dimensions["parallel_fa"] == d["fa_parallel"]["nfact"]


@pytest.mark.parametrize("name", FIXTURES)
def test_parallel_rule_on_r_replicates(name):
    # Feeding R's own simulated eigenvalues into our rule reproduces R's counts exactly.
    from alignfactors._dimension_rules import _n_exceeding

    d, _ = _load(name)
    pa = d["fa_parallel"]
    reps = np.array(pa["replicates"])
    p = len(d["variables"])
    q_pc = np.quantile(reps[:, :p], 0.95, axis=0)
    q_fa = np.quantile(reps[:, p:], 0.95, axis=0)
    np.testing.assert_allclose(q_pc, pa["pc_sim_q95"], atol=1e-12)
    assert _n_exceeding(np.array(pa["pc_values"]), q_pc) == pa["ncomp"]
    assert _n_exceeding(np.array(pa["fa_values"]), q_fa) == pa["nfact"]


def test_reference_raw_sim_data_matches_corr_input():
    d, r = _load("sim3")
    x = pd.read_csv(REF / "sim_data.csv")
    res = dimensionality(x, method="pearson", rules=FAST, max_k=8, n_boot=0, seed=1)
    np.testing.assert_allclose(res.eigenvalues.to_numpy(), d["eigenvalues"], atol=1e-10, rtol=0)
    assert res.n_dimensions["parallel_pc"] == d["fa_parallel"]["ncomp"]
    assert res.n_dimensions["parallel_fa"] == d["fa_parallel"]["nfact"]
    assert res.n_dimensions["map"] == d["vss"]["map_argmin"]


def test_nfactors_rules_hand_worked():
    # OC: line through (i+1, e_i+1) and (5, 0.4) at i: i=1 -> 2.5 + (0.4-2.5)/3 * -1 = 3.2 <= 4 ok;
    # i=2 -> 0.6 + (0.4-0.6)/2 * -1 = 0.7 <= 2.5 ok; i=3 -> 0.45 > e3 = 0.6? no, but e3 < ref 1.0 -> stop: 2.
    # AF (1-based j): j=2: 0.6-5+4 = -0.4; j=3: 0.5-1.2+2.5 = 1.8; j=4 undefined (e3 < ref3) -> argmax j=3 -> 2.
    eig = np.array([4.0, 2.5, 0.6, 0.5, 0.4])
    ref = np.array([1.3, 1.1, 1.0, 0.9, 0.7])
    assert _optimal_coordinates(eig, ref) == 2
    assert _acceleration_factor(eig, ref) == 2
    # AF's elbow can fall before the parallel cut: here j=2 has the largest second difference -> 1
    assert _acceleration_factor(np.array([5.0, 1.2, 1.1, 0.4, 0.3]), np.full(5, 1.0)) == 1
    assert _acceleration_factor(np.array([0.5, 0.4, 0.3]), np.ones(3)) == 0


def test_participation_ratio_and_explained(small):
    res = dimensionality(small, rules=["kaiser"], n_boot=0, seed=0)
    lam = res.eigenvalues.to_numpy()
    assert res.participation_ratio.value == pytest.approx(lam.sum() ** 2 / np.sum(lam**2), abs=1e-12)
    assert res.explained.sum() == pytest.approx(1.0, abs=1e-12)
    assert list(res.eigenvalues.index) == list(range(1, small.shape[1] + 1))
    assert np.all(np.diff(lam) <= 0)


# ----------------------------------------------------------------- errors
def test_errors(small):
    with pytest.raises(ParameterError, match="either matrix"):
        dimensionality(small, corr=small.corr(), n_obs=10)
    with pytest.raises(ParameterError, match="either matrix"):
        dimensionality()
    with pytest.raises(ParameterTypeError, match="pandas DataFrame"):
        dimensionality(small.to_numpy())
    with pytest.raises(ParameterError, match="method must be one of"):
        dimensionality(small, method="cosine")
    with pytest.raises(ParameterError, match="rules must be a non-empty subset"):
        dimensionality(small, rules=["scree"])
    with pytest.raises(ParameterError, match="n_iter must be an integer >= 20"):
        dimensionality(small, n_iter=5)
    with pytest.raises(ParameterError, match="parallel_quantile"):
        dimensionality(small, parallel_quantile=95)
    with pytest.raises(ParameterError, match="parallel_null"):
        dimensionality(small, parallel_null="uniform")
    with pytest.raises(ParameterError, match="map_power"):
        dimensionality(small, map_power=3)
    with pytest.raises(ParameterError, match="max_k must be an integer"):
        dimensionality(small, max_k=small.shape[1])
    with pytest.raises(ParameterError, match="n_boot"):
        dimensionality(small, n_boot=-1)
    with pytest.raises(ParameterError, match="n_obs \\(number of models"):
        dimensionality(corr=small.corr(), n_obs=None)
    with pytest.raises(ParameterError, match="n_obs is only used with corr"):
        dimensionality(small, n_obs=10)


def test_data_errors(small):
    bad = small.copy()
    bad.iloc[0, 1] = np.nan
    with pytest.raises(DataError, match="missing values .*'m1'"):
        dimensionality(bad)
    const = small.assign(m2=1.0)
    with pytest.raises(DataError, match="constant column.*'m2'"):
        dimensionality(const)
    with pytest.raises(DataError, match="at least 3 metrics"):
        dimensionality(small.iloc[:, :2])
    c = small.corr()
    c.iloc[0, 1] = 0.99
    with pytest.raises(DataError, match="symmetric correlation matrix"):
        dimensionality(corr=c, n_obs=50)
    with pytest.raises(ParameterError, match="no rule left"):
        dimensionality(corr=small.corr(), n_obs=80, rules=["cv_likelihood"])


def test_corr_input_skips_raw_only_rules(small):
    res = dimensionality(corr=small.corr(method="spearman"), n_obs=len(small), parallel_null="permutation",
                         n_boot=10, seed=0)
    assert "cv_likelihood" not in res.n_dimensions
    assert res.n_boot == 0 and res.k_distribution == {}
    text = " ".join(res.notes)
    assert "cv_likelihood skipped" in text and "permutation" in text and "no bootstrap" in text


# ----------------------------------------------------------------- invariances
def test_row_permutation_invariance(small):
    a = dimensionality(small, rules=FAST, n_boot=0, seed=3)
    b = dimensionality(small.sample(frac=1.0, random_state=1), rules=FAST, n_boot=0, seed=3)
    np.testing.assert_allclose(a.eigenvalues.to_numpy(), b.eigenvalues.to_numpy(), atol=1e-12, rtol=0)
    assert a.n_dimensions == b.n_dimensions


def test_seed_and_batch_size_invariance(small):
    a = dimensionality(small, rules=FAST, n_boot=30, seed=5, batch_size=7)
    b = dimensionality(small, rules=FAST, n_boot=30, seed=5, batch_size=30)
    assert a.k_distribution == b.k_distribution
    assert a.k_ci == b.k_ci
    assert a.eigenvalue_estimates == b.eigenvalue_estimates
    assert abs(sum(a.k_distribution["parallel_pc"].values()) - 1.0) < 1e-12
    assert a.to_dict() == b.to_dict()


def test_bootstrap_result_shape(small):
    res = dimensionality(small, n_boot=20, seed=0, max_k=4)
    assert set(res.n_dimensions) == set(RULES)
    assert "cv_likelihood" not in res.k_distribution
    assert any("not bootstrapped" in n for n in res.notes)
    assert res.n_dimensions["parallel_pc"] == 2 and res.n_dimensions["map"] == 2
    f = res.to_frame()
    assert list(f.columns[:3]) == ["quantity", "component", "value"]
    assert set(f["quantity"]) == {"participation_ratio", "eigenvalue", "explained"}
    assert res.parallel.columns.tolist() == ["k", "pc_observed", "pc_simulated_mean", "pc_simulated_quantile",
                                             "fa_observed", "fa_simulated_mean", "fa_simulated_quantile"]
    json.dumps(res.to_dict())
    assert "participation ratio" in str(res).lower()
    assert "| rule |" in res.to_markdown()


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(col=st.integers(0, 7), kind=st.sampled_from(["exp", "cube", "affine"]))
def test_monotone_transform_invariance_spearman(small, col, kind):
    f = {"exp": np.exp, "cube": lambda v: v**3, "affine": lambda v: 3 * v - 2}[kind]
    t = small.copy()
    t.iloc[:, col] = f(t.iloc[:, col])
    a = dimensionality(small, rules=FAST + ["cv_likelihood"], n_boot=0, seed=2, max_k=4)
    b = dimensionality(t, rules=FAST + ["cv_likelihood"], n_boot=0, seed=2, max_k=4)
    np.testing.assert_allclose(a.eigenvalues.to_numpy(), b.eigenvalues.to_numpy(), atol=1e-12)
    assert a.n_dimensions == b.n_dimensions


def test_permutation_null_runs(small):
    res = dimensionality(small, rules=["parallel_pc", "parallel_fa"], parallel_null="permutation",
                         parallel_quantile=None, n_boot=0, seed=0)
    assert res.n_dimensions == {"parallel_pc": 2, "parallel_fa": 2}
    assert res.options["parallel_quantile"] is None


@pytest.mark.slow
def test_real_export(brainscore_path):
    from alignfactors.cleaning import clean
    from alignfactors.io.loading import load_brainscore

    m = clean(load_brainscore(brainscore_path)).matrix
    res = dimensionality(m, n_boot=50, seed=0)
    assert res.n_metrics == m.shape[1]
    assert all(k >= 0 for k in res.n_dimensions.values())


def test_non_positive_definite_corr_is_smoothed_as_psych_and_said():
    # psych::cor.smooth of this matrix has eigenvalues 2.1812, 1.0990, 0.7198, ~0 (tests/reference/cor_smooth.json
    # holds the reference for the smoothing itself).
    r = pd.DataFrame([[1, .9, .9, -.2], [.9, 1, .1, .8], [.9, .1, 1, .5], [-.2, .8, .5, 1]],
                     index=list("abcd"), columns=list("abcd"))
    with pytest.warns(SmoothingWarning, match="smoothed as psych::cor.smooth"):
        d = dimensionality(corr=r, n_obs=50, n_boot=0, seed=0)
    np.testing.assert_allclose(d.eigenvalues.to_numpy()[:3], [2.1812, 1.0990, 0.7198], atol=1e-4)
    assert d.eigenvalues.iloc[-1] > 0
    assert any("cor.smooth" in n for n in d.notes)


# ----------------------------------------------------------------- P(k): nulls of the resample's kind, clusters
def _noise(n, p, seed):
    x = np.random.default_rng(seed).standard_normal((n, p))
    return pd.DataFrame(x, index=[f"model{i}" for i in range(n)], columns=[f"m{j}" for j in range(p)])


def _clustered_noise(sizes, p, icc, seed):
    """No common factor: metric j of a model = its family's effect (share icc) + own noise; metrics independent."""
    rng = np.random.default_rng(seed)
    codes = np.repeat(np.arange(len(sizes)), sizes)
    x = np.sqrt(icc) * rng.standard_normal((len(sizes), p))[codes] + np.sqrt(1 - icc) * rng.standard_normal((len(codes), p))
    idx = [f"model{i}" for i in range(len(codes))]
    return pd.DataFrame(x, index=idx, columns=[f"m{j}" for j in range(p)]), pd.Series(codes, index=idx)


SIZES_SMALL = [12, 10, 8, 6, 5, 4, 4, 3, 3, 2, 2, 2] + [1] * 59  # 120 models in 71 families


def _p_at_most_one(res, rule):
    return sum(v for k, v in res.k_distribution[rule].items() if k <= 1)


def test_pk_on_noise_small():
    # Against one null of n distinct rows, resamples of this noise got k up to 7 (P(k <= 1) = 0.25 for
    # parallel_pc, 0.62 for parallel_fa); against the
    # null under their own weights they keep k <= 1 as the full data do.
    res = dimensionality(_noise(120, 15, 0), rules=["parallel_pc", "parallel_fa"], n_boot=40, seed=0)
    assert res.n_dimensions == {"parallel_pc": 0, "parallel_fa": 0}
    assert _p_at_most_one(res, "parallel_pc") >= 0.85
    assert _p_at_most_one(res, "parallel_fa") >= 0.85


@pytest.mark.slow
def test_pk_on_iid_noise_acceptance():
    # Issue 10's acceptance check: 229 x 50 iid normal noise, n_boot=200.
    res = dimensionality(_noise(229, 50, 1), rules=["parallel_pc", "parallel_fa"], n_boot=200, seed=0)
    assert _p_at_most_one(res, "parallel_pc") >= 0.9
    assert _p_at_most_one(res, "parallel_fa") >= 0.9


def test_null_under_resample_weights_is_more_spread():
    from alignfactors._dimension_rules import _null_eigenvalues, _null_pool, null_plan

    rng = np.random.default_rng(0)
    pool = _null_pool(None, 100, 10, 20, "normal", rng)
    plans = null_plan(pool, "spearman")
    w = np.bincount(rng.integers(0, 100, 100), minlength=100)[None, :].astype(float)
    flat, _ = _null_eigenvalues(pool, plans, np.ones((1, 100)), "spearman", False)
    boot, _ = _null_eigenvalues(pool, plans, w, "spearman", False)
    # about 63% distinct rows: the leading null eigenvalue grows, the smallest shrinks
    assert boot[0, :, 0].mean() > flat[0, :, 0].mean() + 0.05
    assert boot[0, :, -1].mean() < flat[0, :, -1].mean() - 0.05


def test_cluster_icc_hand_worked():
    from alignfactors.dimensions import _cluster_icc as _family_icc

    # groups {1, 3}, {5, 7}: MSB = 2*4 + 2*4 = 16, MSW = 4/2 = 2, n0 = 2 -> (16 - 2)/(16 + 2)
    z = np.array([[1.0, 0.0], [3.0, 1.0], [5.0, 0.0], [7.0, 1.0]])
    icc = _family_icc(z, np.array([0, 0, 1, 1]))
    np.testing.assert_allclose(icc, [14 / 18, 0.0])
    assert _family_icc(z, np.arange(4)).tolist() == [0.0, 0.0]  # singletons: nothing to estimate


def test_cv_folds_never_split_a_cluster():
    from alignfactors._dimension_rules import _cv_folds

    codes = np.repeat(np.arange(12), [8, 1, 1, 5, 2, 2, 3, 1, 1, 4, 1, 1])
    folds = _cv_folds(len(codes), codes, np.random.default_rng(0))
    assert len(folds) == 5
    for train, test in folds:
        assert not set(codes[train]) & set(codes[test])
    assert sorted(np.concatenate([te for _, te in folds]).tolist()) == list(range(len(codes)))


def test_named_streams_rules_and_n_iter_do_not_move_other_quantities(small):
    a = dimensionality(small, rules=["parallel_pc", "map", "cv_likelihood"], n_boot=20, seed=3, max_k=4)
    b = dimensionality(small, rules=["parallel_pc", "parallel_fa", "map", "cv_likelihood"], n_boot=20, seed=3,
                       max_k=4)
    c = dimensionality(small, rules=["parallel_pc", "map", "cv_likelihood"], n_boot=20, seed=3, max_k=4, n_iter=40)
    for other in (b, c):
        assert other.eigenvalue_estimates == a.eigenvalue_estimates
        pd.testing.assert_series_equal(other.cv_loglik, a.cv_loglik)
        assert other.k_distribution["map"] == a.k_distribution["map"]
    assert b.k_distribution["parallel_pc"] == a.k_distribution["parallel_pc"]


def test_clustered_null_does_not_count_families_as_dimensions():
    m, fam = _clustered_noise(SIZES_SMALL, 20, 0.6, seed=0)
    plain = dimensionality(m, rules=["parallel_pc", "parallel_fa", "map"], n_boot=0, seed=0)
    clustered = dimensionality(m, rules=["parallel_pc", "parallel_fa", "map"], n_boot=0, seed=0, clusters=fam)
    assert plain.n_dimensions["parallel_pc"] >= 3  # family resemblance read as dimensions (5 here)
    assert clustered.n_dimensions == {"parallel_pc": 0, "parallel_fa": 0, "map": 1}
    assert any("cluster structure" in n for n in clustered.notes)
    assert clustered.options["n_clusters"] == len(SIZES_SMALL)


def test_cluster_errors(small):
    fam = pd.Series(np.arange(len(small)) // 4, index=small.index)
    with pytest.raises(ParameterError, match="permutation.*cluster structure"):
        dimensionality(small, parallel_null="permutation", clusters=fam, n_boot=0)
    r = small.corr()
    with pytest.raises(ParameterError, match="clusters= needs the models x metrics matrix"):
        dimensionality(corr=r, n_obs=len(small), clusters=fam, n_boot=0)


def test_cluster_bootstrap_pk_on_clustered_noise():
    m, fam = _clustered_noise(SIZES_SMALL, 20, 0.4, seed=0)
    res = dimensionality(m, rules=["parallel_pc", "parallel_fa", "map"], n_boot=40, seed=0, clusters=fam)
    assert _p_at_most_one(res, "parallel_pc") >= 0.85 and _p_at_most_one(res, "parallel_fa") >= 0.85
    assert _p_at_most_one(res, "map") >= 0.8
    e = res.eigenvalue_estimates[1]
    assert (e.unit, e.n_units) == ("cluster", len(SIZES_SMALL))
    assert res.participation_ratio.n_units == len(SIZES_SMALL)


def test_clusters_families_from_cleaned_matrix():
    from alignfactors.cleaning import clean
    from alignfactors.io.datasets import simulate_leaderboard
    from alignfactors.families import model_families

    table = simulate_leaderboard(120, seed=0)
    m = clean(table).matrix
    res = dimensionality(m, rules=["parallel_pc", "map"], n_boot=10, seed=0, clusters="families")
    assert res.options["n_clusters"] == model_families(table).reindex(m.index).nunique()
    assert res.eigenvalue_estimates[1].unit == "family"


def test_cluster_label_errors(small):
    with pytest.raises(DataError, match="misses 1 of the 80 models"):
        dimensionality(small, n_boot=0, clusters=pd.Series(0, index=small.index[1:]))
    with pytest.raises(DataError, match="one family"):
        dimensionality(small, n_boot=0, clusters=pd.Series("a", index=small.index))
    with pytest.raises(ParameterError, match="needs the model names"):
        dimensionality(small, n_boot=0, clusters="families")


def test_null_from_reuses_the_null_references_and_changes_no_result():
    """A second run on the same data and seed (here with fewer rules) looks each resample's null
    references up instead of refitting them: identical results; another pool is ignored."""
    from alignfactors.dimensions import dimensionality

    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.standard_normal((60, 8)) + rng.standard_normal((60, 1)),
                     columns=[f"m{i}" for i in range(8)])
    first = dimensionality(x, n_boot=30, seed=1, rules=["parallel_pc", "parallel_fa", "map"])
    assert len(first.null_references["by_weights"]) >= 25  # distinct resamples
    again = dimensionality(x, n_boot=30, seed=1, rules=["parallel_pc", "parallel_fa"], null_from=first)
    alone = dimensionality(x, n_boot=30, seed=1, rules=["parallel_pc", "parallel_fa"])
    assert again.k_distribution == alone.k_distribution and again.n_dimensions == alone.n_dimensions
    assert again.to_dict() == alone.to_dict()
    other = dimensionality(x, n_boot=30, seed=2, rules=["parallel_pc", "parallel_fa"], null_from=first)
    assert other.k_distribution == dimensionality(x, n_boot=30, seed=2, rules=["parallel_pc", "parallel_fa"]).k_distribution
    with pytest.raises(ParameterTypeError, match="null_from"):
        dimensionality(x, n_boot=5, seed=1, null_from={"key": 1})


def test_eigen_intervals_false_bootstraps_k_only():
    """eigen_intervals=False: the same P(k), k intervals and point values, no eigenvalue intervals
    (the eigenvalue bootstrap is not run); recorded in options."""
    from alignfactors.dimensions import dimensionality

    rng = np.random.default_rng(3)
    x = pd.DataFrame(rng.standard_normal((50, 6)) + rng.standard_normal((50, 1)),
                     columns=[f"m{i}" for i in range(6)])
    rules = ["parallel_pc", "parallel_fa", "map"]
    full = dimensionality(x, n_boot=40, seed=4, rules=rules)
    k_only = dimensionality(x, n_boot=40, seed=4, rules=rules, eigen_intervals=False)
    assert k_only.k_distribution == full.k_distribution and k_only.k_ci == full.k_ci
    assert k_only.n_dimensions == full.n_dimensions
    assert np.isnan(k_only.eigenvalue_estimates[1].ci[0]) and np.isfinite(full.eigenvalue_estimates[1].ci[0])
    assert k_only.eigenvalue_estimates[1].value == full.eigenvalue_estimates[1].value
    assert np.isnan(k_only.participation_ratio.ci[1])
    assert k_only.options["eigen_intervals"] is False and full.options["eigen_intervals"] is True
    with pytest.raises(ParameterTypeError, match="eigen_intervals"):
        dimensionality(x, n_boot=5, seed=1, eigen_intervals="no")


def test_null_sets_ranked_in_groups_give_the_same_eigenvalues(monkeypatch):
    """A large pool is ranked a group of sets at a time (bounded memory): the same null eigenvalues,
    also when the statistic carries only the pool's shape."""
    import alignfactors._dimension_rules as D

    rng = np.random.default_rng(0)
    pool = D._null_pool(None, 60, 7, 20, "normal", rng)
    w = np.stack([np.bincount(rng.integers(0, 60, 60), minlength=60) for _ in range(5)]).astype(float)
    one = D._null_eigenvalues(pool, D.null_plan(pool, "spearman"), w, "spearman", True)
    monkeypatch.setattr(D, "_NULL_GROUP_CELLS", 60 * 7 * 3)
    plans = D.null_plan(pool, "spearman")
    assert isinstance(plans, tuple) and [(a, b) for a, b, _ in plans][-1] == (18, 20)
    for carrier in (pool, D.PoolShape(pool.shape)):
        grouped = D._null_eigenvalues(carrier, plans, w, "spearman", True)
        np.testing.assert_array_equal(grouped[0], one[0])
        np.testing.assert_array_equal(grouped[1], one[1])
