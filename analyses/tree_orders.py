"""The benchmark tree of the real 2025-05-07 export, inferred from its values with the columns in
pre-order (the file), breadth-first (today's export) and shuffled order: are the trees the same?

Run from the project root: ``python analyses/tree_orders.py [--shuffles 5]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "brainscore_vision_leaderboard_2025-05-07.csv"

from alignfactors.io.tree import infer_tree  # noqa: E402


def _bfs(tree):
    out, i = list(tree.roots), 0
    while i < len(out):
        out += tree.children(out[i])
        i += 1
    return out


def _sets(tree):
    return {p: frozenset(k) for p, k in tree.to_dict().items()}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shuffles", type=int, default=5)
    args = ap.parse_args()
    raw = pd.read_csv(DATA, dtype=str, keep_default_na=False).set_index("model_id")
    scores = raw.iloc[:, 2:].replace({"X": ""}).replace("", np.nan).astype(float)
    t0 = time.process_time()
    ref, check = infer_tree(scores)
    print(f"pre-order (file): {len(ref.to_dict())} parents, {len(ref.leaves())} leaves, "
          f"{check.n_cells_checked} cells checked, {check.n_mismatched} outside the tolerance, "
          f"{time.process_time() - t0:.2f} s CPU")
    for note in check.notes:
        print("  note:", note)
    t0 = time.process_time()
    bfs, _ = infer_tree(scores[_bfs(ref)])
    print(f"breadth-first: same tree (children in the same order): "
          f"{bfs.to_dict() == ref.to_dict() and bfs.roots == ref.roots} "
          f"({time.process_time() - t0:.2f} s CPU)")
    pair = ("V1-surround_modulation", "Marques2020_Cavanaugh2002-surround_suppression_index")
    swap = {pair[0]: pair[1], pair[1]: pair[0]}
    for seed in range(args.shuffles):
        cols = list(np.random.default_rng(seed).permutation(scores.columns))
        t0 = time.process_time()
        tree, chk = infer_tree(scores[cols])
        got = _sets(tree)
        flipped = cols.index(pair[1]) < cols.index(pair[0])
        if flipped:
            got = {swap.get(p, p): frozenset(swap.get(c, c) for c in k) for p, k in got.items()}
        print(f"shuffle {seed}: same parent/children sets: {got == _sets(ref)}"
              f"{' (up to the equal pair, listed child-first in this order)' if flipped else ''}; "
              f"{chk.n_mismatched} cells outside the tolerance; "
              f"{time.process_time() - t0:.2f} s CPU")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
