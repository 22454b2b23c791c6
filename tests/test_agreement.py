import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from alignfactors.agreement import agreement
from alignfactors.resampling import child_rng
from alignfactors.errors import DataError, ParameterError, ParameterTypeError


def _matrix(n=40, p=6, seed=0):
    rng = np.random.default_rng(seed)
    g = rng.normal(size=(n, 1))
    x = np.hstack([g + rng.normal(size=(n, 3)), rng.normal(size=(n, p - 3))])
    cols = [f"n{i}" for i in range(3)] + [f"b{i}" for i in range(p - 3)]
    return pd.DataFrame(x, columns=cols, index=[f"m{i}" for i in range(n)])


GROUPS = pd.Series({"n0": "neural", "n1": "neural", "n2": "neural", "b0": "behavioral", "b1": "behavioral",
                    "b2": "behavioral"})


def test_hand_worked_three_metrics():
    # a and b perfectly concordant, c reversed: pairs (a,b)=1, (a,c)=-1, (b,c)=-1 -> mean -1/3
    m = pd.DataFrame({"a": [1.0, 2, 3, 4], "b": [10.0, 20, 30, 40], "c": [4.0, 3, 2, 1]})
    res = agreement(m, n_boot=0)
    assert res.mean.value == pytest.approx(-1 / 3)
    assert res.matrix.loc["a", "c"] == pytest.approx(-1.0)


def test_blocks_and_differences_match_direct_computation():
    m = _matrix()
    res = agreement(m, groups=GROUPS, n_boot=0)
    c = m.corr("spearman").to_numpy()
    assert res.blocks["neural-neural"].value == pytest.approx(np.mean([c[0, 1], c[0, 2], c[1, 2]]))
    assert res.blocks["neural-behavioral"].value == pytest.approx(c[:3, 3:].mean())
    d = res.differences["neural-neural minus behavioral-behavioral"].value
    assert d == pytest.approx(res.blocks["neural-neural"].value - res.blocks["behavioral-behavioral"].value)
    assert len(res.pairs) == 15 and set(res.pairs["block"]) == {"neural-neural", "neural-behavioral",
                                                                 "behavioral-behavioral"}


def test_intervals_for_mean_blocks_and_pairs():
    res = agreement(_matrix(), groups=GROUPS, n_boot=300, seed=1)
    for e in [res.mean, *res.blocks.values(), *res.differences.values()]:
        assert e.ci[0] <= e.value <= e.ci[1] and e.n_boot == 300
    assert (res.pairs["ci_low"] <= res.pairs["r"] + 1e-12).all()
    assert (res.pairs["r"] <= res.pairs["ci_high"] + 1e-12).all()


def test_same_seed_same_result_any_batch_size_or_jobs():
    m = _matrix()
    a = agreement(m, groups=GROUPS, n_boot=200, seed=3)
    b = agreement(m, groups=GROUPS, n_boot=200, seed=3, batch_size=7, n_jobs=2)
    assert a.mean == b.mean and a.blocks == b.blocks
    pd.testing.assert_frame_equal(a.pairs, b.pairs)


def test_fast_path_equals_materialised_pandas_loop():
    m = _matrix(n=25, p=4)
    fast = agreement(m, n_boot=50, seed=5)
    rng = child_rng(5, "resamples")  # the engine draws resamples from this named stream
    idx = rng.integers(0, 25, size=(50, 25), dtype=np.int32)
    iu = np.triu_indices(4, 1)
    loop = [m.iloc[r].corr("spearman").to_numpy()[iu].mean() for r in idx]
    np.testing.assert_allclose(fast.mean.distribution, loop, atol=1e-12)


def test_pairwise_missing_gives_pairwise_n():
    m = _matrix(n=30, p=4)
    m.iloc[:5, 0] = np.nan
    res = agreement(m, n_boot=20, seed=0)
    assert res.n_pairs.iloc[0, 1] == 25 and res.n_pairs.iloc[1, 2] == 30
    assert res.matrix.iloc[0, 1] == pytest.approx(m.iloc[5:, :2].corr("spearman").iloc[0, 1])
    assert res.missing == "pairwise"


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 1000), st.sampled_from([np.exp, np.cbrt, lambda v: v**3 + 2 * v]))
def test_invariant_to_model_order_and_monotone_transform(seed, f):
    m = _matrix(n=20, p=4, seed=seed)
    base = agreement(m, n_boot=0)
    perm = m.sample(frac=1.0, random_state=seed)
    perm["n0"] = f(perm["n0"])
    other = agreement(perm, n_boot=0)
    assert other.mean.value == pytest.approx(base.mean.value, abs=1e-12)
    pd.testing.assert_frame_equal(other.matrix, base.matrix, atol=1e-12)


@pytest.mark.parametrize("kwargs,exc,match", [
    ({"method": "spear"}, ParameterError, "method must be one of"),
    ({"missing": "drop"}, ParameterError, "missing must be one of \\('pairwise', 'complete'\\)"),
    ({"groups": {"n0": "neural"}}, ParameterError, "groups has no entry for metric"),
    ({"groups": [1, 2]}, ParameterTypeError, "groups must be a Series or mapping"),
])
def test_errors(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        agreement(_matrix(), n_boot=0, **kwargs)


def test_data_errors():
    with pytest.raises(ParameterTypeError, match="matrix must be a pandas DataFrame"):
        agreement(np.zeros((5, 3)))
    with pytest.raises(DataError, match="at least 2 metrics"):
        agreement(pd.DataFrame({"a": [1.0, 2, 3]}))
    with pytest.raises(DataError, match="at least 3 models"):
        agreement(pd.DataFrame({"a": [1.0, 2], "b": [2.0, 1]}))


def test_summary_and_frames_render():
    res = agreement(_matrix(), groups=GROUPS, n_boot=50, seed=0)
    assert "mean" in res.summary() and "neural-neural" in res.to_markdown()
    assert list(res.to_frame().columns[:4]) == ["quantity", "value", "ci_low", "ci_high"]
    assert res.top_pairs(2).shape[0] == 2
