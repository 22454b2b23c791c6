"""The :class:`ScoreTable`: a leaderboard's scores, their status, the models and the tree."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from .._validation import check_labels
from ..errors import DataError, ParameterError, ParameterTypeError
from .tree import BenchmarkTree
from .tree_inference import TreeCheck, check_tree

__all__ = ["ScoreTable", "STATUS_VALUES", "ERROR_KINDS", "LOG_COLUMNS"]

#: The values of :attr:`ScoreTable.status`.
STATUS_VALUES = ("ok", "failed", "missing")

#: The values of ``table.benchmarks["error_kind"]``: what a benchmark's ``errors`` mean.
#: ``"standard_error"``: behaves like a standard error of the score (errors small next to the
#: spread of the scores across models); ``"spread_over_subjects"``: errors larger than the spread
#: of the scores themselves (a standard deviation over subjects or splits, not the uncertainty of
#: the mean); ``"unknown"``: errors present but too few or ambiguous to tell; ``"none"``: no
#: errors for this benchmark (aggregates, sources without errors).
ERROR_KINDS = ("standard_error", "spread_over_subjects", "unknown", "none")

#: Columns of :attr:`ScoreTable.log`.
LOG_COLUMNS = ["item", "kind", "reason"]

#: The aligned per-cell frames a table may carry besides ``scores`` and ``status``.
_ALIGNED = ("errors", "raw", "timestamps", "versions")


def _dups(values) -> list:
    s = pd.Series(list(values))
    return list(s[s.duplicated()].unique())


@dataclass(frozen=True)
class ScoreTable:
    """Scores of models on benchmark nodes, with status, model metadata and benchmark tree.

    Attributes
    ----------
    scores : DataFrame
        Index ``model_id`` (str), one column per benchmark node in file order, float,
        NaN = no score.
    status : DataFrame
        Same shape: ``"ok"``, ``"failed"`` (``X`` in a Brain-Score export) or ``"missing"``
        (never evaluated).
    models : DataFrame
        Indexed by ``model_id``; at least ``model_name``, plus metadata such as ``rank``.
    tree : BenchmarkTree
        Benchmark tree over the columns of ``scores``.
    source : str
        File name, or ``"DataFrame"``.
    tree_check : TreeCheck or None
        How well parents equal the mean of their children (None for flat tables).
    errors : DataFrame or None
        Like ``scores``: each score's error on the score's own (ceiled) scale, NaN where
        unknown; what it means differs between benchmarks (``benchmarks["error_kind"]``).
        None when the source has no errors.
    raw : DataFrame or None
        Like ``scores``: the score before ceiling normalisation (full precision), or None.
    timestamps : DataFrame or None
        Like ``scores``: when each score was computed (``datetime64[ns, UTC]``, NaT where
        unknown), or None.
    versions : DataFrame or None
        Like ``scores``: the benchmark version each score was computed with (float, NaN where
        unknown), or None.
    benchmarks : DataFrame
        One row per column of ``scores`` (same order), at least ``version`` (the benchmark's
        version, NaN if unknown) and ``error_kind`` (one of :data:`ERROR_KINDS`); loaders add
        the diagnosis behind ``error_kind`` and metadata (stimuli, data, metric).
    log : DataFrame
        What the loader left out, one row per item: ``item``, ``kind`` ("model" | "benchmark"
        | ...), ``reason``.
    notes : tuple of str
        Facts about the source a reader must know (e.g. failed and never-run scores cannot be
        told apart), shown by :meth:`summary`.
    aggregates_from : {"scores", "raw"}
        Which values the source's aggregates are means of: the children's ``scores`` (CSV
        exports) or their ``raw`` values (the snapshot JSON); :meth:`as_of` recomputes them
        the same way.
    detection : AggregateDetection or None
        For generic tables: which columns were found to be aggregates (with their rule and
        weights), ranks or constants, and how (:func:`~alignfactors.io.aggregates.detect_aggregates`);
        None when no detection ran (Brain-Score layouts: see ``tree_check``).

    Examples
    --------
    >>> df = pd.DataFrame({"V1": [0.2, 0.4], "i2n": [0.5, None]}, index=["m1", "m2"])
    >>> t = ScoreTable.from_wide(df, domains={"V1": "neural", "i2n": "behavioral"})
    >>> t.n_models, t.domains.to_dict()
    (2, {'V1': 'neural', 'i2n': 'behavioral'})
    """

    scores: pd.DataFrame
    status: pd.DataFrame
    models: pd.DataFrame
    tree: BenchmarkTree
    source: str = "DataFrame"
    tree_check: TreeCheck | None = None
    errors: pd.DataFrame | None = None
    raw: pd.DataFrame | None = None
    timestamps: pd.DataFrame | None = None
    versions: pd.DataFrame | None = None
    benchmarks: pd.DataFrame | None = None
    log: pd.DataFrame | None = None
    notes: tuple[str, ...] = field(default=())
    aggregates_from: str = "scores"
    detection: object | None = None

    def __post_init__(self) -> None:
        s = self.scores
        if not isinstance(s, pd.DataFrame) or not isinstance(self.status, pd.DataFrame):
            raise ParameterTypeError("scores and status must be pandas DataFrames")
        if s.shape[0] == 0 or s.shape[1] == 0:
            raise DataError(f"the table is empty ({s.shape[0]} models x {s.shape[1]} benchmarks)")
        dup = _dups(s.index)
        if dup:
            raise DataError(f"duplicate model ids: {dup[:5]} (each model_id must be unique)")
        dup = _dups(s.columns)
        if dup:
            raise DataError(f"duplicate benchmark columns: {dup[:5]}")
        if not (self.status.index.equals(s.index) and self.status.columns.equals(s.columns)):
            raise DataError("status must have the same index and columns as scores")
        bad = ~self.status.isin(STATUS_VALUES).to_numpy()
        if bad.any():
            raise DataError(f"status values must be among {STATUS_VALUES}")
        if set(s.columns) != set(self.tree.nodes):
            extra = sorted(set(s.columns) ^ set(self.tree.nodes))[:5]
            raise DataError(f"the tree's nodes and the score columns differ: {extra}")
        if "model_name" not in self.models.columns or not self.models.index.equals(s.index):
            raise DataError("models must be indexed like scores and have a model_name column")
        for name in _ALIGNED:
            frame = getattr(self, name)
            if frame is None:
                continue
            if not isinstance(frame, pd.DataFrame):
                raise ParameterTypeError(f"{name} must be a pandas DataFrame or None, got "
                                         f"{type(frame).__name__}")
            if not (frame.index.equals(s.index) and frame.columns.equals(s.columns)):
                raise DataError(f"{name} must have the same index and columns as scores")
        object.__setattr__(self, "benchmarks", self._checked_benchmarks())
        log = self.log
        if log is None:
            log = pd.DataFrame({c: pd.Series(dtype=object) for c in LOG_COLUMNS})
        elif not isinstance(log, pd.DataFrame) or not set(LOG_COLUMNS) <= set(log.columns):
            raise DataError(f"log must be a DataFrame with columns {LOG_COLUMNS}")
        object.__setattr__(self, "log", log.reset_index(drop=True))
        object.__setattr__(self, "notes", tuple(str(n) for n in self.notes))
        if self.aggregates_from not in ("scores", "raw") or (
                self.aggregates_from == "raw" and self.raw is None):
            raise DataError(f"aggregates_from must be 'scores' or 'raw' (with a raw frame), got "
                            f"{self.aggregates_from!r}")

    def _checked_benchmarks(self) -> pd.DataFrame:
        cols = self.scores.columns
        b = self.benchmarks
        if b is None:
            b = pd.DataFrame(index=pd.Index(cols, name="benchmark"))
        elif not isinstance(b, pd.DataFrame):
            raise ParameterTypeError(f"benchmarks must be a DataFrame or None, got "
                                     f"{type(b).__name__}")
        elif set(b.index) != set(cols) or b.index.duplicated().any():
            diff = sorted(set(map(str, b.index)) ^ set(cols))[:5]
            raise DataError(f"benchmarks must have one row per score column; differ: {diff}")
        b = b.reindex(cols).copy()
        b.index.name = "benchmark"
        if "version" not in b.columns:
            b.insert(0, "version", np.nan)
        if "error_kind" not in b.columns:
            has = (self.errors.notna().any() if self.errors is not None
                   else pd.Series(False, index=cols))
            b.insert(1, "error_kind", np.where(has.reindex(cols).to_numpy(), "unknown", "none"))
        bad = ~b["error_kind"].isin(ERROR_KINDS)
        if bad.any():
            raise DataError(f"benchmarks: error_kind of {list(b.index[bad])[:5]} must be among "
                            f"{ERROR_KINDS}")
        return b

    # -- constructors ---------------------------------------------------------------------------
    @classmethod
    def from_wide(
        cls, df: pd.DataFrame, domains: Mapping[str, str] | None = None, *,
        aggregates="detect",
    ) -> ScoreTable:
        """A table from a wide DataFrame: one row per model, one column per metric.

        Parameters
        ----------
        df : DataFrame
            Index = model id; columns = metrics; numbers or NaN. A ``model_name`` column,
            if present, goes to ``models``.
        domains : mapping of str to str, optional
            Metric -> domain (``"neural"``, ``"behavioral"``, ``"engineering"``, ...).
        aggregates : "detect", "none" or mapping, default "detect"
            ``"detect"``: columns that are the mean, a fixed-weight mean or the sum of others
            become the tree's parents, rank and constant columns go to ``models``
            (:func:`~alignfactors.io.aggregates.apply_aggregates`; what was found is in
            ``detection``, ``benchmarks``, ``notes`` and ``log``). ``"none"``: every column is
            a metric (a flat tree). A mapping ``parent -> children`` (or a BenchmarkTree):
            that tree, each parent's rule fitted.

        Raises
        ------
        DataError
            A non-numeric or infinite cell (row and column named), duplicate ids or columns,
            or an empty frame.

        Examples
        --------
        >>> t = ScoreTable.from_wide(pd.DataFrame({"a": [0.1, 0.2]}, index=[1, 2]))
        >>> list(t.scores.index), t.source
        (['1', '2'], 'DataFrame')
        """
        if not isinstance(df, pd.DataFrame):
            raise ParameterTypeError(f"df must be a pandas DataFrame, got {type(df).__name__}")
        if df.shape[0] == 0 or df.shape[1] == 0:
            raise DataError(f"the table is empty ({df.shape[0]} rows x {df.shape[1]} columns)")
        for what, labels in (("model ids", [str(i) for i in df.index]),
                             ("columns", [str(c) for c in df.columns])):
            if _dups(labels):
                raise DataError(f"duplicate {what}: {_dups(labels)[:5]}")
        df = df.copy()
        df.index = pd.Index([str(i) for i in df.index], name="model_id")
        names = df.pop("model_name").astype(str) if "model_name" in df.columns else None
        df.columns = [str(c) for c in df.columns]
        scores = _numeric_frame(df)
        status = pd.DataFrame(
            np.where(scores.isna().to_numpy(), "missing", "ok"), index=scores.index,
            columns=scores.columns,
        )
        _check_domain_keys(domains, scores.columns)
        tree = BenchmarkTree.flat(scores.columns, domains=domains)
        models = pd.DataFrame(
            {"model_name": names if names is not None else list(scores.index)}, index=scores.index
        )
        from .aggregates import apply_aggregates  # aggregates.py builds on this module

        return apply_aggregates(cls(scores, status, models, tree, "DataFrame", None), aggregates)

    @classmethod
    def from_long(
        cls,
        df: pd.DataFrame,
        model: str = "model",
        metric: str = "metric",
        score: str = "score",
        domain: str | None = None,
        *,
        aggregates="detect",
    ) -> ScoreTable:
        """A table from a long DataFrame: one row per (model, metric) score.

        Models and metrics keep the order of their first appearance; (model, metric) pairs
        that do not occur are ``"missing"``.

        Parameters
        ----------
        df : DataFrame
        model, metric, score : str
            Names of the columns holding model id, metric name and score.
        domain : str, optional
            Name of a column holding each metric's domain.
        aggregates : "detect", "none" or mapping, default "detect"
            As in :meth:`from_wide`.

        Raises
        ------
        ParameterError
            A named column is not in ``df``.
        DataError
            Duplicate (model, metric) pairs, a metric with two domains, or a non-numeric score.

        Examples
        --------
        >>> long = pd.DataFrame({"model": ["a", "a", "b"], "metric": ["V1", "IT", "V1"],
        ...                      "score": [0.1, 0.2, 0.3]})
        >>> ScoreTable.from_long(long).status.loc["b", "IT"]
        'missing'
        """
        if not isinstance(df, pd.DataFrame):
            raise ParameterTypeError(f"df must be a pandas DataFrame, got {type(df).__name__}")
        for param, col in (("model", model), ("metric", metric), ("score", score),
                           ("domain", domain)):
            if col is not None and col not in df.columns:
                raise ParameterError(
                    f"{param}={col!r} is not a column of the data; columns: {list(df.columns)}"
                )
        if len(df) == 0:
            raise DataError("the long table has no rows")
        d = df.copy()
        d[model] = d[model].astype(str)
        d[metric] = d[metric].astype(str)
        dup = d.duplicated([model, metric], keep=False)
        if dup.any():
            pairs = list(d.loc[dup, [model, metric]].drop_duplicates().itertuples(index=False,
                                                                                    name=None))
            raise DataError(f"duplicate (model, metric) pairs: {pairs[:5]}")
        doms = None
        if domain is not None:
            per = d.groupby(metric, sort=False)[domain].nunique(dropna=False)
            if (per > 1).any():
                raise DataError(
                    f"metrics with more than one domain in column {domain!r}: "
                    f"{list(per[per > 1].index[:5])}"
                )
            doms = d.drop_duplicates(metric).set_index(metric)[domain].to_dict()
            doms = {k: v for k, v in doms.items() if not pd.isna(v)}
        wide = d.pivot(index=model, columns=metric, values=score)
        wide = wide.reindex(index=pd.unique(d[model]), columns=pd.unique(d[metric]))
        wide.index.name = None
        wide.columns.name = None
        return cls.from_wide(wide, domains=doms, aggregates=aggregates)

    # -- views ----------------------------------------------------------------------------------
    @property
    def n_models(self) -> int:
        """Number of models (rows)."""
        return int(self.scores.shape[0])

    @property
    def domains(self) -> pd.Series:
        """Leaf metric -> domain (None where unknown), in pre-order."""
        leaves = self.tree.leaves()
        return pd.Series([self.tree.domain(n) for n in leaves], index=leaves, name="domain",
                         dtype=object)

    def status_counts(self, columns: list[str] | None = None) -> dict[str, int]:
        """Number of ``"ok"``, ``"failed"`` and ``"missing"`` cells (of ``columns``, or all)."""
        st = self.status if columns is None else self.status[columns]
        values = st.to_numpy().ravel()
        return {v: int((values == v).sum()) for v in STATUS_VALUES}

    @property
    def has_timestamps(self) -> bool:
        """Whether the table knows when its leaf scores were computed."""
        return self.timestamps is not None and bool(self.timestamps.notna().to_numpy().any())

    def subset(
        self, models: Sequence[str] | None = None, benchmarks: Sequence[str] | None = None
    ) -> ScoreTable:
        """The table restricted to some models and/or benchmark nodes, every aligned frame kept
        consistent (scores, status, models, errors, raw, timestamps, versions, benchmarks).

        Parameters
        ----------
        models : sequence of str, optional
            Model ids to keep, in the order given (None keeps all).
        benchmarks : sequence of str, optional
            Benchmark nodes to keep (None keeps all). They stay in the table's column order;
            the tree is restricted to them: a kept node's parent becomes its nearest kept
            ancestor, and every node keeps the domain it had.

        Returns
        -------
        ScoreTable
            ``tree_check`` is recomputed on the kept models when every node is kept, and None
            when nodes were dropped (a parent need no longer be the mean of its kept children).

        Raises
        ------
        ParameterError
            Unknown, repeated or no model ids or benchmark names.

        Examples
        --------
        >>> df = pd.DataFrame({"V1": [0.2, 0.4], "i2n": [0.5, None]}, index=["m1", "m2"])
        >>> t = ScoreTable.from_wide(df).subset(models=["m2"], benchmarks=["i2n"])
        >>> t.scores.shape, t.status.loc["m2", "i2n"]
        ((1, 1), 'missing')
        """
        s = self.scores
        rows = list(s.index)
        if models is not None:
            rows = check_labels(models, s.index, name="models", kind="model ids",
                                where="model ids of the table",
                                hint=f"ids look like {list(s.index[:3])}")
            if not rows or len(set(rows)) != len(rows):
                raise ParameterError("models must be a non-empty list of distinct model ids")
        cols = list(s.columns)
        tree, check = self.tree, self.tree_check
        if benchmarks is not None:
            want = check_labels(benchmarks, s.columns, name="benchmarks", kind="benchmark names",
                                where="benchmark nodes of the table",
                                hint=f"nodes look like {cols[:3]}")
            if not want or len(set(want)) != len(want):
                raise ParameterError("benchmarks must be a non-empty list of distinct names")
            keep = set(want)
            cols = [c for c in cols if c in keep]
            if len(cols) < s.shape[1]:
                tree, check = _restricted_tree(self.tree, cols), None
        if rows == list(s.index) and cols == list(s.columns):
            return self
        if check is not None and rows != list(s.index):
            check = check_tree(s.loc[rows, cols], tree, tol=check.tolerance)

        def take(frame):
            return None if frame is None else frame.loc[rows, cols]

        return replace(
            self, scores=take(s), status=take(self.status), models=self.models.loc[rows],
            tree=tree, tree_check=check, errors=take(self.errors), raw=take(self.raw),
            timestamps=take(self.timestamps), versions=take(self.versions),
            benchmarks=self.benchmarks.loc[cols],
        )

    def as_of(self, date, rule: str = "source") -> ScoreTable:
        """The leaderboard as it stood on ``date``: only scores computed on or before it.

        Leaf scores whose timestamp is after ``date`` become ``"missing"`` (not yet run), and
        so do leaf scores without a timestamp (their date is unknown; counted in the notes).
        Every aggregate is then recomputed with the website's rule: the mean of its direct
        children with a missing child counted as 0, and missing when no child has a score —
        or, with ``rule="source"`` (default), the rule the source itself used for that
        aggregate (``benchmarks["aggregate_rule"]``: the 2024 snapshot's aggregates are the mean
        of the children that have a score), so that the table's own aggregates are reproduced.
        They are means of the children's ``raw`` values when ``aggregates_from == "raw"`` (the
        snapshot).
        Models left without any leaf score are dropped (listed in ``log``).

        Parameters
        ----------
        date : str, date, datetime or Timestamp
            A day (``"2022-06-30"``: the whole day counts) or a time; naive times are UTC.
        rule : {"source", "missing_as_zero"}, default "source"
            How aggregates are recomputed (see above).

        Returns
        -------
        ScoreTable
            Same columns; ``scores`` and ``raw`` of aggregates hold the recomputed
            full-precision values; ``tree_check`` is recomputed (exact by construction).

        Raises
        ------
        DataError
            The table has no timestamps (only the snapshot JSON has them), or ``date`` is
            before the first timestamp.
        ParameterError
            ``date`` is not a date.

        Examples
        --------
        >>> from alignfactors.io.tree import BenchmarkTree
        >>> sc = pd.DataFrame({"avg": [0.3], "a": [0.2], "b": [0.4]}, index=["m"])
        >>> st = pd.DataFrame("ok", index=sc.index, columns=sc.columns)
        >>> ts = pd.DataFrame({"avg": [pd.NaT], "a": [pd.Timestamp("2020-05-01", tz="UTC")],
        ...                    "b": [pd.Timestamp("2021-05-01", tz="UTC")]}, index=sc.index)
        >>> t = ScoreTable(sc, st, pd.DataFrame({"model_name": ["m"]}, index=sc.index),
        ...                BenchmarkTree({"avg": ["a", "b"]}, roots=["avg"]), timestamps=ts)
        >>> t.as_of("2020-12-31").scores.loc["m"].tolist()
        [0.1, 0.2, nan]
        """
        if not self.has_timestamps:
            raise DataError(
                f"{self.source}: as_of needs the date of every score, and this table has no "
                "timestamps (only the Brain-Score snapshot JSON carries them; CSV exports do not)"
            )
        cutoff, label = _cutoff(date)
        stamps = self.timestamps
        first = stamps.stack().min()
        if cutoff < first:
            raise DataError(
                f"as_of({label!r}) is before the first score of {self.source} "
                f"({first:%Y-%m-%d %H:%M} UTC); pick a date on or after {first:%Y-%m-%d}"
            )
        leaves = [c for c in self.scores.columns if self.tree.is_leaf(c)]
        ts = stamps[leaves]
        later = (ts > cutoff).to_numpy()
        undated = (ts.isna() & (self.status[leaves] == "ok")).to_numpy()
        drop = later | undated
        scores = self.scores.copy()
        status = self.status.copy()
        sl = scores[leaves].to_numpy(copy=True)
        stl = status[leaves].to_numpy(copy=True)
        sl[drop] = np.nan
        stl[drop] = "missing"
        scores[leaves] = sl
        status[leaves] = stl
        masked = {}
        for name in ("errors", "raw", "versions"):
            frame = getattr(self, name)
            if frame is not None:
                frame = frame.copy()
                vals = frame[leaves].to_numpy(copy=True)
                vals[drop] = np.nan
                frame[leaves] = vals
                masked[name] = frame
        new_ts = stamps.copy()
        new_ts[leaves] = ts.mask(drop)
        # The website's rule, bottom-up: parent = mean of children, missing child = 0, on the
        # values the source's aggregates are means of (scores, or raw for the snapshot).
        base = masked["raw"] if self.aggregates_from == "raw" else scores
        base = base.where(status == "ok")
        rules = self._aggregate_rules(rule)
        for node in reversed(self.tree.nodes):
            kids = self.tree.children(node)
            if not kids:
                continue
            x = base[kids].to_numpy()
            any_ok = ~np.isnan(x).all(axis=1)
            with np.errstate(invalid="ignore"):
                mean = np.nanmean(np.where(any_ok[:, None], x, 0.0), axis=1) \
                    if rules[node] == "mean_of_present" else np.nan_to_num(x, nan=0.0).mean(axis=1)
            base[node] = np.where(any_ok, mean, np.nan)
            status[node] = np.where(any_ok, "ok", "missing")
        parents = [c for c in scores.columns if not self.tree.is_leaf(c)]
        scores[parents] = base[parents]
        if "raw" in masked:
            masked["raw"][parents] = base[parents]
        keep = (status[leaves] == "ok").any(axis=1)
        log = [self.log]
        gone = list(scores.index[~keep])
        if gone:
            log.append(pd.DataFrame({"item": gone, "kind": "model",
                                     "reason": f"no score computed on or before {label}"}))
        n_undated = int(undated.sum())
        notes = [*self.notes, f"as of {label}: {int(later.sum())} leaf scores computed later "
                              f"were removed and the aggregates recomputed (website rule)"]
        if n_undated:
            notes.append(f"as of {label}: {n_undated} leaf scores without a timestamp were "
                         "removed (their date is unknown)")
        rows = list(scores.index[keep])
        out = replace(self, scores=scores.loc[rows], status=status.loc[rows],
                      models=self.models.loc[rows], timestamps=new_ts.loc[rows],
                      **{k: v.loc[rows] for k, v in masked.items()},
                      log=pd.concat([x for x in log if len(x)] or [self.log], ignore_index=True),
                      notes=tuple(notes), source=f"{self.source} as of {label}")
        if out.tree_check is not None:
            from ._formats import check_marked_tree

            checked = out.raw.where(out.status == "ok") if self.aggregates_from == "raw" \
                else out.scores
            out = replace(out, tree_check=check_marked_tree(checked, out.tree.to_dict(), rules,
                                                            out.tree_check.tolerance))
        return out

    def _aggregate_rules(self, rule: str) -> dict:
        """Parent -> the rule :meth:`as_of` recomputes it with."""
        parents = [n for n in self.tree.nodes if not self.tree.is_leaf(n)]
        if rule == "missing_as_zero":
            return {p: "missing_as_zero" for p in parents}
        if rule != "source":
            raise ParameterError(f"rule must be 'source' (each aggregate's rule as the source "
                                 f"computed it) or 'missing_as_zero' (today's website), got "
                                 f"{rule!r}")
        own = self.benchmarks.get("aggregate_rule")
        out = {}
        for p in parents:
            given = (self.tree.rule(p) or {}).get("missing")
            if own is not None and isinstance(own.get(p), str):
                out[p] = own[p]
            else:
                out[p] = "mean_of_present" if given == "skip" else "missing_as_zero"
        return out

    def summary(self) -> str:
        """Text summary: models, benchmarks, leaves per domain, cell status, tree check."""
        n_par = len(self.tree.to_dict())
        leaves = self.tree.leaves()
        per = self.domains.fillna("(none)").value_counts(sort=False)
        counts = self.status_counts()
        lines = [
            f"ScoreTable from {self.source}",
            f"  models:     {self.n_models}",
            f"  benchmarks: {self.scores.shape[1]} nodes ({n_par} aggregates, {len(leaves)} leaves)",
            "  leaves per domain: " + ", ".join(f"{k} {v}" for k, v in per.items()),
            f"  cells:      {counts['ok']} ok, {counts['failed']} failed, "
            f"{counts['missing']} missing",
            f"  tree:       roots {self.tree.roots[:4]}" + (" ..." if len(self.tree.roots) > 4
                                                             else ""),
        ]
        if self.tree_check is not None:
            lines.append(f"  tree check: {self.tree_check}")
        carried = [n for n in _ALIGNED if getattr(self, n) is not None]
        if carried:
            lines.append("  per score:  " + ", ".join(carried))
        if self.errors is not None:
            n_err = int(self.errors.notna().to_numpy().sum())
            kinds = self.benchmarks["error_kind"].value_counts()
            lines.append(f"  errors:     {n_err} cells; benchmarks by error kind: "
                         + ", ".join(f"{k} {int(kinds.get(k, 0))}" for k in ERROR_KINDS
                                     if kinds.get(k, 0)))
        if self.has_timestamps:
            ts = self.timestamps.stack()
            lines.append(f"  timestamps: {ts.min():%Y-%m-%d} to {ts.max():%Y-%m-%d}")
        if len(self.log):
            per = self.log["kind"].value_counts()
            lines.append("  left out:   " + ", ".join(f"{v} {k}s" for k, v in per.items())
                         + " (see .log)")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _cutoff(date) -> tuple[pd.Timestamp, str]:
    """The last instant that counts for ``as_of(date)`` (end of day for a date) and a label."""
    if isinstance(date, bool) or not isinstance(date, (str, pd.Timestamp)) and not hasattr(
            date, "year"):
        raise ParameterError(f"date must be a date such as '2022-06-30', got {date!r}")
    try:
        ts = pd.Timestamp(date)
    except (ValueError, TypeError):
        raise ParameterError(f"date must be a date such as '2022-06-30', got {date!r}") from None
    if ts is pd.NaT:
        raise ParameterError(f"date must be a date such as '2022-06-30', got {date!r}")
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    whole_day = ts == ts.normalize() and not (isinstance(date, str) and ":" in date)
    label = f"{ts:%Y-%m-%d}" if whole_day else f"{ts.isoformat()}"
    if whole_day:
        ts = ts + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)
    return ts, label


def _restricted_tree(tree: BenchmarkTree, keep: list[str]) -> BenchmarkTree:
    """``tree`` restricted to ``keep``: parent = nearest kept ancestor; domains kept as they were."""
    kept = set(keep)
    children: dict[str, list[str]] = {}
    roots = []
    for node in keep:
        p = tree.parent(node)
        while p is not None and p not in kept:
            p = tree.parent(p)
        if p is None:
            roots.append(node)
        else:
            children.setdefault(p, []).append(node)
    order = {n: i for i, n in enumerate(tree.nodes)}
    children = {p: sorted(cs, key=order.__getitem__) for p, cs in children.items()}
    domains = {n: tree.domain(n) for n in keep if tree.domain(n) is not None}
    rules = {p: tree.rule(p) for p, cs in children.items()
             if cs == tree.children(p) and tree.rule(p) is not None}
    return BenchmarkTree(children, roots=roots, domains=domains, rules=rules)


def _check_domain_keys(domains, columns) -> None:
    if domains is None:
        return
    if not isinstance(domains, Mapping):
        raise ParameterTypeError(
            f"domains must be a mapping metric -> domain, got {type(domains).__name__}"
        )
    unknown = [k for k in domains if str(k) not in set(columns)]
    if unknown:
        raise ParameterError(
            f"domains names metrics that are not columns: {unknown[:5]}; "
            f"columns start {list(columns)[:5]}"
        )


def _numeric_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Float copy of ``df``; a non-numeric or infinite cell raises DataError naming it."""
    out = {}
    for col in df.columns:
        s = df[col]
        conv = pd.to_numeric(s, errors="coerce")
        if s.dtype == bool:
            conv = s.astype(float)
        bad = conv.isna() & s.notna()
        if bad.any():
            row = bad.to_numpy().nonzero()[0][0]
            raise DataError(
                f"non-numeric score in row {df.index[row]!r}, column {col!r}: {s.iloc[row]!r}"
            )
        conv = conv.astype(float)
        inf = np.isinf(conv.to_numpy())
        if inf.any():
            row = inf.nonzero()[0][0]
            raise DataError(
                f"infinite score in row {df.index[row]!r}, column {col!r}: {s.iloc[row]!r}"
            )
        out[col] = conv.to_numpy()
    return pd.DataFrame(out, index=df.index, columns=df.columns, dtype=float)
