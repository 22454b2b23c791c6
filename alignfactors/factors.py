"""Exploratory factor analysis of alignment metrics, matching R's ``psych::fa``.

:class:`FactorModel` is a scikit-learn estimator (it passes ``sklearn.utils.estimator_checks.
check_estimator``) fitted on a models x metrics matrix or on a correlation matrix. Extraction
(minres, ml, principal) follows ``psych::fa``/``psych::principal`` (objective, gradient, start
values, bounds); rotations follow ``GPArotation``/``stats::varimax``/``psych::Promax`` at psych's
defaults; fit indices follow ``psych::factor.stats``. The numerical kernels live once in
:mod:`alignfactors._factor_kernels`. Sampling adequacy (KMO, Bartlett) lives in
:mod:`alignfactors.adequacy`, loading intervals in :mod:`alignfactors.factor_bootstrap`, the fit
table over k in :func:`factor_fit_table`.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.utils.validation import validate_data

from . import _factor_kernels as K
from ._formatting import text_table
from .correlation import cor_smooth
from .errors import ConvergenceWarning, DataError, NotFittedError, ParameterError, ParameterTypeError, SmoothingWarning

__all__ = ["FactorModel", "FitIndices", "tucker_congruence"]

METHODS = ("minres", "ml", "principal")
ORTHOGONAL = ("varimax", "quartimax", "equamax", "geomin_ort", "oblimax")
OBLIQUE = ("oblimin", "promax", "quartimin", "geomin_obl")
ROTATIONS = (None, "none") + ORTHOGONAL + OBLIQUE
#: psych / GPArotation name of each rotation (oblimax has none: deprecated)
R_NAMES = {"varimax": "varimax", "quartimax": "quartimax", "equamax": "equamax", "geomin_ort": "geominT",
           "oblimin": "oblimin", "promax": "promax", "quartimin": "quartimin", "geomin_obl": "geominQ"}
CORR_METHODS = ("spearman", "pearson", "kendall")
LOWER_BOUND = K.LOWER_BOUND
ROTATION_TOL = 1e-5  # GPArotation's eps and stats::varimax's eps, psych's defaults
GEOMIN_DELTA = 0.01  # GPArotation's default
_FITTED = ("loadings_", "uniquenesses_", "communalities_", "factor_corr_", "rotation_matrix_", "eigenvalues_",
           "corr_", "n_obs_", "fit_", "heywood_", "converged_", "smoothed_", "n_iter_", "n_features_in_",
           "mean_", "scale_", "unrotated_loadings_", "rotation_converged_")


def tucker_congruence(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Tucker's congruence coefficients between the columns of ``a`` and ``b`` (k_a x k_b)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    num = a.T @ b
    return num / np.sqrt(np.outer((a**2).sum(0), (b**2).sum(0)))


# ----------------------------------------------------------------------------- rotation (psych's defaults)
def _rotate(load: np.ndarray, rotation: str | None, *, gamma: float = 0.0, Tmat: np.ndarray | None = None
            ) -> tuple[np.ndarray, np.ndarray | None, bool]:
    """Rotated loadings, Phi (None for orthogonal rotations) and whether the rotation converged.

    As ``psych::fa`` calls them: varimax = ``stats::varimax`` (Kaiser normalisation, eps 1e-5);
    promax = ``psych::kaiser(L, "Promax")`` (m = 4); oblimin/quartimin/geominQ/geominT/quartimax
    = ``GPArotation`` without normalisation, eps 1e-5; equamax = ``psych::equamax``, i.e.
    ``GPArotation::cfT`` with kappa = k / (2p). ``Tmat`` warm-starts the GPA rotations.
    """
    if rotation in (None, "none") or load.shape[1] < 2:
        return load, None, True
    p, k = load.shape
    gpa = {"quartimax": (K.vgq_quartimax, False), "equamax": (lambda L: K.vgq_cf(L, k / (2 * p)), False),
           "geomin_ort": (lambda L: K.vgq_geomin(L, GEOMIN_DELTA), False),
           "oblimin": (lambda L: K.vgq_oblimin(L, gamma), True), "quartimin": (lambda L: K.vgq_oblimin(L, 0.0), True),
           "geomin_obl": (lambda L: K.vgq_geomin(L, GEOMIN_DELTA), True)}
    if rotation in gpa:
        crit, oblique = gpa[rotation]
        L, T, conv, _ = K.gpa_rotate(load, crit, oblique=oblique, Tmat=Tmat, eps=ROTATION_TOL)
        return L, (T.T @ T if oblique else None), conv
    from factor_analyzer.rotator import Rotator

    # varimax and promax: factor_analyzer's stats::varimax / Kaiser-normalised promax, at R's tolerance
    rot = Rotator(method=rotation, normalize=True, max_iter=1000, tol=ROTATION_TOL)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out = rot.fit_transform(load)
    return np.asarray(out, float), (None if rot.phi_ is None else np.asarray(rot.phi_, float)), True


def _psych_order(load: np.ndarray, phi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """psych's convention: columns with positive sums, sorted by variance explained diag(Phi L'L)."""
    signs = np.sign(load.sum(axis=0))
    signs[signs == 0] = 1
    load = load * signs
    phi = phi * np.outer(signs, signs)
    order = np.argsort(-np.diag(phi @ load.T @ load), kind="stable")
    return load[:, order], phi[np.ix_(order, order)]


# ----------------------------------------------------------------------------- fit indices
@dataclass(frozen=True)
class FitIndices:
    """Fit indices as ``psych::fa`` reports them (NaN where ``n_obs`` is unknown or dof <= 0).

    Attributes: ``objective`` (ML discrepancy of the smoothed model), ``statistic`` (chi-square,
    psych's ``STATISTIC``), ``dof``, ``p_value``, ``rmsea``, ``tli``, ``bic``, ``null_statistic``,
    ``null_dof``, ``rms`` (root mean square off-diagonal residual), ``rmsea_low``/``rmsea_high``
    (90% interval of the RMSEA: the noncentrality lambda with ``P(chi2_dof(lambda) <= statistic)``
    = 0.95 / 0.05, RMSEA = sqrt(lambda / ((n - 1) dof)), as psych's ``RMSEA[c("lower", "upper")]``;
    Browne & Cudeck 1992, https://doi.org/10.1177/0049124192021002005).
    """

    objective: float
    statistic: float
    dof: float
    p_value: float
    rmsea: float
    tli: float
    bic: float
    null_statistic: float
    null_dof: float
    rms: float
    n_obs: float
    rmsea_low: float = math.nan
    rmsea_high: float = math.nan

    @property
    def rmsea_ci(self) -> tuple[float, float]:
        """90% confidence interval of the RMSEA (noncentral chi-square inversion, as ``psych::factor.stats``)."""
        return (self.rmsea_low, self.rmsea_high)

    def to_dict(self) -> dict:
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in self.__dict__.items()}


def _fit_indices(r: np.ndarray, load: np.ndarray, phi: np.ndarray, n_obs: float | None) -> FitIndices:
    p, k = load.shape
    model = load @ phi @ load.T
    resid = r - model
    rms = float(np.sqrt(np.sum(resid[np.tril_indices(p, -1)] ** 2) * 2 / (p * (p - 1))))
    np.fill_diagonal(model, 1.0)
    model = cor_smooth(model)[0]
    mr = np.linalg.solve(model, r)
    obj = float(np.trace(mr) - np.linalg.slogdet(mr)[1] - p)
    dof = ((p - k) ** 2 - (p + k)) / 2
    f0 = float(np.trace(r) - np.linalg.slogdet(r)[1] - p)
    null_dof = p * (p - 1) / 2
    nan = math.nan
    if n_obs is None:
        return FitIndices(obj, nan, dof, nan, nan, nan, nan, nan, null_dof, rms, nan)
    n = float(n_obs)
    nm = (n - 1) - (2 * p + 5) / 6 - 2 * k / 3
    chisq = obj * nm
    stat = max(chisq, 0.0)
    pval = float(stats.chi2.sf(stat, dof)) if dof > 0 else nan
    m0, mm = f0 * 2 / (p * (p - 1)), obj / dof if dof != 0 else nan
    tli = (m0 - mm) / (m0 - 1 / nm)
    rmsea = math.sqrt(max(chisq / (dof * n) - 1 / (n - 1), 0)) if dof > 0 else nan
    bic = stat - dof * math.log(n)
    null_stat = f0 * ((n - 1) - (2 * p + 5) / 6)
    lo, hi = _rmsea_interval(stat, dof, n, rmsea) if dof > 0 else (nan, nan)
    return FitIndices(obj, stat, dof, pval, rmsea, tli, bic, null_stat, null_dof, rms, n, lo, hi)


def _rmsea_interval(stat: float, dof: float, n: float, rmsea: float, tail: float = 0.05) -> tuple[float, float]:
    """psych::factor.stats' 90% RMSEA interval: roots in the noncentrality of the chi-square cdf."""
    from scipy.optimize import brentq

    top = max(n, stat) + 2 * n

    def bound(level):
        f = lambda lam: stats.ncx2.cdf(stat, dof, lam) - level if lam > 0 else stats.chi2.cdf(stat, dof) - level  # noqa: E731
        if f(0.0) <= 0:
            return 0.0
        if f(top) > 0:
            return math.nan
        return math.sqrt(brentq(f, 0.0, top, xtol=1e-10) / (n - 1) / dof)

    hi, lo = bound(tail), bound(1 - tail)
    return (lo if not lo > rmsea else math.nan), (hi if not hi < rmsea else math.nan)


# ----------------------------------------------------------------------------- input
def _as_frame(X: Any, name: str = "X") -> pd.DataFrame:
    """A labelled models x metrics frame: DataFrames pass through, 2-d array-likes get model1.., metric1.. labels."""
    if isinstance(X, pd.DataFrame):
        return X
    arr = np.asarray(X) if not hasattr(X, "toarray") else None
    if arr is None or arr.ndim != 2:
        raise ParameterTypeError(f"{name} must be a pandas DataFrame (models x metrics) or a 2-d array; "
                                 f"got {type(X).__name__}" + ("" if arr is None else f" with {arr.ndim} dimension(s)")
                                 + ".")
    return pd.DataFrame(arr, index=[f"model{i + 1}" for i in range(arr.shape[0])],
                        columns=[f"metric{j + 1}" for j in range(arr.shape[1])])


def _labels(X: Any, prefix: str, axis: int, n: int) -> list:
    if isinstance(X, pd.DataFrame):
        return list(X.index if axis == 0 else X.columns)
    return [f"{prefix}{i + 1}" for i in range(n)]


def _nonfinite_check(values: np.ndarray, columns: list) -> None:
    nan = [c for c, b in zip(columns, np.isnan(values).any(axis=0)) if b]
    if nan:
        raise DataError(f"X has missing values in metrics {nan} (NaN); factor analysis does not impute. Drop them "
                        "with alignfactors.cleaning.clean(), or pass a pairwise correlation matrix with "
                        "fit(corr, is_corr=True, n_obs=...).")
    inf = [c for c, b in zip(columns, np.isinf(values).any(axis=0)) if b]
    if inf:
        raise DataError(f"X has infinite values (inf) in metrics {inf}; correlations with them are undefined. "
                        "Replace or drop them first.")


class FactorModel(TransformerMixin, BaseEstimator):
    """Exploratory factor analysis of a models x metrics matrix (``psych::fa`` semantics).

    Parameters
    ----------
    n_factors : int, default=1
        Number of factors k (1 <= k < number of metrics).
    method : {"minres", "ml", "principal"}, default="minres"
        Extraction: minimum residual (psych's default), maximum likelihood, or principal
        components of the correlation matrix (``psych::principal``).
    rotation : str or None, default=None
        None/"none"; orthogonal "varimax", "quartimax", "equamax", "geomin_ort" (psych's
        "geominT"); oblique "oblimin", "promax", "quartimin", "geomin_obl" (psych's "geominQ").
        "oblimax" (no R counterpart) is deprecated.
    gamma : float, default=0.0
        Oblimin's gamma (``GPArotation::oblimin(gam=)``): 0 quartimin, 0.5 biquartimin,
        1 covarimin. Only used with ``rotation="oblimin"``.
    corr_method : {"spearman", "pearson", "kendall"}, default="spearman"
        Correlation analysed (ignored with ``is_corr=True``).
    max_iter : int, default=1000
        Iterations of the L-BFGS-B optimiser over the uniquenesses.
    smooth : bool, default=True
        Smooth a non-positive-definite correlation matrix as ``psych::cor.smooth``.

    Attributes
    ----------
    loadings_ : DataFrame (metrics x F1..Fk)
        Pattern loadings after rotation, factors sorted by variance explained, signs flipped
        so every column sums to a positive value (both as ``psych::fa``).
    communalities_ : Series
        As psych's ``communalities``: ``1 - psi`` with psi the optimiser's uniqueness bounded
        to [0.005, 1] (minres, ml); ``diag(L Phi L')`` for principal. They equal
        ``diag(L Phi L')`` except for Heywood metrics, whose communality is reported as
        0.995 and flagged in ``heywood_``.
    uniquenesses_ : Series
        As psych's ``uniquenesses``: ``1 - diag(L Phi L')`` (negative for an ultra-Heywood metric).
    factor_corr_ : DataFrame
        Phi; identity for orthogonal or no rotation.
    rotation_matrix_ : DataFrame
        T with ``loadings_ = unrotated_loadings_ @ T`` (after the sign flips and reordering).
    unrotated_loadings_ : DataFrame
    eigenvalues_ : Series
        Eigenvalues of ``corr_``, descending.
    corr_ : DataFrame
        The correlation matrix analysed (smoothed if ``smoothed_``).
    n_obs_ : int or None
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when X is a DataFrame with string column names (scikit-learn's convention).
    mean_, scale_ : Series
        Means and standard deviations (ddof=1) of the fitted data, for ``transform``. Not set
        when fitted on a correlation matrix (``is_corr=True``).
    fit_ : FitIndices
    heywood_ : list of str
        Heywood metrics: uniqueness at the lower bound 0.005 or model communality >= 1.
    converged_, rotation_converged_, smoothed_ : bool
    n_iter_ : int

    Notes
    -----
    psych's conventions are the defaults: uniquenesses bounded to [0.005, 1]; rotation
    tolerance 1e-5 (GPArotation's ``eps``, ``stats::varimax``'s ``eps``); GPA rotations without
    Kaiser normalisation, varimax and promax with it; equamax is Crawford-Ferguson with
    kappa = k / (2p) (``psych::equamax``); geomin with delta = 0.01; communalities of Heywood
    cases as ``1 - bounded uniqueness``. Every extraction x rotation is checked against R psych
    2.2.9 / GPArotation 2022.10 in ``tests/reference/factor_grid.json``.

    Chi-square (psych's ``STATISTIC``) is :math:`(n - 1 - (2p + 5)/6 - 2k/3) F` with
    :math:`F = \\mathrm{tr}(M^{-1}R) - \\log|M^{-1}R| - p`, M the model correlation matrix
    :math:`L\\Phi L'` with unit diagonal; dof :math:`((p-k)^2 - (p+k))/2`;
    RMSEA :math:`\\sqrt{\\max(\\chi^2/(\\mathrm{dof}\\, n) - 1/(n-1), 0)}`; TLI
    :math:`(M_0 - M_m)/(M_0 - 1/n_m)`; BIC :math:`\\chi^2 - \\mathrm{dof}\\log n`.
    Factor scores (``transform``) use the regression (Thurstone) method,
    :math:`\\hat F = Z R^{-1} L \\Phi`, with Z the new data standardised by the fitted
    data's means and standard deviations (ddof=1) -- also for Spearman fits, so a new model is
    scored without re-ranking the fitted ones. ``transform`` returns a DataFrame for a
    DataFrame and an ndarray for an array (``set_output(transform="pandas")`` also works).

    References
    ----------
    .. [1] Revelle, W. (2022). psych: Procedures for Psychological, Psychometric, and Personality
       Research. R package 2.2.9. https://CRAN.R-project.org/package=psych
    .. [2] Harman, H. H. & Jones, W. H. (1966). Factor analysis by minimizing residuals (minres).
       Psychometrika 31, 351-368. https://doi.org/10.1007/BF02289468
    .. [3] Bernaards, C. A. & Jennrich, R. I. (2005). Gradient projection algorithms and software
       for arbitrary rotation criteria in factor analysis. Educational and Psychological
       Measurement 65, 676-696. https://doi.org/10.1177/0013164404272507

    Examples
    --------
    >>> import numpy as np
    >>> from alignfactors.factors import FactorModel
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=(200, 1))
    >>> X = f @ np.array([[0.9, 0.8, 0.7, 0.6]]) + rng.normal(scale=0.5, size=(200, 4))
    >>> fm = FactorModel(1, corr_method="pearson").fit(X)
    >>> fm.loadings_.shape, fm.n_features_in_
    ((4, 1), 4)
    >>> bool((fm.loadings_["F1"] > 0.5).all())
    True
    """

    def __init__(self, n_factors=1, *, method="minres", rotation=None, gamma=0.0, corr_method="spearman",
                 max_iter=1000, smooth=True):
        self.n_factors = n_factors
        self.method = method
        self.rotation = rotation
        self.gamma = gamma
        self.corr_method = corr_method
        self.max_iter = max_iter
        self.smooth = smooth

    def __getattr__(self, name: str):
        if name in ("mean_", "scale_") and "loadings_" in self.__dict__:
            raise AttributeError(f"this FactorModel was fitted on a correlation matrix (is_corr=True), so it has no "
                                 f"{name}; fit it on models x metrics data to score new models.")
        if name in _FITTED:
            raise NotFittedError(f"This FactorModel is not fitted yet, so it has no {name}; call fit(X) first.")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __sklearn_is_fitted__(self) -> bool:
        return "loadings_" in self.__dict__

    # -------------------------------------------------------------- validation
    def _check_params(self) -> None:
        """Validate the constructor parameters (named so as not to shadow scikit-learn's ``_validate_params``)."""
        k = self.n_factors
        if not isinstance(k, (int, np.integer)) or isinstance(k, bool):
            raise ParameterTypeError(f"n_factors must be an int; got {type(k).__name__} {k!r}.")
        if k < 1:
            raise ParameterError(f"n_factors must be between 1 and the number of metrics - 1; got {k}.")
        if self.method not in METHODS:
            raise ParameterError(f"method must be one of {METHODS}; got {self.method!r}.")
        if self.rotation not in ROTATIONS:
            raise ParameterError(f"rotation must be one of {ROTATIONS}; got {self.rotation!r}.")
        if self.rotation == "oblimax":
            warnings.warn("rotation='oblimax' is deprecated and will be removed in the next release: it has no "
                          "counterpart in R psych/GPArotation to check it against. Use 'oblimin' or 'geomin_obl'.",
                          DeprecationWarning, stacklevel=3)
        if isinstance(self.gamma, bool) or not isinstance(self.gamma, (int, float, np.integer, np.floating)) \
                or not math.isfinite(self.gamma):
            raise ParameterError(f"gamma must be a finite number (oblimin's gam: 0 quartimin, 0.5 biquartimin, "
                                 f"1 covarimin); got {self.gamma!r}.")
        if self.gamma != 0 and self.rotation != "oblimin":
            raise ParameterError(f"gamma is oblimin's parameter; with rotation={self.rotation!r} leave it at 0 "
                                 f"(got {self.gamma!r}).")
        if self.corr_method not in CORR_METHODS:
            raise ParameterError(f"corr_method must be one of {CORR_METHODS}; got {self.corr_method!r}.")
        if isinstance(self.max_iter, bool) or not isinstance(self.max_iter, (int, np.integer)) or self.max_iter < 1:
            raise ParameterError(f"max_iter must be a positive integer; got {self.max_iter!r}.")

    def _validated(self, X: Any, *, reset: bool, min_samples: int, min_features: int = 2) -> np.ndarray:
        """scikit-learn's ``validate_data`` (n_features_in_, feature names, sparse/complex/1-d input)
        with its errors re-raised in the package's family; NaN/inf are reported by metric name."""
        try:
            arr = validate_data(self, X, reset=reset, dtype=np.float64, ensure_all_finite=False,
                                ensure_min_samples=min_samples, ensure_min_features=min_features)
        except TypeError as e:  # sparse input
            raise ParameterTypeError(f"{e} FactorModel needs a dense models x metrics matrix.") from e
        except ValueError as e:
            if isinstance(e, DataError):
                raise
            if "sample(s)" in str(e):
                raise DataError(f"too few models: factor analysis with n_factors={self.n_factors} needs at least "
                                f"{min_samples} models (rows); got {np.shape(X)[0]} ({e})") from e
            raise DataError(f"{e} (FactorModel: X is models x metrics)") from e
        _nonfinite_check(arr, _labels(X, "metric", 1, arr.shape[1]))
        return arr

    # -------------------------------------------------------------- fitting
    def fit(self, X, y=None, *, is_corr: bool = False, n_obs: int | None = None) -> "FactorModel":
        """Fit the factor model to ``X`` (models x metrics) or to a correlation matrix.

        Parameters
        ----------
        X : DataFrame or 2-d array-like
            Models x metrics, no NaN/inf; or a metric x metric correlation matrix with ``is_corr=True``.
        y : ignored
        is_corr : bool, default=False
        n_obs : int, optional
            Number of models behind the correlations; default the number of rows of X. Without it
            (``is_corr=True``) chi-square-based fit indices are NaN.

        Returns
        -------
        self

        Raises
        ------
        DataError
            NaN or inf in X, constant metrics, too few models, or a malformed correlation matrix.
        ParameterError
            An unknown method/rotation/corr_method or an n_factors out of range.

        Warns
        -----
        SmoothingWarning
            The correlation matrix was not positive definite and was smoothed.
        ConvergenceWarning
            The optimiser or the rotation did not converge, or a Heywood case was found.
        """
        self._check_params()
        k = int(self.n_factors)
        for attr in [a for a in _FITTED + ("feature_names_in_",) if a in self.__dict__]:
            delattr(self, attr)  # a refit never keeps state of the previous fit (e.g. mean_ after is_corr)
        values = self._validated(X, reset=True, min_samples=2 if is_corr else max(3, k + 2))
        names = _labels(X, "metric", 1, values.shape[1])
        p = values.shape[1]
        if not k < p:
            raise ParameterError(f"n_factors must be between 1 and the number of metrics - 1 (= {p - 1}); got {k}.")
        if is_corr:
            if values.shape[0] != p or not np.allclose(values, values.T, atol=1e-10) \
                    or not np.allclose(np.diag(values), 1, atol=1e-8):
                raise DataError("with is_corr=True, X must be a symmetric correlation matrix with unit diagonal; "
                                f"got shape {values.shape}.")
            if n_obs is not None and (isinstance(n_obs, bool) or not isinstance(n_obs, (int, np.integer))
                                      or n_obs < 2):
                raise ParameterError(f"n_obs must be an integer >= 2 or None; got {n_obs!r}.")
            corr, n = values, (None if n_obs is None else int(n_obs))
        else:
            const = [c for c, b in zip(names, np.ptp(values, axis=0) == 0) if b]
            if const:
                raise DataError(f"metrics {const} are constant over the models; their correlations are undefined. "
                                "Drop them first.")
            corr = pd.DataFrame(values).corr(method=self.corr_method).to_numpy()
            n = values.shape[0] if n_obs is None else int(n_obs)
        self._fit_corr(corr, names, n, stacklevel=3)
        if not is_corr:
            self.mean_ = pd.Series(values.mean(0), index=names)
            self.scale_ = pd.Series(values.std(0, ddof=1), index=names)
        self.n_features_in_ = p
        return self

    def _fit_corr(self, r: np.ndarray, names: list, n: int | None, *, stacklevel: int) -> None:
        k = int(self.n_factors)
        smoothed = False
        if self.smooth:
            r, smoothed = cor_smooth(r)
            if smoothed:
                warnings.warn("the correlation matrix was not positive definite and was smoothed as "
                              "psych::cor.smooth does (smoothed_=True).", SmoothingWarning, stacklevel=stacklevel)
        unrot, psi, converged, nit = K.extract(r, k, self.method, max_iter=int(self.max_iter))
        load, phi, rot_conv = _rotate(unrot, self.rotation, gamma=float(self.gamma))
        load, phi = _psych_order(load, np.eye(k) if phi is None else phi)
        # align the unrotated solution's signs too, so T is well defined and readable
        usign = np.sign(unrot.sum(axis=0))
        usign[usign == 0] = 1
        unrot = unrot * usign
        rot_mat = np.linalg.lstsq(unrot, load, rcond=None)[0]
        h2 = np.einsum("ij,jk,ik->i", load, phi, load)
        comm = h2 if psi is None else 1 - psi
        facs = [f"F{i + 1}" for i in range(k)]
        self.loadings_ = pd.DataFrame(load, index=names, columns=facs)
        self.unrotated_loadings_ = pd.DataFrame(unrot, index=names, columns=facs)
        self.communalities_ = pd.Series(comm, index=names, name="communality")
        self.uniquenesses_ = pd.Series(1 - h2, index=names, name="uniqueness")
        self.factor_corr_ = pd.DataFrame(phi, index=facs, columns=facs)
        self.rotation_matrix_ = pd.DataFrame(rot_mat, index=facs, columns=facs)
        self.corr_ = pd.DataFrame(r, index=names, columns=names)
        self.eigenvalues_ = pd.Series(K.eigh_desc(r)[0], index=range(1, len(names) + 1), name="eigenvalue")
        self.n_obs_ = n
        self.smoothed_ = smoothed
        self.n_iter_ = nit
        self.converged_ = converged
        self.rotation_converged_ = rot_conv
        self.fit_ = _fit_indices(r, load, phi, n)
        at_bound = np.zeros(len(names), bool) if psi is None else psi <= LOWER_BOUND + 1e-6
        self.heywood_ = [m for m, b, h in zip(names, at_bound, h2) if b or h >= 1]
        if not converged:
            warnings.warn(f"the {self.method} fit did not converge in {self.max_iter} iterations (max_iter); "
                          "results are unreliable.", ConvergenceWarning, stacklevel=stacklevel)
        if not rot_conv:
            warnings.warn(f"the {self.rotation} rotation did not converge in 1000 iterations (tolerance "
                          f"{ROTATION_TOL}); the loadings are not at the criterion's optimum.", ConvergenceWarning,
                          stacklevel=stacklevel)
        if self.heywood_:
            warnings.warn(f"Heywood case: metrics {self.heywood_} have communality >= 1 (uniqueness at the bound "
                          f"{LOWER_BOUND}); their communalities are reported as 1 - {LOWER_BOUND} as psych does and "
                          "the solution is improper. Try fewer factors.", ConvergenceWarning, stacklevel=stacklevel)

    def transform(self, X):
        """Regression (Thurstone) factor scores of the models in ``X`` (same metrics), models x factors.

        A DataFrame gives a DataFrame (its metrics are matched by name, extra columns ignored); an
        array gives an array.
        """
        if "loadings_" not in self.__dict__:
            raise NotFittedError("This FactorModel is not fitted yet; call fit(X) before transform(X).")
        if "mean_" not in self.__dict__:
            raise DataError("transform needs a model fitted on data; this one was fitted on a correlation matrix "
                            "(is_corr=True).")
        names = list(self.loadings_.index)
        frame = isinstance(X, pd.DataFrame)
        if frame and "feature_names_in_" in self.__dict__:
            missing = [c for c in names if c not in X.columns]
            if missing:
                raise DataError(f"X lacks fitted metrics {missing}.")
            X = X[names]
        values = self._validated(X, reset=False, min_samples=1, min_features=1)
        z = (values - self.mean_.to_numpy()) / self.scale_.to_numpy()
        w = np.linalg.solve(self.corr_.to_numpy(), self.loadings_.to_numpy() @ self.factor_corr_.to_numpy())
        scores = z @ w
        return pd.DataFrame(scores, index=X.index, columns=self.loadings_.columns) if frame else scores

    def fit_transform(self, X, y=None, **fit_params):
        return self.fit(X, **fit_params).transform(X)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Output names of ``transform``: F1..Fk."""
        if "loadings_" not in self.__dict__:
            raise NotFittedError("This FactorModel is not fitted yet; call fit(X) first.")
        return np.asarray(self.loadings_.columns, dtype=object)

    def with_rotation(self, rotation: str | None, *, gamma: float = 0.0) -> "FactorModel":
        """A NEW fitted model with another rotation of the same extraction (``self`` is unchanged)."""
        if "loadings_" not in self.__dict__:
            raise NotFittedError("with_rotation needs a fitted model; call fit(X) first.")
        new = clone(self).set_params(rotation=rotation, gamma=gamma)
        new._check_params()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SmoothingWarning)
            new._fit_corr(self.corr_.to_numpy(), list(self.corr_.columns), self.n_obs_, stacklevel=3)
        new.smoothed_ = self.smoothed_
        for a in ("mean_", "scale_", "n_features_in_", "feature_names_in_"):
            if a in self.__dict__:
                setattr(new, a, getattr(self, a))
        return new

    # -------------------------------------------------------------- rendering
    def get_loadings_frame(self) -> pd.DataFrame:
        """Tidy loadings: one row per (metric, factor) with columns metric, factor, loading."""
        long = self.loadings_.rename_axis("metric").reset_index().melt(id_vars="metric", var_name="factor",
                                                                        value_name="loading")
        return long[["metric", "factor", "loading"]]

    def to_frame(self) -> pd.DataFrame:
        """Loadings with communality (h2) and uniqueness (u2) per metric, one row per metric."""
        tab = self.loadings_.copy()
        tab["h2"], tab["u2"] = self.communalities_, self.uniquenesses_
        tab["heywood"] = [m in self.heywood_ for m in tab.index]
        return tab.rename_axis("metric").reset_index()

    def to_markdown(self) -> str:
        from ._formatting import markdown_table

        return markdown_table(self.to_frame())

    def summary(self) -> str:
        f = self.fit_
        rot = self.rotation or "none"
        if self.rotation == "oblimin" and self.gamma != 0:
            rot += f" (gamma={self.gamma:g})"
        lines = [f"Factor analysis: {self.method}, rotation={rot}, {self.n_factors} factor(s), "
                 f"{len(self.loadings_)} metrics, n_obs={self.n_obs_}, "
                 f"{self.corr_method if 'mean_' in self.__dict__ else 'given'}"
                 f" correlations" + (" (smoothed)" if self.smoothed_ else ""),
                 text_table(self.to_frame().drop(columns="heywood"))]
        if self.rotation in OBLIQUE:
            lines += ["Factor correlations:", text_table(self.factor_corr_.rename_axis("factor").reset_index())]
        lines.append(f"Fit: chi2={f.statistic:.3f}, dof={f.dof:g}, p={f.p_value:.3g}, RMSEA={f.rmsea:.3f}, "
                     f"TLI={f.tli:.3f}, BIC={f.bic:.2f}, objective={f.objective:.4f}, RMSR={f.rms:.3f}")
        if self.heywood_:
            lines.append(f"Heywood cases (communality reported as 1 - {LOWER_BOUND}): {self.heywood_}")
        if not self.converged_:
            lines.append("WARNING: the fit did not converge.")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """JSON-ready description of the fitted model (NaN -> None)."""
        nn = lambda x: None if not math.isfinite(x) else float(x)  # noqa: E731
        return {
            "params": self.get_params(),
            "n_obs": self.n_obs_,
            "loadings": {m: {f: nn(v) for f, v in row.items()} for m, row in self.loadings_.iterrows()},
            "communalities": {m: nn(v) for m, v in self.communalities_.items()},
            "uniquenesses": {m: nn(v) for m, v in self.uniquenesses_.items()},
            "factor_corr": [[nn(v) for v in row] for row in self.factor_corr_.to_numpy()],
            "eigenvalues": [nn(v) for v in self.eigenvalues_],
            "fit": self.fit_.to_dict(),
            "heywood": list(self.heywood_),
            "converged": bool(self.converged_),
            "rotation_converged": bool(self.rotation_converged_),
            "smoothed": bool(self.smoothed_),
        }
