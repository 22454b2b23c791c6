"""Brain-Score's layouts: today's CSV, the zip with plugin-info.csv and the snapshot JSON.

Fixtures are written here in each layout, from the website's own export conventions (see
``load_brainscore``); ``to_today`` converts an older export into today's layout.
"""

import csv
import dataclasses
import gzip
import io
import json
import math
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import alignfactors as af
from alignfactors.errors import DataError, InputFileError, ParameterError

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
CSV_2025 = DATA / "brainscore_vision_leaderboard_2025-05-07.csv"
SNAPSHOT = DATA / "brainscore_vision_snapshot_2024-01-01.json.gz"
COMMENTS = ("# Generated on 2025-05-07T12:00:00.000000+00:00 (UTC)\n"
            "# Date from 2018-01-01T00:00:00+00:00 to 2025-05-07T00:00:00+00:00\n")


# -- converters: the older export -> today's layout and the zip ---------------------------------
def _q(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def breadth_first(tree) -> list:
    order, level = [], list(tree.roots)
    while level:
        order += level
        level = [c for n in level for c in tree.children(n)]
    return order


def to_today(old_text: str, sort_by: str = "model_name") -> str:
    """An older CSV export written in today's layout (as the website's export code writes it).

    Comment lines; every cell quoted; "Rank","Model","Model ID","Filtered Score"; benchmark
    columns in breadth-first order of the tree; failed (X) = empty unquoted cell, never run = "";
    rows sorted by another column than the rank.
    """
    rows = list(csv.reader(io.StringIO(old_text)))
    header, body = rows[0], [r for r in rows[1:] if any(r)]
    tree = af.load_brainscore(io.StringIO(old_text)).tree
    pos = {c: i for i, c in enumerate(header)}
    cols = breadth_first(tree)
    body = sorted(body, key=lambda r: (r[pos[sort_by]], r[pos["model_id"]]))
    lines = [",".join(_q(c) for c in ["Rank", "Model", "Model ID", "Filtered Score", *cols])]
    for r in body:
        cells = [_q(r[pos["rank"]]), _q(r[pos["model_name"]]), _q(r[pos["model_id"]]),
                 _q(r[pos["average_vision"]] if r[pos["average_vision"]] != "X" else "")]
        for c in cols:
            v = r[pos[c]]
            cells.append("" if v == "X" else _q(v))  # failed: empty unquoted; never run: ""
        lines.append(",".join(cells))
    return COMMENTS + "\n".join(lines) + "\n"


def plugin_info(table, leaves, n_models: int = 3) -> str:
    """plugin-info.csv for some models and every leaf (one benchmark that is not a column)."""
    out = io.StringIO()
    out.write(COMMENTS)
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["plugin_name", "plugin_type", "model_id", "metadata"])
    fams = ["resnet", "vit, resnet", ""]
    for i, mid in enumerate(list(table.scores.index[:n_models])):
        meta = {"architecture": "DCNN" if i != 1 else "DCNN, Transformer",
                "model_family": fams[i % 3], "total_parameter_count": 1000 * (i + 1),
                "total_layers": 50 + i, "model_size_mb": 10.5 * (i + 1), "runnable": True,
                "training_dataset": "", "task_specialization": "", "group": ""}
        w.writerow([table.models.loc[mid, "model_name"], "model", mid, json.dumps(meta)])
    for leaf in leaves:
        w.writerow([f"{leaf}_v1", "benchmark", "", json.dumps(
            {"Stimuli": f"stimuli of {leaf}", "Data": f"data of {leaf}", "Metric": "pls"})])
    w.writerow(["NotAColumn2099-pls_v2", "benchmark", "", json.dumps({"Stimuli": "s", "Data": "d",
                                                                       "Metric": "m"})])
    w.writerow(["gpt9", "model", "999999", json.dumps({"architecture": "Transformer"})])
    return out.getvalue()


