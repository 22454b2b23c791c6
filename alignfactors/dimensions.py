"""How many dimensions do the alignment metrics span? Eigenvalues, rules for k, and P(k).

:func:`dimensionality` analyses the metric x metric correlation matrix: its eigenvalues and
explained-variance ratios, the participation ratio (effective dimensionality) and the number
of dimensions that common rules retain (Kaiser, Horn's parallel analysis on components and on
factors as ``psych::fa.parallel`` does it, Velicer's MAP as ``psych::VSS``, the optimal
coordinates and acceleration factor of ``nFactors``, and a cross-validated factor-analysis
likelihood). Every quantity except the cross-validated likelihood is a statistic of the
resampling engine, so it gets a bootstrap interval over models (or whole families, ``clusters=``)
and a distribution of k, P(k), in which every resample is compared with null data of its own kind.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field, replace
from typing import Any, Sequence

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from ._formatting import estimates_frame, json_number, markdown_table, text_table
from .correlation import CORR_METHODS, RankPlan, cor_smooth, correlation_matrix, resampled_correlation
from .errors import DataError, ParameterError, ParameterTypeError, SmoothingWarning
from ._dimension_rules import (_cv_likelihood, _eigh_desc, _fa1_fit_batch, _fa1_values, _map_values, _normal_scores,
                              _null_eigenvalues, _null_pool, null_plan, PoolShape, _rule_ks, _threshold)
from .estimate import Estimate
from .families import _design_effect_statistic, matrix_names, resolve_clusters
from ._options import check_options, plain_float, provenance, seed_record, unit_of
from .resampling import bootstrap, check_n_boot_ci, child_rng, root_seed

__all__ = ["dimensionality", "Dimensionality", "RULES"]

RULES = ("kaiser", "parallel_pc", "parallel_fa", "map", "optimal_coordinates", "acceleration_factor",
         "cv_likelihood")
_RAW_ONLY = ("cv_likelihood",)
_NULLS = ("normal", "permutation")
_EPS = np.finfo(float).eps


# --------------------------------------------------------------------------- result
@dataclass(frozen=True)
class Dimensionality:
    """Result of :func:`dimensionality`.

    Attributes
    ----------
    eigenvalues, explained : Series
        Eigenvalues of the correlation matrix (descending, indexed 1..p) and their share of the total (p).
    eigenvalue_estimates, explained_estimates : dict of int -> Estimate
        The same with bootstrap intervals over models (or clusters; ``Estimate.unit``).
    participation_ratio : Estimate
        :math:`(\\sum\\lambda)^2 / \\sum\\lambda^2`, the effective number of dimensions.
    n_dimensions : dict of str -> int
        k retained by each rule on the full data.
    k_distribution : dict of str -> dict of int -> float
        P(k) over bootstrap resamples, per rule (empty without bootstrap): each resample compared
        with null data of its own kind (see Notes for what P(k) means and what it does not).
    k_ci : dict of str -> (int, int)
        Percentile interval of k at level ``level``.
    map_values : Series
        Velicer's MAP, indexed 1..max_k.
    parallel : DataFrame
        k, observed and simulated (mean and quantile) eigenvalues of components and factors.
    cv_loglik : Series or None
        Cross-validated log-likelihood per model, indexed 1..max_k.
    notes : tuple of str
        What was skipped or done differently, and why.
    """

    eigenvalues: pd.Series
    explained: pd.Series
    eigenvalue_estimates: dict
    explained_estimates: dict
    participation_ratio: Estimate
    n_dimensions: dict
    k_distribution: dict
    k_ci: dict
    map_values: pd.Series
    parallel: pd.DataFrame
    cv_loglik: pd.Series | None
    rules: tuple
    method: str
    n_models: int
    n_metrics: int
    n_boot: int
    level: float
    seed: Any
    options: dict
    notes: tuple
    #: Per-resample null references (see ``null_from`` of :func:`dimensionality`); not serialised.
    null_references: dict = field(default_factory=dict, repr=False, compare=False)

    def k_frame(self) -> pd.DataFrame:
        """One row per rule: k, the interval of k and the probability of the full-data k."""
        rows = []
        for rule, k in self.n_dimensions.items():
            dist = self.k_distribution.get(rule, {})
            low, high = self.k_ci.get(rule, (math.nan, math.nan))
            mode = max(dist, key=dist.get) if dist else math.nan
            rows.append({"rule": rule, "k": k, "k_ci_low": low, "k_ci_high": high,
                         "p_k": dist.get(k, 0.0) if dist else math.nan, "k_mode": mode})
        cols = ["rule", "k", "k_ci_low", "k_ci_high", "p_k", "k_mode"]
        return pd.DataFrame(rows, columns=cols).astype({c: object for c in cols if c != "p_k"})

    def to_frame(self) -> pd.DataFrame:
        """Tidy frame: eigenvalues, explained ratios and the participation ratio with intervals."""
        parts = [estimates_frame({"participation_ratio": self.participation_ratio})]
        for name, ests in (("eigenvalue", self.eigenvalue_estimates), ("explained", self.explained_estimates)):
            f = estimates_frame({f"{name}_{k}": e for k, e in ests.items()})
            parts.append(f)
        out = pd.concat(parts, ignore_index=True)
        comp = out["quantity"].str.rsplit("_", n=1)
        is_comp = out["quantity"] != "participation_ratio"
        out.insert(1, "component", [int(c[1]) if ok else 0 for c, ok in zip(comp, is_comp)])
        out["quantity"] = [c[0] if ok else q for c, ok, q in zip(comp, is_comp, out["quantity"])]
        return out

    def summary(self) -> str:
        n_show = min(10, len(self.eigenvalues))
        eig = self.to_frame()
        eig = eig[(eig["quantity"] == "eigenvalue") & (eig["component"] <= n_show)]
        n_cl = self.options.get("n_clusters")
        unit = "models" if n_cl is None else f"{n_cl} clusters of models"
        head = (f"Dimensionality of {self.n_metrics} metrics over {self.n_models} models ({self.method}; "
                f"{self.n_boot} bootstrap resamples over {unit}, {self.level:.0%} intervals)")
        lines = [head, f"Participation ratio: {self.participation_ratio.format()}", "",
                 text_table(self.k_frame()), "",
                 f"Leading eigenvalues (of {len(self.eigenvalues)}):",
                 text_table(eig[["component", "value", "ci_low", "ci_high", "method"]])]
        if self.notes:
            lines += ["", "Notes:"] + [f"- {n}" for n in self.notes]
        return "\n".join(lines)

    def to_markdown(self) -> str:
        eig = self.to_frame()
        eig = eig[eig["quantity"] != "participation_ratio"]
        wide = eig.pivot(index="component", columns="quantity", values="value").reset_index()
        parts = [f"Participation ratio: {self.participation_ratio.format()}", "",
                 markdown_table(self.k_frame()), "", markdown_table(wide.head(10), digits=3)]
        if self.notes:
            parts += [""] + [f"- {n}" for n in self.notes]
        return "\n".join(parts)

    def to_dict(self) -> dict:
        num = json_number

        return {
            "method": self.method,
            "n_models": self.n_models,
            "n_metrics": self.n_metrics,
            "n_boot": self.n_boot,
            "level": self.level,
            "seed": seed_record(self.seed),
            "rules": list(self.rules),
            "options": {k: self.options[k] for k in sorted(self.options)},
            "eigenvalues": [e.to_dict() for e in self.eigenvalue_estimates.values()],
            "explained": [e.to_dict() for e in self.explained_estimates.values()],
            "participation_ratio": self.participation_ratio.to_dict(),
            "n_dimensions": dict(self.n_dimensions),
            "k_distribution": {r: {str(k): p for k, p in d.items()} for r, d in self.k_distribution.items()},
            "k_ci": {r: [num(a) for a in ci] for r, ci in self.k_ci.items()},
            "map_values": [num(float(x)) for x in self.map_values],
            "parallel": {c: [num(float(x)) for x in self.parallel[c]] for c in self.parallel.columns},
            "cv_loglik": None if self.cv_loglik is None else [num(float(x)) for x in self.cv_loglik],
            "notes": list(self.notes),
        }

    def __str__(self) -> str:
        return self.summary()


# --------------------------------------------------------------------------- validation
def _validate_dimensionality(matrix, corr, n_obs, method, rules, n_iter, parallel_quantile, parallel_null,
                             map_power, max_k, n_boot, ci):
    if (matrix is None) == (corr is None):
        raise ParameterError("give either matrix (models x metrics) or corr= with n_obs=, not "
                             f"{'both' if matrix is not None else 'neither'}.")
    if method not in CORR_METHODS:
        raise ParameterError(f"method must be one of {CORR_METHODS}; got {method!r}.")
    if matrix is not None:
        if not isinstance(matrix, pd.DataFrame):
            raise ParameterTypeError(f"matrix must be a pandas DataFrame (models x metrics); got {type(matrix).__name__}.")
        nonnum = [c for c, t in matrix.dtypes.items() if not pd.api.types.is_numeric_dtype(t)]
        if nonnum:
            raise DataError(f"matrix columns must be numeric; non-numeric: {nonnum[:5]}.")
        if matrix.isna().to_numpy().any():
            bad = list(matrix.columns[matrix.isna().any()])[:5]
            raise DataError(f"matrix has missing values (columns {bad}); use clean(table, complete=True) "
                            "or pass a pairwise correlation matrix as corr= with n_obs=.")
        constant = [c for c in matrix.columns if matrix[c].nunique() < 2]
        if constant:
            raise DataError(f"matrix has constant column(s) {constant[:5]}; their correlations are undefined.")
        n, p = matrix.shape
        if n_obs is not None:
            raise ParameterError("n_obs is only used with corr=; with matrix, n_obs is the number of rows.")
    else:
        if not isinstance(corr, pd.DataFrame):
            raise ParameterTypeError(f"corr must be a pandas DataFrame (metric x metric); got {type(corr).__name__}.")
        r = corr.to_numpy(dtype=float)
        if r.shape[0] != r.shape[1] or list(corr.index) != list(corr.columns):
            raise DataError(f"corr must be square with the same labels on rows and columns; got shape {r.shape}.")
        if not np.all(np.isfinite(r)) or not np.allclose(r, r.T, atol=1e-8) or not np.allclose(np.diag(r), 1.0):
            raise DataError("corr must be a finite symmetric correlation matrix with unit diagonal.")
        if not isinstance(n_obs, (int, np.integer)) or isinstance(n_obs, bool) or n_obs < 3:
            raise ParameterError(f"n_obs (number of models behind corr) must be an integer >= 3; got {n_obs!r}.")
        n, p = int(n_obs), r.shape[0]
    if n < 3:
        raise DataError(f"dimensionality needs at least 3 models; got {n}.")
    if p < 3:
        raise DataError(f"dimensionality needs at least 3 metrics; got {p}.")
    if rules is None:
        rules = RULES
    elif isinstance(rules, str):
        rules = (rules,)
    rules = tuple(rules)
    unknown = [r for r in rules if r not in RULES]
    if unknown or not rules:
        raise ParameterError(f"rules must be a non-empty subset of {RULES}; got {list(rules)!r}.")
    if not isinstance(n_iter, (int, np.integer)) or isinstance(n_iter, bool) or n_iter < 20:
        raise ParameterError(f"n_iter must be an integer >= 20 (psych's default is 20); got {n_iter!r}.")
    if parallel_quantile is not None and not (isinstance(parallel_quantile, float) and 0 < parallel_quantile < 1):
        raise ParameterError(f"parallel_quantile must be None (mean) or a float in (0, 1), e.g. 0.95; "
                             f"got {parallel_quantile!r}.")
    if parallel_null not in _NULLS:
        raise ParameterError(f"parallel_null must be one of {_NULLS}; got {parallel_null!r}.")
    if map_power not in (2, 4):
        raise ParameterError(f"map_power must be 2 (Velicer 1976) or 4 (Velicer et al. 2000); got {map_power!r}.")
    if max_k is None:
        max_k = min(p - 1, 20)
    elif not isinstance(max_k, (int, np.integer)) or isinstance(max_k, bool) or not 1 <= max_k <= p - 1:
        raise ParameterError(f"max_k must be an integer in [1, p - 1] = [1, {p - 1}]; got {max_k!r}.")
    check_n_boot_ci(n_boot, ci)
    return rules, int(n), int(p), int(max_k)


# --------------------------------------------------------------------------- public
def dimensionality(
    matrix: pd.DataFrame | None = None,
    *,
    corr: pd.DataFrame | None = None,
    n_obs: int | None = None,
    method: str = "spearman",
    rules: Sequence[str] | None = None,
    n_iter: int = 20,
    parallel_quantile: float | None = 0.95,
    parallel_null: str = "normal",
    map_power: int = 2,
    max_k: int | None = None,
    n_boot: int = 2000,
    ci: float = 0.95,
    seed: Any = None,
    n_jobs: int = 1,
    batch_size: int | None = None,
    progress: bool | None = None,
    clusters: Any = None,
    ci_method: str = "bca",
    missing: str = "complete",
    reliability: Any = None,
    null_from: Dimensionality | None = None,
    noise: str | None = None,
    errors: Any = None,
    eigen_intervals: bool = True,
) -> Dimensionality:
    """How many dimensions do the metrics span? Eigenvalues, rules for k and P(k) over resamples.

    Parameters
    ----------
    matrix : DataFrame, optional
        Models x metrics, complete (e.g. ``clean(table).matrix``). Give this or ``corr``.
    corr : DataFrame, optional
        A metric x metric correlation matrix instead of data (with ``n_obs``), as psych allows.
        No bootstrap then; ``cv_likelihood`` and the permutation null are skipped (noted).
    n_obs : int, optional
        Number of models behind ``corr`` (sizes the simulated data of parallel analysis).
    method : {"spearman", "pearson", "kendall"}, default="spearman"
        Correlation of the data and of the simulated null data sets.
    rules : sequence of str, optional
        Subset of ``RULES``; default all (``cv_likelihood`` only with ``matrix``).
    n_iter : int, default=20
        Simulated data sets for parallel analysis (psych's default; at least 20).
    parallel_quantile : float or None, default=0.95
        Compare with this quantile of the simulated eigenvalues (psych's rule since 1.8.9);
        None compares with their mean (Horn, 1965).
    parallel_null : {"normal", "permutation"}, default="normal"
        Standard normal n x p data (psych), or each column permuted independently.
    map_power : {2, 4}, default=2
        2: Velicer (1976) as ``psych::VSS``; 4: the revision of Velicer, Eaton & Fava (2000).
    max_k : int, optional
        Largest k for MAP and cv_likelihood; default ``min(p - 1, 20)``.
    n_boot : int, default=2000
        Bootstrap resamples of models (0: no intervals, no P(k)).
    ci : float, default=0.95
        Level of the eigenvalue intervals and of ``k_ci``.
    seed : None, int or numpy.random.Generator
        Decides the null data sets, the CV folds and the resamples (one named child stream each).
    n_jobs, batch_size, progress
        See :func:`alignfactors.resampling.bootstrap`; results do not depend on them.
    clusters : None, Series, "families" or "architecture"
        Resampling unit (see :func:`alignfactors.families.resolve_clusters`). With clusters, a
        resample draws whole clusters; the parallel-analysis null data keep the cluster structure
        (each metric's intra-cluster correlation as in the data, metrics independent), so family
        resemblance is not counted as a dimension, on the full data as in every resample; and
        ``cv_likelihood`` folds are grouped by cluster. None: models are the unit. Kaiser and MAP
        use no null data, so clusters change only their P(k), not their full-data k: on clustered
        noise with Brain-Score's 18 architecture families MAP keeps about 6 dimensions
        (``reports/recovery.md``); read it with the parallel rules and ``cv_likelihood``.
    ci_method : {"bca", "percentile"}, default="bca"
        Interval method of eigenvalues, explained shares and the participation ratio (the
        distribution of k is summarised by its percentiles).
    missing : {"complete"}, default="complete"
        The matrix must be complete (eigenvalues of a pairwise-complete correlation matrix are
        not those of any data set); a NaN raises :class:`DataError`. Clean with
        ``clean(table, complete=True)`` or pass ``corr=`` with your own correlation matrix.
    reliability : Reliability, optional
        From :func:`alignfactors.reliability`: run the rules on the correlation matrix corrected
        for attenuation (:math:`r_{ab}/\\sqrt{rel_a rel_b}`, reliabilities re-estimated on the
        models of each resample), smoothed to positive definite as ``psych::cor.smooth``.
        Metrics flagged in ``reliability`` are left out (listed in ``notes``). Assumes classical
        test theory (independent errors); approximate for Spearman. The parallel-analysis
        reference is the uncorrected null; ``cv_likelihood`` is skipped (it needs raw data).
    null_from : Dimensionality, optional
        An earlier result on the same models (same null pool: seed, n, p, clusters, ``n_iter``,
        ``parallel_null``) and ``parallel_quantile``, e.g. the raw-matrix run when this one has
        ``reliability=``. Each resample's parallel-analysis references are looked up by its
        weights in ``null_from.null_references`` instead of being recomputed (the minres fits of
        the null data are most of the cost); the results are identical with or without it. A
        ``null_from`` with another pool (other metrics, seed or options) has nothing to reuse and
        is ignored.
    noise : {None, "errors"}, default=None
        ``"errors"``: each resample also perturbs every score by its own standard error (from
        ``errors=``, else from ``reliability`` when it was estimated from errors), so the
        intervals carry score measurement error as well as the sampling of models; metrics whose
        errors are flagged as not standard errors are not perturbed (a warning names them).
        Eigenvalues, explained shares and the participation ratio get the antithetic replicates of
        :func:`alignfactors.resampling.bootstrap` (the resample's value plus half the difference of
        its ``+eps`` and ``-eps`` perturbations: the spread score error adds). k is an integer
        and cannot be recentred: P(k) and ``k_ci`` come from the perturbed resamples themselves,
        whose scores hold the error twice (data + perturbation), so they describe how stable k is
        when that much score error is added -- a conservative reading, and one that tends towards
        fewer dimensions. The parallel-analysis null pool is not perturbed: its data are
        independent across metrics, and independent score error keeps them so, so perturbing it
        would only add Monte-Carlo noise (and cost) to the reference; each resample's references
        depend on its weights only, so ``null_from`` (e.g. the run without noise) applies.
        ``options["noise"]`` records the option.
    errors : DataFrame or ScoreTable, optional
        Standard errors of ``matrix``'s scores (models x metrics, same labels and scale), or the
        ScoreTable the matrix came from (its ``errors``; benchmarks whose ``error_kind`` is
        ``"spread_over_subjects"`` are not perturbed). Only with ``noise="errors"``.
    eigen_intervals : bool, default=True
        False: only P(k) and ``k_ci`` are bootstrapped; the eigenvalues, explained shares and the
        participation ratio are reported without intervals (one bootstrap pass and its jackknife
        fewer, e.g. when only k is wanted). Recorded in ``options``.

    Returns
    -------
    Dimensionality

    Raises
    ------
    ParameterError, ParameterTypeError
        Bad option values or types.
    DataError
        Missing values, constant columns, fewer than 3 models or metrics, a malformed ``corr``.

    Notes
    -----
    Participation ratio :math:`PR = (\\sum_i\\lambda_i)^2/\\sum_i\\lambda_i^2` (p for identity, 1 for
    rank one). Parallel analysis: k = number of leading observed eigenvalues above the simulated
    reference, stopping at the first failure (psych ``which(!(obs > sim))[1] - 1``). FA eigenvalues
    are those of R with its diagonal replaced by the communalities of a 1-factor minres fit
    (``fa(r, 1, fm="minres")$values``), for the data and each simulated set. MAP: after removing
    m principal components, :math:`MAP_m = \\sum_{i\\ne j} r^{*q}_{ij,m}/(p(p-1))`, q = map_power,
    k = argmin over m = 1..max_k. Optimal coordinates and acceleration factor follow
    ``nFactors::nScree`` with the parallel-analysis component reference as ``aparallel``.

    Null data and P(k). One pool of ``n_iter`` null data sets (n x p; standard normal, or with
    ``clusters`` rows correlated within a cluster as each metric is in the data) is drawn from
    its own random stream. The full data are compared with the pool's eigenvalues; a bootstrap
    resample, which repeats about 37% of its rows (or whole clusters), is compared with the
    eigenvalues of the *same* pool under the resample's own count weights, i.e. null data with the
    same repeated rows. Comparing a resample with a null of n distinct rows would count the extra
    spread that repetition gives the eigenvalues as dimensions (on 229 x 50 iid noise that put
    P(k) at 10-19 while the full data gave k = 0). Sharing one pool keeps the cost at ``n_iter``
    eigendecompositions (and ``n_iter`` minres fits for ``parallel_fa``) per resample and makes
    the reference vary only through the weights.
    P(k) (``k_distribution``) is the share of resamples of models (or clusters) on which the rule,
    applied exactly as to the data, returns k: it says how stable the rule's answer is to which
    models (families) happen to be on the leaderboard. It is not the probability that the metrics
    "have" k dimensions, not a test of k against k + 1, and not a calibrated interval for a true
    k: it inherits each rule's own bias (parallel analysis misses weak factors, MAP counts few)
    and the Monte Carlo noise of ``n_iter`` null sets. With ``clusters=None`` it assumes models
    are independent draws; near-copies of one model then look like extra dimensions.
    Random streams: null data, CV folds and resamples each come from a child stream of ``seed``
    named for its purpose, so adding a rule or changing ``n_iter`` leaves the other quantities'
    draws unchanged. ``cv_likelihood`` (5-fold held-out log-likelihood
    of ``sklearn.decomposition.FactorAnalysis`` on standardised data; normal scores of the ranks
    for Spearman/Kendall; k = 1, 2, ... up to max_k, stopping two steps after the last
    improvement) is not bootstrapped: one K-fold sweep per resample is too slow.
    Bootstrap intervals of the small (noise) eigenvalues are biased upwards (resamples repeat
    models, which spreads the sample eigenvalues); read them as a description of resampling
    variability, not as coverage-calibrated intervals.

    References
    ----------
    .. [1] Horn, J. L. (1965). A rationale and test for the number of factors in factor analysis.
       Psychometrika 30, 179-185. https://doi.org/10.1007/BF02289447
    .. [2] Velicer, W. F. (1976). Determining the number of components from the matrix of partial
       correlations. Psychometrika 41, 321-327. https://doi.org/10.1007/BF02293557
    .. [3] Velicer, W. F., Eaton, C. A. & Fava, J. L. (2000). Construct explication through factor or
       component analysis. In Problems and Solutions in Human Assessment, 41-71.
       https://doi.org/10.1007/978-1-4615-4397-8_3
    .. [4] Raiche, G., Walls, T. A., Magis, D., Riopel, M. & Blais, J.-G. (2013). Non-graphical
       solutions for Cattell's scree test. Methodology 9, 23-29. https://doi.org/10.1027/1614-2241/a000051
    .. [5] Gao, P., Trautmann, E., Yu, B. et al. (2017). A theory of multineuronal dimensionality,
       dynamics and measurement. bioRxiv. https://doi.org/10.1101/214262

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from alignfactors.dimensions import dimensionality
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=(60, 1))
    >>> m = pd.DataFrame(f @ np.full((1, 6), 0.8) + 0.6 * rng.normal(size=(60, 6)),
    ...                  columns=[f"m{i}" for i in range(6)])
    >>> res = dimensionality(m, n_boot=50, seed=0, rules=["kaiser", "parallel_pc", "map"])
    >>> res.n_dimensions
    {'kaiser': 1, 'parallel_pc': 1, 'map': 1}
    >>> round(float(res.explained[1]), 2)
    0.65
    """
    correction = None
    if reliability is not None:
        from .attenuation import usable_metrics

        if matrix is None:
            raise ParameterError("reliability= needs matrix (models x metrics), not corr=: the reliabilities are "
                                 "re-estimated on the models of each resample.")
        keep, excluded, rel_stat = usable_metrics(reliability, matrix)
        matrix = matrix.set_axis([str(c) for c in matrix.columns], axis=1)[keep]
        rules = tuple(r for r in (rules or RULES) if r != "cv_likelihood")
        correction = (rel_stat, excluded)
    rules, n, p, max_k = _validate_dimensionality(matrix, corr, n_obs, method, rules, n_iter, parallel_quantile,
                                                  parallel_null, map_power, max_k, n_boot, ci)
    check_options(n_boot=n_boot, ci=ci, ci_method=ci_method, seed=seed, n_jobs=n_jobs, batch_size=batch_size,
                  progress=progress, missing=missing, allowed_missing=("complete",), where="dimensionality")
    codes = _resolve_codes(clusters, matrix, parallel_null)
    if not isinstance(eigen_intervals, (bool, np.bool_)):
        raise ParameterTypeError(f"eigen_intervals must be True or False; got {eigen_intervals!r}.")
    engine = {"ci_method": ci_method, "missing": missing, "clusters": clusters,
              "unit": "model" if codes is None else unit_of(clusters), "noise": noise, "scale": None,
              "eigen_intervals": bool(eigen_intervals)}
    if noise is not None or errors is not None:
        from .attenuation import resolve_noise

        if matrix is None:
            raise ParameterError("noise= needs matrix (models x metrics), not corr=: the scores are perturbed in "
                                 "each resample.")
        engine["scale"] = resolve_noise(noise, matrix, errors, reliability)
    # Small dense matrices: multithreaded BLAS only adds contention (30x slower minres on a busy machine).
    with threadpool_limits(limits=1, user_api="blas"):
        return _dimensionality(matrix, corr, rules, n, p, max_k, method, n_iter, parallel_quantile, parallel_null,
                               map_power, n_boot, ci, seed, n_jobs, batch_size, progress, codes, engine, correction,
                               null_from)


_REF_RULES = ("parallel_pc", "parallel_fa", "optimal_coordinates", "acceleration_factor")


def _dimensionality(matrix, corr, rules, n, p, max_k, method, n_iter, parallel_quantile, parallel_null, map_power,
                    n_boot, ci, seed, n_jobs, batch_size, progress, codes=None, engine=None, correction=None,
                    null_from=None):
    engine = engine or {"ci_method": "bca", "missing": "complete", "clusters": None, "unit": "model",
                        "eigen_intervals": True}
    root = root_seed(seed)
    notes: list[str] = []
    raw = matrix is not None
    if raw:
        data = plain_float(matrix)
        x = data.to_numpy()
        r_full = correlation_matrix(data, method)[0].to_numpy()
        if correction is not None:  # reliability=: the corrected, cor.smooth-ed matrix (see attenuation.py)
            from .attenuation import corrected_correlation

            r_full = corrected_correlation(r_full, correction[0](np.ones((1, n)))[0])
            notes.append(f"rules run on the correlations corrected for attenuation (smoothed as psych::cor.smooth); "
                         f"{len(correction[1])} metrics without a usable reliability left out"
                         + (f": {', '.join(sorted(correction[1]))}." if correction[1] else "."))
    else:
        x = None
        r_full, smoothed = cor_smooth(corr.to_numpy(dtype=float))
        if smoothed:
            msg = ("corr is not positive definite (e.g. pairwise-complete correlations); it was smoothed as "
                   "psych::cor.smooth does before computing eigenvalues and rules.")
            notes.append(msg)
            warnings.warn(msg, SmoothingWarning, stacklevel=3)
        skipped = [r for r in rules if r in _RAW_ONLY]
        if skipped:
            notes.append(f"{', '.join(skipped)} skipped: it needs the models x metrics data, not a correlation matrix.")
        rules = tuple(r for r in rules if r not in _RAW_ONLY)
        if parallel_null == "permutation":
            notes.append("parallel_null='permutation' needs raw data; the normal null was used for corr= input.")
            parallel_null = "normal"
        if n_boot:
            notes.append("no bootstrap with corr= input (resampling needs the models).")
            n_boot = 0
    if not rules:
        raise ParameterError("no rule left to run: cv_likelihood needs matrix, not corr=.")
    corr_rules = tuple(r for r in rules if r not in _RAW_ONLY)

    # One pool of null data sets (its own stream): the full data and every resample are compared
    # with these same sets, weighted as the data are weighted.
    need_fa = "parallel_fa" in corr_rules
    icc = None
    if codes is not None:
        icc = _cluster_icc(x if method == "pearson" else _normal_scores(x), codes)
        notes.append(f"null data sets keep the cluster structure: {int(codes.max()) + 1} clusters, each metric's "
                     f"intra-cluster correlation as in the data (ICC(1) median {np.median(icc):.2f}, range "
                     f"{icc.min():.2f}-{icc.max():.2f}), no correlation between metrics.")
    pool = _null_pool(x, n, p, int(n_iter), parallel_null, child_rng(root, "null"), codes, icc)
    null_key = _null_key(pool, method, parallel_quantile, "parallel_fa" in corr_rules)
    known = {}
    if null_from is not None:
        if not isinstance(null_from, Dimensionality):
            raise ParameterTypeError(f"null_from must be a Dimensionality result; got {type(null_from).__name__}.")
        if null_from.null_references.get("key") == null_key:  # else another pool: nothing to reuse
            known = null_from.null_references["by_weights"]
    plans = null_plan(pool, method)
    sim_pc, sim_fa = (a[0] for a in _null_eigenvalues(pool, plans, np.ones((1, n)), method, need_fa))
    # with a rank plan the resamples need only the pool's shape: the statistic (pickled to every
    # worker) then does not carry the data (20 x 5,000 x 200 null values: 160 MB a process)
    pool = pool if plans is None else PoolShape(pool.shape)
    ref_pc, ref_fa = _threshold(sim_pc, parallel_quantile), _threshold(sim_fa, parallel_quantile)
    q_level = 0.95 if parallel_quantile is None else parallel_quantile
    if method != "pearson" and parallel_null == "normal":
        notes.append(f"null data sets are correlated with {method}, as the data (psych always uses Pearson).")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        w, fa_vals, mp, ks = _rule_ks(r_full, corr_rules, ref_pc, ref_fa, max_k, map_power)
    if not need_fa:
        fa_vals = _fa1_values(r_full)
    if "map" not in corr_rules:
        mp = _map_values(r_full, *_eigh_desc(r_full), max_k, map_power)
    comps = list(range(1, p + 1))
    eig = pd.Series(w, index=pd.Index(comps, name="component"), name="eigenvalue")
    explained = (eig / eig.sum()).rename("explained")
    pr = float(w.sum() ** 2 / np.sum(w * w))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        parallel = pd.DataFrame({
            "k": comps, "pc_observed": w, "pc_simulated_mean": sim_pc.mean(axis=0),
            "pc_simulated_quantile": np.quantile(sim_pc, q_level, axis=0), "fa_observed": fa_vals,
            "fa_simulated_mean": sim_fa.mean(axis=0), "fa_simulated_quantile": np.quantile(sim_fa, q_level, axis=0),
        })

    cv = None
    n_dims = {}
    for rule in rules:
        if rule == "cv_likelihood":
            kmax_cv = min(max_k, p - 1)
            scores = _cv_likelihood(x, method, kmax_cv, child_rng(root, "cv_folds"), codes=codes, n_jobs=n_jobs)
            cv = pd.Series(scores, index=pd.Index(range(1, kmax_cv + 1), name="k"), name="cv_loglik")
            n_dims[rule] = int(np.nanargmax(scores)) + 1
        else:
            n_dims[rule] = ks[rule]
    if codes is not None and "cv_likelihood" in rules:
        notes.append("cv_likelihood folds are grouped by cluster (no cluster is split between training and "
                     "held-out models).")

    k_dist, k_ci, null_refs = {}, {}, {}
    eig_est = {c: Estimate(v, level=ci) for c, v in zip(comps, w)}
    exp_est = {c: Estimate(v, level=ci) for c, v in zip(comps, explained)}
    pr_est = Estimate(pr, level=ci)
    if n_boot and raw:
        if "cv_likelihood" in rules:
            notes.append("cv_likelihood is not bootstrapped (a K-fold sweep per resample is too slow); "
                         "it has no P(k).")
        ties = RankPlan(x) if method == "spearman" else None
        common = dict(n_boot=n_boot, ci=ci, n_jobs=n_jobs, batch_size=batch_size, progress=progress)
        common["clusters"] = codes
        common["unit"] = engine["unit"]
        if engine.get("scale") is not None:
            common["noise"] = engine["scale"]

        def resampled(weights, noise=None):
            if noise is None:
                rs = resampled_correlation(x, weights, method, ties)
            else:  # each resample's own perturbed scores (null pool unperturbed: see noise= in the docstring)
                rs = np.stack([resampled_correlation(x + e, weights[b:b + 1], method,
                                                     RankPlan(x + e) if method == "spearman" else None)[0]
                               for b, e in enumerate(noise)])
            if correction is None:
                return rs
            rels = correction[0](weights)
            out = [corrected_correlation(r, rel) for r, rel in zip(rs, rels)]
            return np.stack([np.full((p, p), np.nan) if r is None else r for r in out])

        def eigen_statistic(weights, noise=None):
            out = np.full((weights.shape[0], 2 * p + 1), np.nan)
            rs = resampled(weights, noise)
            ok = np.all(np.isfinite(rs), axis=(1, 2))
            if ok.any():
                wb = np.linalg.eigvalsh(rs[ok])[:, ::-1]
                out[ok, :p] = wb
                out[ok, p:2 * p] = wb / wb.sum(axis=1, keepdims=True)
                out[ok, 2 * p] = wb.sum(axis=1) ** 2 / np.sum(wb * wb, axis=1)
            return out

        need_ref = any(r in _REF_RULES for r in corr_rules)

        r_k = len(corr_rules)

        def k_statistic(weights, noise=None):
            # columns: k of each rule, then (when the rules need the null) the resample's null
            # references (pc, fa) and a digest of its weights, kept for null_from
            out = np.full((weights.shape[0], r_k + (2 * p + 1 if need_ref else 0)), np.nan)
            rs = resampled(weights, noise)
            if need_ref:  # each resample against the null pool under its own weights
                digests = np.array([_weights_digest(w) for w in weights])
                todo = np.array([d not in known for d in digests], bool)
                refs_pc, refs_fa = np.empty((len(weights), p)), np.empty((len(weights), p))
                if todo.any():
                    null_pc, null_fa = _null_eigenvalues(pool, plans, weights[todo], method, need_fa)
                    refs_pc[todo] = _threshold(null_pc, parallel_quantile, 1)
                    refs_fa[todo] = _threshold(null_fa, parallel_quantile, 1)
                for b in np.flatnonzero(~todo):
                    refs_pc[b], refs_fa[b] = known[digests[b]]
                # a NaN reference (no FA rule, a failed null fit) travels as a sentinel: the engine
                # would report a NaN column as an undefined statistic
                out[:, r_k:r_k + 2 * p] = np.nan_to_num(np.hstack([refs_pc, refs_fa]), nan=_NO_REF)
                out[:, -1] = digests
            finite = np.flatnonzero(np.all(np.isfinite(rs), axis=(1, 2)))
            fa_obs = {}
            if need_fa and finite.size:  # the resamples' own one-factor fits, as one batch
                try:
                    fa_obs = dict(zip(finite, _fa1_fit_batch(rs[finite])[0]))
                except np.linalg.LinAlgError:
                    fa_obs = {}
            for b in finite:
                rpc, rfa = (refs_pc[b], refs_fa[b]) if need_ref else (ref_pc, ref_fa)
                try:
                    _, _, _, kb = _rule_ks(rs[b], corr_rules, rpc, rfa, max_k, map_power, fa_obs.get(b))
                except np.linalg.LinAlgError:
                    continue
                out[b, :r_k] = [kb[r] for r in corr_rules]
            return out

        eigen_statistic.batch_size = 64
        # 20 null matrices per resample: 8 resamples a batch at p ~ 50; more when the matrices are small,
        # so that numpy's per-call overhead is shared by as much work
        k_statistic.batch_size = int(max(8, min(64, 8 * (50 / max(p, 1)) ** 2)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            res = bootstrap(eigen_statistic, n, seed=root, method=engine["ci_method"], **common) \
                if engine["eigen_intervals"] else None
            # the same resamples again (same stream), for k: no jackknife needed
            # with noise, k is the perturbed resample's own (an integer cannot be recentred)
            res_k = bootstrap(k_statistic, n, seed=root, method="percentile", keep_distribution=False,
                              **({"recentre": False} if "noise" in common else {}), **common) if corr_rules else None
        if res is not None:
            ests = res.estimates
            # the kernel's full-data value equals the textbook one to rounding; report the latter
            eig_est = {c: replace(ests[i], value=float(w[i])) for i, c in enumerate(comps)}
            exp_est = {c: replace(ests[p + i], value=float(explained.iloc[i])) for i, c in enumerate(comps)}
            pr_est = replace(ests[2 * p], value=pr)
        if need_ref and res_k is not None:
            dk = res_k.distribution
            refs = np.where(dk[:, r_k:r_k + 2 * p] == _NO_REF, np.nan, dk[:, r_k:r_k + 2 * p])
            null_refs = {"key": null_key, "by_weights": {
                float(d): (row[:p], row[p:]) for d, row in zip(dk[:, -1], refs)}}
        alpha = (1 - ci) / 2
        for j, rule in enumerate(corr_rules):
            d = res_k.distribution[:, j]
            d = d[np.isfinite(d)].astype(int)
            if d.size == 0:
                continue
            vals, counts = np.unique(d, return_counts=True)
            k_dist[rule] = {int(k): float(c / d.size) for k, c in zip(vals, counts)}
            k_ci[rule] = (int(np.quantile(d, alpha, method="inverted_cdf")),
                          int(np.quantile(d, 1 - alpha, method="inverted_cdf")))
        if res is not None:
            n_bad = int(np.sum(~np.isfinite(res.distribution[:, 0])))
        else:  # a resample with an undefined correlation matrix has no k under any rule
            n_bad = 0 if res_k is None else int(np.sum(~np.isfinite(res_k.distribution[:, :r_k]).any(axis=1)))
        if n_bad:
            notes.append(f"{n_bad} of {n_boot} resamples had an undefined correlation matrix and were left out.")

    mp_series = pd.Series(mp, index=pd.Index(range(1, max_k + 1), name="k"), name="map")
    options = {"n_iter": int(n_iter), "parallel_quantile": parallel_quantile, "parallel_null": parallel_null,
               "map_power": int(map_power), "max_k": max_k, "input": "matrix" if raw else "corr",
               "n_clusters": None if codes is None else int(codes.max()) + 1,
               "eigen_intervals": engine["eigen_intervals"]}
    options.update(provenance(n_boot=n_boot, ci=ci, ci_method=engine["ci_method"], seed=seed, unit=engine["unit"],
                              n_units=n if codes is None else int(codes.max()) + 1, n=n, missing=engine["missing"],
                              clusters=engine["clusters"]))
    if engine.get("noise") is not None:
        options["noise"] = engine["noise"]
    return Dimensionality(
        eigenvalues=eig, explained=explained, eigenvalue_estimates=eig_est, explained_estimates=exp_est,
        participation_ratio=pr_est, n_dimensions=n_dims, k_distribution=k_dist, k_ci=k_ci,
        map_values=mp_series, parallel=parallel, cv_loglik=cv, rules=tuple(rules), method=method,
        n_models=n, n_metrics=p, n_boot=int(n_boot), level=float(ci), seed=seed if not isinstance(seed, np.random.Generator) else None,
        options=options, notes=tuple(notes), null_references=null_refs,
    )


_NO_REF = -1e300  # an undefined null reference inside the k statistic's output


def _weights_digest(w: np.ndarray) -> float:
    """A resample's identity as a float: 48 bits of the SHA-1 of its count weights (exact in float64)."""
    import hashlib

    return float(int.from_bytes(hashlib.sha1(np.ascontiguousarray(w, dtype=float).tobytes()).digest()[:6], "big"))


def _null_key(pool, method, quantile, need_fa) -> tuple:
    """What the per-resample null references depend on besides the weights."""
    import hashlib

    return (hashlib.sha1(np.ascontiguousarray(pool).tobytes()).hexdigest(), pool.shape, method, quantile, need_fa)


def _resolve_codes(clusters, matrix, parallel_null):
    """Cluster codes aligned with the matrix rows (``families.resolve_clusters``), or None."""
    if clusters is None or (isinstance(clusters, str) and clusters == "none"):
        return None
    if matrix is None:
        raise ParameterError("clusters= needs the models x metrics matrix; a correlation matrix (corr=) has no models.")
    if parallel_null != "normal":
        raise ParameterError("parallel_null='permutation' cannot keep the cluster structure of the data; "
                             "use parallel_null='normal' with clusters=.")
    return resolve_clusters(clusters, matrix.index, names=matrix_names(matrix))


def _cluster_icc(z, codes):
    """Each metric's ICC(1) (the kernel of :func:`alignfactors.families.design_effect`), clipped to [0, 0.95]."""
    p = z.shape[1]
    with np.errstate(all="ignore"):  # all-singleton clusters: 0/0, no within-cluster variance
        icc = _design_effect_statistic(z, codes)(np.ones((1, z.shape[0])))[0, 2:2 + p]
    return np.clip(np.nan_to_num(icc, nan=0.0), 0.0, 0.95)
