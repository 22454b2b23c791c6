"""Speed of the exact Shapley decomposition: the all-subsets R² kernel against a solve per subset.

``decompose(simulate_leaderboard(), aggregate="average_vision", n_boot=2000, seed=0)`` decomposes
``average_vision`` into its 2 parts, each part into its children, and (``finer``) into 14 parts:
2^14 = 16,384 subset R² per resample. Timed twice on the same resamples, BLAS on one thread:

- a. the package's kernel (``_subset_r2``: one sweep per part, vectorised over resamples and
  subsets);
- b. the baseline: the previous kernel, a batched ``np.linalg.solve`` of R_SS b = r_S for every
  subset (grouped by size, as a user of ``np.linalg`` would write it), patched in for the run,
  with the batch size it used (memory: (B, C(k, s), s, s) per size).

It prints CPU seconds of each, the ratio, and the largest absolute difference between the two
runs over every estimate, interval bound and bootstrap replicate. With ``--real``, the same on
the 2025-05-07 export (its ``finer`` level has 12 parts). Times depend on machine load: the
report records the load average.

Run from the project root::

    python benchmarks/bench_decomposition.py          # writes reports/benchmark_decomposition.md
    python benchmarks/bench_decomposition.py --n-boot 500
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import alignfactors.decomposition as dec_mod  # noqa: E402
from alignfactors import datasets  # noqa: E402
from alignfactors.decomposition import _solve, decompose  # noqa: E402

REAL = ROOT.parent / "shared" / "data" / "brainscore_vision_leaderboard_2025-05-07.csv"


def subset_r2_by_solve(r_y: np.ndarray, rxx: np.ndarray) -> np.ndarray:
    """Baseline: R² on every subset by a batched solve per subset size (the previous kernel)."""
    B, k = r_y.shape
    out = np.zeros((B, 1 << k))
    for s in range(1, k + 1):
        combos = np.array(list(itertools.combinations(range(k), s)), dtype=np.int64)
        masks = (1 << combos).sum(axis=1)
        A = rxx[:, combos[:, :, None], combos[:, None, :]]
        b = r_y[:, combos][..., None]
        out[:, masks] = np.einsum("bmsi,bmsi->bm", b, _solve(A, b))
    return out


def _values(d) -> dict:
    """Every number of a Decomposition (own level, finer, sublevels) with its replicates."""
    out = {}
    for tag, sub in [("parts", d), ("finer", d.finer), *[(f"sub:{k}", v) for k, v in d.sublevels.items()]]:
        if sub is None:
            continue
        for q, ests in (("r2", sub.r2), ("shapley", sub.shapley), ("cov", sub.covariance_shares)):
            for p, e in ests.items():
                out[(tag, q, p)] = np.concatenate([[e.value, *e.ci], e.distribution])
        out[(tag, "r2_joint")] = np.array([sub.r2_joint.value, *sub.r2_joint.ci])
    return out


def run(table, n_boot: int, baseline: bool):
    kernel, make = dec_mod._subset_r2, dec_mod._make_statistic

    def make_old(z, k, *args):  # the previous kernel with the batch size it used
        stat = make(z, k, *args)
        stat.batch_size = int(max(1, min(256, 2e8 // (8 * (z.shape[0] * (k + 1) + (1 << k) * (k + 1) ** 2)))))
        return stat

    if baseline:
        dec_mod._subset_r2, dec_mod._make_statistic = subset_r2_by_solve, make_old
    try:
        c0, w0 = time.process_time(), time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            d = decompose(table, aggregate="average_vision", n_boot=n_boot, seed=0, progress=False)
        return d, time.process_time() - c0, time.perf_counter() - w0
    finally:
        dec_mod._subset_r2, dec_mod._make_statistic = kernel, make


def compare(name, table, n_boot, lines):
    new, cpu_new, wall_new = run(table, n_boot, False)
    old, cpu_old, wall_old = run(table, n_boot, True)
    a, b = _values(new), _values(old)
    diff = max(float(np.nanmax(np.abs(a[key] - b[key]), initial=0.0)) for key in a)
    same_nan = all(np.array_equal(np.isnan(a[key]), np.isnan(b[key])) for key in a)
    k = None if new.finer is None else len(new.finer.parts)
    row = (f"| {name} | {new.n_models} | {k} | {n_boot} | {cpu_old:.2f} ({wall_old:.2f}) | "
           f"{cpu_new:.2f} ({wall_new:.2f}) | {cpu_old / cpu_new:.1f}x | {diff:.1e} | {same_nan} |")
    print(row, flush=True)
    lines.append(row)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-boot", type=int, default=2000)
    ap.add_argument("--real", action="store_true", help="also the 2025-05-07 export (if present)")
    ap.add_argument("--out", default=str(ROOT / "reports" / "benchmark_decomposition.md"))
    args = ap.parse_args()
    from threadpoolctl import threadpool_limits

    load0 = os.getloadavg()
    lines = ["| table | models | finer k | n_boot | per-subset solve: CPU s (wall) | sweep: CPU s (wall) | "
             "ratio (CPU) | max abs diff | same NaN |", "|---|---|---|---|---|---|---|---|---|"]
    print("\n".join(lines), flush=True)
    with threadpool_limits(limits=1, user_api="blas"):
        compare("simulate_leaderboard()", datasets.simulate_leaderboard(), args.n_boot, lines)
        if args.real:
            if REAL.is_file():
                from alignfactors.io.loading import load_brainscore

                compare("2025-05-07 export", load_brainscore(REAL), args.n_boot, lines)
            else:
                print(f"(the export is absent at {REAL}: skipped)")
    load1 = os.getloadavg()
    text = "\n".join([
        "# Benchmark: exact Shapley decomposition (all-subsets R²)",
        "",
        f"`python benchmarks/bench_decomposition.py --n-boot {args.n_boot}{' --real' if args.real else ''}`: "
        "`decompose(table, aggregate='average_vision', n_boot=N, seed=0)` with every level (parts, "
        "sublevels, finer), timed with the package's sweep kernel and with the previous batched "
        "`np.linalg.solve` per subset patched in. Max abs diff: over every estimate, interval bound "
        "and bootstrap replicate of every level.",
        "",
        *lines,
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"load average {load0[0]:.2f} before, {load1[0]:.2f} after (shared machine: times vary).",
        "",
    ])
    Path(args.out).write_text(text)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
