"""Inferring a benchmark tree from scores, and checking a tree against them.

Public names are re-exported by :mod:`alignfactors.io.tree`; import them from there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from .._search import OutOfSteps, describe_fit as _describe, search
from ..errors import DataError, ParameterError, TreeError
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
    notes : tuple of str
        What the inference decided that the values alone do not show (equal columns, columns
        too sparse to tell, near misses kept as leaves, the column order used), one sentence each.
    """

    n_parents: int
    n_cells_checked: int
    max_abs_error: float
    tolerance: float
    n_mismatched: int = 0
    mismatches: tuple[tuple[str, str, float, float], ...] = ()
    notes: tuple[str, ...] = ()

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
        if self.notes:
            text += f"; {len(self.notes)} notes (see .notes)"
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
    skipped. A parent with a known rule (``tree.rule(parent)``) is compared with that rule:
    its weights, and the mean over the children present when its ``missing`` is
    ``"skip"``.

    Examples
    --------
    >>> from alignfactors.io.tree import BenchmarkTree
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
        rule = tree.rule(parent) or {}
        w = np.asarray(rule.get("weights", np.full(len(kids), 1.0 / len(kids))), float)
        if rule.get("rule") not in (None, "mean"):
            pass  # a weighted rule: the weights as given
        elif rule.get("missing") == "skip":  # the mean over the children present
            w = np.full(len(kids), 1.0 / len(kids))
        cols = [pos[k] for k in kids]
        if rule.get("missing") == "skip":
            have = ~np.isnan(x[:, cols])
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = (filled[:, cols] @ w) / (have @ w)
        else:
            mean = filled[:, cols] @ w
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
    """Infer the benchmark tree from the scores alone, whatever the column order.

    Every parent must equal the arithmetic mean of its direct children, a missing child
    counted as 0, within ``tol`` on every model where the parent is present. The columns may
    come in any order: pre-order (the older export), breadth-first (today's export) or
    shuffled (the snapshot JSON).

    Parameters
    ----------
    scores : DataFrame
        Models x benchmark nodes, float, NaN = missing.
    tol : float, default 0.001 + 1e-9
        Largest allowed ``|parent - mean(children)|``: parent and children are each rounded
        to 3 decimals in the export.
    max_mismatch : float, default 0.05
        A parent may disagree with the mean of its children on at most
        ``floor(max_mismatch * n)`` of the ``n`` models where it is present (the real 2025
        export has 5 such cells of 246 in ``ImageNet-C-top1``); needs >= 20 present cells to
        allow one. Such cells are listed in ``check.mismatches``. Use 0 to require exact parents.
    max_steps : int, default 200000
        Budget of fits before giving up with :class:`TreeError`.

    Returns
    -------
    tree : BenchmarkTree
        Children and roots in column order; each parent's rule (``"mean"``, missing as 0) is in
        ``tree.rule(parent)``.
    check : TreeCheck
        The check of the tree on every cell, with ``notes`` on what the values alone did not
        decide.

    Raises
    ------
    TreeError
        A column named like an aggregate (``average_*``, ``neural_*``, ``behavior_*``,
        ``engineering_*``) is not the mean of any set of other columns, or the budget is spent.

    Notes
    -----
    The search is :mod:`alignfactors._search` restricted to Brain-Score's rule: every column is
    regressed on all others by non-negative least squares; the exact ones (within ``tol``,
    allowing the mismatches) are the parents; parents are then taken bottom-up, each written
    over the leaves and parents not yet inside another parent, which gives its direct
    children; every parent is checked against the plain mean of those children.

    Two columns equal on every model (a parent with one child) cannot be told apart by their
    values: the one that comes first is taken as the parent (both export layouts list a parent
    before its children) and a note says so. A column whose exact fit rests on too few models
    (fewer than twice the number of children plus 3) is undetermined by its values; the tree
    is then read from the column order (pre-order, then breadth-first) when that order is
    consistent with what the values decided, and the note says so.

    Examples
    --------
    >>> s = pd.DataFrame({"a": [0.4, 0.6], "c": [0.1, 0.2], "average_x": [0.5, 0.3],
    ...                   "b": [0.6, np.nan]})
    >>> tree, check = infer_tree(s)
    >>> tree.to_dict(), tree.roots
    ({'average_x': ['a', 'b']}, ['c', 'average_x'])
    """
    if not (isinstance(tol, (int, float)) and np.isfinite(tol) and tol >= 0):
        raise ParameterError(f"tol must be a finite number >= 0, got {tol!r}")
    if not (isinstance(max_mismatch, (int, float)) and 0 <= max_mismatch < 0.5):
        raise ParameterError(f"max_mismatch must be in [0, 0.5), got {max_mismatch!r}")
    x = _as_matrix(scores)
    names = [str(c) for c in scores.columns]
    if not names:
        raise DataError("scores has no columns: nothing to infer a tree from")
    required = frozenset(j for j, nm in enumerate(names) if _AGGREGATE_PATTERN.match(nm))
    try:
        res = search(x, names, np.full(len(names), tol / 2), rules=("mean",),
                     policies=("as_zero", "skip"), max_mismatch=max_mismatch,
                     required=required, max_steps=max_steps)
    except OutOfSteps as exc:
        raise TreeError(
            f"benchmark tree inference gave up after {max_steps} steps (at column "
            f"{exc.args[0]!r}); pass tree= (a mapping parent -> children) or tree=False (flat)"
        ) from None
    mapping, notes = _mapping(res, names, x, scores.index)
    unmatched = sorted(j for j in required if names[j] not in mapping)
    if res.undetermined or unmatched:
        parsed = _from_order(scores, tol, max_mismatch, max_steps, res, names)
        if parsed is not None:
            mapping, how = parsed
            notes = [
                f"too few models to decide every parent from the values alone "
                f"({', '.join(repr(names[j]) for j in sorted(res.undetermined)[:3])}"
                f"{' ...' if len(res.undetermined) > 3 else ''}); the tree was read from the "
                f"column order ({how}), which agrees with what the values decided"]
            unmatched = []
        elif not unmatched:
            notes += [f"column {names[j]!r} is the mean of {len(f.cols)} other columns on all "
                      f"{f.n_rows} models where it is present, too few to tell whether it is a "
                      "parent: kept as a leaf" for j, f in sorted(res.undetermined.items())]
    if unmatched:
        raise TreeError(_failure_message_free(names, x, scores.index, unmatched[0], res))

    policy = {names[p]: f.policy for p, f in res.fits.items()}
    rules = {p: {"rule": "mean", "weights": [1.0 / len(k)] * len(k),
                 "missing": policy.get(p, "as_zero")} for p, k in mapping.items()}
    tree = BenchmarkTree.from_mapping(mapping, order=names, rules=rules)
    check = check_tree(scores, tree, tol)
    return tree, replace(check, notes=tuple(notes))


