"""Reliability of alignment metrics, and Spearman's correction for attenuation.

How much of the disagreement between metrics is noise? Classical test theory (CTT) writes an
observed score as ``x = t + e`` with the error ``e`` independent of the true score ``t`` and of
the errors of other metrics. The reliability of a metric over a population of models is
``rel = var(t) / var(x)``, and an observed correlation is bounded by the reliabilities:
``r_xy = r_ty * sqrt(rel_x * rel_y)``. Spearman's correction estimates the correlation of the
error-free scores as ``r_xy / sqrt(rel_x * rel_y)``.

Three sources of reliability, :func:`reliability` (``source=``):

* ``"errors"``: each score's own standard error ``se`` (Brain-Score's error over stimulus or
  neuron splits, on the ceiled scale): ``rel = 1 - mean(se^2) / var(x)`` over models;
* ``"replicates"``: replicate models (training seeds, checkpoints) of one family: the one-way
  intra-class correlation ICC(1) of the scores with the families as targets;
* ``"split"``: two score tables from two halves of the data (e.g. of the stimuli):
  Spearman-Brown ``2 r / (1 + r)`` with ``r`` the correlation of the halves over models.

A reliability below 0 or above 1, or an error the loader diagnosed as not a standard error
(``table.benchmarks["error_kind"] == "spread_over_subjects"``: the Geirhos2021 error
consistency errors), is *flagged* with its reason and excluded from every correction; values
are never clipped. The correction itself lives in :mod:`alignfactors.attenuation`.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from ._formatting import estimates_frame, json_number, markdown_table, text_table
from .errors import DataError, ParameterError, ParameterTypeError
from .estimate import Estimate
from .resampling import bootstrap, check_n_boot_ci

__all__ = ["reliability", "Reliability", "SOURCES", "ASSUMPTIONS"]

SOURCES = ("errors", "replicates", "split")

#: The assumptions behind every correction, quoted in results and the report.
ASSUMPTIONS = (
    "Classical test theory: each observed score is a true score plus an error with mean zero, "
    "independent of the true scores and of the other metrics' errors, with one error variance "
    "per metric (estimated as the mean squared standard error, the within-family variance of "
    "replicate models, or from split halves). With Spearman correlations the correction is "
    "approximate: it is exact for Pearson correlations of the scores."
)


# ----------------------------------------------------------------------------------------
# kernels: reliabilities of each column under count weights (B, n) -> (B, p)
# ----------------------------------------------------------------------------------------

def _errors_kernel(x: np.ndarray, se: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``1 - mean(se^2) / var(x)`` per column, count-weighted, over rows with both values."""
    m = np.isfinite(x) & np.isfinite(se)
    xz, s2 = np.where(m, x, 0.0), np.where(m, se, 0.0) ** 2
    wm = w[:, :, None] * m[None]
    sw = wm.sum(axis=1)
    with np.errstate(all="ignore"):
        mean = np.einsum("bnp,np->bp", wm, xz) / sw
        var = np.einsum("bnp,bnp->bp", wm, (xz[None] - mean[:, None, :]) ** 2) / (sw - 1)
        mse = np.einsum("bnp,np->bp", wm, s2) / sw
        out = 1.0 - mse / var
    return np.where((sw >= 2) & (var > 0), out, np.nan)


