"""Speed and memory of agreement() against what a user would otherwise write.

Contenders, each timed in its own subprocess (so peak RSS is its own):

a. ``agreement(matrix, n_boot=2000, seed=0)``: the package's path, intervals included
   (BCa, so also the jackknife and an interval for every pair); a1. the same with
   ``n_jobs=2``, its batches in two threads of the process (no worker start-up).
b. The pandas loop: 2000 x ``matrix.iloc[rows].corr("spearman")`` and the mean of the upper
   triangle (no intervals at all). A subset of resamples is timed and scaled linearly.
c. pingouin's per-pair bootstrap: ``pingouin.compute_bootci(x, y, func="spearman",
   n_boot=2000)`` for every metric pair. A handful of pairs is timed and scaled linearly
   to all pairs.

Memory check: ``agreement`` on a 1,500 x 150 matrix with 10,000 resamples, peak RSS of a
subprocess (skip with ``--quick``).

Run from the project root::

    python benchmarks/bench_agreement.py            # full, writes reports/benchmark_agreement.md
    python benchmarks/bench_agreement.py --quick    # without the 1,500 x 150 memory check
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "brainscore_vision_leaderboard_2025-05-07.csv"
MEMORY_LIMIT_MB = 1024


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def load_matrix(data: Path) -> tuple[pd.DataFrame, pd.Series | None, str]:
    """The cleaned 2025 matrix and its domains, or a simulated 80 x 69 one when the export is absent."""
    if data.is_file():
        from alignfactors.cleaning import clean
        from alignfactors.io.loading import load_brainscore

        c = clean(load_brainscore(str(data)))
        return c.matrix, c.domains, f"clean(load_brainscore('{data.name}')).matrix"
    print(f"NOTE: {data} not found; using a simulated 80 x 69 matrix instead.", file=sys.stderr)
    rng = np.random.default_rng(0)
    f = rng.standard_normal((80, 3))
    lam = rng.uniform(0.2, 0.7, (69, 3))
    x = f @ lam.T + rng.standard_normal((80, 69))
    return pd.DataFrame(x, columns=[f"m{j}" for j in range(69)]), None, "simulated 80 x 69 matrix (export absent)"


def _worker(name: str, n_boot: int, subset: int, data: str, profile: bool) -> dict:
    from alignfactors.agreement import agreement

    if name == "memory":
        rng = np.random.default_rng(0)
        f = rng.standard_normal((1500, 5))
        x = f @ rng.uniform(0.2, 0.6, (150, 5)).T + rng.standard_normal((1500, 150))
        matrix = pd.DataFrame(x, columns=[f"m{j}" for j in range(150)])
        groups, desc = None, "simulated 1500 x 150"
    else:
        matrix, groups, desc = load_matrix(Path(data))
    rss_before = _peak_rss_mb()
    n, p = matrix.shape
    out = {"name": name, "shape": [n, p], "matrix": desc, "n_boot": n_boot}
    t0 = time.perf_counter()
    if name in ("agreement", "agreement_2jobs", "memory"):
        if profile:
            import cProfile
            import io
            import pstats

            prof = cProfile.Profile()
            prof.enable()
        jobs = 2 if name == "agreement_2jobs" else 1
        res = agreement(matrix, groups=groups, n_boot=n_boot, seed=0, n_jobs=jobs)
        cold = time.perf_counter() - t0
        seconds = cold
        if name != "memory":  # the first call pays one-time costs (lazy imports, first page faults): time 7 more
            runs = []
            for _ in range(7):
                t1 = time.perf_counter()
                agreement(matrix, groups=groups, n_boot=n_boot, seed=0, n_jobs=jobs)
                runs.append(time.perf_counter() - t1)
            seconds = float(np.median(runs))
        out["cold_seconds"] = cold
        if profile:
            prof.disable()
            s = io.StringIO()
            pstats.Stats(prof, stream=s).sort_stats("tottime").print_stats(10)
            out["profile"] = s.getvalue()
        out.update(seconds=seconds, timed=n_boot, value=res.mean.value)
    elif name == "pandas_loop":
        rng = np.random.default_rng(0)
        iu = np.triu_indices(p, k=1)
        means = []
        for _ in range(subset):
            rows = rng.integers(0, n, n)
            r = matrix.iloc[rows].corr("spearman").to_numpy()
            means.append(r[iu].mean())
        timed = time.perf_counter() - t0
        out.update(seconds=timed * n_boot / subset, timed=subset, timed_seconds=timed)
    elif name == "psych":  # R psych::cor.ci, when R is installed (not on CI)
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            csv = Path(tmp) / "m.csv"
            matrix.to_csv(csv, index=False)
            script = (f"suppressMessages(library(psych)); x <- read.csv('{csv}', check.names=FALSE); set.seed(0); "
                      f"t <- system.time(r <- cor.ci(x, n.iter={n_boot}, method='spearman', plot=FALSE)); "
                      "cat(t[['elapsed']])")
            res = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True, check=True)
        out.update(seconds=float(res.stdout.strip().split()[-1]), timed=n_boot)
    elif name == "pingouin":
        import pingouin

        pairs = [(i, j) for i in range(p) for j in range(i + 1, p)]
        rng = np.random.default_rng(0)
        chosen = [pairs[k] for k in rng.choice(len(pairs), size=subset, replace=False)]
        for i, j in chosen:
            pingouin.compute_bootci(matrix.iloc[:, i].to_numpy(), matrix.iloc[:, j].to_numpy(),
                                    func="spearman", paired=True, n_boot=n_boot, seed=0)
        timed = time.perf_counter() - t0
        out.update(seconds=timed * len(pairs) / subset, timed=subset, timed_seconds=timed, n_pairs=len(pairs))
    else:
        raise SystemExit(f"unknown contender {name!r}")
    out["peak_rss_mb"] = _peak_rss_mb()
    out["rss_before_mb"] = rss_before
    return out


def _watch(proc: subprocess.Popen, cap_mb: float, timeout: float) -> tuple[str, float, float]:
    """Poll a child's peak RSS (VmHWM) until it exits, passes ``cap_mb`` or runs ``timeout`` s."""
    t0 = time.perf_counter()
    peak = 0.0
    while proc.poll() is None:
        try:
            for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, float(line.split()[1]) / 1024.0)
        except OSError:
            pass
        elapsed = time.perf_counter() - t0
        if peak > cap_mb or elapsed > timeout:
            proc.kill()
            proc.wait()
            return ("over the cap" if peak > cap_mb else "timed out"), peak, elapsed
        time.sleep(0.5)
    return "finished", peak, time.perf_counter() - t0


