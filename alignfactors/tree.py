"""The benchmark tree of a leaderboard and its inference from the scores.

A Brain-Score export lists its benchmark nodes as columns in pre-order of the benchmark tree
and does not mark which columns are parents. Every parent is the arithmetic mean of its direct
children (a missing child counts as 0), rounded to 3 decimals. :func:`infer_tree` recovers the
tree from that rule; :class:`BenchmarkTree` holds it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import DataError, ParameterError, TreeError

__all__ = ["BenchmarkTree", "TreeCheck", "infer_tree", "check_tree", "DEFAULT_TOLERANCE"]

#: Parent and children are each rounded to 3 decimals: |rounded mean - parent| <= 0.0005 + 0.0005.
DEFAULT_TOLERANCE = 0.001 + 1e-9

_DOMAIN_PATTERNS = (
    (re.compile(r"^neural[_\-]", re.I), "neural"),
    (re.compile(r"^behaviou?r(al)?[_\-]", re.I), "behavioral"),
    (re.compile(r"^engineering[_\-]", re.I), "engineering"),
)
_AGGREGATE_PATTERN = re.compile(r"^(average|neural|behaviou?r(al)?|engineering)[_\-]", re.I)
_DOMAIN_ALIASES = {"behavior": "behavioral", "behaviour": "behavioral", "behavioural": "behavioral"}


def _name_domain(name: str) -> str | None:
    for pattern, domain in _DOMAIN_PATTERNS:
        if pattern.match(name):
            return domain
    return None


def _normalise_domain(value: object, metric: object) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if not isinstance(value, str) or not value.strip():
        raise ParameterError(
            f"domains: the domain of {metric!r} must be a non-empty string, got {value!r}"
        )
    value = value.strip().lower()
    return _DOMAIN_ALIASES.get(value, value)


class BenchmarkTree:
    """An immutable forest of benchmark nodes (aggregates and leaf benchmarks).

    Parameters
    ----------
    children : mapping of str to sequence of str
        Parent name -> names of its direct children, in order. Nodes without children may be
        omitted.
    roots : sequence of str
        The top-level nodes, in order. Every node must be reachable from exactly one root.
    domains : mapping of str to str, optional
        Explicit domain of nodes (``"neural"``, ``"behavioral"``, ``"engineering"`` or any other
        label). A node without an explicit domain takes that of its nearest ancestor with one,
        else the one implied by the nearest ancestor-or-self named like ``neural_*``,
        ``behavior_*``/``behaviour_*`` or ``engineering_*``.

    Examples
    --------
    >>> tree = BenchmarkTree({"average": ["neural_x", "behavior_x"],
    ...                       "neural_x": ["V1", "IT"], "behavior_x": ["b1"]}, roots=["average"])
    >>> tree.leaves()
    ['V1', 'IT', 'b1']
    >>> tree.domain("IT"), tree.region("IT"), tree.depth("IT")
    ('neural', 'IT', 2)
    """

    __slots__ = ("_children", "_parent", "_roots", "_nodes", "_depth", "_domain", "_anchor")

    def __init__(
        self,
        children: Mapping[str, Sequence[str]],
        roots: Sequence[str],
        domains: Mapping[str, str] | None = None,
    ) -> None:
        kids: dict[str, tuple[str, ...]] = {}
        parent: dict[str, str | None] = {}
        for p, cs in children.items():
            p = str(p)
            if isinstance(cs, str):
                raise ParameterError(f"tree: children of {p!r} must be a list of names, got {cs!r}")
            cs = tuple(str(c) for c in cs)
            if len(set(cs)) != len(cs):
                raise DataError(f"tree: node {p!r} lists a child twice: {list(cs)}")
            kids[p] = cs
            for c in cs:
                if c in parent:
                    raise DataError(f"tree: node {c!r} has two parents, {parent[c]!r} and {p!r}")
                parent[c] = p
        roots = tuple(str(r) for r in roots)
        for r in roots:
            if r in parent:
                raise DataError(f"tree: root {r!r} also has a parent, {parent[r]!r}")
            parent[r] = None
        nodes: list[str] = []
        depth: dict[str, int] = {}
        stack = [(r, 0) for r in reversed(roots)]
        seen: set[str] = set()
        while stack:
            name, d = stack.pop()
            if name in seen:
                raise DataError(f"tree: node {name!r} is reached twice (a cycle or a repeated root)")
            seen.add(name)
            nodes.append(name)
            depth[name] = d
            stack.extend((c, d + 1) for c in reversed(kids.get(name, ())))
        unreached = [n for n in parent if n not in seen] + [p for p in kids if p not in seen]
        if unreached:
            raise DataError(
                f"tree: nodes not reachable from the roots {list(roots)}: {sorted(set(unreached))[:5]}"
            )
        explicit = {}
        for k, v in (domains or {}).items():
            if str(k) not in seen:
                raise DataError(f"domains: {k!r} is not a node of the tree")
            explicit[str(k)] = _normalise_domain(v, k)
        domain: dict[str, str | None] = {}
        anchor: dict[str, str | None] = {}  # the domain node a node sits at or under
        for name in nodes:  # pre-order: parents first
            p = parent[name]
            if name in explicit:
                domain[name] = explicit[name]
            elif _name_domain(name) is not None:
                domain[name] = _name_domain(name)
            else:
                domain[name] = domain[p] if p is not None else None
            named = _name_domain(name) is not None
            anchor[name] = name if named else (anchor[p] if p is not None else None)
        self._children = {n: kids.get(n, ()) for n in nodes}
        self._parent = {n: parent[n] for n in nodes}
        self._roots = roots
        self._depth = depth
        self._domain = domain
        self._anchor = anchor
        self._nodes = tuple(nodes)  # set last: __setattr__ refuses changes once it exists

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def flat(cls, names: Iterable[str], domains: Mapping[str, str] | None = None) -> BenchmarkTree:
        """A tree of leaves only (no aggregates).

        Examples
        --------
        >>> BenchmarkTree.flat(["a", "b"], domains={"a": "neural"}).domain("a")
        'neural'
        """
        names = [str(n) for n in names]
        return cls({}, roots=names, domains=domains)

    @classmethod
    def from_mapping(
        cls,
        mapping: Mapping[str, Sequence[str]],
        order: Sequence[str],
        domains: Mapping[str, str] | None = None,
    ) -> BenchmarkTree:
        """Build a tree from ``parent -> children`` over the nodes listed in ``order``.

        Nodes of ``order`` that are nobody's child become roots, in the order given.

        Raises
        ------
        DataError
            A name in ``mapping`` is not in ``order``, or a node has two parents.

        Examples
        --------
        >>> t = BenchmarkTree.from_mapping({"avg": ["a", "b"]}, order=["avg", "a", "b", "c"])
        >>> t.roots
        ['avg', 'c']
        """
        order = [str(n) for n in order]
        known = set(order)
        unknown = [str(n) for p, cs in mapping.items() for n in [p, *cs] if str(n) not in known]
        if unknown:
            raise DataError(
                f"tree: {sorted(set(unknown))[:5]} not among the benchmark columns "
                f"(columns start {order[:5]})"
            )
        child_set = {str(c) for cs in mapping.values() for c in cs}
        roots = [n for n in order if n not in child_set]
        return cls(mapping, roots=roots, domains=domains)

    def with_domains(self, domains: Mapping[str, str]) -> BenchmarkTree:
        """A copy of the tree with explicit domains set (added to those already explicit)."""
        return BenchmarkTree(self.to_dict(), roots=self._roots, domains=domains)

    # -- queries --------------------------------------------------------------------------------
    def _check(self, name: str) -> str:
        if name not in self._parent:
            few = ", ".join(repr(n) for n in self._nodes[:4])
            raise DataError(
                f"unknown benchmark node {name!r}; valid nodes include {few} "
                f"({len(self._nodes)} in all)"
            )
        return name

    @property
    def roots(self) -> list[str]:
        """Top-level nodes, in order."""
        return list(self._roots)

    @property
    def nodes(self) -> list[str]:
        """All node names in pre-order."""
        return list(self._nodes)

    def children(self, name: str) -> list[str]:
        """Direct children of ``name`` (empty for a leaf)."""
        return list(self._children[self._check(name)])

    def parent(self, name: str) -> str | None:
        """Parent of ``name``; ``None`` for a root."""
        return self._parent[self._check(name)]

    def is_leaf(self, name: str) -> bool:
        """Whether ``name`` has no children."""
        return not self._children[self._check(name)]

    def depth(self, name: str) -> int:
        """Distance from the root (roots have depth 0)."""
        return self._depth[self._check(name)]

    def descendants(self, name: str) -> list[str]:
        """All nodes below ``name``, in pre-order (``name`` excluded)."""
        out: list[str] = []
        stack = list(reversed(self._children[self._check(name)]))
        while stack:
            n = stack.pop()
            out.append(n)
            stack.extend(reversed(self._children[n]))
        return out

    def leaves(self, under: str | None = None) -> list[str]:
        """Leaf nodes in pre-order, of the whole tree or of the subtree at ``under``.

        Examples
        --------
        >>> t = BenchmarkTree({"p": ["a", "b"]}, roots=["p", "c"])
        >>> t.leaves(), t.leaves(under="p")
        (['a', 'b', 'c'], ['a', 'b'])
        """
        if under is None:
            pool: Sequence[str] = self._nodes
        else:
            pool = [under] if self.is_leaf(under) else self.descendants(under)
        return [n for n in pool if not self._children[n]]

    def domain(self, name: str) -> str | None:
        """``"neural"``, ``"behavioral"``, ``"engineering"`` (or an explicit label) or ``None``."""
        return self._domain[self._check(name)]

    def region(self, name: str) -> str | None:
        """For a node under the neural domain node: its ancestor-or-self that is a direct child
        of that node (e.g. ``"V1"``, ``"IT"``); ``None`` otherwise."""
        anchor = self._anchor[self._check(name)]
        if anchor is None or _name_domain(anchor) != "neural" or name == anchor:
            return None
        node = name
        while self._parent[node] != anchor:
            node = self._parent[node]  # type: ignore[assignment]
        return node

    def _anchors(self) -> list[str]:
        named = [n for n in self._nodes if self._anchor[n] == n]
        if named:
            return named
        return list(self._roots)

    def nodes_at(self, level: int | str, domains: Iterable[str] | None = None) -> list[str]:
        """Nodes at one level of every domain subtree, in pre-order.

        Parameters
        ----------
        level : int or "leaves"
            ``"leaves"`` gives all leaves. An int is a depth relative to the domain nodes
            (``neural_*``, ``behavior_*``, ``engineering_*``; the roots when there are none):
            level 1 under ``neural_vision`` is V1, V2, V4, IT. Leaves shallower than ``level``
            count as themselves.
        domains : iterable of str, optional
            Keep only nodes of these domains.

        Examples
        --------
        >>> t = BenchmarkTree({"neural_x": ["V1", "IT"], "V1": ["a", "b"],
        ...                    "behavior_x": ["c"]}, roots=["neural_x", "behavior_x"])
        >>> t.nodes_at(1), t.nodes_at(2)
        (['V1', 'IT', 'c'], ['a', 'b', 'IT', 'c'])
        """
        keep = None if domains is None else {_normalise_domain(d, "domains") for d in domains}
        if isinstance(level, str):
            if level != "leaves":
                raise ParameterError(f"level must be 'leaves' or an int >= 0, got {level!r}")
            out = self.leaves()
        elif isinstance(level, (int, np.integer)) and not isinstance(level, bool) and level >= 0:
            out = []
            for a in self._anchors():
                base = self._depth[a]
                for n in [a, *self.descendants(a)]:
                    rel = self._depth[n] - base
                    if rel == level or (rel < level and not self._children[n]):
                        out.append(n)
        else:
            raise ParameterError(f"level must be 'leaves' or an int >= 0, got {level!r}")
        if keep is not None:
            out = [n for n in out if self._domain[n] in keep]
        return out

    def to_dict(self) -> dict[str, list[str]]:
        """``parent -> children`` for every parent, in pre-order."""
        return {n: list(c) for n, c in self._children.items() if c}

    # -- dunder ---------------------------------------------------------------------------------
    def __contains__(self, name: object) -> bool:
        return name in self._parent

    def __len__(self) -> int:
        return len(self._nodes)

    def __iter__(self):
        return iter(self._nodes)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BenchmarkTree):
            return NotImplemented
        return (
            self._roots == other._roots
            and self._children == other._children
            and self._domain == other._domain
        )

    def __hash__(self) -> int:
        return hash((self._roots, tuple(self._children.items())))

    def __setattr__(self, key: str, value: object) -> None:
        if hasattr(self, "_nodes"):
            raise AttributeError("BenchmarkTree is immutable")
        object.__setattr__(self, key, value)

    def __repr__(self) -> str:
        n_par = sum(1 for c in self._children.values() if c)
        return (
            f"BenchmarkTree(roots={list(self._roots)}, {len(self._nodes)} nodes, "
            f"{n_par} parents, {len(self._nodes) - n_par} leaves)"
        )


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
        "missing child = 0): " + "".join(lines) + detail + ". Pass tree= (a mapping "
        "parent -> children) to give the tree, or tree=False to treat every column as a leaf."
    )
