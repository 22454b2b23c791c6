"""Reading leaderboards: Brain-Score CSV exports and generic wide or long CSV files."""

from __future__ import annotations

import csv
import dataclasses
import gzip
import io
import os
import re
import zlib
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ..io import _formats
from ..errors import DataError, InputFileError, ParameterError, ParameterTypeError, TreeError
from .aggregates import apply_aggregates
from .table import ScoreTable
from .tree import BenchmarkTree
from .tree_inference import check_tree, infer_tree

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
_DECIMAL_COMMA = re.compile(r"^[+-]?\d*,\d+$")
_AGGREGATE = re.compile(r"^(average|neural|behaviou?r(al)?|engineering)[_\-]", re.I)


def _source_name(src) -> str:
    if isinstance(src, (str, os.PathLike)):
        return Path(src).name
    return str(getattr(src, "name", "buffer"))


def _short(name: object, width: int = 60) -> str:
    """``repr`` of a name for messages, cut to ``width`` characters (names can be very long)."""
    text = repr(str(name))
    return text if len(text) <= width else text[: width - 5] + "...'"


def _looks_utf16(head: bytes) -> bool:
    """UTF-16 without a byte-order mark: ASCII text with a NUL in every other byte."""
    if len(head) < 4:
        return False
    even, odd = head[0::2], head[1::2]
    return even.count(0) > 0.4 * len(even) or odd.count(0) > 0.4 * len(odd)


def _read_data(src) -> tuple[bytes | str, str]:
    """The content of a path or open file, and its name for messages."""
    if isinstance(src, (str, os.PathLike)):
        path = Path(src)
        if not path.exists():
            raise InputFileError(f"file not found: {str(path)!r}; check the path (relative paths "
                                 f"start at {os.getcwd()!r})")
        if path.is_dir():
            raise InputFileError(f"{str(path)!r} is a directory, not a CSV file; pass the path "
                                 "of the leaderboard CSV inside it")
        try:
            data: bytes | str = path.read_bytes()
        except OSError as exc:
            raise InputFileError(f"{str(path)!r} cannot be read ({exc.strerror})") from None
    elif hasattr(src, "read"):
        data = src.read()
    else:
        raise ParameterTypeError(
            f"expected a path or an open file, got {type(src).__name__}"
        )
    return data, _source_name(src)


def _read_text(src) -> str:
    """Bytes of a path or open file -> text (gunzipped, BOM removed), with clear errors."""
    return _decode(*_read_data(src))


def _gunzip(data: bytes, name: str) -> bytes:
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise InputFileError(f"{name}: looks gzip-compressed but cannot be "
                             f"decompressed ({exc})") from None


def _decode(data: bytes | str, name: str) -> str:
    """File content -> text (gunzipped, BOM removed), with clear errors."""
    if isinstance(data, str):
        text = data.lstrip("\ufeff")
    else:
        if data[:2] == b"\x1f\x8b":
            data = _gunzip(data, name)
        head = data[:8192]
        if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
            # Excel's "Unicode text" and PowerShell write UTF-16 with a BOM: it is text, read it.
            try:
                text = data.decode("utf-16")
            except UnicodeDecodeError as exc:
                raise InputFileError(f"{name}: starts with a UTF-16 byte-order mark but is not "
                                     f"valid UTF-16 (byte {exc.start}); re-save it as UTF-8 "
                                     "CSV") from None
            text = text.lstrip("\ufeff")
        elif head.startswith(b"\x89PNG") or head.startswith(b"%PDF") or head[:4] == b"PK\x03\x04":
            kind = {b"\x89P": "a PNG image", b"%P": "a PDF", b"PK": "a zip/xlsx archive"}[head[:2]]
            raise InputFileError(f"{name}: not a text file ({kind}); expected a CSV file (from "
                                 "Excel, use File > Save As > CSV UTF-8)")
        elif _looks_utf16(head):
            raise InputFileError(f"{name}: looks like UTF-16 text without a byte-order mark; "
                                 "re-save it as UTF-8 CSV")
        elif b"\x00" in head:
            raise InputFileError(f"{name}: not a text file (binary content); expected a CSV file")
        else:
            try:
                text = data.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise InputFileError(
                    f"{name}: not UTF-8 text (byte {exc.start}); re-save the file as UTF-8 CSV"
                ) from None
    if not text.strip():
        raise InputFileError(f"{name}: the file is empty; expected a header row and one row "
                             "per model")
    return text


