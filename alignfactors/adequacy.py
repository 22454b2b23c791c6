"""Is a correlation matrix suited to factor analysis? Kaiser-Meyer-Olkin and Bartlett's sphericity test."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ._render import text_table
from .correlation import cor_smooth
from .errors import DataError, ParameterError
from .factors import CORR_METHODS, _as_frame

__all__ = ["kmo", "bartlett_sphericity", "KMOResult", "BartlettResult"]


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
