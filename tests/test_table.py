import numpy as np
import pandas as pd
import pytest

from alignfactors.errors import DataError, ParameterError
from alignfactors.table import ScoreTable


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
