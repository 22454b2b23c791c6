"""Tests of alignfactors.aggregation: hand-worked cases, invariances, errors, the real export."""

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alignfactors.aggregation import AGGREGATION_METHODS, aggregate, rank_models
from alignfactors.errors import (
    DataError,
    DegenerateDataWarning,
    ParameterError,
    ParameterTypeError,
)
from alignfactors.io.table import ScoreTable
from alignfactors.io.tree import BenchmarkTree

# Three models where the mean and the mean rank disagree:
#        a    b    c    mean    ranks (1 = best)  mean rank  median rank  Borda points
#  m1   .9   .2   .2   .4333    1  3  3            7/3        3            2 0 0 -> 2
#  m2   .1   .4   .5   .3333    3  1  1            5/3        1            0 2 2 -> 4
#  m3   .5   .3   .4   .4000    2  2  2            2          2            1 1 1 -> 3
# mean: m1 > m3 > m2; mean rank: m2 > m3 > m1.
# Copeland: m2 beats m1 (b, c), m3 beats m1 (b, c), m2 beats m3 (b, c) -> m1 -2, m2 +2, m3 0.
HAND = pd.DataFrame(
    {"a": [0.9, 0.1, 0.5], "b": [0.2, 0.4, 0.3], "c": [0.2, 0.5, 0.4]}, index=["m1", "m2", "m3"]
)
RANK_BASED = ("rank", "median_rank", "borda", "copeland")


def _tree_table():
    """average_x = mean(neural_x, behavior_x); neural_x = mean(V1, IT); behavior_x = mean(b1)."""
    tree = BenchmarkTree(
        {"average_x": ["neural_x", "behavior_x"], "neural_x": ["V1", "IT"],
         "behavior_x": ["b1"]},
        roots=["average_x", "eng"],
    )
    cols = tree.nodes
    scores = pd.DataFrame(np.nan, index=pd.Index(["m1", "m2"], name="model_id"), columns=cols)
    scores[["V1", "IT", "b1", "eng"]] = [[0.2, 0.4, 0.6, 0.9], [0.5, np.nan, 0.1, 0.3]]
    status = pd.DataFrame(np.where(scores.isna(), "missing", "ok"), index=scores.index,
                          columns=cols)
    models = pd.DataFrame({"model_name": ["m1", "m2"]}, index=scores.index)
    return ScoreTable(scores, status, models, tree)


# -- hand-worked reference cases ----------------------------------------------------------------
def test_mean_and_rank_disagree_by_hand():
    mean = aggregate(HAND, method="mean")
    np.testing.assert_allclose(mean, [1.3 / 3, 1.0 / 3, 1.2 / 3], atol=1e-12)
    rank = aggregate(HAND, method="rank")
    np.testing.assert_allclose(-rank, [7 / 3, 5 / 3, 2.0], atol=1e-12)
    np.testing.assert_allclose(-aggregate(HAND, method="median_rank"), [3.0, 1.0, 2.0])
    assert rank_models(mean).tolist() == [1.0, 3.0, 2.0]
    assert rank_models(rank).tolist() == [3.0, 1.0, 2.0]
    assert mean.name == "mean" and mean.index.name == "model_id"
    assert list(mean.index) == ["m1", "m2", "m3"]


def test_borda_and_copeland_by_hand():
    borda = aggregate(HAND, method="borda")
    np.testing.assert_allclose(borda * 3, [2.0, 4.0, 3.0], atol=1e-12)  # Borda counts
    np.testing.assert_array_equal(aggregate(HAND, method="copeland"), [-2.0, 2.0, 0.0])


def test_copeland_condorcet_cycle_is_a_tie():
    # x > y > z on p, y > z > x on q, z > x > y on r: every pair 2-1 in a cycle.
    cyc = pd.DataFrame({"p": [3, 2, 1], "q": [1, 3, 2], "r": [2, 1, 3]}, index=["x", "y", "z"])
    np.testing.assert_array_equal(aggregate(cyc, method="copeland"), [0.0, 0.0, 0.0])
    np.testing.assert_allclose(aggregate(cyc, method="borda"), [1.0, 1.0, 1.0])


