"""Tests for alignfactors.comparison: hand-worked rankings, IIA flip, weighted kernels, errors, invariance."""

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from alignfactors.aggregation import aggregate
from alignfactors.comparison import (AggregationComparison, _resample_view, _Scorer, _wcorr,
                                     _wkendall, compare_aggregations)
from alignfactors.errors import DataError, ParameterError, ParameterTypeError
from alignfactors.io.table import ScoreTable

FAST = dict(iia=False, metric_sensitivity=False, monotone=False)


def _domain_table(n=14, seed=0):
    rng = np.random.default_rng(seed)
    g = rng.normal(size=n)
    df = pd.DataFrame({
        "neural_a": 0.5 + 0.05 * g + rng.normal(0, 0.05, n),
        "neural_b": 0.4 + 0.05 * g + rng.normal(0, 0.05, n),
        "behavior_a": 0.5 + 0.2 * g + rng.normal(0, 0.1, n),
        "behavior_b": 0.3 + 0.2 * rng.normal(size=n),
    }, index=[f"m{i}" for i in range(n)])
    df.iloc[2, 1] = np.nan
    return df


def test_three_models_mean_and_mean_rank_disagree():
    # mean: m1 = 1/3 > m2 = 0.267 > m3 = 0.167; mean rank: m2 = 4/3 < m1 = m3 = 7/3
    df = pd.DataFrame({"a": [1.0, 0.2, 0.1], "b": [0.0, 0.3, 0.2], "c": [0.0, 0.3, 0.2]},
                      index=["m1", "m2", "m3"])
    res = compare_aggregations(df, methods=["mean", "rank"], n_boot=0, top_k=1, **FAST)
    assert res.ranks["mean"].tolist() == [1.0, 2.0, 3.0]
    assert res.ranks["rank"].tolist() == [2.5, 1.0, 2.5]
    assert res.scores["rank"].tolist() == pytest.approx([-7 / 3, -4 / 3, -7 / 3])
    row = res.agreement.set_index("measure").loc["top_k"]
    assert row["value"] == 0.0  # different winners
    # pairs: (m1, m2) discordant, (m2, m3) concordant, (m1, m3) tied under rank -> tau-b = 0
    assert res.agreement.set_index("measure").loc["kendall", "value"] == pytest.approx(0.0, abs=1e-12)
    assert stats.kendalltau(res.scores["mean"], res.scores["rank"])[0] == pytest.approx(0.0, abs=1e-12)


def test_irrelevant_alternative_flips_rank_rule_not_mean():
    # With D: mean ranks B = 2.5, C = 7/3 (C ahead); without D: B = 11/6, C = 2 (B ahead).
    df = pd.DataFrame({"a": [0.5, 0.7, 0.6, 0.8], "b": [0.6, 0.6, 0.9, 0.7], "c": [0.9, 0.5, 0.31, 0.1]},
                      index=["A", "B", "C", "D"])
    res = compare_aggregations(df, methods=["mean", "rank"], n_boot=0, top_k=1, iia=True,
                               metric_sensitivity=False, monotone=False)
    iia = res.iia.set_index(["method", "removed"])
    assert iia.loc[("rank", "D"), "n_pairs_swapped"] == 1
    assert iia.loc[("rank", "D"), "fraction"] == pytest.approx(1 / 3)
    assert (res.iia.loc[res.iia["method"] == "mean", "n_pairs_swapped"] == 0).all()
    summ = res.iia_summary.set_index("method")
    assert summ.loc["mean", "mean_fraction"] == 0.0
    assert summ.loc["rank", "most_disruptive"] == "D"
    # the same flip by hand with aggregate()
    full = aggregate(df, method="rank")
    loo = aggregate(df.drop(index="D"), method="rank")
    assert full["C"] > full["B"] and loo["B"] > loo["C"]


