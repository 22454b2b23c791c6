"""The :class:`ScoreTable`: a leaderboard's scores, their status, the models and the tree."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import DataError, ParameterError, ParameterTypeError
from .tree import BenchmarkTree, TreeCheck

__all__ = ["ScoreTable", "STATUS_VALUES"]

#: The values of :attr:`ScoreTable.status`.
STATUS_VALUES = ("ok", "failed", "missing")


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

    # -- constructors ---------------------------------------------------------------------------
    @classmethod
    def from_wide(
        cls, df: pd.DataFrame, domains: Mapping[str, str] | None = None
    ) -> ScoreTable:
        """A flat table from a wide DataFrame: one row per model, one column per metric.

        Parameters
        ----------
        df : DataFrame
            Index = model id; columns = metrics; numbers or NaN. A ``model_name`` column,
            if present, goes to ``models``.
        domains : mapping of str to str, optional
            Metric -> domain (``"neural"``, ``"behavioral"``, ``"engineering"``, ...).

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
        return cls(scores, status, models, tree, "DataFrame", None)

    @classmethod
    def from_long(
        cls,
        df: pd.DataFrame,
        model: str = "model",
        metric: str = "metric",
        score: str = "score",
        domain: str | None = None,
    ) -> ScoreTable:
        """A flat table from a long DataFrame: one row per (model, metric) score.

        Models and metrics keep the order of their first appearance; (model, metric) pairs
        that do not occur are ``"missing"``.

        Parameters
        ----------
        df : DataFrame
        model, metric, score : str
            Names of the columns holding model id, metric name and score.
        domain : str, optional
            Name of a column holding each metric's domain.

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
        return cls.from_wide(wide, domains=doms)

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
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


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
