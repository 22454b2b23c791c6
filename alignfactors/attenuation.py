"""Spearman's correction for attenuation, on top of :mod:`alignfactors.reliability`.

:func:`disattenuate` corrects a correlation matrix with given reliabilities; ``agreement`` and
``dimensionality`` take ``reliability=`` and use the private helpers here to re-estimate the
reliabilities on the models of every resample; :func:`noise_scale` aligns standard errors with a
matrix for ``noise="errors"``. Assumptions: :data:`alignfactors.reliability.ASSUMPTIONS`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from ._formatting import estimates_frame, json_number, markdown_table, text_table
from .errors import DataError, DegenerateDataWarning, ParameterError, ParameterTypeError
from .estimate import Estimate
from .reliability import ASSUMPTIONS, Reliability

__all__ = ["disattenuate", "Disattenuated", "noise_scale", "resolve_noise", "table_noise_errors", "NOISE_OPTIONS", "usable_metrics",
           "corrected_correlation"]


def disattenuate(corr: pd.DataFrame, reliabilities: pd.Series | Mapping) -> pd.DataFrame:
    """Spearman's correction for attenuation: :math:`r_{ab} / \\sqrt{rel_a\\, rel_b}`.

    Metrics without a reliability in (0, 1] get NaN rows and columns (never a clipped value);
    the diagonal is 1 for the others. Corrected values above 1 in absolute value are kept
    (they signal that the reliabilities are underestimated or the CTT assumptions fail).

    Examples
    --------
    >>> import pandas as pd
    >>> r = pd.DataFrame([[1, 0.4], [0.4, 1]], index=["a", "b"], columns=["a", "b"])
    >>> disattenuate(r, {"a": 0.5, "b": 0.8}).loc["a", "b"].round(4)
    np.float64(0.6325)
    """
    rel = pd.Series(dict(reliabilities) if isinstance(reliabilities, Mapping) else reliabilities, dtype=float)
    rel = rel.reindex(corr.columns)
    rel = rel.where((rel > 0) & (rel <= 1))
    d = np.sqrt(rel.to_numpy())
    out = corr.to_numpy(dtype=float) / d[:, None] / d[None, :]
    idx = np.arange(len(d))
    out[idx, idx] = np.where(np.isfinite(d), 1.0, np.nan)
    return pd.DataFrame(out, index=corr.index, columns=corr.columns)


@dataclass(frozen=True)
class Disattenuated:
    """Agreement corrected for attenuation (``agreement(..., reliability=rel).disattenuated``).

    Attributes
    ----------
    matrix : DataFrame
        metric x metric corrected correlations; NaN for excluded metrics.
    mean, blocks : Estimate, dict of str -> Estimate
        Mean corrected correlation over the pairs of usable metrics, overall and per block.
    raw_mean, raw_blocks : Estimate, dict of str -> Estimate
        The uncorrected means over the *same* pairs (like-for-like comparison).
    reliabilities : dict of str -> Estimate
        The reliabilities used, re-estimated on the matrix's models in every resample.
    excluded : dict of str -> str
        Metrics left out of the correction, with the reason.
    pairs : DataFrame
        metric_a, metric_b, block, r, r_corrected, ci_low, ci_high, over_one (``|r_corrected| > 1``).
    """

    matrix: pd.DataFrame
    mean: Estimate
    blocks: dict
    raw_mean: Estimate
    raw_blocks: dict
    reliabilities: dict
    excluded: dict
    pairs: pd.DataFrame
    source: str
    assumptions: str = ASSUMPTIONS

    @property
    def over_one(self) -> pd.DataFrame:
        """Pairs whose corrected correlation exceeds 1 in absolute value (flagged, not hidden)."""
        return self.pairs[self.pairs["over_one"]].reset_index(drop=True)

    def to_frame(self) -> pd.DataFrame:
        """Tidy: quantity, raw estimate over the same pairs, corrected estimate."""
        raw = estimates_frame({"mean": self.raw_mean, **self.raw_blocks})
        cor = estimates_frame({"mean": self.mean, **self.blocks})
        out = pd.DataFrame({"quantity": cor["quantity"], "raw": raw["value"], "raw_ci_low": raw["ci_low"],
                            "raw_ci_high": raw["ci_high"], "corrected": cor["value"],
                            "ci_low": cor["ci_low"], "ci_high": cor["ci_high"], "method": cor["method"],
                            "n_undefined": cor["n_undefined"]})
        return out

    def summary(self) -> str:
        head = (f"Disattenuated agreement (reliability from {self.source}; {len(self.excluded)} metrics excluded, "
                f"{int(self.pairs['over_one'].sum())} corrected |r| > 1)")
        return head + "\n" + text_table(self.to_frame()) + "\nAssumptions: " + self.assumptions

    def to_markdown(self) -> str:
        return markdown_table(self.to_frame())

    def to_dict(self) -> dict:
        num = json_number
        return {
            "source": self.source, "assumptions": self.assumptions,
            "mean": self.mean.to_dict(), "blocks": {k: e.to_dict() for k, e in self.blocks.items()},
            "raw_mean": self.raw_mean.to_dict(), "raw_blocks": {k: e.to_dict() for k, e in self.raw_blocks.items()},
            "reliabilities": {k: e.to_dict() for k, e in self.reliabilities.items()},
            "excluded": dict(self.excluded),
            "over_one": [{"metric_a": r.metric_a, "metric_b": r.metric_b, "r_corrected": num(r.r_corrected)}
                         for r in self.over_one.itertuples(index=False)],
        }

    def __str__(self) -> str:
        return self.summary()


class _Correction:
    """The extra columns ``agreement`` appends to its statistic when given a reliability (private).

    Layout of the appended columns: the reliabilities of the metrics that have one (flagged ones
    too, re-estimated but unused), then, when some pair of usable metrics exists, the corrected
    mean, corrected blocks, raw mean, raw blocks (all over the usable pairs) and the corrected
    usable pairs.
    """

    def __init__(self, rel: Reliability, data: pd.DataFrame, iu, masks: dict, block_names: list):
        cols = [str(c) for c in data.columns]
        self.cols, self.iu, self.block_names = cols, iu, block_names
        _, self.excluded, _ = usable_metrics(rel, data)
        # re-estimated for every metric that has a finite reliability here (flagged ones too, unused)
        have = [c for c in cols if c in rel.sources]
        frame = data.set_axis(cols, axis=1)
        point = replace(rel._kernel, source={c: rel.sources[c] for c in have}).bind(frame[have])(np.ones((1, len(data))))[0]
        self.rel_cols = [c for c, v in zip(have, point) if np.isfinite(v)]
        self.rel_pos = np.array([cols.index(c) for c in self.rel_cols], dtype=int)
        self.rel_stat = replace(rel._kernel, source={c: rel.sources[c] for c in self.rel_cols}).bind(
            frame[self.rel_cols])
        self.source = rel.source
        ok = np.array([c not in self.excluded for c in cols])
        self.pair_ok = ok[iu[0]] & ok[iu[1]]
        self.masks = {b: masks[b] & self.pair_ok for b in block_names}
        self.blocks = [b for b in block_names if self.masks[b].any()]
        n_pairs = int(self.pair_ok.sum())
        self.n_extra = len(self.rel_cols) + (2 * (1 + len(self.blocks)) + n_pairs if n_pairs else 0)

    def __call__(self, r_upper: np.ndarray, weights: np.ndarray) -> np.ndarray:
        rel = self.rel_stat(weights)
        ok = self.pair_ok
        if not ok.any():
            return rel
        full = np.full((rel.shape[0], len(self.cols)), np.nan)
        full[:, self.rel_pos] = rel
        ra, rb = full[:, self.iu[0][ok]], full[:, self.iu[1][ok]]
        with np.errstate(all="ignore"):
            rc = np.where((ra > 0) & (rb > 0), r_upper[:, ok] / np.sqrt(ra * rb), np.nan)
        raw = r_upper[:, ok]
        sub = {k: self.masks[k][ok] for k in self.blocks}
        cm = [rc.mean(axis=1)] + [rc[:, sub[k]].mean(axis=1) for k in self.blocks]
        rm = [raw.mean(axis=1)] + [raw[:, sub[k]].mean(axis=1) for k in self.blocks]
        return np.hstack([rel, np.column_stack(cm + rm), rc])

    def result(self, estimates: Sequence[Estimate], corr: pd.DataFrame, block_of: np.ndarray) -> Disattenuated:
        q, nb = len(self.rel_cols), len(self.blocks)
        rel_est = dict(zip(self.rel_cols, estimates[:q]))
        e = estimates[q:]
        if not self.pair_ok.any():  # nothing to correct: stated, not bootstrapped
            nan = Estimate(float("nan"))
            e = [nan] * (2 + 2 * nb)
        mean, blocks = e[0], dict(zip(self.blocks, e[1 : 1 + nb]))
        raw_mean, raw_blocks = e[1 + nb], dict(zip(self.blocks, e[2 + nb : 2 + 2 * nb]))
        pair_est = e[2 + 2 * nb :]
        reliab = pd.Series({c: rel_est[c].value for c in self.rel_cols if c not in self.excluded}, dtype=float)
        matrix = disattenuate(corr, reliab)
        iu0, iu1 = self.iu[0][self.pair_ok], self.iu[1][self.pair_ok]
        rc = matrix.to_numpy()[iu0, iu1]
        pairs = pd.DataFrame({
            "metric_a": [self.cols[i] for i in iu0], "metric_b": [self.cols[j] for j in iu1],
            "block": list(block_of[self.pair_ok]), "r": corr.to_numpy()[iu0, iu1], "r_corrected": rc,
            "ci_low": [x.ci[0] for x in pair_est], "ci_high": [x.ci[1] for x in pair_est],
            "over_one": np.abs(rc) > 1,
        })
        return Disattenuated(matrix, mean, blocks, raw_mean, raw_blocks, rel_est, dict(self.excluded), pairs,
                             self.source)


#: Values of the ``noise`` option of every analysis.
NOISE_OPTIONS = (None, "errors")


def noise_scale(matrix: pd.DataFrame, noise: Any, errors: Any = None,
                reliability: Reliability | None = None) -> np.ndarray:
    """Standard errors aligned with ``matrix`` for ``noise="errors"`` (0 where none is usable).

    Errors come from ``errors`` (models x metrics on the scale of ``matrix``, or a ScoreTable:
    its ``table.errors``) or, failing that, from ``reliability`` when it was estimated from
    errors. Metrics whose errors are not standard errors (flagged by ``reliability``, or
    ``table.benchmarks["error_kind"] == "spread_over_subjects"``) get no perturbation; a
    ``DegenerateDataWarning`` names them and the metrics without errors (nothing dropped silently).

    Examples
    --------
    >>> import pandas as pd
    >>> m = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [3.0, 1.0, 2.0]})
    >>> noise_scale(m, "errors", errors=pd.DataFrame({"a": [0.1, 0.2, 0.1], "b": [0.3, 0.3, 0.3]})).round(2).tolist()
    [[0.1, 0.3], [0.2, 0.3], [0.1, 0.3]]
    """
    if noise != "errors":
        raise ParameterError(f"noise must be None or 'errors'; got {noise!r}.")
    flags: dict[str, str] = {}
    if errors is not None and hasattr(errors, "scores") and hasattr(errors, "benchmarks"):  # a ScoreTable
        table, errors = errors, errors.errors
        if errors is None:
            raise DataError(f"noise='errors' needs standard errors, and the table from {table.source!r} has none "
                            "(e.g. a CSV export); load a source with errors (the Brain-Score snapshot JSON) or "
                            "pass errors= (models x metrics).")
        bench = table.benchmarks if table.benchmarks is not None else pd.DataFrame()
        kinds = bench["error_kind"] if "error_kind" in bench.columns else pd.Series(dtype=object)
        flags = {str(c): "error_kind='spread_over_subjects'" for c, k in kinds.items() if k == "spread_over_subjects"}
    if errors is None and reliability is not None and reliability._kernel is not None:
        errors = reliability._kernel.errors
    if reliability is not None:
        flags.update({m: r for m, r in reliability.flags.items() if reliability.sources.get(m) == "errors"})
    if errors is None:
        raise DataError("noise='errors' needs standard errors: pass errors= (models x metrics, e.g. table.errors "
                        "for the matrix's models, or the ScoreTable) or a reliability estimated with source='errors'.")
    if not isinstance(errors, pd.DataFrame):
        raise ParameterTypeError(f"errors must be a DataFrame (models x metrics) or a ScoreTable; "
                                 f"got {type(errors).__name__}.")
    e = errors.copy()
    e.index, e.columns = [str(i) for i in e.index], [str(c) for c in e.columns]
    cols = [str(c) for c in matrix.columns]
    rows = [str(i) for i in matrix.index]
    absent = [r for r in rows if r not in e.index]
    if len(absent) == len(rows) or not any(c in e.columns for c in cols):
        raise DataError(f"errors share no {'model' if len(absent) == len(rows) else 'metric'} with the data (errors: "
                        f"{e.shape[0]} models x {e.shape[1]} metrics, e.g. {list(e.columns)[:3]}); give standard "
                        "errors of the data's scores, with the same model ids and metric names, on the same scale.")
    se = np.array(e.reindex(index=rows, columns=cols).to_numpy(dtype=float))
    if (se < 0).any():
        raise DataError("errors has negative values; standard errors are >= 0.")
    skipped = [c for c in cols if c in flags]
    none = [c for j, c in enumerate(cols) if c not in flags and not np.isfinite(se[:, j]).any()]
    for j, c in enumerate(cols):
        if c in flags:
            se[:, j] = 0.0
    if skipped or none:
        warnings.warn(f"noise='errors': no perturbation for {len(skipped)} metrics whose errors are flagged "
                      f"(e.g. {skipped[:3]}) and {len(none)} metrics without errors (e.g. {none[:3]}).",
                      DegenerateDataWarning, stacklevel=3)
    return np.nan_to_num(se, nan=0.0)


def resolve_noise(noise: Any, matrix: pd.DataFrame, errors: Any = None,
                  reliability: Reliability | None = None) -> np.ndarray | None:
    """The ``noise``/``errors`` options of an analysis: None, or :func:`noise_scale` of ``matrix``.

    Raises :class:`ParameterError` for an unknown ``noise`` and for ``errors`` given without
    ``noise="errors"`` (it would be unused).

    Examples
    --------
    >>> import pandas as pd
    >>> m = pd.DataFrame({"a": [1.0, 2.0, 3.0]})
    >>> resolve_noise(None, m) is None
    True
    >>> resolve_noise("errors", m, pd.DataFrame({"a": [0.5, 0.5, 0.5]})).ravel().tolist()
    [0.5, 0.5, 0.5]
    """
    if noise is None:
        if errors is not None:
            raise ParameterError("errors= is only used with noise='errors'; pass noise='errors' to perturb the "
                                 "scores by their standard errors in every resample, or drop errors=.")
        return None
    return noise_scale(matrix, noise, errors, reliability)


def table_noise_errors(table: Any, noise: Any, errors: Any = None) -> pd.DataFrame | None:
    """The ``noise``/``errors`` options of an analysis of a score table (:func:`~alignfactors.decompose`,
    :func:`~alignfactors.comparison.compare_aggregations`): None, or the standard errors to use (models x
    columns, the scale of the scores; NaN where a score has none or its errors are not standard errors,
    i.e. ``table.benchmarks["error_kind"] == "spread_over_subjects"``, named in a warning).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"a": [1.0, 2.0], "b": [2.0, 1.0]}, index=["m1", "m2"])
    >>> table_noise_errors(t, "errors", pd.DataFrame({"a": [0.1, 0.2]}, index=["m1", "m2"]))["a"].tolist()
    [0.1, 0.2]
    """
    if noise is None:
        if errors is not None:
            raise ParameterError("errors= is only used with noise='errors'; pass noise='errors' to perturb the "
                                 "scores by their standard errors in every resample, or drop errors=.")
        return None
    if noise not in NOISE_OPTIONS:
        raise ParameterError(f"noise must be None or 'errors'; got {noise!r}.")
    source = errors if errors is not None else table
    if hasattr(source, "scores") and hasattr(source, "benchmarks"):  # a ScoreTable
        bench = source.benchmarks if source.benchmarks is not None else pd.DataFrame()
        kinds = bench["error_kind"] if "error_kind" in bench.columns else pd.Series(dtype=object)
        frame = source.errors
        if frame is None:
            raise DataError(f"noise='errors' needs standard errors, and the table from {source.source!r} has none "
                            "(e.g. a CSV export); load a source with errors (the Brain-Score snapshot JSON) or pass "
                            "errors= (models x columns).")
        flagged = [str(c) for c, kd in kinds.items() if kd == "spread_over_subjects"]
    elif isinstance(source, pd.DataFrame) and errors is not None:
        frame, flagged = errors, []
    else:
        raise DataError("noise='errors' needs standard errors: pass errors= (models x columns, the scale of the "
                        "scores) or a ScoreTable loaded from a source with errors (e.g. the Brain-Score snapshot).")
    frame = frame.set_axis([str(i) for i in frame.index], axis=0).set_axis([str(c) for c in frame.columns], axis=1)
    if (frame < 0).to_numpy().any():
        raise DataError("errors has negative values; standard errors are >= 0.")
    frame = frame.astype(float)
    flagged = [c for c in flagged if c in frame.columns and frame[c].notna().any()]
    if flagged:
        frame[flagged] = np.nan
        warnings.warn(f"noise='errors': no perturbation for {len(flagged)} benchmarks whose errors are not standard "
                      f"errors (error_kind='spread_over_subjects', e.g. {flagged[:3]}).", DegenerateDataWarning,
                      stacklevel=3)
    return frame


def usable_metrics(rel: Reliability, matrix: pd.DataFrame) -> tuple[list[str], dict[str, str], Callable]:
    """Split ``matrix``'s columns into those a correction can use and those it excludes (with reasons).

    Returns ``(keep, excluded, statistic)`` where ``statistic(weights)`` re-estimates the
    reliabilities of the kept columns on ``matrix``'s rows (``matrix[keep]``).
    """
    if not isinstance(rel, Reliability):
        raise ParameterTypeError(f"reliability must be a Reliability (af.reliability(...)); got {type(rel).__name__}.")
    cols = [str(c) for c in matrix.columns]
    src = {c: rel.sources[c] for c in cols if c in rel.sources}
    point = replace(rel._kernel, source=src).bind(matrix)(np.ones((1, len(matrix))))[0]
    excluded: dict[str, str] = {}
    for j, c in enumerate(cols):
        if c not in rel.sources:
            excluded[c] = "no reliability for this metric"
        elif c in rel.flags:
            excluded[c] = rel.flags[c]
        elif not (0 < point[j] <= 1):
            excluded[c] = f"reliability {point[j]:.3g} on the matrix's models is outside (0, 1]"
    keep = [c for c in cols if c not in excluded]
    sub = matrix.set_axis(cols, axis=1)[keep]
    return keep, excluded, replace(rel._kernel, source={c: src[c] for c in keep}).bind(sub)


def corrected_correlation(r: np.ndarray, rel: np.ndarray) -> np.ndarray | None:
    """``r / sqrt(rel_a rel_b)`` smoothed to positive definite as ``psych::cor.smooth``; None if undefined."""
    from .correlation import cor_smooth

    rel = np.asarray(rel, dtype=float)
    if not (np.all(np.isfinite(rel)) and np.all(rel > 0) and np.all(np.isfinite(r))):
        return None
    d = np.sqrt(rel)
    out = r / d[:, None] / d[None, :]
    np.fill_diagonal(out, 1.0)
    return cor_smooth(out)[0]