def test_zscore_minmax_geometric_by_hand():
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [10.0, 10.0, 40.0]}, index=["x", "y", "z"])
    # a: z = -1, 0, 1 (sd 1); b: mean 20, sd = sqrt(300) -> (-10, -10, 20) / 17.3205
    zb = np.array([-10.0, -10.0, 20.0]) / np.sqrt(300.0)
    np.testing.assert_allclose(aggregate(df, method="zscore"), (np.array([-1, 0, 1]) + zb) / 2)
    np.testing.assert_allclose(aggregate(df, method="minmax"), [0.0, 0.25, 1.0])
    np.testing.assert_allclose(aggregate(df, method="geometric"),
                               np.sqrt([10.0, 20.0, 120.0]))


def test_brainscore_hierarchical_by_hand():
    t = _tree_table()
    # m1: neural = (.2 + .4)/2 = .3, behavior = .6, average = .45
    # m2: neural = (.5 + 0)/2 = .25 (IT missing = 0), behavior = .1, average = .175
    bs = aggregate(t)
    np.testing.assert_allclose(bs, [0.45, 0.175], atol=1e-12)
    assert bs.attrs["root"] == "average_x" and bs.attrs["metrics"] == ["V1", "IT", "b1"]
    assert bs.attrs["n_missing_zeroed"] == 1
    # flat, missing = 0: m1 (.2 + .4 + .6)/3 = .4, m2 (.5 + 0 + .1)/3 = .2
    np.testing.assert_allclose(aggregate(t, hierarchical=False), [0.4, 0.2], atol=1e-12)
    # skip: m2 neural = .5 -> average (.5 + .1)/2 = .3
    skip = aggregate(t, missing="skip")
    np.testing.assert_allclose(skip, [0.45, 0.3], atol=1e-12)
    assert skip.attrs["n_missing_skipped"] == 1
    # engineering is not a default domain; root= selects its subtree
    np.testing.assert_allclose(aggregate(t, root="eng"), [0.9, 0.3])
    np.testing.assert_allclose(aggregate(t, domains=["neural"]), [0.3, 0.25])


def test_hierarchical_rank_by_hand():
    t = _tree_table()
    # ranks (1 = best) among present values: V1 m1 2, m2 1; IT m1 1 (m2 missing); b1 m1 1, m2 2
    # neural: m1 -(2 + 1)/2 = -1.5, m2 -1; behavior: m1 -1, m2 -2; average: m1 -1.25, m2 -1.5
    np.testing.assert_allclose(aggregate(t, method="rank", hierarchical=True), [-1.25, -1.5])
    # flat: m1 -(2 + 1 + 1)/3, m2 -(1 + 2)/2
    np.testing.assert_allclose(aggregate(t, method="rank"), [-4 / 3, -1.5])


def test_leaf_weights_follow_the_tree():
    t = _tree_table()
    assert aggregate(t).attrs["leaf_weights"] == {"V1": 0.25, "IT": 0.25, "b1": 0.5}
    flat = aggregate(t, hierarchical=False, weights={"b1": 2})
    assert flat.attrs["leaf_weights"] == {"V1": 0.25, "IT": 0.25, "b1": 0.5}


def test_weights_by_hand():
    t = _tree_table()
    # hierarchical: average = (1 * neural + 3 * behavior) / 4; m1 (.3 + 1.8)/4 = .525
    w = aggregate(t, weights={"behavior_x": 3})
    np.testing.assert_allclose(w.iloc[0], 0.525)
    # flat: leaf weight = own x ancestors': V1 3, IT 1, b1 2; m1 (.6 + .4 + 1.2)/6
    flat = aggregate(t, hierarchical=False, weights={"behavior_x": 2, "V1": 3})
    np.testing.assert_allclose(flat.iloc[0], 2.2 / 6)
    # zero weight removes a metric
    np.testing.assert_allclose(aggregate(HAND, method="mean", weights={"a": 0}),
                               HAND[["b", "c"]].mean(axis=1))


