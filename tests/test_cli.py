"""CLI tests through main(argv): report on simulated data, subcommands, errors, atomic output."""

import importlib
import json

from pathlib import Path

import pytest

from alignfactors.cli import main
from alignfactors.datasets import simulate_leaderboard
from alignfactors.report import RESULT_KEYS

N_BOOT = "10"
# the module, not the function af.report that shadows it as an attribute of the package
REPORT_MODULE = importlib.import_module("alignfactors.report")


@pytest.fixture
def small_simulated(monkeypatch):
    """The CLI's no-INPUT path on a smaller simulated leaderboard, so tests stay fast."""
    small = simulate_leaderboard(80, seed=1)
    monkeypatch.setattr("alignfactors.datasets.simulate_leaderboard", lambda *a, **k: small)
    return small


@pytest.fixture
def fast_config(tmp_path):
    path = tmp_path / "opts.toml"
    path.write_text('n_factors = 2\naggregation_methods = ["brainscore", "zscore", "rank"]\ntop_models = 10\n')
    return str(path)


@pytest.fixture(scope="module")
def report_dirs(tmp_path_factory):
    """Two report runs with the same seed (module-scoped: the slow part, done once)."""
    small = simulate_leaderboard(80, seed=1)
    base = tmp_path_factory.mktemp("reports")
    cfg = base / "opts.json"
    cfg.write_text(json.dumps({"n_factors": 2, "aggregation_methods": ["brainscore", "zscore", "rank"],
                               "top_models": 10}))
    mp = pytest.MonkeyPatch()
    mp.setattr("alignfactors.datasets.simulate_leaderboard", lambda *a, **k: small)
    codes = [main(["report", "--out", str(base / f"run{i}"), "--n-boot", N_BOOT, "--seed", "3",
                   "--config", str(cfg), "--quiet"]) for i in (1, 2)]
    mp.undo()
    return base, codes


def test_report_on_simulated_data_writes_everything(report_dirs):
    base, codes = report_dirs
    assert codes == [0, 0]
    out = base / "run1"
    assert (out / "report.md").is_file() and (out / "results.json").is_file()
    pngs = sorted(p.name for p in (out / "figures").glob("*.png"))
    assert pngs == ["correlation_heatmap.png", "loadings.png", "parts_scatter.png", "rank_changes.png",
                    "rank_intervals.png", "scree.png"]
    text = (out / "report.md").read_text()
    assert "the data are simulated" in text.splitlines()[2]
    for png in pngs:
        assert f"(figures/{png})" in text
    assert "<details>" in text and "## Methods" in text
    assert not list(base.glob(".run1.*")), "temporary directory left behind"


def test_results_json_keys_in_order_and_estimates(report_dirs):
    base, _ = report_dirs
    d = json.loads((base / "run1" / "results.json").read_text())
    assert list(d)[: len(RESULT_KEYS)] == list(RESULT_KEYS)
    mean = d["agreement"]["mean"]
    assert list(mean)[:7] == ["value", "ci_low", "ci_high", "se", "level", "method", "n_boot"]
    assert d["options"]["simulated"] is True and d["options"]["seed"] == 3
    assert d["input"]["sha256"] and "/" not in d["input"]["name"]


def test_same_seed_gives_byte_identical_results_json(report_dirs):
    base, _ = report_dirs
    a = (base / "run1" / "results.json").read_bytes()
    b = (base / "run2" / "results.json").read_bytes()
    assert a == b
    assert b"NaN" not in a and b"Infinity" not in a


