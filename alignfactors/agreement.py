"""Agreement between alignment metrics: correlation matrix, its mean and domain blocks, with intervals."""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ._formatting import estimates_frame, json_number, markdown_table, text_table
from .correlation import RankPlan, check_method, correlation_matrix, resampled_correlation, resampled_pairs
from .errors import DataError, ParameterError, ParameterTypeError
from .estimate import Estimate
from ._options import check_options, plain_float, provenance, subset_codes
from .families import cluster_codes
from .families import matrix_names
from .resampling import bootstrap

__all__ = ["agreement", "Agreement"]


@dataclass(frozen=True)
class Agreement:
    """Result of :func:`agreement`.

    Attributes
    ----------
    matrix : DataFrame
        metric x metric correlation matrix on the full data.
    n_pairs : DataFrame
        Number of models behind each correlation (all equal for complete data).
    mean : Estimate
        Mean of the off-diagonal correlations (each unordered pair once).
    blocks : dict of str -> Estimate
        Mean correlation within and between groups, e.g. "neural-neural",
        "behavioral-behavioral", "neural-behavioral".
    differences : dict of str -> Estimate
        Differences between blocks, e.g. "behavioral-behavioral minus neural-behavioral".
    pairs : DataFrame
        One row per pair: metric_a, metric_b, block, r, ci_low, ci_high, se, n.
    """

    matrix: pd.DataFrame
    n_pairs: pd.DataFrame
    mean: Estimate
    blocks: dict
    differences: dict
    pairs: pd.DataFrame
    method: str
    groups: pd.Series | None
    n_models: int
    n_boot: int
    level: float
    seed: Any = None
    missing: str = "complete"
    options: dict = field(default_factory=dict)
    disattenuated: Any = None

    def to_frame(self) -> pd.DataFrame:
        """Tidy frame of the summary estimates (mean, blocks, differences)."""
        return estimates_frame({"mean": self.mean, **self.blocks, **self.differences})

    def top_pairs(self, k: int = 5, largest: bool = True) -> pd.DataFrame:
        """The ``k`` most (or least) correlated pairs with their intervals."""
        return self.pairs.sort_values("r", ascending=not largest, kind="stable").head(k).reset_index(drop=True)

    def summary(self) -> str:
        unit = self.options.get("unit", "model")
        over = "models" if unit == "model" else f"{self.options.get('n_units')} {unit} clusters"
        head = (f"{self.method.capitalize()} agreement of {self.matrix.shape[0]} metrics over {self.n_models} models "
                f"({self.n_boot} bootstrap resamples over {over}, {self.level:.0%} intervals, missing={self.missing!r})")
        return head + "\n" + text_table(self.to_frame()[["quantity", "value", "ci_low", "ci_high", "method", "n_undefined"]])

    def to_markdown(self) -> str:
        return markdown_table(self.to_frame()[["quantity", "value", "ci_low", "ci_high", "se", "method"]])

    def to_dict(self) -> dict:
        """JSON-ready dict (estimates as in DESIGN.md; NaN as None)."""

        num = json_number
        return {
            "method": self.method,
            "missing": self.missing,
            "n_models": int(self.n_models),
            "n_metrics": int(self.matrix.shape[0]),
            "n_boot": int(self.n_boot),
            "level": float(self.level),
            "options": self.options,
            "mean": self.mean.to_dict(),
            "blocks": {k: e.to_dict() for k, e in self.blocks.items()},
            "differences": {k: e.to_dict() for k, e in self.differences.items()},
            **({"disattenuated": self.disattenuated.to_dict()} if self.disattenuated is not None else {}),
            "pairs": [
                {"metric_a": r.metric_a, "metric_b": r.metric_b, "block": r.block, "r": num(r.r),
                 "ci_low": num(r.ci_low), "ci_high": num(r.ci_high), "se": num(r.se), "n": int(r.n)}
                for r in self.pairs.itertuples(index=False)
            ],
        }

    def __str__(self) -> str:
        return self.summary()


