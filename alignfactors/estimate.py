"""The :class:`Estimate`: one number with its bootstrap interval and provenance."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Estimate"]


@dataclass(frozen=True)
class Estimate:
    """A point estimate with a confidence interval.

    Attributes
    ----------
    value : float
        The statistic on the full data.
    ci : tuple of float
        ``(low, high)`` confidence interval; ``(nan, nan)`` when no interval was computed.
    se : float
        Bootstrap standard error (standard deviation of the defined replicates).
    level : float
        Confidence level of ``ci``, e.g. 0.95.
    method : str
        How the interval was made: ``"bca"``, ``"percentile"``, ``"analytic"`` or ``"none"``.
    n_boot : int
        Number of resamples drawn (0 when no bootstrap was run).
    n_undefined : int
        Resamples on which the statistic was undefined (NaN); they are excluded from the
        interval and counted here, never hidden.
    distribution : numpy.ndarray or None
        The bootstrap replicates (length ``n_boot``, NaN where undefined). Not compared,
        not serialised.
    unit : str
        The resampling unit: ``"model"`` (models drawn with replacement) or the cluster kind
        (``"cluster"``, ``"family"``, ``"architecture"``: whole clusters drawn with replacement).
    n_units : int or None
        Number of resampling units (models or clusters) the interval rests on; None when unknown.

    Examples
    --------
    >>> from alignfactors import Estimate
    >>> e = Estimate(0.2, (0.15, 0.25), se=0.025, level=0.95, method="bca", n_boot=2000)
    >>> e.ci
    (0.15, 0.25)
    >>> print(e)
    0.200 [0.150, 0.250]
    """

    value: float
    ci: tuple[float, float] = (math.nan, math.nan)
    se: float = math.nan
    level: float = 0.95
    method: str = "none"
    n_boot: int = 0
    n_undefined: int = 0
    distribution: np.ndarray | None = field(default=None, repr=False, compare=False)
    unit: str = "model"
    n_units: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", float(self.value))
        low, high = self.ci
        object.__setattr__(self, "ci", (float(low), float(high)))
        object.__setattr__(self, "se", float(self.se))
        object.__setattr__(self, "level", float(self.level))
        object.__setattr__(self, "n_boot", int(self.n_boot))
        object.__setattr__(self, "n_undefined", int(self.n_undefined))
        object.__setattr__(self, "unit", str(self.unit))
        if self.n_units is not None:
            object.__setattr__(self, "n_units", int(self.n_units))

    @property
    def ci_low(self) -> float:
        return self.ci[0]

    @property
    def ci_high(self) -> float:
        return self.ci[1]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with the keys of DESIGN.md (NaN written as None)."""

        def clean(x: float) -> float | None:
            return None if not math.isfinite(x) else x

        return {
            "value": clean(self.value),
            "ci_low": clean(self.ci[0]),
            "ci_high": clean(self.ci[1]),
            "se": clean(self.se),
            "level": self.level,
            "method": self.method,
            "n_boot": self.n_boot,
            "n_undefined": self.n_undefined,
            "unit": self.unit,
            "n_units": self.n_units,
        }

    def to_frame(self, name: str | None = None) -> "pd.DataFrame":
        """One-row tidy frame with the columns of :meth:`to_dict` (NaN kept as NaN)."""
        import pandas as pd

        row = {"value": self.value, "ci_low": self.ci[0], "ci_high": self.ci[1], "se": self.se,
               "level": self.level, "method": self.method, "n_boot": self.n_boot,
               "n_undefined": self.n_undefined, "unit": self.unit, "n_units": self.n_units}
        return pd.DataFrame([row], index=None if name is None else [name])

    @property
    def outside(self) -> bool:
        """True when the value lies outside its own interval.

        This happens when the bootstrap distribution sits mostly on one side of the
        estimate (strong resampling bias, e.g. the smaller eigenvalues of a correlation
        matrix); the interval is then a poor measure of uncertainty and is flagged with
        a dagger when rendered.
        """
        low, high = self.ci
        if math.isnan(low) or math.isnan(high) or math.isnan(self.value):
            return False
        return not (low <= self.value <= high)

    def format(self, digits: int = 3) -> str:
        """``value [low, high]`` rounded to ``digits`` (rendering only); ``†`` marks :attr:`outside`."""
        v = f"{self.value:.{digits}f}"
        if math.isnan(self.ci[0]) and math.isnan(self.ci[1]):
            return v
        mark = "†" if self.outside else ""
        return f"{v} [{self.ci[0]:.{digits}f}, {self.ci[1]:.{digits}f}]{mark}"

    def __str__(self) -> str:
        return self.format()
