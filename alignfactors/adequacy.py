"""Is a correlation matrix suited to factor analysis? Kaiser-Meyer-Olkin and Bartlett's sphericity test."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from scipy import stats

from ._formatting import text_table
from .correlation import cor_smooth
from .errors import DataError, ParameterError
from .factors import CORR_METHODS, _as_frame

__all__ = ["kmo", "bartlett_sphericity", "KMOResult", "BartlettResult", "factor_fit_table", "FactorFitTable"]


def _corr_input(matrix: Any, is_corr: bool, method: str, name: str) -> tuple[pd.DataFrame, int | None]:
    df = _as_frame(matrix, "matrix")
    if method not in CORR_METHODS:
        raise ParameterError(f"method must be one of {CORR_METHODS}; got {method!r}.")
    vals = df.to_numpy(dtype=float)
    bad = list(df.columns[np.isnan(vals).any(axis=0)])
    if bad:
        raise DataError(f"{name}: matrix has missing values in {bad}; clean() it or pass a pairwise correlation "
                        "matrix with is_corr=True.")
    if is_corr:
        if df.shape[0] != df.shape[1] or not np.allclose(vals, vals.T, atol=1e-10):
            raise DataError(f"{name}: with is_corr=True matrix must be a symmetric correlation matrix; got {df.shape}.")
        return pd.DataFrame(vals, index=df.columns, columns=df.columns), None
    return df.corr(method=method), df.shape[0]


@dataclass(frozen=True)
class KMOResult:
    """Kaiser-Meyer-Olkin measure of sampling adequacy: ``overall`` and per-metric ``per_variable``."""

    overall: float
    per_variable: pd.Series

    def to_dict(self) -> dict:
        return {"overall": self.overall, "per_variable": {k: float(v) for k, v in self.per_variable.items()}}

    def to_frame(self) -> pd.DataFrame:
        """One row per metric (``metric``, ``msa``) and a last row ``overall``."""
        rows = [{"metric": str(k), "msa": float(v)} for k, v in self.per_variable.items()]
        return pd.DataFrame(rows + [{"metric": "overall", "msa": self.overall}])

    def to_markdown(self) -> str:
        from ._formatting import markdown_table

        return markdown_table(self.to_frame())

    def summary(self) -> str:
        return f"KMO overall MSA = {self.overall:.3f}\n" + text_table(
            self.per_variable.rename("MSA").rename_axis("metric").reset_index())

    def __str__(self) -> str:
        return self.summary()


def kmo(matrix: Any, *, is_corr: bool = False, method: str = "spearman") -> KMOResult:
    """Kaiser-Meyer-Olkin MSA of a models x metrics matrix or a correlation matrix (``psych::KMO``).

    Notes
    -----
    With Q the partial correlations (``-inv(R)`` rescaled to unit diagonal),
    :math:`MSA = \\sum_{i\\neq j} r_{ij}^2 / (\\sum_{i\\neq j} r_{ij}^2 + \\sum_{i\\neq j} q_{ij}^2)`,
    per metric over its row. Computed from R directly because factor_analyzer's
    ``calculate_kmo`` only accepts raw data.

    References
    ----------
    .. [1] Kaiser, H. F. (1970). A second generation little jiffy. Psychometrika 35, 401-415.
       https://doi.org/10.1007/BF02291817
    """
    corr, _ = _corr_input(matrix, is_corr, method, "kmo")
    r = cor_smooth(corr.to_numpy())[0]
    inv = np.linalg.inv(r)
    d = 1 / np.sqrt(np.diag(inv))
    q = -inv * d[:, None] * d[None, :]
    np.fill_diagonal(q, 0)
    r0 = r.copy()
    np.fill_diagonal(r0, 0)
    r2, q2 = r0**2, q**2
    per = r2.sum(0) / (r2.sum(0) + q2.sum(0))
    return KMOResult(float(r2.sum() / (r2.sum() + q2.sum())), pd.Series(per, index=corr.columns, name="MSA"))


@dataclass(frozen=True)
class BartlettResult:
    """Bartlett's test of sphericity: ``statistic`` (chi-square), ``dof``, ``p_value``, ``n_obs``."""

    statistic: float
    dof: float
    p_value: float
    n_obs: int

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    def to_frame(self) -> pd.DataFrame:
        """One row: statistic, dof, p_value, n_obs."""
        return pd.DataFrame([self.to_dict()])[["statistic", "dof", "p_value", "n_obs"]]

    def to_markdown(self) -> str:
        from ._formatting import markdown_table

        return markdown_table(self.to_frame())

    def summary(self) -> str:
        return f"Bartlett sphericity: chi2 = {self.statistic:.3f}, dof = {self.dof:g}, p = {self.p_value:.3g}, n = {self.n_obs}"

    def __str__(self) -> str:
        return self.summary()