def _icc_parts(x: np.ndarray, codes: np.ndarray, w: np.ndarray):
    """Mean squares of the one-way ANOVA of each column with groups ``codes`` under weights.

    A weight is a number of copies. A group whose members all have weight k counts as k copies
    of the group; copies of one model are not replicates of each other (they add no within-group
    degrees of freedom). Returns ``msb, msw, n0, n_rep`` each (B, p); ``n_rep`` counts groups
    with at least two distinct drawn members.
    """
    order = np.argsort(codes, kind="stable")
    c = codes[order]
    starts = np.flatnonzero(np.r_[True, c[1:] != c[:-1]])
    sizes = np.diff(np.r_[starts, len(c)])
    xs = x[order]
    m = np.isfinite(xs)
    xz = np.where(m, xs, 0.0)
    ws = w[:, order]
    # complete columns share one weight per model: the group counts are (B, G), broadcast over p
    wm = ws[:, :, None] if m.all() else ws[:, :, None] * m[None]
    with np.errstate(all="ignore"):
        ng = np.add.reduceat(wm, starts, axis=1)                   # (B, G, p) weight per group
        cg = np.add.reduceat((wm > 0).astype(float), starts, axis=1)  # distinct drawn members
        sg = np.add.reduceat(wm * xz[None], starts, axis=1)
        mg = sg / ng
        # within groups: a model alone in its group is its group's mean (its deviation is 0 but for
        # the rounding of (w x) / w), so only the groups of two or more are summed; most are single
        multi = sizes >= 2
        if multi.any():
            rows = np.repeat(multi, sizes)
            dev = xz[rows][None] - np.repeat(np.nan_to_num(mg[:, multi]), sizes[multi], axis=1)
            ssw = np.add.reduceat(wm[:, rows] * dev**2, np.r_[0, np.cumsum(sizes[multi])[:-1]], axis=1).sum(axis=1)
        else:
            ssw = np.zeros((w.shape[0], x.shape[1]))
        ng, cg = np.broadcast_to(ng, sg.shape), np.broadcast_to(cg, sg.shape)
        dfw = np.where(cg > 0, ng * (1 - 1 / cg), 0.0).sum(axis=1)
        big_n = ng.sum(axis=1)
        grand = sg.sum(axis=1) / big_n
        ssb = np.nansum(ng * (mg - grand[:, None, :]) ** 2, axis=1)
        copies = np.where(cg > 0, ng / cg, 0.0)
        dfb = copies.sum(axis=1) - 1
        n0 = (big_n - (ng * cg).sum(axis=1) / big_n) / dfb
        msb, msw = ssb / dfb, ssw / dfw
    n_rep = (cg >= 2).sum(axis=1).astype(float)
    return msb, msw, n0, n_rep


def _icc_kernel(x: np.ndarray, codes: np.ndarray, w: np.ndarray) -> np.ndarray:
    msb, msw, n0, _ = _icc_parts(x, codes, w)
    with np.errstate(all="ignore"):
        out = (msb - msw) / (msb + (n0 - 1) * msw)
    return np.where(np.isfinite(msw) & (msb + (n0 - 1) * msw > 0), out, np.nan)


