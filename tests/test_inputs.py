"""Bad and unusual inputs to the loaders: each has one decided behaviour.

Valid variants load to the same table as the plain file; invalid ones raise an
``AlignFactorsError`` subclass whose message names the file, the row/line or column, and
says what to do.

=====================================================  ==========================================
input                                                  behaviour
=====================================================  ==========================================
empty file (or only blank lines)                       InputFileError "the file is empty"
header only                                            InputFileError "header only, no data rows"
';'- or tab-separated                                  InputFileError "looks ';'-separated ...
                                                       re-save it as comma-separated"
``X`` / empty cell                                     NaN, status "failed" / "missing"
``n/a``, ``NA``, ``NaN``, ``nan``, ``null``, ``None``  NaN, status "missing"
``—``, ``-``, ``?``                                    DataError naming column + model_id, hint:
                                                       empty = not evaluated, X = failed
``1,5`` (quoted decimal comma)                         DataError, hint "write '1.5'"
``0.5%``                                               DataError, hint "without '%'"
``inf``, ``-inf``, ``Infinity``                        DataError "infinite score ... write a
                                                       finite number or leave the cell empty"
``1e-3``, ``+.5``, ``1.``, `` .5 `` (spaces)           numbers
duplicate column names                                 DataError "duplicate columns: 'a' at
                                                       columns [4, 5]; rename or delete"
duplicate model ids                                    DataError naming id and data rows
empty model_id                                         DataError naming the data row
PNG / PDF / xlsx bytes                                 InputFileError "not a text file (a PNG
                                                       image) ... CSV UTF-8"
random bytes                                           InputFileError "not a text file" or
                                                       "not UTF-8 text (byte N)"
UTF-16 with BOM                                        decoded and loaded like UTF-8
UTF-16 without BOM                                     InputFileError "looks like UTF-16 ...
                                                       re-save it as UTF-8 CSV"
Latin-1 (non-UTF-8) text                               InputFileError "not UTF-8 text (byte N)"
path that does not exist                               InputFileError "file not found"
a directory                                            InputFileError "is a directory"
row with more / fewer fields than the header           InputFileError naming the line number
parent != mean(children) on a model                    TreeError naming column, model_id, both
                                                       values, and tree=/tree=False
... on <= 5% of >= 20 models (mismatch allowance)      loads; cells listed in tree_check
                                                       (infer_tree(max_mismatch=0) -> TreeError)
a single model                                         loads; clean -> DataError "nothing usable"
fewer models than metrics                              loads; clean keeps all; agreement works
                                                       (undefined resamples counted)
all-missing column / constant column                   loads; clean drops it with its reason
10,000-character names                                 load; error messages cut them to 60 chars
Unicode, quotes, commas inside quotes                  load unchanged
BOM, CRLF, gzip (by magic bytes, any suffix)           load like the plain file
Excel CSV: BOM + CRLF + trailing empty columns +       loads like the plain file (padding
quoted numbers + trailing ",,,," and blank lines       columns and all-empty rows are dropped)
``layers`` column                                      metadata (in ``models``)
unknown non-numeric metadata after ``rank``            metadata (in ``models``)
unknown numeric column after ``rank`` (``num_params``)  a benchmark (root leaf, no domain: clean
                                                       leaves it out); metadata=["num_params"]
                                                       makes it metadata
columns reordered (parent after its children)          TreeError: says the columns must be in
                                                       pre-order, "were they reordered?" ->
                                                       restore the order or pass tree=
children reordered within a parent                     loads (still pre-order); same tree
                                                       with children in the new order
=====================================================  ==========================================
"""

import gzip
import io
import re
import warnings

import numpy as np
import pandas as pd
import pytest

from alignfactors.agreement import agreement
from alignfactors.cleaning import clean
from alignfactors.errors import (AlignFactorsError, DataError, DegenerateDataWarning,
                                 InputFileError, TreeError)
from alignfactors.io.loading import load_brainscore, load_table
from alignfactors.io.tree_inference import infer_tree

HEADER = "model_name,model_id,rank,average_vision,a,b\n"
ROWS = "m,1,1,.5,.4,.6\nm,2,2,.3,.4,.2\nm,3,3,.35,.5,.2\n"
PLAIN = HEADER + ROWS


def _write(tmp_path, data, name="lb.csv"):
    p = tmp_path / name
    if isinstance(data, bytes):
        p.write_bytes(data)
    else:
        p.write_text(data, encoding="utf-8")
    return p


