"""Speed of factor-loading intervals: the per-resample refit from scratch against bootstrap_loadings' refit.

Both contenders refit the same ``--n-boot`` resamples (same seed, same row indices) of the cleaned
2025 Brain-Score matrix (a simulated 229 x 50 matrix with a printed note when the export is absent),
with BLAS limited to one thread as the engine runs them:

a. old: ``clone(model).fit(X.iloc[rows])`` for every resample -- minres from the SMC start and the
   rotation from the identity, one resample after another -- then the same factor alignment;
b. new: ``bootstrap_loadings``' statistic (``factor_bootstrap._LoadingsStatistic``): uniquenesses
   warm-started from the full-data solution, GPA rotations of 64 resamples run together from the
   full-data rotation (psych's tolerance 1e-5).

It prints the time per resample of each and their ratio, then checks that the new route does not
move the intervals: for every loading, the 2.5% and 97.5% percentile endpoints of the two
distributions are compared with the Monte-Carlo standard error of that quantile (order-statistic
estimate ``(q(a + d) - q(a - d)) / 2`` with ``d = sqrt(a (1 - a) / B)``), and the projected time of a
full ``n_boot = 2000`` run (2000 resamples + one jackknife refit per model for BCa) is printed.
The other routes measured while choosing (warm start of the uniquenesses alone, looser optimiser
tolerances, one-at-a-time vs batched GPA) are timed with ``--routes``.

``--vs-ref REF`` (default: 83aa1b9, the per-resample L-BFGS-B + batched GPA route) also runs
``bootstrap_loadings`` as the report calls it (family clusters, BCa, ``--n-boot-report`` resamples,
seed 0, n_jobs 1) once with the code of commit REF and once with this tree, each in its own process
with BLAS on one thread, recording every replicate the engine asks for; it prints both CPU times
(``time.process_time``: other jobs share the machine), the per-resample differences of the aligned
loadings, the non-converged / Heywood counts, and how far the report's BCa endpoints and the
percentile endpoints moved, in units of their Monte-Carlo standard error.

Run from the project root::

    python benchmarks/bench_loadings.py                 # n_boot 200, k 5, oblimin; writes reports/benchmark_loadings.md
    python benchmarks/bench_loadings.py --n-boot 400 --routes
    python benchmarks/bench_loadings.py --routes --vs-ref 83aa1b9 --n-boot-report 2000
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "brainscore_vision_leaderboard_2025-05-07.csv"


def _matrix():
    import alignfactors as af

    if DATA.exists():
        return af.clean(af.load_brainscore(str(DATA))).matrix, f"cleaned {DATA.name}"
    from alignfactors.io.datasets import simulate_leaderboard

    print(f"note: {DATA} is absent; using a simulated leaderboard", file=sys.stderr)
    t = simulate_leaderboard(seed=0)
    return af.clean(t).matrix, "simulated leaderboard (export absent)"


def _quantile_mcse(d: np.ndarray, a: float) -> np.ndarray:
    b = d.shape[0]
    delta = np.sqrt(a * (1 - a) / b)
    lo, hi = np.quantile(d, [max(a - delta, 0), min(a + delta, 1)], axis=0)
    return (hi - lo) / 2


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-boot", type=int, default=200)
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--rotation", default="oblimin")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--routes", action="store_true", help="also time the intermediate routes")
    ap.add_argument("--baseline-ref", default="9c4ddf9",
                    help="git commit whose FactorModel is 'today's' refit (default: the start of round 2); '' to skip")
    ap.add_argument("--vs-ref", default="83aa1b9",
                    help="git commit whose bootstrap_loadings is compared as the report calls it; '' to skip")
    ap.add_argument("--n-boot-report", type=int, default=2000)
    ap.add_argument("--out", default=str(ROOT / "reports" / "benchmark_loadings.md"))
    args = ap.parse_args(argv)

    from sklearn.base import clone
    from threadpoolctl import threadpool_limits

    from alignfactors import FactorModel
    from alignfactors.factor_bootstrap import _LoadingsStatistic, _align
    from alignfactors.resampling import weights_to_indices

    warnings.simplefilter("ignore")
    X, source = _matrix()
    n, p = X.shape
    model = FactorModel(args.k, rotation=args.rotation)
    full = clone(model).fit(X)
    target = full.loadings_.to_numpy()
    rng = np.random.default_rng(args.seed)
    idx = rng.integers(0, n, size=(args.n_boot, n))
    weights = np.stack([np.bincount(i, minlength=n) for i in idx]).astype(float)
    load0 = os.getloadavg()
    lines = []

    def say(s=""):
        print(s)
        lines.append(s)

    with threadpool_limits(limits=1, user_api="blas"):
        t = time.perf_counter()
        old = np.stack([_align(clone(model).fit(X.iloc[weights_to_indices(w)]).loadings_.to_numpy(), target,
                               "tucker").ravel() for w in weights])
        t_old = (time.perf_counter() - t) / args.n_boot
        stat = _LoadingsStatistic(X.to_numpy(dtype=float), model, full, "tucker")
        t = time.perf_counter()
        new = np.vstack([stat(weights[i:i + 64]) for i in range(0, args.n_boot, 64)])[:, : p * args.k]
        t_new = (time.perf_counter() - t) / args.n_boot
        routes = _routes(X, model, full, weights[: min(64, args.n_boot)]) if args.routes else None

    say(f"# Factor-loading intervals: per-resample refit vs bootstrap_loadings\n")
    say(f"Data: {source} ({n} models x {p} metrics); FactorModel({args.k}, rotation={args.rotation!r}), minres, "
        f"Spearman; {args.n_boot} resamples (seed {args.seed}), the same for both; BLAS 1 thread. "
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, load average {load0[0]:.1f} before, "
        f"{os.getloadavg()[0]:.1f} after.\n")
    say("| route | ms per resample | projected n_boot=2000 + jackknife (s) |")
    say("| --- | ---: | ---: |")
    m = 2000 + n
    say(f"| old: FactorModel refit from scratch | {t_old * 1e3:.1f} | {t_old * m:.0f} |")
    say(f"| new: warm-started, batched Newton (minres, rotation) | {t_new * 1e3:.1f} | {t_new * m:.0f} |")
    say(f"\nSpeed-up (old / new): **{t_old / t_new:.1f}x**\n")
    if args.baseline_ref:
        t_base = _baseline(args.baseline_ref, args.k, args.rotation, idx[: min(64, args.n_boot)])
        if t_base is not None:
            say(f"Today's code (FactorModel of commit {args.baseline_ref}, refit per resample as its bootstrap_loadings "
                f"did; first {min(64, args.n_boot)} resamples): {t_base * 1e3:.1f} ms per resample, projected "
                f"{t_base * m:.0f} s; speed-up of the new route over it: **{t_base / t_new:.1f}x**\n")
    if routes:
        say("Routes measured on the first 64 resamples (ms per resample):\n")
        say("| route | ms |")
        say("| --- | ---: |")
        for name, ms in routes.items():
            say(f"| {name} | {ms:.1f} |")
        say("")
    ok = np.isfinite(old).all(axis=1) & np.isfinite(new).all(axis=1)
    old, new = old[ok], new[ok]
    diff = np.abs(old - new)
    say(f"Per-resample loadings, old vs new: max |diff| {diff.max():.2e}, 99th percentile {np.quantile(diff, 0.99):.2e} "
        f"({ok.sum()} resamples fitted by both)\n")
    rows = []
    for a in (0.025, 0.975):
        q_old, q_new = np.quantile(old, a, axis=0), np.quantile(new, a, axis=0)
        se = _quantile_mcse(new, a)
        r = np.abs(q_old - q_new) / se
        rows.append((a, np.abs(q_old - q_new).max(), np.median(se), r.max(), np.mean(r < 1)))
    say("| endpoint | max abs(old - new) | median MC SE of the endpoint | max abs(old - new) / MC SE | share within 1 MC SE |")
    say("| --- | ---: | ---: | ---: | ---: |")
    for a, dmax, se, rmax, share in rows:
        say(f"| {a:.1%} | {dmax:.2e} | {se:.2e} | {rmax:.3f} | {share:.1%} |")
    if args.vs_ref:
        _vs_ref(args.vs_ref, args.k, args.rotation, args.n_boot_report, say)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"\nwrote {args.out}")
    return 0


_BASELINE = r"""
import sys, time, warnings
import numpy as np
sys.path.insert(0, sys.argv[1])
warnings.simplefilter("ignore")
from threadpoolctl import threadpool_limits
import alignfactors as af
from alignfactors.factors import FactorModel
assert af.__file__.startswith(sys.argv[1]), af.__file__
X = af.clean(af.load_brainscore(sys.argv[2])).matrix if sys.argv[2] != "-" else None
idx = np.load(sys.argv[3])
with threadpool_limits(limits=1, user_api="blas"):
    t = time.perf_counter()
    for rows in idx:
        FactorModel(int(sys.argv[4]), rotation=sys.argv[5]).fit(X.iloc[np.sort(rows)])
    print((time.perf_counter() - t) / len(idx))
