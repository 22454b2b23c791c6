"""Wall time of the whole ``alignfactors report`` as a user runs it, with n_jobs=2 and n_jobs=1.

Runs the command line (a fresh interpreter each time: imports, worker start-up and figures
included) on the 2025-05-07 export at ``--n-boot 2000`` (family clusters, the default unit) and
on the built-in simulated leaderboard (no input), ``--repeat`` times with the default
``n_jobs`` (all cores) and once with ``--n-jobs 1``; records wall and CPU time (the process and
its workers, from ``os.wait4``) and checks that every run's ``results.json`` is byte-identical.
The baseline is the same command on one core (``--n-jobs 1``): the ratio is its wall time over
the parallel run's.

    python benchmarks/bench_report.py                 # both inputs, writes reports/benchmark_report.md
    python benchmarks/bench_report.py --repeat 5
    python benchmarks/bench_report.py --only simulated

Goals (issue 15): the real report <= 60 s and the simulated default <= 20 s on 2 cores.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "brainscore_vision_leaderboard_2025-05-07.csv"
GOALS = {"real": 60.0, "simulated": 20.0}


def run_once(kind: str, out: Path, n_jobs: int | None) -> dict:
    """One ``python -m alignfactors report`` run; wall, user + sys CPU of it and its children."""
    cmd = [sys.executable, "-m", "alignfactors", "report", "--out", str(out)]
    if kind == "real":
        cmd[4:4] = [str(DATA)]
        cmd += ["--n-boot", "2000", "--seed", "0"]
    if n_jobs is not None:
        cmd += ["--n-jobs", str(n_jobs)]
    log = out.with_suffix(".stderr")
    t0 = time.perf_counter()
    with open(log, "wb") as err_file:  # the progress lines, as a user's redirected stderr gets them
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err_file)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = log.read_text(errors="replace")
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err[-3000:]}")
    # wait4 counts this process's own children; the loky workers are its grandchildren, reaped by it
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "cmd": " ".join(cmd[1:])}


def measure(kind: str, repeat: int, tmp: Path) -> dict:
    runs, outs = [], []
    for i in range(repeat):
        out = tmp / f"{kind}_{i}"
        runs.append(run_once(kind, out, None))
        outs.append(out)
        print(f"{kind:9s} n_jobs=default run {i + 1}: {runs[-1]['wall']:6.1f} s wall", flush=True)
    one = run_once(kind, tmp / f"{kind}_1job", 1)
    print(f"{kind:9s} n_jobs=1: {one['wall']:6.1f} s wall", flush=True)
    same = all(filecmp.cmp(outs[0] / "results.json", o / "results.json", shallow=False)
               for o in [*outs[1:], tmp / f"{kind}_1job"])
    return {"runs": runs, "one": one, "identical": same}


def render(results: dict, repeat: int, load: tuple) -> str:
    lines = [
        "# Benchmark: the whole report, as a user runs it", "",
        f"Reproduce: `python benchmarks/bench_report.py --repeat {repeat}`", "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; load average "
        f"before {load[0]:.1f}, after {os.getloadavg()[0]:.1f}. Each run is a fresh `python -m alignfactors report "
        "...` with stderr to a file (progress as plain lines; imports, worker start-up, figures and the atomic "
        "write included). CPU is user + system "
        "time of the command and its joblib workers. Times on this shared machine vary by 10-20% from run to run "
        "(the same work takes more CPU seconds at busy times), hence several runs.", "",
        "| input | command | runs with the default n_jobs (all cores), wall s | median | CPU s (median) | "
        "n_jobs=1 wall s | n_jobs=1 / default | results.json identical | goal |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for kind, r in results.items():
        walls = [x["wall"] for x in r["runs"]]
        med = statistics.median(walls)
        cpu = statistics.median(x["cpu"] for x in r["runs"])
        goal = GOALS[kind]
        lines.append(
            f"| {'2025-05-07 export, n_boot 2000, families' if kind == 'real' else 'simulated default (no input)'} | "
            f"`{r['runs'][0]['cmd']}` | {', '.join(f'{w:.1f}' for w in walls)} | {med:.1f} | {cpu:.0f} | "
            f"{r['one']['wall']:.1f} | {r['one']['wall'] / med:.2f} | {'yes' if r['identical'] else 'NO'} | "
            f"<= {goal:.0f} s: **{'met' if med <= goal else 'NOT met'}** (fastest {min(walls):.1f} s) |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3, help="runs with the default n_jobs per input (default 3)")
    ap.add_argument("--only", choices=["real", "simulated"], action="append")
    ap.add_argument("--out", default=str(ROOT / "reports" / "benchmark_report.md"))
    args = ap.parse_args(argv)
    kinds = args.only or ["real", "simulated"]
    if "real" in kinds and not DATA.is_file():
        print(f"NOTE: {DATA} not found; timing the simulated default only.", file=sys.stderr)
        kinds = [k for k in kinds if k != "real"]
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        results = {k: measure(k, args.repeat, Path(tmp)) for k in kinds}
    text = render(results, args.repeat, load)
    Path(args.out).write_text(text)
    print(text)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