def bartlett_sphericity(matrix: Any, *, n_obs: int | None = None, is_corr: bool = False,
                        method: str = "spearman") -> BartlettResult:
    """Bartlett's test that the correlation matrix is the identity (``psych::cortest.bartlett``).

    Notes
    -----
    :math:`\\chi^2 = -(n - 1 - (2p + 5)/6)\\log|R|`, dof :math:`p(p-1)/2`. Same formula as
    ``factor_analyzer.calculate_bartlett_sphericity``, which only accepts raw data.

    References
    ----------
    .. [1] Bartlett, M. S. (1951). The effect of standardization on a chi square approximation in factor
       analysis. Biometrika 38, 337-344. https://doi.org/10.2307/2332580
    """
    corr, n_rows = _corr_input(matrix, is_corr, method, "bartlett_sphericity")
    n = n_rows if n_obs is None else n_obs
    if n is None or not isinstance(n, (int, np.integer)) or n < 2:
        raise ParameterError(f"n_obs must be an integer >= 2 (required with is_corr=True); got {n_obs!r}.")
    p = corr.shape[0]
    stat = -np.linalg.slogdet(corr.to_numpy())[1] * (n - 1 - (2 * p + 5) / 6)
    dof = p * (p - 1) / 2
    return BartlettResult(float(stat), dof, float(stats.chi2.sf(stat, dof)), int(n))


# ----------------------------------------------------------------------------- fit over k
RMSEA_MAX = 0.08  # Browne & Cudeck (1992): <= 0.05 close, <= 0.08 reasonable, > 0.10 poor
TLI_MIN = 0.90  # Tucker & Lewis (1973), Bentler & Bonett (1980): >= 0.90 acceptable (Hu & Bentler 1999: 0.95 good)


