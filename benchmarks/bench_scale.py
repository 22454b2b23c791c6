"""Scale: agreement and dimensionality on a 5,000-model x 200-metric simulated leaderboard.

A leaderboard far larger than Brain-Score's: ``--models`` models in families of near-copies
(1 to 8 members, as variant families; ~40% singletons), ``--metrics`` metrics driven by three
factors plus family and model noise. Each analysis runs in its own subprocess with family
clusters and ``--n-boot`` resamples; the script records wall time, CPU time and peak RSS
(``resource.getrusage(RUSAGE_SELF).ru_maxrss`` of that subprocess, interpreter and imports
included) against the 2 GB budget, and the baseline a user would otherwise run: one pandas
``DataFrame.corr("spearman")`` of a materialised resample, timed on ``--baseline-resamples``
resamples and scaled to ``--n-boot`` (the loop over resamples a user would write).

    python benchmarks/bench_scale.py                        # 5000 x 200, n_boot 1000
    python benchmarks/bench_scale.py --models 1000 --metrics 60 --n-boot 200   # a quick look

Writes ``reports/benchmark_scale.md``.
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
BUDGET_MB = 2048


def simulate(n_models: int, n_metrics: int, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Models x metrics scores with three factors and families of near-copies; and the family labels."""
    rng = np.random.default_rng(seed)
    sizes = []
    while sum(sizes) < n_models:
        sizes.append(1 if rng.random() < 0.4 else int(rng.integers(2, 9)))
    fam = np.repeat(np.arange(len(sizes)), sizes)[:n_models]
    g = fam.max() + 1
    factors = rng.standard_normal((g, 3))[fam] + 0.3 * rng.standard_normal((n_models, 3))
    load = rng.uniform(0.2, 0.7, (n_metrics, 3)) * (rng.random((n_metrics, 3)) < 0.6)
    x = factors @ load.T + 0.3 * rng.standard_normal((g, n_metrics))[fam] + rng.standard_normal((n_models, n_metrics))
    index = pd.Index([f"model{i:05d}" for i in range(n_models)], name="model_id")
    matrix = pd.DataFrame(x, index=index, columns=[f"metric{j:03d}" for j in range(n_metrics)])
    return matrix, pd.Series([f"family{f}" for f in fam], index=index, name="family")


def _worker(name: str, models: int, metrics: int, n_boot: int, baseline_resamples: int, n_jobs: int) -> dict:
    matrix, families = simulate(models, metrics)
    t0, c0 = time.perf_counter(), time.process_time()
    out: dict = {"name": name}
    if name == "agreement":
        from alignfactors.agreement import agreement

        res = agreement(matrix, n_boot=n_boot, seed=0, clusters=families, n_jobs=n_jobs, progress=False)
        out["value"] = f"mean r {res.mean.value:.3f} [{res.mean.ci[0]:.3f}, {res.mean.ci[1]:.3f}]"
    elif name == "dimensionality":
        from alignfactors.dimensions import dimensionality

        res = dimensionality(matrix, n_boot=n_boot, seed=0, clusters=families, n_jobs=n_jobs, progress=False)
        out["value"] = ", ".join(f"{r} k={k}" for r, k in res.n_dimensions.items())
    elif name == "baseline":
        rng = np.random.default_rng(0)
        n = len(matrix)
        iu = np.triu_indices(metrics, 1)
        for _ in range(baseline_resamples):
            matrix.iloc[rng.integers(0, n, n)].corr("spearman").to_numpy()[iu].mean()
        out["scaled_to"] = n_boot
    else:
        raise SystemExit(f"unknown contender {name!r}")
    out["wall"] = time.perf_counter() - t0
    out["cpu"] = time.process_time() - c0
    if name == "baseline":
        out["wall"] *= n_boot / baseline_resamples
        out["cpu"] *= n_boot / baseline_resamples
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    out["families"] = int(families.nunique())
    return out


