"""From a ScoreTable to the model x metric matrix the analyses use, with a log of every drop."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from .errors import DataError, ParameterError, ParameterTypeError

__all__ = ["clean", "Cleaned"]

_LOG_COLUMNS = ["item", "kind", "reason", "n_missing", "n_total"]


@dataclass(frozen=True)
class Cleaned:
    """Result of :func:`clean`.

    Attributes
    ----------
    matrix : DataFrame
        Models x metrics (index model_id, columns in file order); no NaN when ``complete=True``.
    domains : Series
        metric -> domain ("neural", "behavioral", ... or None for unlabelled tables).
    log : DataFrame
        One row per dropped item: ``item``, ``kind`` ("metric" | "model"), ``reason``,
        ``n_missing`` and ``n_total`` (the counts behind the reason, where they apply).
    options : dict
        The cleaning options used.
    """

    matrix: pd.DataFrame
    domains: pd.Series
    log: pd.DataFrame
    options: dict = field(default_factory=dict)
    n_models_in: int = 0
    n_metrics_in: int = 0

    @property
    def shape(self) -> tuple[int, int]:
        return self.matrix.shape

    def dropped(self, kind: str) -> pd.DataFrame:
        """The log rows of one kind ("metric" or "model")."""
        return self.log[self.log["kind"] == kind]

    def summary(self) -> str:
        n, p = self.matrix.shape
        per_domain = self.domains.value_counts(dropna=False).to_dict()
        lines = [
            f"Cleaned matrix: {n} models x {p} metrics "
            f"(from {self.n_models_in} models and {self.n_metrics_in} benchmark columns).",
            "Metrics per domain: " + ", ".join(f"{k}: {v}" for k, v in per_domain.items()),
            f"Dropped: {len(self.dropped('metric'))} metrics, {len(self.dropped('model'))} models "
            "(see .log for each with its reason).",
            "Options: " + ", ".join(f"{k}={v!r}" for k, v in self.options.items()),
        ]
        reasons = self.log.groupby(["kind", "reason_short"]).size() if "reason_short" in self.log else None
        if reasons is not None:
            lines += [f"  {k} dropped because {r}: {c}" for (k, r), c in reasons.items()]
        return "\n".join(lines)

    def to_frame(self) -> pd.DataFrame:
        """Tidy frame of what cleaning did: one row per dropped item (the log) with its reason."""
        return self.log.copy()

    def to_markdown(self) -> str:
        """Counts of dropped items by kind and reason, as a markdown table."""
        from ._formatting import markdown_table

        counts = (self.log.groupby(["kind", "reason_short"], sort=True).size().rename("count").reset_index()
                  .rename(columns={"reason_short": "reason"}) if len(self.log) else
                  pd.DataFrame(columns=["kind", "reason", "count"]))
        head = (f"{self.matrix.shape[0]} models x {self.matrix.shape[1]} metrics kept "
                f"(from {self.n_models_in} models and {self.n_metrics_in} columns).\n\n")
        return head + markdown_table(counts)

    def to_dict(self) -> dict:
        """JSON-ready record: shape, options and every dropped item with its reason."""
        from ._formatting import json_number

        return {
            "n_models": int(self.matrix.shape[0]), "n_metrics": int(self.matrix.shape[1]),
            "n_models_in": int(self.n_models_in), "n_metrics_in": int(self.n_metrics_in),
            "options": dict(self.options),
            "dropped": [{k: json_number(v) for k, v in r.items()} for r in self.log.to_dict(orient="records")],
        }

    def __str__(self) -> str:
        return self.summary()


def _select_columns(table, domains, level) -> tuple[list[str], list[tuple]]:
    tree = table.tree
    cols = list(table.scores.columns)
    if level == "leaves":
        candidates = [c for c in cols if tree.is_leaf(c)]
    else:
        candidates = list(tree.nodes_at(level))
    labelled = {tree.domain(c) for c in candidates} - {None}
    if domains is None:
        wanted = {"neural", "behavioral"} & labelled or None
    else:
        wanted = set(domains)
        unknown = wanted - labelled
        if unknown:
            raise ParameterError(
                f"domains={sorted(domains)!r}: no metric has domain {sorted(unknown)!r}; "
                f"the table's domains are {sorted(labelled) or 'none (pass domains= to from_wide)'}."
            )
    log = []
    chosen = []
    cand = set(candidates)
    for c in cols:
        dom = tree.domain(c)
        if c not in cand:
            why = "aggregate node (not at the selected level)" if not tree.is_leaf(c) else "below the selected level"
            log.append((c, "metric", f"{why}; level={level!r}", np.nan, np.nan, "not at selected level"))
        elif wanted is not None and dom not in wanted:
            log.append((c, "metric", f"domain {dom!r} not selected (domains={sorted(wanted)})", np.nan, np.nan,
                        "domain not selected"))
        else:
            chosen.append(c)
    return chosen, log


def clean(
    table,
    *,
    max_missing: float = 0.5,
    complete: bool = True,
    domains: Sequence[str] | None = None,
    level: str | int = "leaves",
    drop_constant: bool = True,
) -> Cleaned:
    """Select metrics and models the way Ahlert et al. (2024) did, logging every drop.

    Steps, in order: (1) take the nodes at ``level`` (default the leaves) of the chosen
    ``domains`` (default neural and behavioral when the table has them, else all);
    (2) drop each metric with more than ``max_missing`` of its values missing (failed
    or never run) over all models; (3) with ``complete=True`` drop every model with any
    missing value on the kept metrics, otherwise drop only models with no value at all;
    (4) drop metrics that are constant over the kept models (a correlation is undefined
    for them).

    Parameters
    ----------
    table : ScoreTable
    max_missing : float, default=0.5
        Largest allowed fraction of missing values of a metric, in [0, 1].
    complete : bool, default=True
        Keep only complete models (for methods that need a full matrix). ``False`` keeps
        models with some missing values for pairwise methods.
    domains : sequence of str, optional
        Domains to keep, e.g. ``["neural"]``.
    level : "leaves" or int, default="leaves"
        ``1`` takes the regions V1/V2/V4/IT and the behavioral benchmarks (depth below the
        domain node; shallower leaves count as themselves).
    drop_constant : bool, default=True

    Returns
    -------
    Cleaned

    Raises
    ------
    ParameterError
        For an out-of-range option.
    DataError
        When nothing is left after cleaning.

    References
    ----------
    .. [1] Ahlert, J., Klein, T., Wichmann, F. & Geirhos, R. (2024). How aligned are
       different alignment metrics? ICLR 2024 Workshop on Representational Alignment.
       https://doi.org/10.48550/arXiv.2407.07530

    Examples
    --------
    >>> import pandas as pd, alignfactors as af
    >>> df = pd.DataFrame({"a": [1.0, 2, 3, None], "b": [3.0, 1, 2, 4], "c": [None, None, None, 1.0]},
    ...                   index=["m1", "m2", "m3", "m4"])
    >>> cleaned = af.clean(af.ScoreTable.from_wide(df))
    >>> cleaned.matrix.shape
    (3, 2)
    >>> cleaned.log[["item", "kind"]].values.tolist()
    [['c', 'metric'], ['m4', 'model']]
    """
    if not hasattr(table, "scores") or not hasattr(table, "tree"):
        raise ParameterTypeError(
            f"table must be an alignfactors ScoreTable (from load_brainscore or ScoreTable.from_wide); "
            f"got {type(table).__name__}."
        )
    if isinstance(max_missing, bool) or not isinstance(max_missing, (int, float)) or not 0 <= max_missing <= 1:
        raise ParameterError(f"max_missing must be a fraction in [0, 1]; got {max_missing!r}.")
    if not isinstance(complete, bool):
        raise ParameterTypeError(f"complete must be True or False; got {complete!r}.")
    if not (level == "leaves" or (isinstance(level, (int, np.integer)) and not isinstance(level, bool) and level >= 1)):
        raise ParameterError(f"level must be 'leaves' or a positive integer depth; got {level!r}.")
    if isinstance(domains, str):
        domains = [domains]

    scores = table.scores
    n_models, n_cols = scores.shape
    cols, log = _select_columns(table, domains, level)
    m = scores[cols]

    miss = m.isna().sum(axis=0)
    keep = []
    for c in cols:
        frac = miss[c] / n_models if n_models else 1.0
        if frac > max_missing:
            log.append((c, "metric", f"{miss[c]} of {n_models} models missing ({frac:.0%} > max_missing={max_missing:.0%})",
                        int(miss[c]), n_models, "too many missing values"))
        else:
            keep.append(c)
    m = m[keep]

    row_miss = m.isna().sum(axis=1)
    drop_rows = row_miss > 0 if complete else row_miss == len(keep)
    dropped = m.loc[drop_rows]
    isna = dropped.isna().to_numpy()
    status_rows = table.status.loc[dropped.index, keep].to_numpy() if hasattr(table, "status") else None
    for i, model in enumerate(dropped.index):
        where = np.flatnonzero(isna[i])
        missing_cols = [keep[j] for j in where]
        shown = ", ".join(missing_cols[:3]) + (f", ... (+{len(missing_cols) - 3})" if len(missing_cols) > 3 else "")
        status = pd.Series(status_rows[i, where]).value_counts().to_dict() if status_rows is not None else {}
        how = " / ".join(f"{v} {k}" for k, v in sorted(status.items()))
        log.append((model, "model", f"missing {len(missing_cols)} of {len(keep)} kept metrics ({how}): {shown}",
                    len(missing_cols), len(keep), "missing values" if complete else "no value on any kept metric"))
    m = m.loc[~drop_rows]

    if drop_constant:
        nunique = m.nunique(dropna=True)
        for c in list(m.columns):
            if nunique[c] <= 1:
                log.append((c, "metric", f"constant over the {len(m)} kept models (correlation undefined)",
                            np.nan, len(m), "constant"))
        m = m.loc[:, nunique > 1]

    if m.shape[0] < 2 or m.shape[1] < 1:
        raise DataError(
            f"nothing usable is left after cleaning {table.source if hasattr(table, 'source') else 'the table'}: "
            f"{m.shape[0]} models x {m.shape[1]} metrics remain (max_missing={max_missing}, complete={complete}). "
            "Try complete=False, a larger max_missing, or other domains."
        )
    log_df = pd.DataFrame(log, columns=_LOG_COLUMNS + ["reason_short"])
    doms = pd.Series([table.tree.domain(c) for c in m.columns], index=m.columns, name="domain", dtype=object)
    options = {"max_missing": max_missing, "complete": complete, "domains": None if domains is None else list(domains),
               "level": level, "drop_constant": drop_constant}
    out = m.copy()
    if "model_name" in getattr(table, "models", pd.DataFrame()).columns:
        # Model names travel with the matrix so that clusters="families" works on it (a plain dict:
        # pandas compares attrs on concat, which a Series would break).
        # Every model of the table, not only the kept ones: families are those of the whole table,
        # and clusters= may name models that cleaning dropped (they are known, not unknown).
        names = table.models["model_name"]
        out.attrs["model_names"] = {str(k): str(v) for k, v in names.items() if pd.notna(v)}
    return Cleaned(out, doms, log_df, options, n_models, n_cols)
