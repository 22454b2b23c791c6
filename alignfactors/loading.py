"""Reading leaderboards: Brain-Score CSV exports and generic wide or long CSV files."""

from __future__ import annotations

import csv
import gzip
import io
import os
import re
import zlib
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DataError, InputFileError, ParameterTypeError
from .table import ScoreTable
from .tree import BenchmarkTree, check_tree, infer_tree

__all__ = ["load_brainscore", "load_table"]

_METADATA_NAMES = {
    "model_name", "model_id", "rank", "layers", "model", "name", "submitter", "user",
    "public", "competition", "domain", "model_type", "build_status", "submission_date",
    "visual_degrees", "reference", "url",
}
_FAILED = {"X", "x"}
_MISSING = {"", "nan", "NaN", "NAN", "NA", "N/A", "n/a", "null", "None"}
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_INF = re.compile(r"^[+-]?(inf|infinity)$", re.I)


def _source_name(src) -> str:
    if isinstance(src, (str, os.PathLike)):
        return Path(src).name
    return str(getattr(src, "name", "buffer"))


def _read_text(src) -> str:
    """Bytes of a path or open file -> text (gunzipped, BOM removed), with clear errors."""
    if isinstance(src, (str, os.PathLike)):
        path = Path(src)
        if not path.exists():
            raise InputFileError(f"file not found: {str(path)!r}")
        if path.is_dir():
            raise InputFileError(f"{str(path)!r} is a directory, not a CSV file")
        data: bytes | str = path.read_bytes()
    elif hasattr(src, "read"):
        data = src.read()
    else:
        raise ParameterTypeError(
            f"expected a path or an open file, got {type(src).__name__}"
        )
    name = _source_name(src)
    if isinstance(data, str):
        text = data.lstrip("\ufeff")
    else:
        if data[:2] == b"\x1f\x8b":
            try:
                data = gzip.decompress(data)
            except (OSError, EOFError, zlib.error) as exc:
                raise InputFileError(f"{name}: looks gzip-compressed but cannot be "
                                     f"decompressed ({exc})") from None
        head = data[:8192]
        if b"\x00" in head or head.startswith(b"\x89PNG") or head.startswith(b"%PDF"):
            raise InputFileError(f"{name}: not a text file (binary content); expected a CSV file")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InputFileError(
                f"{name}: not UTF-8 text (byte {exc.start}); re-save the file as UTF-8 CSV"
            ) from None
    if not text.strip():
        raise InputFileError(f"{name}: the file is empty")
    return text


def _read_strings(src) -> tuple[pd.DataFrame, str]:
    """A CSV as a DataFrame of stripped strings ('' for empty cells), and its name."""
    text = _read_text(src)
    name = _source_name(src)
    header = text.splitlines()[0]
    if "," not in header:
        for sep, label in ((";", "';'"), ("\t", "tab")):
            if sep in header:
                raise InputFileError(
                    f"{name}: looks {label}-separated (header {header[:60]!r}); re-save it "
                    "as comma-separated"
                )
    try:
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False,
                         skipinitialspace=True)
    except (pd.errors.ParserError, csv.Error) as exc:
        raise InputFileError(f"{name}: malformed CSV ({exc})") from None
    except pd.errors.EmptyDataError:
        raise InputFileError(f"{name}: the file is empty") from None
    if len(df) == 0:
        raise InputFileError(f"{name}: header only, no data rows (columns {list(df.columns)[:5]})")
    names = [c.strip() for c in next(csv.reader(io.StringIO(header)))]
    dup = sorted({c for c in names if names.count(c) > 1})
    if dup:
        raise DataError(f"{name}: duplicate columns {dup[:5]}")
    df.columns = [str(c).strip() for c in df.columns]
    df = df.apply(lambda s: s.str.strip())
    return df, name


def _numeric_looking(values: pd.Series) -> bool:
    v = values[~values.isin(_FAILED | _MISSING)]
    return len(v) > 0 and bool(v.str.match(_NUMBER).all())


