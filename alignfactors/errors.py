"""Exceptions and warnings raised by alignfactors.

Every error a user can trigger derives from :class:`AlignFactorsError`; each concrete
class also derives from the matching builtin (``ValueError``, ``TypeError``,
``FileNotFoundError``) so ordinary ``except ValueError`` code keeps working.
Messages name the parameter, file, row or column, show what was received and say
what is allowed or what to do.
"""

from __future__ import annotations

__all__ = [
    "AlignFactorsError",
    "InputFileError",
    "DataError",
    "TreeError",
    "ParameterError",
    "ParameterTypeError",
    "NotFittedError",
    "AlignFactorsWarning",
    "DegenerateDataWarning",
    "ConvergenceWarning",
    "SmoothingWarning",
]


class AlignFactorsError(Exception):
    """Base class of every error alignfactors raises on purpose."""


class InputFileError(AlignFactorsError, ValueError):
    """A file cannot be read as a leaderboard (missing, not text, empty, malformed)."""


class DataError(AlignFactorsError, ValueError):
    """The data are readable but unusable for the requested analysis."""


class TreeError(DataError):
    """No benchmark tree is consistent with the scores (a parent is not the mean of its children)."""


class ParameterError(AlignFactorsError, ValueError):
    """A parameter has a value outside what is allowed."""


class ParameterTypeError(AlignFactorsError, TypeError):
    """A parameter has the wrong type."""


class NotFittedError(AlignFactorsError, AttributeError):
    """An estimator was used before ``fit``."""


class AlignFactorsWarning(UserWarning):
    """Base class of alignfactors warnings."""


class DegenerateDataWarning(AlignFactorsWarning):
    """A statistic is undefined on (part of) the data, e.g. a constant column or a resample of ties."""


class ConvergenceWarning(AlignFactorsWarning):
    """An iterative fit did not converge, or converged to an improper (Heywood) solution."""


class SmoothingWarning(AlignFactorsWarning):
    """A correlation matrix was not positive definite and was smoothed (psych::cor.smooth)."""
