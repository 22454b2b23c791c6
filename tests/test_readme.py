"""README.md runs as written: the Python tour, and every ``alignfactors`` command of its bash blocks.

The commands are taken from README.md by these tests, not copied into them, so a README command
that stops working fails here. Files named in the README are replaced by small stand-ins:
``leaderboard.csv`` -> a simulated Brain-Score export (80 models), ``generic.csv`` /
``domains.csv`` -> its leaves as a generic wide table and its metric,domain file,
``snapshot.json.gz`` -> the simulated snapshot of ``test_layouts.py`` (40 models with timestamps); ``--n-boot N``
becomes ``--n-boot 10`` (and is added where the default 2000 would apply); output directories go
to ``tmp_path``; ``alignfactors report`` without INPUT runs on a 60-model simulated leaderboard.
"""

import re
import shlex
from pathlib import Path

import pytest

from alignfactors.cli import COMMANDS, _parse, build_parser, main
from alignfactors.io.datasets import simulate_leaderboard

ROOT = Path(__file__).parents[1]
README = ROOT / "README.md"
N_BOOT = "10"


def test_readme_python_tour_runs(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert blocks, "README.md has no python example"
    for code in blocks:
        exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "Balance of neural vs behavioral" in out


def test_readme_shows_the_ci_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    command = 'python -m pip install -e ".[test]" && python -m pytest -q'
    assert command in README.read_text(encoding="utf-8") and command in ci


def readme_commands() -> list[str]:
    """Every ``alignfactors ...`` command in the README's bash blocks (after ``&&``, without comments)."""
    out = []
    for block in re.findall(r"```bash\n(.*?)```", README.read_text(encoding="utf-8"), re.S):
        for line in block.splitlines():
            for part in line.split("#", 1)[0].split("&&"):
                part = part.strip()
                if part.startswith("alignfactors "):
                    out.append(part)
    return out


COMMANDS_IN_README = readme_commands()
REPORTS = [c for c in COMMANDS_IN_README if shlex.split(c)[1] == "report"]
OTHERS = [c for c in COMMANDS_IN_README if c not in REPORTS]


def _argv(command: str, files: dict, tmp_path: Path) -> list[str]:
    argv = shlex.split(command)[1:]
    out, i = [], 0
    while i < len(argv):
        a = argv[i]
        if a == "--n-boot":
            out += [a, N_BOOT]
            i += 2
            continue
        if a == "--out":
            out += [a, str(tmp_path / argv[i + 1])]
            i += 2
            continue
        out.append(files.get(a, a))
        i += 1
    takes_n_boot = any(o == "--n-boot" for o in build_parser()._subparsers._group_actions[0]
                       .choices[argv[0]]._option_string_actions)
    if takes_n_boot and "--n-boot" not in out:
        out += ["--n-boot", N_BOOT]
    return out + ["--quiet"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("readme")
    simulate_leaderboard(80, seed=2, as_frame=True).to_csv(d / "leaderboard.csv", index=False)
    t = simulate_leaderboard(80, seed=2)
    leaves = t.tree.leaves()
    t.scores[leaves].rename_axis("model").to_csv(d / "generic.csv")
    t.domains.reindex(leaves).rename("domain").rename_axis("metric").to_csv(d / "domains.csv")
    from test_layouts import make_snapshot, write_snapshot  # a small snapshot JSON (timestamps)

    snap = write_snapshot(d / "snapshot.json.gz", make_snapshot(40))
    return {"leaderboard.csv": str(d / "leaderboard.csv"), "generic.csv": str(d / "generic.csv"),
            "domains.csv": str(d / "domains.csv"), "snapshot.json.gz": str(snap)}


def test_readme_shows_every_subcommand():
    shown = {shlex.split(c)[1] for c in COMMANDS_IN_README}
    assert set(COMMANDS) <= shown, f"add an example of {sorted(set(COMMANDS) - shown)} to README.md's CLI block"
    assert any(shlex.split(c)[2] == "--out" for c in REPORTS)  # the simulated report, with its required --out


@pytest.mark.parametrize("command", COMMANDS_IN_README)
def test_readme_command_parses(command, files, tmp_path):
    """Every README command is valid as written (known subcommand and options, required ones given)."""
    args = _parse(build_parser(), shlex.split(command)[1:])
    assert args.command in COMMANDS


@pytest.mark.parametrize("command", OTHERS)
def test_readme_command_runs(command, files, tmp_path, capsys):
    assert main(_argv(command, files, tmp_path)) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert out.startswith("Data: ") and "\nMissing values: " in out


@pytest.mark.slow
@pytest.mark.parametrize("command", REPORTS)
def test_readme_report_command_runs(command, files, tmp_path, monkeypatch, capsys):
    small = simulate_leaderboard(60, seed=1)
    monkeypatch.setattr("alignfactors.io.datasets.simulate_leaderboard", lambda *a, **k: small)
    argv = _argv(command, files, tmp_path)
    assert main(argv) == 0, capsys.readouterr().err
    out = Path(argv[argv.index("--out") + 1])
    assert (out / "report.md").is_file() and (out / "results.json").is_file()