def _block_labels(groups: pd.Series | None, cols) -> tuple[list[str], dict[str, np.ndarray]]:
    """Names of domain blocks and boolean masks over the upper-triangle pairs."""
    p = len(cols)
    iu = np.triu_indices(p, k=1)
    if groups is None:
        return [], {}
    g = groups.reindex(cols)
    labels = list(dict.fromkeys(x for x in g if pd.notna(x)))
    masks = {}
    ga, gb = g.to_numpy()[iu[0]], g.to_numpy()[iu[1]]
    for i, a in enumerate(labels):
        for b in labels[i:]:
            mask = ((ga == a) & (gb == b)) | ((ga == b) & (gb == a))
            if mask.any():
                masks[f"{a}-{b}"] = mask
    return list(masks), masks


def _validate(matrix, method, groups, n_boot, missing):
    if not isinstance(matrix, pd.DataFrame):
        raise ParameterTypeError(f"matrix must be a pandas DataFrame (models x metrics); got {type(matrix).__name__}.")
    check_method(method)
    if matrix.shape[1] < 2:
        raise DataError(f"agreement needs at least 2 metrics; the matrix has {matrix.shape[1]}.")
    if matrix.shape[0] < 3:
        raise DataError(f"agreement needs at least 3 models; the matrix has {matrix.shape[0]}.")
    nonnum = [c for c, t in matrix.dtypes.items() if not pd.api.types.is_numeric_dtype(t)]
    if nonnum:
        raise DataError(f"matrix columns must be numeric; non-numeric: {nonnum[:5]}.")
    if groups is not None:
        if isinstance(groups, Mapping):
            groups = pd.Series(dict(groups))
        if not isinstance(groups, pd.Series):
            raise ParameterTypeError(f"groups must be a Series or mapping metric -> group; got {type(groups).__name__}.")
        absent = [c for c in matrix.columns if c not in groups.index]
        if absent:
            raise ParameterError(f"groups has no entry for metric(s) {absent[:5]}; give one group per matrix column.")
    return groups


