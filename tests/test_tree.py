import time

import numpy as np
import pandas as pd
import pytest

from alignfactors.errors import DataError, ParameterError, TreeError
from alignfactors.io.tree import BenchmarkTree
from alignfactors.io.tree_inference import TreeCheck, check_tree, infer_tree


@pytest.fixture
def tree():
    return BenchmarkTree(
        {
            "average_vision": ["neural_vision", "behavior_vision"],
            "neural_vision": ["V1", "IT"],
            "V1": ["v1_a", "v1_b"],
            "behavior_vision": ["b1", "b2"],
            "engineering_vision": ["e1"],
        },
        roots=["average_vision", "engineering_vision"],
    )


def test_tree_navigation(tree):
    assert tree.roots == ["average_vision", "engineering_vision"]
    assert tree.nodes == ["average_vision", "neural_vision", "V1", "v1_a", "v1_b", "IT",
                          "behavior_vision", "b1", "b2", "engineering_vision", "e1"]
    assert tree.children("V1") == ["v1_a", "v1_b"]
    assert tree.children("IT") == []
    assert tree.parent("v1_a") == "V1" and tree.parent("average_vision") is None
    assert tree.leaves() == ["v1_a", "v1_b", "IT", "b1", "b2", "e1"]
    assert tree.leaves(under="neural_vision") == ["v1_a", "v1_b", "IT"]
    assert tree.leaves(under="IT") == ["IT"]
    assert tree.is_leaf("b1") and not tree.is_leaf("V1")
    assert [tree.depth(n) for n in ("average_vision", "V1", "v1_a")] == [0, 2, 3]
    assert tree.to_dict()["neural_vision"] == ["V1", "IT"]
    assert "V1" in tree and len(tree) == 11


def test_tree_domain_and_region(tree):
    assert tree.domain("v1_a") == "neural"
    assert tree.domain("neural_vision") == "neural"
    assert tree.domain("b2") == "behavioral"
    assert tree.domain("e1") == "engineering"
    assert tree.domain("average_vision") is None
    assert tree.region("v1_b") == "V1" and tree.region("IT") == "IT"
    assert tree.region("neural_vision") is None and tree.region("b1") is None


def test_nodes_at_levels(tree):
    assert tree.nodes_at(0) == ["neural_vision", "behavior_vision", "engineering_vision"]
    assert tree.nodes_at(1) == ["V1", "IT", "b1", "b2", "e1"]
    assert tree.nodes_at(1, domains=["neural", "behavioral"]) == ["V1", "IT", "b1", "b2"]
    assert tree.nodes_at(2) == ["v1_a", "v1_b", "IT", "b1", "b2", "e1"]
    assert tree.nodes_at("leaves") == tree.leaves()
    with pytest.raises(ParameterError, match="level must be 'leaves' or an int"):
        tree.nodes_at("top")


def test_unknown_node_names_valid_ones(tree):
    with pytest.raises(DataError, match=r"unknown benchmark node 'V9'; valid nodes include "
                                        r"'average_vision'.*\(11 in all\)"):
        tree.children("V9")


def test_tree_is_immutable(tree):
    with pytest.raises(AttributeError, match="immutable"):
        tree._roots = ("x",)
    tree.roots.append("x")
    assert tree.roots == ["average_vision", "engineering_vision"]


def test_flat_and_from_mapping():
    flat = BenchmarkTree.flat(["a", "b"], domains={"a": "neural", "b": "Behaviour"})
    assert flat.roots == ["a", "b"] and flat.leaves() == ["a", "b"]
    assert flat.domain("b") == "behavioral" and flat.nodes_at(1) == ["a", "b"]
    t = BenchmarkTree.from_mapping({"p": ["a", "b"]}, order=["p", "a", "b", "c"])
    assert t.roots == ["p", "c"] and t.children("p") == ["a", "b"]
    with pytest.raises(DataError, match=r"\['zz'\] not among the benchmark columns"):
        BenchmarkTree.from_mapping({"p": ["a", "zz"]}, order=["p", "a"])
    with pytest.raises(DataError, match="'a' has two parents"):
        BenchmarkTree({"p": ["a"], "q": ["a"]}, roots=["p", "q"])


def _frame(cols, rows):
    return pd.DataFrame(rows, columns=cols, index=[f"m{i}" for i in range(len(rows))],
                        dtype=float)


