"""Tests for alignfactors.decomposition: hand-worked cases, brute force, statsmodels, errors, invariance."""

import itertools
import json
import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from alignfactors.decomposition import Decomposition, _make_statistic, _subset_r2, decompose
from alignfactors.errors import DataError, ParameterError, ParameterTypeError
from alignfactors.io.table import ScoreTable
from alignfactors.io.tree import BenchmarkTree


def _frame(n=40, seed=0, linear=True):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"a": rng.normal(0, 0.1, n), "b": rng.normal(0, 0.3, n), "c": rng.normal(0, 0.2, n)},
                      index=[f"m{i}" for i in range(n)])
    df["c"] += df["a"]  # correlated parts make Shapley differ from single R²
    df["agg"] = df[["a", "b", "c"]].mean(axis=1)
    if not linear:
        df["agg"] = df["agg"] + 0.05 * df["a"] ** 2 + rng.normal(0, 0.05, n)
    return df


def _tree_table(n=30, seed=1):
    """avg = mean(neural, behav); neural = mean(V1, IT); behav = mean(b1, b2, b3)."""
    rng = np.random.default_rng(seed)
    leaves = pd.DataFrame(rng.uniform(0, 1, (n, 5)), columns=["V1", "IT", "b1", "b2", "b3"],
                          index=[f"m{i}" for i in range(n)])
    neural = leaves[["V1", "IT"]].mean(axis=1)
    behav = leaves[["b1", "b2", "b3"]].mean(axis=1)
    scores = pd.DataFrame({"average_vision": (neural + behav) / 2, "neural_vision": neural,
                           "V1": leaves["V1"], "IT": leaves["IT"], "behavior_vision": behav,
                           "b1": leaves["b1"], "b2": leaves["b2"], "b3": leaves["b3"]})
    scores.index.name = "model_id"
    scores.iloc[0, scores.columns.get_loc("b2")] = np.nan  # one model missing a leaf only
    scores.iloc[1, scores.columns.get_loc("neural_vision")] = np.nan
    tree = BenchmarkTree({"average_vision": ["neural_vision", "behavior_vision"],
                          "neural_vision": ["V1", "IT"], "behavior_vision": ["b1", "b2", "b3"]},
                         roots=["average_vision"])
    status = pd.DataFrame(np.where(scores.isna(), "missing", "ok"), index=scores.index, columns=scores.columns)
    models = pd.DataFrame({"model_name": list(scores.index)}, index=scores.index)
    return ScoreTable(scores, status, models, tree)


def _r2(y, x):
    if x.shape[1] == 0:
        return 0.0
    return sm.OLS(y, sm.add_constant(x, has_constant="add")).fit().rsquared


def test_shapley_sums_to_joint_r2_and_matches_brute_force():
    df = _frame(linear=False)
    dec = decompose(df, aggregate="agg", n_boot=0)
    parts = ["a", "b", "c"]
    y, x = df["agg"].to_numpy(), df[parts].to_numpy()
    # brute force: average over all orderings of the increment in R²
    brute = dict.fromkeys(parts, 0.0)
    orders = list(itertools.permutations(range(3)))
    for order in orders:
        for pos, i in enumerate(order):
            before = list(order[:pos])
            brute[parts[i]] += (_r2(y, x[:, before + [i]]) - _r2(y, x[:, before])) / len(orders)
    for p in parts:
        assert dec.shapley[p].value == pytest.approx(brute[p], abs=1e-12)
    assert sum(e.value for e in dec.shapley.values()) == pytest.approx(dec.r2_joint.value, abs=1e-12)
    assert dec.r2_joint.value == pytest.approx(_r2(y, x), abs=1e-12)
    for p in parts:
        assert dec.r2[p].value == pytest.approx(np.corrcoef(y, df[p])[0, 1] ** 2, abs=1e-12)


