import numpy as np
import pytest
from scipy import stats

from alignfactors.errors import DegenerateDataWarning, ParameterError, ParameterTypeError
from alignfactors.resampling import bootstrap, child_rng, rowwise_statistic, weights_to_indices


def _mean_stat(x):
    def stat(w):
        return (np.einsum("bn,n->b", w, x) / w.sum(axis=1))[:, None]
    return stat


def test_point_value_and_interval_contain_estimate():
    x = np.random.default_rng(1).normal(size=60)
    res = bootstrap(_mean_stat(x), 60, n_boot=1000, seed=0)
    e = res[0]
    assert e.value == pytest.approx(x.mean(), abs=1e-12)
    assert e.ci[0] < e.value < e.ci[1]
    assert e.method == "bca" and e.n_boot == 1000 and e.n_undefined == 0
    assert e.distribution.shape == (1000,)


def test_percentile_interval_matches_scipy_on_same_draws():
    # scipy draws differently, so compare the construction on our own distribution
    x = np.random.default_rng(2).exponential(size=40)
    res = bootstrap(_mean_stat(x), 40, n_boot=2000, seed=3, method="percentile")
    d = res.distribution[:, 0]
    assert res[0].ci == pytest.approx(tuple(np.quantile(d, [0.025, 0.975])))


def test_bca_matches_scipy_bca_on_the_same_draws():
    """Same generator, same resamples: scipy gets the engine's "resamples" stream and both draw
    ``rng.integers(0, n, (n_boot, n))``, so the two BCa intervals differ only by floating-point
    summation order (jackknife acceleration, quantile interpolation). Measured: identical for
    n_boot=20000, at most 1 ulp apart for 2000 and 2 ulp (2.7e-16 relative) for 999; 1e-12
    relative leaves room for BLAS/platform order, no more (the old test allowed 0.03).
    """
    x = np.random.default_rng(4).exponential(size=50)
    for n_boot in (20000, 999):
        ours = bootstrap(_mean_stat(x), 50, n_boot=n_boot, seed=5)[0].ci
        ref = stats.bootstrap((x,), np.mean, n_resamples=n_boot, rng=child_rng(5, "resamples"),
                              method="BCa").confidence_interval
        assert ours[0] == pytest.approx(ref.low, rel=1e-12, abs=0)
        assert ours[1] == pytest.approx(ref.high, rel=1e-12, abs=0)


def test_bca_coverage_of_known_mean_is_near_nominal():
    rng = np.random.default_rng(7)
    hits = 0
    for _ in range(200):
        x = rng.normal(size=40)
        lo, hi = bootstrap(_mean_stat(x), 40, n_boot=400, seed=rng)[0].ci
        hits += lo <= 0 <= hi
    assert 0.88 <= hits / 200 <= 0.99


@pytest.mark.parametrize("batch_size,n_jobs", [(1, 1), (17, 1), (64, 2), (5000, 1)])
def test_results_do_not_depend_on_batch_size_or_n_jobs(batch_size, n_jobs):
    x = np.random.default_rng(1).normal(size=30)
    ref = bootstrap(_mean_stat(x), 30, n_boot=300, seed=11)
    got = bootstrap(_mean_stat(x), 30, n_boot=300, seed=11, batch_size=batch_size, n_jobs=n_jobs)
    np.testing.assert_array_equal(ref.distribution, got.distribution)
    assert ref[0] == got[0]


def test_threaded_statistic_gives_the_same_numbers():
    """A statistic marked ``threads = True`` runs its batches, jackknife and intervals in threads with n_jobs."""
    x = np.random.default_rng(2).normal(size=(40, 6))

    def stat(w):
        m = w @ x / w.sum(axis=1, keepdims=True)
        return np.hstack([m, m**2, np.cumsum(m, axis=1)])

    ref = bootstrap(stat, 40, n_boot=300, seed=4, batch_size=16)
    stat.threads = True
    got = bootstrap(stat, 40, n_boot=300, seed=4, batch_size=16, n_jobs=2)
    np.testing.assert_array_equal(ref.distribution, got.distribution)
    assert [e.to_dict() for e in ref] == [e.to_dict() for e in got]