def test_round_nodes_rounds_every_parent():
    tree = BenchmarkTree({"avg": ["p", "q"], "p": ["a", "b"]}, roots=["avg"])
    scores = pd.DataFrame({"avg": [np.nan], "p": [np.nan], "a": [0.1], "b": [0.2221],
                           "q": [0.3]}, index=pd.Index(["m"], name="model_id"))
    t = ScoreTable(scores, pd.DataFrame("ok", index=scores.index, columns=scores.columns),
                   pd.DataFrame({"model_name": ["m"]}, index=scores.index), tree)
    # p = .16105 -> .161; avg = (.161 + .3)/2 = .2305 -> round(.2305, 3)
    assert aggregate(t, round_nodes=True).iloc[0] == np.round((0.161 + 0.3) / 2, 3)
    np.testing.assert_allclose(aggregate(t).iloc[0], (0.16105 + 0.3) / 2)


def test_pc1_sign_and_two_metric_case():
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(30, 2)), columns=["a", "b"])
    pc1 = aggregate(df, method="pc1")
    # two standardised metrics: PC1 is proportional to z_a + z_b, sign towards the mean
    z = aggregate(df, method="zscore")
    np.testing.assert_allclose(np.corrcoef(pc1, z)[0, 1], 1.0, atol=1e-10)
    assert np.corrcoef(pc1, df.mean(axis=1))[0, 1] > 0


def test_rank_models_average_ties_and_nan():
    r = rank_models(pd.Series([0.5, np.nan, 0.9, 0.5], index=list("abcd")))
    assert r.tolist()[0] == 2.5 and np.isnan(r["b"]) and r["c"] == 1.0 and r.name == "rank"


# -- invariances --------------------------------------------------------------------------------
_matrix = st.integers(min_value=0, max_value=2**32 - 1).map(
    lambda s: pd.DataFrame(np.random.default_rng(s).uniform(0.05, 1.0, size=(7, 4)),
                           index=[f"m{i}" for i in range(7)], columns=list("abcd"))
)


@settings(max_examples=25, deadline=None)
@given(_matrix, st.floats(0.1, 10.0), st.floats(-5.0, 5.0), st.sampled_from(list("abcd")))
def test_zscore_invariant_to_affine_rescaling(df, a, b, col):
    moved = df.copy()
    moved[col] = a * moved[col] + b
    pd.testing.assert_series_equal(aggregate(df, method="zscore"),
                                   aggregate(moved, method="zscore"), atol=1e-9)


@settings(max_examples=25, deadline=None)
@given(_matrix, st.sampled_from(list("abcd")), st.sampled_from(RANK_BASED))
def test_rank_methods_invariant_to_monotone_transform(df, col, method):
    moved = df.copy()
    moved[col] = np.exp(3 * moved[col]) + moved[col] ** 3
    pd.testing.assert_series_equal(aggregate(df, method=method),
                                   aggregate(moved, method=method), atol=1e-12)


@settings(max_examples=15, deadline=None)
@given(_matrix, st.permutations(list(range(7))), st.sampled_from(AGGREGATION_METHODS))
def test_row_order_changes_nothing(df, perm, method):
    df = df.copy()
    df.iloc[1, 2] = np.nan
    missing = "zero" if method == "pc1" else None
    kw = {"geometric_floor": 0.01} if method == "geometric" else {}
    base = aggregate(df, method=method, missing=missing, **kw)
    shuffled = aggregate(df.iloc[perm], method=method, missing=missing, **kw)
    pd.testing.assert_series_equal(base, shuffled.loc[base.index], atol=1e-10)


def test_hierarchical_and_flat_agree_on_a_flat_table():
    for method in AGGREGATION_METHODS:
        kw = {"missing": "error"} if method == "pc1" else {}
        np.testing.assert_allclose(aggregate(HAND, method=method, hierarchical=True, **kw),
                                   aggregate(HAND, method=method, hierarchical=False, **kw),
                                   atol=1e-12, err_msg=method)


