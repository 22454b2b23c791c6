import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st
from scipy import stats

from alignfactors.correlation import correlation_matrix, resampled_correlation


def _materialise(x, w):
    return x[np.repeat(np.arange(x.shape[0]), w.astype(int))]


def _weights(rng, n, b):
    return np.stack([np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(b)]).astype(float)


@pytest.mark.parametrize("levels", [3, 6, 1000])  # heavy ties ... no ties
def test_fast_spearman_equals_scipy_on_materialised_resample(levels):
    rng = np.random.default_rng(levels)
    x = rng.integers(0, levels, size=(40, 7)).astype(float)
    w = _weights(rng, 40, 30)
    fast = resampled_correlation(x, w, "spearman")
    for b in range(30):
        ref = stats.spearmanr(_materialise(x, w[b])).statistic
        np.testing.assert_allclose(fast[b], ref, atol=1e-12, rtol=0)


def test_fast_pearson_equals_numpy():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(25, 5))
    w = _weights(rng, 25, 10)
    fast = resampled_correlation(x, w, "pearson")
    for b in range(10):
        np.testing.assert_allclose(fast[b], np.corrcoef(_materialise(x, w[b]), rowvar=False), atol=1e-12)


def test_kendall_path_equals_pandas():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 4, size=(20, 3)).astype(float)
    w = _weights(rng, 20, 3)
    out = resampled_correlation(x, w, "kendall")
    for b in range(3):
        np.testing.assert_allclose(out[b], pd.DataFrame(_materialise(x, w[b])).corr("kendall"), atol=1e-12)


def test_constant_column_in_resample_gives_nan():
    x = np.column_stack([np.r_[np.zeros(9), 1.0], np.arange(10.0)])
    w = np.zeros((1, 10))
    w[0, :9] = 1.0
    w[0, 0] += 1
    r = resampled_correlation(x, w, "spearman")
    assert np.isnan(r[0, 0, 1]) and np.isnan(r[0, 0, 0]) and r[0, 1, 1] == 1.0


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 4), min_size=24, max_size=24), st.integers(0, 10_000))
def test_fast_spearman_property_ties(values, seed):
    rng = np.random.default_rng(seed)
    x = np.column_stack([np.array(values, float)[:12], np.array(values, float)[12:], rng.normal(size=12)])
    w = _weights(rng, 12, 5)
    fast = resampled_correlation(x, w, "spearman")
    for b in range(5):
        xm = _materialise(x, w[b])
        ref = pd.DataFrame(xm).corr("spearman").to_numpy()
        np.testing.assert_allclose(fast[b], ref, atol=1e-12, equal_nan=True)


def test_pairwise_n_counts():
    m = pd.DataFrame({"a": [1.0, 2, np.nan, 4], "b": [1.0, np.nan, 3, 4], "c": [4.0, 3, 2, 1]})
    corr, n = correlation_matrix(m, "spearman")
    assert n.loc["a", "b"] == 2 and n.loc["a", "c"] == 3 and n.loc["c", "c"] == 4
    assert corr.loc["a", "c"] == pytest.approx(-1.0)


def test_stacked_correlation_equals_each_set_alone():
    """The null sets' one-pass kernel gives each set's own resampled correlation, ties included."""
    from alignfactors.correlation import RankPlan, resampled_correlation, stacked_correlation

    rng = np.random.default_rng(3)
    pool = rng.standard_normal((4, 30, 6))
    pool[1, :, 2] = np.round(pool[1, :, 2])  # ties in one column of one set
    w = np.stack([np.bincount(rng.integers(0, 30, 30), minlength=30) for _ in range(5)]).astype(float)
    w[0, :3] = 0.0
    got = stacked_correlation(pool, w, "spearman", RankPlan(np.hstack(list(pool))))
    want = np.stack([resampled_correlation(z, w, "spearman", RankPlan(z)) for z in pool], axis=1)
    assert got.shape == (5, 4, 6, 6)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_allclose(stacked_correlation(pool, w, "pearson"),
                               np.stack([resampled_correlation(z, w, "pearson") for z in pool], axis=1))


def test_rank_plan_from_blocks_and_in_column_chunks_is_the_same_plan(monkeypatch):
    """The plan of blocks side by side (the null sets, without np.hstack) and a plan built a few
    columns at a time (to bound the sort's temporaries) are the plan of the whole matrix."""
    import alignfactors.correlation as C

    rng = np.random.default_rng(5)
    x = np.round(rng.standard_normal((40, 9)), 1)  # ties
    whole = C.RankPlan(x)
    blocks = C.RankPlan([x[:, :4], x[:, 4:]])
    monkeypatch.setattr(C, "_CHUNK_ELEMENTS", 8 * 40 * 2)  # two columns a pass
    chunked = C.RankPlan(x)
    for plan in (blocks, chunked):
        assert plan.shape == whole.shape
        for f in ("order", "before", "upto"):
            np.testing.assert_array_equal(getattr(plan, f), getattr(whole, f))
            assert getattr(plan, f).dtype == getattr(whole, f).dtype
    w = np.stack([np.bincount(rng.integers(0, 40, 40), minlength=40) for _ in range(3)]).astype(float)
    np.testing.assert_array_equal(resampled_correlation(x, w, "spearman", chunked),
                                  resampled_correlation(x, w, "spearman"))


def test_spearman_of_a_batch_is_each_resample_alone_bit_for_bit():
    """Each resample's drawn rows are gathered and padded to the batch's largest count: the
    matrices do not depend on the batch (an all-ones resample forces the unpadded path alone)."""
    rng = np.random.default_rng(3)
    x = np.round(rng.standard_normal((40, 6)), 1)  # ties
    idx = rng.integers(0, 40, (7, 40))
    w = np.stack([np.bincount(i, minlength=40) for i in idx] + [np.ones(40, int)]).astype(float)
    w[2, :30] = 0  # a resample drawing few rows
    w[2, 30:] = 4
    batch = resampled_correlation(x, w, "spearman")
    for b in range(len(w)):
        assert np.array_equal(resampled_correlation(x, w[b:b + 1], "spearman")[0], batch[b])
    assert np.array_equal(resampled_correlation(x, w[:-1], "spearman"), batch[:-1])
