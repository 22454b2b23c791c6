import numpy as np
import pandas as pd
import pytest

from alignfactors.io.datasets import (
    SIMULATED_ROOTS,
    SIMULATED_TREE,
    simulate_leaderboard,
    simulate_leaderboard_truth,
)
from alignfactors.errors import ParameterError, ParameterTypeError
from alignfactors.io.tree_inference import check_tree


@pytest.fixture(scope="module")
def table():
    return simulate_leaderboard(300, seed=0)


@pytest.fixture(scope="module")
def raw():
    return simulate_leaderboard(300, seed=0, as_frame=True)


def test_errors():
    with pytest.raises(ParameterError, match="n_models must be >= 20"):
        simulate_leaderboard(5)
    with pytest.raises(ParameterTypeError, match="n_models must be an int"):
        simulate_leaderboard(30.0)
    with pytest.raises(ParameterError, match="n_factors must be 1, 2 or 3"):
        simulate_leaderboard(n_factors=4)
    with pytest.raises(ParameterError, match="seed must be a non-negative int"):
        simulate_leaderboard_truth(seed=-1)
    with pytest.raises(ParameterTypeError, match="as_frame must be True or False"):
        simulate_leaderboard(as_frame="yes")


def test_same_seed_identical_frame(raw):
    again = simulate_leaderboard(300, seed=0, as_frame=True)
    pd.testing.assert_frame_equal(raw, again)
    other = simulate_leaderboard(300, seed=1, as_frame=True)
    assert not raw.equals(other)
    t1, t2 = simulate_leaderboard_truth(seed=0), simulate_leaderboard_truth(seed=0)
    pd.testing.assert_frame_equal(t1["loadings"], t2["loadings"])


def test_export_layout(raw):
    assert list(raw.columns[:3]) == ["model_name", "model_id", "rank"]
    nodes = list(raw.columns[3:])
    # pre-order: every parent comes right before its first child
    for parent, kids in SIMULATED_TREE.items():
        assert nodes.index(kids[0]) == nodes.index(parent) + 1
    assert raw["model_id"].is_unique
    assert raw["model_name"].duplicated().any()
    assert all(pd.api.types.is_string_dtype(raw[c]) for c in raw.columns)
    cells = raw[nodes].to_numpy().ravel()
    assert {"X", ""} <= set(cells)
    assert any(c in ("1.1", "1.2") for c in cells)
    assert all(c in ("X", "", "1.0", "1.1", "1.2") or c.startswith((".", "-0.")) for c in cells)
    ranks = raw["rank"].astype(int).to_numpy()
    assert ranks[0] == 1 and np.all(np.diff(ranks) >= 0)


def test_tree_inference_recovers_designed_tree(table):
    assert table.tree.to_dict() == SIMULATED_TREE
    assert table.tree.roots == SIMULATED_ROOTS
    assert table.tree.domain("Kar2019-ost") == "neural"
    assert table.tree.domain("Geirhos2021edge-error_consistency") == "behavioral"
    assert table.tree.region("Marques2020_DeValois1982-peak_sf") == "V1"
    assert table.tree_check.ok


def test_status_counts_match_generated_cells(table, raw):
    nodes = list(raw.columns[3:])
    cells = raw[nodes].to_numpy()
    counts = table.status_counts()
    assert counts["failed"] == int((cells == "X").sum())
    assert counts["missing"] == int((cells == "").sum())
    assert counts["ok"] == cells.size - counts["failed"] - counts["missing"]
    truth = simulate_leaderboard_truth(300, seed=0)
    st = truth["status"].set_axis(raw["model_id"].to_numpy())
    pd.testing.assert_frame_equal(table.status.astype(object), st[nodes].rename_axis("model_id").astype(object),
                                  check_names=False)


def test_missingness_not_random(table):
    # newer benchmarks are never run on the oldest models (smallest ids)
    ids = table.scores.index.astype(int)
    col = "BMD2024.texture_1Behavioral-accuracy_distance"
    never = table.status[col] == "missing"
    assert ids[never.to_numpy()].to_numpy().mean() < ids[~never.to_numpy()].to_numpy().mean()


def test_parents_consistent(table):
    check = check_tree(table.scores, table.tree)
    assert check.n_mismatched == 0
    assert check.max_abs_error <= 0.0005 + 1e-12
    s = table.scores.fillna(0.0)
    avg = np.round((s["neural_vision"] + s["behavior_vision"]) / 2, 3)
    present = table.scores["average_vision"].notna()
    assert np.abs(avg[present] - table.scores.loc[present, "average_vision"]).max() <= 0.0005 + 1e-12


def test_truth_structure():
    truth = simulate_leaderboard_truth(300, seed=0)
    lam = truth["loadings"]
    leaves = [c for c in lam.index]
    assert set(leaves) == {c for kids in SIMULATED_TREE.values() for c in kids if c not in SIMULATED_TREE}
    assert (lam["general"] > 0).all()
    assert (lam.loc[truth["domains"] == "engineering", ["neural", "behavioral"]] == 0).all().all()
    assert (truth["factor"][truth["domains"] == "neural"] == "neural").all()
    assert (truth["uniquenesses"] > 0).all()
    one = simulate_leaderboard_truth(300, seed=0, n_factors=1)
    assert list(one["loadings"].columns) == ["general"] and (one["factor"] == "general").all()


def test_scores_follow_the_factor_model(table):
    # within-domain leaves correlate more than between-domain ones (neural factor, behavioral factor)
    truth = simulate_leaderboard_truth(300, seed=0)
    dom = truth["domains"]
    sc = table.scores[list(dom.index)]
    r = sc.corr("spearman")
    nn = r.loc[dom == "neural", dom == "neural"].to_numpy()[np.triu_indices((dom == "neural").sum(), 1)]
    nb = r.loc[dom == "neural", dom == "behavioral"].to_numpy()
    assert np.nanmean(nn) > np.nanmean(nb) + 0.1


@pytest.mark.parametrize("seed", [1, 2])
def test_small_leaderboards_still_recover_the_tree(seed):
    t = simulate_leaderboard(20, seed=seed, n_factors=2)
    assert t.tree.to_dict() == SIMULATED_TREE
    assert t.n_models == 20
