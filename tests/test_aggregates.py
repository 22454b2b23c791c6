"""Aggregate detection on hand-made tables: what is found, what is not, and the notes."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alignfactors.io.aggregates import AggregateDetection, detect_aggregates, fit_rules
from alignfactors.errors import DataError, ParameterError
from alignfactors.io.tree import BenchmarkTree


def _metrics(n=60, k=6, seed=0, decimals=3):
    rng = np.random.default_rng(seed)
    g = rng.normal(size=(n, 1))
    x = 0.5 + 0.1 * g + 0.1 * rng.normal(size=(n, k))  # correlated metrics, as on leaderboards
    return pd.DataFrame(np.round(x, decimals), columns=[f"m{i}" for i in range(k)],
                        index=[f"model{i}" for i in range(n)])


def _sets(tree):
    return {p: frozenset(c) for p, c in tree.to_dict().items()}


def test_mean_is_found_and_said():
    m = _metrics()
    m.insert(0, "Average", m.mean(axis=1).round(3))
    d = detect_aggregates(m)
    f = d.aggregates["Average"]
    assert (f.rule, f.children, f.missing) == ("mean", tuple(f"m{i}" for i in range(6)),
                                               "complete")
    assert f.weights == pytest.approx((1 / 6,) * 6) and f.max_error <= f.tolerance
    assert f.tolerance == pytest.approx(0.001, abs=1e-8)  # 3 decimals: parent and children
    assert d.metrics == [f"m{i}" for i in range(6)] and d.metadata == {}
    assert d.notes == ()
    assert "1 aggregate column ('Average' = mean of 6" in d.headline()
    frame = d.to_frame()
    assert frame.set_index("column").loc["Average", "role"] == "aggregate"
    assert frame.set_index("column").loc["m0", "role"] == "metric"
    assert d.to_dict()["aggregates"]["Average"]["rule"] == "mean"


def test_weighted_means_are_estimated():
    m = _metrics(n=80, k=6, seed=1)
    w = np.array([0.4, 0.3, 0.2, 0.1])
    m["Score"] = (m[["m0", "m1", "m2", "m3"]] @ w).round(3)
    m["Half"] = (0.25 * m["m4"] + 0.75 * m["m5"]).round(3)
    d = detect_aggregates(m)
    f = d.aggregates["Score"]
    assert f.rule == "weighted_mean" and f.children == ("m0", "m1", "m2", "m3")
    assert f.weights == pytest.approx(w, abs=0.01) and sum(f.weights) == pytest.approx(1)
    g = d.aggregates["Half"]
    assert g.rule == "weighted_mean" and g.weights == pytest.approx((0.25, 0.75), abs=0.01)
    assert d.metrics == [f"m{i}" for i in range(6)]


def test_overlapping_aggregates_are_set_aside_with_a_note():
    m = _metrics(n=80, k=4, seed=1)
    m["A"] = m[["m0", "m1", "m2"]].mean(axis=1).round(3)
    m["B"] = m[["m1", "m2", "m3"]].mean(axis=1).round(3)  # shares m1, m2 with A: not a tree
    d = detect_aggregates(m)
    assert d.metrics == ["m0", "m1", "m2", "m3"]
    (kept,) = d.aggregates
    (aside,) = [c for c, k in d.metadata.items() if k == "overlapping aggregate"]
    assert {kept, aside} == {"A", "B"}
    assert any(f"column {aside!r} is an exact combination" in n for n in d.notes)


def test_sum_and_a_total_next_to_its_average():
    m = _metrics(n=50, k=4, seed=2, decimals=1) * 10
    m = m.round(1)
    m["Total"] = m.sum(axis=1).round(1)
    m["Avg"] = (m[["m0", "m1", "m2", "m3"]].mean(axis=1)).round(3)
    d = detect_aggregates(m)
    assert d.metrics == ["m0", "m1", "m2", "m3"]
    rules = {p: f.rule for p, f in d.aggregates.items()}
    # one of them aggregates the metrics, the other is a rescaled copy of it
    assert set(rules) == {"Total", "Avg"}
    top = [p for p, f in d.aggregates.items() if len(f.children) == 1][0]
    assert d.aggregates[top].rule == "weighted"
    assert d.aggregates[top].weights[0] == pytest.approx(4 if top == "Total" else 0.25, rel=1e-3)


def _two_level(seed=3):
    m = _metrics(n=70, k=7, seed=seed)
    m["Vision"] = m[["m0", "m1", "m2"]].mean(axis=1).round(3)
    m["Language"] = m[["m3", "m4", "m5", "m6"]].mean(axis=1).round(3)
    m["Overall"] = m[["Vision", "Language"]].mean(axis=1).round(3)
    return m


def test_two_level_tree_in_shuffled_order():
    m = _two_level()
    want = {"Overall": frozenset({"Vision", "Language"}),
            "Vision": frozenset({"m0", "m1", "m2"}),
            "Language": frozenset({"m3", "m4", "m5", "m6"})}
    for seed in range(3):
        cols = list(np.random.default_rng(seed).permutation(m.columns))
        d = detect_aggregates(m[cols])
        assert _sets(d.tree) == want
        assert d.tree.roots == ["Overall"]
        assert {f.rule for f in d.aggregates.values()} == {"mean"}


def test_missing_as_zero_and_over_the_children_present():
    m = _metrics(n=60, k=4, seed=4)
    m.iloc[::5, 1] = np.nan
    m.iloc[2::7, 3] = np.nan
    x = m.fillna(0)
    m["bs"] = x[["m0", "m1", "m2", "m3"]].mean(axis=1).round(3)
    m["avail"] = m[["m0", "m1", "m2", "m3"]].mean(axis=1).round(3)
    d = detect_aggregates(m[["bs", "m0", "m1", "m2", "m3"]])
    assert d.aggregates["bs"].missing == "as_zero" and d.aggregates["bs"].rule == "mean"
    d = detect_aggregates(m[["avail", "m0", "m1", "m2", "m3"]])
    assert d.aggregates["avail"].missing == "skip" and d.aggregates["avail"].rule == "mean"


def test_rank_and_constant_columns_are_metadata():
    m = _metrics(n=40, k=4, seed=5)
    m["Rank"] = m["m0"].rank(ascending=False, method="min")
    m["Place"] = m["m1"].rank(method="average")
    m["Suite"] = 2024.0
    d = detect_aggregates(m)
    assert d.metadata == {"Rank": "rank", "Place": "rank", "Suite": "constant"}
    assert d.metrics == ["m0", "m1", "m2", "m3"] and "Rank" not in d.tree


def test_near_miss_stays_a_metric_with_a_note():
    m = _metrics(n=60, k=5, seed=6)
    avg = m.mean(axis=1).round(3)
    avg.iloc[[7, 30]] += [0.02, -0.015]  # the website's slip on two models
    m["Avg"] = avg
    d = detect_aggregates(m)
    assert d.aggregates == {} and "Avg" in d.metrics
    note = [n for n in d.notes if "'Avg'" in n]
    assert len(note) == 1
    assert "the mean of 5" in note[0] and "misses by up to 0.02" in note[0]
    assert "'model7'" in note[0] and "on 2 of 60 models" in note[0]
    # with a mismatch allowance of 5% it is an aggregate, the 2 models counted
    d = detect_aggregates(m, max_mismatch=0.05)
    assert d.aggregates["Avg"].n_mismatched == 2


def test_near_collinear_metrics_are_not_aggregates():
    rng = np.random.default_rng(7)
    n = 200
    base = rng.normal(size=n)
    cols = {f"c{i}": np.round(0.5 + 0.1 * base + 0.004 * rng.normal(size=n), 3)
            for i in range(8)}  # r > 0.99 between every pair
    m = pd.DataFrame(cols)
    r = np.corrcoef(m.to_numpy().T)
    assert r[np.triu_indices(8, 1)].min() > 0.99
    d = detect_aggregates(m)
    assert d.aggregates == {} and d.metrics == list(cols)
    # ... while a real mean among them is still found
    m["mean"] = m[["c0", "c3", "c5"]].mean(axis=1).round(3)
    d = detect_aggregates(m)
    assert list(d.aggregates) == ["mean"] and set(d.aggregates["mean"].children) == {
        "c0", "c3", "c5"}


def test_two_parent_sets_that_fit_equally_give_a_note():
    rng = np.random.default_rng(8)
    n = 60
    a, b, c = np.round(rng.uniform(0.2, 0.8, (3, n)), 3)
    d_ = np.round(a + b - c, 3)  # a + b = c + d on every model (by construction)
    m = pd.DataFrame({"P": np.round((a + b) / 2, 3), "a": a, "b": b, "c": c, "d": d_})
    det = detect_aggregates(m)
    assert "P" in det.aggregates
    amb = [n for n in det.notes if "fit equally well by two different sets" in n]
    assert len(amb) == 1 and "'P'" in amb[0]


def test_too_few_models_are_undecided_not_guessed():
    m = _metrics(n=6, k=5, seed=9)
    m["Avg"] = m.mean(axis=1).round(3)
    d = detect_aggregates(m)
    assert d.aggregates == {} and "Avg" in d.metrics
    assert any("too few" in n and "'Avg'" in n for n in d.notes)


def test_parameter_and_data_errors():
    m = _metrics(n=10, k=2)
    with pytest.raises(ParameterError, match=r"rules must be a non-empty list among"):
        detect_aggregates(m, rules=["median"])
    with pytest.raises(ParameterError, match=r"missing must be a non-empty list among"):
        detect_aggregates(m, missing="drop")
    with pytest.raises(ParameterError, match=r"max_mismatch must be in \[0, 0.5\)"):
        detect_aggregates(m, max_mismatch=0.7)
    with pytest.raises(DataError, match="must be numeric"):
        detect_aggregates(m.astype(object).assign(m0="x"))


def test_fit_rules_of_a_given_tree():
    m = _two_level(seed=10)
    t = BenchmarkTree.from_mapping({"Overall": ["Vision", "Language"],
                                    "Vision": ["m0", "m1", "m2"],
                                    "Language": ["m3", "m4", "m5"]}, order=list(m.columns))
    d = fit_rules(m, t)
    assert d.method == "given" and set(d.aggregates) == {"Overall", "Vision"}
    assert d.tree.rule("Vision")["rule"] == "mean" and d.tree.rule("Language") is None
    assert any("'Language' is not the mean" in n for n in d.notes)


def test_detection_is_row_order_invariant():
    m = _two_level(seed=11)
    assert _sets(detect_aggregates(m).tree) == _sets(detect_aggregates(m.iloc[::-1]).tree)


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10_000), st.integers(0, 10_000))
def test_shuffling_columns_never_changes_the_detected_tree(data_seed, perm_seed):
    rng = np.random.default_rng(data_seed)
    m = _metrics(n=50, k=6, seed=data_seed)
    k = int(rng.integers(2, 4))
    m["A"] = m[[f"m{i}" for i in range(k)]].mean(axis=1).round(3)
    m["B"] = m[[f"m{i}" for i in range(k, 6)]].sum(axis=1).round(3)
    if data_seed % 2:
        m["T"] = (0.3 * m["A"] + 0.7 * m["m5"]).round(3) if k < 5 else m["A"]
    m["R"] = m["m0"].rank(method="min")
    ref = detect_aggregates(m)
    cols = list(np.random.default_rng(perm_seed).permutation(m.columns))
    d = detect_aggregates(m[cols])
    assert _sets(d.tree) == _sets(ref.tree)
    assert set(d.tree.roots) == set(ref.tree.roots) and d.metadata == ref.metadata


def test_result_renders():
    d = detect_aggregates(_two_level(seed=12))
    assert isinstance(d, AggregateDetection)
    assert "| Overall | aggregate | mean |" in d.to_markdown()
    assert "3 aggregates" in d.summary() and str(d) == d.summary()


# --- where detection meets loading, the CLI and the report ----------------------------------

def _board_csv(tmp_path):
    m = _two_level(seed=13)
    m["Rank"] = m["Overall"].rank(ascending=False, method="min")
    m.insert(0, "model", m.index)
    path = tmp_path / "board.csv"
    m.to_csv(path, index=False)
    return path


def test_load_table_and_from_wide_detect_by_default(tmp_path):
    from alignfactors.io.loading import load_table
    from alignfactors.io.table import ScoreTable

    path = _board_csv(tmp_path)
    t = load_table(path)
    assert t.detection.method == "detect" and "Rank" not in t.scores.columns
    assert t.models["Rank"].notna().all()
    assert t.tree.children("Overall") == ["Vision", "Language"]
    assert t.tree.rule("Vision") == {"rule": "mean", "weights": pytest.approx([1 / 3] * 3),
                                     "missing": "complete"}
    assert t.benchmarks.loc["Overall", "role"] == "aggregate"
    assert t.benchmarks.loc["Overall", "children"] == "Vision; Language"
    assert t.log.set_index("item").loc["Rank", "reason"].startswith("rank column")
    assert any(n.startswith("summary columns: 3 aggregate columns") for n in t.notes)
    assert t.status.columns.equals(t.scores.columns)
    flat = load_table(path, aggregates="none")
    assert flat.tree.leaves() == list(flat.scores.columns) and "Rank" in flat.scores.columns
    assert flat.detection.method == "none"
    given = load_table(path, aggregates={"Vision": ["m0", "m1", "m2"]})
    assert given.detection.method == "given" and given.tree.rule("Vision")["rule"] == "mean"
    assert "Overall" in given.tree.leaves()
    with pytest.raises(ParameterError, match="aggregates must be 'detect', 'none' or a tree"):
        load_table(path, aggregates="auto")
    df = pd.read_csv(path).set_index("model")
    w = ScoreTable.from_wide(df)
    assert _sets(w.tree) == _sets(t.tree)
    assert ScoreTable.from_wide(df, aggregates="none").tree.to_dict() == {}


def test_detected_table_pickles(tmp_path):
    import pickle

    from alignfactors.io.loading import load_table

    t = load_table(_board_csv(tmp_path))
    back = pickle.loads(pickle.dumps(t))
    assert back.tree == t.tree and back.tree.rules == t.tree.rules
    assert back.detection.to_dict() == t.detection.to_dict()


def test_cli_aggregates_option(tmp_path, capsys):
    from alignfactors.cli import main

    path = _board_csv(tmp_path)
    assert main(["agreement", str(path), "--n-boot", "0", "--quiet"]) == 0
    detected = capsys.readouterr().out
    assert main(["agreement", str(path), "--n-boot", "0", "--quiet", "--aggregates", "none"]) == 0
    flat = capsys.readouterr().out
    assert detected != flat
    tree = tmp_path / "tree.json"
    tree.write_text('{"Vision": ["m0", "m1", "m2"]}')
    assert main(["agreement", str(path), "--n-boot", "0", "--quiet", "--aggregates",
                 str(tree)]) == 0
    assert main(["agreement", str(path), "--aggregates", "nope.json"]) == 2
    assert "expected 'detect', 'none' or a JSON file" in capsys.readouterr().err


def test_a_parent_over_a_column_set_aside_is_set_aside_too():
    rng = np.random.default_rng(3)
    m = pd.DataFrame(np.round(rng.uniform(0, 1, (60, 4)), 3), columns=list("abcd"))
    m["X"] = m[["a", "b"]].mean(axis=1).round(3)
    m["Y"] = m[["b", "c"]].mean(axis=1).round(3)  # shares 'b' with X: not a tree
    m["Z"] = ((m[["a", "b"]].mean(axis=1) + m["d"]) / 2).round(3)  # the mean of X and d
    d = detect_aggregates(m)  # was a DataError from the tree (Z's child X set aside)
    assert set(d.metadata) == {"X", "Z"} and set(d.metadata.values()) == {"overlapping aggregate"}
    assert _sets(d.tree) == {"Y": frozenset("bc")} and sorted(d.metrics) == list("abcd")
    assert any(n.startswith("column 'Z' is an aggregate of columns set aside (['X'])")
               for n in d.notes)


def test_shared_factor_gives_the_same_detection_as_row_fits(monkeypatch):
    # 1,200 models: the fits go through one QR factor per row set; the same table fitted row by
    # row (the path of small tables) must give the same tree, rules and notes
    from alignfactors import _search

    rng = np.random.default_rng(5)
    n = 1200
    m = _metrics(n=n, k=13, seed=5)
    for c in ("m8", "m9", "m10"):
        m.loc[rng.random(n) < 0.2, c] = np.nan
    m["mean"] = m[["m0", "m1", "m2"]].mean(axis=1).round(3)
    m["total"] = m[["m3", "m4"]].sum(axis=1).round(3)
    m["weighted"] = (m[["m5", "m6", "m7"]] @ np.array([0.2, 0.3, 0.5])).round(3)
    m["avail"] = m[["m9", "m10", "m11"]].mean(axis=1).round(3)  # over the children present
    m["zero"] = m[["m8", "m12"]].fillna(0).mean(axis=1).round(3)  # missing counted as 0
    m["overall"] = m[["mean", "weighted"]].mean(axis=1).round(3)
    near = m[["m0", "m3"]].mean(axis=1).round(3)
    near.iloc[[5, 50]] += [0.01, -0.02]
    m["near"] = near
    m = m[list(rng.permutation(m.columns))]
    fast = detect_aggregates(m)
    monkeypatch.setattr(_search.Searcher, "factor", lambda self, rows: None)
    slow = detect_aggregates(m)
    expect = {"mean": {"m0", "m1", "m2"}, "total": {"m3", "m4"}, "weighted": {"m5", "m6", "m7"},
              "avail": {"m9", "m10", "m11"}, "zero": {"m8", "m12"},
              "overall": {"mean", "weighted"}}
    for d in (fast, slow):
        assert {p: set(f.children) for p, f in d.aggregates.items()} == expect
    assert {p: (f.rule, f.missing) for p, f in fast.aggregates.items()} == \
        {p: (f.rule, f.missing) for p, f in slow.aggregates.items()}
    fw = fast.aggregates["weighted"]
    assert dict(zip(fw.children, fw.weights)) == pytest.approx({"m5": 0.2, "m6": 0.3, "m7": 0.5},
                                                               abs=0.01)
    assert fast.notes == slow.notes and any("'near' is close to" in n for n in fast.notes)
