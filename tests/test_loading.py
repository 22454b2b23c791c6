import csv
import gzip
import io

import numpy as np
import pytest

from alignfactors.errors import DataError, InputFileError, TreeError
from alignfactors.io.loading import load_brainscore, load_table

MINI_TREE = {
    "average_vision": ["neural_vision", "behavior_vision"],
    "neural_vision": ["V1", "IT"],
    "V1": ["v1_a", "v1_b"],
    "behavior_vision": ["b1", "b2"],
    "engineering_vision": ["e1", "e2"],
}


def test_mini_export_by_hand(mini_path):
    t = load_brainscore(mini_path)
    assert t.source == "mini_brainscore.csv"
    assert list(t.scores.index) == ["101", "102", "103", "104", "105"]
    assert list(t.scores.columns)[:3] == ["average_vision", "neural_vision", "V1"]
    assert t.tree.to_dict() == MINI_TREE
    assert t.tree.roots == ["average_vision", "engineering_vision"]
    assert (t.tree_check.n_parents, t.tree_check.n_cells_checked) == (5, 22)
    assert t.tree_check.max_abs_error < 1e-9
    # metadata, repeated model_name, rank with a hole
    assert t.models["model_name"].tolist() == ["alexnet", "alexnet", "resnet50", "cornet_s",
                                               "vgg16"]
    assert list(t.models.columns) == ["model_name", "rank", "layers"]
    assert np.isnan(t.models.loc["104", "rank"]) and t.models.loc["105", "rank"] == 4
    # values > 1 and < 0 kept
    assert t.scores.loc["102", "IT"] == 1.1 and t.scores.loc["103", "b1"] == -0.1
    # X = failed, empty = missing
    assert t.status.loc["102", "v1_a"] == "failed" and np.isnan(t.scores.loc["102", "v1_a"])
    assert t.status.loc["102", "b2"] == "missing"
    assert t.status.loc["104", "behavior_vision"] == "failed"
    assert t.status_counts() == {"ok": 48, "failed": 5, "missing": 7}
    assert t.domains.to_dict() == {"v1_a": "neural", "v1_b": "neural", "IT": "neural",
                                   "b1": "behavioral", "b2": "behavioral",
                                   "e1": "engineering", "e2": "engineering"}
    assert "5 failed, 7 missing" in str(t)


@pytest.mark.parametrize("variant", ["crlf", "bom", "bom_crlf", "gzip", "gzip_no_suffix",
                                     "text_handle", "binary_handle"])
def test_encodings_and_containers(mini_path, tmp_path, variant):
    data = mini_path.read_bytes()
    ref = load_brainscore(mini_path)
    if "crlf" in variant:
        data = data.replace(b"\n", b"\r\n")
    if "bom" in variant:
        data = b"\xef\xbb\xbf" + data
    if variant == "gzip":
        path = tmp_path / "lb.csv.gz"
        path.write_bytes(gzip.compress(data))
        src = path
    elif variant == "gzip_no_suffix":
        path = tmp_path / "lb.csv"
        path.write_bytes(gzip.compress(data))
        src = path
    elif variant == "text_handle":
        src = io.StringIO(data.decode("utf-8"))
    elif variant == "binary_handle":
        src = io.BytesIO(data)
    else:
        path = tmp_path / "lb.csv"
        path.write_bytes(data)
        src = str(path)
    t = load_brainscore(src)
    assert t.scores.equals(ref.scores) and t.status.equals(ref.status)
    assert t.models["model_name"].iloc[0] == "alexnet" and t.tree == ref.tree