def test_covariance_shares_sum_to_one_for_linear_aggregate():
    dec = decompose(_frame(), aggregate="agg", n_boot=50, seed=0)
    assert dec.weights_source == "equal"
    assert dec.weights.tolist() == pytest.approx([1 / 3] * 3)
    assert sum(e.value for e in dec.covariance_shares.values()) == pytest.approx(1.0, abs=1e-12)
    # each replicate sums to 1 as well
    total = sum(e.distribution for e in dec.covariance_shares.values())
    assert np.allclose(total, 1.0)
    assert dec.r2_joint.value == pytest.approx(1.0)


def test_hand_worked_two_parts():
    # A = (N + B)/2 with N, B uncorrelated, Var(B) = 4 Var(N): shares 1/5 and 4/5, r2 = shares
    n = np.array([1.0, -1, 1, -1])
    b = np.array([2.0, 2, -2, -2])
    df = pd.DataFrame({"avg": (n + b) / 2, "n": n, "b": b})
    dec = decompose(df, aggregate="avg", n_boot=0)
    assert dec.r2["n"].value == pytest.approx(0.2)
    assert dec.r2["b"].value == pytest.approx(0.8)
    assert dec.shapley["n"].value == pytest.approx(0.2)
    assert dec.covariance_shares["b"].value == pytest.approx(0.8)
    assert dec.variance["b"]["var"].value == pytest.approx(np.var(b, ddof=1))
    assert dec.variance["n"]["sd"].value == pytest.approx(np.std(n, ddof=1))


def test_weighted_statistic_equals_ols_on_materialised_resample():
    df = _frame(linear=False)
    z = df[["agg", "a", "b", "c"]].to_numpy()
    stat = _make_statistic(z, 3, None)
    rng = np.random.default_rng(3)
    idx = rng.integers(0, len(z), len(z))
    w = np.bincount(idx, minlength=len(z)).astype(float)[None, :]
    out = stat(w)[0]
    zz = z[idx]
    fit = sm.OLS(zz[:, 0], sm.add_constant(zz[:, 1:])).fit()
    k = 3
    assert out[k] == pytest.approx(fit.rsquared, abs=1e-12)
    assert out[5 * k + 3:] == pytest.approx(fit.params, abs=1e-10)
    assert out[3 * k + 1] == pytest.approx(np.var(zz[:, 0], ddof=1), abs=1e-14)
    # OLS-weight covariance shares of the fitted part sum to 1
    assert out[2 * k + 1: 3 * k + 1].sum() == pytest.approx(1.0)


def _corr_batch(x):
    """Correlation matrices (B, p, p) of data (B, n, p); column 0 is the response."""
    xc = x - x.mean(axis=1, keepdims=True)
    c = np.einsum("bni,bnj->bij", xc, xc)
    sd = np.sqrt(np.diagonal(c, axis1=1, axis2=2))
    return c / (sd[:, :, None] * sd[:, None, :])


def _subset_r2_by_solve(corr):
    """Reference: R² = r_S' R_SS^-1 r_S by one np.linalg.solve per subset (bitmask order); NaN when
    R_SS has rank < |S| (numpy's SVD rank)."""
    k = corr.shape[-1] - 1
    out = np.zeros((corr.shape[0], 1 << k))
    for b, c in enumerate(corr):
        for mask in range(1, 1 << k):
            s = [j for j in range(k) if mask >> j & 1]
            a, r = c[1:, 1:][np.ix_(s, s)], c[0, 1:][s]
            if not np.isfinite(a).all() or np.linalg.matrix_rank(a) < len(s):
                out[b, mask] = np.nan
            else:
                out[b, mask] = r @ np.linalg.solve(a, r)
    return out


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 6, 7, 8, 12])
def test_subset_r2_matches_a_solve_per_subset(k):
    rng = np.random.default_rng(k)
    n_batch = 2 if k == 12 else 5
    x = rng.normal(size=(n_batch, 60, k + 1))
    x[..., 1:] += rng.normal(size=(n_batch, 1, k)) * x[..., 1:2]  # correlated predictors
    x[..., 0] += x[..., 1:] @ rng.normal(size=k)
    corr = _corr_batch(x)
    got = _subset_r2(corr[:, 0, 1:], corr[:, 1:, 1:])
    want = _subset_r2_by_solve(corr)
    assert got.shape == (n_batch, 1 << k)
    assert np.isfinite(got).all() and (got[:, 0] == 0).all()
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-10)
    # the full set agrees with OLS on the data
    y, xs = x[0, :, 0], x[0, :, 1:]
    assert got[0, -1] == pytest.approx(_r2(y, xs), abs=1e-10)