def test_infer_tree_small():
    nan = np.nan
    s = _frame(
        ["average_x", "neural_x", "a", "b", "behavior_x", "c", "d"],
        [[0.35, 0.5, 0.4, 0.6, 0.2, 0.1, 0.3],
         [0.175, 0.15, 0.3, nan, 0.2, 0.4, nan],  # missing children count as 0
         [nan, 0.3, 0.2, 0.4, 0.1, 0.1, 0.1]],
    )
    tree, check = infer_tree(s)
    assert tree.to_dict() == {"average_x": ["neural_x", "behavior_x"],
                              "neural_x": ["a", "b"], "behavior_x": ["c", "d"]}
    assert tree.roots == ["average_x"]
    assert check == TreeCheck(3, 8, check.max_abs_error, check.tolerance, notes=check.notes)
    # 3 models cannot decide 7 columns by their values: the pre-order column order did, and says so
    assert len(check.notes) == 1 and "read from the column order (pre-order)" in check.notes[0]
    assert check.max_abs_error < 1e-9 and check.tolerance == pytest.approx(0.001)


def test_infer_tree_accepts_rounding_within_tolerance():
    s = _frame(["average_x", "a", "b"], [[0.335, 0.333, 0.336], [0.500, 0.499, 0.502]])
    tree, check = infer_tree(s)  # means .3345 and .5005, rounded down and up
    assert tree.children("average_x") == ["a", "b"]
    assert check.max_abs_error == pytest.approx(0.0005)


def test_infer_tree_error_names_the_column():
    s = _frame(["average_x", "a", "b"], [[0.5, 0.4, 0.6], [0.9, 0.4, 0.2]])
    with pytest.raises(TreeError, match=r"column 'average_x' looks like an aggregate but is not "
                                        r"the mean.*model_id 'm1' \(average_x = 0.900, "
                                        r"mean = 0.400\).*tree=False"):
        infer_tree(s)


def test_infer_tree_error_points_at_the_broken_parent():
    rng = np.random.default_rng(3)
    a, b, it = np.round(rng.uniform(0.1, 0.9, (3, 40)), 3)
    v1 = np.round((a + b) / 2, 3)
    v1[2] = 0.9  # V1 no longer the mean of its children on m2
    neural = np.round((v1 + it) / 2, 3)
    neural[5] += 0.2  # and neural_x is not the mean of anything on m5
    s = pd.DataFrame({"neural_x": neural, "V1": v1, "a": a, "b": b, "IT": it},
                     index=[f"m{i}" for i in range(40)])
    with pytest.raises(TreeError, match=r"column 'V1' equals the mean of the 2 columns "
                                        r"\('a', 'b'\) on 39 of 40 models but not on model_id 'm2'"
                                        r".*column 'neural_x' looks like an aggregate"):
        infer_tree(s, max_mismatch=0)


def test_infer_tree_parameter_errors():
    s = _frame(["a"], [[0.1]])
    with pytest.raises(ParameterError, match="tol must be a finite number >= 0"):
        infer_tree(s, tol=-1)
    with pytest.raises(ParameterError, match="scores must be a pandas DataFrame"):
        infer_tree(s.to_numpy())


def test_infer_tree_step_budget():
    s = _frame(["average_x", "a", "b", "c"], [[0.5, 0.4, 0.6, 0.1]])
    with pytest.raises(TreeError, match="gave up after 2 steps"):
        infer_tree(s, max_steps=2)


def test_infer_tree_row_order_invariant():
    s = _frame(["average_x", "a", "b", "c"], [[0.5, 0.4, 0.6, 0.1], [0.2, 0.1, 0.3, 0.9]])
    assert infer_tree(s)[0] == infer_tree(s.iloc[::-1])[0]


def test_check_tree_records_mismatches():
    s = _frame(["p", "a", "b"], [[0.5, 0.4, 0.6], [0.7, 0.4, 0.6]])
    chk = check_tree(s, BenchmarkTree({"p": ["a", "b"]}, roots=["p"]))
    assert chk.n_mismatched == 1 and chk.mismatches == (("p", "m1", 0.7, 0.5),)
    assert not chk.ok and "1 cells outside the tolerance" in str(chk)


# --- the real export ------------------------------------------------------------------------

def _real_scores(path):
    raw = pd.read_csv(path, dtype=str, keep_default_na=False).set_index("model_id")
    return raw.iloc[:, 2:].replace({"X": "", "": ""}).replace("", np.nan).astype(float)


