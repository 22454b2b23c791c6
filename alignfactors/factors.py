"""Exploratory factor analysis of alignment metrics, matching R's ``psych::fa``.

:class:`FactorModel` is a scikit-learn estimator (``fit``/``transform``, ``get_params``, ``clone``)
fitted on a models x metrics matrix. Extraction (minres, ml) follows ``psych::fa`` exactly
(objective, gradient, start values, bounds); rotations come from ``factor_analyzer.Rotator``;
fit indices follow ``psych::factor.stats``. Sampling adequacy (KMO, Bartlett) lives in
:mod:`alignfactors.adequacy`, loading intervals in :mod:`alignfactors.factor_bootstrap`.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats
from sklearn.base import BaseEstimator, TransformerMixin, clone

from ._render import text_table
from .errors import ConvergenceWarning, DataError, NotFittedError, ParameterError, ParameterTypeError, SmoothingWarning
from .correlation import cor_smooth

__all__ = ["FactorModel", "FitIndices", "tucker_congruence"]

METHODS = ("minres", "ml", "principal")
ORTHOGONAL = ("varimax", "quartimax", "oblimax", "equamax")
OBLIQUE = ("oblimin", "promax", "quartimin", "geomin_obl")
ROTATIONS = (None, "none") + ORTHOGONAL + OBLIQUE
CORR_METHODS = ("spearman", "pearson", "kendall")
LOWER_BOUND = 0.005  # psych::fa and factor_analyzer bound uniquenesses to [0.005, 1]
_FITTED = ("loadings_", "uniquenesses_", "communalities_", "factor_corr_", "rotation_matrix_", "eigenvalues_",
           "corr_", "n_obs_", "fit_", "heywood_", "converged_", "smoothed_", "n_iter_", "feature_names_in_",
           "mean_", "scale_", "unrotated_loadings_")


# ----------------------------------------------------------------------------- matrix helpers
def _smc(r: np.ndarray) -> np.ndarray:
    """Squared multiple correlations 1 - 1/diag(R^-1) (pseudo-inverse if singular, as psych::smc)."""
    try:
        inv = np.linalg.inv(r)
    except np.linalg.LinAlgError:
        inv = np.linalg.pinv(r)
    return np.clip(1 - 1 / np.diag(inv), 0, 1)


def tucker_congruence(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Tucker's congruence coefficients between the columns of ``a`` and ``b`` (k_a x k_b)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    num = a.T @ b
    return num / np.sqrt(np.outer((a**2).sum(0), (b**2).sum(0)))


# ----------------------------------------------------------------------------- extraction (psych::fac)
def _top_eigen(m: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    vals, vecs = np.linalg.eigh(m)
    return vals[::-1][:k], vecs[:, ::-1][:, :k]


def _minres_objective(psi, s, k):
    # psych's fit.residuals(fm="minres"): squared residuals of the lower triangle only
    r = s.copy()
    np.fill_diagonal(r, 1 - psi)
    vals, vecs = _top_eigen(r, k)
    vals = np.where(vals < np.finfo(float).eps, 100 * np.finfo(float).eps, vals)
    load = vecs * np.sqrt(vals)
    res = r - load @ load.T
    return float(np.sum(res[np.tril_indices_from(res, -1)] ** 2))


def _minres_gradient(psi, s, k):
    vals, vecs = _top_eigen(s - np.diag(psi), k)
    load = vecs * np.sqrt(np.maximum(vals, 0))
    return np.diag(load @ load.T) + psi - np.diag(s)


def _ml_parts(psi, s, k):
    sc = 1 / np.sqrt(psi)
    vals, vecs = np.linalg.eigh(s * sc[:, None] * sc[None, :])
    return vals[::-1], vecs[:, ::-1]


def _ml_objective(psi, s, k):
    e = _ml_parts(psi, s, k)[0][k:]
    return float(-(np.sum(np.log(e) - e) - k + s.shape[0]))


def _ml_loadings(psi, s, k):
    vals, vecs = _ml_parts(psi, s, k)
    return np.sqrt(psi)[:, None] * vecs[:, :k] * np.sqrt(np.maximum(vals[:k] - 1, 0))


def _ml_gradient(psi, s, k):
    load = _ml_loadings(psi, s, k)
    return (np.diag(load @ load.T) + psi - np.diag(s)) / psi**2


def _extract(r: np.ndarray, k: int, method: str, max_iter: int) -> tuple[np.ndarray, bool, int]:
    """Unrotated loadings, whether the optimiser converged, and its iteration count."""
    if method == "principal":
        vals, vecs = _top_eigen(r, k)
        return vecs * np.sqrt(np.maximum(vals, 0)), True, 0
    fun, jac = (_minres_objective, _minres_gradient) if method == "minres" else (_ml_objective, _ml_gradient)
    start = 1 - _smc(r)
    p = r.shape[0]
    # psych uses optim(L-BFGS-B, parscale=0.01); scipy has no parscale, so tolerances are tightened instead
    res = optimize.minimize(fun, np.clip(start, LOWER_BOUND, 1), args=(r, k), jac=jac, method="L-BFGS-B",
                            bounds=[(LOWER_BOUND, 1.0)] * p,
                            options={"maxiter": max_iter, "ftol": 1e-15, "gtol": 1e-10, "maxcor": 20})
    psi = res.x
    if method == "minres":
        vals, vecs = _top_eigen(r - np.diag(psi), k)
        load = vecs * np.sqrt(np.maximum(vals, 0))
    else:
        load = _ml_loadings(psi, r, k)
    converged = bool(res.success) or res.status == 2  # status 2: no further progress possible (at optimum)
    return load, converged and res.nit < max_iter, int(res.nit)


def _rotate(load: np.ndarray, rotation: str | None) -> tuple[np.ndarray, np.ndarray | None]:
    """Rotated loadings and Phi (None for orthogonal rotations)."""
    if rotation in (None, "none") or load.shape[1] < 2:
        return load, None
    from factor_analyzer.rotator import Rotator

    # psych: varimax and promax with Kaiser normalisation; GPArotation's oblimin etc. without
    rot = Rotator(method=rotation, normalize=True, max_iter=1000, tol=1e-7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out = rot.fit_transform(load)
    return np.asarray(out, float), (None if rot.phi_ is None else np.asarray(rot.phi_, float))


# ----------------------------------------------------------------------------- fit indices
@dataclass(frozen=True)
class FitIndices:
    """Fit indices as ``psych::fa`` reports them (NaN where ``n_obs`` is unknown or dof <= 0).

    Attributes: ``objective`` (ML discrepancy of the smoothed model), ``statistic`` (chi-square,
    psych's ``STATISTIC``), ``dof``, ``p_value``, ``rmsea``, ``tli``, ``bic``, ``null_statistic``,
    ``null_dof``, ``rms`` (root mean square off-diagonal residual).
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
    return FitIndices(obj, stat, dof, pval, rmsea, tli, bic, null_stat, null_dof, rms, n)


# ----------------------------------------------------------------------------- the estimator
def _as_frame(X: Any, name: str = "X") -> pd.DataFrame:
    if isinstance(X, pd.DataFrame):
        return X
    if isinstance(X, np.ndarray) and X.ndim == 2:
        return pd.DataFrame(X, index=[f"model{i + 1}" for i in range(X.shape[0])],
                            columns=[f"metric{j + 1}" for j in range(X.shape[1])])
    raise ParameterTypeError(f"{name} must be a pandas DataFrame (models x metrics) or a 2-d numpy array; "
                             f"got {type(X).__name__}.")


class FactorModel(TransformerMixin, BaseEstimator):
    """Exploratory factor analysis of a models x metrics matrix (``psych::fa`` semantics).

    Parameters
    ----------
    n_factors : int, default=1
        Number of factors k (1 <= k < number of metrics).
    method : {"minres", "ml", "principal"}, default="minres"
        Extraction: minimum residual (psych's default), maximum likelihood, or principal
        components of the correlation matrix.
    rotation : str or None, default=None
        None/"none", orthogonal "varimax", "quartimax", "oblimax", "equamax", or oblique
        "oblimin", "promax", "quartimin", "geomin_obl".
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
    uniquenesses_, communalities_ : Series
        ``1 - h2`` and ``h2 = diag(L Phi L')``.
    factor_corr_ : DataFrame
        Phi; identity for orthogonal or no rotation.
    rotation_matrix_ : DataFrame
        T with ``loadings_ = unrotated_loadings_ @ T`` (after the sign flips and reordering).
    eigenvalues_ : Series
        Eigenvalues of ``corr_``, descending.
    corr_ : DataFrame
        The correlation matrix analysed (smoothed if ``smoothed_``).
    n_obs_ : int or None
    fit_ : FitIndices
    heywood_ : list of str
        Metrics with communality >= 1 or uniqueness at the lower bound 0.005 (Heywood cases).
    converged_, smoothed_ : bool

    Notes
    -----
    Chi-square (psych's ``STATISTIC``) is :math:`(n - 1 - (2p + 5)/6 - 2k/3) F` with
    :math:`F = \\mathrm{tr}(M^{-1}R) - \\log|M^{-1}R| - p`, M the model correlation matrix
    :math:`L\\Phi L'` with unit diagonal; dof :math:`((p-k)^2 - (p+k))/2`;
    RMSEA :math:`\\sqrt{\\max(\\chi^2/(\\mathrm{dof}\\, n) - 1/(n-1), 0)}`; TLI
    :math:`(M_0 - M_m)/(M_0 - 1/n_m)`; BIC :math:`\\chi^2 - \\mathrm{dof}\\log n`.
    Factor scores (``transform``) use the regression (Thurstone) method,
    :math:`\\hat F = Z R^{-1} L \\Phi`, with Z the new data standardised by the fitted
    data's means and standard deviations (ddof=1) -- also for Spearman fits, so a new model is
    scored without re-ranking the fitted ones.

    References
    ----------
    .. [1] Revelle, W. (2022). psych: Procedures for Psychological, Psychometric, and Personality
       Research. R package 2.2.9. https://CRAN.R-project.org/package=psych
    .. [2] Harman, H. H. & Jones, W. H. (1966). Factor analysis by minimizing residuals (minres).
       Psychometrika 31, 351-368. https://doi.org/10.1007/BF02289468

    Examples
    --------
    >>> import numpy as np
    >>> from alignfactors.factors import FactorModel
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=(200, 1))
    >>> X = f @ np.array([[0.9, 0.8, 0.7, 0.6]]) + rng.normal(scale=0.5, size=(200, 4))
    >>> fm = FactorModel(1, corr_method="pearson").fit(X)
    >>> fm.loadings_.shape
    (4, 1)
    >>> bool((fm.loadings_["F1"] > 0.5).all())
    True
    """

    def __init__(self, n_factors=1, *, method="minres", rotation=None, corr_method="spearman", max_iter=1000,
                 smooth=True):
        self.n_factors = n_factors
        self.method = method
        self.rotation = rotation
        self.corr_method = corr_method
        self.max_iter = max_iter
        self.smooth = smooth

    def __getattr__(self, name: str):
        if name in _FITTED:
            raise NotFittedError(f"This FactorModel is not fitted yet, so it has no {name}; call fit(X) first.")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __sklearn_is_fitted__(self) -> bool:
        return "loadings_" in self.__dict__

    # -------------------------------------------------------------- validation
    def _validate_params(self, p: int) -> None:
        k = self.n_factors
        if not isinstance(k, (int, np.integer)) or isinstance(k, bool):
            raise ParameterTypeError(f"n_factors must be an int; got {type(k).__name__} {k!r}.")
        if not 1 <= k < p:
            raise ParameterError(f"n_factors must be between 1 and the number of metrics - 1 (= {p - 1}); got {k}.")
        if self.method not in METHODS:
            raise ParameterError(f"method must be one of {METHODS}; got {self.method!r}.")
        if self.rotation not in ROTATIONS:
            raise ParameterError(f"rotation must be one of {ROTATIONS}; got {self.rotation!r}.")
        if self.corr_method not in CORR_METHODS:
            raise ParameterError(f"corr_method must be one of {CORR_METHODS}; got {self.corr_method!r}.")
        if not isinstance(self.max_iter, (int, np.integer)) or self.max_iter < 1:
            raise ParameterError(f"max_iter must be a positive integer; got {self.max_iter!r}.")

    def _correlation(self, X: Any, is_corr: bool, n_obs: Any) -> tuple[pd.DataFrame, int | None]:
        df = _as_frame(X)
        if df.shape[1] < 2:
            raise DataError(f"X needs at least 2 metrics (columns); got {df.shape[1]}.")
        values = df.to_numpy(dtype=float)
        bad = list(df.columns[np.isnan(values).any(axis=0)])
        if is_corr:
            if df.shape[0] != df.shape[1] or bad or not np.allclose(values, values.T, atol=1e-10) \
                    or not np.allclose(np.diag(values), 1, atol=1e-8):
                raise DataError("with is_corr=True, X must be a symmetric correlation matrix with unit diagonal "
                                f"and no NaN; got shape {df.shape}" + (f", NaN in {bad}" if bad else "") + ".")
            if n_obs is not None and (not isinstance(n_obs, (int, np.integer)) or n_obs < 2):
                raise ParameterError(f"n_obs must be an integer >= 2 or None; got {n_obs!r}.")
            return pd.DataFrame(values, index=df.columns, columns=df.columns), (None if n_obs is None else int(n_obs))
        if bad:
            raise DataError(f"X has missing values in metrics {bad}; factor analysis does not impute. Drop them "
                            "with alignfactors.cleaning.clean(), or pass a pairwise correlation matrix with "
                            "fit(corr, is_corr=True, n_obs=...).")
        n = df.shape[0]
        if n < max(3, self.n_factors + 2):
            raise DataError(f"too few models: factor analysis with n_factors={self.n_factors} needs at least "
                            f"{max(3, self.n_factors + 2)} models (rows); got {n}.")
        const = list(df.columns[np.ptp(values, axis=0) == 0])
        if const:
            raise DataError(f"metrics {const} are constant over the models; their correlations are undefined. "
                            "Drop them first.")
        return df.corr(method=self.corr_method), (n if n_obs is None else int(n_obs))

    # -------------------------------------------------------------- fitting
    def fit(self, X, y=None, *, is_corr: bool = False, n_obs: int | None = None) -> "FactorModel":
        """Fit the factor model to ``X`` (models x metrics) or to a correlation matrix.

        Parameters
        ----------
        X : DataFrame or ndarray
            Models x metrics, no NaN; or a metric x metric correlation matrix with ``is_corr=True``.
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
            NaN in X, constant metrics, too few models, or a malformed correlation matrix.
        ParameterError
            An unknown method/rotation/corr_method or an n_factors out of range.

        Warns
        -----
        SmoothingWarning
            The correlation matrix was not positive definite and was smoothed.
        ConvergenceWarning
            The optimiser did not converge, or a Heywood case was found.
        """
        df = _as_frame(X)
        self._validate_params(df.shape[1])
        corr, n = self._correlation(df, is_corr, n_obs)
        names = list(corr.columns)
        r = corr.to_numpy(dtype=float)
        smoothed = False
        if self.smooth:
            r, smoothed = cor_smooth(r)
            if smoothed:
                warnings.warn("the correlation matrix was not positive definite and was smoothed as "
                              "psych::cor.smooth does (smoothed_=True).", SmoothingWarning, stacklevel=2)
        k = int(self.n_factors)
        unrot, converged, nit = _extract(r, k, self.method, int(self.max_iter))
        load, phi = _rotate(unrot, self.rotation)
        if phi is None:
            phi = np.eye(k)
        signs = np.sign(load.sum(axis=0))
        signs[signs == 0] = 1
        load = load * signs
        phi = phi * np.outer(signs, signs)
        order = np.argsort(-np.diag(phi @ load.T @ load), kind="stable")
        load, phi = load[:, order], phi[np.ix_(order, order)]
        # align the unrotated solution's signs too, so T is well defined and readable
        usign = np.sign(unrot.sum(axis=0))
        usign[usign == 0] = 1
        unrot = unrot * usign
        rot_mat = np.linalg.lstsq(unrot, load, rcond=None)[0]
        h2 = np.diag(load @ phi @ load.T)
        facs = [f"F{i + 1}" for i in range(k)]
        self.feature_names_in_ = np.asarray(names, dtype=object)
        self.loadings_ = pd.DataFrame(load, index=names, columns=facs)
        self.unrotated_loadings_ = pd.DataFrame(unrot, index=names, columns=facs)
        self.communalities_ = pd.Series(h2, index=names, name="communality")
        self.uniquenesses_ = pd.Series(1 - h2, index=names, name="uniqueness")
        self.factor_corr_ = pd.DataFrame(phi, index=facs, columns=facs)
        self.rotation_matrix_ = pd.DataFrame(rot_mat, index=facs, columns=facs)
        self.corr_ = pd.DataFrame(r, index=names, columns=names)
        self.eigenvalues_ = pd.Series(np.sort(np.linalg.eigvalsh(r))[::-1], index=range(1, len(names) + 1),
                                      name="eigenvalue")
        self.n_obs_ = n
        self.smoothed_ = smoothed
        self.n_iter_ = nit
        self.converged_ = converged
        self.fit_ = _fit_indices(r, load, phi, n)
        tol = 1e-6
        self.heywood_ = [m for m, u in zip(names, 1 - h2) if u <= LOWER_BOUND + tol] if self.method != "principal" \
            else [m for m, u in zip(names, 1 - h2) if u <= 0]
        if is_corr:
            self.mean_ = self.scale_ = None
        else:
            vals = df.to_numpy(dtype=float)
            self.mean_ = pd.Series(vals.mean(0), index=names)
            self.scale_ = pd.Series(vals.std(0, ddof=1), index=names)
        if not converged:
            warnings.warn(f"the {self.method} fit did not converge in {self.max_iter} iterations (max_iter); "
                          "results are unreliable.", ConvergenceWarning, stacklevel=2)
        if self.heywood_:
            warnings.warn(f"Heywood case: metrics {self.heywood_} have communality >= 1 (uniqueness at the bound "
                          f"{LOWER_BOUND}); the solution is improper. Try fewer factors.", ConvergenceWarning,
                          stacklevel=2)
        return self

    def transform(self, X) -> pd.DataFrame:
        """Regression (Thurstone) factor scores for models in ``X`` (same metrics), models x factors."""
        if "loadings_" not in self.__dict__:
            raise NotFittedError("This FactorModel is not fitted yet; call fit(X) before transform(X).")
        if self.mean_ is None:
            raise DataError("transform needs a model fitted on data; this one was fitted on a correlation matrix.")
        df = _as_frame(X)
        names = list(self.feature_names_in_)
        missing = [c for c in names if c not in df.columns]
        if missing:
            raise DataError(f"X lacks fitted metrics {missing}.")
        z = (df[names].to_numpy(dtype=float) - self.mean_.to_numpy()) / self.scale_.to_numpy()
        if np.isnan(z).any():
            raise DataError("X has missing values; factor scores are not imputed.")
        w = np.linalg.solve(self.corr_.to_numpy(), self.loadings_.to_numpy() @ self.factor_corr_.to_numpy())
        return pd.DataFrame(z @ w, index=df.index, columns=self.loadings_.columns)

    def fit_transform(self, X, y=None, **fit_params) -> pd.DataFrame:
        return self.fit(X, **fit_params).transform(X)

    def with_rotation(self, rotation: str | None) -> "FactorModel":
        """A NEW fitted model with another rotation of the same extraction (``self`` is unchanged)."""
        if "loadings_" not in self.__dict__:
            raise NotFittedError("with_rotation needs a fitted model; call fit(X) first.")
        new = clone(self).set_params(rotation=rotation)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SmoothingWarning)
            return new.fit(self.corr_, is_corr=True, n_obs=self.n_obs_)._copy_data_state(self)

    def _copy_data_state(self, other: "FactorModel") -> "FactorModel":
        self.mean_, self.scale_, self.smoothed_ = other.mean_, other.scale_, other.smoothed_
        return self

    # -------------------------------------------------------------- rendering
    def get_loadings_frame(self) -> pd.DataFrame:
        """Tidy loadings: one row per (metric, factor) with columns metric, factor, loading."""
        long = self.loadings_.rename_axis("metric").reset_index().melt(id_vars="metric", var_name="factor",
                                                                        value_name="loading")
        return long[["metric", "factor", "loading"]]

    def summary(self) -> str:
        tab = self.loadings_.copy()
        tab["h2"], tab["u2"] = self.communalities_, self.uniquenesses_
        f = self.fit_
        lines = [f"Factor analysis: {self.method}, rotation={self.rotation or 'none'}, {self.n_factors} factor(s), "
                 f"{len(tab)} metrics, n_obs={self.n_obs_}, {self.corr_method if self.mean_ is not None else 'given'}"
                 f" correlations" + (" (smoothed)" if self.smoothed_ else ""),
                 text_table(tab.rename_axis("metric").reset_index())]
        if self.rotation in OBLIQUE:
            lines += ["Factor correlations:", text_table(self.factor_corr_.rename_axis("factor").reset_index())]
        lines.append(f"Fit: chi2={f.statistic:.3f}, dof={f.dof:g}, p={f.p_value:.3g}, RMSEA={f.rmsea:.3f}, "
                     f"TLI={f.tli:.3f}, BIC={f.bic:.2f}, objective={f.objective:.4f}, RMSR={f.rms:.3f}")
        if self.heywood_:
            lines.append(f"Heywood cases: {self.heywood_}")
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
            "smoothed": bool(self.smoothed_),
        }
