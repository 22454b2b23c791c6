"""Bootstrap intervals of factor loadings: refit on resamples of models, align, summarise."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import linalg, optimize
from sklearn.base import clone

from ._render import estimates_frame, markdown_table, text_table
from .errors import ParameterError, ParameterTypeError
from .estimate import Estimate
from .factors import FactorModel, _as_frame, tucker_congruence

__all__ = ["bootstrap_loadings", "LoadingsBootstrap"]


def _align(load: np.ndarray, target: np.ndarray, align: str) -> np.ndarray:
    """Replicate loadings matched to the target's factor order and signs (tucker) or rotated onto it."""
    if align == "procrustes":
        return load @ linalg.orthogonal_procrustes(load, target)[0]
    c = tucker_congruence(load, target)
    rows, cols = optimize.linear_sum_assignment(-np.abs(c))
    out = np.empty_like(load)
    out[:, cols] = load[:, rows] * np.sign(c[rows, cols])
    return out


@dataclass(frozen=True)
class LoadingsBootstrap:
    """Result of :func:`bootstrap_loadings`.

    Attributes
    ----------
    loadings : DataFrame
        Tidy: metric, factor, loading, ci_low, ci_high, se, n_undefined.
    congruence : dict of str -> Estimate
        Tucker congruence of each aligned replicate factor with the full-data factor (value = mean
        over replicates; interval = percentile interval of the replicates).
    n_nonconverged, n_heywood, n_undefined : int
        Replicates whose fit did not converge, that had a Heywood case (both kept in the intervals),
        or that could not be fitted at all (e.g. a constant metric in the resample; excluded).
    """

    model: FactorModel
    loadings: pd.DataFrame
    congruence: dict
    n_boot: int
    n_nonconverged: int
    n_heywood: int
    n_undefined: int
    level: float
    align: str
    method: str
    seed: Any = None

    def to_frame(self) -> pd.DataFrame:
        return self.loadings.copy()

    def summary(self) -> str:
        head = (f"Bootstrap of {self.model.method} loadings (rotation={self.model.rotation or 'none'}, "
                f"{self.model.n_factors} factors, n_models={self.model.n_obs_}, {self.n_boot} resamples, "
                f"{self.level:.0%} {self.method} intervals, aligned by {self.align}); non-converged: "
                f"{self.n_nonconverged}, Heywood: {self.n_heywood}, failed: {self.n_undefined}")
        return "\n".join([head, text_table(self.loadings), "Congruence with the full-data factors:",
                          text_table(estimates_frame(self.congruence, "factor"))])

    def to_markdown(self) -> str:
        return markdown_table(self.loadings)

    def __str__(self) -> str:
        return self.summary()

    def to_dict(self) -> dict:
        nn = lambda x: None if not math.isfinite(x) else float(x)  # noqa: E731
        rows = [{"metric": r.metric, "factor": r.factor, "loading": nn(r.loading), "ci_low": nn(r.ci_low),
                 "ci_high": nn(r.ci_high), "se": nn(r.se), "n_undefined": int(r.n_undefined)}
                for r in self.loadings.itertuples()]
        return {"params": self.model.get_params(), "n_models": self.model.n_obs_, "n_boot": self.n_boot,
                "level": self.level, "method": self.method, "align": self.align, "seed": self.seed
                if isinstance(self.seed, (int, type(None))) else repr(self.seed),
                "n_nonconverged": self.n_nonconverged, "n_heywood": self.n_heywood, "n_undefined": self.n_undefined,
                "loadings": rows, "congruence": {k: e.to_dict() for k, e in self.congruence.items()}}


def bootstrap_loadings(model: FactorModel | dict, X: Any, *, n_boot: int = 2000, ci: float = 0.95,
                       align: str = "tucker", method: str = "bca", seed: Any = None, n_jobs: int = 1,
                       progress: bool | None = None) -> LoadingsBootstrap:
    """Bootstrap intervals of factor loadings, resampling models (rows) and refitting each resample.

    Parameters
    ----------
    model : FactorModel or dict
        A (fitted or unfitted) FactorModel, or its parameters; it is refitted on ``X``.
    X : DataFrame
        Models x metrics, no NaN.
    n_boot : int, default=2000
    ci : float, default=0.95
    align : {"tucker", "procrustes"}, default="tucker"
        How each replicate is matched to the full-data solution: factor permutation and signs by
        Hungarian assignment on |Tucker congruence|, or an orthogonal Procrustes rotation onto it.
    method : {"bca", "percentile"}, default="bca"
        Interval method for the loadings (see :func:`alignfactors.resampling.bootstrap`).
    seed : None, int or Generator
    n_jobs : int, default=1
    progress : bool, optional

    Returns
    -------
    LoadingsBootstrap

    Notes
    -----
    Non-converged and Heywood replicates stay in the intervals and are counted; replicates that
    cannot be fitted are NaN, excluded and counted. Runs through the project's bootstrap engine
    (:func:`alignfactors.resampling.bootstrap` with ``rowwise_statistic``), so results are identical
    for any ``n_jobs``.
    """
    from .resampling import bootstrap, rowwise_statistic

    if isinstance(model, dict):
        model = FactorModel(**model)
    if not isinstance(model, FactorModel):
        raise ParameterTypeError(f"model must be a FactorModel or a dict of its parameters; got {type(model).__name__}.")
    if align not in ("tucker", "procrustes"):
        raise ParameterError(f"align must be 'tucker' or 'procrustes'; got {align!r}.")
    X = _as_frame(X)
    full = clone(model).fit(X)
    target = full.loadings_.to_numpy()
    p, k = target.shape

    def refit(xb: pd.DataFrame) -> np.ndarray:
        m = clone(model).fit(xb)
        a = _align(m.loadings_.to_numpy(), target, align)
        cong = np.diag(tucker_congruence(a, target))
        return np.concatenate([a.ravel(), cong, [float(not m.converged_), float(bool(m.heywood_))]])

    res = bootstrap(rowwise_statistic(refit, X), X.shape[0], n_boot=n_boot, ci=ci, method=method, seed=seed,
                    n_jobs=n_jobs, progress=progress)
    dist = res.distribution
    est = res.estimates
    names, facs = list(full.loadings_.index), list(full.loadings_.columns)
    rows = [{"metric": names[i], "factor": facs[j], "loading": est[i * k + j].value, "ci_low": est[i * k + j].ci[0],
             "ci_high": est[i * k + j].ci[1], "se": est[i * k + j].se, "n_undefined": est[i * k + j].n_undefined}
            for i in range(p) for j in range(k)]
    alpha = (1 - ci) / 2
    cong = {}
    for j, f in enumerate(facs):
        d = dist[:, p * k + j]
        ok = d[np.isfinite(d)]
        lo, hi = np.quantile(ok, [alpha, 1 - alpha]) if ok.size else (math.nan, math.nan)
        cong[f] = Estimate(ok.mean() if ok.size else math.nan, (lo, hi), se=ok.std(ddof=1) if ok.size > 1 else math.nan,
                           level=ci, method="percentile", n_boot=n_boot, n_undefined=d.size - ok.size, distribution=d)
    flags = dist[:, -2:]
    defined = np.isfinite(flags).all(axis=1)
    return LoadingsBootstrap(full, pd.DataFrame(rows), cong, n_boot, int(flags[defined, 0].sum()),
                             int(flags[defined, 1].sum()), int((~defined).sum()), ci, align, method, seed)