def _csv_rows(text: str, name: str) -> list[tuple[int, list[str]]]:
    """(line number, stripped cells) of every row that has a non-empty cell."""
    reader = csv.reader(io.StringIO(text, newline=""))
    rows = []
    try:
        for row in reader:
            cells = [c.strip() for c in row]
            if any(cells):  # blank lines and Excel's ",,,," rows carry nothing
                rows.append((reader.line_num, cells))
    except csv.Error as exc:
        raise InputFileError(f"{name}: malformed CSV at line {reader.line_num} ({exc}); check "
                             "its quotes") from None
    return rows


def _read_strings(src) -> tuple[pd.DataFrame, str]:
    """A CSV as a DataFrame of stripped strings ('' for empty cells), and its name.

    Rows whose cells are all empty are skipped; trailing header cells that are empty with
    only empty values below (Excel pads rows so) are dropped. Any other row whose length
    differs from the header's is an error naming the line.
    """
    text = _read_text(src)
    return _strings_from_text(text, _source_name(src))


def _comment_lines(text: str) -> tuple[list[str], str]:
    """Leading ``#`` lines (without the ``#``) and the text with them blanked (line numbers kept)."""
    lines = text.split("\n")
    comments = []
    for i, line in enumerate(lines):
        if not line.lstrip().startswith("#"):
            break
        comments.append(line.lstrip()[1:].strip())
        lines[i] = ""
    return comments, "\n".join(lines)


def _strings_from_text(text: str, name: str) -> tuple[pd.DataFrame, str]:
    """:func:`_read_strings` on text already read (leading ``#`` comment lines skipped)."""
    text = _comment_lines(text)[1]
    rows = _csv_rows(text, name)
    if not rows:
        raise InputFileError(f"{name}: the file is empty; expected a header row and one row "
                             "per model")
    _, header = rows[0]
    if len(header) == 1:
        for sep, label in ((";", "';'"), ("\t", "tab")):
            if sep in header[0]:
                raise InputFileError(
                    f"{name}: looks {label}-separated (header {header[0][:60]!r}); re-save it "
                    "as comma-separated"
                )
    n = len(header)
    while n > 0 and header[n - 1] == "":
        n -= 1
    body = []
    for line, cells in rows[1:]:
        if len(cells) > n and any(cells[n:]):
            raise InputFileError(
                f"{name}: line {line} has {len(cells)} fields but the header names {n} "
                "columns; a value has no column (an unquoted comma inside a value? quote it)"
            )
        if len(cells) < n:
            raise InputFileError(
                f"{name}: line {line} has {len(cells)} fields but the header names {n} columns; "
                "write every cell, empty ones as nothing between two commas"
            )
        body.append(cells[:n])
    header = header[:n]
    unnamed = [i + 1 for i, c in enumerate(header) if c == ""]
    if unnamed:
        raise DataError(f"{name}: column {unnamed[0]} of the header has no name; name it or "
                        "delete the column")
    positions: dict[str, list[int]] = {}
    for i, c in enumerate(header):
        positions.setdefault(c, []).append(i + 1)
    dup = [(c, p) for c, p in positions.items() if len(p) > 1]
    if dup:
        shown = "; ".join(f"{_short(c)} at columns {p}" for c, p in dup[:5])
        raise DataError(f"{name}: duplicate columns: {shown}; rename or delete the repeats")
    if not body:
        raise InputFileError(f"{name}: header only, no data rows (columns {header[:5]})")
    df = pd.DataFrame(body, columns=header, dtype=object)
    return df.astype(str), name


def _numeric_looking(values: pd.Series) -> bool:
    """Numbers, X and empty cells only (a column of only X/empty is a benchmark no model has)."""
    v = values[~values.isin(_FAILED | _MISSING)]
    return bool(v.str.match(_NUMBER).all())