def _split_corr(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Count-weighted Pearson correlation of matching columns of ``a`` and ``b`` (pairwise complete)."""
    m = np.isfinite(a) & np.isfinite(b)
    az, bz = np.where(m, a, 0.0), np.where(m, b, 0.0)
    wm = w[:, :, None] * m[None]
    with np.errstate(all="ignore"):
        sw = wm.sum(axis=1)
        ma = np.einsum("bnp,np->bp", wm, az) / sw
        mb = np.einsum("bnp,np->bp", wm, bz) / sw
        da, db = az[None] - ma[:, None, :], bz[None] - mb[:, None, :]
        cov = (wm * da * db).sum(axis=1)
        r = cov / np.sqrt((wm * da**2).sum(axis=1) * (wm * db**2).sum(axis=1))
    return r


def _split_kernel(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> np.ndarray:
    r = _split_corr(a, b, w)
    with np.errstate(all="ignore"):
        return 2 * r / (1 + r)


@dataclass(frozen=True)
class _Kernel:
    """What is needed to re-estimate the reliabilities on any set of models (private)."""

    source: Mapping[str, str]                   # metric -> source used
    errors: pd.DataFrame | None = None          # models x metrics, ceiled-scale standard errors
    groups: pd.Series | None = None             # model -> replicate group
    halves: tuple[pd.DataFrame, pd.DataFrame] | None = None

    def bind(self, matrix: pd.DataFrame) -> Callable[[np.ndarray], np.ndarray]:
        """A statistic ``weights (B, n) -> (B, p)``: reliabilities of ``matrix``'s columns on its rows."""
        cols = [str(c) for c in matrix.columns]
        index = pd.Index([str(i) for i in matrix.index])
        x = matrix.to_numpy(dtype=float)
        parts: list[tuple[np.ndarray, Callable]] = []
        for src in SOURCES:
            sel = np.array([self.source.get(c) == src for c in cols])
            if not sel.any():
                continue
            xs = x[:, sel]
            if src == "errors":
                se = self.errors.reindex(index=index, columns=np.array(cols)[sel]).to_numpy(dtype=float)
                parts.append((sel, lambda w, xs=xs, se=se: _errors_kernel(xs, se, w)))
            elif src == "replicates":
                g = self.groups.reindex(index)
                labels = g.astype(object).where(g.notna(), pd.Series([f"\0model:{i}" for i in index], index=index))
                codes = pd.factorize(labels.astype(str))[0]
                parts.append((sel, lambda w, xs=xs, codes=codes: _icc_kernel(xs, codes, w)))
            else:
                ha, hb = (h.reindex(index=index, columns=np.array(cols)[sel]).to_numpy(dtype=float)
                          for h in self.halves)
                parts.append((sel, lambda w, ha=ha, hb=hb: _split_kernel(ha, hb, w)))

        def statistic(weights: np.ndarray) -> np.ndarray:
            w = np.asarray(weights, dtype=float)
            out = np.full((w.shape[0], len(cols)), np.nan)
            for sel, fn in parts:
                out[:, sel] = fn(w)
            return out

        return statistic


# ----------------------------------------------------------------------------------------
# result
# ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Reliability:
    """Result of :func:`reliability`: one reliability per metric, with its interval and flags.

    Attributes
    ----------
    estimates : dict of str -> Estimate
        metric -> reliability, as computed (never clipped; flagged values included).
    flags : dict of str -> str
        metric -> why it is excluded from corrections (impossible value, errors that are not
        standard errors, no replicate group, ...). Metrics not in ``flags`` are usable.
    sources : dict of str -> str
        metric -> source the value comes from (``"errors"``, ``"replicates"``, ``"split"``).
    details : DataFrame
        One row per metric: ``metric, source, n_models, n_groups, error_variance, score_variance``
        (``error_variance`` = mean se² for errors, the within-group mean square for
        replicates, NaN for split; ``n_groups`` = replicate groups with >= 2 models).
    n_boot, level, seed
        Resampling provenance; ``unit`` says what was resampled.
    """

    estimates: dict
    flags: dict
    sources: dict
    details: pd.DataFrame
    n_boot: int
    level: float
    seed: Any = None
    unit: str = "model"
    _kernel: _Kernel | None = field(default=None, repr=False, compare=False)

    @property
    def source(self) -> str:
        """The source, or ``"mixed"`` after :meth:`fill`."""
        kinds = set(self.sources.values())
        return kinds.pop() if len(kinds) == 1 else "mixed"

    @property
    def values(self) -> pd.Series:
        """metric -> point reliability (flagged ones included)."""
        return pd.Series({k: e.value for k, e in self.estimates.items()}, name="reliability", dtype=float)

    @property
    def usable(self) -> list[str]:
        """Metrics whose reliability enters corrections (not flagged)."""
        return [m for m in self.estimates if m not in self.flags]

    def fill(self, other: "Reliability") -> "Reliability":
        """Take each metric from ``self`` unless it is flagged or absent there, else from ``other``.

        E.g. ``rel_errors.fill(rel_replicates)``: standard errors where they are usable, replicate
        ICCs for the metrics whose errors are not standard errors. ``sources`` records which
        source each metric came from; the flags of ``self`` that ``other`` resolves are dropped
        (and appear in ``details.note``).
        """
        if not isinstance(other, Reliability):
            raise ParameterTypeError(f"fill needs another Reliability; got {type(other).__name__}.")
        est, flags, srcs, rows = {}, {}, {}, []
        det_a = self.details.set_index("metric")
        det_b = other.details.set_index("metric")
        for m in list(dict.fromkeys([*self.estimates, *other.estimates])):
            take_other = (m not in self.estimates or m in self.flags) and m in other.estimates and m not in other.flags
            r, det = (other, det_b) if take_other else (self, det_a)
            if m not in r.estimates:
                r, det = (other, det_b)
            est[m], srcs[m] = r.estimates[m], r.sources[m]
            if m in r.flags:
                flags[m] = r.flags[m]
            row = det.loc[m].to_dict()
            row["metric"] = m
            if take_other and m in self.flags:
                row["note"] = f"{self.sources[m]} flagged ({self.flags[m]}); {other.sources[m]} used"
            rows.append(row)
        details = pd.DataFrame(rows)
        details = details[["metric"] + [c for c in details.columns if c != "metric"]]
        a, b = self._kernel, other._kernel
        kernel = _Kernel(srcs, errors=a.errors if a.errors is not None else b.errors,
                         groups=a.groups if a.groups is not None else b.groups,
                         halves=a.halves if a.halves is not None else b.halves)
        return Reliability(est, flags, srcs, details, self.n_boot, self.level, self.seed, self.unit, kernel)

    def to_frame(self) -> pd.DataFrame:
        """Tidy: metric, source, value, ci_low, ci_high, se, method, n_boot, n_models, n_groups, flag."""
        f = estimates_frame(self.estimates, name="metric")
        det = self.details.set_index("metric")
        f.insert(1, "source", [self.sources[m] for m in f["metric"]])
        f["n_models"] = [int(det.at[m, "n_models"]) for m in f["metric"]]
        f["n_groups"] = [det.at[m, "n_groups"] for m in f["metric"]]
        f["flag"] = [self.flags.get(m, "") for m in f["metric"]]
        return f

    def summary(self) -> str:
        head = (f"Reliability of {len(self.estimates)} metrics from {self.source} ({self.n_boot} bootstrap "
                f"resamples over {self.unit}s, {self.level:.0%} intervals); {len(self.flags)} flagged and "
                "excluded from corrections")
        cols = ["metric", "source", "value", "ci_low", "ci_high", "n_models", "flag"]
        return head + "\n" + text_table(self.to_frame()[cols])

    def to_markdown(self) -> str:
        return markdown_table(self.to_frame()[["metric", "source", "value", "ci_low", "ci_high", "n_models",
                                               "n_groups", "flag"]])

    def to_dict(self) -> dict:
        det = self.details.set_index("metric")
        return {
            "n_boot": int(self.n_boot), "level": float(self.level), "unit": self.unit,
            "assumptions": ASSUMPTIONS,
            "metrics": {m: {**e.to_dict(), "source": self.sources[m], "flag": self.flags.get(m),
                            **{k: json_number(v) for k, v in det.loc[m].items()}}
                        for m, e in self.estimates.items()},
        }

    def __str__(self) -> str:
        return self.summary()


# ----------------------------------------------------------------------------------------
# public function
# ----------------------------------------------------------------------------------------

def _frame(obj: Any, what: str) -> pd.DataFrame:
    from .io.table import ScoreTable

    if isinstance(obj, ScoreTable):
        return obj.scores
    if isinstance(obj, pd.DataFrame):
        return obj
    raise ParameterTypeError(f"{what} must be a ScoreTable or a DataFrame (models x metrics); "
                             f"got {type(obj).__name__}.")


def _labels(frame: pd.DataFrame, what: str) -> pd.DataFrame:
    frame = frame.copy()
    frame.columns = [str(c) for c in frame.columns]
    frame.index = [str(i) for i in frame.index]
    if frame.columns.duplicated().any() or frame.index.duplicated().any():
        raise DataError(f"{what} has duplicate model or metric labels; make them unique.")
    bad = [c for c, t in frame.dtypes.items() if not pd.api.types.is_numeric_dtype(t)]
    if bad:
        raise DataError(f"{what} columns must be numeric; non-numeric: {bad[:5]}.")
    return frame.astype(float)


def _validate(data, source, errors, groups, metrics, min_models, n_boot, ci, error_kind=None):
    if source not in SOURCES:
        raise ParameterError(f"source must be one of {SOURCES}; got {source!r}.")
    check_n_boot_ci(n_boot, ci)
    if not isinstance(min_models, (int, np.integer)) or min_models < 3:
        raise ParameterError(f"min_models must be an integer >= 3; got {min_models!r}.")
    kinds = error_kind
    if isinstance(kinds, Mapping):
        kinds = pd.Series(dict(kinds))
    if kinds is not None and not isinstance(kinds, pd.Series):
        raise ParameterTypeError(f"error_kind must be a Series or mapping metric -> kind; got {type(kinds).__name__}.")
    if source == "split":
        if not (isinstance(data, (tuple, list)) and len(data) == 2):
            raise ParameterTypeError("source='split' needs data=(half_a, half_b): two score tables (ScoreTable or "
                                     f"DataFrame models x metrics) from two halves of the data; got {type(data).__name__}.")
        a, b = (_labels(_frame(d, f"data[{i}]"), f"data[{i}]") for i, d in enumerate(data))
        common_c = [c for c in a.columns if c in b.columns]
        common_r = [r for r in a.index if r in b.index]
        if not common_c or len(common_r) < 3:
            raise DataError(f"the two halves share {len(common_c)} metrics and {len(common_r)} models; "
                            "give two tables with the same models and metrics.")
        scores = (a.loc[common_r, common_c] + b.loc[common_r, common_c]) / 2
        halves = (a.loc[common_r, common_c], b.loc[common_r, common_c])
    else:
        from .io.table import ScoreTable

        scores = _labels(_frame(data, "data"), "data")
        halves = None
        if source == "errors":
            if errors is None and isinstance(data, ScoreTable):
                errors = data.errors
                if kinds is None and data.benchmarks is not None and "error_kind" in data.benchmarks.columns:
                    kinds = data.benchmarks["error_kind"]
            if errors is None:
                raise DataError("source='errors' needs standard errors: give a ScoreTable loaded from a source with "
                                "errors (e.g. the Brain-Score snapshot JSON) or errors= (models x metrics, on the "
                                "scale of the scores).")
            if isinstance(errors, ScoreTable):
                raise ParameterTypeError("errors must be a DataFrame (models x metrics); pass table.errors.")
            errors = _labels(_frame(errors, "errors"), "errors")
            if (errors < 0).any().any():
                raise DataError("errors has negative values; standard errors are >= 0.")
    if metrics is not None:
        metrics = [str(m) for m in metrics]
        absent = [m for m in metrics if m not in scores.columns]
        if absent:
            raise ParameterError(f"metrics not in the data: {absent[:5]}.")
        scores = scores[metrics]
        if halves is not None:
            halves = (halves[0][metrics], halves[1][metrics])
    if source == "replicates":
        if groups is None:
            from .families import model_families
            from .io.table import ScoreTable

            if not isinstance(data, ScoreTable):
                raise ParameterError("source='replicates' with a DataFrame needs groups= (model_id -> replicate group, "
                                     "e.g. af.model_families(table, level='variant')); or pass the ScoreTable.")
            groups = model_families(data, level="variant")
        if isinstance(groups, Mapping):
            groups = pd.Series(dict(groups))
        if not isinstance(groups, pd.Series):
            raise ParameterTypeError(f"groups must be a Series model_id -> replicate group; got {type(groups).__name__}.")
        groups = groups.copy()
        groups.index = [str(i) for i in groups.index]
    if isinstance(kinds, pd.Series):
        kinds = kinds.copy()
        kinds.index = [str(i) for i in kinds.index]
    return scores, errors, groups, halves, kinds


def reliability(
    data: Any,
    *,
    source: str = "errors",
    errors: pd.DataFrame | None = None,
    error_kind: pd.Series | Mapping | None = None,
    groups: pd.Series | Mapping | None = None,
    metrics: Sequence[str] | None = None,
    min_models: int = 10,
    clusters: Any = None,
    n_boot: int = 2000,
    ci: float = 0.95,
    ci_method: str = "bca",
    seed: Any = None,
    n_jobs: int = 1,
    batch_size: int | None = None,
    progress: bool | None = None,
) -> Reliability:
    """Reliability of each metric over models, from score errors, replicate models or split halves.

    Parameters
    ----------
    data : ScoreTable or DataFrame, or a pair of them for ``source="split"``
        Models x metrics scores (e.g. ``table`` or ``clean(table).matrix``). The reliability is
        a property of the metric *in this population of models*: compute it on the models you
        correlate (``agreement(..., reliability=rel)`` re-estimates it on the matrix's models).
    source : {"errors", "replicates", "split"}, default="errors"
        ``"errors"``: :math:`1 - \\overline{se^2}/s^2_x` over the models with a score and an error;
        ``"replicates"``: ICC(1) with ``groups`` as targets; ``"split"``: Spearman-Brown from two
        halves ``data=(half_a, half_b)`` (Pearson correlation of the halves over models; the
        scores corrected are then the mean of the halves).
    errors : DataFrame, optional
        Standard errors on the scale of the scores (models x metrics); default ``table.errors``.
        With a ScoreTable, ``table.benchmarks["error_kind"] == "spread_over_subjects"`` flags a
        metric whose errors are not standard errors.
    error_kind : Series or mapping, optional
        metric -> what its errors are (``table.benchmarks["error_kind"]``), for a DataFrame
        ``data``; ``"spread_over_subjects"`` flags the metric.
    groups : Series or mapping, optional
        model_id -> replicate group (seeds, checkpoints of one model); default
        ``model_families(data, level="variant")``. Models in no group are groups of one: they
        enter the between-group, not the within-group, mean square.
    metrics : sequence of str, optional
        Restrict to these columns.
    min_models : int, default=10
        Fewer models with the needed values flags the metric.
    clusters : None, Series, "families" or "architecture"
        Resampling unit (see :func:`alignfactors.resampling.bootstrap`). For
        ``source="replicates"`` the default is the replicate groups themselves: copies of one
        model are not replicates.
    n_boot, ci, ci_method, seed, n_jobs, batch_size, progress
        As in :func:`alignfactors.agreement`.

    Returns
    -------
    Reliability

    Raises
    ------
    ParameterError, ParameterTypeError
        Unknown source, bad option, groups/errors of the wrong type.
    DataError
        No errors for ``source="errors"``, negative errors, halves that do not match.

    Notes
    -----
    Classical test theory (:data:`ASSUMPTIONS`): :math:`x = t + e`, :math:`e` independent of
    :math:`t`, so :math:`s^2_x = s^2_t + \\overline{se^2}` and
    :math:`rel = s^2_t / s^2_x = 1 - \\overline{se^2}/s^2_x` (:math:`s^2_x` with ``ddof=1``).
    ICC(1) is the unbalanced one-way ANOVA estimator
    :math:`(MSB - MSW)/(MSB + (n_0 - 1) MSW)`, :math:`n_0 = (N - \\sum n_g^2/N)/(G - 1)`;
    it equals ``pingouin.intraclass_corr``'s ICC(1,1) on balanced groups. It is written by hand
    because pingouin drops every target not rated by all raters (replicate groups here have 1 to
    9 members) and takes no resampling weights. Spearman-Brown:
    :math:`rel = 2r/(1+r)`. A value outside [0, 1] is flagged, never clipped: for errors it means
    the error is not a standard error of the score; for replicates that seeds vary more than
    models. A reliability whose interval reaches 0 is flagged too (the correction divides by its
    square root, so it would be unbounded).

    References
    ----------
    .. [1] Spearman, C. (1904). The proof and measurement of association between two things.
       Am. J. Psychol. 15, 72-101. https://doi.org/10.2307/1412159
    .. [2] Shrout, P. E. & Fleiss, J. L. (1979). Intraclass correlations: uses in assessing rater
       reliability. Psychol. Bull. 86, 420-428. https://doi.org/10.1037/0033-2909.86.2.420
    .. [3] Lord, F. M. & Novick, M. R. (1968). Statistical Theories of Mental Test Scores.
       Addison-Wesley.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from alignfactors.reliability import reliability
    >>> rng = np.random.default_rng(0)
    >>> t = rng.normal(size=(400, 1))                       # true scores, variance 1
    >>> se = pd.DataFrame(np.full((400, 1), 0.5), columns=["m"])
    >>> x = pd.DataFrame(t + 0.5 * rng.normal(size=(400, 1)), columns=["m"])
    >>> rel = reliability(x, errors=se, n_boot=200, seed=0)  # truth: 1 / 1.25 = 0.8
    >>> round(rel.estimates["m"].value, 1)
    0.8
    """
    scores, errors, groups, halves, kinds = _validate(data, source, errors, groups, metrics, min_models, n_boot, ci,
                                                      error_kind)
    cols = list(scores.columns)
    if source == "errors":
        errors = errors.reindex(index=scores.index, columns=cols)
    kernel = _Kernel({c: source for c in cols}, errors=errors, groups=groups, halves=halves)
    x = scores.to_numpy(dtype=float)
    n = x.shape[0]
    ones = np.ones((1, n))
    flags: dict[str, str] = {}
    detail = pd.DataFrame({"metric": cols, "source": source})
    if source == "errors":
        se = errors.to_numpy(dtype=float)
        both = np.isfinite(x) & np.isfinite(se)
        detail["n_models"] = both.sum(axis=0)
        detail["n_groups"] = np.nan
        with np.errstate(all="ignore"):
            detail["error_variance"] = [float(np.mean(se[both[:, j], j] ** 2)) if both[:, j].any() else np.nan
                                        for j in range(len(cols))]
        detail["score_variance"] = [float(np.var(x[both[:, j], j], ddof=1)) if both[:, j].sum() > 1 else np.nan
                                    for j in range(len(cols))]
        for j, c in enumerate(cols):
            kind = kinds.get(c) if kinds is not None else None
            if not np.isfinite(se[:, j]).any():
                flags[c] = "no errors for this metric"
            elif kind == "spread_over_subjects":
                flags[c] = ("its errors are not standard errors of the score: the loader diagnosed them as a "
                            "spread over subjects (error_kind='spread_over_subjects'), larger than the spread of "
                            "the scores across models")
        codes = None
    elif source == "replicates":
        lab = groups.reindex(scores.index)
        lab = lab.astype(object).where(lab.notna(), pd.Series([f"\0model:{i}" for i in scores.index],
                                                               index=scores.index))
        codes = pd.factorize(lab.astype(str))[0]
        msb, msw, _, n_rep = _icc_parts(x, codes, ones)
        detail["n_models"] = np.isfinite(x).sum(axis=0)
        detail["n_groups"] = n_rep[0].astype(int)
        detail["error_variance"] = msw[0]
        detail["score_variance"] = [float(np.nanvar(x[:, j], ddof=1)) for j in range(len(cols))]
        for j, c in enumerate(cols):
            if n_rep[0, j] == 0:
                flags[c] = "no replicate group with two or more models scored on this metric"
    else:
        a, b = (h.to_numpy(dtype=float) for h in halves)
        detail["n_models"] = (np.isfinite(a) & np.isfinite(b)).sum(axis=0)
        detail["n_groups"] = np.nan
        detail["error_variance"] = np.nan
        detail["score_variance"] = [float(np.nanvar(x[:, j], ddof=1)) for j in range(len(cols))]
        detail["split_half_r"] = _split_corr(a, b, ones)[0]
        codes = None
    for j, c in enumerate(cols):
        if c not in flags and detail.at[j, "n_models"] < min_models:
            flags[c] = f"only {int(detail.at[j, 'n_models'])} models with the needed values (min_models={min_models})"

    statistic = kernel.bind(scores)
    statistic.batch_size = int(max(1, min(64, 2e7 // (8 * max(1, n * len(cols)) * 4))))
    if clusters is None and source == "replicates":
        codes_b, unit = codes, "replicate group"
    else:
        from .families import cluster_codes
        from .families import matrix_names
        from .io.table import ScoreTable

        first = data[0] if source == "split" else data
        codes_b, unit = cluster_codes(clusters, list(scores.index), table=first if isinstance(first, ScoreTable) else None,
                                      names=None if isinstance(first, ScoreTable) else matrix_names(first))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = bootstrap(statistic, n, n_boot=n_boot, ci=ci, method=ci_method, seed=seed, n_jobs=n_jobs,
                        batch_size=batch_size, progress=progress, stacklevel=3, clusters=codes_b, unit=unit)
    est = dict(zip(cols, res.estimates))
    for c, e in est.items():
        if c in flags:
            continue
        v = e.value
        if not math.isfinite(v):
            flags[c] = "reliability undefined (constant scores or too few values)"
        elif v < 0:
            if source == "errors":
                flags[c] = (f"impossible reliability {v:.3g} < 0: the mean squared error exceeds the variance of the "
                            "scores across models, so the error cannot be a standard error of the score")
            elif source == "replicates":
                flags[c] = (f"impossible reliability {v:.3g} < 0: replicate models (seeds, checkpoints) vary more "
                            "than models do; the metric cannot tell models apart")
            else:
                flags[c] = f"impossible reliability {v:.3g} < 0: the two halves correlate negatively"
        elif v > 1:
            flags[c] = f"impossible reliability {v:.3g} > 1"
        elif source == "errors" and v == 1:
            flags[c] = "every error is zero: no estimate of measurement error"
        elif n_boot and e.ci[0] <= 0:
            flags[c] = (f"reliability {v:.3g} but its interval [{e.ci[0]:.3g}, {e.ci[1]:.3g}] reaches 0: dividing by "
                        "it would make the corrected correlation unbounded")
    return Reliability(est, flags, {c: source for c in cols}, detail, int(n_boot), float(ci),
                       seed if not isinstance(seed, np.random.Generator) else None, unit, kernel)
