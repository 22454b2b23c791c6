"""Private helpers shared by result objects: tidy frames and plain markdown tables."""

from __future__ import annotations

import math
from typing import Mapping

import numpy as np
import pandas as pd

from .estimate import Estimate

ESTIMATE_COLUMNS = ["value", "ci_low", "ci_high", "se", "level", "method", "n_boot", "n_undefined", "unit", "n_units"]


def estimates_frame(estimates: Mapping[str, Estimate], name: str = "quantity") -> pd.DataFrame:
    """Tidy frame, one row per estimate, fixed column order."""
    rows = [{name: k, **{c: getattr(e, c) if c not in ("ci_low", "ci_high") else e.ci[c == "ci_high"]
                         for c in ESTIMATE_COLUMNS}} for k, e in estimates.items()]
    return pd.DataFrame(rows, columns=[name] + ESTIMATE_COLUMNS)


def json_number(v):
    """A scalar as plain JSON: numpy numbers to Python, NaN/inf to None; other values unchanged."""
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return f if math.isfinite(f) else None
    return v


def fmt(x, digits: int = 3) -> str:
    if isinstance(x, Estimate):
        return x.format(digits)
    if isinstance(x, float):
        if math.isnan(x):
            return "–"
        return f"{x:.{digits}f}"
    return str(x)


def markdown_table(df: pd.DataFrame, digits: int = 3, index: bool = False) -> str:
    """A GitHub markdown table; floats rounded to ``digits`` only here, at rendering."""
    if index:
        df = df.reset_index()
    header = "| " + " | ".join(str(c) for c in df.columns) + " |"
    sep = "|" + "|".join("---" for _ in df.columns) + "|"
    body = ["| " + " | ".join(fmt(v, digits).replace("|", "\\|") for v in row) + " |"
            for row in df.itertuples(index=False)]
    return "\n".join([header, sep, *body])


def _integral(col: pd.Series) -> bool:
    """Every present value is a whole number (a count, a rank, a k): print it without decimals."""
    vals = [v for v in col if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))
            and not (isinstance(v, (float, np.floating)) and math.isnan(v))]
    return bool(vals) and len(vals) == col.notna().sum() and all(float(v).is_integer() for v in vals)


def text_table(df: pd.DataFrame, digits: int = 3) -> str:
    """Fixed-width text table for summaries and the terminal.

    Floats are rounded to ``digits``; a column whose present values are all whole numbers (k,
    ranks, counts) prints them as integers.

    Examples
    --------
    >>> print(text_table(pd.DataFrame({"rule": ["a", "b"], "k": [9.0, float("nan")], "r": [0.5, 1.0]})))
    rule  k  r    
    ----  -  -----
    a     9  0.500
    b     –  1.000
    """
    whole = [_integral(df[c]) for c in df.columns]
    cells = [[str(c) for c in df.columns]] + [
        [str(int(v)) if w and isinstance(v, (float, np.floating)) and not math.isnan(v) else fmt(v, digits)
         for v, w in zip(row, whole)] for row in df.itertuples(index=False)]
    widths = [max(len(r[i]) for r in cells) for i in range(len(cells[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