def _token_hint(token: str) -> str:
    if _DECIMAL_COMMA.match(token):
        return f"; a decimal comma? write {token.replace(',', '.')!r}"
    if token.endswith("%"):
        return "; a percentage? write the number without '%' (as a fraction if the scores are)"
    if token in {"-", "\u2013", "\u2014", "?", "--"}:
        return "; leave the cell empty if the model was not evaluated, or write X if it failed"
    return ""


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
            raise DataError(f"{name}: infinite score {s.iloc[r]!r} for model_id "
                            f"{_short(ids[r])} in column {_short(col)}; write a finite number, "
                            "or leave the cell empty if there is no score")
        bad = rest & ~s.str.match(_NUMBER).to_numpy()
        if bad.any():
            r = int(bad.nonzero()[0][0])
            tok = s.iloc[r]
            raise DataError(f"{name}: column {_short(col)} has the non-numeric value "
                            f"{_short(tok, 40)} for model_id {_short(ids[r])} (allowed: numbers "
                            f"with '.' as decimal point, 'X' = failed, empty = missing)"
                            f"{_token_hint(tok)}")
        vals = np.full(len(s), np.nan)
        vals[rest] = s[rest].astype(float).to_numpy()
        scores[col] = vals
        status[col] = np.where(failed, "failed", np.where(missing, "missing", "ok"))
    scores = pd.DataFrame(scores, index=ids, columns=raw.columns, dtype=float)
    status = pd.DataFrame(status, index=ids, columns=raw.columns, dtype=object)
    return scores, status


def _split_brainscore(df: pd.DataFrame, name: str, metadata=()):
    if "model_id" not in df.columns:
        raise DataError(f"{name}: no 'model_id' column; found columns {list(df.columns)[:8]}")
    cols = list(df.columns)
    extra = {c.lower() for c in metadata}
    start = None
    for i, col in enumerate(cols):
        if col.lower() in _METADATA_NAMES or col.lower() in extra:
            continue
        if _AGGREGATE.match(col) or _numeric_looking(df[col]):
            start = i
            break
    if start is None:
        raise DataError(f"{name}: no benchmark columns (no numeric column after the metadata); "
                        f"found columns {cols[:8]}")
    meta = df.iloc[:, :start].copy()
    bench = df.iloc[:, start:]
    misplaced = [c for c in bench.columns if c in ("model_id", "model_name")]
    if misplaced:
        raise DataError(f"{name}: metadata column(s) {misplaced} come after the first benchmark "
                        f"column {bench.columns[0]!r}")
    ids = meta["model_id"]
    if (ids == "").any():
        r = int((ids == "").to_numpy().nonzero()[0][0])
        raise DataError(f"{name}: empty model_id in data row {r + 1} (model_name "
                        f"{_short(meta['model_name'].iloc[r]) if 'model_name' in meta else '?'})"
                        "; every model needs a unique id")
    dup = list(ids[ids.duplicated()].unique())
    if dup:
        rows = [int(i) + 1 for i in np.flatnonzero(ids.isin(dup[:1]).to_numpy())]
        raise DataError(f"{name}: duplicate model ids {dup[:5]} (data rows {rows[:5]} share "
                        f"{_short(dup[0])}); each model_id must be unique: remove the repeated "
                        "rows or give them distinct ids")
    ids = pd.Index(ids.to_list(), name="model_id")
    meta.index = ids
    meta = meta.drop(columns="model_id")
    if "model_name" not in meta.columns:
        meta.insert(0, "model_name", list(ids))
    if "rank" in meta.columns and _numeric_looking(meta["rank"]):
        meta["rank"] = pd.to_numeric(meta["rank"].replace("", np.nan), errors="coerce")
    return meta, bench, ids