def _mapping(res, names, x, index) -> tuple[dict[str, list[str]], list[str]]:
    """``parent -> children`` (column order) from a search result, equal columns chained."""
    pos = {nm: i for i, nm in enumerate(names)}
    mapping = {names[p]: [names[c] for c in sorted(k)] for p, k in res.children.items()}
    notes = []
    for group in res.duplicates:
        first, rest = names[group[0]], [names[g] for g in group[1:]]
        chain = [first, *rest]
        if first in mapping:  # the group's role goes to its last member
            mapping[chain[-1]] = mapping.pop(first)
        for a, b in zip(chain, chain[1:]):
            mapping[a] = [b]
        notes.append(
            f"columns {', '.join(repr(c) for c in chain)} are equal on every model, so the values "
            f"cannot say which is the parent: {first!r} is taken as the parent of {rest[0]!r} "
            "because it comes first (exports list a parent before its children)")
    for p, f in sorted(res.near.items()):
        if names[p] in mapping:
            continue
        r = f.worst_row
        notes.append(
            f"column {names[p]!r} is close to {_describe(f, names)} but misses by up to "
            f"{f.max_error:.3g} (model_id {str(index[r])!r}; on {f.n_bad} of {f.n_rows} models "
            "beyond the rounding): kept as a leaf")
    for p, f in sorted(res.demoted.items()):
        notes.append(f"column {names[p]!r} equals {_describe(f, names)} but not as a plain mean "
                     "of its direct children: kept as a leaf")
    for p, cols in sorted(res.overlapping.items()):
        notes.append(f"column {names[p]!r} is an exact combination of columns that belong to "
                     "other parents (not a tree): kept as a leaf")
    for p, (a, b) in sorted(res.ambiguous.items()):
        notes.append(f"column {names[p]!r} is fit equally well by two sets of columns: "
                     f"{[names[c] for c in a]} and {[names[c] for c in b]}; the first is kept "
                     "(pass tree= to choose)")
    del pos
    return mapping, notes