"""


def _baseline(ref: str, k: int, rotation: str, idx: np.ndarray):
    """Seconds per resample of the FactorModel refit in commit ``ref`` (run in a subprocess from a git archive)."""
    import subprocess
    import tempfile

    if not DATA.exists():
        print("note: the baseline needs the real export; skipped", file=sys.stderr)
        return None
    with tempfile.TemporaryDirectory() as tmp:
        arch = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "alignfactors"], capture_output=True)
        if arch.returncode:
            print(f"note: git archive {ref} failed; baseline skipped", file=sys.stderr)
            return None
        subprocess.run(["tar", "-x", "-C", tmp], input=arch.stdout, check=True)
        np.save(Path(tmp) / "idx.npy", idx)
        out = subprocess.run([sys.executable, "-c", _BASELINE, tmp, str(DATA), str(Path(tmp) / "idx.npy"), str(k),
                              rotation], capture_output=True, text=True, cwd=tmp)
        if out.returncode:
            print(f"note: baseline failed: {out.stderr[-500:]}", file=sys.stderr)
            return None
        return float(out.stdout.strip().splitlines()[-1])


_REPORT_CALL = r"""
import sys, time, warnings
import numpy as np
sys.path.insert(0, sys.argv[1])
warnings.simplefilter("ignore")
from threadpoolctl import threadpool_limits
import alignfactors as af
from alignfactors import factor_bootstrap as FB
assert af.__file__.startswith(sys.argv[1]), af.__file__
X = af.clean(af.load_brainscore(sys.argv[2])).matrix
fm = af.FactorModel(int(sys.argv[4]), rotation=sys.argv[5], corr_method="spearman").fit(X)
rec, wts = [], []
call = FB._LoadingsStatistic.__call__
def recorded(self, weights, noise=None):
    out = call(self, weights, noise)
    rec.append(out)
    wts.append(np.atleast_2d(weights))
    return out
