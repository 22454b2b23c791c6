"""Brain-Score's newer layouts: today's CSV export, the zip with plugin-info.csv, the snapshot JSON.

Each reader turns its layout into plain frames (scores, status, models and, where the source has
them, errors, raw, timestamps, versions, benchmark metadata); :mod:`alignfactors.io.loading` infers
the tree and builds the :class:`~alignfactors.io.table.ScoreTable`. The layouts are described in
the docstring of :func:`alignfactors.io.loading.load_brainscore`.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import DataError, InputFileError

#: A versioned benchmark identifier of the snapshot, ``<short name>_v<N>``.
_VERSIONED = re.compile(r"^(?P<name>.+)_v(?P<version>\d+)$")
#: The website writes a negative score as ``.-NN`` (thousandths, truncated towards 0).
_NEG_THOUSANDTHS = re.compile(r"^\.-(\d+)$")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
#: Headers of today's CSV export (the website's own names).
TODAY_HEADER = ("Rank", "Model", "Model ID")
FILTERED = "Filtered Score"
#: Columns of plugin-info.csv in the zip export.
PLUGIN_HEADER = ("plugin_name", "plugin_type", "model_id", "metadata")
#: Model metadata keys of plugin-info.csv (and of the snapshot's ``metadata``).
MODEL_METADATA = ("architecture", "model_family", "total_parameter_count", "total_layers",
                  "model_size_mb", "runnable", "training_dataset", "task_specialization", "group")

NOTE_FAILED_MISSING = ("failed (X on the website) and never-run scores are both written as "
                       "empty cells in this export layout, so both are 'missing' here; the two "
                       "cannot be told apart")


@dataclass
class Parsed:
    """What a reader found: frames aligned with ``scores`` (None where the layout lacks them)."""

    scores: pd.DataFrame
    status: pd.DataFrame
    models: pd.DataFrame
    errors: pd.DataFrame | None = None
    raw: pd.DataFrame | None = None
    timestamps: pd.DataFrame | None = None
    versions: pd.DataFrame | None = None
    benchmarks: pd.DataFrame | None = None
    #: Nodes the source marks as aggregates (no version, no timestamp, no error anywhere).
    aggregates: list[str] = field(default_factory=list)
    log: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def short_name(identifier: str) -> tuple[str, float]:
    """``"MajajHong2015.IT-pls_v4"`` -> (``"MajajHong2015.IT-pls"``, 4.0); no suffix -> NaN.

    >>> short_name("V1_v0"), short_name("V1")
    (('V1', 0.0), ('V1', nan))
    """
    m = _VERSIONED.match(identifier)
    if m is None:
        return identifier, float("nan")
    return m.group("name"), float(m.group("version"))


# -- the snapshot JSON ------------------------------------------------------------------------
def looks_json(text: str) -> bool:
    """Whether text is JSON (starts with ``[`` or ``{``), not CSV."""
    head = text.lstrip()[:1]
    return head in ("[", "{")


def _snapshot_value(token, where: str) -> tuple[float, str]:
    """The website's ``value`` string -> (score, status)."""
    if token is None:
        return np.nan, "missing"
    if isinstance(token, (int, float)) and not isinstance(token, bool):
        x = float(token)
        return (x, "ok") if np.isfinite(x) else (np.nan, "failed")
    if not isinstance(token, str):
        raise DataError(f"{where}: value {token!r} is neither a number nor a string")
    t = token.strip()
    if t in ("X", "x", "nan", "NaN"):  # 'nan': evaluated, produced no number (as X)
        return np.nan, "failed"
    if t == "":
        return np.nan, "missing"
    m = _NEG_THOUSANDTHS.match(t)
    if m:
        return -int(m.group(1)) / 1000.0, "ok"
    if _NUMBER.match(t):
        return float(t), "ok"
    raise DataError(f"{where}: value {token!r} is not a score (expected a number such as '.540', "
                    "'X' for failed, or the website's '.-NN' for a negative score)")


def _number(x, where: str) -> float:
    if x is None:
        return np.nan
    if isinstance(x, bool) or not isinstance(x, (int, float, str)):
        raise DataError(f"{where}: {x!r} is not a number")
    try:
        return float(x)
    except ValueError:
        raise DataError(f"{where}: {x!r} is not a number") from None


def parse_snapshot(obj, name: str) -> Parsed:
    """Records of the website's snapshot JSON -> frames (see ``load_brainscore``)."""
    if not isinstance(obj, list) or not obj:
        kind = type(obj).__name__ if not isinstance(obj, list) else "an empty list"
        raise DataError(f"{name}: a Brain-Score snapshot is a JSON list of model records "
                        f"({{'model': {{'id', 'name'}}, '<benchmark>_vN': {{'value', ...}}}}); "
                        f"this file holds {kind}")
    ids, model_rows = [], []
    col: dict[str, int] = {}  # benchmark identifier -> column, in order of first appearance
    found: list[tuple] = []  # (row, column, value, status, raw, error, version, timestamp, unceiled)
    for i, rec in enumerate(obj):
        where = f"{name}: record {i}"
        if not isinstance(rec, dict):
            raise DataError(f"{where} is a {type(rec).__name__}, not a model record (an object "
                            "with 'model' and '<benchmark>_vN' entries)")
        model = rec.get("model")
        mid = model.get("id") if isinstance(model, dict) else None
        mid = rec.get("id") if mid is None else mid
        if mid is None or isinstance(mid, (dict, list)):
            raise DataError(f"{where} has no model id ('model': {{'id': ...}} or 'id')")
        mid = str(mid)
        ids.append(mid)
        meta = rec.get("metadata") if isinstance(rec.get("metadata"), dict) else {}
        row = {"model_name": str(model.get("name", mid)) if isinstance(model, dict) else mid,
               "submitter": model.get("submitter") if isinstance(model, dict) else None,
               "public": rec.get("public"), "rank": rec.get("rank")}
        row.update({k: meta.get(k) for k in meta})
        model_rows.append(row)
        for key, v in rec.items():
            if not (isinstance(v, dict) and "value" in v):
                continue
            j = col.setdefault(key, len(col))
            w = f"{where} (model id {mid}), {key!r}"
            value, status = _snapshot_value(v.get("value"), w)
            raw, error, version = (_number(v.get(f), f"{w} {f}") for f in ("raw", "error",
                                                                           "version"))
            unceiled = v.get("value") in ("X", "x") and np.isfinite(raw)
            if unceiled:
                # Shown as X but scored: the website shows no ceiled value for benchmarks
                # without a ceiling (engineering ones); the score is the raw value.
                value, status = raw, "ok"
            found.append((i, j, value, status, raw, error, version, v.get("timestamp"), unceiled))
    dup = pd.Index(ids)[pd.Index(ids).duplicated()].unique().tolist()
    if dup:
        raise DataError(f"{name}: duplicate model ids {dup[:5]}; each record must be one model")
    if not col:
        raise DataError(f"{name}: no record holds a score (entries '<benchmark>_vN': "
                        "{'value': ...})")
    keys = list(col)
    short = {k: short_name(k) for k in keys}
    names = [short[k][0] for k in keys]
    clash = pd.Index(names)[pd.Index(names).duplicated()].unique().tolist()
    if clash:
        both = [k for k in keys if short[k][0] == clash[0]]
        raise DataError(f"{name}: benchmark {clash[0]!r} appears in two versions {both}; a "
                        "snapshot holds one version per benchmark")
    index = pd.Index(ids, name="model_id")
    r_idx, c_idx, *fields = zip(*found)
    r_idx, c_idx = np.asarray(r_idx), np.asarray(c_idx)
    shape = (len(ids), len(keys))

    def frame(k, fill, dtype=float):
        out = np.full(shape, fill, dtype=object if dtype is object else dtype)
        out[r_idx, c_idx] = np.asarray(fields[k], dtype=object if dtype is object else dtype)
        return pd.DataFrame(out, index=index, columns=names)

    scores = frame(0, np.nan)
    status = frame(1, "missing", object)
    raw, errors, versions = frame(2, np.nan), frame(3, np.nan), frame(4, np.nan)
    stamps_obj = frame(5, None, object)
    try:
        stamps = stamps_obj.apply(lambda c: pd.to_datetime(c, utc=True, format="ISO8601"))
    except (ValueError, TypeError) as exc:
        raise DataError(f"{name}: a timestamp is not an ISO time ({exc})") from None
    models = pd.DataFrame(model_rows, index=index)
    models = models.dropna(axis=1, how="all").reindex(
        columns=["model_name", *[c for c in models.columns if c != "model_name"]])
    models["model_name"] = models["model_name"].astype(str)
    # Aggregates: entries that carry no version, timestamp or error in any record.
    aggregates = [c for c in scores.columns
                  if versions[c].isna().all() and stamps[c].isna().all() and errors[c].isna().all()
                  and raw[c].notna().any()]
    # The ceiled-scale error is error x value / raw: value = raw / ceiling. The value is printed
    # with 3 decimals (truncated), so the per-cell ratio is used where |value| >= 0.1 (ratio
    # exact to 1%), and the benchmark's median ratio over those cells elsewhere (over all
    # non-zero cells when no score reaches 0.1).
    ratio = (scores / raw).where((scores.abs() >= 0.1) & (raw != 0))
    rough = (scores / raw).where((scores != 0) & (raw != 0)).median()  # all scores small
    typical = ratio.median().fillna(rough)
    use = ratio.fillna(typical)  # a Series fills column by column
    errors_ceiled = (errors * use).where(status == "ok")  # no score, no error of it
    lost = errors.notna() & errors_ceiled.isna() & (status == "ok")
    benchmarks = pd.DataFrame({
        "identifier": keys,
        "version": [short[k][1] for k in keys],
        "ceiling": (1.0 / typical).reindex(names).to_numpy(),
    }, index=pd.Index(names, name="benchmark"))
    benchmarks.loc[aggregates, "ceiling"] = np.nan
    unceiled = frame(6, False, bool)
    benchmarks["n_unceiled"] = unceiled.sum().reindex(names).to_numpy()
    p = Parsed(scores, status, models, errors=errors_ceiled, raw=raw, timestamps=stamps,
               versions=versions, benchmarks=benchmarks, aggregates=aggregates)
    no_score = errors.notna() & (status != "ok")
    if no_score.to_numpy().any():
        p.notes.append(f"{int(no_score.to_numpy().sum())} errors belong to scores that failed "
                       "(value X or nan); .errors leaves them out")
    if lost.to_numpy().any():
        p.notes.append(f"{int(lost.to_numpy().sum())} errors could not be put on the ceiled scale "
                       "(no usable value/raw ratio) and are NaN in .errors")
    p.notes.append("scores are the website's values (3 decimals, truncated towards 0); .raw "
                   "holds the snapshot's 'raw' field (documented as the unceiled score, but "
                   "value/raw varies between models for most neural benchmarks, so it is not "
                   "one ceiling per benchmark), for aggregates their full-precision value")
    return p


def read_snapshot(text: str, name: str) -> Parsed:
    """Parse the snapshot JSON text (see :func:`parse_snapshot`)."""
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputFileError(f"{name}: looks like JSON but is not valid JSON (line {exc.lineno}, "
                             f"column {exc.colno}: {exc.msg})") from None
    return parse_snapshot(obj, name)


# -- error diagnosis ---------------------------------------------------------------------------
#: Thresholds of :func:`diagnose_errors` (see there).
SE_RATIO, SPREAD_RATIO = 0.5, 1.0
SE_RELATIVE, SPREAD_RELATIVE = 0.2, 0.3
MIN_ERRORS = 5


def diagnose_errors(scores: pd.DataFrame, errors: pd.DataFrame, aggregates=()) -> pd.DataFrame:
    """Per benchmark: what its ``errors`` behave like, from their size next to the scores.

    A standard error of a score must be small next to how much the scores differ between
    models (else the scores would be mostly noise, yet they correlate with related benchmarks)
    and next to the score itself. Two ratios, on the ceiled scale, over the cells that have
    both a score and an error:

    - ``error_to_spread`` = median(error) / sd(scores across models); as a standard error it
      implies the reliability ``1 - error_to_spread**2`` (column ``implied_reliability``,
      negative = impossible for a standard error);
    - ``relative_error`` = median(error / |score|) over scores with |score| >= 0.05.

    ``"standard_error"`` when ``error_to_spread < 0.5`` and ``relative_error < 0.2``;
    ``"spread_over_subjects"`` (errors larger than a standard error of the score can be, like a
    standard deviation over subjects) when ``error_to_spread > 1`` or ``relative_error > 0.3``;
    ``"unknown"`` in between or with fewer than 5 errors; ``"none"`` without errors.
    On the 2024-01-01 snapshot the neural and Marques2020 benchmarks have ratios below 0.36
    and 0.08, and every Geirhos2021 error-consistency benchmark has a relative error above 0.33.

    >>> s = pd.DataFrame({"a": np.linspace(0.1, 1, 10), "b": np.linspace(0.4, 0.5, 10)})
    >>> e = pd.DataFrame({"a": [0.01] * 10, "b": [0.3] * 10})
    >>> diagnose_errors(s, e)["error_kind"].tolist()
    ['standard_error', 'spread_over_subjects']
    """
    agg = set(aggregates)
    ok = scores.notna() & errors.notna()
    n = ok.sum()
    err = errors.where(ok).abs()
    med = err.median()
    sd = scores.where(ok).std(ddof=1)
    ratio = med / sd.where(sd > 0)
    big = scores.abs() >= 0.05
    relative = (err / scores.abs().where(big)).median()
    se = (ratio < SE_RATIO) & (relative < SE_RELATIVE)
    spread = (ratio > SPREAD_RATIO) | (relative > SPREAD_RELATIVE)
    kind = np.where(n == 0, "none", np.where(n < MIN_ERRORS, "unknown",
                    np.where(spread, "spread_over_subjects", np.where(se, "standard_error",
                                                                       "unknown"))))
    out = pd.DataFrame({"error_kind": kind, "n_errors": n.astype(int), "median_error": med,
                        "score_sd": sd, "error_to_spread": ratio,
                        "implied_reliability": 1 - ratio**2, "relative_error": relative},
                       index=scores.columns)
    out.loc[[c for c in out.index if c in agg], "error_kind"] = "none"
    return out


# -- today's CSV and the zip ---------------------------------------------------------------------
def is_today_header(columns) -> bool:
    """Whether a CSV header is today's layout (``Rank, Model, Model ID, ...``)."""
    return tuple(columns[:3]) == TODAY_HEADER


def window_from_comments(comments: list[str]) -> dict:
    """``# Generated on ...`` / ``# Date from A to B`` lines -> {generated, date_from, date_to}."""
    out = {}
    for c in comments:
        m = re.match(r"^Generated on (.+)$", c)
        if m:
            out["generated"] = m.group(1).strip()
        m = re.match(r"^Date from (.+?) to (.+)$", c)
        if m:
            out["date_from"], out["date_to"] = m.group(1).strip(), m.group(2).strip()
    return out


def today_to_standard(df: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Today's columns renamed to the older layout's (``model_name, model_id, rank``).

    ``Filtered Score`` becomes model metadata ``filtered_score``. Returns the frame and the
    metadata column names.
    """
    ren = {"Model": "model_name", "Model ID": "model_id", "Rank": "rank"}
    meta = ["rank", "model_name", "model_id"]
    if FILTERED in df.columns:
        ren[FILTERED] = "filtered_score"
        meta.append("filtered_score")
    clash = [v for k, v in ren.items() if v in df.columns]
    if clash:
        raise DataError(f"today's export layout with a column named {clash[0]!r} as well; "
                        "rename it")
    return df.rename(columns=ren), meta


def zip_members(data: bytes, name: str) -> dict[str, bytes]:
    """Member name -> bytes of a zip archive, with clear errors."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return {i.filename: z.read(i) for i in z.infolist() if not i.is_dir()}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
        raise InputFileError(f"{name}: a zip/xlsx archive that cannot be read as a zip ({exc}); "
                             "expected a leaderboard CSV, the snapshot JSON or the website's zip "
                             "export") from None


def parse_plugin_info(df: pd.DataFrame, name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """plugin-info.csv rows -> (model metadata by model_id, benchmark metadata by short name)."""
    missing = [c for c in PLUGIN_HEADER if c not in df.columns]
    if missing:
        raise DataError(f"{name}: plugin-info.csv lacks columns {missing}; expected "
                        f"{list(PLUGIN_HEADER)}")
    models, benches = {}, {}
    for i, row in enumerate(df.itertuples(index=False)):
        r = row._asdict()
        text = r["metadata"].strip()
        try:
            meta = json.loads(text) if text else {}
        except json.JSONDecodeError as exc:
            raise DataError(f"{name}: plugin-info.csv data row {i + 1} ({r['plugin_name']!r}): "
                            f"metadata is not JSON ({exc.msg})") from None
        if not isinstance(meta, dict):
            raise DataError(f"{name}: plugin-info.csv data row {i + 1}: metadata must be a JSON "
                            f"object, got {type(meta).__name__}")
        kind = r["plugin_type"].strip().lower()
        if kind == "model":
            mid = r["model_id"].strip()
            if not mid:
                raise DataError(f"{name}: plugin-info.csv data row {i + 1}: model "
                                f"{r['plugin_name']!r} has no model_id")
            models[mid] = {k: (None if v == "" else v) for k, v in meta.items()}
        elif kind == "benchmark":
            short, version = short_name(r["plugin_name"].strip())
            benches[short] = {"version": version, **{str(k).lower(): v for k, v in meta.items()}}
    mdf = pd.DataFrame.from_dict(models, orient="index")
    mdf.index.name = "model_id"
    bdf = pd.DataFrame.from_dict(benches, orient="index")
    bdf.index.name = "benchmark"
    return mdf, bdf


# -- the snapshot's tree ---------------------------------------------------------------------------
#: The rules an aggregate can follow: today's website counts a missing child as 0; the 2024
#: snapshot's aggregates are the mean of the children that have a score.
AGGREGATE_RULES = ("missing_as_zero", "mean_of_present")
#: The snapshot's raw values are full precision: its tree is checked to this tolerance.
SNAPSHOT_TOLERANCE = 1e-6


def _subset_rows(pres_c: np.ndarray, pres_p: np.ndarray, slack: float = 0.01) -> bool:
    """Whether a column is (almost) only present where the parent is: a child's score makes
    its parent present under either rule."""
    n = int(pres_c.sum())
    return n > 0 and int((pres_c & ~pres_p).sum()) <= slack * n


def infer_marked_tree(values: pd.DataFrame, aggregates, tol: float = 1e-6,
                      min_share: float = 0.95):
    """The tree of a source that marks its aggregates (the snapshot), from full-precision values.

    For an aggregate P and a set S of children, "P is the mean of S" is linear in the
    indicator s of S: under ``mean_of_present``, sum over present children of (c - P) = 0 on
    every row; under ``missing_as_zero``, sum of (c filled with 0) - P = 0. So S spans the null
    space of a rows x candidates matrix, found by SVD (numpy) and rounded to 0/1. Candidates are
    the columns present (almost) only where P is. Aggregates equal to one column are given that
    column as only child first; then aggregates are solved from the one with fewest candidates
    up, and a column given to a parent is no candidate of later ones; an aggregate whose null
    space is ambiguous (another aggregate and its children are still among its candidates)
    waits until the others have taken their children. A rule is accepted when
    at least ``min_share`` of P's rows fit within ``tol``; ``mean_of_present`` is tried first.

    Returns ``(children, rules, failures)``: parent -> children (in column order), parent ->
    rule, and parent -> reason for aggregates no rule fits (left without children).

    >>> v = pd.DataFrame({"p": [0.3, 0.4, 0.2], "a": [0.2, 0.4, np.nan], "b": [0.4, np.nan, 0.2]})
    >>> infer_marked_tree(v, ["p"])
    ({'p': ['a', 'b']}, {'p': 'mean_of_present'}, {})
    """
    cols = list(values.columns)
    x = values.to_numpy(dtype=float)
    pres = ~np.isnan(x)
    aggs = [a for a in cols if a in set(aggregates)]
    pos = {c: i for i, c in enumerate(cols)}
    taken: dict[str, str] = {}
    children: dict[str, list[str]] = {}
    rules: dict[str, str] = {}
    failures: dict[str, str] = {}
    # single-child aggregates: equal to one column wherever either is present
    for a in aggs:
        j = pos[a]
        same = [c for c in cols if c != a and c not in taken and c not in children
                and np.array_equal(pres[:, pos[c]], pres[:, j])
                and np.nanmax(np.abs(x[:, pos[c]] - x[:, j]), initial=0.0) <= tol]
        leaves = [c for c in same if c not in set(aggs)]
        if len(leaves) == 1 and pres[:, j].any():
            children[a], rules[a] = leaves, "mean_of_present"
            taken[leaves[0]] = a

    inside = {a: {c for c in cols if c != a and _subset_rows(pres[:, pos[c]], pres[:, pos[a]])}
              for a in aggs}

    def candidates(a):
        return [c for c in cols if c in inside[a] and c not in taken
                and not _is_ancestor(c, a, taken)]

    todo = [a for a in aggs if a not in children]
    waiting: set[str] = set()  # ambiguous until other aggregates take their children
    while todo:
        todo.sort(key=lambda a: len(candidates(a)))
        a = next((b for b in todo if b not in waiting), todo[0])
        forced = a in waiting
        todo.remove(a)
        cand = candidates(a)
        j = pos[a]
        rows = pres[:, j]
        if not cand or not rows.any():
            failures[a] = "no candidate children"
            continue
        xc, p = x[rows][:, [pos[c] for c in cand]], x[rows, j][:, None]
        found, ambiguous = None, False
        for rule in AGGREGATE_RULES[::-1]:
            m = np.where(np.isnan(xc), 0.0, xc - p) if rule == "mean_of_present" \
                else np.nan_to_num(xc) - p
            use = np.ones(len(m), dtype=bool)
            for _ in range(2):  # second pass without the rows that fit worst (outliers)
                # same singular values as m[use], from its small triangular factor (faster)
                _, sv, vt = np.linalg.svd(np.linalg.qr(m[use], mode="r"), full_matrices=False)
                small = sv <= 1e-8 * max(sv[0], 1e-300)
                # another aggregate and its children among the candidates add null vectors
                ambiguous = ambiguous or int(small.sum()) > 1 and vt.shape[0] == len(cand)
                for v in vt[::-1][:max(1, int(small.sum()))]:
                    v = v / v[np.argmax(np.abs(v))]
                    s = v > 0.5
                    fit = np.abs(m @ s) <= tol * max(1, int(s.sum()))
                    if s.any() and fit.mean() >= min_share:
                        found = (rule, [c for c, keep in zip(cand, s) if keep])
                        break
                if found is not None:
                    break
                resid = np.abs(m @ v)
                use = resid <= np.quantile(resid, min_share)
            if found is not None:
                break
        if (found is None or ambiguous) and not forced and len(todo) > 0:
            waiting.add(a)
            todo.append(a)
            continue
        if found is None:
            failures[a] = (f"no set of columns has it as its mean on {min_share:.0%} of its "
                           "models under either rule")
            continue
        rules[a], children[a] = found
        for c in found[1]:
            taken[c] = a
        waiting.clear()
    children = {a: sorted(cs, key=pos.__getitem__) for a, cs in children.items()}
    return {a: children[a] for a in aggs if a in children}, \
        {a: rules[a] for a in aggs if a in rules}, failures


def _is_ancestor(c: str, a: str, parent: dict) -> bool:
    """Whether ``c`` is already an ancestor of ``a`` (``parent``: child -> parent)."""
    p = parent.get(a)
    while p is not None:
        if p == c:
            return True
        p = parent.get(p)
    return False


def check_marked_tree(values: pd.DataFrame, children: dict, rules: dict, tol: float):
    """A :class:`~alignfactors.io.tree_inference.TreeCheck` of ``children`` under each parent's rule."""
    from .tree_inference import TreeCheck

    n_cells, worst, bad = 0, 0.0, []
    for parent, kids in children.items():
        p = values[parent]
        k = values[kids]
        if rules.get(parent) == "mean_of_present":
            mean = k.mean(axis=1)
        else:
            mean = k.fillna(0.0).mean(axis=1)
        rows = p.notna()
        err = (mean[rows] - p[rows]).abs().fillna(np.inf)
        n_cells += int(rows.sum())
        if len(err):
            worst = max(worst, float(err.max()))
        for m in err.index[err > tol]:
            bad.append((parent, str(m), float(p[m]), round(float(mean[m]), 12)))
    return TreeCheck(len(children), n_cells, round(worst, 12), float(tol), len(bad), tuple(bad))
