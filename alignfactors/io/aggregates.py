"""Finding a leaderboard's own summary columns from the values alone.

Most leaderboards carry columns that are not measurements: an "Average" or "Overall" (the mean,
a fixed-weight mean or the sum of other columns, at any depth), a rank, a constant. Analysed as
metrics they correlate with their own parts and inflate every agreement.
:func:`detect_aggregates` finds them, whatever the column order, and says how.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from .._search import OutOfSteps, RULES, describe_fit as _describe, half_widths, search
from threadpoolctl import threadpool_limits

from ..errors import DataError, ParameterError, ParameterTypeError
from .tree import BenchmarkTree

__all__ = ["detect_aggregates", "apply_aggregates", "AggregateDetection", "AggregateFit",
           "fit_rules", "MISSING_RULES"]

#: How a parent treats a child without a score: ``"complete"`` (the parent exists only when every
#: child does), ``"as_zero"`` (Brain-Score's 2025 export: a missing child counts as 0),
#: ``"skip"`` (the mean over the children present, as in Brain-Score's snapshot JSON).
MISSING_RULES = ("complete", "as_zero", "skip")
_DEFAULT_RULES = ("mean", "sum", "weighted_mean")


@dataclass(frozen=True)
class AggregateFit:
    """One parent column and the rule that reproduces it from its direct children.

    Attributes
    ----------
    parent : str
    children : tuple of str
        In column order.
    rule : {"mean", "sum", "weighted_mean", "weighted"}
        ``"weighted_mean"``: fixed non-negative weights summing to 1; ``"weighted"``: fixed
        non-negative weights (a rescaled copy of one column, say).
    weights : tuple of float
        One per child (``1/k`` for a mean, 1 for a sum, estimated otherwise).
    missing : {"complete", "as_zero", "skip"}
        How a missing child is treated (see :data:`MISSING_RULES`).
    n_checked : int
        Models on which the rule was checked (the parent present).
    n_mismatched : int
        Of those, models outside the printed rounding (allowed by ``max_mismatch``).
    max_error : float
        Largest ``|parent - rule(children)|`` over the checked models.
    tolerance : float
        The largest tolerance used: half a unit of the parent's last printed decimal plus the
        weighted half-units of its children's.
    """

    parent: str
    children: tuple[str, ...]
    rule: str
    weights: tuple[float, ...]
    missing: str
    n_checked: int
    n_mismatched: int
    max_error: float
    tolerance: float

    def describe(self) -> str:
        """One line: ``'avg' = mean of 3 ('a', 'b', 'c')``."""
        kids = ", ".join(repr(c) for c in self.children[:6]) + (", ..." if len(self.children) > 6
                                                                 else "")
        if self.rule in ("mean", "sum"):
            what = f"{self.rule} of {len(self.children)} ({kids})"
        else:
            terms = " + ".join(f"{w:.3g}*{c!r}" for w, c in zip(self.weights[:6], self.children))
            what = (("weighted mean " if self.rule == "weighted_mean" else "weighted sum ")
                    + f"{terms}" + (" + ..." if len(self.children) > 6 else ""))
        how = {"complete": "", "as_zero": ", a missing child counted as 0",
               "skip": ", over the children present"}[self.missing]
        return f"{self.parent!r} = {what}{how}"


@dataclass(frozen=True)
class AggregateDetection:
    """What :func:`detect_aggregates` found in a table.

    Attributes
    ----------
    columns : tuple of str
        The columns examined, in order.
    aggregates : dict of str to AggregateFit
        Every parent column, in column order.
    metadata : dict of str to str
        Columns that describe models rather than score them: ``"rank"`` (a permutation of
        1..n, or ties of it), ``"constant"`` (one value), ``"overlapping aggregate"`` (an
        exact combination of columns that belong to other parents).
    notes : tuple of str
        Near misses, equal columns, ambiguities and undecidable columns, one sentence each.
    decimals : dict of str to int or None
        Printed decimals inferred per column (None: full precision).
    tree : BenchmarkTree
        Over every column but the metadata ones, with each parent's rule (``tree.rule``).
    method : str
        ``"detect"``, ``"none"`` or ``"given"`` (an explicit tree, its rules fitted).
    options : dict
        The detection options.
    """

    columns: tuple[str, ...]
    aggregates: dict
    metadata: dict
    notes: tuple[str, ...]
    decimals: dict
    tree: BenchmarkTree
    method: str = "detect"
    options: dict = field(default_factory=dict)

    @property
    def metrics(self) -> list[str]:
        """The columns that remain measurements (the tree's leaves)."""
        return self.tree.leaves()

    def to_frame(self) -> pd.DataFrame:
        """One row per column: ``column, role, rule, missing, children, weights, n_checked,
        n_mismatched, max_error, tolerance`` (children and weights as ``;``-joined text)."""
        rows = []
        for c in self.columns:
            f = self.aggregates.get(c)
            if c in self.metadata:
                role = "metadata"
            elif f is not None:
                role = "aggregate"
            else:
                role = "metric"
            rows.append({
                "column": c, "role": role,
                "rule": f.rule if f else (self.metadata.get(c) if role == "metadata" else None),
                "missing": f.missing if f else None,
                "children": "; ".join(f.children) if f else None,
                "weights": "; ".join(f"{w:.6g}" for w in f.weights) if f else None,
                "n_checked": f.n_checked if f else np.nan,
                "n_mismatched": f.n_mismatched if f else np.nan,
                "max_error": f.max_error if f else np.nan,
                "tolerance": f.tolerance if f else np.nan,
            })
        return pd.DataFrame(rows, columns=["column", "role", "rule", "missing", "children",
                                           "weights", "n_checked", "n_mismatched", "max_error",
                                           "tolerance"])

    def headline(self) -> str:
        """One sentence: what was found and how (for the report)."""
        if self.method == "none":
            return ("aggregate detection off (aggregates='none'): every numeric column is "
                    "analysed as a metric")
        n_agg, n_meta = len(self.aggregates), len(self.metadata)
        if not n_agg and not n_meta:
            return ("no aggregate, rank or constant column found: no column equals the mean, a "
                    "fixed-weight mean or the sum of others within the printed rounding")
        parts = []
        if n_agg:
            parts.append(f"{n_agg} aggregate column{'s' if n_agg > 1 else ''} ("
                         + "; ".join(f.describe() for f in list(self.aggregates.values())[:3])
                         + ("; ..." if n_agg > 3 else "") + ")")
        if n_meta:
            parts.append(f"{n_meta} metadata column{'s' if n_meta > 1 else ''} ("
                         + ", ".join(f"{c!r}: {k}" for c, k in list(self.metadata.items())[:4])
                         + (", ..." if n_meta > 4 else "") + ")")
        how = ("given by the user, rules fitted" if self.method == "given" else
               "found from the values within the printed rounding")
        return (" and ".join(parts) + f", {how}; they are not analysed as metrics, which leaves "
                f"{len(self.metrics)} metrics")

    def summary(self) -> str:
        lines = [f"Aggregate detection ({self.method}) on {len(self.columns)} columns: "
                 f"{len(self.aggregates)} aggregates, {len(self.metadata)} metadata, "
                 f"{len(self.metrics)} metrics"]
        lines += [f"  {f.describe()}: {f.n_checked} models, max error {f.max_error:.3g} "
                  f"(tolerance {f.tolerance:.3g})" for f in self.aggregates.values()]
        lines += [f"  {c!r}: {k} (metadata)" for c, k in self.metadata.items()]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def to_markdown(self) -> str:
        frame = self.to_frame()
        frame = frame[frame["role"] != "metric"]
        head = self.headline()
        if frame.empty:
            return head
        out = ["| column | role | rule | missing | children | weights | max error |",
               "|---|---|---|---|---|---|---|"]
        for r in frame.itertuples(index=False):
            out.append(f"| {r.column} | {r.role} | {r.rule or ''} | {r.missing or ''} | "
                       f"{r.children or ''} | {r.weights or ''} | "
                       f"{'' if pd.isna(r.max_error) else f'{r.max_error:.3g}'} |")
        return head + "\n\n" + "\n".join(out) + "".join(f"\n\n- {n}" for n in self.notes)

    def to_dict(self) -> dict:
        return {
            "method": self.method,
            "headline": self.headline(),
            "aggregates": {p: {"children": list(f.children), "rule": f.rule,
                               "weights": [float(w) for w in f.weights], "missing": f.missing,
                               "n_checked": f.n_checked, "n_mismatched": f.n_mismatched,
                               "max_error": f.max_error, "tolerance": f.tolerance}
                           for p, f in self.aggregates.items()},
            "metadata": dict(self.metadata),
            "notes": list(self.notes),
            "options": dict(self.options),
        }


def _metadata_kind(v: np.ndarray) -> str | None:
    """``"constant"`` or ``"rank"`` for a column's present values, else None."""
    v = v[~np.isnan(v)]
    if v.size < 2:
        return None
    if np.ptp(v) == 0:
        return "constant"
    if v.size >= 5 and np.all(np.abs(2 * v - np.round(2 * v)) < 1e-9) and v.min() >= 1:
        s = np.sort(v)
        for method in ("ordinal", "min", "max", "average"):
            if np.allclose(rankdata(s, method=method), s, atol=1e-9):
                return "rank"
    return None


def _validate(scores, rules, missing, max_mismatch):
    if not isinstance(scores, pd.DataFrame):
        raise ParameterTypeError(f"scores must be a pandas DataFrame, got {type(scores).__name__}")
    if scores.columns.duplicated().any():
        raise DataError(f"scores: duplicate columns {list(scores.columns[scores.columns.duplicated()])[:5]}")
    try:
        x = scores.to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise DataError(f"scores must be numeric (NaN for missing): {exc}") from None
    if np.isinf(x).any():
        raise DataError("scores hold an infinite value; write a finite number or leave it empty")
    rules = (rules,) if isinstance(rules, str) else tuple(rules)
    bad = [r for r in rules if r not in RULES]
    if not rules or bad:
        raise ParameterError(f"rules must be a non-empty list among {list(RULES)}, got {list(rules)}")
    missing = (missing,) if isinstance(missing, str) else tuple(missing)
    bad = [m for m in missing if m not in MISSING_RULES]
    if not missing or bad:
        raise ParameterError(f"missing must be a non-empty list among {list(MISSING_RULES)}, got "
                             f"{list(missing)}")
    if not (isinstance(max_mismatch, (int, float)) and 0 <= max_mismatch < 0.5):
        raise ParameterError(f"max_mismatch must be in [0, 0.5), got {max_mismatch!r}")
    return x, rules, missing


def detect_aggregates(
    scores: pd.DataFrame,
    *,
    rules: Sequence[str] = _DEFAULT_RULES,
    missing: Sequence[str] = MISSING_RULES,
    max_mismatch: float = 0.0,
    domains: Mapping[str, str] | None = None,
    max_steps: int | None = None,
) -> AggregateDetection:
    """Find the columns that are aggregates of others, ranks or constants.

    A column is an aggregate when, on every model where it has a value, it equals a fixed
    function of other columns within the table's printed rounding: their mean, a fixed
    non-negative-weight mean (weights estimated, the same for every model) or their sum.
    Aggregates may nest (any depth) and the columns may come in any order. A column that only
    comes close (within rounding on most models, or a very high R², but off by more than the
    rounding on some) stays a metric, and a note names it, its best fit and its largest miss.

    Parameters
    ----------
    scores : DataFrame
        Models x columns, numbers, NaN = missing.
    rules : sequence of str, default ("mean", "sum", "weighted_mean")
        Rules a parent may follow, simplest first; ``"weighted"`` (non-negative weights that
        need not sum to 1) may be added.
    missing : sequence of str, default ("complete", "as_zero", "skip")
        How a parent may treat a missing child (:data:`MISSING_RULES`), tried in this order.
    max_mismatch : float, default 0
        Fraction of a parent's models that may miss the rule (a website's own slips); 0 asks
        for an exact fit on every model.
    domains : mapping, optional
        Column -> domain, passed to the tree.
    max_steps : int, optional
        Budget of fits (None: no limit).

    Returns
    -------
    AggregateDetection

    Raises
    ------
    ParameterError
        Unknown rule or missing policy, ``max_mismatch`` outside [0, 0.5).
    DataError
        Non-numeric or infinite values, duplicate columns, or the budget spent.

    Notes
    -----
    Tolerance: a value printed with ``d`` decimals is known to within ``0.5 * 10**-d``; a parent
    must match ``sum(w_i x_i)`` within its own half-unit plus ``sum(w_i * half-unit_i)``. The
    decimals are read from the values (the fewest that reproduce every value of the column).
    The search (:mod:`alignfactors._search`) regresses every column on all others by
    non-negative least squares, keeps exact fits backed by many more models than terms
    (at least ``2k + 3`` for ``k`` terms), nests them bottom-up and fits each parent's rule on
    its direct children; near-collinear metrics are not aggregates because least squares over
    them still misses by more than the rounding. Two different sets of children that fit a
    column equally well give a note, never a silent choice.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> m = pd.DataFrame(np.round(rng.uniform(0, 1, (30, 3)), 2), columns=["a", "b", "c"])
    >>> m["Average"] = m[["a", "b", "c"]].mean(axis=1).round(2)
    >>> m["Rank"] = m["Average"].rank(ascending=False, method="min")
    >>> d = detect_aggregates(m)
    >>> d.aggregates["Average"].describe(), d.metadata, d.metrics
    ("'Average' = mean of 3 ('a', 'b', 'c')", {'Rank': 'rank'}, ['a', 'b', 'c'])
    """
    x, rules, missing = _validate(scores, rules, missing, max_mismatch)
    names = [str(c) for c in scores.columns]
    metadata = {}
    for j, nm in enumerate(names):
        kind = _metadata_kind(x[:, j])
        if kind is not None:
            metadata[nm] = kind
    half = half_widths(x)
    exclude = frozenset(j for j, nm in enumerate(names) if nm in metadata)
    try:
        res = search(x, names, half, rules=rules, policies=missing, max_mismatch=max_mismatch,
                     exclude=exclude, max_steps=max_steps, scaled_copies=True)
    except OutOfSteps as exc:
        raise DataError(f"aggregate detection gave up after {max_steps} fits (at column "
                        f"{exc.args[0]!r}); pass aggregates='none' or an explicit tree") from None
    mapping, fits, notes = _assemble(res, names, x, scores.index, half)
    for p, cols in sorted(res.overlapping.items()):
        metadata[names[p]] = "overlapping aggregate"
    while True:  # a parent over a column set aside is itself derived from it: set aside too
        over = [q for q, kids in mapping.items() if any(k in metadata for k in kids)]
        if not over:
            break
        for q in over:
            gone = [k for k in mapping[q] if k in metadata]
            del mapping[q]
            fits.pop(q, None)
            metadata[q] = "overlapping aggregate"
            notes.append(f"column {q!r} is an aggregate of columns set aside ({gone[:4]}): set "
                         "aside as metadata too, not analysed")
    kept = [nm for nm in names if nm not in metadata]
    doms = {k: v for k, v in (domains or {}).items() if str(k) in set(kept)}
    tree = BenchmarkTree.from_mapping(
        mapping, order=kept, domains=doms or None,
        rules={p: {"rule": f.rule, "weights": list(f.weights), "missing": f.missing}
               for p, f in fits.items()})
    decimals = {nm: (None if h < 1e-11 else int(round(-np.log10(2 * h))))
                for nm, h in zip(names, half)}
    options = {"rules": list(rules), "missing": list(missing), "max_mismatch": max_mismatch}
    ordered = {nm: fits[nm] for nm in names if nm in fits}
    return AggregateDetection(tuple(names), ordered, metadata, tuple(notes), decimals, tree,
                              "detect", options)


def _fit_record(parent, children, f, names) -> AggregateFit:
    rows = f.rows
    return AggregateFit(parent, tuple(children), f.rule,
                        tuple(float(w) for w in f.weights), f.policy, int(rows.sum()),
                        int(f.bad.sum()), round(f.max_error, 12),
                        round(float(f.tol[rows].max()) if rows.any() else 0.0, 12))


def _assemble(res, names, x, index, half):
    """Parent -> children (column order), their fits, and the notes."""
    mapping: dict[str, list[str]] = {}
    fits: dict[str, AggregateFit] = {}
    for p, kids in res.children.items():
        f = res.fits[p]
        order = np.argsort(f.cols)
        children = [names[f.cols[i]] for i in order]
        f.cols = [f.cols[i] for i in order]
        f.weights = np.asarray(f.weights)[order]
        mapping[names[p]] = children
        fits[names[p]] = _fit_record(names[p], children, f, names)
    notes = []
    for p, f in fits.items():
        note = _plain_mean_note(f, names, x, index, half)
        if note:
            notes.append(note)
    for group in res.duplicates:
        chain = [names[g] for g in group]
        first = chain[0]
        if first in mapping:  # the group's role goes to its last member
            mapping[chain[-1]] = mapping.pop(first)
            rec = fits.pop(first)
            fits[chain[-1]] = AggregateFit(chain[-1], *[getattr(rec, a) for a in (
                "children", "rule", "weights", "missing", "n_checked", "n_mismatched",
                "max_error", "tolerance")])
        n = int((~np.isnan(x[:, group[0]])).sum())
        for a, b in zip(chain, chain[1:]):
            mapping[a] = [b]
            fits[a] = AggregateFit(a, (b,), "mean", (1.0,), "complete", n, 0, 0.0,
                                   float(half[names.index(a)] + half[names.index(b)]))
        notes.append(f"columns {', '.join(repr(c) for c in chain)} are equal on every model: "
                     f"only {chain[-1]!r} is analysed ({first!r} is taken as its parent because "
                     "it comes first; the values cannot say which is the copy)")
    for p, f in sorted(res.near.items()):
        if names[p] in mapping:
            continue
        r = f.worst_row
        notes.append(f"column {names[p]!r} is close to {_describe(f, names)} (R² "
                     f"{f.r2:.4f}) but misses by up to {f.max_error:.3g} on model "
                     f"{str(index[r])!r} and by more than the printed rounding on {f.n_bad} of "
                     f"{f.n_rows} models: not an aggregate, kept as a metric")
    for p, f in sorted(res.undetermined.items()):
        notes.append(f"column {names[p]!r} equals {_describe(f, names)} on all {f.n_rows} models "
                     f"where it has a value, too few for {len(f.cols)} terms to tell an "
                     "aggregate from chance: kept as a metric")
    for p, f in sorted(res.demoted.items()):
        notes.append(f"column {names[p]!r} equals {_describe(f, names)} within rounding, but "
                     "not by an allowed rule (mean, sum, fixed-weight mean): kept as a metric")
    for p, cols in sorted(res.overlapping.items()):
        notes.append(f"column {names[p]!r} is an exact combination of "
                     f"{[names[c] for c in cols][:6]}, which belong to other aggregates (not a "
                     "tree): set aside as metadata, not analysed")
    for p, (a, b) in sorted(res.ambiguous.items()):
        notes.append(f"column {names[p]!r} is fit equally well by two different sets of "
                     f"columns: {[names[c] for c in a]} and {[names[c] for c in b]}; the first "
                     "is used, pass an explicit tree (aggregates=) to choose")
    return mapping, fits, notes


def _plain_mean_note(f: AggregateFit, names, x, index, half) -> str | None:
    """A note when a fixed-weight mean has nearly equal weights (within 5% of ``1/k``): the
    plain mean then misses on a few models only, and the note names them."""
    k = len(f.children)
    w = np.asarray(f.weights, float)
    if f.rule != "weighted_mean" or k < 2 or np.max(np.abs(w * k - 1)) > 0.05:
        return None
    pos = {nm: i for i, nm in enumerate(names)}
    y = x[:, pos[f.parent]]
    kids = x[:, [pos[c] for c in f.children]]
    h = half[[pos[c] for c in f.children]]
    with np.errstate(invalid="ignore"):
        if f.missing == "skip":
            mean = np.nanmean(np.where(np.isnan(kids), np.nan, kids), axis=1)
            tol = half[pos[f.parent]] + np.nanmean(np.where(np.isnan(kids), np.nan, h), axis=1)
        else:
            filled = np.nan_to_num(kids, nan=0.0) if f.missing == "as_zero" else kids
            mean = filled.mean(axis=1)
            tol = half[pos[f.parent]] + h.mean()
    rows = ~np.isnan(y) & ~np.isnan(mean)
    miss = np.abs(mean - y) - tol
    bad = rows & (miss > 1e-9)
    if not bad.any():
        return None
    err = np.where(rows, np.abs(mean - y), -1.0)
    worst = int(err.argmax())
    return (f"column {f.parent!r} is a fixed-weight mean of its {k} children with nearly equal "
            f"weights ({w.min():.4g} to {w.max():.4g}); their plain mean misses the printed "
            f"rounding on {int(bad.sum())} of {int(rows.sum())} models (by up to "
            f"{err[worst]:.3g}, on model {str(index[worst])!r}): a value printed with fewer "
            "decimals there, or the site's own slip, is the likely cause")


def fit_rules(scores: pd.DataFrame, tree: BenchmarkTree, *, rules: Sequence[str] = RULES,
              missing: Sequence[str] = MISSING_RULES) -> AggregateDetection:
    """The rule of every parent of a given tree, fitted on its children (``method="given"``).

    A parent that no rule reproduces within rounding keeps no rule, and a note says so.

    Examples
    --------
    >>> s = pd.DataFrame({"t": [3.0, 5.0, 4.0], "a": [1.0, 2.0, 1.0], "b": [2.0, 3.0, 3.0]})
    >>> d = fit_rules(s, BenchmarkTree({"t": ["a", "b"]}, roots=["t"]))
    >>> d.aggregates["t"].rule
    'sum'
    """
    from .._search import Searcher, _Budget, _policies_for

    x, rules, missing = _validate(scores, rules, missing, 0.0)
    names = [str(c) for c in scores.columns]
    pos = {nm: i for i, nm in enumerate(names)}
    half = half_widths(x)
    s = Searcher(x, half, max_mismatch=0.0, budget=_Budget(None), names=names)
    fits, notes, found = {}, [], {}
    with threadpool_limits(limits=1, user_api="blas"):  # small fits: see _search.search
        for parent, kids in tree.to_dict().items():
            if parent not in pos or any(k not in pos for k in kids):
                continue
            p, ks = pos[parent], [pos[k] for k in kids]
            f = None
            for policy in _policies_for(s, p, ks, missing[0], missing):
                f = s.fit_rule(p, ks, policy, rules)
                if f is not None:
                    break
            if f is None:
                notes.append(f"given parent {parent!r} is not the mean, sum or a fixed-weight "
                             f"mean of its children {kids} within the printed rounding")
                continue
            order = [f.cols.index(k) for k in ks]
            f.cols, f.weights = ks, np.asarray(f.weights)[order]
            fits[parent] = _fit_record(parent, kids, f, names)
            found[parent] = {"rule": f.rule, "weights": list(fits[parent].weights),
                             "missing": f.policy}
    new_tree = BenchmarkTree(tree.to_dict(), roots=tree.roots,
                             domains={n: tree.domain(n) for n in tree.nodes
                                      if tree.domain(n) is not None}, rules=found)
    decimals = {nm: (None if h < 1e-11 else int(round(-np.log10(2 * h))))
                for nm, h in zip(names, half)}
    ordered = {nm: fits[nm] for nm in names if nm in fits}
    return AggregateDetection(tuple(names), ordered, {}, tuple(notes), decimals, new_tree,
                              "given", {"rules": list(rules), "missing": list(missing)})


def apply_aggregates(table, aggregates="detect"):
    """``table`` with its summary columns found (``"detect"``), left alone (``"none"``) or given.

    ``"detect"`` runs :func:`detect_aggregates` on ``table.scores``: aggregate columns become the
    tree's parents (rule and weights in ``tree.rule`` and ``table.benchmarks``), rank and constant
    columns move to ``table.models`` (logged in ``table.log``), and ``table.notes`` says what
    was found. A mapping ``parent -> children`` or a :class:`BenchmarkTree` is used as the tree,
    each parent's rule fitted by :func:`fit_rules`. The result is in ``table.detection``.

    Examples
    --------
    >>> from alignfactors.io.table import ScoreTable
    >>> rng = np.random.default_rng(1)
    >>> df = pd.DataFrame(np.round(rng.uniform(0, 1, (20, 2)), 2), columns=["a", "b"])
    >>> df["Total"] = df.sum(axis=1).round(2)
    >>> t = ScoreTable.from_wide(df)  # aggregates="detect" is the default
    >>> t.tree.children("Total"), t.benchmarks.loc["Total", "rule"]
    (['a', 'b'], 'sum')
    """
    import dataclasses

    from .tree import BenchmarkTree as _Tree

    if isinstance(aggregates, str):
        if aggregates not in ("detect", "none"):
            raise ParameterError(f"aggregates must be 'detect', 'none' or a tree (a mapping "
                                 f"parent -> children), got {aggregates!r}")
    elif not isinstance(aggregates, (Mapping, _Tree)):
        raise ParameterTypeError(f"aggregates must be 'detect', 'none' or a tree (a mapping "
                                 f"parent -> children), got {type(aggregates).__name__}")
    scores = table.scores
    tree = table.tree
    domains = {n: tree.domain(n) for n in tree.nodes if tree.domain(n) is not None}
    names = [str(c) for c in scores.columns]
    if isinstance(aggregates, str) and aggregates == "none":
        det = AggregateDetection(tuple(names), {}, {}, (), {}, tree, "none", {})
        return dataclasses.replace(table, detection=det)
    if isinstance(aggregates, str):
        det = detect_aggregates(scores, domains=domains)
    else:
        mapping = aggregates.to_dict() if isinstance(aggregates, _Tree) else aggregates
        given = _Tree.from_mapping(mapping, order=names, domains=domains or None)
        det = fit_rules(scores, given)
    meta = [c for c in names if c in det.metadata]
    kept = [c for c in names if c not in det.metadata]
    frame = det.to_frame().set_index("column")
    bench = table.benchmarks.loc[kept].copy()
    for col in ("role", "rule", "missing", "children", "weights"):
        bench[col] = frame.loc[kept, col].to_numpy()
    models = table.models.copy()
    for c in meta:
        models[c] = scores[c].to_numpy()
    log = table.log
    if meta:
        extra = pd.DataFrame({"item": meta, "kind": "benchmark",
                              "reason": [f"{det.metadata[c]} column: model metadata, not a metric "
                                         "(moved to table.models)" for c in meta]})
        log = pd.concat([log, extra], ignore_index=True)
    notes = tuple(table.notes) + ((f"summary columns: {det.headline()}",) if det.method != "none"
                                  else ()) + det.notes

    def take(frame_):
        return None if frame_ is None else frame_[kept]

    return dataclasses.replace(
        table, scores=scores[kept], status=table.status[kept], models=models, tree=det.tree,
        errors=take(table.errors), raw=take(table.raw), timestamps=take(table.timestamps),
        versions=take(table.versions), benchmarks=bench, log=log, notes=notes, detection=det)