def test_simulated_note_on_stderr(small_simulated, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(REPORT_MODULE, "report", lambda table, *, out, **k: Path(out))
    assert main(["report", "--out", str(tmp_path / "r"), "--n-boot", "5"]) == 0
    assert "simulated" in capsys.readouterr().err


@pytest.mark.parametrize("command, expect", [
    (["agreement"], "Spearman agreement"),
    (["dimensions"], "Dimensionality of"),
    (["decompose"], "Decomposition of 'average_vision'"),
    (["aggregate", "--method", "zscore"], "zscore aggregate of"),
])
def test_subcommands_print_a_table(command, expect, tmp_path, capsys):
    path = tmp_path / "lb.csv"
    simulate_leaderboard(80, seed=2, as_frame=True).to_csv(path, index=False)
    code = main([command[0], str(path), "--n-boot", N_BOOT, "--quiet", *command[1:]])
    out = capsys.readouterr().out
    assert code == 0
    assert expect in out and "----" in out


def test_nonexistent_input_exits_2_with_one_line(tmp_path, capsys):
    missing = tmp_path / "nope.csv"
    code = main(["report", str(missing), "--out", str(tmp_path / "r"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("alignfactors: error:") and "nope.csv" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


def test_bad_config_is_a_user_error(tmp_path, capsys):
    cfg = tmp_path / "c.json"
    cfg.write_text('{"no_such_option": 1}')
    code = main(["report", "--out", str(tmp_path / "r"), "--config", str(cfg), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "no_such_option" in err and "Traceback" not in err


def _boom(*args, **kwargs):
    raise RuntimeError("analysis exploded")


def test_failing_run_leaves_existing_report_untouched(small_simulated, tmp_path, monkeypatch, capsys):
    out = tmp_path / "rep"
    out.mkdir()
    (out / "report.md").write_text("old report")
    monkeypatch.setattr(importlib.import_module("alignfactors.dimensions"), "dimensionality", _boom)
    code = main(["report", "--out", str(out), "--n-boot", "5", "--quiet"])
    err = capsys.readouterr().err
    assert code == 1
    assert "unexpected error" in err and "--debug" in err and "Traceback" not in err
    assert [p.name for p in out.iterdir()] == ["report.md"]
    assert (out / "report.md").read_text() == "old report"
    assert [p.name for p in tmp_path.iterdir()] == ["rep"], "temporary directory left behind"


def test_failure_while_writing_cleans_up(small_simulated, tmp_path, monkeypatch, fast_config, capsys):
    out = tmp_path / "rep"
    out.mkdir()
    (out / "report.md").write_text("old report")
    # skip the analyses (covered above); fail half-way through writing the new directory
    monkeypatch.setattr(REPORT_MODULE, "run_analyses", lambda *a, **k: object())
    monkeypatch.setattr(REPORT_MODULE, "results_to_dict", lambda res: {"partial": True})
    monkeypatch.setattr(REPORT_MODULE, "write_figures", _boom)
    code = main(["report", "--out", str(out), "--n-boot", "5", "--config", fast_config, "--quiet"])
    assert code == 1
    assert (out / "report.md").read_text() == "old report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["opts.toml", "rep"]


def test_debug_shows_traceback(small_simulated, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(importlib.import_module("alignfactors.dimensions"), "dimensionality", _boom)
    code = main(["report", "--out", str(tmp_path / "r"), "--n-boot", "5", "--quiet", "--debug"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" in err and "analysis exploded" in err


def test_usage_error_returns_2(capsys):
    assert main(["report"]) == 2
    assert "--out" in capsys.readouterr().err


def test_report_resamples_families_by_default_and_compares_units(tmp_path, monkeypatch, fast_config):
    # a leaderboard whose model names repeat (near-copies): "auto" resamples variant families
    board = simulate_leaderboard(120, seed=0)
    monkeypatch.setattr("alignfactors.datasets.simulate_leaderboard", lambda *a, **k: board)
    out = tmp_path / "rep"
    assert main(["report", "--out", str(out), "--n-boot", "8", "--config", fast_config, "--quiet"]) == 0
    d = json.loads((out / "results.json").read_text())
    assert d["clusters"]["option"] == "auto" and d["clusters"]["used"] == "families"
    assert d["agreement"]["mean"]["unit"] == "family"
    n_fam = d["clusters"]["n_units"]
    assert d["agreement"]["mean"]["n_units"] == n_fam < d["cleaning"]["n_models"]
    units = d["resampling_units"]
    assert set(units["design_effect"]) == {"family", "architecture"}
    rows = {(r["quantity"], r["unit"]) for r in units["rows"]}
    for q in ("agreement mean", "lambda_1", "participation ratio"):
        assert {(q, "model"), (q, "family"), (q, "architecture")} <= rows
    text = (out / "report.md").read_text()
    assert "## Resampling unit: models or families" in text
    assert f"Every interval resamples **{n_fam} family clusters**" in text
    assert "median intra-family correlation" in text and "| quantity | value | model | family |" in text


def test_report_clusters_none_resamples_models(tmp_path, small_simulated, fast_config):
    out = tmp_path / "rep"
    assert main(["report", "--out", str(out), "--n-boot", "0", "--config", fast_config, "--clusters", "none",
                 "--quiet"]) == 0
    d = json.loads((out / "results.json").read_text())
    assert d["clusters"]["unit"] == "model" and d["agreement"]["mean"]["unit"] == "model"
