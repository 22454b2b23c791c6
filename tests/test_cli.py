"""CLI tests through main(argv): report on simulated data, subcommands, errors, atomic output."""

import contextlib
import importlib
import io
import json
import re

from pathlib import Path

import pytest

from alignfactors.cli import main
from alignfactors.io.datasets import simulate_leaderboard
from alignfactors.reporting.run import RESULT_KEYS

N_BOOT = "10"
# the module, not the function af.report that shadows it as an attribute of the package
REPORT_MODULE = importlib.import_module("alignfactors.reporting.run")


@pytest.fixture
def small_simulated(monkeypatch):
    """The CLI's no-INPUT path on a smaller simulated leaderboard, so tests stay fast."""
    small = simulate_leaderboard(80, seed=1)
    monkeypatch.setattr("alignfactors.io.datasets.simulate_leaderboard", lambda *a, **k: small)
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
    mp.setattr("alignfactors.io.datasets.simulate_leaderboard", lambda *a, **k: small)
    codes, errs = [], []
    for i, quiet in ((1, []), (2, ["--quiet"])):  # run 1 shows progress, run 2 is quiet: same results
        err = io.StringIO()  # not a terminal, as in a log file or a pipe
        with contextlib.redirect_stderr(err):
            codes.append(main(["report", "--out", str(base / f"run{i}"), "--n-boot", N_BOOT, "--seed", "3",
                               "--config", str(cfg), *quiet]))
        errs.append(err.getvalue())
    mp.undo()
    return base, codes, errs


def test_report_on_simulated_data_writes_everything(report_dirs):
    base, codes, _ = report_dirs
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
    base, _, _ = report_dirs
    d = json.loads((base / "run1" / "results.json").read_text())
    assert list(d)[: len(RESULT_KEYS)] == list(RESULT_KEYS)
    mean = d["agreement"]["mean"]
    assert list(mean)[:7] == ["value", "ci_low", "ci_high", "se", "level", "method", "n_boot"]
    assert d["options"]["simulated"] is True and d["options"]["seed"] == 3
    assert d["input"]["sha256"] and "/" not in d["input"]["name"]


def test_same_seed_gives_byte_identical_results_json(report_dirs):
    base, _, _ = report_dirs
    a = (base / "run1" / "results.json").read_bytes()
    b = (base / "run2" / "results.json").read_bytes()
    assert a == b
    assert b"NaN" not in a and b"Infinity" not in a


def test_progress_is_plain_lines_when_stderr_is_not_a_terminal(report_dirs):
    """One run-wide bar (a line per step, weighted percentages), no escape code, no carriage return."""
    _, _, (err, _) = report_dirs
    assert "\x1b" not in err and "\r" not in err
    lines = err.splitlines()
    assert all(line.startswith("alignfactors") for line in lines)
    steps = [line.split("] ", 1)[1] for line in lines if line.startswith("alignfactors report: [")]
    assert steps[0] == "cleaning + agreement" and steps[-1] == "done"
    for name in ("dimensionality", "factor analysis", "figures"):  # a line before each long pause
        assert name in steps
    assert steps.count("done") == 1  # one bar over the run, not one per analysis
    percents = [int(p) for p in re.findall(r"report: \[\s*(\d+)% at ", err)]
    assert percents == sorted(percents) and percents[-1] == 100
    assert lines[-1].startswith("alignfactors: wrote ")
    used = next(line for line in lines if line.startswith("alignfactors: used "))
    assert re.match(r"alignfactors: used \d+ of 80 models and \d+ of \d+ benchmark columns; missing values: ", used)


def test_quiet_report_prints_nothing(report_dirs):
    _, _, (_, err) = report_dirs
    assert err == ""


def test_simulated_note_on_stderr(small_simulated, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(REPORT_MODULE, "report", lambda table, *, out, **k: Path(out))
    assert main(["report", "--out", str(tmp_path / "r"), "--n-boot", "5"]) == 0
    assert "simulated" in capsys.readouterr().err


@pytest.fixture(scope="module")
def leaderboard_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("lb") / "lb.csv"
    simulate_leaderboard(80, seed=2, as_frame=True).to_csv(path, index=False)
    return str(path)


@pytest.mark.parametrize("command, expect", [
    (["agreement", "--n-boot", N_BOOT], "Spearman agreement"),
    (["dimensions", "--n-boot", N_BOOT], "Dimensionality of"),
    (["decompose", "--n-boot", N_BOOT], "Decomposition of 'average_vision'"),
    (["aggregate", "--method", "zscore"], "zscore aggregate"),
])
def test_subcommands_state_data_and_missing_policy(command, expect, leaderboard_csv, capsys):
    code = main([command[0], leaderboard_csv, "--quiet", *command[1:]])
    out = capsys.readouterr().out
    assert code == 0
    assert expect in out and "----" in out
    head = out.split(expect)[0]
    assert head.startswith("Data: lb.csv: ") and "\nUsed: " in head and "\nMissing values: " in head
    assert "imputed" in head or "skipped" in head or "counted as 0" in head


def test_aggregate_says_how_many_metrics_each_model_was_scored_on(capsys):
    code = main(["aggregate", "tests/data/mini_brainscore.csv", "--method", "mean", "--quiet"])
    out = capsys.readouterr().out
    assert code == 0
    assert "Used: 5 models scored on 5 metrics" in out
    assert "Missing values: skipped, each model averages only the metrics it has: 6 missing cells in 2 models" in out
    assert "The top model, alexnet (102), is scored on 3 of 5 metrics." in out
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("rank  model_id"))
    assert lines[header].split() == ["rank", "model_id", "model_name", "score", "n_metrics"]
    assert lines[header + 2].split() == ["1", "102", "alexnet", "0.800", "3"]  # integers, not 1.000