def test_weighted_scorer_equals_rule_on_materialised_resample():
    table = ScoreTable.from_wide(_domain_table())
    ids = list(table.scores.index)
    w = np.bincount(np.random.default_rng(1).integers(0, len(ids), len(ids)), minlength=len(ids)).astype(float)
    for method in ("zscore", "rank", "mean", "domain_zscore"):
        sc = _Scorer(table, method, ids)
        fast = sc(w[None, :])
        slow = sc._materialised(w[None, :])
        drawn = w > 0
        for key in ("all", "neural", "behavioral"):
            assert np.allclose(fast[key][0, drawn], slow[key][0, drawn], atol=1e-12), (method, key)
        ones = sc(np.ones((1, len(ids))))["all"][0]
        assert np.allclose(ones, aggregate(table, method=method).to_numpy(), atol=1e-12)


def test_weighted_domain_zscore_equals_rule_on_materialised_resamples_along_a_tree():
    """domain_zscore standardises every node of the tree: its weighted form (all resamples at once)
    equals aggregate() on each materialised resample, missing scores included."""
    from alignfactors.io.datasets import simulate_leaderboard

    table = simulate_leaderboard(80, seed=3)
    ids = list(table.scores.index)
    rng = np.random.default_rng(4)
    w = np.stack([np.bincount(rng.integers(0, len(ids), len(ids)), minlength=len(ids)) for _ in range(5)]).astype(float)
    sc = _Scorer(table, "domain_zscore", ids)
    fast, slow = sc(w), sc._materialised(w)
    for key in ("all", "neural", "behavioral"):
        assert np.array_equal(np.isnan(fast[key]), np.isnan(slow[key])), key
        np.testing.assert_allclose(fast[key], slow[key], atol=1e-12, err_msg=key)


def test_weighted_kendall_spearman_match_scipy_on_materialised():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=9), rng.normal(size=9)
    b[3] = b[4]
    w = np.array([2.0, 1, 0, 3, 1, 1, 0, 1, 1])
    idx = np.repeat(np.arange(9), w.astype(int))
    drawn = w > 0
    ra, sa = _resample_view(a[drawn], w[drawn])
    rb, sb = _resample_view(b[drawn], w[drawn])
    assert _wkendall(sa, sb, w[drawn]) == pytest.approx(stats.kendalltau(a[idx], b[idx])[0], abs=1e-12)
    rho = _wcorr((ra + (w[drawn] - 1) / 2)[None], (rb + (w[drawn] - 1) / 2)[None], w[drawn][None])[0]
    assert rho == pytest.approx(stats.spearmanr(a[idx], b[idx])[0], abs=1e-12)
    # rank of a drawn model among the others, counts included: scipy rank of its first copy
    mat = stats.rankdata(-a[idx])
    first = np.concatenate([[0], np.cumsum(w[drawn].astype(int))[:-1]])
    assert ra == pytest.approx(mat[first] - (w[drawn] - 1) / 2)


def test_monotone_rescaling_leaves_rank_rules_unchanged():
    df = _domain_table()
    res = compare_aggregations(df, methods=["mean", "zscore", "rank"], n_boot=0, iia=False,
                               metric_sensitivity=True, monotone=True)
    mono = res.monotone.set_index(["method", "metric"])["kendall"]
    assert (mono.loc["rank"] == 1.0).all()
    assert (mono.loc["mean"] < 1.0).any()
    sens = res.sensitivity_summary().set_index("method")
    assert set(sens.index) == {"mean", "zscore", "rank"}
    assert (res.metric_sensitivity["kendall"] <= 1.0).all()