FB._LoadingsStatistic.__call__ = recorded
with threadpool_limits(limits=1, user_api="blas"):
    t = time.process_time()
    res = FB.bootstrap_loadings(X, fm, n_boot=int(sys.argv[6]), seed=0, n_jobs=1, progress=False, clusters="families",
                                ci_method="bca")
    cpu = time.process_time() - t
np.savez(sys.argv[3], cpu=cpu, out=np.vstack(rec), weights=np.vstack(wts), lo=res.loadings["ci_low"].to_numpy(),
         hi=res.loadings["ci_high"].to_numpy(), counts=[res.n_nonconverged, res.n_heywood, res.n_undefined])
"""


def _report_call(src: str, k: int, rotation: str, n_boot: int, out: Path):
    import subprocess

    run = subprocess.run([sys.executable, "-c", _REPORT_CALL, src, str(DATA), str(out), str(k), rotation, str(n_boot)],
                         capture_output=True, text=True, cwd=str(out.parent))
    if run.returncode:
        print(f"note: bootstrap_loadings of {src} failed: {run.stderr[-800:]}", file=sys.stderr)
        return None
    return dict(np.load(out))


def _vs_ref(ref: str, k: int, rotation: str, n_boot: int, say) -> None:
    """bootstrap_loadings as the report calls it: the code of commit ``ref`` against this tree."""
    import subprocess
    import tempfile

    if not DATA.exists():
        print("note: the comparison with a commit needs the real export; skipped", file=sys.stderr)
        return
    with tempfile.TemporaryDirectory() as tmp:
        arch = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "alignfactors"], capture_output=True)
        if arch.returncode:
            print(f"note: git archive {ref} failed; comparison skipped", file=sys.stderr)
            return
        old_src = Path(tmp) / "old"
        old_src.mkdir()
        subprocess.run(["tar", "-x", "-C", str(old_src)], input=arch.stdout, check=True)
        old = _report_call(str(old_src), k, rotation, n_boot, Path(tmp) / "old.npz")
        new = _report_call(str(ROOT), k, rotation, n_boot, Path(tmp) / "new.npz")
    if old is None or new is None:
        return
    pk = old["lo"].size
    o, n = old["out"], new["out"]
    say(f"## bootstrap_loadings as the report calls it: commit {ref} vs this tree\n")
    say(f"Cleaned 2025 matrix, FactorModel({k}, rotation={rotation!r}), family clusters, BCa, n_boot={n_boot}, "
        f"seed 0, n_jobs 1, BLAS 1 thread; {o.shape[0]} replicates (resamples + leave-one-family-out "
        f"jackknife), the same weights for both. CPU seconds of the whole call (time.process_time).\n")
    say("| code | CPU s | non-converged | Heywood | failed |")
    say("| --- | ---: | ---: | ---: | ---: |")
    say(f"| {ref} (L-BFGS-B per resample + batched GPA) | {float(old['cpu']):.1f} | {int(old['counts'][0])} | "
        f"{int(old['counts'][1])} | {int(old['counts'][2])} |")
    say(f"| this tree (batched Newton) | {float(new['cpu']):.1f} | {int(new['counts'][0])} | {int(new['counts'][1])} | "
        f"{int(new['counts'][2])} |")
    say(f"\nCPU ratio: **{float(old['cpu']) / float(new['cpu']):.1f}x**\n")
    d = np.abs(o[:, :pk] - n[:, :pk]).max(axis=1)
    gpa_stop = o[:, -2] == 1
    say(f"Aligned loadings per replicate, |old - new| (max over the {pk} loadings): median {np.median(d):.1e}, "
        f"99th percentile {np.quantile(d, 0.99):.1e}, max {d.max():.1e}; "
        f"replicates above 1e-3: {int((d > 1e-3).sum())}, "
        f"all of them among the {int(gpa_stop.sum())} that the old code flagged non-converged (GPA stopped at 1000 "
        f"iterations): {bool(np.all(gpa_stop[d > 1e-3]))}. Max over the replicates the old code converged: "
        f"{d[~gpa_stop].max():.1e}.\n")
    if gpa_stop.any():
        _gpa_stopped(new["weights"][gpa_stop], k, rotation, say)
    boot_o, boot_n = o[:n_boot, :pk], n[:n_boot, :pk]
    rows = []
    for a, col in ((0.025, "lo"), (0.975, "hi")):
        se = _quantile_mcse(boot_n, a)
        perc = np.abs(np.quantile(boot_o, a, axis=0) - np.quantile(boot_n, a, axis=0)) / se
        bca = np.abs(old[col] - new[col]) / se
        rows.append((a, "BCa (the report's)", np.abs(old[col] - new[col]).max(), np.median(se), bca.max(),
                     np.mean(bca < 1)))
        rows.append((a, "percentile", np.abs(np.quantile(boot_o, a, axis=0) - np.quantile(boot_n, a, axis=0)).max(),
                     np.median(se), perc.max(), np.mean(perc < 1)))
    say("| endpoint | interval | max abs(old - new) | median MC SE | max abs(old - new) / MC SE "
        "| share within 1 MC SE |")
    say("| --- | --- | ---: | ---: | ---: | ---: |")
    for a, kind, dmax, se, rmax, share in rows:
        say(f"| {a:.1%} | {kind} | {dmax:.2e} | {se:.2e} | {rmax:.3f} | {share:.1%} |")
    say("\nMC SE: order-statistic estimate of the endpoint's quantile at the nominal level from this tree's "
        "resamples (for BCa, whose levels are adjusted, an approximation).\n")


def _gpa_stopped(weights: np.ndarray, k: int, rotation: str, say) -> None:
    """The replicates GPA stopped at 1000 iterations: GPA let run on (eps 1e-6, up to 50,000
    iterations) against the Newton rotation, both from the same warm start, aligned to the target."""
    import alignfactors as af
    from alignfactors import FactorModel
    from alignfactors.factor_bootstrap import _LoadingsStatistic, _align
    from alignfactors.correlation import resampled_correlation
    from alignfactors import _factor_kernels as K

    X = af.clean(af.load_brainscore(str(DATA))).matrix
    full = FactorModel(k, rotation=rotation, corr_method="spearman").fit(X)
    stat = _LoadingsStatistic(X.to_numpy(dtype=float), full, full, "tucker")
    corr = resampled_correlation(stat.x, weights, "spearman", ties=stat.ties)
    from alignfactors.factor_bootstrap import _smooth_batch

    A = K.extract_batch(_smooth_batch(corr), k, "minres", start=stat.psi0)[0]
    u, _, vt = np.linalg.svd(np.swapaxes(A, 1, 2) @ stat.A0)
    start = (u @ vt) @ stat.T0
    crit = stat._criterion()
    oblique = rotation in ("oblimin", "quartimin", "geomin_obl")
    Ln, _, okn, itn = K.rotate_newton(A, crit, oblique=oblique, Tmat=start)
    Lg, _, okg, itg = K.gpa_rotate(A, crit, oblique=oblique, Tmat=start, eps=1e-6, max_iter=50000)
    d = [np.abs(_align(Ln[i], stat.target, "tucker") - _align(Lg[i], stat.target, "tucker")).max()
         for i in range(len(A))]
    say(f"The {len(A)} replicates the old code flagged non-converged (GPA stopped at its 1000 iterations): GPA "
        f"let run on from the same start (eps 1e-6, at most 50,000 iterations) converges in {int(okg.sum())} of "
        f"them, after {int(itg.min())}-{int(itg.max())} iterations, to the Newton solution (Newton: {int(okn.sum())} "
        f"solved, {int(itn.min())}-{int(itn.max())} steps); max |GPA - Newton| over their aligned loadings "
        f"{max(d):.1e}." + (" These were slow GPA convergences, not failures of the fit: Newton reaches the "
                            "optimum GPA was heading to, and counts them converged.\n"
                            if okg.all() and okn.all() and max(d) < 1e-4 else "\n"))


def _routes(X, model, full, weights) -> dict:
    """ms per resample of the routes considered (each on the same resamples)."""
    from scipy import linalg

    from alignfactors import _factor_kernels as K
    from alignfactors.correlation import RankPlan, cor_smooth, resampled_correlation

    x = X.to_numpy(dtype=float)
    k = int(model.n_factors)
    corr = resampled_correlation(x, weights, "spearman", ties=RankPlan(x))
    r0 = full.corr_.to_numpy()
    A0, psi0, _, _ = K.extract(r0, k, "minres")
    crit = lambda L: K.vgq_oblimin(L, 0.0)  # noqa: E731
    T0 = K.gpa_rotate(A0, crit, oblique=True)[1]
    out = {}

    def timed(name, f):
        t = time.perf_counter()
        res = f()
        out[name] = (time.perf_counter() - t) / len(weights) * 1e3
        return res

    timed("correlations (batched weighted Spearman)", lambda: resampled_correlation(x, weights, "spearman",
                                                                                     ties=RankPlan(x)))
    timed("minres from SMC, tol 1e-15/1e-10", lambda: [K.extract(r, k, "minres") for r in corr])
    timed("minres warm start, tol 1e-15/1e-10", lambda: [K.extract(r, k, "minres", start=psi0) for r in corr])
    A = timed("minres warm start, tol 1e-10/1e-6",
              lambda: np.stack([K.extract(r, k, "minres", start=psi0, ftol=1e-10, gtol=1e-6)[0] for r in corr]))
    timed("oblimin GPA one at a time, identity start", lambda: [K.gpa_rotate(a, crit, oblique=True) for a in A])
    Ts = np.stack([linalg.orthogonal_procrustes(a, A0)[0] @ T0 for a in A])
    timed("oblimin GPA one at a time, warm start", lambda: [K.gpa_rotate(A[i], crit, oblique=True, Tmat=Ts[i])
                                                            for i in range(len(A))])
    timed("oblimin GPA batched (64), identity start", lambda: K.gpa_rotate(A, crit, oblique=True))
    timed("oblimin GPA batched (64), warm start", lambda: K.gpa_rotate(A, crit, oblique=True, Tmat=Ts))
    sm = np.stack([cor_smooth(r)[0] for r in corr])
    timed("minres batched Newton (64), warm start, tol 1e-10", lambda: K.extract_batch(sm, k, "minres", start=psi0))
    timed("oblimin batched Newton (64), warm start, tol 1e-10",
          lambda: K.rotate_newton(A, crit, oblique=True, Tmat=Ts))
    return out


if __name__ == "__main__":
    raise SystemExit(main())