def load_brainscore(path_or_buffer, *, tree=None, metadata=(), domain="auto") -> ScoreTable:
    """Read a Brain-Score leaderboard in any of the website's layouts, recognised by content.

    Layouts (the file name plays no part; gzip is detected by its magic bytes):

    1. **Older CSV export** (as ``brainscore_vision_leaderboard_2025-05-07.csv``):
       ``model_name, model_id, rank`` then one column per benchmark node in pre-order;
       ``X`` = failed, empty = never run.
    2. **Today's CSV export** (``leaderboard.csv``): ``#`` comment lines (generation time, date
       window), every cell quoted, header ``"Rank","Model","Model ID"``, optionally
       ``"Filtered Score"`` (kept as model metadata ``filtered_score``), then benchmark columns
       by short name in breadth-first order. A failed score is an empty unquoted cell and a
       never-run one ``""``: both are read as ``"missing"`` (they cannot be told apart; the
       table's summary says so).
    3. **The zip export**: today's ``leaderboard.csv`` plus ``plugin-info.csv`` (rows
       ``plugin_name, plugin_type, model_id, metadata``): model metadata (architecture,
       model_family, ...) becomes columns of ``table.models``, benchmark metadata (Stimuli,
       Data, Metric) columns of ``table.benchmarks``.
    4. **The snapshot JSON** (a list of model records with ``"<benchmark>_vN": {value, raw,
       error, timestamp, version, ...}``): ``scores`` are the website's values, ``raw``,
       ``timestamps`` and ``versions`` are kept, ``errors`` is put on the ceiled scale
       (``error x value / raw``) and every benchmark's errors are diagnosed
       (``benchmarks["error_kind"]``, see :func:`alignfactors._formats.diagnose_errors`).
       Benchmark names lose their ``_vN`` suffix; the version goes to
       ``benchmarks["version"]``.

    The tree is inferred from the values alone (column order plays no part); for the snapshot
    the aggregates' full-precision ``raw`` values are used in the inference and its check.
    When the tree is inferred, columns are put in pre-order of the tree.

    Parameters
    ----------
    path_or_buffer : str, Path or file object
        The file (text or binary; UTF-8 with or without BOM; LF or CRLF line ends).
    tree : None, False or mapping, default None
        ``None`` infers the tree from the scores (:func:`~alignfactors.io.tree_inference.infer_tree`);
        ``False`` makes every benchmark column a leaf; a mapping ``parent -> children`` gives
        the tree (names must be columns).
    metadata : sequence of str, default ()
        More names of leading CSV columns that describe the models rather than score them.
        ``model_name``, ``model_id``, ``rank``, ``layers`` and a few other known names always
        are; so is any leading column with a non-numeric value. An unknown *numeric* column
        before the first benchmark (say ``num_params``) is read as a benchmark (a root leaf
        with no domain, which :func:`~alignfactors.cleaning.clean` leaves out) unless it is
        named here.
    domain : "auto", str or None, default "auto"
        For sources mixing domains (the snapshot holds vision and language benchmarks): keep
        the benchmarks of this domain (those scored for models with a score on an aggregate
        named ``*_<domain>``, e.g. ``average_vision``) and the models with at least one score
        on them; everything else goes to ``table.log`` with its reason. ``"auto"`` takes the
        domain the aggregates are named for when there is exactly one (``"vision"`` for the
        vision snapshot); ``None`` keeps everything.

    Returns
    -------
    ScoreTable
        ``X`` cells have status ``"failed"``, empty cells ``"missing"``; both are NaN in
        ``scores``. Leading non-benchmark columns go to ``models``.

    Raises
    ------
    InputFileError
        Missing, empty, header-only, binary or non-comma-separated file; a zip without
        ``leaderboard.csv``; invalid JSON.
    DataError
        No ``model_id`` column, duplicate model ids, a non-numeric or infinite score
        (column, model_id and value named); a snapshot that is not a list of model records.
    TreeError
        ``tree=None`` and no consistent tree exists.

    Examples
    --------
    >>> import io
    >>> csv_text = "model_name,model_id,rank,average_vision,a,b\\nm,1,1,.5,.4,.6\\nm,2,2,.2,.4,X\\n"
    >>> t = load_brainscore(io.StringIO(csv_text))
    >>> t.tree.children("average_vision"), t.status.loc["2", "b"]
    (['a', 'b'], 'failed')
    >>> today = ('# Generated on 2025-09-01T10:00:00 (UTC)\\n# Date from 2019-01-01 to 2025-09-01\\n'
    ...          '"Rank","Model","Model ID","b","average_vision","a"\\n'
    ...          '"1","m","1",".6",".5",".4"\\n"2","m","2",,".2",".4"\\n')
    >>> u = load_brainscore(io.StringIO(today))
    >>> list(u.scores.columns), u.status.loc["2", "b"]
    (['average_vision', 'b', 'a'], 'missing')
    """
    if isinstance(metadata, str) or not all(isinstance(m, str) for m in metadata):
        raise ParameterTypeError(f"metadata must be a list of column names, got {metadata!r}")
    if domain is not None and not isinstance(domain, str):
        raise ParameterTypeError(f"domain must be 'auto', a domain name such as 'vision', or "
                                 f"None, got {domain!r}")
    data, name = _read_data(path_or_buffer)
    if isinstance(data, bytes) and data[:2] == b"\x1f\x8b":
        data = _gunzip(data, name)
    if isinstance(data, bytes) and data[:4] == b"PK\x03\x04":
        return _load_zip(data, name, tree, metadata)
    text = _decode(data, name)
    if _formats.looks_json(text):
        return _load_snapshot(text, name, tree, domain)
    return _load_csv_text(text, name, tree, metadata)


