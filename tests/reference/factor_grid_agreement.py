"""Count agreement with R at 1e-3 per extraction x rotation (tests/reference/factor_grid.json).

Run from the project root: python -m tests.reference.factor_grid_agreement
"""
import collections
import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location("tf", str(Path(__file__).resolve().parents[1] / "test_factors.py"))
tf = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tf)
tot, ok, worst = collections.Counter(), collections.Counter(), collections.defaultdict(float)
for key, case in sorted(tf.GRID_REF["cases"].items()):
    if "error" in case:  # R itself fails (ml on Harman.Burt)
        continue
    rot = case["rotation"] + (f"(gamma={case['gamma']})" if case["gamma"] else "")
    d, _ = tf.grid_differences(key)
    g = (case["method"], rot)
    tot[g] += 1
    ok[g] += max(d.values()) <= 1e-3
    worst[g] = max(worst[g], max(d.values()))
print(f"{'method':10s} {'rotation':22s} within 1e-3 / cases   max |diff|")
for g in sorted(tot):
    print(f"{g[0]:10s} {g[1]:22s} {ok[g]:>4d} / {tot[g]:<4d}          {worst[g]:.1e}")
print("total", sum(ok.values()), "/", sum(tot.values()))
