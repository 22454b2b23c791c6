import numpy as np
import pandas as pd
import pytest

from alignfactors.errors import DataError, ParameterError
from alignfactors.io.table import ScoreTable


def test_from_wide_basic():
    df = pd.DataFrame({"V1": [0.2, 0.4, np.nan], "i2n": [0.5, 1.2, -0.1]}, index=[7, 8, 9])
    t = ScoreTable.from_wide(df, domains={"V1": "neural", "i2n": "behavior"})
    assert list(t.scores.index) == ["7", "8", "9"] and t.scores.index.name == "model_id"
    assert t.scores.dtypes.eq(float).all()
    assert t.status.loc["9", "V1"] == "missing" and t.status.loc["8", "i2n"] == "ok"
    assert t.domains.to_dict() == {"V1": "neural", "i2n": "behavioral"}
    assert t.models["model_name"].tolist() == ["7", "8", "9"]
    assert t.tree.leaves() == ["V1", "i2n"] and t.tree_check is None
    assert t.n_models == 3 and t.source == "DataFrame"
    assert t.status_counts() == {"ok": 5, "failed": 0, "missing": 1}


def test_from_wide_non_numeric_cell_named():
    df = pd.DataFrame({"V1": [0.2, "oops"], "IT": [0.1, 0.2]}, index=["a", "b"])
    with pytest.raises(DataError, match=r"non-numeric score in row 'b', column 'V1': 'oops'"):
        ScoreTable.from_wide(df)


def test_from_wide_inf_named():
    df = pd.DataFrame({"V1": [0.2, np.inf]}, index=["a", "b"])
    with pytest.raises(DataError, match=r"infinite score in row 'b', column 'V1'"):
        ScoreTable.from_wide(df)


def test_from_wide_validation():
    with pytest.raises(DataError, match=r"duplicate model ids: \['a'\]"):
        ScoreTable.from_wide(pd.DataFrame({"V1": [0.1, 0.2]}, index=["a", "a"]))
    dup_cols = pd.DataFrame([[0.1, 0.2]], columns=["V1", "V1"], index=["a"])
    with pytest.raises(DataError, match=r"duplicate columns: \['V1'\]"):
        ScoreTable.from_wide(dup_cols)
    with pytest.raises(DataError, match=r"the table is empty \(0 rows x 1 columns\)"):
        ScoreTable.from_wide(pd.DataFrame({"V1": []}))
    with pytest.raises(ParameterError, match=r"domains names metrics that are not columns: "
                                             r"\['V9'\]"):
        ScoreTable.from_wide(pd.DataFrame({"V1": [0.1]}), domains={"V9": "neural"})


def test_from_long_basic():
    long = pd.DataFrame({
        "m": ["b", "b", "a", "a"],
        "met": ["IT", "i2n", "IT", "V1"],
        "s": [0.3, 0.5, 0.2, 0.1],
        "dom": ["neural", "behavioral", "neural", "neural"],
    })
    t = ScoreTable.from_long(long, model="m", metric="met", score="s", domain="dom")
    assert list(t.scores.index) == ["b", "a"]  # order of first appearance
    assert list(t.scores.columns) == ["IT", "i2n", "V1"]
    assert t.scores.loc["a", "IT"] == 0.2 and np.isnan(t.scores.loc["b", "V1"])
    assert t.status.loc["b", "V1"] == "missing"
    assert t.domains.to_dict() == {"IT": "neural", "i2n": "behavioral", "V1": "neural"}


def test_from_long_errors():
    long = pd.DataFrame({"model": ["a", "a"], "metric": ["V1", "V1"], "score": [0.1, 0.2]})
    with pytest.raises(DataError, match=r"duplicate \(model, metric\) pairs: \[\('a', 'V1'\)\]"):
        ScoreTable.from_long(long)
    with pytest.raises(ParameterError, match=r"score='value' is not a column of the data"):
        ScoreTable.from_long(long, score="value")
    two = pd.DataFrame({"model": ["a", "b"], "metric": ["V1", "V1"], "score": [0.1, 0.2],
                        "domain": ["neural", "behavioral"]})
    with pytest.raises(DataError, match=r"more than one domain in column 'domain': \['V1'\]"):
        ScoreTable.from_long(two, domain="domain")


def test_long_and_wide_agree():
    wide = pd.DataFrame({"V1": [0.1, 0.2], "IT": [0.3, np.nan]}, index=["a", "b"])
    long = wide.stack().rename("score").rename_axis(["model", "metric"]).reset_index()
    t1, t2 = ScoreTable.from_wide(wide), ScoreTable.from_long(long)
    pd.testing.assert_frame_equal(t1.scores, t2.scores)
    pd.testing.assert_frame_equal(t1.status, t2.status)


def test_summary_and_str():
    t = ScoreTable.from_wide(pd.DataFrame({"V1": [0.1, np.nan]}, index=["a", "b"]),
                             domains={"V1": "neural"})
    text = t.summary()
    assert "models:     2" in text and "1 ok, 0 failed, 1 missing" in text
    assert "neural 1" in text and str(t) == text


def test_table_is_frozen():
    t = ScoreTable.from_wide(pd.DataFrame({"V1": [0.1]}, index=["a"]))
    with pytest.raises(AttributeError):
        t.source = "x"