def test_undefined_resamples_are_counted_and_warned():
    x = np.array([0.0] * 18 + [1.0, 2.0])

    def sd_ratio(w):
        m = np.einsum("bn,n->b", w, x) / w.sum(1)
        v = np.einsum("bn,bn->b", w, (x[None] - m[:, None]) ** 2)
        return (m / np.where(v > 0, v, np.nan))[:, None]

    with pytest.warns(DegenerateDataWarning, match="undefined on up to"):
        res = bootstrap(sd_ratio, 20, n_boot=500, seed=0)
    assert res[0].n_undefined > 0
    assert res[0].n_undefined == int(np.isnan(res.distribution).sum())


def test_rowwise_statistic_equals_vectorised():
    x = np.random.default_rng(3).normal(size=25)
    a = bootstrap(_mean_stat(x), 25, n_boot=200, seed=9)
    b = bootstrap(rowwise_statistic(lambda d: d.mean(), x), 25, n_boot=200, seed=9)
    np.testing.assert_allclose(a.distribution, b.distribution, atol=1e-12)


def test_weights_to_indices():
    np.testing.assert_array_equal(weights_to_indices(np.array([2.0, 0.0, 1.0])), [0, 0, 2])


def test_n_boot_zero_gives_values_without_interval():
    res = bootstrap(_mean_stat(np.arange(5.0)), 5, n_boot=0)
    assert res[0].value == 2.0 and np.isnan(res[0].ci[0]) and res[0].method == "none"


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        ({"n_boot": -1}, ParameterError, "n_boot must be a non-negative integer"),
        ({"ci": 95}, ParameterError, r"ci \(confidence level\) must be in \(0, 1\)"),
        ({"method": "bc"}, ParameterError, "method must be one of"),
        ({"seed": "x"}, ParameterTypeError, "seed must be None, an int"),
        ({"n_jobs": 0}, ParameterError, "n_jobs must be a non-zero integer"),
        ({"batch_size": 0}, ParameterError, "batch_size must be a positive integer"),
    ],
)
def test_parameter_errors(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        bootstrap(_mean_stat(np.arange(5.0)), 5, **kwargs)


def test_bad_statistic_shape_is_reported():
    with pytest.raises(ParameterError, match="statistic must return an array of shape"):
        bootstrap(lambda w: np.ones(3), 5, n_boot=10)


# --- clusters and random streams -------------------------------------------------------------

from alignfactors.resampling import check_clusters, child_rng, cluster_weights, root_seed  # noqa: E402


def test_singleton_clusters_equal_the_model_bootstrap():
    x = np.random.default_rng(1).normal(size=30)
    ref = bootstrap(_mean_stat(x), 30, n_boot=300, seed=11)
    got = bootstrap(_mean_stat(x), 30, n_boot=300, seed=11, clusters=np.arange(30))
    np.testing.assert_array_equal(ref.distribution, got.distribution)
    assert ref[0].ci == got[0].ci and got[0].unit == "cluster" and got[0].n_units == 30
    assert ref[0].unit == "model" and ref[0].n_units == 30


def test_cluster_weights_are_draw_counts_and_sum_to_drawn_models():
    codes = np.array([0, 0, 1, 2, 2, 2])
    idx = np.array([[0, 0, 1], [2, 1, 2]])
    w = cluster_weights(idx, codes)
    np.testing.assert_array_equal(w, [[2, 2, 1, 0, 0, 0], [0, 0, 1, 2, 2, 2]])
    sizes = np.bincount(codes)
    np.testing.assert_array_equal(w.sum(axis=1), [sizes[r].sum() for r in idx])


def test_cluster_bootstrap_draws_whole_clusters():
    codes = np.repeat(np.arange(8), [1, 2, 3, 4, 1, 2, 3, 4])
    seen = []

    def stat(w):
        seen.append(w)
        return w.sum(axis=1, keepdims=True)

    bootstrap(stat, len(codes), n_boot=50, seed=0, clusters=codes, method="percentile")
    w = np.vstack(seen[1:])
    for g in range(8):  # all members of a cluster share its weight
        assert (w[:, codes == g] == w[:, codes == g][:, :1]).all()
    first = np.searchsorted(codes, np.arange(8))
    assert np.allclose(w[:, first].sum(axis=1), 8)  # one member per cluster: G draws


def test_bca_acceleration_uses_leave_one_cluster_out():
    codes = np.repeat(np.arange(6), 3)
    x = np.random.default_rng(0).normal(size=18)
    calls = []

    def stat(w):
        calls.append(w.copy())
        return (np.einsum("bn,n->b", w, x) / w.sum(axis=1))[:, None]

    bootstrap(stat, 18, n_boot=40, seed=0, clusters=codes)
    jack = np.vstack(calls[-1:])
    assert jack.shape == (6, 18)
    np.testing.assert_array_equal(jack, (codes[None, :] != np.arange(6)[:, None]).astype(float))


def test_cluster_bootstrap_wider_on_clustered_data():
    rng = np.random.default_rng(2)
    codes = np.repeat(np.arange(30), 5)
    x = np.repeat(rng.normal(size=30), 5) + 0.2 * rng.normal(size=150)
    se_model = bootstrap(_mean_stat(x), 150, n_boot=500, seed=0)[0].se
    se_cluster = bootstrap(_mean_stat(x), 150, n_boot=500, seed=0, clusters=codes)[0].se
    assert se_cluster > 1.8 * se_model


@pytest.mark.parametrize("batch_size,n_jobs", [(1, 1), (13, 2)])
def test_cluster_results_do_not_depend_on_batch_size_or_n_jobs(batch_size, n_jobs):
    x = np.random.default_rng(1).normal(size=30)
    codes = np.arange(30) // 4
    ref = bootstrap(_mean_stat(x), 30, n_boot=200, seed=3, clusters=codes)
    got = bootstrap(_mean_stat(x), 30, n_boot=200, seed=3, clusters=codes, batch_size=batch_size, n_jobs=n_jobs)
    np.testing.assert_array_equal(ref.distribution, got.distribution)


@pytest.mark.parametrize("bad,err,match", [
    (np.zeros(5, dtype=int), ParameterError, "single cluster"),
    (np.array([0, 1, 3, 3, 0]), ParameterError, "every integer"),
    (np.arange(4), ParameterError, "length 5"),
    (np.array([0.0, 1, 0, 1, 0]), ParameterTypeError, "integer codes"),
])
def test_bad_clusters_raise(bad, err, match):
    with pytest.raises(err, match=match):
        check_clusters(bad, 5)


def test_streams_are_independent_and_stable():
    a = child_rng(0, "resamples").random(5)
    np.testing.assert_array_equal(a, child_rng(0, "resamples").random(5))
    assert not np.allclose(a, child_rng(0, "null").random(5))
    assert not np.allclose(a, child_rng(1, "resamples").random(5))
    g = np.random.default_rng(5)  # a Generator stands for its SeedSequence, not advanced
    g.random(10)
    np.testing.assert_array_equal(child_rng(g, "x").random(3), child_rng(5, "x").random(3))
    assert root_seed(g).entropy == 5
    # the resamples of the engine are the "resamples" stream: other draws do not move them
    x = np.random.default_rng(1).normal(size=20)
    r1 = bootstrap(_mean_stat(x), 20, n_boot=50, seed=9).distribution
    child_rng(9, "null").random(1000)
    np.testing.assert_array_equal(r1, bootstrap(_mean_stat(x), 20, n_boot=50, seed=9).distribution)


def test_rowwise_statistic_lets_bugs_raise_and_counts_numerical_failures():
    data = np.random.default_rng(0).normal(size=(20, 2))

    def buggy(d):
        raise KeyError("bug")

    with pytest.raises(KeyError):
        bootstrap(rowwise_statistic(buggy, data), 20, n_boot=5, seed=0)

    def own_error(d):
        raise ParameterError("bad option")

    with pytest.raises(ParameterError):
        bootstrap(rowwise_statistic(own_error, data), 20, n_boot=5, seed=0)

    calls = {"n": 0}

    def sometimes_singular(d):
        calls["n"] += 1
        if calls["n"] % 3 == 0:
            raise np.linalg.LinAlgError("singular")
        return d.mean(axis=0)

    with pytest.warns(DegenerateDataWarning, match="undefined on up to"):
        res = bootstrap(rowwise_statistic(sometimes_singular, data), 20, n_boot=30, seed=0, method="percentile")
    assert res[0].n_undefined > 0


def test_full_data_undefined_warns():
    with pytest.warns(DegenerateDataWarning, match="undefined \\(NaN\\) on the full data"):
        res = bootstrap(lambda w: np.full((w.shape[0], 1), np.nan), 10, n_boot=0)
    assert np.isnan(res[0].value)
