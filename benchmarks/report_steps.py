"""Measure the cost of each step of ``report`` to weight its run-wide progress bar.

Runs :func:`alignfactors.reporting.run.report` at two ``n_boot`` values and fits, per step,
``cpu seconds = fixed + per_resample * n_boot`` (CPU time of this process: on a shared machine
it is steadier than wall time; BLAS runs one thread in the resampling, so the two agree on an idle
machine). Prints the fitted table as the ``STEP_COSTS`` literal of ``alignfactors/reporting/run.py`` and
the share of each step at ``n_boot=2000``; writes ``reports/benchmark_report_steps.md``.

    python benchmarks/report_steps.py                       # the 2025-05-07 export, n_boot 50 and 200
    python benchmarks/report_steps.py --simulated           # the built-in simulated leaderboard
    python benchmarks/report_steps.py --n-boot 100 400
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from alignfactors import _progress  # noqa: E402
from alignfactors.reporting.run import STEP_COSTS, report  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "brainscore_vision_leaderboard_2025-05-07.csv"


def run_once(table, n_boot: int, simulated: bool) -> dict[str, float]:
    captured = {}
    close = _progress.StepProgress.close

    def spy(self, ok=True):
        close(self, ok)
        if not self._nested:
            captured.update(self.cpu_durations)

    _progress.StepProgress.close = spy
    try:
        with tempfile.TemporaryDirectory() as tmp:
            stream = io.StringIO()  # a non-terminal: the plain-line mode, not timed separately
            old, sys.stderr = sys.stderr, stream
            try:
                report(table, out=Path(tmp) / "r", n_boot=n_boot, seed=0, simulated=simulated, progress=True)
            finally:
                sys.stderr = old
    finally:
        _progress.StepProgress.close = close
    captured.pop("done", None)
    return captured


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--simulated", action="store_true", help="use the built-in simulated leaderboard")
    ap.add_argument("--n-boot", type=int, nargs=2, default=[50, 200], metavar=("LOW", "HIGH"))
    ap.add_argument("--out", default=str(ROOT / "reports" / "benchmark_report_steps.md"))
    args = ap.parse_args()
    if args.simulated or not DATA.is_file():
        from alignfactors.io.datasets import simulate_leaderboard

        if not args.simulated:
            print(f"note: {DATA} is absent; using the simulated leaderboard", file=sys.stderr)
        table, name, simulated = simulate_leaderboard(), "simulated leaderboard (default)", True
    else:
        from alignfactors.io.loading import load_table

        table, name, simulated = load_table(DATA), DATA.name, False
    lo, hi = args.n_boot
    load0 = os.getloadavg()
    t0 = time.time()
    a = run_once(table, lo, simulated)
    b = run_once(table, hi, simulated)
    wall = time.time() - t0
    rows = []
    for step in dict.fromkeys([*a, *b]):
        ta, tb = a.get(step, 0.0), b.get(step, 0.0)
        slope = max((tb - ta) / (hi - lo), 0.0)
        fixed = max(ta - slope * lo, 0.0)
        rows.append((step, fixed, slope, ta, tb))
    total2000 = sum(f + s * 2000 for _, f, s, _, _ in rows)
    lines = [f"# Cost of each report step ({name})", "",
             f"`python benchmarks/report_steps.py{' --simulated' if simulated else ''} --n-boot {lo} {hi}`; "
             f"CPU seconds of the process; load average before {load0[0]:.2f}, after {os.getloadavg()[0]:.2f}; "
             f"{wall:.0f} s wall in all.", "",
             f"| step | cpu s at n_boot={lo} | cpu s at n_boot={hi} | fixed s | s per resample | share at 2000 |",
             "|---|---|---|---|---|---|"]
    for step, f, s, ta, tb in rows:
        lines.append(f"| {step} | {ta:.2f} | {tb:.2f} | {f:.2f} | {s:.4f} | {(f + s * 2000) / total2000:.1%} |")
    lines += ["", "As `STEP_COSTS` (alignfactors/reporting/run.py):", "", "```python", "STEP_COSTS = {"]
    lines += [f"    {step!r}: ({f:.1f}, {s:.4f})," for step, f, s, _, _ in rows]
    lines += ["}", "```", "", "Currently in reporting/run.py: " + ", ".join(f"{k}={v}" for k, v in STEP_COSTS.items()), ""]
    text = "\n".join(lines)
    print(text)
    Path(args.out).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