def test_subset_r2_singular_subsets_are_nan():
    rng = np.random.default_rng(5)
    k = 6
    dup = rng.normal(size=(40, k + 1))
    dup[:, 4] = dup[:, 2]  # predictors 1 and 3 duplicated: every subset holding both is singular
    few = rng.normal(size=(5, k + 1))  # 5 models: centred rank 4, so every subset of > 4 is singular
    undefined = rng.normal(size=(40, k + 1))
    corr = np.stack([_corr_batch(dup[None])[0], _corr_batch(few[None])[0], _corr_batch(undefined[None])[0]])
    corr[2] = np.nan  # a resample the statistic marks undefined
    got = _subset_r2(corr[:, 0, 1:], corr[:, 1:, 1:])
    want = _subset_r2_by_solve(corr)
    masks = np.arange(1 << k)
    both = (masks >> 1 & 1) & (masks >> 3 & 1) == 1
    assert np.isnan(got[0, both]).all() and np.isfinite(got[0, ~both]).all()
    size = np.array([bin(m).count("1") for m in masks])
    assert np.isnan(got[1, size > 4]).all() and np.isfinite(got[1, size <= 4]).all()
    assert np.isnan(got[2, 1:]).all()
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got[np.isfinite(want)], want[np.isfinite(want)], rtol=0, atol=1e-10)
    # in the statistic, a resample with a duplicated part has undefined Shapley shares, defined single R²
    z = dup[:, [0, 1, 2, 3, 4]]
    out = _make_statistic(z, 4, None)(np.ones((1, len(z))))[0]
    assert np.isfinite(out[:4]).all() and np.isnan(out[4:9]).all()


def test_nonlinear_aggregate_uses_ols_weights():
    df = _frame(linear=False)
    dec = decompose(df, aggregate="agg", n_boot=0)
    assert dec.weights_source == "ols"
    coef = dec.coefficients.set_index("term")["estimate"]
    assert dec.weights.to_numpy() == pytest.approx(coef[["a", "b", "c"]].to_numpy())
    assert list(dec.coefficients.columns) == ["term", "estimate", "se_hc3", "statistic", "p_value",
                                              "ci_low", "ci_high", "se_boot", "ci_method"]


def test_tree_levels_and_exclusions():
    table = _tree_table()
    dec = decompose(table, n_boot=30, seed=0)
    assert dec.parts == ["neural_vision", "behavior_vision"]
    assert dec.n_excluded == 1 and dec.n_models == 29
    assert dec.excluded["model_id"].tolist() == ["m1"]
    assert dec.weights_source == "tree"
    assert set(dec.sublevels) == {"neural_vision", "behavior_vision"}
    assert dec.sublevels["behavior_vision"].parts == ["b1", "b2", "b3"]
    assert dec.sublevels["behavior_vision"].n_models == 29  # m0 lacks b2
    fin = dec.finer
    assert fin.aggregate == "average_vision" and fin.parts == ["V1", "IT", "b1", "b2", "b3"]
    assert fin.weights_source == "tree"
    assert fin.weights.tolist() == pytest.approx([0.25, 0.25, 1 / 6, 1 / 6, 1 / 6])
    assert sum(e.value for e in fin.covariance_shares.values()) == pytest.approx(1.0)
    assert sum(e.value for e in fin.shapley.values()) == pytest.approx(fin.r2_joint.value)
    frame = dec.to_frame()
    assert set(frame["decomposition"]) == {"parts", "finer", "sublevel"}
    assert {"ci_low", "ci_high"} <= set(frame.columns)
    d = dec.to_dict()
    json.dumps(d)
    assert list(d["finer"]["parts"]) == fin.parts
    assert "one level down" in dec.summary() and "|" in dec.to_markdown()
    assert str(dec) == dec.summary()
    no_levels = decompose(table, n_boot=0, levels=False)
    assert no_levels.sublevels == {} and no_levels.finer is None


