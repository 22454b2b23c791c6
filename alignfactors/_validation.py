"""Private validators shared by the public functions' own validators."""

from __future__ import annotations

import difflib
from typing import Any, Iterable

from .errors import ParameterError, ParameterTypeError


def check_labels(values: Any, known: Iterable, *, name: str, kind: str, where: str, hint: str = "") -> list[str]:
    """``values`` as a list of str labels, each in ``known``; a string or an unknown label is an error.

    The message names the parameter, the first unknown labels and how many there are.
    """
    if isinstance(values, str):
        raise ParameterTypeError(f"{name} must be a list of {kind}, not a string; got {values!r}.")
    labels = [str(v) for v in values]
    known = set(known)
    unknown = [v for v in labels if v not in known]
    if unknown:
        raise ParameterError(f"{name} {unknown[:5]} are not {where} ({len(unknown)} unknown)"
                             + (f"; {hint}" if hint else "") + ".")
    return labels


def did_you_mean(name: str, choices) -> str:
    """``" (did you mean 'x'?)"`` for the nearest of ``choices`` (difflib), else ``""``.

    Examples
    --------
    >>> did_you_mean("--metod", ["--method", "--top"])
    " (did you mean '--method'?)"
    >>> did_you_mean("--zzz", ["--method"])
    ''
    """
    close = difflib.get_close_matches(str(name), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