def _same_as_plain(t):
    ref = load_brainscore(io.StringIO(PLAIN))
    pd.testing.assert_frame_equal(t.scores, ref.scores)
    pd.testing.assert_frame_equal(t.status, ref.status)
    assert t.tree == ref.tree and t.tree.to_dict() == {"average_vision": ["a", "b"]}
    assert t.models["model_name"].tolist() == ["m", "m", "m"]


# --- files that are not usable CSV ----------------------------------------------------------

@pytest.mark.parametrize("data, match", [
    ("", r"lb\.csv: the file is empty; expected a header row"),
    ("\n\r\n  \n", r"lb\.csv: the file is empty"),
    (HEADER, r"lb\.csv: header only, no data rows \(columns \['model_name'"),
    (HEADER + ",,,,,\n\n", r"header only, no data rows"),
    (PLAIN.replace(",", ";"), r"lb\.csv: looks ';'-separated \(header 'model_name;model_id.*"
                              r"re-save it as comma-separated"),
    (PLAIN.replace(",", "\t"), r"looks tab-separated"),
    (HEADER + "m,1,1,.5,.4,.6,.7\n", r"lb\.csv: line 2 has 7 fields but the header names 6 "
                                     r"columns; .*quote it"),
    (HEADER + "m,1,1,.5,.4,.6\nm,2,2,.5\n", r"lb\.csv: line 3 has 4 fields but the header names "
                                             r"6 columns"),
    (b"\x89PNG\r\n\x1a\n" + bytes(range(256)), r"lb\.csv: not a text file \(a PNG image\); "
                                               r"expected a CSV file"),
    (b"PK\x03\x04" + bytes(100), r"lb\.csv: a zip/xlsx archive that cannot be read as a zip"),
    (np.random.default_rng(0).bytes(2000), r"lb\.csv: not a text file \(binary content\)"),
    (bytes(b for b in np.random.default_rng(1).bytes(3000) if b), r"lb\.csv: not UTF-8 text "
                                                                  r"\(byte \d+\); re-save"),
    (PLAIN.encode("utf-16-le"), r"looks like UTF-16 text without a byte-order mark; re-save "
                                r"it as UTF-8 CSV"),
    (PLAIN.replace("m,1", "caf\u00e9,1").encode("latin-1"), r"not UTF-8 text \(byte 47\)"),
    (b"\x1f\x8b\x08\x00garbage", r"looks gzip-compressed but cannot be decompressed"),
])
def test_unreadable_files(tmp_path, data, match):
    with pytest.raises(InputFileError, match=match):
        load_brainscore(_write(tmp_path, data))


def test_missing_path_and_directory(tmp_path):
    with pytest.raises(InputFileError, match=r"file not found: '.*nope\.csv'; check the path"):
        load_brainscore(tmp_path / "nope.csv")
    with pytest.raises(InputFileError, match=r"is a directory, not a CSV file; pass the path"):
        load_brainscore(tmp_path)
    with pytest.raises(InputFileError, match=r"file not found"):
        load_table(str(tmp_path / "nope.csv"))
    with pytest.raises(FileNotFoundError if False else InputFileError):
        load_table(tmp_path)


def test_every_input_error_is_a_valueerror_of_the_family(tmp_path):
    for data in ("", HEADER, PLAIN.replace(",", ";"), HEADER + "m,1,1,.5,.4,n/e\n"):
        with pytest.raises(AlignFactorsError) as info:
            load_brainscore(_write(tmp_path, data))
        assert isinstance(info.value, ValueError) and "lb.csv" in str(info.value)


# --- cells ----------------------------------------------------------------------------------

@pytest.mark.parametrize("token", ["n/a", "N/A", "NA", "NaN", "nan", "null", "None", ""])
def test_missing_tokens(token):
    t = load_brainscore(io.StringIO(HEADER + f"m,1,1,.5,.4,.6\nm,2,2,.3,.4,{token}\n"),
                        tree=False)
    assert t.status.loc["2", "b"] == "missing" and np.isnan(t.scores.loc["2", "b"])


@pytest.mark.parametrize("token, hint", [
    ("\u2014", r"leave the cell empty if the model was not evaluated, or write X"),
    ("-", r"leave the cell empty"),
    ("?", r"leave the cell empty"),
    ('"1,5"', r"a decimal comma\? write '1\.5'"),
    ("0.5%", r"a percentage\? write the number without '%'"),
    ("high", r"allowed: numbers with '\.' as decimal point, 'X' = failed, empty = missing\)$"),
])
def test_non_numeric_tokens(token, hint):
    text = HEADER + f"m,1,1,.5,.4,.6\nm,2,2,.3,.4,{token}\n"
    shown = re.escape(token.strip('"'))
    with pytest.raises(DataError, match=rf"buffer: column 'b' has the non-numeric value "
                                        rf"'{shown}' for model_id '2' .*{hint}"):
        load_brainscore(io.StringIO(text))


