"""The Python tour in README.md runs as written (on the built-in simulated leaderboard)."""

import re
from pathlib import Path

README = Path(__file__).parents[1] / "README.md"


def test_readme_python_tour_runs(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert blocks, "README.md has no python example"
    for code in blocks:
        exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "Balance of neural vs behavioral" in out


def test_readme_shows_the_ci_test_command():
    ci = (Path(__file__).parents[1] / ".ci" / "run").read_text()
    command = 'python -m pip install -e ".[test]" && python -m pytest -q'
    assert command in README.read_text(encoding="utf-8") and command in ci
