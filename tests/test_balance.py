"""Tests for alignfactors.balance: the balance of rules across cleanings."""

import pandas as pd

from alignfactors.balance import balance_across_cleanings
from alignfactors.io.datasets import simulate_leaderboard


def test_balance_across_cleanings_the_same_in_workers():
    table = simulate_leaderboard(50, seed=2)
    kw = dict(methods=["mean", "zscore", "domain_zscore"], cleanings=[{"max_missing": 0.3}, {"max_missing": 0.6}])
    one, two = balance_across_cleanings(table, **kw), balance_across_cleanings(table, n_jobs=2, **kw)
    pd.testing.assert_frame_equal(one, two, check_exact=True)
    assert list(one["cleaning"].unique()) == ["max_missing=0.3", "max_missing=0.6"]
    assert one.groupby("cleaning")["best"].sum().tolist() == [1, 1]