@pytest.mark.parametrize("token", ["inf", "-inf", "Infinity", "+INF"])
def test_infinite_tokens(token):
    with pytest.raises(DataError, match=rf"infinite score '{re.escape(token)}' for model_id '1' "
                                        r"in column 'a'; write a finite number"):
        load_brainscore(io.StringIO(HEADER + f"m,1,1,.5,{token},.6\n"))


@pytest.mark.parametrize("token, value", [("1e-3", 0.001), ("+.5", 0.5), ("1.", 1.0),
                                          ("  .5 ", 0.5), ('" .25"', 0.25), ("-0.1", -0.1),
                                          ("1.2", 1.2)])
def test_number_spellings(token, value):
    t = load_brainscore(io.StringIO(HEADER + f"m,1,1,.5,.4,{token}\n"), tree=False)
    assert t.scores.loc["1", "b"] == value and t.status.loc["1", "b"] == "ok"


def test_duplicates():
    with pytest.raises(DataError, match=r"buffer: duplicate columns: 'a' at columns \[4, 6\]; "
                                        r"rename or delete the repeats"):
        load_brainscore(io.StringIO("model_name,model_id,rank,a,b,a\nm,1,1,.4,.5,.6\n"))
    with pytest.raises(DataError, match=r"duplicate model ids \['1'\] \(data rows \[1, 3\] share "
                                        r"'1'\); each model_id must be unique"):
        load_brainscore(io.StringIO(HEADER + "m,1,1,.5,.4,.6\nm,2,2,.3,.4,.2\nn,1,3,.5,.4,.6\n"))
    with pytest.raises(DataError, match=r"empty model_id in data row 2 \(model_name 'n'\)"):
        load_brainscore(io.StringIO(HEADER + "m,1,1,.5,.4,.6\nn,,2,.3,.4,.2\n"))
    with pytest.raises(DataError, match=r"column 5 of the header has no name; name it"):
        load_brainscore(io.StringIO("model_name,model_id,rank,a,,b\nm,1,1,.4,.5,.6\n"))


# --- encodings, containers, Excel -----------------------------------------------------------

@pytest.mark.parametrize("variant", ["bom", "crlf", "bom_crlf", "gzip", "utf16", "utf16_be",
                                     "excel"])
def test_valid_variants_load_like_plain(tmp_path, variant):
    data = PLAIN.encode()
    if variant == "bom":
        data = b"\xef\xbb\xbf" + data
    elif variant == "crlf":
        data = data.replace(b"\n", b"\r\n")
    elif variant == "bom_crlf":
        data = b"\xef\xbb\xbf" + data.replace(b"\n", b"\r\n")
    elif variant == "gzip":
        data = gzip.compress(data)
    elif variant == "utf16":
        data = PLAIN.encode("utf-16")
    elif variant == "utf16_be":
        data = b"\xfe\xff" + PLAIN.encode("utf-16-be")
    elif variant == "excel":
        lines = [HEADER.strip() + ",,"]
        for row in ROWS.strip().split("\n"):
            cells = row.split(",")
            lines.append(",".join(cells[:3] + [f'"{c}"' for c in cells[3:]]) + ",,")
        lines += [",,,,,,,", ",,,,,,,", "", ""]
        data = ("\ufeff" + "\r\n".join(lines)).encode("utf-8")
    _same_as_plain(load_brainscore(_write(tmp_path, data)))


def test_unicode_quotes_commas_and_long_names():
    bench = '"V1 \u00fc, \u201cq\u201d ""x"""'
    long = "b" * 10_000
    text = (f"model_name,model_id,rank,{bench},{long}\n"
            '"r\u00e9s""net, 50",\u03b1\u03b2,1,.4,.5\n'
            "\u6a21\u578b,\U0001f9e0,2,.3,.1\n")
    t = load_brainscore(io.StringIO(text))
    assert list(t.scores.columns) == ['V1 \u00fc, \u201cq\u201d "x"', long]
    assert list(t.scores.index) == ["\u03b1\u03b2", "\U0001f9e0"]
    assert t.models["model_name"].tolist() == ['r\u00e9s"net, 50', "\u6a21\u578b"]
    assert t.tree.leaves() == list(t.scores.columns)
    bad = text.replace(".1\n", "oops\n")
    with pytest.raises(DataError) as info:
        load_brainscore(io.StringIO(bad))
    assert len(str(info.value)) < 400 and "'bbbbb" in str(info.value)


