"""Progress on stderr: one weighted bar, inner bars counting resamples, plain lines off a terminal."""

import io
import re
import time

import numpy as np
import pytest

from alignfactors import _progress
from alignfactors.resampling import bootstrap


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def _mean(x):
    return lambda w: (w @ x / w.sum(axis=1))[:, None]


def test_steps_are_weighted_by_their_cost():
    out = io.StringIO()
    with _progress.StepProgress({"cheap": 1.0, "dear": 3.0}, file=out, title="t") as bar:
        bar.step("cheap")
        bar.step("dear")
    assert out.getvalue().splitlines() == ["t: [  0% at 0 s] cheap", "t: [ 25% at 0 s] dear", "t: [100% at 0 s] done"]


def test_inner_bar_counts_resamples_not_batches(monkeypatch):
    monkeypatch.setattr(_progress, "LINE_INTERVAL", 0.0)  # a line after every batch
    out = io.StringIO()
    x = np.random.default_rng(0).normal(size=20)
    with _progress.StepProgress({"boot": 1.0}, file=out, title="t") as bar:
        bar.step("boot")
        bootstrap(_mean(x), 20, n_boot=50, batch_size=7, seed=0, progress=True)
    counts = [int(m) for m in re.findall(r"boot: bootstrap: (\d+)/50 resamples", out.getvalue())]
    assert counts == [7, 14, 21, 28, 35, 42, 49]  # resamples done after each batch of 7
    percents = [int(p) for p in re.findall(r"\[\s*(\d+)% at ", out.getvalue())]
    assert percents == sorted(percents) and percents[-1] == 100  # the run-wide bar moves within the step


def test_a_silent_pause_gets_a_line(monkeypatch):
    monkeypatch.setattr(_progress, "LINE_INTERVAL", 0.2)
    out = io.StringIO()
    with _progress.StepProgress({"slow": 1.0}, file=out, title="t") as bar:
        bar.step("slow")
        time.sleep(1.0)  # e.g. a factor fit or figures being written: nothing to count
    assert re.search(r"^t: \[  0% at \d+ s\] still running: slow \(\d+ s\)$", out.getvalue(), re.M)


def test_no_heartbeat_before_the_first_step_within_the_interval(monkeypatch):
    """The bar opens quietly: a short pause before the first step prints no "still running" line
    (the first line the report prints is its first step)."""
    monkeypatch.setattr(_progress, "LINE_INTERVAL", 1.5)
    out = io.StringIO()
    with _progress.StepProgress({"first": 1.0}, file=out, title="t") as bar:
        time.sleep(0.6)  # several heartbeat ticks (every 0.25 s), less than LINE_INTERVAL
        bar.step("first")
    lines = out.getvalue().splitlines()
    assert lines and lines[0].endswith("] first") and "still running" not in out.getvalue()


# The whole report's progress through main() (plain lines, --quiet) is tested in test_cli.py on
# the report it runs anyway.


def test_terminal_mode_draws_one_bar_to_100_percent():
    out = _Terminal()
    x = np.random.default_rng(0).normal(size=20)
    with _progress.StepProgress({"a": 1.0, "b": 1.0}, file=out, title="t") as bar:
        bar.step("a")
        bootstrap(_mean(x), 20, n_boot=30, batch_size=10, seed=0, progress=True)
        bar.step("b")
    text = out.getvalue()
    assert "100%" in text and ", a" in text and ", b" in text  # the step names ride on the one bar
    assert _progress.current() is None


def test_disabled_progress_writes_nothing():
    out = io.StringIO()
    with _progress.StepProgress({"a": 1.0}, file=out, enabled=False) as bar:
        bar.step("a")
        with _progress.resample_bar(10, enabled=True, file=out) as inner:  # the run says quiet
            inner.update(10)
    assert out.getvalue() == ""


@pytest.mark.parametrize("nested", [False, True])
def test_nested_progress_reuses_the_outer_bar(nested):
    out = io.StringIO()
    outer = _progress.StepProgress({"x": 1.0}, file=out, title="outer").start() if nested else None
    inner = _progress.StepProgress({"y": 1.0}, file=out, title="inner").start()
    inner.step("y")
    inner.close()
    if outer is not None:
        assert _progress.current() is outer
        outer.close()
    assert _progress.current() is None
    titles = {line.split(":")[0] for line in out.getvalue().splitlines()}
    assert titles == ({"outer"} if nested else {"inner"})


def test_jackknife_of_bca_is_counted_too(monkeypatch):
    """BCa's leave-one-out refits (slow for factor loadings) are counted, and take the step's share
    of cost that is not per resample."""
    monkeypatch.setattr(_progress, "LINE_INTERVAL", 0.0)
    out = io.StringIO()
    x = np.random.default_rng(0).normal(size=20)
    with _progress.StepProgress({"boot": 1.0, "next": 1.0}, file=out, title="t", boot_share={"boot": 0.5}) as bar:
        bar.step("boot")
        bootstrap(_mean(x), 20, n_boot=40, batch_size=10, seed=0, progress=True)
        after_boot_and_jack = bar.fraction
        bar.step("next")
    text = out.getvalue()
    assert re.findall(r"boot: jackknife \(BCa\): (\d+)/20 left out", text) == ["10"]
    boots = [int(p) for p, n in re.findall(r"\[\s*(\d+)% at [^]]*\] boot: bootstrap: (\d+)/40", text)]
    # the step is half the run and its bootstrap half the step: 10, 20, 30 of 40 resamples -> 6, 12, 19%
    assert boots == [6, 12, 19]
    assert after_boot_and_jack == 1.0


def test_each_jackknife_follows_its_own_bootstrap(monkeypatch):
    """A step of several BCa bootstraps: a jackknife moves the bar within its bootstrap's share, so
    the bar does not jump to the step's end at the first jackknife and stall there."""
    monkeypatch.setattr(_progress, "LINE_INTERVAL", 0.0)
    x = np.random.default_rng(0).normal(size=20)
    with _progress.StepProgress({"boot": 1.0}, file=io.StringIO(), title="t", bars={"boot": 3},
                                boot_share={"boot": 0.5}) as bar:
        bar.step("boot")
        seen = []
        for _ in range(3):
            bootstrap(_mean(x), 20, n_boot=40, batch_size=10, seed=0, progress=True)
            seen.append(bar.fraction)
    np.testing.assert_allclose(seen, [1 / 3, 2 / 3, 1.0])
