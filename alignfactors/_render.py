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


def text_table(df: pd.DataFrame, digits: int = 3) -> str:
    """Fixed-width text table for summaries and the terminal."""
    cells = [[str(c) for c in df.columns]] + [[fmt(v, digits) for v in row] for row in df.itertuples(index=False)]
    widths = [max(len(r[i]) for r in cells) for i in range(len(cells[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
