"""The report in parallel: n_jobs and joblib's dask backend change no byte of the results."""

from __future__ import annotations

import pytest

from alignfactors.io.datasets import simulate_leaderboard
from alignfactors.reporting.run import report


def _run(tmp_path, name, **kw):
    table = simulate_leaderboard(50, seed=4)
    out = report(table, out=tmp_path / name, n_boot=20, seed=1, progress=False, simulated=True, **kw)
    return (out / "results.json").read_bytes(), (out / "report.md").read_bytes()


def test_results_identical_for_any_n_jobs(tmp_path):
    one = _run(tmp_path, "one", n_jobs=1)
    assert _run(tmp_path, "two", n_jobs=2) == one
    assert b'"n_jobs"' not in one[0]  # how the work was spread is not a result


def test_results_identical_on_a_dask_local_cluster(tmp_path):
    pytest.importorskip("distributed", reason="dask.distributed is not installed (pip install 'alignfactors[dask]')")
    import joblib
    from dask.distributed import Client, LocalCluster

    one = _run(tmp_path, "one", n_jobs=1)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster), joblib.parallel_config(backend="dask"):
        on_dask = _run(tmp_path, "dask", n_jobs=2)
    assert on_dask == one


def test_figure_shares_are_balanced_by_cost_and_keep_every_figure():
    """The processes drawing figures get about equal measured cost, each figure exactly once."""
    from alignfactors.reporting._render import FIGURE_COSTS, _balanced_shares

    names = list(FIGURE_COSTS)
    jobs = [(n, f"{n}.png") for n in names]
    shares = _balanced_shares(names, jobs, 2)
    assert sorted(j for s in shares for j in s) == sorted(jobs)
    loads = [sum(FIGURE_COSTS[n] for n, _ in s) for s in shares]
    assert max(loads) - min(loads) <= max(FIGURE_COSTS.values())
    assert _balanced_shares(names[:1], jobs[:1], 2) == [[jobs[0]]]  # no empty share


def test_prewarmed_workers_are_taken_once(monkeypatch):
    """The CLI's early warm-up is used by the report instead of a second one, and consumed."""
    from alignfactors import _workers as W
    from alignfactors.reporting import run as R

    started = []
    monkeypatch.setattr(W, "_PREWARMED", {})
    W._PREWARMED[2] = iter(["warm"])
    monkeypatch.setattr(W, "import_package", lambda: started.append(1))
    assert R.warm_workers is W.warm_workers and R.prewarm is W.prewarm
    assert list(W.warm_workers(2)) == ["warm"]
    assert W._PREWARMED == {}
    W.prewarm(1)  # no workers: nothing kept
    assert W._PREWARMED == {}
    assert started == []  # no second warm-up was started


def test_package_imports_lazily_and_keeps_its_public_names():
    """``import alignfactors`` imports no numpy, scipy or pandas (the CLI starts its workers
    first); every public name still resolves, and a function named like its submodule
    (agreement, reliability, trend) stays the function after the submodule is imported."""
    import subprocess
    import sys

    code = ("import sys, alignfactors as af, alignfactors.cli; "
            "heavy = [m for m in ('numpy', 'scipy', 'pandas', 'sklearn', 'matplotlib') if m in sys.modules]; "
            "print('heavy', heavy); "
            "import alignfactors.agreement, alignfactors.reliability, alignfactors.trend; "
            "print(all(callable(getattr(af, n)) for n in ('agreement', 'reliability', 'trend'))); "
            "print(all(hasattr(af, n) for n in af.__all__)); "
            "print(type(af.datasets).__name__, set(af.__all__) <= set(dir(af)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[:4] == ["heavy []", "True", "True", "module True"]
    import alignfactors as af
    from alignfactors.agreement import agreement

    assert af.agreement is agreement
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        af.nope  # noqa: B018


def test_tune_allocator_sets_the_workers_environment_and_keeps_the_users(monkeypatch):
    import os
    import platform
    import sys

    from alignfactors import _workers as W

    for name in W.MALLOC_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MALLOC_TOP_PAD_", "1048576")
    tuned = W.tune_allocator()
    assert os.environ["MALLOC_TOP_PAD_"] == "1048576"  # the user's own setting
    assert os.environ["MALLOC_TRIM_THRESHOLD_"] == str(W.MALLOC_SETTINGS["MALLOC_TRIM_THRESHOLD_"])
    if sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc":
        assert tuned