def run_memory(data: Path, cap_mb: float, timeout: float) -> dict:
    """The memory check in a watched subprocess: stopped once its peak RSS passes ``cap_mb``."""
    cmd = [sys.executable, __file__, "--worker", "memory", "--n-boot", "10000", "--subset", "0", "--data", str(data)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    state, peak, elapsed = _watch(proc, cap_mb, timeout)
    out = {"state": state, "watched_peak_mb": peak, "elapsed": elapsed}
    if state == "finished" and proc.returncode == 0:
        out.update(json.loads(proc.stdout.read().strip().splitlines()[-1]))
    return out


def run(name: str, n_boot: int, subset: int, data: Path, profile: bool = False) -> dict:
    cmd = [sys.executable, __file__, "--worker", name, "--n-boot", str(n_boot), "--subset", str(subset),
           "--data", str(data)] + (["--profile"] if profile else [])
    env = dict(os.environ, PYTHONHASHSEED="0")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"contender {name} failed:\n{proc.stderr[-3000:]}")
    if proc.stderr.strip():
        print(proc.stderr.strip(), file=sys.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def render(results: dict, memory: dict | None, command: str, load: tuple) -> str:
    a, b, c = results["agreement"], results["pandas_loop"], results["pingouin"]
    a1 = results["agreement_2jobs"]
    n, p = a["shape"]
    lines = [
        "# Benchmark: agreement() against the pandas loop, pingouin and R psych",
        "",
        f"Reproduce: `{command}`",
        "",
        f"Matrix: {a['matrix']}: {n} models x {p} metrics ({p * (p - 1) // 2} pairs); 2000 resamples each. "
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; load average before the run {load[0]:.1f}, after {os.getloadavg()[0]:.1f} "
        "(other jobs share the machine, so absolute times are noisy; each contender ran in its own subprocess).",
        "",
        "| contender | what it computes | seconds (2000 resamples) | how timed | x slower than agreement | peak RSS (MB) |",
        "|---|---|---|---|---|---|",
        f"| a. `agreement(matrix, groups=domains, n_boot=2000, seed=0)` | mean, domain blocks, every pair, "
        "BCa intervals for all | "
        f"{a['seconds']:.2f} (first call {a['cold_seconds']:.2f}) | median of 7 calls after the first | 1.0 | "
        f"{a['peak_rss_mb']:.0f} |",
        f"| a1. the same with `n_jobs=2` (its batches in two threads) | same as a, identical numbers | "
        f"{a1['seconds']:.2f} (first call {a1['cold_seconds']:.2f}) | median of 7 calls after the first | "
        f"{a1['seconds'] / a['seconds']:.2f} | {a1['peak_rss_mb']:.0f} |",
        f"| b. `matrix.iloc[rows].corr('spearman')` loop + mean of upper triangle | mean only, no interval | "
        f"{b['seconds']:.2f} | "
        + ("all 2000 measured" if b['timed'] == 2000 else
           f"{b['timed']} resamples in {b['timed_seconds']:.2f} s, scaled x{2000 / b['timed']:.0f}") + " | "
        f"{b['seconds'] / a['seconds']:.1f} | {b['peak_rss_mb']:.0f} |",
        f"| c. `pingouin.compute_bootci(x, y, func='spearman', paired=True, n_boot=2000)` per pair | one BCa interval per pair, no mean | "
        f"{c['seconds']:.1f} | {c['timed']} pairs in {c['timed_seconds']:.2f} s, scaled to {c['n_pairs']} pairs | "
        f"{c['seconds'] / a['seconds']:.1f} | {c['peak_rss_mb']:.0f} |",
        *([f"| d. R `psych::cor.ci(x, n.iter=2000, method='spearman')` | every pair, percentile intervals | "
           f"{results['psych']['seconds']:.2f} | measured in R (system.time) | "
           f"{results['psych']['seconds'] / a['seconds']:.1f} | n/a |"] if "psych" in results else
          ["| d. R `psych::cor.ci` | not timed: Rscript with psych is not installed here | | | | |"]),
        "",
        f"Goal >= 20x faster than the pandas loop on this {os.cpu_count()}-core machine: "
        f"on one core (n_jobs=1, as the loop runs) **{'met' if b['seconds'] / a['seconds'] >= 20 else 'NOT met'}**, "
        f"with n_jobs=2 **{'met' if b['seconds'] / a1['seconds'] >= 20 else 'NOT met'}** "
        f"({b['seconds'] / a['seconds']:.1f}x on one core; {b['seconds'] / a1['seconds']:.1f}x with n_jobs=2; "
        f"first calls {b['seconds'] / a['cold_seconds']:.1f}x and {b['seconds'] / a1['cold_seconds']:.1f}x). "
        "Peak RSS includes the interpreter and imports "
        f"(about {a['rss_before_mb']:.0f} MB before the contender started).",
        "",
    ]
    if memory is None:
        lines += ["Memory check (1,500 x 150, 10,000 resamples): skipped (`--quick`).", ""]
    elif memory["state"] != "finished":
        lines += [
            "## Memory check",
            "",
            f"`agreement(matrix, n_boot=10000, seed=0)` on a simulated 1,500 x 150 matrix (11,175 pairs): "
            f"**{memory['state']}** after {memory['elapsed']:.0f} s with peak RSS "
            f"**{memory['watched_peak_mb']:.0f} MB** (limit {MEMORY_LIMIT_MB} MB: **EXCEEDED**; the watcher stops "
            "the run once it passes the cap given by --memory-cap-mb).",
            "",
        ]
    else:
        ok = memory["peak_rss_mb"] < MEMORY_LIMIT_MB
        lines += [
            "## Memory check",
            "",
            f"`agreement(matrix, n_boot=10000, seed=0)` on a simulated 1,500 x 150 matrix (11,175 pairs): "
            f"peak RSS **{memory['peak_rss_mb']:.0f} MB** (limit {MEMORY_LIMIT_MB} MB: **{'met' if ok else 'EXCEEDED'}**), "
            f"{memory['seconds']:.1f} s; {memory['rss_before_mb']:.0f} MB before the call.",
            "",
        ]
    for label, res in (("a (real matrix, 2000 resamples)", a), ("memory check", memory)):
        if res is not None and "profile" in res:
            top = "\n".join(res["profile"].strip().splitlines()[:22])
            lines += [f"Profile of contender {label}, top functions by own time:", "", "```", top, "```", ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Benchmark agreement() (see module docstring).")
    ap.add_argument("--quick", action="store_true", help="skip the 1,500 x 150 x 10,000 memory check")
    ap.add_argument("--loop-subset", type=int, default=2000,
                    help="pandas-loop resamples actually timed (default: all 2000, side by side)")
    ap.add_argument("--memory-cap-mb", type=float, default=1.5 * MEMORY_LIMIT_MB,
                    help="stop the memory check once its peak RSS passes this (default 1536)")
    ap.add_argument("--memory-timeout", type=float, default=1200.0, help="seconds before the memory check is stopped")
    ap.add_argument("--pingouin-pairs", type=int, default=3, help="pairs actually timed with pingouin")
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--out", default=str(ROOT / "reports" / "benchmark_agreement.md"))
    ap.add_argument("--profile", action="store_true", help="cProfile agreement() and add the top functions")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--n-boot", type=int, default=2000, help=argparse.SUPPRESS)
    ap.add_argument("--subset", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(_worker(args.worker, args.n_boot, args.subset, args.data, args.profile)))
        return 0
    command = "python benchmarks/bench_agreement.py" + (" --quick" if args.quick else "") + (
        " --profile" if args.profile else "")
    load = os.getloadavg()
    data = Path(args.data)
    results = {
        "agreement": run("agreement", 2000, 0, data, args.profile),
        "agreement_2jobs": run("agreement_2jobs", 2000, 0, data),
        "pandas_loop": run("pandas_loop", 2000, args.loop_subset, data),
        "pingouin": run("pingouin", 2000, args.pingouin_pairs, data),
    }
    import shutil

    if shutil.which("Rscript"):
        try:
            results["psych"] = run("psych", 2000, 0, data)
        except (SystemExit, ValueError) as exc:  # psych not installed
            print(f"R psych::cor.ci not timed: {exc}", file=sys.stderr)
    for r in results.values():
        print(f"{r['name']:12s} {r['seconds']:9.2f} s  peak RSS {r['peak_rss_mb']:7.0f} MB", flush=True)
    a = results["agreement"]["seconds"]
    print(f"pandas loop / agreement = {results['pandas_loop']['seconds'] / a:.1f}x "
          f"(n_jobs=2: {results['pandas_loop']['seconds'] / results['agreement_2jobs']['seconds']:.1f}x); "
          f"pingouin / agreement = {results['pingouin']['seconds'] / a:.1f}x")
    memory = None
    if not args.quick:
        memory = run_memory(data, args.memory_cap_mb, args.memory_timeout)
        print(f"memory check 1500 x 150, n_boot=10000: {memory['state']}, peak RSS "
              f"{memory['watched_peak_mb']:.0f} MB after {memory['elapsed']:.0f} s")
    text = render(results, memory, command, load)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
