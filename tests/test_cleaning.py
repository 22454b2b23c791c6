import numpy as np
import pandas as pd
import pytest

import alignfactors as af
from alignfactors.errors import DataError, ParameterError, ParameterTypeError


@pytest.fixture
def mini(mini_path):
    return af.load_brainscore(mini_path)


def test_paper_defaults_on_mini_export(mini):
    # leaves of neural + behavioral: v1_a, v1_b, IT, b1, b2 (each <= 2/5 missing, kept);
    # models 102 (v1_a failed, b2 empty) and 104 (4 of 5 missing) are dropped.
    c = af.clean(mini)
    assert list(c.matrix.columns) == ["v1_a", "v1_b", "IT", "b1", "b2"]
    assert list(c.matrix.index) == ["101", "103", "105"]
    assert c.domains.to_dict() == {"v1_a": "neural", "v1_b": "neural", "IT": "neural", "b1": "behavioral",
                                   "b2": "behavioral"}
    models = c.dropped("model").set_index("item")
    assert models.loc["102", "n_missing"] == 2 and "1 failed / 1 missing" in models.loc["102", "reason"]
    assert models.loc["104", "n_missing"] == 4
    assert set(c.dropped("metric")["item"]) == {"average_vision", "neural_vision", "V1", "behavior_vision",
                                                "engineering_vision", "e1", "e2"}


def test_every_input_column_and_model_is_kept_or_logged(mini):
    c = af.clean(mini)
    assert set(c.matrix.columns) | set(c.dropped("metric")["item"]) == set(mini.scores.columns)
    assert set(c.matrix.index) | set(c.dropped("model")["item"]) == set(mini.scores.index)


def test_max_missing_drops_metrics_with_counts(mini):
    c = af.clean(mini, max_missing=0.3)  # v1_a and b2 have 2/5 = 40% missing
    dropped = c.log[c.log.reason_short == "too many missing values"].set_index("item")
    assert set(dropped.index) == {"v1_a", "b2"}
    assert dropped.loc["v1_a", "n_missing"] == 2 and dropped.loc["v1_a", "n_total"] == 5
    assert "v1_a" not in c.matrix and "102" in c.matrix.index  # 102 is now complete


def test_incomplete_keeps_models_with_some_values(mini):
    c = af.clean(mini, complete=False)
    assert c.matrix.shape == (5, 5) and c.matrix.isna().any().any()


def test_level_one_takes_regions_and_behavioral_benchmarks(mini):
    c = af.clean(mini, level=1)
    assert list(c.matrix.columns) == ["V1", "IT", "b1", "b2"]


def test_domain_selection(mini):
    c = af.clean(mini, domains=["neural"])
    assert list(c.matrix.columns) == ["v1_a", "v1_b", "IT"]


def test_constant_column_dropped_with_reason():
    df = pd.DataFrame({"a": [1.0, 2, 3, 4], "b": [5.0, 5, 5, 5], "c": [4.0, 1, 3, 2]},
                      index=["m1", "m2", "m3", "m4"])
    c = af.clean(af.ScoreTable.from_wide(df, aggregates="none"))
    assert list(c.matrix.columns) == ["a", "c"]
    assert c.log.set_index("item").loc["b", "reason_short"] == "constant"
    # with detection (the default) the constant column is model metadata, logged by the table
    t = af.ScoreTable.from_wide(df)
    assert "b" not in t.scores.columns and "b" in t.log.to_string()


def test_generic_table_without_domains_uses_all_metrics():
    df = pd.DataFrame({"a": [1.0, 2, 3], "b": [3.0, 1, 2]}, index=["x", "y", "z"])
    c = af.clean(af.ScoreTable.from_wide(df))
    assert c.matrix.shape == (3, 2) and c.log.empty


@pytest.mark.parametrize("kwargs,exc,match", [
    ({"max_missing": 1.5}, ParameterError, r"max_missing must be a fraction in \[0, 1\]"),
    ({"complete": "yes"}, ParameterTypeError, "complete must be True or False"),
    ({"level": 0}, ParameterError, "level must be 'leaves' or a positive integer"),
    ({"domains": ["visual"]}, ParameterError, r"no metric has domain \['visual'\]"),
])
def test_parameter_errors(mini, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        af.clean(mini, **kwargs)


def test_not_a_table():
    with pytest.raises(ParameterTypeError, match="table must be an alignfactors ScoreTable"):
        af.clean(pd.DataFrame({"a": [1.0]}))


def test_nothing_left_is_a_clear_error():
    df = pd.DataFrame({"a": [1.0, np.nan, 3], "b": [np.nan, 1, 2]}, index=["x", "y", "z"])
    with pytest.raises(DataError, match="nothing usable is left after cleaning"):
        af.clean(af.ScoreTable.from_wide(df), max_missing=1.0)


def test_real_export_cleaning(brainscore_path):
    table = af.load_brainscore(brainscore_path)
    c = af.clean(table)
    assert c.matrix.shape == (229, 50)
    assert not c.matrix.isna().any().any()
    assert set(c.domains) == {"neural", "behavioral"}
    assert set(c.matrix.index) | set(c.dropped("model")["item"]) == set(table.scores.index)


def test_cleaned_renders_like_every_result():
    import json

    import alignfactors as af

    c = af.clean(af.datasets.simulate_leaderboard(60, seed=0))
    f = c.to_frame()
    assert list(f.columns[:3]) == ["item", "kind", "reason"] and len(f) == len(c.log)
    assert "| kind | reason | count |" in c.to_markdown()
    d = c.to_dict()
    assert d["n_models"] == c.matrix.shape[0] and len(d["dropped"]) == len(c.log)
    json.dumps(d, allow_nan=False)