def test_dataframe_with_integer_index_and_models():
    df = _frame().reset_index(drop=True)
    dec = decompose(df, aggregate="agg", models=list(range(10)), n_boot=0)
    assert dec.n_models == 10


def test_models_argument_restricts():
    table = _tree_table()
    keep = [f"m{i}" for i in range(2, 20)]
    dec = decompose(table, models=keep, n_boot=0, levels=False)
    assert dec.n_models == 18 and dec.n_excluded == 0


def test_intervals_cover_and_record_provenance():
    dec = decompose(_frame(n=60), aggregate="agg", n_boot=200, seed=1)
    for e in list(dec.r2.values()) + list(dec.shapley.values()):
        assert e.n_boot == 200
    # agg is exactly the mean of the parts: an identity, stated and not bootstrapped
    assert dec.identity and dec.primary == "covariance_shares"
    assert dec.r2_joint.method == "identity" and dec.r2_joint.n_boot == 0 and math.isnan(dec.r2_joint.ci[0])
    assert "p_value" not in dec.coefficients.columns and "Identity" in dec.summary()
    e = dec.r2["b"]
    assert e.ci[0] <= e.value <= e.ci[1]
    assert isinstance(dec, Decomposition) and dec.seed == 1


def test_invariance_row_order_seed_and_n_jobs():
    df = _frame(linear=False)
    a = decompose(df, aggregate="agg", n_boot=100, seed=5)
    b = decompose(df, aggregate="agg", n_boot=100, seed=5)
    assert a.to_frame().equals(b.to_frame())
    c = decompose(df, aggregate="agg", n_boot=100, seed=5, n_jobs=2)
    assert a.to_frame().equals(c.to_frame())
    shuffled = df.sample(frac=1.0, random_state=0)
    d = decompose(shuffled, aggregate="agg", n_boot=0)
    for p in ["a", "b", "c"]:
        assert d.shapley[p].value == pytest.approx(a.shapley[p].value, abs=1e-12)
        assert d.r2[p].value == pytest.approx(a.r2[p].value, abs=1e-12)


def test_errors():
    df = _frame()
    with pytest.raises(ParameterTypeError, match="table must be a ScoreTable"):
        decompose([1, 2, 3])
    with pytest.raises(ParameterError, match="aggregate='nope' is not a column"):
        decompose(df, aggregate="nope")
    with pytest.raises(ParameterError, match=r"parts \['zz'\] are not columns"):
        decompose(df, aggregate="agg", parts=["a", "zz"])
    with pytest.raises(ParameterTypeError, match="parts must be a list"):
        decompose(df, aggregate="agg", parts="a")
    with pytest.raises(ParameterError, match="must not contain the aggregate"):
        decompose(df, aggregate="agg", parts=["agg", "a"])
    with pytest.raises(ParameterError, match="n_boot must be a non-negative integer"):
        decompose(df, aggregate="agg", n_boot=-1)
    with pytest.raises(ParameterError, match=r"ci \(confidence level\)"):
        decompose(df, aggregate="agg", ci=95)
    with pytest.raises(ParameterError, match=r"models \['x'\] are not in the table"):
        decompose(df, aggregate="agg", models=["x"])
    with pytest.raises(DataError, match="needs at least 5 models"):
        decompose(df.iloc[:4], aggregate="agg", n_boot=0)
    dup = df.assign(d=df["a"] * 2)
    with pytest.raises(DataError, match="collinear"):
        decompose(dup, aggregate="agg", parts=["a", "d"], n_boot=0)
    with pytest.raises(ParameterError, match="is a leaf"):
        decompose(_tree_table(), aggregate="V1")