def test_real_export_tree(brainscore_path):
    scores = _real_scores(brainscore_path)
    tree, check = infer_tree(scores)
    assert tree.roots == ["average_vision", "engineering_vision"]
    assert tree.children("average_vision") == ["neural_vision", "behavior_vision"]
    assert tree.children("neural_vision") == ["V1", "V2", "V4", "IT"]
    assert tree.children("V1") == ["tong.Coggan2024_fMRI.V1-rdm", "FreemanZiemba2013.V1-pls",
                                   "Marques2020"]
    assert len(tree.children("IT")) == 7
    assert len(tree.children("Geirhos2021-error_consistency")) == 17
    assert tree.children("Marques2020")[:2] == ["V1-orientation", "V1-spatial_frequency"]
    assert len(tree.children("Marques2020")) == 7
    assert tree.children("engineering_vision") == [
        "ImageNet-top1", "ImageNet-C-top1", "ObjectNet-top1", "Geirhos2021-top1", "Hermann2020"]
    assert tree.nodes == list(scores.columns)  # pre-order = file order
    assert tree.nodes_at(1, domains=["neural"]) == ["V1", "V2", "V4", "IT"]
    assert tree.region("Marques2020_Ringach2002-max_dc") == "V1"
    assert tree.domain("Hebart2023-match") == "behavioral"
    assert (check.n_parents, check.n_cells_checked) == (24, 7919)
    # the published file itself is off in 16 cells (5 in ImageNet-C-top1, up to 0.064)
    assert check.n_mismatched == 16
    assert {m[0] for m in check.mismatches} == {"IT", "Geirhos2021-error_consistency",
                                               "ImageNet-C-top1"}
    assert check.max_abs_error == pytest.approx(0.064)


def test_real_export_exact_tree_is_impossible(brainscore_path):
    # IT, Geirhos2021-error_consistency and ImageNet-C-top1 miss the mean of their children on
    # a few models, so with no mismatch allowed neural_vision has no exact parent set
    with pytest.raises(TreeError, match=r"cannot infer the benchmark tree .*'(average|neural)_"
                                        r"vision' looks like an aggregate"):
        infer_tree(_real_scores(brainscore_path), max_mismatch=0)


def _bfs_order(tree):
    out = list(tree.roots)
    i = 0
    while i < len(out):
        out += tree.children(out[i])
        i += 1
    return out


def _as_sets(tree):
    return {p: frozenset(k) for p, k in tree.to_dict().items()}


def test_real_export_tree_in_any_column_order(brainscore_path):
    scores = _real_scores(brainscore_path)
    ref, check = infer_tree(scores)
    pair = ("V1-surround_modulation", "Marques2020_Cavanaugh2002-surround_suppression_index")
    assert any(all(c in note for c in pair) and "comes first" in note for note in check.notes)
    # breadth-first, as today's export writes it: the same tree, children in the same order
    bfs, bfs_check = infer_tree(scores[_bfs_order(ref)])
    assert bfs.to_dict() == ref.to_dict() and bfs.roots == ref.roots
    assert bfs_check.n_mismatched == check.n_mismatched == 16
    # shuffled: the same parent -> children sets; the one pair of equal columns (a parent with a
    # single child) cannot be ordered by values, and is ordered by which comes first
    for seed in (0, 2):
        cols = list(np.random.default_rng(seed).permutation(scores.columns))
        tree, chk = infer_tree(scores[cols])
        got, want = _as_sets(tree), _as_sets(ref)
        if cols.index(pair[1]) < cols.index(pair[0]):
            swap = {pair[0]: pair[1], pair[1]: pair[0]}
            got = {swap.get(p, p): frozenset(swap.get(c, c) for c in k) for p, k in got.items()}
        assert got == want
        assert chk.n_mismatched == 16 and chk.n_parents == 24


def test_tree_pickles_and_copies(tree):
    import copy
    import pickle

    t = BenchmarkTree(tree.to_dict(), roots=tree.roots, domains={"e1": "neural"},
                      rules={"V1": {"rule": "mean", "weights": [0.5, 0.5], "missing": "as_zero"}})
    for back in (pickle.loads(pickle.dumps(t)), copy.deepcopy(t), copy.copy(t)):
        assert back == t and back.rules == t.rules and back.domain("e1") == "neural"
        with pytest.raises(AttributeError, match="immutable"):
            back._roots = ("x",)


def _count_leaves(tree, name):
    return len(tree.leaves(under=name))


def test_tree_goes_to_joblib_workers(tree):
    from joblib import Parallel, delayed

    out = Parallel(n_jobs=2)(delayed(_count_leaves)(tree, n) for n in ("V1", "average_vision"))
    assert out == [2, 5]
