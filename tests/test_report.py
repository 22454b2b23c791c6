"""report(): validation, results.json serialisation and the atomic directory writer.

The full end-to-end runs are in tests/test_cli.py (through main(argv)).
"""

import importlib
import json
import math

import numpy as np
import pytest

from alignfactors.io.datasets import simulate_leaderboard
from alignfactors.errors import ParameterError, ParameterTypeError
from alignfactors.estimate import Estimate

R = importlib.import_module("alignfactors.reporting.run")  # the module (af.report is the function)


def test_validation_errors_name_the_parameter(tmp_path):
    t = simulate_leaderboard(40, seed=0)
    with pytest.raises(ParameterError, match="seed must be a non-negative integer"):
        R.report(t, out=tmp_path / "r", seed=-1)
    with pytest.raises(ParameterError, match="n_boot"):
        R.report(t, out=tmp_path / "r", n_boot=-5)
    with pytest.raises(ParameterError, match=r"unknown report option\(s\) \['rotaton'\]"):
        R.report(t, out=tmp_path / "r", rotaton="oblimin")
    with pytest.raises(ParameterTypeError, match="table must be a ScoreTable or a path"):
        R.report([1, 2], out=tmp_path / "r")
    with pytest.raises(ParameterError, match="aggregation_methods"):
        R.report(t, out=tmp_path / "r", aggregation_methods="mean")
    assert not (tmp_path / "r").exists()


def test_plain_and_dumps():
    d = {"a": np.float64(0.1), "b": math.nan, "c": (np.int64(2), np.bool_(True)), "e": Estimate(0.2, (0.1, 0.3))}
    p = R._plain(d)
    assert p == {"a": 0.1, "b": None, "c": [2, True], "e": Estimate(0.2, (0.1, 0.3)).to_dict()}
    text = R.dumps_results(p)
    assert json.loads(text)["a"] == 0.1 and text.endswith("\n")
    assert repr(0.1) in text
    with pytest.raises(TypeError, match="cannot write"):
        R._plain({"x": object()})


def test_atomic_writer_replaces_only_when_complete(tmp_path):
    out = tmp_path / "rep"

    def good(tmp):
        (tmp / "report.md").write_text("new")

    R._write_atomically(out, good)
    assert (out / "report.md").read_text() == "new"

    def bad(tmp):
        (tmp / "report.md").write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        R._write_atomically(out, bad)
    assert (out / "report.md").read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["rep"]

    (out / "stale.txt").write_text("x")

    def newer(tmp):
        (tmp / "report.md").write_text("newer")

    R._write_atomically(out, newer)
    assert sorted(p.name for p in out.iterdir()) == ["report.md"]
    assert [p.name for p in tmp_path.iterdir()] == ["rep"]


def test_atomic_writer_refuses_a_file(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(FileExistsError, match="not a directory"):
        R._write_atomically(f, lambda tmp: None)
    assert f.read_text() == "x"


def test_input_record_has_no_absolute_path(tmp_path):
    path = tmp_path / "lb.csv"
    simulate_leaderboard(30, seed=0, as_frame=True).to_csv(path, index=False)
    from alignfactors.io.loading import load_table

    rec = R._input_record(load_table(path), path)
    assert rec["name"] == "lb.csv" and len(rec["sha256"]) == 64 and str(tmp_path) not in json.dumps(rec)
    rec2 = R._input_record(simulate_leaderboard(30, seed=0), None)
    assert rec2 == R._input_record(simulate_leaderboard(30, seed=0), None)