def _write(tmp_path, text, name="lb.csv"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


HEADER = "model_name,model_id,rank,average_vision,a,b\n"


def test_file_errors(tmp_path):
    with pytest.raises(InputFileError, match=r"file not found: '.*nope\.csv'"):
        load_brainscore(tmp_path / "nope.csv")
    with pytest.raises(InputFileError, match=r"lb\.csv: the file is empty"):
        load_brainscore(_write(tmp_path, "\n \n"))
    with pytest.raises(InputFileError, match=r"header only, no data rows"):
        load_brainscore(_write(tmp_path, HEADER))
    png = tmp_path / "plot.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(50))
    with pytest.raises(InputFileError, match=r"plot\.png: not a text file"):
        load_brainscore(png)
    with pytest.raises(InputFileError, match=r"looks ';'-separated .* re-save it as "
                                             r"comma-separated"):
        load_brainscore(_write(tmp_path, HEADER.replace(",", ";") + "m;1;1;.5;.4;.6\n"))
    with pytest.raises(InputFileError, match=r"looks tab-separated"):
        load_brainscore(_write(tmp_path, HEADER.replace(",", "\t") + "m\t1\t1\t.5\t.4\t.6\n"))
    with pytest.raises(InputFileError, match=r"not UTF-8 text"):
        load_brainscore(io.BytesIO(HEADER.encode() + b"m\xff,1,1,.5,.4,.6\n"))


def test_data_errors(tmp_path):
    with pytest.raises(DataError, match=r"column 'b' has the non-numeric value 'n/e' for "
                                        r"model_id '2'"):
        load_brainscore(_write(tmp_path, HEADER + "m,1,1,.5,.4,.6\nm,2,2,.2,.4,n/e\n"))
    with pytest.raises(DataError, match=r"infinite score 'inf' for model_id '1' in column 'a'"):
        load_brainscore(_write(tmp_path, HEADER + "m,1,1,.5,inf,.6\n"))
    with pytest.raises(DataError, match=r"no 'model_id' column; found columns \['model_name', "
                                        r"'id'"):
        load_brainscore(_write(tmp_path, "model_name,id,a\nm,1,.5\n"))
    with pytest.raises(DataError, match=r"duplicate model ids \['1'\]"):
        load_brainscore(_write(tmp_path, HEADER + "m,1,1,.5,.4,.6\nn,1,2,.5,.4,.6\n"))
    with pytest.raises(DataError, match=r"duplicate columns: .a. at columns \[2, 3\]; rename"):
        load_brainscore(_write(tmp_path, "model_id,a,a\n1,.5,.4\n"))


def test_nan_literals_are_missing(tmp_path):
    t = load_brainscore(_write(tmp_path, HEADER + "m,1,1,.5,.4,.6\nm,2,2,.2,.4,NaN\n"
                                                  "m,3,3,.2,.4,NA\n"), tree=False)
    assert t.status["b"].tolist() == ["ok", "missing", "missing"]


def test_tree_options(mini_path, tmp_path):
    flat = load_brainscore(mini_path, tree=False)
    assert flat.tree.leaves() == list(flat.scores.columns) and flat.tree_check is None
    given = load_brainscore(mini_path, tree=MINI_TREE)
    assert given.tree.to_dict() == MINI_TREE and given.tree_check.n_parents == 5
    with pytest.raises(DataError, match=r"\['V9'\] not among the benchmark columns"):
        load_brainscore(mini_path, tree={"V1": ["V9"]})
    bad = HEADER + "m,1,1,.9,.4,.6\nm,2,2,.9,.4,.4\n"
    with pytest.raises(TreeError, match=r"column 'average_vision' looks like an aggregate.*"
                                        r"tree=False"):
        load_brainscore(_write(tmp_path, bad))


def test_leading_non_numeric_column_is_metadata(tmp_path):
    text = "model_name,model_id,rank,arch,a\nm,1,1,conv,.5\nn,2,2,vit,.3\n"
    t = load_brainscore(_write(tmp_path, text))
    assert list(t.scores.columns) == ["a"] and t.models["arch"].tolist() == ["conv", "vit"]


def test_load_table_routes(mini_path, tmp_path):
    assert load_table(mini_path).tree.to_dict() == MINI_TREE
    wide = _write(tmp_path, "net,V1,i2n\nalex,.2,.5\nvgg,.3,X\n", "wide.csv")
    doms = _write(tmp_path, "metric,domain\nV1,neural\ni2n,behavioral\n", "doms.csv")
    t = load_table(wide, domains=doms)
    assert list(t.scores.index) == ["alex", "vgg"] and t.status.loc["vgg", "i2n"] == "failed"
    assert t.domains.to_dict() == {"V1": "neural", "i2n": "behavioral"}
    assert t.source == "wide.csv"
    long = _write(tmp_path, "model,metric,score,domain\na,V1,.2,neural\nb,V1,.3,neural\n"
                            "a,i2n,.4,behavioral\n", "long.csv")
    t = load_table(long)
    assert t.scores.shape == (2, 2) and t.status.loc["b", "i2n"] == "missing"
    assert t.domains["i2n"] == "behavioral"
    t = load_table(wide, domains={"V1": "neural"}, model="net")
    assert t.domains.to_dict() == {"V1": "neural", "i2n": None}


# --- the real export ------------------------------------------------------------------------

def test_real_export_status_counts(brainscore_path):
    t = load_brainscore(brainscore_path)
    with open(brainscore_path, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    first = header.index("average_vision")
    cells = [c.strip() for r in body for c in r[first:]]
    assert t.status_counts() == {
        "failed": cells.count("X"),
        "missing": cells.count(""),
        "ok": len(cells) - cells.count("X") - cells.count(""),
    }
    assert t.n_models == len(body) == 456
    assert list(t.scores.columns) == header[first:]
    assert list(t.models.columns) == ["model_name", "rank"]
    assert t.models.index.is_unique and not t.models["model_name"].is_unique
    assert (t.scores.to_numpy()[~np.isnan(t.scores.to_numpy())] > 1).any()
    assert t.tree.roots == ["average_vision", "engineering_vision"]
    assert t.tree_check.n_parents == 24
