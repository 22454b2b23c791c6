"""Tests for alignfactors.sources: source names, within/between agreement, max-t extremes."""

import numpy as np
import pandas as pd
import pytest

from alignfactors.errors import DataError, ParameterError
from alignfactors.sources import benchmark_sources, extreme_pairs, source_agreement, source_matrix
from alignfactors.io.table import ScoreTable


def _sourced(n=80, seed=0, within=0.8):
    # two sources of 3 metrics, each driven by its own factor: within-source r high, between ~ 0
    rng = np.random.default_rng(seed)
    f = rng.normal(size=(n, 2))
    x = np.repeat(f, 3, axis=1) * np.sqrt(within) + rng.normal(size=(n, 6)) * np.sqrt(1 - within)
    cols = ["Marques2020_a-x", "Marques2020_b-y", "Marques2020_c-z", "Geirhos2021a-ec", "Geirhos2021b-ec",
            "Geirhos2021c-ec"]
    return pd.DataFrame(x, columns=cols, index=[f"m{i}" for i in range(n)])


def test_sources_from_names_and_parents(mini_path):
    m = _sourced()
    src = benchmark_sources(ScoreTable.from_wide(m))
    assert src.tolist() == ["Marques2020"] * 3 + ["Geirhos2021"] * 3
    from alignfactors.io.loading import load_brainscore

    table = load_brainscore(mini_path)
    par = benchmark_sources(table, level="parent")
    assert all(table.tree.parent(k) == v or (table.tree.parent(k) is None and v == k) for k, v in par.items())
    with pytest.raises(ParameterError, match="level="):
        benchmark_sources(table, level="grandparent")


def test_within_exceeds_between_on_known_structure():
    m = _sourced()
    src = benchmark_sources(ScoreTable.from_wide(m))
    res = source_agreement(m, src, method="pearson", n_boot=200, seed=0)
    assert res.n_within == 6 and res.n_between == 9
    assert res.within.ci[0] > 0.6 and res.between.ci[0] < 0.1 < res.difference.ci[0]
    assert res.within.ci[0] <= res.within.value <= res.within.ci[1]
    assert set(res.by_source["source"]) == {"Marques2020", "Geirhos2021"}
    sm, _ = source_matrix(m, src)
    assert sm.shape == (80, 2)
    np.testing.assert_allclose(sm["Marques2020"], m.iloc[:, :3].mean(axis=1))
    with pytest.raises(DataError, match="both within and between"):
        source_agreement(m, pd.Series("S", index=m.columns), n_boot=0)


def test_extreme_pairs_simultaneous_intervals_are_wider_than_marginal():
    m = _sourced(within=0.3)
    ex = extreme_pairs(m, k=2, n_boot=300, seed=0)
    assert list(ex["which"]) == ["most", "most", "least", "least"]
    assert (ex["ci_low"] <= ex["r"]).all() and (ex["r"] <= ex["ci_high"]).all()
    c = ex["critical_value"].iloc[0]
    assert c > 1.96  # max over 15 pairs exceeds the marginal normal quantile
    assert extreme_pairs(m, k=1, n_boot=0)["ci_low"].isna().all()