def test_aggregate_rank_method_keeps_the_rank_column(capsys):
    """--method rank once overwrote the rank column with the (negative) mean rank."""
    assert main(["aggregate", "tests/data/mini_brainscore.csv", "--method", "rank", "--quiet"]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("rank  model_id"))
    assert [line.split()[0] for line in lines[header + 2:header + 6]] == ["1", "2", "3", "4"]


def test_aggregate_rejects_n_boot_with_the_reason(capsys):
    code = main(["aggregate", "tests/data/mini_brainscore.csv", "--n-boot", "100"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("alignfactors: error: aggregate: --n-boot does not apply") and "without intervals" in err
    assert len(err.strip().splitlines()) == 1


def test_dimensions_prints_k_as_integers(leaderboard_csv, capsys):
    assert main(["dimensions", leaderboard_csv, "--n-boot", N_BOOT, "--quiet"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("parallel_pc"))
    rule, k, low, high, p_k, mode = row.split()
    assert all(v.isdigit() for v in (k, low, high, mode)), row
    assert p_k.count(".") == 1


@pytest.mark.parametrize("argv, suggestion", [
    (["aggregate", "tests/data/mini_brainscore.csv", "--metod", "zscore"], "did you mean '--method'?"),
    (["aggregate", "tests/data/mini_brainscore.csv", "--method", "zscor"], "did you mean 'zscore'?"),
    (["agrement", "tests/data/mini_brainscore.csv"], "did you mean 'agreement'?"),
    (["report", "--out", "x", "--n-bot", "5"], "did you mean '--n-boot'?"),
])
def test_unknown_names_suggest_the_nearest(argv, suggestion, capsys):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("alignfactors: error: ") and suggestion in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_unknown_config_key_suggests_the_nearest(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text("n_factor = 2\n")
    code = main(["report", "--out", str(tmp_path / "r"), "--config", str(cfg)])
    err = capsys.readouterr().err
    assert code == 2 and "unknown option 'n_factor' (did you mean 'n_factors'?)" in err
    assert "Traceback" not in err and not (tmp_path / "r").exists()


@pytest.fixture
def one_empty_model(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text("model,a,b\nm1,0.1,0.2\nm2,,\nm3,0.3,0.1\nm4,0.2,0.4\n")
    return str(path)


def test_warnings_become_one_line_notes(one_empty_model, capsys):
    """A model without any score makes aggregate warn: one note line, no Python source line."""
    assert main(["aggregate", one_empty_model, "--method", "zscore"]) == 0
    out, err = capsys.readouterr()
    assert "1 model with no score at all get no rank" in out
    assert err.startswith("alignfactors: note: aggregate: 1 model(s) have no present value")
    assert err.endswith("[DegenerateDataWarning]\n") and len(err.splitlines()) == 1
    assert ".py" not in err and "warn(" not in err


def test_quiet_silences_notes(one_empty_model, capsys):
    assert main(["aggregate", one_empty_model, "--method", "zscore", "--quiet"]) == 0
    assert capsys.readouterr().err == ""


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


def test_subcommand_progress_is_plain_lines_off_a_terminal(leaderboard_csv, capsys):
    assert main(["agreement", leaderboard_csv, "--n-boot", N_BOOT]) == 0
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\r" not in err
    lines = err.splitlines()
    assert lines[0] == "alignfactors agreement: [  0% at 0 s] agreement"
    progress = [line for line in lines if line.startswith("alignfactors agreement: [")]
    assert re.match(r"alignfactors agreement: \[100% at \d+ s\] done$", progress[-1])
    assert lines[-1].startswith("alignfactors: intervals resample ")  # the note comes after the bar


def test_report_resamples_families_by_default_and_compares_units(tmp_path, monkeypatch, fast_config):
    # a leaderboard whose model names repeat (near-copies): "auto" resamples variant families
    board = simulate_leaderboard(120, seed=0)
    monkeypatch.setattr("alignfactors.io.datasets.simulate_leaderboard", lambda *a, **k: board)
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