def _load_csv_text(text, name, tree, metadata=()) -> ScoreTable:
    comments, body = _comment_lines(text)
    df, _ = _strings_from_text(body, name)
    notes = []
    reorder = False
    if _formats.is_today_header(list(df.columns)):
        df, meta_cols = _formats.today_to_standard(df)
        metadata = (*metadata, *meta_cols)
        notes.append(_formats.NOTE_FAILED_MISSING)
        window = _formats.window_from_comments(comments)
        if "date_from" in window:
            notes.append(f"the export covers scores from {window['date_from']} to "
                         f"{window['date_to']} (the date window chosen on the website)")
        reorder = True  # breadth-first columns: put them in pre-order of the inferred tree
    elif comments:
        notes.append("comment lines: " + " | ".join(comments))
    table = _brainscore_from_strings(df, name, tree, metadata=metadata)
    if "filtered_score" in table.models.columns:
        models = table.models.copy()
        fs = models["filtered_score"]
        models["filtered_score"] = pd.to_numeric(fs.where(fs != "", np.nan), errors="coerce")
        table = dataclasses.replace(table, models=models)
    table = dataclasses.replace(table, notes=(*table.notes, *notes))
    if reorder and tree is None:
        table = _in_tree_order(table)
    return table


def _in_tree_order(table: ScoreTable) -> ScoreTable:
    """The table with its columns in pre-order of its tree."""
    cols = list(table.tree.nodes)
    if cols == list(table.scores.columns):
        return table

    def take(frame):
        return None if frame is None else frame[cols]

    return dataclasses.replace(
        table, scores=take(table.scores), status=take(table.status), errors=take(table.errors),
        raw=take(table.raw), timestamps=take(table.timestamps), versions=take(table.versions),
        benchmarks=table.benchmarks.loc[cols])


def _zip_csv(members: dict[str, bytes], name: str) -> tuple[str | None, str | None]:
    """Names of the leaderboard and plugin-info members of a zip, found by their headers."""
    board = plugins = None
    for member, content in members.items():
        if not member.lower().endswith(".csv"):
            continue
        try:
            head = _comment_lines(_decode(content, f"{name}:{member}"))[1].lstrip()
        except InputFileError:
            continue
        first = next(csv.reader(io.StringIO(head[:4096])), [])
        if tuple(first[:4]) == _formats.PLUGIN_HEADER:
            plugins = plugins or member
        elif _formats.is_today_header(first) or "model_id" in first:
            board = board or member
    return board, plugins