def _descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (the analysis and its joblib workers), from /proc."""
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d.name))
    out, todo = [], [pid]
    while todo:
        q = todo.pop()
        out.append(q)
        todo.extend(children.get(q, []))
    return out


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return float(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


def _watch_tree(proc: subprocess.Popen, every: float = 0.25) -> float:
    """Peak of the summed RSS of ``proc`` and its descendants (joblib workers hold their own copies
    of the data), sampled every ``every`` seconds until it exits; 0 where /proc is unavailable."""
    peak = 0.0
    while proc.poll() is None:
        if Path("/proc").is_dir():
            peak = max(peak, sum(_rss_mb(q) for q in _descendants(proc.pid)))
        time.sleep(every)
    return peak


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", type=int, default=5000)
    ap.add_argument("--metrics", type=int, default=200)
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--n-jobs", type=int, default=1)
    ap.add_argument("--baseline-resamples", type=int, default=20)
    ap.add_argument("--only", choices=["agreement", "dimensionality", "baseline"], action="append")
    ap.add_argument("--out", default=str(ROOT / "reports" / "benchmark_scale.md"))
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(_worker(args.worker, args.models, args.metrics, args.n_boot, args.baseline_resamples,
                                 args.n_jobs)))
        return 0
    load = os.getloadavg()
    rows = []
    for name in args.only or ["baseline", "agreement", "dimensionality"]:
        cmd = [sys.executable, __file__, "--worker", name, "--models", str(args.models), "--metrics",
               str(args.metrics), "--n-boot", str(args.n_boot), "--n-jobs", str(args.n_jobs),
               "--baseline-resamples", str(args.baseline_resamples)]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        tree_peak = _watch_tree(proc)
        stdout, stderr = proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f"{name} failed:\n{stderr[-3000:]}")
        rows.append(json.loads(stdout.strip().splitlines()[-1]))
        r = rows[-1]
        r["tree_peak_mb"] = tree_peak
        print(f"{name:15s} wall {r['wall']:8.1f} s  cpu {r['cpu']:8.1f} s  peak RSS {r['peak_rss_mb']:7.0f} MB  "
              f"all processes {tree_peak:7.0f} MB", flush=True)
    base = next((r for r in rows if r["name"] == "baseline"), None)
    command = "python benchmarks/bench_scale.py" + "".join(
        f" --{k} {v}" for k, v in (("models", args.models), ("metrics", args.metrics), ("n-boot", args.n_boot),
                                   ("n-jobs", args.n_jobs)))
    lines = [
        "# Scale: a 5,000 x 200 simulated leaderboard" if (args.models, args.metrics) == (5000, 200)
        else f"# Scale: a {args.models:,} x {args.metrics} simulated leaderboard", "",
        f"Command: `{command}`", "",
        f"{args.models} models in {rows[0]['families']} families of near-copies (1-8 members), {args.metrics} metrics "
        f"from three factors; family clusters, {args.n_boot} resamples, seed 0, n_jobs {args.n_jobs}. Machine: "
        f"{platform.machine()}, {os.cpu_count()} cores; load average {load[0]:.1f} before, {os.getloadavg()[0]:.1f} after. "
        f"Peak RSS: of the analysis process (`ru_maxrss`, interpreter and imports included) and of all its "
        f"processes together (the analysis and its joblib workers, each holding its own copy of the data and "
        f"null pool: VmRSS summed over the process tree, sampled every 0.25 s); budget {BUDGET_MB} MB for the "
        f"whole. CPU s is the analysis process's own (with n_jobs > 1 most of the work is in its workers).", "",
        "| analysis | what it computes | wall s | CPU s | peak RSS, analysis process (MB) | peak RSS, all "
        "processes (MB) | within 2 GB | pandas loop wall / this wall |",
        "|---|---|---|---|---|---|---|---|",
    ]
    what = {"agreement": "mean, every pair, BCa intervals (family jackknife)",
            "dimensionality": "eigenvalues with BCa intervals, 7 rules, P(k) against a per-resample null of "
                              "20 data sets (parallel analysis with one-factor minres on each)",
            "baseline": f"pandas `corr('spearman')` of each materialised resample, mean of the pairs; no interval "
                        f"({args.baseline_resamples} timed, scaled to {args.n_boot})"}
    for r in rows:
        ratio = f"{base['wall'] / r['wall']:.2f}" if base and r is not base else "1.00"
        whole = max(r["peak_rss_mb"], r.get("tree_peak_mb", 0.0))
        lines.append(f"| {r['name']} | {what[r['name']]} | {r['wall']:.1f} | {r['cpu']:.1f} | {r['peak_rss_mb']:.0f} | "
                     f"{whole:.0f} | {'yes' if whole < BUDGET_MB else 'NO'} | {ratio} |")
    lines.append("")
    for r in rows:
        if "value" in r:
            lines.append(f"- {r['name']}: {r['value']}")
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