@dataclass(frozen=True)
class FactorFitTable:
    """Result of :func:`factor_fit_table`: fit indices of factor models with k = ``k_range``.

    Attributes
    ----------
    table : DataFrame
        One row per k: ``k, chi2, dof, p_value, rmsea, rmsea_low, rmsea_high`` (90% interval),
        ``tli, bic, rmsr, n_heywood, converged, poor_fit`` (RMSEA > ``rmsea_max`` or TLI < ``tli_min``).
    k : int
        The k to fit: ``k_requested`` clipped to ``max_factors`` (and to p - 1).
    k_requested : int
        The k that was asked for (e.g. a dimensionality rule's choice).
    source : str
        Where ``k_requested`` came from (e.g. ``"parallel_fa"``), for the text.
    clipped : bool
        True when ``k < k_requested``; :meth:`note` says so.
    max_factors : int or None
    rmsea_max, tli_min : float
        The poor-fit thresholds used.
    n_obs, method, corr_method : as fitted.
    """

    table: pd.DataFrame
    k: int
    k_requested: int
    source: str
    clipped: bool
    max_factors: int | None
    rmsea_max: float
    tli_min: float
    n_obs: int | None
    method: str
    corr_method: str

    @property
    def poor_fit(self) -> bool:
        """Whether the model with the chosen k fits poorly by the thresholds."""
        return bool(self.table.set_index("k").at[self.k, "poor_fit"])

    @property
    def k_min_bic(self) -> int:
        """k with the smallest BIC in the table."""
        t = self.table.dropna(subset=["bic"])
        return int(t.loc[t["bic"].idxmin(), "k"]) if len(t) else self.k

    def note(self) -> str:
        """One sentence on the choice of k: its source, any clipping and the fit at k."""
        row = self.table.set_index("k").loc[self.k]
        s = f"k = {self.k_requested} from {self.source}"
        if self.clipped:
            s += f", clipped to max_factors = {self.max_factors}: k = {self.k} factors are fitted, fewer than the rule asks"
        if not row.dof > 0 or not np.isfinite(row.rmsea):
            return s + (f". At k = {self.k} the chi-square fit indices are undefined (dof = {row.dof:g} or n unknown); "
                        "only the residuals (RMSR) describe the fit.")
        s += (f". At k = {self.k}: RMSEA {row.rmsea:.3f} [{row.rmsea_low:.3f}, {row.rmsea_high:.3f}], "
              f"TLI {row.tli:.3f}, BIC {row.bic:.1f}")
        if row.poor_fit:
            s += (f" -- poor fit (RMSEA > {self.rmsea_max} or TLI < {self.tli_min}; Browne & Cudeck 1992, "
                  "Hu & Bentler 1999)")
        return s + f". Smallest BIC over k = {self.table['k'].min()}..{self.table['k'].max()}: k = {self.k_min_bic}."

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_markdown(self) -> str:
        from ._formatting import markdown_table

        return markdown_table(self.table)

    def summary(self) -> str:
        return f"Factor fit over k ({self.method}, {self.corr_method}, n = {self.n_obs})\n" + \
            text_table(self.table) + "\n" + self.note()

    def __str__(self) -> str:
        return self.summary()

    def to_dict(self) -> dict:
        from ._formatting import json_number

        rows = [{c: (json_number(v) if isinstance(v, float) else (bool(v) if isinstance(v, (bool, np.bool_))
                                                                 else int(v))) for c, v in r.items()}
                for r in self.table.to_dict(orient="records")]
        return {"k": self.k, "k_requested": self.k_requested, "source": self.source, "clipped": self.clipped,
                "max_factors": self.max_factors, "rmsea_max": self.rmsea_max, "tli_min": self.tli_min,
                "poor_fit": self.poor_fit, "k_min_bic": self.k_min_bic, "n_obs": self.n_obs, "method": self.method,
                "corr_method": self.corr_method, "table": rows, "note": self.note()}


