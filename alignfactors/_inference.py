"""Inferring a benchmark tree from scores, and checking a tree against them.

Public names are re-exported by :mod:`alignfactors.tree`; import them from there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .errors import DataError, ParameterError, TreeError

if TYPE_CHECKING:
    from .tree import BenchmarkTree

__all__ = ["TreeCheck", "infer_tree", "check_tree", "DEFAULT_TOLERANCE"]

#: Parent and children are each rounded to 3 decimals: |rounded mean - parent| <= 0.0005 + 0.0005.
DEFAULT_TOLERANCE = 0.001 + 1e-9

_AGGREGATE_PATTERN = re.compile(r"^(average|neural|behaviou?r(al)?|engineering)[_\-]", re.I)


@dataclass(frozen=True)
class TreeCheck:
    """How well every parent equals the mean of its children (missing child = 0).

    Attributes
    ----------
    n_parents : int
        Number of parent nodes checked.
    n_cells_checked : int
        Number of (model, parent) cells where the parent is present and was compared.
    max_abs_error : float
        Largest ``|parent - mean(children)|`` over the checked cells (0 when none).
    tolerance : float
        The tolerance the inference used.
    n_mismatched : int
        Checked cells where ``|parent - mean(children)| > tolerance``.
    mismatches : tuple of (parent, model_id, parent value, mean of children)
        Those cells, in column then row order.
    """

    n_parents: int
    n_cells_checked: int
    max_abs_error: float
    tolerance: float
    n_mismatched: int = 0
    mismatches: tuple[tuple[str, str, float, float], ...] = ()

    @property
    def ok(self) -> bool:
        """Whether every checked cell is within the tolerance."""
        return self.max_abs_error <= self.tolerance

    def __str__(self) -> str:
        text = (
            f"{self.n_parents} parents checked on {self.n_cells_checked} cells, "
            f"max |parent - mean(children)| = {self.max_abs_error:.4g} (tolerance {self.tolerance:.4g})"
        )
        if self.n_mismatched:
            where = sorted({m[0] for m in self.mismatches})
            text += f"; {self.n_mismatched} cells outside the tolerance, in {where}"
        return text


def _as_matrix(scores: pd.DataFrame) -> np.ndarray:
    if not isinstance(scores, pd.DataFrame):
        raise ParameterError(f"scores must be a pandas DataFrame, got {type(scores).__name__}")
    if scores.columns.duplicated().any():
        dup = list(scores.columns[scores.columns.duplicated()].unique())
        raise DataError(f"scores: duplicate columns {dup[:5]}")
    try:
        return scores.to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise DataError(f"scores must be numeric (NaN for missing): {exc}") from None


def check_tree(
    scores: pd.DataFrame, tree: BenchmarkTree, tol: float = DEFAULT_TOLERANCE
) -> TreeCheck:
    """Compare every parent with the mean of its direct children (missing child counted as 0).

    Only cells where the parent is present are compared; parents absent from ``scores`` are
    skipped.

    Examples
    --------
    >>> from alignfactors.tree import BenchmarkTree
    >>> s = pd.DataFrame({"p": [0.5, 0.2], "a": [0.4, 0.4], "b": [0.6, np.nan]})
    >>> check_tree(s, BenchmarkTree({"p": ["a", "b"]}, roots=["p"])).max_abs_error
    0.0
    """
    x = _as_matrix(scores)
    pos = {c: i for i, c in enumerate(map(str, scores.columns))}
    filled = np.nan_to_num(x, nan=0.0)
    n_par = n_cells = 0
    worst = 0.0
    bad: list[tuple[str, str, float, float]] = []
    for parent, kids in tree.to_dict().items():
        if parent not in pos or not all(k in pos for k in kids):
            continue
        rows = ~np.isnan(x[:, pos[parent]])
        mean = filled[:, [pos[k] for k in kids]].mean(axis=1)
        err = np.abs(mean[rows] - x[rows, pos[parent]])
        n_par += 1
        n_cells += int(rows.sum())
        if err.size:
            worst = max(worst, float(err.max()))
        idx = np.flatnonzero(rows)
        for r in np.flatnonzero(err > tol):
            bad.append((parent, str(scores.index[idx[r]]), float(x[idx[r], pos[parent]]),
                        round(float(mean[idx[r]]), 12)))
    return TreeCheck(n_par, n_cells, round(worst, 12), float(tol), len(bad), tuple(bad))


def infer_tree(
    scores: pd.DataFrame,
    tol: float = DEFAULT_TOLERANCE,
    *,
    max_mismatch: float = 0.05,
    max_steps: int = 200_000,
) -> tuple[BenchmarkTree, TreeCheck]:
    """Infer the benchmark tree from scores whose columns are a pre-order walk of it.

    Every parent must equal the arithmetic mean of its direct children, a missing child
    counted as 0, within ``tol`` on every model where the parent is present (at least one).

    Parameters
    ----------
    scores : DataFrame
        Models x benchmark nodes, float, NaN = missing, columns in file (pre-)order.
    tol : float, default 0.001 + 1e-9
        Largest allowed ``|parent - mean(children)|``: parent and children are each rounded
        to 3 decimals in the export.
    max_mismatch : float, default 0.05
        Only when no exact tree exists: a parent may disagree with the mean of its children
        on at most ``floor(max_mismatch * n)`` of the ``n`` models where it is present (the
        real 2025 export has 5 such cells of 246 in ``ImageNet-C-top1``). Such cells are
        listed in ``check.mismatches``. Use 0 to require an exact tree.
    max_steps : int, default 200000
        Budget of search steps before giving up with :class:`TreeError`.

    Returns
    -------
    tree : BenchmarkTree
    check : TreeCheck

    Raises
    ------
    TreeError
        A column named like an aggregate (``average_*``, ``neural_*``, ``behavior_*``,
        ``engineering_*``) cannot be matched to the mean of the subtrees that follow it, or the
        search budget is exhausted.

    Notes
    -----
    The columns are read right to left, keeping the stack of complete subtrees that follow the
    current column (shift-reduce). Column ``j`` is either the parent of the next ``m`` subtrees
    (the top ``m`` of the stack), when their mean matches it, or a leaf. Exact parent
    hypotheses are tried first (smallest largest error first), then parents with a few mismatching models (``max_mismatch``,
    which needs >= 20 present cells to allow one), then the leaf. A parent's consistency
    depends only on which subtrees are its children, and what lies left of ``j`` sees only the
    stack's roots, so states ``(j, stack)`` that failed once are remembered. Parent hypotheses
    (fewest children first) are tried before the leaf hypothesis; on failure the search
    backtracks.

    Examples
    --------
    >>> s = pd.DataFrame({"average_x": [0.5, 0.3], "a": [0.4, 0.6], "b": [0.6, np.nan],
    ...                   "c": [0.1, 0.2]})
    >>> tree, check = infer_tree(s)
    >>> tree.to_dict(), tree.roots
    ({'average_x': ['a', 'b']}, ['average_x', 'c'])
    """
    if not (isinstance(tol, (int, float)) and np.isfinite(tol) and tol >= 0):
        raise ParameterError(f"tol must be a finite number >= 0, got {tol!r}")
    if not (isinstance(max_mismatch, (int, float)) and 0 <= max_mismatch < 0.5):
        raise ParameterError(f"max_mismatch must be in [0, 0.5), got {max_mismatch!r}")
    x = _as_matrix(scores)
    names = [str(c) for c in scores.columns]
    n = len(names)
    if n == 0:
        raise DataError("scores has no columns: nothing to infer a tree from")
    filled = np.nan_to_num(x, nan=0.0)
    present = ~np.isnan(x)
    required = [bool(_AGGREGATE_PATTERN.match(nm)) for nm in names]
    failed: set[tuple[int, tuple[int, ...]]] = set()
    steps = 0
    first_failure: list[tuple[int, tuple[int, ...]]] = []
    near_miss: dict[int, tuple] = {}

    def matches(j: int, stack: tuple[int, ...]) -> tuple[list[int], list[int]]:
        rows = present[:, j]
        if not rows.any() or not stack:
            return [], []
        kids = list(reversed(stack))
        means = np.cumsum(filled[rows][:, kids], axis=1) / np.arange(1, len(kids) + 1)
        err = np.abs(means - x[rows, j][:, None])
        ok = err <= tol
        n_bad = (~ok).sum(axis=0)
        exact_m = np.flatnonzero(n_bad == 0)  # best fit first, then fewer children
        exact = [int(m) + 1 for m in exact_m[np.argsort(err.max(axis=0)[exact_m], kind="stable")]]
        allowed = int(np.floor(max_mismatch * rows.sum() + 1e-9))
        near_m = np.flatnonzero((n_bad > 0) & (n_bad <= allowed))
        near = [int(m) + 1 for m in near_m[np.argsort(n_bad[near_m], kind="stable")]]
        if not exact and not required[j] and j not in near_miss and rows.sum() >= 2:
            frac = ok.mean(axis=0)
            m = int(frac.argmax())
            if frac[m] >= 0.5:
                r = int(np.flatnonzero(rows)[int(err[:, m].argmax())])
                near_miss[j] = (m + 1, tuple(kids[: m + 1]), int(ok[:, m].sum()), int(rows.sum()),
                                r, float(x[r, j]), float(means[:, m][err[:, m].argmax()]))
        return exact, near

    def solve(j: int, stack: tuple[int, ...], parents: dict[int, tuple[int, ...]]):
        nonlocal steps
        if j < 0:
            return stack, parents
        if (j, stack) in failed:
            return None
        steps += 1
        if steps > max_steps:
            raise TreeError(
                f"benchmark tree inference gave up after {max_steps} steps (at column "
                f"{names[j]!r}); pass tree= (a mapping parent -> children) or tree=False (flat)"
            )
        exact, near = matches(j, stack)

        def as_parent(m: int):
            kids = tuple(reversed(stack[len(stack) - m:]))
            return solve(j - 1, stack[: len(stack) - m] + (j,), {**parents, j: kids})

        for m in exact + near:
            res = as_parent(m)
            if res is not None:
                return res
        if not required[j]:
            res = solve(j - 1, stack + (j,), parents)
            if res is not None:
                return res
        if required[j] and not first_failure:
            first_failure.append((j, stack))
        failed.add((j, stack))
        return None

    result = solve(n - 1, (), {})
    if result is None:
        raise TreeError(_failure_message(names, x, filled, scores.index, first_failure[0],
                                         near_miss))
    stack, parents = result
    mapping = {names[p]: [names[k] for k in kids] for p, kids in sorted(parents.items())}
    from .tree import BenchmarkTree  # tree.py imports this module at its end

    tree = BenchmarkTree(mapping, roots=[names[r] for r in reversed(stack)])
    return tree, check_tree(scores, tree, tol)


def _failure_message(names, x, filled, index, failure, near_miss) -> str:
    j, stack = failure
    kids = list(reversed(stack))
    rows = np.flatnonzero(~np.isnan(x[:, j]))
    lines = []
    culprits = sorted((k for k in near_miss if k > j), key=lambda k: (-near_miss[k][2] / near_miss[k][3], k))
    if culprits:
        k = culprits[0]
        m, ch, n_ok, n_rows, r, pv, mv = near_miss[k]
        shown = ", ".join(repr(names[c]) for c in ch[:4]) + (", ..." if len(ch) > 4 else "")
        lines.append(
            f"column {names[k]!r} equals the mean of the {m} columns after it ({shown}) on "
            f"{n_ok} of {n_rows} models but not on model_id {str(index[r])!r} "
            f"({names[k]} = {pv:.3f}, mean of children = {mv:.3f}); "
        )
    if rows.size == 0:
        detail = f"column {names[j]!r} looks like an aggregate but has no value on any model"
    elif not kids:
        detail = f"column {names[j]!r} looks like an aggregate but has no columns after it"
    else:
        means = np.cumsum(filled[rows][:, kids], axis=1) / np.arange(1, len(kids) + 1)
        err = np.abs(means - x[rows, j][:, None])
        m = int(err.max(axis=0).argmin())
        r = int(err[:, m].argmax())
        shown = ", ".join(repr(names[c]) for c in kids[: min(m + 1, 4)])
        shown += ", ..." if m + 1 > 4 else ""
        detail = (
            f"column {names[j]!r} looks like an aggregate but is not the mean of the subtrees "
            f"after it; closest: the mean of {m + 1} ({shown}) differs on model_id "
            f"{str(index[rows[r]])!r} ({names[j]} = {x[rows[r], j]:.3f}, mean = {means[r, m]:.3f})"
        )
    return (
        "cannot infer the benchmark tree (every parent must be the mean of its direct children, "
        "missing child = 0, and the columns list the tree in pre-order, each aggregate before "
        "its children as the website export does): " + "".join(lines) + detail + ". If the "
        "columns were reordered, restore that order; or pass tree= (a mapping "
        "parent -> children) to give the tree, or tree=False to treat every column as a leaf."
    )
