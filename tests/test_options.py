"""One set of options on every analysis: names, defaults, validation, clusters and provenance."""

import inspect

import numpy as np
import pandas as pd
import pytest

import alignfactors as af
from alignfactors.cli import main
from alignfactors.errors import DataError, ParameterError, ParameterTypeError

COMMON = {"n_boot": 2000, "ci": 0.95, "ci_method": "bca", "seed": None, "n_jobs": 1, "batch_size": None,
          "progress": None, "clusters": None}
ANALYSES = [af.agreement, af.dimensionality, af.decompose, af.compare_aggregations]


@pytest.mark.parametrize("func", ANALYSES + [af.trend, af.design_effect], ids=lambda f: f.__name__)
def test_same_names_defaults_keyword_only_and_explicit_missing(func):
    sig = inspect.signature(func)
    params = list(sig.parameters.values())
    assert params[0].kind == inspect.Parameter.POSITIONAL_OR_KEYWORD  # data first
    for name, default in COMMON.items():
        if func is af.design_effect and name == "clusters":
            assert sig.parameters[name].default == "families"  # its whole point: clusters are required
            continue
        p = sig.parameters[name]
        assert p.kind == inspect.Parameter.KEYWORD_ONLY, name
        assert p.default == default, (func.__name__, name)
    assert isinstance(sig.parameters["missing"].default, str)


@pytest.fixture(scope="module")
def data():
    t = af.datasets.simulate_leaderboard(80, seed=2)
    c = af.clean(t)
    return t, c


def _run(func, data, **kw):
    t, c = data
    if func is af.agreement:
        return func(c.matrix, groups=c.domains, **kw)
    if func is af.dimensionality:
        return func(c.matrix, rules=["kaiser"], **kw)
    if func is af.decompose:
        return func(t, levels=False, **kw)
    return func(t, methods=["mean", "rank"], models=list(c.matrix.index), metrics=list(c.matrix.columns),
                iia=False, metric_sensitivity=False, monotone=False, **kw)


def _some_estimate(func, res):
    return {af.agreement: lambda r: r.mean, af.dimensionality: lambda r: r.participation_ratio,
            af.decompose: lambda r: next(iter(r.r2.values())),  # r2_joint of an identity is stated, not resampled
            af.compare_aggregations: lambda r: next(iter(r.estimates.values()))}[func](res)


@pytest.mark.parametrize("func", ANALYSES, ids=lambda f: f.__name__)
@pytest.mark.parametrize("bad,err,match", [
    ({"n_boot": -1}, ParameterError, "n_boot must be a non-negative integer"),
    ({"ci": 1.5}, ParameterError, r"ci \(confidence level\) must be in \(0, 1\)"),
    ({"ci_method": "studentized"}, ParameterError, "ci_method must be one of"),
    ({"seed": "zero"}, ParameterTypeError, "seed must be None, an int"),
    ({"n_jobs": 0}, ParameterError, "n_jobs must be a non-zero integer"),
    ({"batch_size": 0}, ParameterError, "batch_size must be a positive integer"),
    ({"progress": "yes"}, ParameterTypeError, "progress must be True, False or None"),
    ({"missing": "impute"}, ParameterError, "missing must be one of"),
    ({"clusters": "genus"}, ParameterError, "clusters must be None, 'auto', 'families'"),
])
def test_same_validation_everywhere(func, data, bad, err, match):
    with pytest.raises(err, match=match):
        _run(func, data, **{"n_boot": 5, "seed": 0, **bad})


@pytest.mark.parametrize("func", ANALYSES, ids=lambda f: f.__name__)
def test_clusters_set_unit_and_provenance(func, data):
    t, c = data
    res_m = _run(func, data, n_boot=30, seed=0)
    res_f = _run(func, data, n_boot=30, seed=0, clusters="architecture")
    e_m, e_f = _some_estimate(func, res_m), _some_estimate(func, res_f)
    assert e_m.unit == "model" and e_f.unit == "architecture"
    n_arch = af.model_families(t, level="architecture").nunique()
    assert 2 <= e_f.n_units <= n_arch < e_m.n_units
    assert e_m.value == pytest.approx(e_f.value)  # the point estimate does not depend on the unit
    for res, unit in ((res_m, "model"), (res_f, "architecture")):
        opts = res.options
        assert opts["unit"] == unit and opts["seed"] == 0 and opts["n_boot"] == 30
        assert {"ci", "ci_method", "missing", "n_units", "n", "versions", "clusters"} <= set(opts)
        assert opts["versions"]["numpy"] == np.__version__
        assert res.to_dict()["options"]["unit"] == unit


def test_a_clusters_series_must_cover_the_models(data):
    t, c = data
    fam = af.model_families(t).loc[c.matrix.index]
    with pytest.raises(DataError, match="misses 1 of the"):
        af.agreement(c.matrix, clusters=fam.iloc[1:], n_boot=5)
    with pytest.raises(DataError, match="names 1 models that are not in the data"):
        af.agreement(c.matrix, clusters=pd.concat([fam, pd.Series({"no-such-model": "x"})]), n_boot=5)
    # the whole table's families fit a cleaned matrix: models dropped by cleaning are known
    res = af.agreement(c.matrix.iloc[1:], clusters=af.model_families(t), n_boot=5, seed=0)
    assert res.mean.unit == "cluster"
    # decompose uses more models than the cleaned ones: a Series of the cleaned models misses some
    with pytest.raises(DataError, match="misses"):
        af.decompose(t, levels=False, clusters=fam, n_boot=5)
    # the full table's families work, names of models it does not use are fine
    res = af.decompose(t, levels=False, clusters=af.model_families(t), n_boot=5, seed=0)
    assert next(iter(res.r2.values())).unit == "cluster"  # r2_joint of an identity is stated, not resampled


def test_agreement_complete_drops_rows_and_keeps_their_families(data):
    t, c = data
    m = c.matrix.copy()
    m.iloc[0, 0] = np.nan
    res = af.agreement(m, missing="complete", clusters="families", n_boot=10, seed=0)
    assert res.n_models == len(m) - 1 and res.mean.unit == "family"


def test_dimensionality_missing_is_explicit(data):
    t, c = data
    m = c.matrix.copy()
    m.iloc[0, 0] = np.nan
    with pytest.raises(DataError, match="missing values"):
        af.dimensionality(m, n_boot=0)


def test_cli_clusters(tmp_path, capsys):
    path = tmp_path / "board.csv"
    af.datasets.simulate_leaderboard(60, seed=1, as_frame=True).to_csv(path, index=False)
    t = af.load_brainscore(path)
    ids = list(af.clean(t).matrix.index)
    assert main(["agreement", str(path), "--n-boot", "10", "--clusters", "none"]) == 0
    assert f"intervals resample {len(ids)} models (--clusters none)" in capsys.readouterr().err
    csv = tmp_path / "fam.csv"
    pd.DataFrame({"model_id": ids, "family": [f"f{i % 7}" for i in range(len(ids))]}).to_csv(csv, index=False)
    assert main(["agreement", str(path), "--n-boot", "10", "--clusters", str(csv)]) == 0
    assert "intervals resample 7 clusters of models" in capsys.readouterr().err
    assert main(["dimensions", str(path), "--n-boot", "10", "--clusters", "architecture"]) == 0
    assert "architecture clusters of models (--clusters architecture)" in capsys.readouterr().err
    assert main(["agreement", str(path), "--n-boot", "10", "--clusters", "genus"]) == 2
    assert "not auto, families, architecture, none or an existing CSV" in capsys.readouterr().err