# --- metadata columns and column order ------------------------------------------------------

def test_layers_and_unknown_metadata():
    t = load_brainscore(io.StringIO(
        "model_name,model_id,rank,layers,average_vision,a,b\n"
        "m,1,1,features.12,.5,.4,.6\nm,2,2,layer4,.3,.4,.2\n"))
    assert list(t.models.columns) == ["model_name", "rank", "layers"]
    assert list(t.scores.columns) == ["average_vision", "a", "b"]
    t = load_brainscore(io.StringIO(
        "model_name,model_id,rank,submitter,public,visual_degrees,average_vision,a,b\n"
        "m,1,1,me,True,8,.5,.4,.6\nm,2,2,you,False,8,.3,.4,.2\n"))
    assert list(t.models.columns) == ["model_name", "rank", "submitter", "public",
                                      "visual_degrees"]
    assert t.tree.to_dict() == {"average_vision": ["a", "b"]}
    text = ("model_name,model_id,rank,num_params,neural_x,a,b\n"
            "m,1,1,11000000,.5,.4,.6\nm,2,2,25000000,.3,.4,.2\nm,3,3,5,.3,.2,.4\n")
    t = load_brainscore(io.StringIO(text))
    assert t.tree.roots == ["num_params", "neural_x"] and t.tree.domain("num_params") is None
    assert "num_params" not in clean(t).matrix.columns
    t = load_brainscore(io.StringIO(text), metadata=["num_params"])
    assert t.models["num_params"].tolist() == ["11000000", "25000000", "5"]
    assert list(t.scores.columns) == ["neural_x", "a", "b"]


def test_all_missing_leading_column_is_a_benchmark():
    t = load_brainscore(io.StringIO("model_name,model_id,rank,a,b\nm,1,1,,.4\nm,2,2,X,.6\n"))
    assert list(t.scores.columns) == ["a", "b"]
    assert t.status["a"].tolist() == ["missing", "failed"]


def test_reordered_columns_still_load():
    # the tree comes from the values, not the column order: an aggregate after its children loads
    text = "model_name,model_id,rank,a,b,average_vision\nm,1,1,.4,.6,.5\nm,2,2,.4,.2,.3\n"
    t = load_brainscore(io.StringIO(text))
    assert t.tree.children("average_vision") == ["a", "b"] and t.tree_check.ok
    t = load_brainscore(io.StringIO(text), tree={"average_vision": ["a", "b"]})
    assert t.tree.roots == ["average_vision"] and t.tree_check.ok
    # an aggregate-named column that is the mean of nothing still fails clearly
    bad = "model_name,model_id,rank,a,b,average_vision\nm,1,1,.4,.6,.9\nm,2,2,.4,.2,.3\n"
    with pytest.raises(TreeError, match=r"'average_vision' looks like an aggregate but is not the "
                                        r"mean of any set of other columns.*Pass tree="):
        load_brainscore(io.StringIO(bad))


def test_reordered_real_export(brainscore_path):
    raw = pd.read_csv(brainscore_path, dtype=str, keep_default_na=False)
    meta = ["model_name", "model_id", "rank"]
    bench = [c for c in raw.columns if c not in meta]
    ref = load_brainscore(brainscore_path)
    # children of neural_vision in another order: still pre-order, same tree up to order
    v = ref.tree
    regions = v.children("neural_vision")
    order = ["average_vision", "neural_vision"]
    for r in reversed(regions):
        order += [r, *v.descendants(r)]
    order += [c for c in bench if c not in order]
    t = load_brainscore(io.StringIO(raw[meta + order].to_csv(index=False)))
    assert t.tree.children("neural_vision") == list(reversed(regions))
    assert {p: sorted(c) for p, c in t.tree.to_dict().items()} == \
        {p: sorted(c) for p, c in ref.tree.to_dict().items()}
    # alphabetically sorted columns: not pre-order any more, the same tree from the values
    # (up to the one pair of equal columns, a parent with a single child: the values cannot
    # order them, so the first in the file is the parent, and a note says so)
    t = load_brainscore(io.StringIO(raw[meta + sorted(bench)].to_csv(index=False)))
    pair = {"V1-surround_modulation": "Marques2020_Cavanaugh2002-surround_suppression_index"}
    pair.update({v: k for k, v in pair.items()})
    assert {pair.get(p, p): sorted(pair.get(c, c) for c in cs)
            for p, cs in t.tree.to_dict().items()} == \
        {p: sorted(c) for p, c in ref.tree.to_dict().items()}
    assert any("are equal on every model" in n for n in t.tree_check.notes)