def _carrying_table():
    import alignfactors as af

    scores = pd.DataFrame({"avg": [0.3, 0.2, 0.1], "a": [0.2, 0.4, 0.2], "b": [0.4, 0.0, np.nan]},
                          index=pd.Index(["m1", "m2", "m3"], name="model_id"))
    status = pd.DataFrame(np.where(scores.isna(), "missing", "ok"), index=scores.index,
                          columns=scores.columns)
    errors = pd.DataFrame({"avg": np.nan, "a": [0.01, 0.02, 0.03], "b": [0.1, 0.2, np.nan]},
                          index=scores.index)
    stamps = pd.DataFrame({c: pd.to_datetime(["2020-01-01", "2021-01-01", "2022-01-01"], utc=True)
                           for c in scores.columns}, index=scores.index)
    stamps["avg"] = pd.NaT
    versions = pd.DataFrame({"avg": np.nan, "a": 1.0, "b": 2.0}, index=scores.index)
    models = pd.DataFrame({"model_name": ["x", "y", "z"], "architecture": ["cnn", "vit", "cnn"]},
                          index=scores.index)
    tree = af.BenchmarkTree({"avg": ["a", "b"]}, roots=["avg"], domains={"a": "neural",
                                                                         "b": "behavioral"})
    bench = pd.DataFrame({"version": [np.nan, 1, 2], "error_kind": ["none", "standard_error",
                                                                    "spread_over_subjects"]},
                         index=["avg", "a", "b"])
    log = pd.DataFrame({"item": ["lang1"], "kind": ["benchmark"], "reason": ["not vision"]})
    return ScoreTable(scores, status, models, tree, "test", None, errors=errors, raw=scores * 2,
                      timestamps=stamps, versions=versions, benchmarks=bench, log=log,
                      notes=("a note",))


def test_aligned_frames_subset_consistent():
    t = _carrying_table()
    u = t.subset(models=["m3", "m1"], benchmarks=["a", "b"])
    for name in ("scores", "status", "errors", "raw", "timestamps", "versions"):
        frame = getattr(u, name)
        assert list(frame.index) == ["m3", "m1"] and list(frame.columns) == ["a", "b"], name
    assert u.errors.loc["m1", "b"] == 0.1 and u.raw.loc["m3", "a"] == 0.4
    assert u.models["architecture"].tolist() == ["cnn", "cnn"]
    assert list(u.benchmarks.index) == ["a", "b"]
    assert u.benchmarks["error_kind"].tolist() == ["standard_error", "spread_over_subjects"]
    # dropped parent: children become roots and keep the domains they had
    assert u.tree.roots == ["a", "b"] and u.domains.to_dict() == {"a": "neural", "b": "behavioral"}
    assert u.tree_check is None and len(u.log) == 1 and u.notes == ("a note",)
    assert t.subset() is t
    only_models = t.subset(models=["m2"])
    assert only_models.tree == t.tree and only_models.errors.shape == (1, 3)


def test_subset_bad_labels():
    t = _carrying_table()
    with pytest.raises(ParameterError, match=r"models \['nope'\] are not model ids"):
        t.subset(models=["nope"])
    with pytest.raises(ParameterError, match=r"benchmarks \['V9'\] are not benchmark nodes"):
        t.subset(benchmarks=["V9"])
    with pytest.raises(ParameterError, match="distinct"):
        t.subset(models=["m1", "m1"])


def test_aligned_frames_validated():
    t = _carrying_table()
    import dataclasses
    with pytest.raises(DataError, match="errors must have the same index and columns"):
        dataclasses.replace(t, errors=t.errors.iloc[:2])
    with pytest.raises(DataError, match="error_kind of \\['a'\\] must be among"):
        dataclasses.replace(t, benchmarks=t.benchmarks.assign(
            error_kind=["none", "sd", "unknown"]))
    with pytest.raises(DataError, match="one row per score column"):
        dataclasses.replace(t, benchmarks=t.benchmarks.iloc[:2])


def test_default_benchmarks_log_and_summary():
    t = ScoreTable.from_wide(pd.DataFrame({"V1": [0.2, 0.4]}, index=["a", "b"]))
    assert t.benchmarks.columns[:2].tolist() == ["version", "error_kind"]
    assert t.benchmarks["error_kind"].tolist() == ["none"]
    assert t.errors is None and t.timestamps is None and not t.has_timestamps
    assert list(t.log.columns[:3]) == ["item", "kind", "reason"] and len(t.log) == 0
    text = _carrying_table().summary()
    assert "per score:  errors, raw, timestamps, versions" in text
    assert "errors:     5 cells; benchmarks by error kind: standard_error 1, " \
           "spread_over_subjects 1, none 1" in text
    assert "timestamps: 2020-01-01 to 2022-01-01" in text
    assert "left out:   1 benchmarks" in text and "note: a note" in text


def test_table_pickles():
    import pickle

    t = _carrying_table()
    u = pickle.loads(pickle.dumps(t))
    assert u.tree == t.tree and u.domains.equals(t.domains)
    for name in ("scores", "status", "models", "errors", "raw", "timestamps", "versions",
                 "benchmarks", "log"):
        pd.testing.assert_frame_equal(getattr(u, name), getattr(t, name))
    assert u.notes == t.notes and u.source == t.source