def _load_zip(data: bytes, name: str, tree, metadata) -> ScoreTable:
    members = _formats.zip_members(data, name)
    board, plugins = _zip_csv(members, name)
    if board is None:
        raise InputFileError(
            f"{name}: a zip export must hold leaderboard.csv (a CSV with the header "
            f"\"Rank\",\"Model\",\"Model ID\",...); this zip holds {sorted(members)[:8]}; "
            "extract the leaderboard CSV and pass it, or download the export again (an Excel "
            ".xlsx file is a zip too: save it as CSV)")
    table = _load_csv_text(_decode(members[board], f"{name}:{board}"), name, tree, metadata)
    if plugins is None:
        return dataclasses.replace(table, notes=(*table.notes, "the zip holds no plugin-info.csv"
                                                 "; no model or benchmark metadata"))
    text = _decode(members[plugins], f"{name}:{plugins}")
    pdf, _ = _strings_from_text(_comment_lines(text)[1], f"{name}:{plugins}")
    mmeta, bmeta = _formats.parse_plugin_info(pdf, f"{name}:{plugins}")
    log = [table.log]
    models = table.models
    if len(mmeta):
        extra = mmeta.index.difference(models.index)
        if len(extra):
            log.append(pd.DataFrame({"item": list(extra), "kind": "model_metadata",
                                     "reason": "plugin-info.csv describes a model that is not in "
                                               "leaderboard.csv"}))
        new = [c for c in mmeta.columns if c not in models.columns]
        models = models.join(mmeta[new].reindex(models.index))
    bench = table.benchmarks
    if len(bmeta):
        extra = bmeta.index.difference(bench.index)
        if len(extra):
            log.append(pd.DataFrame({"item": list(extra), "kind": "benchmark_metadata",
                                     "reason": "plugin-info.csv describes a benchmark that is not "
                                               "a column of leaderboard.csv (filtered out on the "
                                               "website?)"}))
        got = bmeta.reindex(bench.index)
        bench = bench.copy()
        if "version" in got:
            bench["version"] = got["version"].astype(float)
        for c in got.columns.drop("version", errors="ignore"):
            bench[c] = got[c]
    return dataclasses.replace(table, models=models, benchmarks=bench,
                               log=pd.concat([x for x in log if len(x)] or [table.log],
                                             ignore_index=True))


def _snapshot_domain(p, domain, name):
    """Aggregates named for the domain, resolving "auto"."""
    named = {a: a.rsplit("_", 1)[1] for a in p.aggregates
             if re.match(r"^(average|neural|behaviou?r(al)?|engineering)_[A-Za-z]+$", a)}
    if domain is None:
        return None, []
    if domain == "auto":
        found = sorted(set(named.values()))
        if len(found) != 1:
            return None, []
        domain = found[0]
    dom_aggs = [a for a, d in named.items() if d == domain]
    if not dom_aggs:
        raise ParameterError(f"domain={domain!r}: {name} has no aggregate named "
                             f"'average_{domain}' or like it (aggregates: "
                             f"{sorted(named)[:6]}); pass domain=None to keep everything")
    return domain, dom_aggs


