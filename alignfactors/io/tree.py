"""The benchmark tree of a leaderboard and its inference from the scores.

A Brain-Score export lists its benchmark nodes as columns in pre-order of the benchmark tree
and does not mark which columns are parents. Every parent is the arithmetic mean of its direct
children (a missing child counts as 0), rounded to 3 decimals. :func:`infer_tree` recovers the
tree from that rule; :class:`BenchmarkTree` holds it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from ..errors import DataError, ParameterError

__all__ = ["BenchmarkTree", "TreeCheck", "infer_tree", "check_tree", "DEFAULT_TOLERANCE"]

_DOMAIN_PATTERNS = (
    (re.compile(r"^neural[_\-]", re.I), "neural"),
    (re.compile(r"^behaviou?r(al)?[_\-]", re.I), "behavioral"),
    (re.compile(r"^engineering[_\-]", re.I), "engineering"),
)
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
    rules : mapping of str to mapping, optional
        How each parent is computed from its children, as detected or given: ``{"rule":
        "mean" | "sum" | "weighted_mean" | "weighted", "weights": [one per child, in order],
        "missing": "complete" | "as_zero"}``. Read with :meth:`rule`. Not part of equality.

    Trees pickle (and deep-copy) like plain values, so they can be shipped to worker processes.

    Examples
    --------
    >>> tree = BenchmarkTree({"average": ["neural_x", "behavior_x"],
    ...                       "neural_x": ["V1", "IT"], "behavior_x": ["b1"]}, roots=["average"])
    >>> tree.leaves()
    ['V1', 'IT', 'b1']
    >>> tree.domain("IT"), tree.region("IT"), tree.depth("IT")
    ('neural', 'IT', 2)
    """

    __slots__ = ("_children", "_parent", "_roots", "_nodes", "_depth", "_domain", "_anchor",
                 "_explicit", "_rules")

    def __init__(
        self,
        children: Mapping[str, Sequence[str]],
        roots: Sequence[str],
        domains: Mapping[str, str] | None = None,
        rules: Mapping[str, Mapping] | None = None,
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
        checked_rules = {}
        for p, r in (rules or {}).items():
            p = str(p)
            if not kids.get(p):
                raise DataError(f"tree: rules given for {p!r}, which is not a parent")
            r = dict(r)
            if "weights" in r and len(r["weights"]) != len(kids[p]):
                raise DataError(f"tree: {len(r['weights'])} weights for the {len(kids[p])} "
                                f"children of {p!r}")
            checked_rules[p] = r
        self._explicit = explicit
        self._rules = checked_rules
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
        rules: Mapping[str, Mapping] | None = None,
    ) -> BenchmarkTree:
        """Build a tree from ``parent -> children`` over the nodes listed in ``order``.

        Nodes of ``order`` that are nobody's child become roots, in the order given; children
        keep the order of ``mapping``.

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
        return cls(mapping, roots=roots, domains=domains, rules=rules)

    def with_domains(self, domains: Mapping[str, str]) -> BenchmarkTree:
        """A copy of the tree with explicit domains set (added to those already explicit)."""
        return BenchmarkTree(self.to_dict(), roots=self._roots,
                             domains={**self._explicit, **{str(k): v for k, v in domains.items()}},
                             rules=self._rules)

    def rule(self, name: str) -> dict | None:
        """How parent ``name`` is computed from its children (``None`` for a leaf or when unknown).

        Examples
        --------
        >>> t = BenchmarkTree({"p": ["a", "b"]}, roots=["p"],
        ...                   rules={"p": {"rule": "mean", "weights": [0.5, 0.5]}})
        >>> t.rule("p")["rule"], t.rule("a")
        ('mean', None)
        """
        r = self._rules.get(self._check(name))
        return None if r is None else dict(r)

    @property
    def rules(self) -> dict[str, dict]:
        """``parent -> rule`` for every parent with a known rule."""
        return {p: dict(r) for p, r in self._rules.items()}

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

    def __reduce__(self):
        # Rebuilt through __init__, so pickling, copy and deepcopy work despite immutability.
        return (BenchmarkTree, (self.to_dict(), list(self._roots), dict(self._explicit),
                                self.rules))

    def __repr__(self) -> str:
        n_par = sum(1 for c in self._children.values() if c)
        return (
            f"BenchmarkTree(roots={list(self._roots)}, {len(self._nodes)} nodes, "
            f"{n_par} parents, {len(self._nodes) - n_par} leaves)"
        )