def _parse_scores(raw: pd.DataFrame, ids: pd.Index, name: str):
    """String benchmark columns -> (float scores, status). Errors name column, model, token."""
    scores, status = {}, {}
    for col in raw.columns:
        s = raw[col]
        failed = s.isin(_FAILED).to_numpy()
        missing = s.isin(_MISSING).to_numpy()
        rest = ~(failed | missing)
        inf = rest & s.str.match(_INF).to_numpy()
        if inf.any():
            r = int(inf.nonzero()[0][0])
            raise DataError(f"{name}: infinite score {s.iloc[r]!r} for model_id {ids[r]!r} in "
                            f"column {col!r}")
        bad = rest & ~s.str.match(_NUMBER).to_numpy()
        if bad.any():
            r = int(bad.nonzero()[0][0])
            raise DataError(f"{name}: column {col!r} has the non-numeric value {s.iloc[r]!r} for "
                            f"model_id {ids[r]!r} (allowed: numbers, 'X' = failed, empty = "
                            "missing)")
        vals = np.full(len(s), np.nan)
        vals[rest] = s[rest].astype(float).to_numpy()
        scores[col] = vals
        status[col] = np.where(failed, "failed", np.where(missing, "missing", "ok"))
    scores = pd.DataFrame(scores, index=ids, columns=raw.columns, dtype=float)
    status = pd.DataFrame(status, index=ids, columns=raw.columns, dtype=object)
    return scores, status


def _split_brainscore(df: pd.DataFrame, name: str):
    if "model_id" not in df.columns:
        raise DataError(f"{name}: no 'model_id' column; found columns {list(df.columns)[:8]}")
    start = None
    for i, col in enumerate(df.columns):
        if col.lower() in _METADATA_NAMES:
            continue
        if _numeric_looking(df[col]):
            start = i
            break
    if start is None:
        raise DataError(f"{name}: no benchmark columns (no numeric column after the metadata); "
                        f"found columns {list(df.columns)[:8]}")
    meta = df.iloc[:, :start].copy()
    bench = df.iloc[:, start:]
    misplaced = [c for c in bench.columns if c in ("model_id", "model_name")]
    if misplaced:
        raise DataError(f"{name}: metadata column(s) {misplaced} come after the first benchmark "
                        f"column {bench.columns[0]!r}")
    ids = meta["model_id"]
    if (ids == "").any():
        r = int((ids == "").to_numpy().nonzero()[0][0])
        raise DataError(f"{name}: empty model_id in data row {r + 1}")
    dup = list(ids[ids.duplicated()].unique())
    if dup:
        raise DataError(f"{name}: duplicate model ids {dup[:5]} (each model_id must be unique)")
    ids = pd.Index(ids.to_list(), name="model_id")
    meta.index = ids
    meta = meta.drop(columns="model_id")
    if "model_name" not in meta.columns:
        meta.insert(0, "model_name", list(ids))
    if "rank" in meta.columns and _numeric_looking(meta["rank"]):
        meta["rank"] = pd.to_numeric(meta["rank"].replace("", np.nan), errors="coerce")
    return meta, bench, ids


def load_brainscore(path_or_buffer, *, tree=None) -> ScoreTable:
    """Read a Brain-Score leaderboard CSV export.

    Parameters
    ----------
    path_or_buffer : str, Path or file object
        The CSV (text or binary file; gzip detected by its magic bytes; UTF-8 with or without
        BOM; LF or CRLF line ends).
    tree : None, False or mapping, default None
        ``None`` infers the tree from the scores (:func:`~alignfactors.tree.infer_tree`);
        ``False`` makes every benchmark column a leaf; a mapping ``parent -> children`` gives
        the tree (names must be columns).

    Returns
    -------
    ScoreTable
        ``X`` cells have status ``"failed"``, empty (or ``nan``/``NA``) cells ``"missing"``;
        both are NaN in ``scores``. Leading non-benchmark columns (``model_name``, ``rank``,
        ``layers``, ...) go to ``models``.

    Raises
    ------
    InputFileError
        Missing, empty, header-only, binary or non-comma-separated file.
    DataError
        No ``model_id`` column, duplicate model ids, a non-numeric or infinite score
        (column, model_id and value named).
    TreeError
        ``tree=None`` and no consistent tree exists.

    Examples
    --------
    >>> import io
    >>> csv_text = "model_name,model_id,rank,average_vision,a,b\\nm,1,1,.5,.4,.6\\nm,2,2,.2,.4,X\\n"
    >>> t = load_brainscore(io.StringIO(csv_text))
    >>> t.tree.children("average_vision"), t.status.loc["2", "b"]
    (['a', 'b'], 'failed')
    """
    df, name = _read_strings(path_or_buffer)
    return _brainscore_from_strings(df, name, tree)