def test_models_subset_and_metrics_override():
    sub = aggregate(HAND, method="rank", models=["m1", "m2"])
    # among m1, m2: a m1 1, b m2 1, c m2 1 -> mean ranks 5/3, 4/3
    np.testing.assert_allclose(-sub, [5 / 3, 4 / 3])
    only = aggregate(HAND, method="mean", metrics=["c", "a"])
    np.testing.assert_allclose(only, HAND[["a", "c"]].mean(axis=1))
    assert only.attrs["metrics"] == ["a", "c"]


# -- missing data -------------------------------------------------------------------------------
def test_missing_policies():
    df = HAND.copy()
    df.loc["m2", "b"] = np.nan
    with pytest.raises(DataError, match=r"missing='error': 1 missing score.*'m2' on 'b'"):
        aggregate(df, method="mean", missing="error")
    with pytest.raises(DataError, match=r"'m2' on 'b'"):
        aggregate(df, method="pc1")  # pc1 defaults to missing="error"
    skip = aggregate(df, method="mean")
    assert skip.attrs["n_missing_skipped"] == 1 and skip.attrs["missing"] == "skip"
    np.testing.assert_allclose(skip["m2"], 0.3)
    np.testing.assert_allclose(aggregate(df, method="mean", missing="zero")["m2"], 0.2)


def test_model_without_values_gets_nan_with_warning():
    df = HAND.copy()
    df.loc["m3"] = np.nan
    with pytest.warns(DegenerateDataWarning, match=r"no present value.*'m3'"):
        out = aggregate(df, method="zscore")
    assert np.isnan(out["m3"]) and out[["m1", "m2"]].notna().all()


def test_constant_metric_warns():
    df = HAND.assign(k=0.5)
    with pytest.warns(DegenerateDataWarning, match=r"\['k'\] are constant"):
        out = aggregate(df, method="zscore")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ref = aggregate(HAND, method="zscore")
    np.testing.assert_allclose(out, ref * 3 / 4)


# -- errors -------------------------------------------------------------------------------------
def test_errors():
    with pytest.raises(ParameterError, match=r"method='avg' is not known; use one of"):
        aggregate(HAND, method="avg")
    with pytest.raises(ParameterError, match=r"the weight of 'a' must be a finite number >= 0"):
        aggregate(HAND, method="mean", weights={"a": -1})
    with pytest.raises(ParameterError, match=r"weights: 'zz' is not among the selected metrics"):
        aggregate(HAND, method="mean", weights={"zz": 1})
    with pytest.raises(ParameterError, match=r"every child of '<all selected>' has weight 0"):
        aggregate(HAND, method="mean", weights={"a": 0, "b": 0, "c": 0})
    with pytest.raises(ParameterError, match=r"missing='drop' is not known"):
        aggregate(HAND, method="mean", missing="drop")
    with pytest.raises(ParameterError, match=r"metrics: unknown columns \['q'\]"):
        aggregate(HAND, metrics=["a", "q"])
    with pytest.raises(ParameterError, match=r"models: unknown model ids \['m9'\]"):
        aggregate(HAND, models=["m1", "m9"])
    with pytest.raises(ParameterError, match=r"root='nope' is not a benchmark node"):
        aggregate(HAND, root="nope")
    with pytest.raises(ParameterError, match=r"missing='skip' is not defined for method='pc1'"):
        aggregate(HAND, method="pc1", missing="skip")
    with pytest.raises(ParameterError, match=r"round_nodes=True applies to methods"):
        aggregate(HAND, method="rank", round_nodes=True)
    with pytest.raises(ParameterTypeError, match=r"table must be a ScoreTable or a pandas"):
        aggregate(HAND.to_numpy())
    with pytest.raises(DataError, match=r"method='geometric' needs positive scores.*'m1' on 'a'"):
        aggregate(HAND.assign(a=[-0.1, 0.2, 0.3]), method="geometric")
    t = _tree_table()
    with pytest.raises(ParameterError, match=r"lists both 'IT' and its ancestor 'neural_x'"):
        aggregate(t, metrics=["neural_x", "IT"])
    with pytest.raises(ParameterError, match=r"no selected leaf has domain \['visual'\]"):
        aggregate(t, domains=["visual"])


