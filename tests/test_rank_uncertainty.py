"""Tests for alignfactors.rank_uncertainty: rank intervals from benchmarks and noise, never from models."""

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from alignfactors.aggregation import aggregate
from alignfactors.errors import DataError, ParameterError
from alignfactors.rank_uncertainty import best_set, rank_uncertainty, simultaneous_rank_intervals
from alignfactors.io.table import ScoreTable


def _flat(n=8, p=6, seed=0):
    rng = np.random.default_rng(seed)
    cols = [f"neural_{i}" for i in range(p // 2)] + [f"behavior_{i}" for i in range(p - p // 2)]
    return pd.DataFrame(rng.uniform(size=(n, p)), index=[f"m{i}" for i in range(n)], columns=cols)


def test_dominant_model_is_certain_and_the_top_is_not_an_artefact():
    df = _flat()
    df.loc["m3"] = 2.0  # best on every metric: rank 1 in every benchmark resample
    ru = rank_uncertainty(df, method="mean", n_boot=300, seed=0)
    top = ru.intervals.iloc[0]
    assert top["model_id"] == "m3" and top["p_rank1"] == 1.0
    assert (top["ci_low"], top["ci_high"]) == (1.0, 1.0)
    assert ru.best_set == ["m3"]
    # two models tied on average, each best on half of the metrics: the leader is not certain
    df2 = _flat()
    df2.loc["m0"] = [2.0, 0.0, 2.0, 0.0, 2.0, 0.0]
    df2.loc["m1"] = [0.0, 2.0, 0.0, 2.0, 0.0, 2.05]
    ru2 = rank_uncertainty(df2, method="mean", n_boot=400, seed=1)
    p1 = ru2.intervals.set_index("model_id")["p_rank1"]
    assert 0.2 < p1["m1"] < 0.8 and 0.2 < p1["m0"] < 0.8
    assert ru2.intervals.iloc[0]["ci_high"] > 1
    assert p1.sum() == pytest.approx(1.0)
    assert set(ru2.best_set) >= {"m0", "m1"}


def test_flat_rule_draws_within_domains_and_uses_all_models():
    df = _flat()
    ru = rank_uncertainty(df, method="zscore", n_boot=50, seed=0)
    assert ru.resampled_nodes == ["neural (flat)", "behavioral (flat)"]
    assert ru.n_models == 8 and len(ru.intervals) == 8
    assert "within each domain" in ru.carries
    np.testing.assert_allclose(ru.intervals.set_index("model_id").loc[df.index, "score"],
                               aggregate(df, method="zscore").to_numpy())


def test_tree_rule_resamples_nodes_inside_domains_only(mini_path):
    from alignfactors.io.loading import load_brainscore

    table = load_brainscore(mini_path)
    ru = rank_uncertainty(table, method="brainscore", n_boot=40, seed=0)
    tree = table.tree
    assert ru.resampled_nodes and all(tree.domain(n) in ("neural", "behavioral") for n in ru.resampled_nodes)
    assert "average_vision" not in ru.resampled_nodes
    s = aggregate(table, method="brainscore")
    got = ru.intervals.set_index("model_id")["score"]
    np.testing.assert_allclose(got.loc[s.index].to_numpy(), s.to_numpy())
    json.dumps(ru.to_dict())


def test_measurement_error_scales_the_intervals():
    df = _flat(n=6, p=4, seed=3)
    t = ScoreTable.from_wide(df)
    with pytest.raises(DataError, match="table.errors is None"):
        rank_uncertainty(t, method="mean", resample="errors", n_boot=10)
    small = dataclasses.replace(t, errors=pd.DataFrame(1e-9, index=df.index, columns=df.columns))
    kinds = pd.Series("standard_error", index=df.columns)
    small = dataclasses.replace(small, benchmarks=small.benchmarks.assign(error_kind=kinds))
    ru = rank_uncertainty(small, method="mean", resample="errors", n_boot=100, seed=0)
    assert (ru.intervals["ci_low"] == ru.intervals["rank"]).all()
    assert (ru.intervals["ci_high"] == ru.intervals["rank"]).all()
    assert ru.n_perturbed == df.size and ru.resampled_nodes == []
    big = dataclasses.replace(small, errors=pd.DataFrame(1.0, index=df.index, columns=df.columns))
    ru2 = rank_uncertainty(big, method="mean", resample="both", n_boot=100, seed=0)
    assert (ru2.intervals["ci_high"] - ru2.intervals["ci_low"]).mean() > 1
    # errors of another kind are not used
    other = dataclasses.replace(big, benchmarks=big.benchmarks.assign(error_kind="spread_over_subjects"))
    with pytest.raises(DataError, match="no|none of the"):
        rank_uncertainty(other, method="mean", resample="errors", n_boot=10)


def test_simultaneous_intervals_cover_the_true_ranks():
    # known truth: 6 scores, estimates = truth + N(0, 0.1); the bootstrap redraws that noise
    rng = np.random.default_rng(5)
    truth = np.array([1.0, 0.9, 0.85, 0.5, 0.45, 0.0])
    true_rank = np.arange(1, 7)
    hits = 0
    for _ in range(100):
        est = truth + rng.normal(0, 0.1, 6)
        dist = est + rng.normal(0, 0.1, (300, 6))
        lo, hi, c = simultaneous_rank_intervals(est, dist, 0.9)
        hits += np.all((lo <= true_rank) & (true_rank <= hi))
    assert hits >= 82  # nominal 90%; max-t is conservative
    est = np.array([3.0, 2.0, 1.0])
    lo, hi, c = simultaneous_rank_intervals(est, est + rng.normal(0, 1e-3, (200, 3)), family=[0])
    assert lo[0] == hi[0] == 1 and np.isnan(lo[1])
    assert best_set(est, est + rng.normal(0, 1e-3, (200, 3)))[0].tolist() == [0]


def test_pairs_and_no_intervals_without_resamples():
    df = _flat()
    ru = rank_uncertainty(df, method="mean", n_boot=0)
    assert ru.intervals["ci_low"].isna().all() and "no rank intervals" in ru.summary()
    assert len(ru.pairs) == 7 and ru.pairs["p_ordered"].isna().all()
    ru = rank_uncertainty(df, method="mean", n_boot=200, seed=0)
    first = ru.pairs.iloc[0]
    assert first["model_id"] == ru.intervals.iloc[0]["model_id"]
    assert 0 <= first["p_ordered"] <= 1
    with pytest.raises(ParameterError, match="resample="):
        rank_uncertainty(df, resample="models")


def test_seed_reproducible():
    df = _flat()
    a = rank_uncertainty(df, method="rank", n_boot=60, seed=4)
    b = rank_uncertainty(df, method="rank", n_boot=60, seed=4)
    pd.testing.assert_frame_equal(a.intervals, b.intervals)


@pytest.mark.parametrize("method", ["brainscore", "mean", "zscore", "rank", "domain_zscore", "geometric", "borda"])
@pytest.mark.parametrize("resample", ["benchmarks", "both"])
def test_batched_scores_equal_scores_draw_by_draw(method, resample):
    """All draws scored at once (node weights as arrays, the linear shortcut without missing
    values) equal the rule applied draw by draw, with missing scores, zero weights and noise."""
    from alignfactors.io.datasets import simulate_leaderboard
    from alignfactors.rank_uncertainty import _Resampler

    table = simulate_leaderboard(50, seed=2)
    leaves = [c for c in table.scores.columns if table.tree.is_leaf(c)]
    err = pd.DataFrame(0.05, index=table.scores.index, columns=table.scores.columns)
    table = dataclasses.replace(table, errors=err,
                                benchmarks=table.benchmarks.assign(error_kind="standard_error"))
    ids = list(table.scores.index)
    complete = table.scores[leaves].dropna().index  # the linear shortcut needs no missing value
    for models in (ids, list(complete)):
        for scheme in ("tree", "domain"):
            sel = {} if method == "brainscore" else {"metrics": leaves}
            rs = _Resampler(table, method, models, sel, resample, ("standard_error",), scheme)
            rng = np.random.default_rng(0)
            draws = [rs.draw(rng) for _ in range(12)]
            one = np.stack([rs.scores(d) for d in draws])
            many = rs.scores_many(draws)
            assert np.array_equal(np.isnan(one), np.isnan(many)), (models is ids, scheme)
            np.testing.assert_allclose(many, one, atol=1e-9, rtol=0)
            counts, noise = rs.draw_many(np.random.default_rng(1), 7)  # a batch drawn at once
            split = [({k: v[i] for k, v in counts.items()}, None if noise is None else noise[i]) for i in range(7)]
            np.testing.assert_allclose(rs.scores_many((counts, noise)), np.stack([rs.scores(d) for d in split]),
                                       atol=1e-9, rtol=0)


@pytest.mark.parametrize("case", ["plain", "flat_pairs", "nan"])
def test_best_set_blocked_sweep_equals_the_full_sweep(case):
    """The cache-blocked sweep over k >= j (symmetric pair SDs) gives the same critical value and
    set as the sweep over every ordered pair (``chunk=`` forces it)."""
    rng = np.random.default_rng(5)
    s = rng.normal(size=40)
    d = s + rng.normal(0, 0.4, (300, 40)) * rng.uniform(0.2, 2, 40)
    if case == "flat_pairs":  # two models without spread and two with identical replicates
        d[:, 3] = s[3]
        d[:, 7] = s[7]
        d[:, 9] = d[:, 8] + (s[9] - s[8])
    if case == "nan":
        d[5, 2] = np.nan
    fast, c_fast = best_set(s, d)
    slow, c_slow = best_set(s, d, chunk=3)
    assert fast.tolist() == slow.tolist()
    assert c_fast == c_slow or (np.isnan(c_fast) and np.isnan(c_slow))


@pytest.mark.parametrize("case", ["C", "F", "nan", "flat"])
def test_leaf_zscores_once_equal_the_whole_batch(case):
    """domain_zscore under benchmark resampling standardises the leaf matrix once and repeats it in
    the memory layout of the batch: the same numbers and strides, so later reductions match too."""
    from alignfactors.aggregation import _EVERY_MODEL, _repeat_rows, _standardise

    rng = np.random.default_rng(3)
    x = rng.normal(size=(37, 9))
    if case == "F":
        x = np.asfortranarray(x)
    if case == "nan":
        x = np.asfortranarray(x)
        x[rng.random(x.shape) < 0.1] = np.nan
    if case == "flat":
        x[:, 2] = 1.0
    full = _standardise(np.broadcast_to(x, (50, *x.shape)), _EVERY_MODEL)
    once = _repeat_rows(_standardise(np.broadcast_to(x, (2, *x.shape)), _EVERY_MODEL), 50)
    np.testing.assert_array_equal(once, full)
    assert once.strides == full.strides
    col_full, col_once = full[:, :, 4], once[:, :, 4]
    np.testing.assert_array_equal(_standardise(col_once, _EVERY_MODEL), _standardise(col_full, _EVERY_MODEL))
