"""noise='errors' in every analysis: zero errors change nothing (bit for bit), large errors widen the
intervals, one seed gives one result, and the options are validated the same way everywhere."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

import alignfactors as af
from alignfactors.decomposition import _noise_map
from alignfactors.errors import DataError, ParameterError
from alignfactors.io.table import ScoreTable
from alignfactors.io.tree import BenchmarkTree
from alignfactors.resampling import bootstrap


def _factors(n=80, seed=0):
    """Two factors, 4 metrics each (known structure); unit-scale scores."""
    rng = np.random.default_rng(seed)
    f = rng.normal(size=(n, 2))
    load = np.zeros((8, 2))
    load[:4, 0], load[4:, 1] = 0.8, 0.7
    x = pd.DataFrame(f @ load.T + 0.6 * rng.normal(size=(n, 8)), columns=[f"m{i}" for i in range(8)],
                     index=[f"model{i}" for i in range(n)])
    return x


def _se(x, value):
    return pd.DataFrame(value, index=x.index, columns=x.columns)


def _width(e):
    return e.ci[1] - e.ci[0]


def _same(a, b):
    if a.distribution is None or b.distribution is None:
        return a.distribution is b.distribution and a.value == b.value
    return np.array_equal(a.distribution, b.distribution, equal_nan=True) and a.ci == b.ci


# -- engine -----------------------------------------------------------------------------------------
def test_engine_antithetic_replicate_zero_noise_and_integer_components():
    x = np.arange(20.0)

    def mean(w, noise=None):
        xx = x[None] if noise is None else x[None] + noise[:, :, 0]
        return ((w * xx).sum(axis=1) / w.sum(axis=1))[:, None]

    plain = bootstrap(mean, 20, n_boot=300, seed=4)
    zero = bootstrap(mean, 20, n_boot=300, seed=4, noise=np.zeros((20, 1)))
    np.testing.assert_array_equal(plain.distribution, zero.distribution)
    noisy = bootstrap(mean, 20, n_boot=300, seed=4, noise=np.full((20, 1), 3.0))
    # linear statistic: the antithetic half-difference is the count-weighted mean of the perturbation,
    # variance 9 E[sum w^2] / n^2 = 9 (2n - 1) / n^2 for multinomial counts
    extra = noisy.distribution[:, 0] - plain.distribution[:, 0]
    assert abs(extra.var() / (9 * 39 / 400) - 1) < 0.2
    assert noisy[0].se > plain[0].se

    def k_like(w, noise=None):  # an integer statistic keeps integer replicates with recentre=False
        xx = x[None] if noise is None else x[None] + noise[:, :, 0]
        return np.floor((w * xx).sum(axis=1) / w.sum(axis=1))[:, None]

    res = bootstrap(k_like, 20, n_boot=100, seed=4, noise=np.full((20, 1), 3.0), recentre=False, method="percentile")
    assert np.all(res.distribution == np.floor(res.distribution))
    with pytest.raises(ParameterError, match="recentre must be"):
        bootstrap(k_like, 20, n_boot=10, seed=4, noise=np.ones((20, 1)), recentre=[True, False])


@pytest.mark.parametrize("method", ["spearman", "pearson"])
def test_agreement_zero_errors_bit_for_bit(method):
    x = _factors(n=70, seed=2)
    groups = pd.Series(["neural"] * 4 + ["behavioral"] * 4, index=x.columns)
    base = af.agreement(x, method=method, groups=groups, n_boot=80, seed=3)
    zero = af.agreement(x, method=method, groups=groups, n_boot=80, seed=3, noise="errors", errors=_se(x, 0.0))
    assert _same(base.mean, zero.mean) and all(_same(base.blocks[b], zero.blocks[b]) for b in base.blocks)
    pd.testing.assert_frame_equal(base.pairs, zero.pairs)
    again = af.agreement(x, method=method, groups=groups, n_boot=80, seed=3, noise="errors", errors=_se(x, 0.3))
    big = af.agreement(x, method=method, groups=groups, n_boot=80, seed=3, noise="errors", errors=_se(x, 0.3))
    assert _same(again.mean, big.mean) and big.options["noise"] == "errors"
    assert big.mean.se > base.mean.se


def test_attenuation_does_not_narrow_the_interval():
    # Perturbing scores that hold error attenuates a correlation in proportion to its value; the
    # antithetic replicate cancels that, so added error never makes the interval narrower.
    x = _factors(n=120, seed=3)[["m0", "m1"]]
    base = af.agreement(x, n_boot=400, seed=0, method="pearson")
    noisy = af.agreement(x, n_boot=400, seed=0, method="pearson", noise="errors", errors=_se(x, 0.5))
    assert noisy.mean.se > base.mean.se
    assert _width(noisy.mean) > _width(base.mean)


# -- validation (same for every analysis) -----------------------------------------------------------
def test_validation_is_the_same_everywhere():
    x = _factors(n=40)
    table = ScoreTable.from_wide(x, domains={c: "neural" for c in x.columns}, aggregates="none")
    calls = {
        "agreement": lambda **kw: af.agreement(x, n_boot=0, **kw),
        "dimensionality": lambda **kw: af.dimensionality(x, rules=["kaiser"], n_boot=0, **kw),
        "bootstrap_loadings": lambda **kw: af.bootstrap_loadings(x, af.FactorModel(1), n_boot=0, **kw),
        "decompose": lambda **kw: af.decompose(x.assign(avg=x.mean(axis=1)), aggregate="avg", n_boot=0, **kw),
        "compare_aggregations": lambda **kw: af.compare_aggregations(table, methods=["mean", "rank"], n_boot=0,
                                                                     iia=False, **kw),
    }
    for call in calls.values():
        with pytest.raises(ParameterError, match="noise must be None or 'errors'"):
            call(noise="gaussian", errors=_se(x, 0.1))
        with pytest.raises(DataError, match="needs standard errors"):
            call(noise="errors")
        with pytest.raises(ParameterError, match="only used with noise='errors'"):
            call(errors=_se(x, 0.1))
    with pytest.raises(DataError, match="share no model"):
        af.dimensionality(x, rules=["kaiser"], n_boot=0, noise="errors", errors=_se(x, 0.1).set_axis(
            [f"other{i}" for i in range(40)], axis=0))
    with pytest.raises(ParameterError, match="needs matrix"):
        af.dimensionality(corr=x.corr(), n_obs=40, noise="errors", errors=_se(x, 0.1))


# -- dimensionality -----------------------------------------------------------------------------------
def test_dimensionality_noise():
    x = _factors()
    kw = dict(rules=["parallel_pc", "map"], n_boot=60, seed=1)
    base = af.dimensionality(x, **kw)
    zero = af.dimensionality(x, noise="errors", errors=_se(x, 0.0), **kw)
    for c in base.eigenvalue_estimates:
        assert _same(base.eigenvalue_estimates[c], zero.eigenvalue_estimates[c])
    assert _same(base.participation_ratio, zero.participation_ratio)
    assert base.k_distribution == zero.k_distribution and base.k_ci == zero.k_ci
    big = af.dimensionality(x, noise="errors", errors=_se(x, 1.0), **kw)
    again = af.dimensionality(x, noise="errors", errors=_se(x, 1.0), **kw)
    assert _width(big.eigenvalue_estimates[1]) > _width(base.eigenvalue_estimates[1])
    assert _width(big.participation_ratio) > _width(base.participation_ratio)
    assert big.eigenvalues.equals(base.eigenvalues)                 # point estimates are the data's
    # k of a perturbed resample is an integer of that resample (a second dose of error: fewer factors)
    assert all(float(k).is_integer() for d in big.k_distribution.values() for k in d)
    assert big.k_distribution["parallel_pc"].get(2, 0) < 1.0 == base.k_distribution["parallel_pc"][2]
    assert big.k_distribution == again.k_distribution
    assert _same(big.eigenvalue_estimates[1], again.eigenvalue_estimates[1])
    assert big.to_dict()["options"]["noise"] == "errors" and "noise" not in base.to_dict()["options"]


# -- bootstrap_loadings ------------------------------------------------------------------------------
def test_bootstrap_loadings_noise():
    x = _factors()
    fm = af.FactorModel(2, rotation="oblimin")
    kw = dict(n_boot=40, seed=1, ci_method="percentile")
    base = af.bootstrap_loadings(x, fm, **kw)
    zero = af.bootstrap_loadings(x, fm, noise="errors", errors=_se(x, 0.0), **kw)
    pd.testing.assert_frame_equal(base.loadings, zero.loadings)
    assert all(_same(base.congruence[f], zero.congruence[f]) for f in base.congruence)
    big = af.bootstrap_loadings(x, fm, noise="errors", errors=_se(x, 0.8), **kw)
    again = af.bootstrap_loadings(x, fm, noise="errors", errors=_se(x, 0.8), **kw)
    width = lambda r: (r.loadings.ci_high - r.loadings.ci_low).mean()  # noqa: E731
    assert width(big) > width(base)
    assert big.congruence["F1"].ci[0] < base.congruence["F1"].ci[0]   # the perturbed refit moves further
    pd.testing.assert_frame_equal(big.loadings, again.loadings)
    assert big.to_dict()["options"]["noise"] == "errors"


# -- decompose ------------------------------------------------------------------------------------------
def _identity_frame(n=60, seed=0):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"a": rng.normal(0, 0.1, n), "b": rng.normal(0, 0.3, n)}, index=[f"m{i}" for i in range(n)])
    df["avg"] = (df["a"] + df["b"]) / 2
    return df


def test_decompose_noise_frame():
    df = _identity_frame()
    kw = dict(aggregate="avg", n_boot=200, seed=0)
    base = af.decompose(df, **kw)
    zero = af.decompose(df, noise="errors", errors=_se(df, 0.0)[["a", "b"]], **kw)
    for p in ("a", "b"):
        assert _same(base.covariance_shares[p], zero.covariance_shares[p])
        assert _same(base.r2[p], zero.r2[p])
    err = pd.DataFrame({"a": 0.1, "b": 0.1}, index=df.index)        # the aggregate has none: it moves with its parts
    big = af.decompose(df, noise="errors", errors=err, **kw)
    again = af.decompose(df, noise="errors", errors=err, **kw)
    assert big.identity and big.r2_joint.method == "identity"
    assert _width(big.covariance_shares["a"]) > _width(base.covariance_shares["a"])
    assert _same(big.covariance_shares["a"], again.covariance_shares["a"])
    # the identity holds in every perturbed resample: the shares still sum to 1
    tot = big.covariance_shares["a"].distribution + big.covariance_shares["b"].distribution
    np.testing.assert_allclose(tot, 1.0, atol=1e-9)
    assert big.to_dict()["options"]["noise"] == "errors"


def _tree_table_with_errors(n=50, seed=1):
    """avg = mean(neural, behav) with neural = mean(V1, IT), behav = mean(b1, b2); errors on the leaves only."""
    rng = np.random.default_rng(seed)
    leaves = pd.DataFrame(rng.uniform(0, 1, (n, 4)), columns=["V1", "IT", "b1", "b2"],
                          index=pd.Index([f"m{i}" for i in range(n)], name="model_id"))
    leaves.iloc[0, 3] = np.nan                                        # model m0 misses b2
    neural = leaves[["V1", "IT"]].mean(axis=1)
    behav = leaves[["b1", "b2"]].fillna(0).mean(axis=1)              # the website's rule: a missing child is 0
    scores = pd.DataFrame({"average_vision": (neural + behav) / 2, "neural_vision": neural, "V1": leaves["V1"],
                           "IT": leaves["IT"], "behavior_vision": behav, "b1": leaves["b1"], "b2": leaves["b2"]})
    tree = BenchmarkTree({"average_vision": ["neural_vision", "behavior_vision"], "neural_vision": ["V1", "IT"],
                          "behavior_vision": ["b1", "b2"]}, roots=["average_vision"])
    status = pd.DataFrame(np.where(scores.isna(), "missing", "ok"), index=scores.index, columns=scores.columns)
    errors = pd.DataFrame(np.nan, index=scores.index, columns=scores.columns)
    errors[["V1", "IT", "b1", "b2"]] = 0.2
    errors.loc[scores["b2"].isna(), "b2"] = np.nan
    table = ScoreTable(scores, status, pd.DataFrame({"model_name": list(scores.index)}, index=scores.index), tree)
    return replace(table, errors=errors)


def test_noise_map_follows_the_tree_rule():
    t = _tree_table_with_errors()
    cols = ["average_vision", "neural_vision", "behavior_vision"]
    idx = t.scores.index
    se, W, leaves, without = _noise_map(t.errors, t.tree, t.scores, None, {}, cols, idx, None)
    assert leaves == ["V1", "IT", "b1", "b2"] and without == []
    # neural = (V1 + IT)/2; behav = (b1 + b2)/2 with b2 missing -> 0 (missing_as_zero); avg = half of each
    np.testing.assert_allclose(W[1, :, 0], [0.25, 0.25, 0.25, 0.25])
    np.testing.assert_allclose(W[1, :, 2], [0, 0, 0.5, 0.5])
    assert se[0, 3] == 0                                               # a missing score has no error
    _, Wp, _, _ = _noise_map(t.errors, t.tree, t.scores, None, {"behavior_vision": "mean_of_present"}, cols, idx, None)
    np.testing.assert_allclose(Wp[0, :, 2], [0, 0, 1, 0])             # mean of the present child only
    ratio = pd.DataFrame(2.0, index=idx, columns=t.scores.columns)   # aggregates of raw values, raw = 2 x score
    _, Wr, _, _ = _noise_map(t.errors, t.tree, t.scores, ratio, {}, cols, idx, None)
    np.testing.assert_allclose(Wr[1, :, 1], [1, 1, 0, 0])


def test_decompose_noise_table_propagates_leaf_errors():
    t = _tree_table_with_errors()
    kw = dict(n_boot=150, seed=2, levels=True)
    base = af.decompose(t, **kw)
    zero = af.decompose(replace(t, errors=t.errors * 0), noise="errors", **kw)
    for p in base.parts:
        assert _same(base.covariance_shares[p], zero.covariance_shares[p])
    assert _same(base.finer.shapley["V1"], zero.finer.shapley["V1"])
    big = af.decompose(replace(t, errors=t.errors * 3), noise="errors", **kw)
    assert _width(big.covariance_shares["neural_vision"]) > _width(base.covariance_shares["neural_vision"])
    assert _width(big.sublevels["neural_vision"].covariance_shares["V1"]) > \
        _width(base.sublevels["neural_vision"].covariance_shares["V1"])
    with pytest.raises(DataError, match="has none"):
        af.decompose(replace(t, errors=None), noise="errors", n_boot=0)


# -- compare_aggregations -----------------------------------------------------------------------------
def test_compare_aggregations_noise():
    x = _factors(n=40)
    x = x - x.min() + 0.1                                              # positive scores
    table = replace(ScoreTable.from_wide(x, domains={c: "neural" if int(c[1]) < 4 else "behavioral" for c in x.columns},
                                         aggregates="none"), errors=_se(x, 0.0).set_axis(x.index.astype(str)))
    kw = dict(methods=["mean", "zscore", "rank", "median_rank"], n_boot=30, seed=0, iia=False,
              metric_sensitivity=False, monotone=False, balance_benchmarks=False, top_k=5)
    base = af.compare_aggregations(table, **kw)
    zero = af.compare_aggregations(table, noise="errors", **kw)
    for name in base.estimates:
        assert _same(base.estimates[name], zero.estimates[name]), name
    big_t = replace(table, errors=table.errors + 2.0)
    big = af.compare_aggregations(big_t, noise="errors", **kw)
    again = af.compare_aggregations(big_t, noise="errors", **kw)
    assert _width(big.estimates["kendall:mean~rank"]) > _width(base.estimates["kendall:mean~rank"])
    assert _width(big.estimates["kendall:zscore~median_rank"]) > _width(base.estimates["kendall:zscore~median_rank"])
    assert all(_same(big.estimates[k], again.estimates[k]) for k in big.estimates)
    assert big.to_dict()["options"]["noise"] == "errors"


# -- the report section ---------------------------------------------------------------------------------
def test_report_section_widening_covers_the_headline_numbers():
    import itertools

    from alignfactors.reporting._reliability_section import render_reliability_section, run_reliability_section

    rng = np.random.default_rng(5)
    n = 60
    f = rng.normal(size=(n, 1))
    leaves = ["V1", "V4", "IT", "b1", "b2", "b3"]
    x = pd.DataFrame(0.5 + 0.1 * (f @ np.ones((1, 6)) + rng.normal(size=(n, 6))), columns=leaves,
                     index=pd.Index([f"m{i}" for i in range(n)], name="model_id"))
    neural, behav = x[["V1", "V4", "IT"]].mean(axis=1), x[["b1", "b2", "b3"]].mean(axis=1)
    scores = pd.concat([((neural + behav) / 2).rename("average_vision"), neural.rename("neural_vision"),
                        x[["V1", "V4", "IT"]], behav.rename("behavior_vision"), x[["b1", "b2", "b3"]]], axis=1)
    tree = BenchmarkTree({"average_vision": ["neural_vision", "behavior_vision"], "neural_vision": ["V1", "V4", "IT"],
                          "behavior_vision": ["b1", "b2", "b3"]}, roots=["average_vision"])
    status = pd.DataFrame("ok", index=scores.index, columns=scores.columns)
    errors = pd.DataFrame(np.nan, index=scores.index, columns=scores.columns)
    errors[leaves] = 0.05
    table = replace(ScoreTable(scores, status, pd.DataFrame({"model_name": [f"net{i}" for i in range(n)]},
                                                             index=scores.index), tree), errors=errors)
    cleaned = af.clean(table, max_missing=0.5)
    dim = af.dimensionality(cleaned.matrix, rules=["parallel_pc", "map"], n_boot=20, seed=0)
    sec = run_reliability_section(table, cleaned, dim, method="spearman", groups=cleaned.domains, n_boot=20,
                                  ci=0.95, seed=0)
    w = sec.widening
    assert set(w["kind"]) == {"agreement", "k", "decomposition"}
    assert {"k (parallel_pc)", "covariance share neural_vision"} <= set(w["quantity"])
    noisy = w[w["interval over"] == "models + score error"].set_index("quantity")
    assert noisy.loc["mean", "width_ratio"] > 1
    text = "\n".join(render_reliability_section(sec, None, itertools.count(1)))
    assert "covariance share behavior_vision" in text and "P(k) over models + score error" in text