def agreement(
    matrix: pd.DataFrame,
    *,
    method: str = "spearman",
    groups: pd.Series | Mapping | None = None,
    n_boot: int = 2000,
    ci: float = 0.95,
    ci_method: str = "bca",
    missing: str = "pairwise",
    seed: Any = None,
    n_jobs: int = 1,
    batch_size: int | None = None,
    progress: bool | None = None,
    clusters: Any = None,
    reliability: Any = None,
    noise: str | None = None,
    errors: pd.DataFrame | None = None,
) -> Agreement:
    """How much do alignment metrics agree? Correlations between all metric pairs, with intervals.

    Computes the metric x metric correlation matrix over models, the mean of the
    off-diagonal correlations (each pair once), the mean within and between groups of
    metrics (domains) and the differences between those block means, each with a
    bootstrap interval over models.

    Parameters
    ----------
    matrix : DataFrame
        Models x metrics (e.g. ``clean(table).matrix``).
    method : {"spearman", "pearson", "kendall"}, default="spearman"
        Spearman uses average ranks for ties.
    groups : Series or mapping, optional
        metric -> group (e.g. ``cleaned.domains``) for block means.
    n_boot : int, default=2000
        Bootstrap resamples over models (0: no intervals).
    ci : float, default=0.95
    ci_method : {"bca", "percentile"}, default="bca"
    missing : {"pairwise", "complete"}, default="pairwise"
        With NaNs: pairwise-complete correlations (n per pair in ``n_pairs``), or drop
        every model with a NaN first. Complete matrices take the fast weighted path for
        Spearman and Pearson.
    seed, n_jobs, batch_size, progress
        See :func:`alignfactors.resampling.bootstrap`. Bootstrap distributions of more than
        256 MB (e.g. all pairs of 150 metrics over 10,000 resamples) are stored as float32.
    reliability : Reliability, optional
        From :func:`alignfactors.reliability`. Adds ``disattenuated``: the correlations
        corrected for attenuation, :math:`r_{ab}/\\sqrt{rel_a rel_b}`, their mean and blocks (and
        the raw means over the same pairs), with intervals. The reliabilities are re-estimated
        on this matrix's models in every resample, so their uncertainty is propagated. Metrics
        flagged in ``reliability.flags`` (or whose reliability on these models is outside (0, 1])
        are excluded and listed in ``disattenuated.excluded``; corrected |r| > 1 are flagged in
        ``disattenuated.over_one``. Assumes classical test theory with errors independent of
        the true scores and of each other; with Spearman correlations the correction is
        approximate (exact for Pearson).
    noise : {None, "errors"}, default=None
        ``"errors"``: each resample also perturbs every score by its own standard error (from
        ``errors=``, else from ``reliability`` when it was estimated from errors), so the
        intervals carry score measurement error as well as the sampling of models. Metrics
        whose errors are flagged as not standard errors are not perturbed (a
        ``DegenerateDataWarning`` names them); ``options["noise"]`` records the option. Each
        replicate is the antithetic one of :func:`alignfactors.resampling.bootstrap`: the
        unperturbed resample plus half the difference of the resamples perturbed by ``+eps`` and
        ``-eps``, so the extra attenuation a second dose of error would cause cancels and only
        the spread that score error adds remains.
    errors : DataFrame or ScoreTable, optional
        Standard errors of ``matrix``'s scores (models x metrics, same labels and scale), or the
        ScoreTable the matrix came from (its ``errors``; benchmarks whose ``error_kind`` is
        ``"spread_over_subjects"`` are not perturbed). Only with ``noise="errors"``.
    clusters : None, Series, "families" or "architecture", default=None
        Resampling unit: None resamples models; otherwise whole families are drawn with
        replacement (see :func:`alignfactors.families.resolve_clusters`; a string needs the
        model names a cleaned matrix carries). Each Estimate records its ``unit`` and ``n_units``.

    Returns
    -------
    Agreement

    Notes
    -----
    The mean correlation is :math:`\\bar r = \\binom{p}{2}^{-1}\\sum_{i<j} r_{ij}`. A resample
    in which any correlation is undefined (a metric constant in that resample) leaves the
    means undefined; such resamples are counted in ``Estimate.n_undefined``.

    References
    ----------
    .. [1] Ahlert, J., Klein, T., Wichmann, F. & Geirhos, R. (2024). How aligned are
       different alignment metrics? https://doi.org/10.48550/arXiv.2407.07530

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from alignfactors import agreement
    >>> rng = np.random.default_rng(0)
    >>> m = pd.DataFrame(rng.normal(size=(30, 3)), columns=["a", "b", "c"])
    >>> res = agreement(m, n_boot=200, seed=0)
    >>> res.matrix.shape
    (3, 3)
    >>> bool(res.mean.ci[0] <= res.mean.value <= res.mean.ci[1])
    True
    """
    check_options(n_boot=n_boot, ci=ci, ci_method=ci_method, seed=seed, n_jobs=n_jobs, batch_size=batch_size,
                  progress=progress, missing=missing, allowed_missing=("pairwise", "complete"), where="agreement")
    groups = _validate(matrix, method, groups, n_boot, missing)
    codes, unit = cluster_codes(clusters, matrix.index, names=matrix_names(matrix))
    data = plain_float(matrix)
    if missing == "complete":
        keep = data.notna().all(axis=1).to_numpy()
        data = data.loc[keep]
        if len(data) < 3:
            raise DataError(f"only {len(data)} models have no missing value; use missing='pairwise'.")
        codes = subset_codes(codes, keep)
    cols = list(data.columns)
    corr, n_pairs = correlation_matrix(data, method)
    p = len(cols)
    iu = np.triu_indices(p, k=1)
    block_names, masks = _block_labels(groups, cols)
    diff_names = [f"{a} minus {b}" for a, b in itertools.combinations(block_names, 2)]
    diff_idx = [(block_names.index(a), block_names.index(b)) for a, b in itertools.combinations(block_names, 2)]

    from .attenuation import resolve_noise

    scale = resolve_noise(noise, data, errors, reliability)
    correction = None
    if reliability is not None:
        from .attenuation import _Correction

        correction = _Correction(reliability, data, iu, masks, block_names)

    block_rows = {b: np.flatnonzero(masks[b]) for b in block_names}
    n_head = 1 + len(block_names) + len(diff_idx)

    def summarise(r_upper: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
        extra = correction(r_upper, w) if correction is not None else None
        out = np.empty((len(r_upper), n_head + r_upper.shape[1] + (0 if extra is None else extra.shape[1])))
        out[:, 0] = r_upper.mean(axis=1)
        for i, b in enumerate(block_names):
            out[:, 1 + i] = r_upper[:, block_rows[b]].mean(axis=1)
        for k, (i, j) in enumerate(diff_idx):
            out[:, 1 + len(block_names) + k] = out[:, 1 + i] - out[:, 1 + j]
        out[:, n_head:n_head + r_upper.shape[1]] = r_upper
        if extra is not None:
            out[:, n_head + r_upper.shape[1]:] = extra
        return out

    x = data.to_numpy()
    complete = not np.isnan(x).any()
    if complete and method in ("spearman", "pearson"):
        ties = RankPlan(x) if method == "spearman" else None

        def statistic(w, noise=None):
            if noise is None:
                return summarise(resampled_pairs(x, w, iu, method, ties), w)
            r = np.stack([resampled_correlation(x + noise[b], w[b : b + 1], method)[0] for b in range(len(w))])
            return summarise(r[:, iu[0], iu[1]], w)

        # ~64 resamples a batch keeps the (B, p, n) rank arrays cache-friendly and bounded (~50 MB).
        statistic.batch_size = int(max(1, min(64, 5e7 // (8 * x.shape[0] * p * 4 + 8 * p * p))))
        # numpy-bound batches of a few ms: with n_jobs they run in threads (see resampling.bootstrap);
        # a large table gets batches of a resample or two, whose per-row loop of the ranks holds the
        # GIL: those run in processes (5,000 x 200: 64 s in threads, see reports/benchmark_scale.md)
        statistic.threads = correction is None and statistic.batch_size >= 8
    else:
        def statistic(w, noise=None):
            out = []
            for b, wi in enumerate(w):
                rows = np.repeat(np.arange(x.shape[0]), np.rint(wi).astype(int))
                xb = x[rows] if noise is None else (x + noise[b])[rows]
                r = pd.DataFrame(xb).corr(method=method).to_numpy()
                out.append(r[iu])
            return summarise(np.vstack(out), w)

    # Full-data values come from pandas (pairwise-complete), not the kernel, so the
    # point estimate is the textbook one even with NaNs.
    n_out = 1 + len(block_names) + len(diff_names) + len(iu[0]) + (correction.n_extra if correction else 0)
    # Every pair of 150 metrics over 10,000 resamples is ~0.9 GB in float64: store it as float32.
    dtype = np.float32 if n_boot * n_out * 8 > 2**28 else np.float64
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = bootstrap(statistic, x.shape[0], n_boot=n_boot, ci=ci, method=ci_method, seed=seed,
                        n_jobs=n_jobs, batch_size=batch_size, progress=progress, dtype=dtype, stacklevel=3,
                        clusters=codes, unit=unit, **({"noise": scale} if scale is not None else {}))
    est = list(res.estimates)
    nb, nd = len(block_names), len(diff_names)
    mean = est[0]
    blocks = dict(zip(block_names, est[1 : 1 + nb]))
    diffs = dict(zip(diff_names, est[1 + nb : 1 + nb + nd]))
    pair_est = est[1 + nb + nd : 1 + nb + nd + len(iu[0])]
    g = groups.reindex(cols) if groups is not None else None
    block_of = np.full(len(iu[0]), None, dtype=object)
    for name, mask in masks.items():
        block_of[mask] = name
    pairs = pd.DataFrame({
        "metric_a": [cols[i] for i in iu[0]],
        "metric_b": [cols[j] for j in iu[1]],
        "block": list(block_of),
        "r": corr.to_numpy()[iu],
        "ci_low": [e.ci[0] for e in pair_est],
        "ci_high": [e.ci[1] for e in pair_est],
        "se": [e.se for e in pair_est],
        "n": n_pairs.to_numpy()[iu],
    })
    used = "pairwise" if not complete else "complete"
    options = provenance(n_boot=n_boot, ci=ci, ci_method=ci_method, seed=seed, unit=unit, n_units=res.n_units,
                         n=x.shape[0], missing=missing, clusters=clusters, method=method, missing_used=used)
    if noise is not None:
        options = {**options, "noise": noise}
    return Agreement(corr, n_pairs, mean, blocks, diffs, pairs, method,
                     None if g is None else g.rename("group"), x.shape[0], n_boot, ci, seed, used, options,
                     correction.result(est[1 + nb + nd + len(iu[0]):], corr, block_of) if correction else None)