def _load_snapshot(text, name, tree, domain) -> ScoreTable:
    p = _formats.read_snapshot(text, name)
    log = []
    cols, rows = list(p.scores.columns), list(p.scores.index)
    domain, dom_aggs = _snapshot_domain(p, domain, name)
    ok = p.status == "ok"
    if domain is not None:
        in_domain = ok[dom_aggs].any(axis=1)
        kept = [c for c in cols if ok.loc[in_domain, c].any()]
        for c in cols:
            if c not in kept:
                reason = (f"not a {domain} benchmark: scored only for models with no score on "
                          f"{dom_aggs[0]}" if ok[c].any() else "no model has a score")
                log.append({"item": c, "kind": "benchmark", "reason": reason})
        leaves = [c for c in kept if c not in p.aggregates]
        has = ok[leaves].any(axis=1)
        rows = list(has.index[has])
        dropped = p.scores.index.difference(rows, sort=False)
        for m in dropped:
            log.append({"item": m, "kind": "model",
                        "reason": f"no score on a {domain} benchmark"})
        cols = kept
    if not rows or not cols:
        raise DataError(f"{name}: nothing left after keeping the {domain} benchmarks and models")

    def take(frame):
        return frame.loc[rows, cols]

    scores, status = take(p.scores), take(p.status)
    errors = take(p.errors)
    aggregates = [a for a in p.aggregates if a in cols]
    diag = _formats.diagnose_errors(scores, errors, aggregates)
    bench = p.benchmarks.loc[cols].join(diag)
    bench = bench[["version", "error_kind", *[c for c in bench.columns
                                              if c not in ("version", "error_kind")]]]
    bench.insert(2, "aggregate", [c in aggregates for c in cols])
    notes = list(p.notes)
    if domain is not None:
        notes.insert(0, f"domain {domain!r}: kept {len(cols)} of {p.scores.shape[1]} benchmarks "
                        f"and {len(rows)} of {p.scores.shape[0]} models (the rest in .log)")
    n_unceiled = int(bench["n_unceiled"].sum())
    if n_unceiled:
        notes.append(f"{n_unceiled} scores shown as X on the website have a raw value "
                     "(benchmarks without a ceiling, such as the engineering ones): their score "
                     "is the raw value (benchmarks['n_unceiled'])")
    kinds = bench.loc[bench["n_errors"] > 0, "error_kind"].value_counts()
    if kinds.get("spread_over_subjects", 0):
        notes.append(f"{kinds['spread_over_subjects']} benchmarks have errors larger than a "
                     "standard error of the score can be (benchmarks['error_kind'] == "
                     "'spread_over_subjects'); do not use them as standard errors")
    # The snapshot's aggregates are means of their children's *raw* values (full precision),
    # not of the displayed values: the tree is inferred and checked on raw.
    raw = take(p.raw)
    exact = raw.where(status == "ok").fillna(scores)
    if tree is None:
        btree, check, rules = _snapshot_tree(exact, aggregates, name)
        bench["aggregate_rule"] = pd.Series(rules, dtype=object).reindex(bench.index)
        n_present = sum(r == "mean_of_present" for r in rules.values())
        notes.append(f"the snapshot's aggregates are means of their children's raw values (not "
                     f"of the displayed scores); {n_present} of {len(rules)} are the mean of the "
                     "children that have a score (a missing child is skipped, where today's "
                     "website counts it as 0): benchmarks['aggregate_rule']. The tree is "
                     "inferred and checked on raw, and as_of recomputes aggregates that way")
    else:
        btree, check = _tree_for(exact, tree)
    models = p.models.loc[rows]
    table = ScoreTable(scores, status, models, btree, name, check, errors=errors, raw=raw,
                       timestamps=take(p.timestamps), versions=take(p.versions), benchmarks=bench,
                       log=pd.DataFrame(log, columns=["item", "kind", "reason"]),
                       notes=tuple(notes), aggregates_from="raw")
    return _in_tree_order(table) if tree is None else table


def _snapshot_tree(values: pd.DataFrame, aggregates, name: str):
    """Tree of the snapshot from its marked aggregates (:func:`_formats.infer_marked_tree`)."""
    children, rules, failures = _formats.infer_marked_tree(values, aggregates)
    if failures:
        shown = "; ".join(f"{a!r}: {why}" for a, why in list(failures.items())[:3])
        raise TreeError(f"{name}: cannot infer the benchmark tree: {shown}. Pass tree= (a "
                        "mapping parent -> children) to give it, or tree=False to treat every "
                        "column as a leaf")
    cols = list(values.columns)
    # key order means nothing: roots in the order average_*, other aggregates, leaves
    order = sorted(cols, key=lambda c: (not c.startswith("average"), c not in children,
                                        cols.index(c)))
    weights = {p: [1.0 / len(k)] * len(k) for p, k in children.items()}
    btree = BenchmarkTree.from_mapping(children, order=order, rules={
        p: {"rule": "mean", "weights": weights[p],
            "missing": "skip" if rules[p] == "mean_of_present" else "as_zero"}
        for p in children})
    check = _formats.check_marked_tree(values, children, rules, _formats.SNAPSHOT_TOLERANCE)
    return btree, check, rules


def _tree_for(scores: pd.DataFrame, tree):
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
    return btree, check


def _brainscore_from_strings(df, name, tree, domains=None, metadata=()) -> ScoreTable:
    meta, bench, ids = _split_brainscore(df, name, metadata)
    scores, status = _parse_scores(bench, ids, name)
    btree, check = _tree_for(scores, tree)
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