def _from_order(scores, tol, max_mismatch, max_steps, res, names):
    """The tree read from the column order (pre-order, then breadth-first), if consistent."""
    decided_leaves = {names[p] for p, f in res.best.items()
                      if p not in res.undetermined and p not in res.children
                      and f.n_bad > int(np.floor(max_mismatch * f.n_rows + 1e-9))}
    decided_parents = {names[p] for p in res.children if p not in res.undetermined}
    attempts = [("pre-order", lambda: _infer_preorder(scores, tol, max_mismatch=max_mismatch,
                                                      max_steps=max_steps)[0].to_dict())]
    if len(names) <= 60:
        attempts.append(("breadth-first", lambda: _infer_bfs(scores, tol, max_mismatch)))
    for how, attempt in attempts:
        try:
            mapping = attempt()
        except TreeError:
            continue
        if mapping is None:
            continue
        if decided_parents <= set(mapping) and not decided_leaves & set(mapping):
            return mapping, how
    return None


def _infer_bfs(scores, tol, max_mismatch) -> dict[str, list[str]] | None:
    """The tree read from a breadth-first column order: roots, then each node's children in turn.

    State ``(i, j)``: nodes before ``i`` have their children placed, columns before ``j`` are
    placed; node ``i`` takes the next ``c >= 0`` columns as children. Memoised, so O(m^2) states.
    """
    import sys
    from functools import lru_cache

    x = _as_matrix(scores)
    names = [str(c) for c in scores.columns]
    m = len(names)
    filled = np.nan_to_num(x, nan=0.0)
    present = ~np.isnan(x)
    required = [bool(_AGGREGATE_PATTERN.match(nm)) for nm in names]

    def options(i: int, j: int) -> list[int]:
        rows = present[:, i]
        out = [] if required[i] else [0]
        if not rows.any() or j >= m:
            return out
        means = np.cumsum(filled[rows][:, j:], axis=1) / np.arange(1, m - j + 1)
        n_bad = (np.abs(means - x[rows, i][:, None]) > tol).sum(axis=0)
        allowed = int(np.floor(max_mismatch * rows.sum() + 1e-9))
        good = np.flatnonzero(n_bad <= allowed)
        return [int(c) + 1 for c in good[np.argsort(n_bad[good], kind="stable")]] + out

    @lru_cache(maxsize=None)
    def feasible(i: int, j: int):
        if i == m:
            return () if j == m else None
        if i >= j:
            return None
        for c in options(i, j):
            rest = feasible(i + 1, j + c)
            if rest is not None:
                return ((i, c),) + rest
        return None

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 4 * m + 100))
    try:
        for a in range(1, m + 1):
            plan = feasible(0, a)
            if plan is not None:
                break
        else:
            return None
    finally:
        sys.setrecursionlimit(limit)
    mapping, j = {}, a
    for i, c in plan:
        if c:
            mapping[names[i]] = names[j:j + c]
        j += c
    return mapping