def test_full_comparison_structure_and_balance():
    df = _domain_table()
    res = compare_aggregations(df, methods=["mean", "zscore", "rank"], n_boot=60, seed=0, top_k=3)
    assert isinstance(res, AggregationComparison)
    assert res.scores.shape == (14, 3) and res.ranks.shape == (14, 3)
    bal = res.balance.set_index("method")
    for m in ("mean", "zscore", "rank"):
        assert bal.loc[m, "shapley_neural"] + bal.loc[m, "shapley_behavioral"] == pytest.approx(bal.loc[m, "r2_joint"])
    assert res.best_balance == bal["difference"].abs().idxmin()
    assert bal["p_best"].sum() == pytest.approx(1.0)
    ri = res.rank_intervals
    assert len(ri) == 14 * 3
    assert ((ri["ci_low"] <= ri["rank"] + 1e-9) | ri["ci_low"].isna()).all()
    assert (ri.groupby("method")["p_rank1"].sum() <= 14).all()
    assert ri.loc[ri["rank"] == 1, "group"].eq(1).all()
    json.dumps(res.to_dict())
    assert {"ci_low", "ci_high"} <= set(res.to_frame().columns)
    assert "Balance" in res.summary() and "|" in res.to_markdown() and str(res) == res.summary()


def test_invariance_seed_and_row_order():
    df = _domain_table()
    a = compare_aggregations(df, methods=["brainscore", "rank"], n_boot=40, seed=3, **FAST)
    b = compare_aggregations(df, methods=["brainscore", "rank"], n_boot=40, seed=3, **FAST)
    assert a.to_frame().equals(b.to_frame())
    assert a.rank_intervals.equals(b.rank_intervals)
    c = compare_aggregations(df.iloc[::-1], methods=["brainscore", "rank"], n_boot=0, **FAST)
    assert c.ranks.loc[a.ranks.index].equals(a.ranks)
    assert c.balance["difference"].to_numpy() == pytest.approx(a.balance["difference"].to_numpy())


def test_errors():
    df = _domain_table()
    with pytest.raises(ParameterTypeError, match="table must be a ScoreTable"):
        compare_aggregations([1, 2])
    with pytest.raises(ParameterError, match=r"methods \['median'\] are not known"):
        compare_aggregations(df, methods=["mean", "median"])
    with pytest.raises(ParameterError, match="at least 2 distinct"):
        compare_aggregations(df, methods=["mean"])
    with pytest.raises(ParameterTypeError, match="methods must be a list"):
        compare_aggregations(df, methods="mean")
    with pytest.raises(ParameterError, match="top_k must be a positive integer"):
        compare_aggregations(df, top_k=0)
    with pytest.raises(ParameterError, match="n_boot must be a non-negative"):
        compare_aggregations(df, n_boot=-5)
    with pytest.raises(ParameterError, match=r"models \['zz'\] are not in the table"):
        compare_aggregations(df, models=["zz"])
    with pytest.raises(ParameterTypeError, match="monotone must be"):
        compare_aggregations(df, monotone="cube")
    with pytest.raises(DataError, match="at least 3 models"):
        compare_aggregations(df.iloc[:2], n_boot=0)


def test_metrics_restrict_every_rule_but_brainscore(mini_path):
    from alignfactors.io.loading import load_brainscore

    table = load_brainscore(mini_path)
    chosen = ["v1_b", "IT", "b1"]
    res = compare_aggregations(table, methods=["brainscore", "zscore", "mean"], metrics=chosen, n_boot=20, seed=0,
                               iia=False, metric_sensitivity=False, monotone=True)
    ids = list(res.scores.index)
    pd.testing.assert_series_equal(res.scores["brainscore"], aggregate(table, method="brainscore", models=ids),
                                   check_names=False)
    for m in ("zscore", "mean"):
        expected = aggregate(table, method=m, metrics=chosen, models=ids)
        np.testing.assert_allclose(res.scores[m].to_numpy(), expected.to_numpy(), atol=1e-12)
    assert set(res.monotone["metric"]) >= set(chosen)
    with pytest.raises(ParameterError, match=r"metrics \['nope'\] are not columns"):
        compare_aggregations(table, methods=["mean", "zscore"], metrics=["nope"], n_boot=0, **FAST)