@pytest.mark.slow
def test_real_export(brainscore_path):
    from alignfactors.io.loading import load_brainscore

    table = load_brainscore(brainscore_path)
    dec = decompose(table, n_boot=100, seed=0)
    assert dec.weights_source == "tree"
    assert sum(e.value for e in dec.covariance_shares.values()) == pytest.approx(1.0, abs=0.01)
    assert dec.r2["behavior_vision"].value > dec.r2["neural_vision"].value
    assert math.isclose(dec.r2_joint.value, 1.0, abs_tol=1e-4)


def test_missing_children_policies_and_zero_fill_diagnostic():
    # behav = mean(b1, b2, b3) with a missing child counted as 0 (as the website does)
    rng = np.random.default_rng(3)
    n = 40
    leaves = pd.DataFrame(rng.uniform(0.4, 0.6, (n, 5)), columns=["V1", "IT", "b1", "b2", "b3"],
                          index=[f"m{i}" for i in range(n)])
    leaves.iloc[:15, 3] = np.nan  # 15 models never ran b2
    leaves.iloc[:8, 4] = np.nan  # 8 of them never ran b3 either
    neural = leaves[["V1", "IT"]].mean(axis=1)
    behav = leaves[["b1", "b2", "b3"]].fillna(0).mean(axis=1)
    scores = pd.DataFrame({"average_vision": (neural + behav) / 2, "neural_vision": neural, "V1": leaves["V1"],
                           "IT": leaves["IT"], "behavior_vision": behav, "b1": leaves["b1"], "b2": leaves["b2"],
                           "b3": leaves["b3"]})
    scores.index.name = "model_id"
    tree = BenchmarkTree({"average_vision": ["neural_vision", "behavior_vision"],
                          "neural_vision": ["V1", "IT"], "behavior_vision": ["b1", "b2", "b3"]},
                         roots=["average_vision"])
    status = pd.DataFrame(np.where(scores.isna(), "missing", "ok"), index=scores.index, columns=scores.columns)
    table = ScoreTable(scores, status, pd.DataFrame({"model_name": list(scores.index)}, index=scores.index), tree)
    web = decompose(table, n_boot=50, seed=0, levels=False)
    assert web.missing == "as_website" and web.n_models == n and web.identity
    # the zero fill drives behavior_vision: strongly negative correlation with its missing children
    zf = web.zero_fill["behavior_vision"]
    assert zf.value < -0.8 and zf.ci[1] < 0
    assert web.missing_children["behavior_vision"] == pytest.approx(23 / 40)
    assert math.isnan(web.zero_fill["neural_vision"].value)  # no neural child is missing
    comp = decompose(table, n_boot=0, missing="complete_children", levels=False)
    assert comp.n_models == 25 and comp.n_excluded == 15
    assert comp.excluded["reason"].str.contains("a child").all()
    skip = decompose(table, n_boot=0, missing="skip", levels=False)
    assert skip.n_models == n and skip.identity
    # skip recomputes behavior_vision from the present children: no zero-fill left
    assert web.r2["behavior_vision"].value > skip.r2["behavior_vision"].value
    with pytest.raises(ParameterError, match="missing must be one of"):
        decompose(table, missing="zero")
    with pytest.raises(ParameterError, match="needs the benchmark tree"):
        decompose(_frame(), aggregate="agg", missing="skip")