def _brainscore_from_strings(df, name, tree, domains=None) -> ScoreTable:
    meta, bench, ids = _split_brainscore(df, name)
    scores, status = _parse_scores(bench, ids, name)
    check = None
    if tree is None:
        btree, check = infer_tree(scores)
    elif tree is False:
        btree = BenchmarkTree.flat(scores.columns)
    elif isinstance(tree, Mapping):
        btree = BenchmarkTree.from_mapping(tree, order=list(scores.columns))
        check = check_tree(scores, btree)
    elif isinstance(tree, BenchmarkTree):
        btree = BenchmarkTree.from_mapping(tree.to_dict(), order=list(scores.columns))
        check = check_tree(scores, btree)
    else:
        raise ParameterTypeError(
            f"tree must be None (infer), False (flat) or a mapping parent -> children, got "
            f"{type(tree).__name__}"
        )
    if domains:
        btree = btree.with_domains(domains)
    return ScoreTable(scores, status, meta, btree, name, check)


def _read_domains(domains) -> dict[str, str] | None:
    if domains is None or isinstance(domains, Mapping):
        return None if domains is None else {str(k): v for k, v in domains.items()}
    if isinstance(domains, (str, os.PathLike)):
        d, name = _read_strings(domains)
        rows = [list(d.columns)] + d.values.tolist()
        if [c.lower() for c in rows[0][:2]] == ["metric", "domain"]:
            rows = rows[1:]
        if any(len(r) != 2 for r in rows):
            raise InputFileError(f"{name}: expected 2 columns metric,domain; got {len(rows[0])}")
        return {r[0]: r[1] for r in rows}
    raise ParameterTypeError(
        f"domains must be a mapping metric -> domain or a path to a metric,domain CSV, got "
        f"{type(domains).__name__}"
    )


def load_table(path, *, domains=None, model: str | None = None) -> ScoreTable:
    """Read any leaderboard CSV: a Brain-Score export, a wide or a long table.

    A file with a ``model_id`` column and columns named like ``average_*``/``neural_*``/
    ``behavior_*``/``engineering_*`` is read by :func:`load_brainscore`. A file with columns
    ``model`` (or ``model=``), ``metric`` and ``score`` (and optionally ``domain``) is long.
    Otherwise it is wide: the first column (or ``model=``) holds the model ids.

    Parameters
    ----------
    path : str, Path or file object
    domains : mapping or str or Path, optional
        Metric -> domain, or a path to a 2-column CSV ``metric,domain``.
    model : str, optional
        Name of the model id column.

    Returns
    -------
    ScoreTable

    Examples
    --------
    >>> import io
    >>> t = load_table(io.StringIO("model,metric,score\\na,V1,.2\\nb,V1,.3\\n"))
    >>> t.scores["V1"].tolist()
    [0.2, 0.3]
    """
    df, name = _read_strings(path)
    doms = _read_domains(domains)
    cols = list(df.columns)
    if "model_id" in cols and model in (None, "model_id") and any(
        re.match(r"^(average|neural|behaviou?r|engineering)_", c) for c in cols
    ):
        return _brainscore_from_strings(df, name, None, doms)
    model_col = model or ("model" if "model" in cols else cols[0])
    if model_col not in cols:
        raise DataError(f"{name}: model={model!r} is not a column; found columns {cols[:8]}")
    if {"metric", "score"} <= set(cols) and model_col in cols:
        long = df.copy()
        long["score"] = _parse_scores(long[["score"]], pd.Index(long[model_col]), name)[0][
            "score"].to_numpy()
        dom_col = "domain" if "domain" in cols else None
        table = ScoreTable.from_long(long, model=model_col, metric="metric", score="score",
                                     domain=dom_col)
        if doms:
            table = _with(table, table.tree.with_domains(doms))
    else:
        ids = df[model_col]
        dup = list(ids[ids.duplicated()].unique())
        if dup:
            raise DataError(f"{name}: duplicate model ids {dup[:5]}")
        meta_cols = [c for c in cols if c == "model_name"]
        bench = df.drop(columns=[model_col, *meta_cols])
        scores, status = _parse_scores(bench, pd.Index(ids.to_list(), name="model_id"), name)
        wide = ScoreTable.from_wide(scores, domains=doms)
        table = _with(wide, wide.tree, status=status)
        if meta_cols:
            models = pd.DataFrame({"model_name": df["model_name"].to_list()}, index=scores.index)
            table = _with(table, table.tree, models=models)
    return _with(table, table.tree, source=name)


def _with(table: ScoreTable, tree, **changes) -> ScoreTable:
    import dataclasses

    return dataclasses.replace(table, tree=tree, **changes)
