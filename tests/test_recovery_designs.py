"""The simulation designs of analyses/ (calibration and recovery studies) and a small clustered-noise study."""

import numpy as np
import pytest

from analyses.clustered_designs import FAMILY_SIZES, family_sizes_from_export, simulate


@pytest.mark.slow
@pytest.mark.parametrize("level", ["variant", "architecture"])
def test_family_sizes_match_the_export(brainscore_path, level):
    assert family_sizes_from_export(str(brainscore_path), level) == FAMILY_SIZES[level]


def test_simulate_has_the_intended_structure():
    sigma = np.eye(3)
    sigma[0, 1] = sigma[1, 0] = 0.5
    m, fam = simulate((2,) * 1000, sigma, 0.4, np.random.default_rng(0))
    x = m.to_numpy()
    assert m.shape == (2000, 3) and fam.nunique() == 1000
    np.testing.assert_allclose(np.corrcoef(x, rowvar=False)[0, 1:], [0.5, 0.0], atol=0.06)
    # the two members of a family correlate icc on every metric
    within = [np.corrcoef(x[0::2, j], x[1::2, j])[0, 1] for j in range(3)]
    np.testing.assert_allclose(within, 0.4, atol=0.08)


def test_small_clustered_noise_study():
    # A small version of analyses/recovery.py's clustered-noise study (100 replications there).
    from analyses.recovery import LEAD_RULES, clustered_study, clustered_table

    long = clustered_study(["noise"], ["variant"], reps=4, seed=1, n_jobs=1, rules=("parallel_pc", "parallel_fa"),
                           p=20)
    assert set(long["unit"]) == {"models", "families"} and len(long) == 4 * 2 * 2
    tab = clustered_table(long).set_index(["unit", "rule"])
    for rule in ("parallel_pc", "parallel_fa"):
        assert tab.loc[("families", rule), "share k_hat <= 1"] >= 0.75
    assert set(LEAD_RULES) == {"parallel_fa", "parallel_pc", "map"}