def load_table(path, *, domains=None, model: str | None = None,
               aggregates="detect") -> ScoreTable:
    """Read any leaderboard CSV: a Brain-Score export, a wide or a long table.

    Brain-Score's layouts (today's CSV export, the zip export, the snapshot JSON) and a file with
    a ``model_id`` column and columns named like ``average_*``/``neural_*``/``behavior_*``/
    ``engineering_*`` are read by :func:`load_brainscore`. A file with columns
    ``model`` (or ``model=``), ``metric`` and ``score`` (and optionally ``domain``) is long.
    Otherwise it is wide: the first column (or ``model=``) holds the model ids.

    Parameters
    ----------
    path : str, Path or file object
    domains : mapping or str or Path, optional
        Metric -> domain, or a path to a 2-column CSV ``metric,domain``.
    model : str, optional
        Name of the model id column.
    aggregates : "detect", "none" or mapping, default "detect"
        Summary columns. ``"detect"``: for a wide or long table, columns equal to the mean, a
        fixed-weight mean or the sum of other columns (within the printed rounding) become
        parents of the tree and ranks/constants model metadata
        (:func:`~alignfactors.io.aggregates.apply_aggregates`, result in ``table.detection``);
        for a Brain-Score layout, the tree is inferred (:func:`~alignfactors.io.tree_inference.infer_tree`).
        ``"none"``: every column is a metric. A mapping ``parent -> children``: that tree.

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
    data, name = _read_data(path)
    doms = _read_domains(domains)
    if isinstance(aggregates, str) and aggregates not in ("detect", "none"):
        raise ParameterError(f"aggregates must be 'detect', 'none' or a tree (a mapping parent "
                             f"-> children), got {aggregates!r}")
    if not isinstance(aggregates, (str, Mapping, BenchmarkTree)):
        raise ParameterTypeError(f"aggregates must be 'detect', 'none' or a tree (a mapping "
                                 f"parent -> children), got {type(aggregates).__name__}")
    bs_tree = None if aggregates == "detect" else False if aggregates == "none" else (
        aggregates.to_dict() if isinstance(aggregates, BenchmarkTree) else aggregates)
    if isinstance(data, bytes) and data[:2] == b"\x1f\x8b":
        data = _gunzip(data, name)
    special = None
    if isinstance(data, bytes) and data[:4] == b"PK\x03\x04":
        special = _load_zip(data, name, bs_tree, ())
    else:
        text = _decode(data, name)
        if _formats.looks_json(text):
            special = _load_snapshot(text, name, bs_tree, "auto")
        else:
            df, _ = _strings_from_text(text, name)
            if _formats.is_today_header(list(df.columns)):
                special = _load_csv_text(text, name, bs_tree)
    if special is not None:  # a Brain-Score layout: see load_brainscore
        return special if not doms else _with(special, special.tree.with_domains(doms))
    cols = list(df.columns)
    if "model_id" in cols and model in (None, "model_id") and any(
        re.match(r"^(average|neural|behaviou?r|engineering)_", c) for c in cols
    ):
        return _brainscore_from_strings(df, name, bs_tree, doms)
    model_col = model or ("model" if "model" in cols else cols[0])
    if model_col not in cols:
        raise DataError(f"{name}: model={model!r} is not a column; found columns {cols[:8]}")
    if {"metric", "score"} <= set(cols) and model_col in cols:
        long = df.copy()
        long["score"] = _parse_scores(long[["score"]], pd.Index(long[model_col]), name)[0][
            "score"].to_numpy()
        dom_col = "domain" if "domain" in cols else None
        table = ScoreTable.from_long(long, model=model_col, metric="metric", score="score",
                                     domain=dom_col, aggregates="none")
        if doms:
            table = _with(table, table.tree.with_domains(doms))
        table = apply_aggregates(table, aggregates)
    else:
        ids = df[model_col]
        dup = list(ids[ids.duplicated()].unique())
        if dup:
            raise DataError(f"{name}: duplicate model ids {dup[:5]}")
        meta_cols = [c for c in cols if c == "model_name"]
        bench = df.drop(columns=[model_col, *meta_cols])
        scores, status = _parse_scores(bench, pd.Index(ids.to_list(), name="model_id"), name)
        wide = ScoreTable.from_wide(scores, domains=doms, aggregates="none")
        table = _with(wide, wide.tree, status=status)
        if meta_cols:
            models = pd.DataFrame({"model_name": df["model_name"].to_list()}, index=scores.index)
            table = _with(table, table.tree, models=models)
        table = apply_aggregates(table, aggregates)
    return _with(table, table.tree, source=name)


def _with(table: ScoreTable, tree, **changes) -> ScoreTable:
    import dataclasses

    return dataclasses.replace(table, tree=tree, **changes)
