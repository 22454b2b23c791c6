"""The batched agreement kernels of compare_aggregations equal the per-resample reference functions
bit for bit (ties, zero counts, missing scores, a single drawn model)."""

import numpy as np
import pytest

from alignfactors._rule_agreement_kernels import (_batched_kendall, _batched_ranks, _batched_topk,
                                                  _batched_topk_overlap)
from alignfactors.comparison import _resample_view, _topk_overlap, _wkendall, _wkendall_all


def _batch(seed, B=40, n=25, R=4, nan=False):
    rng = np.random.default_rng(seed)
    w = rng.multinomial(n, np.ones(n) / n, size=B).astype(float)  # zero counts: models not drawn
    w[0] = 0.0
    w[0, 3] = 2.0  # a resample with one drawn model (drawn twice)
    w[1] = 1.0  # every model once
    scores = [np.round(rng.normal(size=(B, n)), 1) for _ in range(R)]  # rounding makes ties
    scores[0][2] = 0.5  # every model tied under one rule
    scores[2][5, :] = scores[1][5, :]  # two rules identical in one resample
    if nan:
        scores[1][rng.random((B, n)) < 0.1] = np.nan
    return w, scores


@pytest.mark.parametrize("nan", [False, True])
def test_batched_ranks_equal_the_per_resample_ranks(nan):
    w, scores = _batch(0, nan=nan)
    for s in scores:
        rank, level, tied = _batched_ranks(s, w)
        for i in range(len(w)):
            drawn = np.flatnonzero(w[i] > 0)
            ref = np.full(w.shape[1], np.nan)
            ref[drawn] = _resample_view(s[i, drawn], w[i, drawn])[0]
            np.testing.assert_array_equal(rank[i], ref)
            ok = drawn[np.isfinite(s[i, drawn])]
            # the tie levels order the models as their scores do
            d_s = np.sign(s[i, ok][:, None] - s[i, ok][None, :])
            d_l = np.sign(level[i, ok][None, :].astype(int) - level[i, ok][:, None].astype(int))
            np.testing.assert_array_equal(d_s, d_l)
            same = s[i, ok][:, None] == s[i, ok][None, :]
            assert tied[i] == np.sum(w[i, ok][:, None] * w[i, ok][None, :] * same)


def test_batched_kendall_equals_the_per_resample_kendall():
    w, scores = _batch(1)
    parts = [_batched_ranks(s, w) for s in scores]
    taus = _batched_kendall([p[1] for p in parts], w, [p[2] for p in parts])
    for i in range(len(w)):
        drawn = np.flatnonzero(w[i] > 0)
        signs = [_resample_view(s[i, drawn], w[i, drawn])[1] for s in scores]
        ref = _wkendall_all(signs, w[i, drawn])
        for a in range(len(scores)):
            for b in range(len(scores)):
                if a == b:
                    continue
                want = ref[a, b] if ref is not None else _wkendall(signs[a], signs[b], w[i, drawn])
                np.testing.assert_array_equal(taus[i, a, b], want)
    assert np.isnan(taus[0]).all()  # a single drawn model: undefined
    assert np.isnan(taus[2, 0, 1]) and not np.isnan(taus[2, 1, 3])  # every model tied under rule 0


def test_batched_kendall_float64_when_float32_would_not_be_exact():
    w, scores = _batch(2, B=6, n=12)
    w = w * 1000.0  # (sum w)**2 beyond 2**24
    parts = [_batched_ranks(s, w) for s in scores]
    taus = _batched_kendall([p[1] for p in parts], w, [p[2] for p in parts])
    for i in range(1, len(w)):
        drawn = np.flatnonzero(w[i] > 0)
        signs = [_resample_view(s[i, drawn], w[i, drawn])[1] for s in scores]
        np.testing.assert_array_equal(taus[i, 0, 1], _wkendall(signs[0], signs[1], w[i, drawn]))


@pytest.mark.parametrize("k", [1, 3, 25])
def test_batched_topk_overlap_equals_the_per_resample_overlap(k):
    w, scores = _batch(3)
    tops = [_batched_topk(s, w, k) for s in scores]
    for a in range(len(scores)):
        for b in range(a + 1, len(scores)):
            got = _batched_topk_overlap(tops[a][0], tops[b][0], tops[a][1], k)
            for i in range(len(w)):
                drawn = np.flatnonzero(w[i] > 0)
                want = _topk_overlap(scores[a][i, drawn], scores[b][i, drawn], k)
                np.testing.assert_array_equal(got[i], want)


def test_rank_scorer_transform_all_columns_at_once_equals_column_by_column():
    import pandas as pd

    from alignfactors.comparison import _Scorer, _weighted_desc_rank
    from alignfactors.io.table import ScoreTable

    rng = np.random.default_rng(4)
    df = pd.DataFrame(np.round(rng.uniform(size=(20, 5)), 1), index=[f"m{i}" for i in range(20)],
                      columns=["neural_a", "neural_b", "behavior_a", "behavior_b", "behavior_c"])
    df.iloc[3, 2] = np.nan  # one metric without every model: column by column
    table = ScoreTable.from_wide(df, aggregates="none")
    sc = _Scorer(table, "rank", list(df.index))
    w = rng.multinomial(20, np.ones(20) / 20, size=7).astype(float)
    got = sc._transform(w)
    want = np.full(got.shape, np.nan)
    for j, parts in enumerate(sc.rank_parts):
        above, tied = _weighted_desc_rank(w, parts)
        want[:, parts[0], j] = -(1.0 + above + (tied - 1.0) / 2)
    np.testing.assert_array_equal(got, want)