def to_zip(today_text: str, plugins: str | None, path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("leaderboard.csv", today_text)
        if plugins is not None:
            z.writestr("plugin-info.csv", plugins)
    return path


# -- a small snapshot, written as the website does --------------------------------------------
TREE = {"average_vision": ["neural_vision", "behavior_vision"],
        "neural_vision": ["V1", "IT-pls"], "V1": ["V1-a", "V1-b"],
        "behavior_vision": ["Geirhos-ec", "i2n"], "engineering_vision": ["top1", "C-top1"]}
CEILING = {"V1-a": 0.8, "V1-b": 0.9, "IT-pls": 0.7, "Geirhos-ec": 0.5, "i2n": 0.6, "top1": 1.0,
           "C-top1": 1.0}
VERSION = {"V1-a": 1, "V1-b": 2, "IT-pls": 4, "Geirhos-ec": 1, "i2n": 2, "top1": 1, "C-top1": 2}


def _value(x: float) -> str:
    """The website's value string: 3 decimals truncated towards 0, '.-NN' when negative."""
    t = math.trunc(x * 1000)
    if t < 0:
        return f".-{-t:02d}"
    return "1.0" if t >= 1000 else f".{t:03d}"


def make_snapshot(n: int = 40, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    days = pd.Timestamp("2020-03-01", tz="UTC") + pd.to_timedelta(
        np.sort(rng.integers(0, 1300, n)), unit="D")
    g = rng.normal(size=n)
    records = []
    for i in range(n):
        ceiled = {}
        for leaf in CEILING:
            x = 0.45 + 0.15 * g[i] + 0.08 * rng.normal()
            ceiled[leaf] = float(np.clip(x, -0.03 if leaf == "i2n" else 0.01, 0.99))
        if i == 0:
            ceiled["i2n"] = -0.0123  # a negative score: written '.-12'
        absent = {"i2n"} if i % 7 == 3 else set()
        failed = {"IT-pls"} if i % 9 == 4 else set()
        present = {k: v for k, v in ceiled.items() if k not in absent | failed}
        rec = {"id": 100 + i, "rank": 0, "model": {"id": 100 + i, "name": f"Model {100 + i}",
                                                    "submitter": None},
               "public": True, "metadata": {"architecture": "DCNN", "model_family": "resnet"}
               if i % 2 else {}}
        entries = {}
        for leaf, c in present.items():
            raw = c * CEILING[leaf]
            err = (0.3 if leaf == "Geirhos-ec" else 0.004) * CEILING[leaf]
            unceiled = leaf in ("top1", "C-top1")
            entries[f"{leaf}_v{VERSION[leaf]}"] = {
                "value": "X" if unceiled else _value(c), "raw": raw,
                "error": None if unceiled else err, "color": "", "complete": 1,
                "timestamp": (days[i] + pd.Timedelta(hours=int(rng.integers(0, 48)))).isoformat(),
                "version": VERSION[leaf], "current_version": VERSION[leaf]}
        for leaf in failed:
            entries[f"{leaf}_v{VERSION[leaf]}"] = {"value": "X", "color": ""}
        full = {k: c * CEILING[k] for k, c in present.items()}  # aggregates: means of raw
        for parent in ["V1", "neural_vision", "behavior_vision", "average_vision",
                       "engineering_vision"]:
            kids = TREE[parent]
            if any(k in full for k in kids):  # as in the 2024 snapshot: mean of present ones
                full[parent] = float(np.mean([full[k] for k in kids if k in full]))
                entries[f"{parent}_v0"] = {"value": _value(full[parent]), "raw": full[parent],
                                           "error": None, "color": "", "complete": 1,
                                           "timestamp": None, "version": None,
                                           "current_version": 0}
        keys = list(entries)
        rng.shuffle(keys)
        rec.update({k: entries[k] for k in keys})
        records.append(rec)
    for j in range(2):  # language models: a language benchmark, vision aggregates all X
        rec = {"id": 900 + j, "rank": 0, "model": {"id": 900 + j, "name": f"Model {900 + j}",
                                                  "submitter": None}, "public": True,
               "metadata": {}}
        rec["Pereira2018.243sentences-linear_v1"] = {
            "value": ".700", "raw": 0.3, "error": None, "color": "", "complete": 1,
            "timestamp": "2023-04-29T14:37:55+00:00", "version": 1, "current_version": 1}
        for parent in TREE:
            rec[f"{parent}_v0"] = {"value": "X", "color": ""}
        records.append(rec)
    return records


def write_snapshot(path: Path, records, compress: bool = True) -> Path:
    data = json.dumps(records).encode()
    path.write_bytes(gzip.compress(data, mtime=0) if compress else data)
    return path


# -- today's CSV ---------------------------------------------------------------------------------
TODAY_TREE = {"average_vision": ["neural_vision", "behavior_vision"],
              "engineering_vision": ["top1", "top5"], "neural_vision": ["V1", "IT"],
              "behavior_vision": ["i2n", "ec"], "V1": ["V1-a", "V1-b"]}
TODAY_BFS = ["average_vision", "engineering_vision", "neural_vision", "behavior_vision", "top1",
             "top5", "V1", "IT", "i2n", "ec", "V1-a", "V1-b"]
TODAY_PRE = ["average_vision", "neural_vision", "V1", "V1-a", "V1-b", "IT", "behavior_vision",
             "i2n", "ec", "engineering_vision", "top1", "top5"]


def today_fixture(n: int = 8, seed: int = 3) -> str:
    """Today's layout by hand: model 2 failed on V1-b (empty unquoted), never ran IT and ec
    (""), and no engineering benchmark at all; model 5 has a score of exactly 0."""
    rng = np.random.default_rng(seed)
    lines = [",".join(_q(c) for c in ["Rank", "Model", "Model ID", "Filtered Score",
                                         *TODAY_BFS])]
    for i in range(n):
        v = {leaf: round(float(rng.uniform(0.05, 0.95)), 3)
             for leaf in ["top1", "top5", "IT", "i2n", "ec", "V1-a", "V1-b"]}
        if i == 5:
            v["i2n"] = 0.0
        gone = {"V1-b", "IT", "ec", "top1", "top5"} if i == 2 else set()
        for leaf in gone:
            v.pop(leaf)
        for parent in ["V1", "neural_vision", "behavior_vision", "average_vision",
                       "engineering_vision"]:
            kids = TODAY_TREE[parent]
            if any(k in v for k in kids):
                v[parent] = float(np.mean([v.get(k, 0.0) for k in kids]))
        cells = [_q(str(n - i)), _q(f"model-{i % 3}"), _q(str(50 + i)),
                 _q(_value(v["average_vision"]))]
        for c in TODAY_BFS:
            if c in v:
                cells.append(_q("0" if v[c] == 0 else _value(v[c])))
            else:
                cells.append("" if (i, c) == (2, "V1-b") else '""')
        lines.append(",".join(cells))
    return COMMENTS + "\n".join(lines) + "\n"


TODAY = today_fixture()


def test_today_csv_breadth_first_loads_in_pre_order():
    row = next(ln for ln in TODAY.splitlines() if ln.split(",")[2:3] == ['"52"'])
    assert row.endswith(",") and ',"",' in row  # failed: empty unquoted; never run: ""
    t = af.load_brainscore(io.StringIO(TODAY))
    assert list(t.scores.columns) == TODAY_PRE
    assert t.tree.to_dict() == {p: TODAY_TREE[p] for p in TODAY_PRE if p in TODAY_TREE}
    assert t.tree_check.ok and t.tree_check.n_parents == 5
    assert list(t.scores.index) == [str(50 + i) for i in range(8)]  # file order
    assert t.models.loc["50", "model_name"] == "model-0" and t.models.loc["50", "rank"] == 8
    np.testing.assert_array_equal(t.models["filtered_score"], t.scores["average_vision"])
    assert t.scores.loc["55", "i2n"] == 0.0
    # failed (empty unquoted) and never run ("") are both missing, and the summary says so
    assert t.status.loc["52", "V1-b"] == "missing" and t.status.loc["52", "IT"] == "missing"
    assert t.status.loc["52", "engineering_vision"] == "missing"
    assert t.status_counts()["failed"] == 0
    text = t.summary()
    assert "cannot be told apart" in text and "2018-01-01" in text and "2025-05-07" in text


def test_today_csv_without_filtered_score():
    rows = list(csv.reader(io.StringIO(TODAY.split("\n", 2)[2])))
    text = COMMENTS + "\n".join(",".join(_q(c) for c in r[:3] + r[4:]) for r in rows if r)
    t = af.load_brainscore(io.StringIO(text))
    assert "filtered_score" not in t.models.columns and t.scores.shape == (8, 12)


@pytest.mark.skipif(not CSV_2025.exists(), reason=f"real data not found: {CSV_2025}")
def test_today_layout_and_zip_match_older_export(tmp_path):
    old_text = CSV_2025.read_text(encoding="utf-8")
    old = af.load_brainscore(CSV_2025)
    today_text = to_today(old_text)
    (tmp_path / "leaderboard.csv").write_text(today_text, encoding="utf-8")
    new = af.load_brainscore(tmp_path / "leaderboard.csv")
    leaves = [c for c in old.scores.columns if old.tree.is_leaf(c)]
    z = to_zip(today_text, plugin_info(old, leaves), tmp_path / "leaderboard_export_x.zip")
    zipped = af.load_brainscore(z)
    for t in (new, zipped):
        assert list(t.scores.index) != list(old.scores.index)  # rows were re-sorted
        pd.testing.assert_frame_equal(t.scores.loc[old.scores.index], old.scores)
        assert t.tree == old.tree
        # every failed score became missing (indistinguishable in today's layout)
        assert t.status_counts()["failed"] == 0
        assert t.status_counts()["missing"] == sum(old.status_counts()[k]
                                                   for k in ("failed", "missing"))
    c_old = af.clean(old)
    for t in (new, zipped):
        c_new = af.clean(t)
        assert c_new.matrix.shape == c_old.matrix.shape == (229, 50)
        pd.testing.assert_frame_equal(c_new.matrix.loc[c_old.matrix.index], c_old.matrix)
        a = af.agreement(c_new.matrix, groups=c_new.domains, n_boot=0)
        assert round(a.mean.value, 3) == 0.198
    # the zip's metadata
    first = old.scores.index[0]
    assert zipped.models.loc[first, "model_family"] == "resnet"
    assert zipped.models.loc[old.scores.index[1], "model_family"] == "vit, resnet"
    assert zipped.models.loc[old.scores.index[1], "total_layers"] == 51
    assert zipped.models["architecture"].notna().sum() == 3
    assert zipped.benchmarks.loc[leaves[0], "stimuli"] == f"stimuli of {leaves[0]}"
    assert zipped.benchmarks.loc[leaves[0], "version"] == 1
    logged = set(zip(zipped.log["item"], zipped.log["kind"]))
    assert ("NotAColumn2099-pls", "benchmark_metadata") in logged and ("999999", "model_metadata") \
        in logged
    fam = af.model_families(zipped, level="architecture")
    assert fam[first] == "resnet"


def test_zip_without_plugin_info_and_without_leaderboard(tmp_path):
    z = to_zip(TODAY, None, tmp_path / "a.zip")
    t = af.load_brainscore(z)
    assert t.scores.shape == (8, 12) and any("no plugin-info.csv" in n for n in t.notes)
    with zipfile.ZipFile(tmp_path / "b.zip", "w") as zf:
        zf.writestr("plugin-info.csv", COMMENTS + "plugin_name,plugin_type,model_id,metadata\n")
        zf.writestr("README.txt", "hello")
    with pytest.raises(InputFileError, match=r"b\.zip: a zip export must hold leaderboard\.csv.*"
                                             r"this zip holds \['README\.txt', 'plugin-info\.csv'\]"):
        af.load_brainscore(tmp_path / "b.zip")


def test_zip_recognised_by_content_not_name(tmp_path):
    path = to_zip(TODAY, None, tmp_path / "scores.csv")  # a zip, whatever its name says
    assert af.load_brainscore(path).scores.shape == (8, 12)
    assert af.load_table(path).scores.shape == (8, 12)


# -- the snapshot ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def snap_path(tmp_path_factory):
    return write_snapshot(tmp_path_factory.mktemp("snap") / "snapshot.json.gz", make_snapshot())


@pytest.fixture(scope="module")
def snap(snap_path):
    return af.load_brainscore(snap_path)


def test_snapshot_loads_vision_domain(snap):
    t = snap
    assert t.n_models == 40
    # key order is shuffled: columns follow the tree's pre-order, average_* first
    assert list(t.scores.columns) == t.tree.nodes and t.tree.roots == ["average_vision",
                                                                       "engineering_vision"]
    assert {p: set(k) for p, k in t.tree.to_dict().items()} == {p: set(k) for p, k in
                                                                TREE.items()}
    assert t.tree_check.ok and t.tree_check.n_parents == 5
    assert t.tree.rule("V1")["missing"] == "skip"
    assert set(t.benchmarks["aggregate_rule"].dropna()) == {"mean_of_present"}
    assert t.tree_check.max_abs_error < 1e-12  # checked on raw, full precision
    assert t.aggregates_from == "raw"
    # left out: the language benchmark and the two language models, with reasons
    log = t.log.set_index("item")
    assert log.loc["Pereira2018.243sentences-linear", "kind"] == "benchmark"
    assert "not a vision benchmark" in log.loc["Pereira2018.243sentences-linear", "reason"]
    assert set(log.index[log["kind"] == "model"]) == {"900", "901"}
    assert t.models.loc["101", "model_family"] == "resnet" and t.models.loc["101", "model_name"] \
        == "Model 101"


def test_snapshot_values_status_versions_timestamps(snap):
    t = snap
    assert t.scores.loc["100", "i2n"] == -0.012  # '.-12'
    assert t.status.loc["104", "IT-pls"] == "failed" and np.isnan(t.scores.loc["104", "IT-pls"])
    assert t.status.loc["103", "i2n"] == "missing"
    # X with a raw value: a benchmark without a ceiling; the score is the raw value
    assert t.status.loc["100", "top1"] == "ok"
    assert t.scores.loc["100", "top1"] == t.raw.loc["100", "top1"]
    assert t.benchmarks.loc["top1", "n_unceiled"] == 40
    assert t.benchmarks.loc["IT-pls", "version"] == 4 and t.versions.loc["100", "V1-b"] == 2
    assert np.isnan(t.benchmarks.loc["V1", "version"]) or t.benchmarks.loc["V1", "version"] == 0
    assert bool(t.benchmarks.loc["V1", "aggregate"]) and not t.benchmarks.loc["V1-a", "aggregate"]
    assert t.timestamps["V1-a"].notna().all() and t.timestamps["V1"].isna().all()
    assert str(t.timestamps["V1-a"].dt.tz) == "UTC"
    # aggregates' raw: full precision
    assert abs(t.raw.loc["100", "average_vision"] - t.scores.loc["100", "average_vision"]) < 0.001


def test_snapshot_errors_on_ceiled_scale_and_their_kind(snap):
    t = snap
    ok = t.errors["IT-pls"].notna() & (t.scores["IT-pls"].abs() >= 0.1)
    # error x value / raw = raw-scale error / ceiling; value is truncated to 3 decimals
    np.testing.assert_allclose(t.errors.loc[ok, "IT-pls"], 0.004, rtol=0.02)
    kinds = t.benchmarks["error_kind"]
    assert kinds["IT-pls"] == kinds["V1-a"] == kinds["i2n"] == "standard_error"
    assert kinds["Geirhos-ec"] == "spread_over_subjects"
    assert kinds["average_vision"] == kinds["top1"] == "none"
    assert t.benchmarks.loc["Geirhos-ec", "implied_reliability"] < 0
    assert "spread_over_subjects" in t.summary() and "do not use them as standard errors" in \
        t.summary()
    assert np.isnan(t.errors.loc["100", "average_vision"])


def test_snapshot_plain_json_same_as_gzip(tmp_path, snap):
    plain = af.load_brainscore(write_snapshot(tmp_path / "s.txt", make_snapshot(), False))
    pd.testing.assert_frame_equal(plain.scores, snap.scores)
    pd.testing.assert_frame_equal(plain.errors, snap.errors)


def test_snapshot_domain_none_and_unknown(snap_path):
    t = af.load_brainscore(snap_path, domain=None, tree=False)
    assert "Pereira2018.243sentences-linear" in t.scores.columns and t.n_models == 42
    with pytest.raises(ParameterError, match=r"domain='language': .* no aggregate named "
                                             r"'average_language'"):
        af.load_brainscore(snap_path, domain="language")


def test_snapshot_pickles(snap):
    u = pickle.loads(pickle.dumps(snap))
    for name in ("scores", "status", "errors", "raw", "timestamps", "versions", "benchmarks",
                 "models", "log"):
        pd.testing.assert_frame_equal(getattr(u, name), getattr(snap, name))
    assert u.tree == snap.tree and u.notes == snap.notes and u.tree_check == snap.tree_check
    assert u.tree.rules == snap.tree.rules and u.tree.rule("V1")["missing"] == "skip"
    sub = snap.subset(benchmarks=["V1", "V1-a", "V1-b", "i2n"])
    assert sub.tree.rule("V1") == snap.tree.rule("V1") and set(sub.tree.roots) == {"V1", "i2n"}


def test_snapshot_bad_input(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps({"models": []}))
    with pytest.raises(DataError, match=r"a\.json: a Brain-Score snapshot is a JSON list of model "
                                        r"records .* this file holds dict"):
        af.load_brainscore(tmp_path / "a.json")
    (tmp_path / "b.json").write_text(json.dumps([{"model": {"id": 1}}, 3]))
    with pytest.raises(DataError, match=r"b\.json: record 1 is a int, not a model record"):
        af.load_brainscore(tmp_path / "b.json")
    (tmp_path / "c.json").write_text("[{")
    with pytest.raises(InputFileError, match=r"c\.json: looks like JSON but is not valid JSON"):
        af.load_brainscore(tmp_path / "c.json")
    recs = make_snapshot(5)
    recs[1]["V1-a_v1"]["value"] = "abc"
    with pytest.raises(DataError, match=r"record 1 \(model id 101\), 'V1-a_v1': value 'abc' is "
                                        r"not a score"):
        af.load_brainscore(write_snapshot(tmp_path / "d.json.gz", recs))


# -- as_of and trend ------------------------------------------------------------------------------
def test_as_of_recomputes_aggregates_with_website_rule(snap):
    date = "2021-06-30"
    t = snap.as_of(date)
    cutoff = pd.Timestamp(date, tz="UTC") + pd.Timedelta(days=1)
    leaves = [c for c in snap.scores.columns if snap.tree.is_leaf(c)]
    assert (t.timestamps[leaves].stack().dropna() < cutoff).all()
    later = snap.timestamps[leaves].min(axis=1) >= cutoff
    assert set(t.scores.index) == set(snap.scores.index[~later]) and 0 < t.n_models < 40
    assert set(t.log.loc[t.log["reason"].str.contains(date), "item"]) == set(
        snap.scores.index[later])
    # every parent is now exactly the mean of its children's raw values, missing = 0
    assert t.tree_check.max_abs_error < 1e-12
    m = t.scores.index[0]
    kids = t.tree.children("neural_vision")
    assert t.scores.loc[m, "neural_vision"] == pytest.approx(
        t.raw.loc[m, kids].where(t.status.loc[m, kids] == "ok").mean())  # mean of present
    gap = t.status[kids].ne("ok").any(axis=1) & t.status[kids].eq("ok").any(axis=1)
    assert gap.any()
    g = gap.index[gap][0]
    zero = snap.as_of(date, rule="missing_as_zero")
    assert zero.scores.loc[g, "neural_vision"] == pytest.approx(
        t.raw.loc[g, kids].where(t.status.loc[g, kids] == "ok").fillna(0).mean())
    assert zero.scores.loc[g, "neural_vision"] < t.scores.loc[g, "neural_vision"]
    assert "as of 2021-06-30" in t.source and any("2021-06-30" in n for n in t.notes)
    # a date after every score keeps all leaf scores
    full = snap.as_of("2030-01-01")
    pd.testing.assert_frame_equal(full.scores[leaves], snap.scores[leaves])
    assert (full.scores["average_vision"] - snap.scores["average_vision"]).abs().max() <= 0.001


def test_as_of_errors(snap):
    with pytest.raises(DataError, match=r"as_of\('2019-01-01'\) is before the first score of "
                                        r"snapshot\.json\.gz \(2020-03-0\d"):
        snap.as_of("2019-01-01")
    with pytest.raises(ParameterError, match="date must be a date"):
        snap.as_of("yesterday-ish")
    old = af.load_brainscore(io.StringIO(TODAY))
    with pytest.raises(DataError, match="as_of needs the date of every score, and this table "
                                        "has no timestamps"):
        old.as_of("2022-01-01")


def test_trend_on_snapshot_fixture(snap):
    res = af.trend(snap, ["2022-12-31", "2021-06-30"], n_boot=30, seed=1)
    assert res.dates == ("2021-06-30", "2022-12-31")
    assert res.n_models_table["2021-06-30"] < res.n_models_table["2022-12-31"]
    f = res.to_frame()
    assert {"n_models", "n_metrics", "agreement.mean", "k.parallel_pc",
            "r2.neural_vision"} <= set(f["quantity"])
    est = res.agreement["2022-12-31"]["mean"]
    assert est.ci[0] <= est.value <= est.ci[1] and est.n_boot == 30
    assert "| agreement.mean |" in res.to_markdown()
    again = af.trend(snap, ["2021-06-30", "2022-12-31"], n_boot=30, seed=1)
    pd.testing.assert_frame_equal(again.to_frame(), f)
    json.dumps(res.to_dict(), allow_nan=False)
    with pytest.raises(DataError, match="before the first score"):
        af.trend(snap, ["2019-01-01", "2022-12-31"], n_boot=10)
    with pytest.raises(ParameterError, match="is not a date"):
        af.trend(snap, ["2022-13-45"], n_boot=10)


def test_trend_cli_writes_table_and_figure(snap_path, tmp_path):
    from alignfactors.cli import main

    out = tmp_path / "trend"
    code = main(["trend", str(snap_path), "--dates", "2021-06-30,2022-12-31", "--out", str(out),
                 "--n-boot", "20", "--quiet"])
    assert code == 0
    md = (out / "trend.md").read_text()
    assert "| quantity | 2021-06-30 | 2022-12-31 |" in md and "![trend](trend.png)" in md
    assert (out / "trend.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads((out / "trend.json").read_text())["options"]["n_boot"] == 20


# -- the real snapshot ------------------------------------------------------------------------------
@pytest.mark.skipif(not SNAPSHOT.exists(), reason=f"real data not found: {SNAPSHOT}")
def test_real_snapshot():
    t = af.load_brainscore(SNAPSHOT)
    assert t.tree_check.ok and "average_vision" in t.tree.roots
    assert set(t.tree.children("average_vision")) == {"neural_vision", "behavior_vision"}
    kinds = t.benchmarks["error_kind"]
    ec = [b for b in kinds.index if b.startswith("Geirhos2021") and b.endswith(
        "-error_consistency") and t.tree.is_leaf(b)]
    assert len(ec) == 17 and (kinds[ec] == "spread_over_subjects").all()
    assert kinds["MajajHong2015.IT-pls"] == "standard_error"
    assert not any(c.startswith(("syntaxgym", "Pereira2018", "Futrell2018", "Blank2014"))
                   for c in t.scores.columns)