def factor_fit_table(matrix: Any, k: int, *, k_range: Any = None, max_factors: int | None = None,
                     source: str = "the caller", method: str = "minres", corr_method: str = "spearman",
                     is_corr: bool = False, n_obs: int | None = None, rmsea_max: float = RMSEA_MAX,
                     tli_min: float = TLI_MIN, n_jobs: int = 1) -> FactorFitTable:
    """Fit indices (chi-square, dof, RMSEA with its 90% interval, TLI, BIC) of factor models over a range of k.

    Parameters
    ----------
    matrix : DataFrame
        Models x metrics (no NaN), or a correlation matrix with ``is_corr=True`` and ``n_obs``.
    k : int
        The number of factors asked for, e.g. ``dimensionality(...).n_dimensions["parallel_fa"]``.
    k_range : iterable of int, optional
        Default: k - 2 .. k + 2 around both the requested and the clipped k (within 1 .. p - 1
        and dof > 0).
    max_factors : int, optional
        Upper limit on the fitted k. When it clips ``k`` the result says so (``clipped``, ``note()``).
    source : str, default="the caller"
        Where ``k`` came from, for the text (e.g. "parallel_fa").
    method : {"minres", "ml", "principal"}, default="minres"
    corr_method : {"spearman", "pearson", "kendall"}, default="spearman"
    is_corr, n_obs : see :meth:`FactorModel.fit`.
    rmsea_max, tli_min : float, default=0.08, 0.90
        A fit is flagged poor when RMSEA > ``rmsea_max`` or TLI < ``tli_min``.
    n_jobs : int, default=1
        Fit the k in parallel processes (joblib); the same table and warnings for any n_jobs.

    Returns
    -------
    FactorFitTable

    Notes
    -----
    Indices as ``psych::fa`` computes them (see :class:`alignfactors.factors.FitIndices`); they do
    not depend on the rotation. The thresholds are conventions, not tests: RMSEA <= 0.05 close,
    <= 0.08 reasonable, > 0.10 poor fit [1]; TLI >= 0.90 acceptable [2], >= 0.95 good [3].
    Heywood cases and non-converged fits are counted in the table.

    References
    ----------
    .. [1] Browne, M. W. & Cudeck, R. (1992). Alternative ways of assessing model fit. Sociological
       Methods & Research 21, 230-258. https://doi.org/10.1177/0049124192021002005
    .. [2] Tucker, L. R. & Lewis, C. (1973). A reliability coefficient for maximum likelihood factor
       analysis. Psychometrika 38, 1-10. https://doi.org/10.1007/BF02291170
    .. [3] Hu, L. & Bentler, P. M. (1999). Cutoff criteria for fit indexes in covariance structure
       analysis. Structural Equation Modeling 6, 1-55. https://doi.org/10.1080/10705519909540118

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from alignfactors.adequacy import factor_fit_table
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=(300, 2))
    >>> X = pd.DataFrame(f @ rng.uniform(0.5, 0.8, size=(2, 8)) + rng.normal(size=(300, 8)))
    >>> t = factor_fit_table(X, 3, max_factors=2, source="a rule", corr_method="pearson")
    >>> t.k, t.clipped, list(t.table["k"])
    (2, True, [1, 2, 3, 4])
    """
    from .errors import ParameterTypeError
    from .factors import METHODS

    for name, v in (("k", k), ("max_factors", max_factors)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1):
            raise ParameterTypeError(f"{name} must be a positive integer; got {v!r}.")
    if method not in METHODS:
        raise ParameterError(f"method must be one of {METHODS}; got {method!r}.")
    p = matrix.shape[1]

    def identified(j):
        return 1 <= j <= p - 1 and ((p - j) ** 2 - (p + j)) / 2 > 0

    k_fit = min(int(k), max_factors if max_factors is not None else int(k), p - 1)
    if k_range is None:
        k_range = range(max(1, min(k_fit, int(k)) - 2), max(k_fit, int(k)) + 3)
    ks = sorted({int(j) for j in k_range if identified(int(j))} | {k_fit})
    args = (matrix, method, corr_method, is_corr, n_obs, rmsea_max, tli_min)
    if n_jobs == 1 or len(ks) < 2:
        fitted = [_fit_row(j, *args) for j in ks]
    else:  # independent fits of ~0.3 s each (scipy's optimiser holds the GIL): processes
        from joblib import Parallel, delayed

        fitted = Parallel(n_jobs=n_jobs)(delayed(_fit_row)(j, *args) for j in ks)
    rows = []
    for row, n_obs_fit, caught in fitted:
        for w in caught:  # a worker's warnings, re-issued here in the order of k, as one process would
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        rows.append(row)
    return FactorFitTable(pd.DataFrame(rows), k_fit, int(k), source, k_fit < int(k), max_factors, rmsea_max, tli_min,
                          n_obs_fit, method, corr_method)


def _fit_row(j, matrix, method, corr_method, is_corr, n_obs, rmsea_max, tli_min):
    """One row of :func:`factor_fit_table`: the k = j fit's indices, its n_obs and the warnings it raised."""
    from .errors import ConvergenceWarning, SmoothingWarning
    from .factors import FactorModel

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", SmoothingWarning)
        m = FactorModel(j, method=method, corr_method=corr_method).fit(matrix, is_corr=is_corr, n_obs=n_obs)
    f = m.fit_
    poor = bool(f.rmsea > rmsea_max or f.tli < tli_min)
    row = {"k": j, "chi2": f.statistic, "dof": f.dof, "p_value": f.p_value, "rmsea": f.rmsea,
           "rmsea_low": f.rmsea_low, "rmsea_high": f.rmsea_high, "tli": f.tli, "bic": f.bic, "rmsr": f.rms,
           "n_heywood": len(m.heywood_), "converged": bool(m.converged_), "poor_fit": poor}
    return row, m.n_obs_, [_PlainWarning(w.message, w.category, w.filename, w.lineno) for w in caught]


class _PlainWarning(NamedTuple):
    """A caught warning, picklable (a worker sends it back)."""

    message: Warning
    category: type
    filename: str
    lineno: int