def _failure_message_free(names, x, index, j, res) -> str:
    """Why column ``j`` (named like an aggregate) is no parent, with the closest mean."""
    lines = []
    culprits = sorted((k for k, f in res.near.items() if k != j),
                      key=lambda k: (-(res.near[k].n_rows - res.near[k].n_bad) / res.near[k].n_rows, k))
    if culprits:
        k = culprits[0]
        f = res.near[k]
        mean_fit = _mean_of(x, f.cols, k)
        r, n_ok, n_rows, mv = mean_fit
        if n_ok * 2 >= n_rows:
            shown = ", ".join(repr(names[c]) for c in f.cols[:4]) + (", ..." if len(f.cols) > 4 else "")
            lines.append(
                f"column {names[k]!r} equals the mean of the {len(f.cols)} columns ({shown}) on "
                f"{n_ok} of {n_rows} models but not on model_id {str(index[r])!r} "
                f"({names[k]} = {x[r, k]:.3f}, mean of children = {mv:.3f}); ")
    rows = np.flatnonzero(~np.isnan(x[:, j]))
    f = res.best.get(j)
    if rows.size == 0:
        detail = f"column {names[j]!r} looks like an aggregate but has no value on any model"
    elif f is None or not f.cols:
        detail = (f"column {names[j]!r} looks like an aggregate but is not the mean of any set of "
                  "other columns (no other column has a value where it has one)")
    else:
        cands = [f.cols] + [[c] for c in range(len(names)) if c != j]
        best = min(cands, key=lambda cs: (-_mean_of(x, cs, j)[1], _max_err(x, cs, j)))
        r, _, _, mv = _mean_of(x, best, j)
        shown = ", ".join(repr(names[c]) for c in best[:4]) + (", ..." if len(best) > 4 else "")
        detail = (
            f"column {names[j]!r} looks like an aggregate but is not the mean of any set of other "
            f"columns; closest: the mean of {len(best)} ({shown}) differs on model_id "
            f"{str(index[r])!r} ({names[j]} = {x[r, j]:.3f}, mean = {mv:.3f})")
    return (
        "cannot infer the benchmark tree (every parent must be the mean of its direct children, "
        "missing child = 0, within the rounding): " + "".join(lines) + detail + ". Pass tree= "
        "(a mapping parent -> children) to give the tree, or tree=False to treat every column "
        "as a leaf."
    )


def _mean_of(x, cols, j):
    rows = ~np.isnan(x[:, j])
    mean = np.nan_to_num(x[:, cols], nan=0.0).mean(axis=1)
    err = np.where(rows, np.abs(mean - np.nan_to_num(x[:, j])), -1.0)
    r = int(err.argmax())
    return r, int(((err >= 0) & (err <= DEFAULT_TOLERANCE)).sum()), int(rows.sum()), float(mean[r])


def _max_err(x, cols, j):
    rows = ~np.isnan(x[:, j])
    mean = np.nan_to_num(x[:, cols], nan=0.0).mean(axis=1)
    return float(np.abs(mean[rows] - x[rows, j]).max())

def _infer_preorder(
    scores: pd.DataFrame,
    tol: float = DEFAULT_TOLERANCE,
    *,
    max_mismatch: float = 0.05,
    max_steps: int = 200_000,
) -> tuple[BenchmarkTree, TreeCheck]:
    """The tree read from a pre-order column order (shift-reduce right to left, backtracking).

    Used when the values alone cannot decide (too few models). Column ``j`` is either the parent
    of the next ``m`` complete subtrees (the top ``m`` of the stack) when their mean matches it,
    or a leaf; states ``(j, stack)`` that failed once are remembered.
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