def test_balance_weights_closed_form_and_domain_zscore():
    from alignfactors.comparison import balance_difference

    df = _domain_table()
    df = df.fillna(df.mean())  # complete: every rule is exactly linear in its sub-aggregates
    res = compare_aggregations(df, methods=["mean", "zscore", "rank", "domain_zscore", "brainscore"], n_boot=40,
                               seed=0, **FAST)
    bal = res.balance.set_index("method")
    assert bal["linear"].all()
    for m in bal.index:
        r = bal.loc[m]
        assert r["r2_joint"] == 1.0 and res.estimates[f"r2_joint:{m}"].method == "identity"
        assert r["effective_neural"] == pytest.approx(r["weight_neural"] * r["sd_neural"])
        assert r["difference"] == pytest.approx(balance_difference(r["effective_neural"], r["effective_behavioral"],
                                                                   r["rho"]), abs=1e-9)
    assert bal.loc["mean", "weight_neural"] == pytest.approx(0.5)
    assert bal.loc["domain_zscore", "difference"] == pytest.approx(0.0, abs=1e-12)
    assert bal.loc["domain_zscore", "diff_domain_high"] == pytest.approx(0.0, abs=1e-9)
    assert res.best_balance == "domain_zscore" and bal.loc["domain_zscore", "p_best"] == 1.0
    for over in ("models", "domain", "tree"):
        pb = res.p_best(["mean", "zscore", "rank"], over=over)
        assert sum(pb.values()) == pytest.approx(1.0)
    assert res.estimates["difference_tree:mean"].method.startswith("percentile (benchmarks")
    # ranks: resampled benchmarks, never models
    assert set(res.rank_intervals["resampled"]) == {"benchmarks"}
    assert "no intervals" in compare_aggregations(df, methods=["mean", "rank"], n_boot=0, **FAST).summary()


def test_monotone_n_changed_has_a_tolerance_and_counts_used_metrics():
    df = _domain_table()
    res = compare_aggregations(df, methods=["mean", "rank"], n_boot=0, iia=False, metric_sensitivity=False,
                               monotone=True)
    mono = res.monotone.copy()
    mono.loc[mono["method"] == "rank", "kendall"] = 1 - 1e-15  # rounding, not a change
    res2 = dataclasses.replace(res, monotone=mono)
    summ = res2.monotone_summary().set_index("method")
    assert summ.loc["rank", "n_changed"] == 0
    assert summ.loc["mean", "n_metrics"] == 4


def test_kendall_of_all_pairs_at_once_equals_pair_by_pair():
    from alignfactors.comparison import _wkendall, _wkendall_all

    rng = np.random.default_rng(8)
    w = rng.integers(1, 4, 30).astype(float)
    scores = [np.round(rng.normal(size=30), 1) for _ in range(4)]  # rounding makes ties
    signs = [_resample_view(s, w)[1] for s in scores]
    taus = _wkendall_all(signs, w)
    for a in range(4):
        for b in range(4):
            assert taus[a, b] == pytest.approx(_wkendall(signs[a], signs[b], w), abs=1e-12)
    scores[1][3] = np.nan  # a missing score: left to the pair-by-pair form
    assert _wkendall_all([_resample_view(s, w)[1] for s in scores], w) is None


def test_n_jobs_gives_identical_results():
    """Resamples, jackknife, benchmark resampling, rank intervals and the IIA, leave-one-metric-out
    and monotone audits in parallel: the same numbers."""
    from alignfactors.io.datasets import simulate_leaderboard

    table = simulate_leaderboard(40, seed=6)
    kw = dict(methods=["brainscore", "mean", "zscore", "domain_zscore"], n_boot=40, seed=3)
    one, two = compare_aggregations(table, n_jobs=1, **kw), compare_aggregations(table, n_jobs=2, **kw)
    assert json.dumps(one.to_dict(), sort_keys=True) == json.dumps(two.to_dict(), sort_keys=True)