def test_geometric_floor_counts():
    out = aggregate(HAND.assign(a=[0.0, 0.2, 0.3]), method="geometric", geometric_floor=0.01)
    assert out.attrs["n_floored"] == 1
    np.testing.assert_allclose(out["m1"], (0.01 * 0.2 * 0.2) ** (1 / 3))


# -- the real export ----------------------------------------------------------------------------
def test_brainscore_rebuilds_exported_average_vision(brainscore_path):
    from alignfactors.io.loading import load_brainscore

    table = load_brainscore(brainscore_path)
    rebuilt = aggregate(table, method="brainscore")
    assert rebuilt.attrs["root"] == "average_vision"
    exported = table.scores["average_vision"]
    present = exported.notna()
    diff = (rebuilt[present] - exported[present]).abs()
    assert present.sum() == 443
    # Leaves are rounded to 3 decimals; the website averages unrounded values and rounds once.
    assert diff.max() <= 0.001
    assert ((rebuilt[present].round(3) - exported[present]).abs() < 1e-9).sum() >= 420
    # Rounding every parent on the way up matches fewer models exactly: not what the site does.
    per_level = aggregate(table, method="brainscore", round_nodes=True)
    assert ((per_level[present] - exported[present]).abs() < 1e-9).sum() < 420


def test_every_method_runs_on_the_real_export(brainscore_path):
    from alignfactors.io.loading import load_brainscore

    table = load_brainscore(brainscore_path)
    for method in AGGREGATION_METHODS:
        kw = {"missing": "zero"} if method == "pc1" else {}
        if method == "geometric":
            kw["geometric_floor"] = 1e-3
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DegenerateDataWarning)
            out = aggregate(table, method=method, **kw)
        assert out.shape == (table.n_models,) and out.notna().sum() >= 440, method


def test_domain_zscore_is_balanced_by_construction():
    rng = np.random.default_rng(0)
    n = 30
    df = pd.DataFrame({"neural_a": rng.normal(0, 0.01, n), "neural_b": rng.normal(0, 0.02, n),
                       "neural_c": rng.normal(0, 0.03, n), "behavior_a": rng.normal(0, 1.0, n)},
                      index=[f"m{i}" for i in range(n)])
    s = aggregate(df, method="domain_zscore")
    z = (df - df.mean()) / df.std(ddof=1)
    zn = z[["neural_a", "neural_b", "neural_c"]].mean(axis=1)
    expect = ((zn - zn.mean()) / zn.std(ddof=1) + z["behavior_a"]) / 2
    np.testing.assert_allclose(s.to_numpy(), expect.to_numpy(), atol=1e-12)
    assert s.attrs["domains"] == {"neural": ["neural_a", "neural_b", "neural_c"], "behavioral": ["behavior_a"]}
    lw = s.attrs["leaf_weights"]
    assert lw["behavior_a"] == pytest.approx(0.5) and lw["neural_a"] == pytest.approx(1 / 6)
    # each domain contributes the same variance whatever its number of metrics
    sub_n = aggregate(df, method="domain_zscore", domains=["neural"])
    sub_b = aggregate(df, method="domain_zscore", domains=["behavioral"])
    assert sub_n.std(ddof=1) == pytest.approx(1.0) and sub_b.std(ddof=1) == pytest.approx(1.0)
    np.testing.assert_allclose(s, (sub_n + sub_b) / 2, atol=1e-12)


def test_domain_zscore_standardises_every_node_of_the_tree(mini_path):
    from alignfactors.io.loading import load_brainscore

    table = load_brainscore(mini_path)
    s = aggregate(table, method="domain_zscore")
    assert s.attrs["hierarchical"] is True
    for d in ("neural", "behavioral"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DegenerateDataWarning)  # model 104 has no behavioral score
            sub = aggregate(table, method="domain_zscore", domains=[d])
        assert sub.std(ddof=1) == pytest.approx(1.0)