# --- tree consistency -----------------------------------------------------------------------

def _agg_rows(n, bad=()):
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        a, b = np.round(rng.uniform(0, 1, 2), 3)
        avg = round((a + b) / 2, 3) + (0.2 if i in bad else 0.0)
        rows.append(f"m,{i},{i},{avg:.3f},{a:.3f},{b:.3f}")
    return HEADER + "\n".join(rows) + "\n"


def test_parent_inconsistent_with_children():
    with pytest.raises(TreeError, match=r"column 'average_vision' looks like an aggregate but is "
                                        r"not the mean of any set of other columns; closest: the "
                                        r"mean of 2 \('a', 'b'\) differs on model_id '3' .*"
                                        r"tree=False"):
        load_brainscore(io.StringIO(_agg_rows(5, bad={3})))
    # the mismatch allowance: 1 bad cell of 20 models (5%) is accepted and listed
    t = load_brainscore(io.StringIO(_agg_rows(20, bad={7})))
    assert t.tree.children("average_vision") == ["a", "b"]
    assert t.tree_check.n_mismatched == 1 and t.tree_check.mismatches[0][:2] == (
        "average_vision", "7")
    assert not t.tree_check.ok
    with pytest.raises(TreeError, match=r"'average_vision' looks like an aggregate"):
        infer_tree(t.scores, max_mismatch=0)
    with pytest.raises(TreeError):  # 2 of 20 is beyond the 5% allowance
        load_brainscore(io.StringIO(_agg_rows(20, bad={3, 7})))
    flat = load_brainscore(io.StringIO(_agg_rows(5, bad={3})), tree=False)
    assert flat.tree.leaves() == ["average_vision", "a", "b"]


# --- shapes the analyses must cope with -----------------------------------------------------

def test_single_model_loads_but_does_not_clean():
    t = load_brainscore(io.StringIO(HEADER + "m,1,1,.5,.4,.6\n"))
    assert t.n_models == 1 and t.tree.children("average_vision") == ["a", "b"]
    with pytest.raises(DataError, match=r"nothing usable is left after cleaning buffer: 1 models"):
        clean(t)


def test_fewer_models_than_metrics():
    rng = np.random.default_rng(3)
    cols = [f"m{j}" for j in range(12)]
    body = "\n".join(f"net,{i},{i}," + ",".join(f"{v:.3f}" for v in rng.uniform(size=12))
                     for i in range(5))
    t = load_brainscore(io.StringIO("model_name,model_id,rank," + ",".join(cols) + "\n" + body))
    c = clean(t)
    assert c.matrix.shape == (5, 12) and c.log.empty
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateDataWarning)
        res = agreement(c.matrix, n_boot=200, seed=0)
    assert res.matrix.shape == (12, 12) and np.isfinite(res.mean.value)
    assert -1 <= res.mean.ci[0] <= res.mean.ci[1] <= 1


def test_all_missing_and_constant_columns_are_dropped_with_reasons():
    text = ("model_name,model_id,rank,a,b,c,d\n"
            "m,1,1,.1,X,.5,.3\nm,2,2,.2,,.5,.1\nm,3,3,.3,X,.5,.2\nm,4,4,.4,,.5,.6\n")
    t = load_brainscore(io.StringIO(text))
    assert t.status_counts(["b"]) == {"ok": 0, "failed": 2, "missing": 2}
    c = clean(t)
    assert list(c.matrix.columns) == ["a", "d"]
    reasons = dict(zip(c.log["item"], c.log["reason"]))
    assert reasons["b"].startswith("4 of 4 models missing (100% > max_missing=50%)")
    assert reasons["c"].startswith("constant over the 4 kept models")


def test_load_table_shares_the_checks(tmp_path):
    with pytest.raises(InputFileError, match=r"wide\.csv: line 3 has 4 fields"):
        load_table(_write(tmp_path, "net,V1,i2n\nalex,.2,.5\nvgg,.3,X,9\n", "wide.csv"))
    with pytest.raises(DataError, match=r"column 'i2n' has the non-numeric value '1,5' .*"
                                        r"write '1\.5'"):
        load_table(_write(tmp_path, 'net,V1,i2n\nalex,.2,.5\nvgg,.3,"1,5"\n', "wide.csv"))
    t = load_table(_write(tmp_path, "\ufeffnet,V1,i2n,,\r\nalex,.2,.5,,\r\nvgg,.3,X,,\r\n,,,,\r\n",
                          "wide.csv"))
    assert t.scores.shape == (2, 2) and t.status.loc["vgg", "i2n"] == "failed"
