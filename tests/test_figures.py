"""Figure functions: each returns a Figure with the expected axes and labels on a small input."""

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from alignfactors.reporting import figures as F
from alignfactors.dimensions import dimensionality


@pytest.fixture
def small():
    rng = np.random.default_rng(0)
    f = rng.normal(size=(40, 2))
    load = np.array([[0.8, 0], [0.7, 0], [0.6, 0.1], [0, 0.8], [0.1, 0.7], [0, 0.6]])
    x = f @ load.T + 0.5 * rng.normal(size=(40, 6))
    cols = ["V1-a", "V1-b", "IT-c", "Geirhos2021phasescrambling-error_consistency", "beh-e", "beh-f"]
    m = pd.DataFrame(x, columns=cols, index=[f"m{i}" for i in range(40)])
    dom = pd.Series(["neural"] * 3 + ["behavioral"] * 3, index=cols)
    return m, dom


def test_short_label_rule():
    assert F.short_label("Geirhos2021phasescrambling-error_consistency") == "Geirhos2021phasescrambling-EC"
    long = "x" * 80
    s = F.short_label(long, max_len=20)
    assert len(s) == 20 and "…" in s
    assert F.short_labels(["a" * 50 + "1", "a" * 50 + "2"], max_len=10) != ["a", "a"]
    labs = F.short_labels(["same", "same"])
    assert labs == ["same", "same#2"]


def test_correlation_heatmap(small):
    m, dom = small
    corr = m.corr(method="spearman")
    fig = F.correlation_heatmap(corr, dom)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 4  # heatmap, colour bar, two domain strips
    heat = fig.axes[0]
    labels = [t.get_text() for t in heat.get_xticklabels()]
    assert sorted(labels) == sorted(F.short_labels(list(corr.columns)))
    assert "Geirhos2021phasescrambling-EC" in labels
    assert len(F.correlation_heatmap(corr).axes) == 2


def test_scree_plot(small):
    m, _ = small
    dim = dimensionality(m, n_boot=10, seed=0)
    fig = F.scree_plot(dim)
    ax = fig.axes[0]
    assert len(fig.axes) == 1
    assert ax.get_xlabel() == "component" and ax.get_ylabel() == "eigenvalue"
    assert len(ax.get_xticks()) == 6
    assert any("simulated" in t.get_text() for t in ax.get_legend().get_texts())


def test_loadings_heatmap_sorted_by_factor(small):
    m, dom = small
    L = pd.DataFrame([[0.1, 0.8], [0.9, 0.0], [0.2, 0.5], [0.7, 0.1]], index=list("abcd"), columns=["F1", "F2"])
    fig = F.loadings_heatmap(L, {"a": "neural", "b": "neural", "c": "behavioral", "d": "behavioral"})
    ax, strip = fig.axes[0], fig.axes[1]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["F1", "F2"]
    assert [t.get_text() for t in strip.get_yticklabels()] == ["b", "d", "a", "c"]
    assert len(fig.axes) == 3  # heatmap, domain strip, colour bar


def test_scatter_parts():
    df = pd.DataFrame({"neural_vision": [0.1, 0.2, 0.3], "behavior_vision": [0.3, 0.1, 0.2],
                       "average_vision": [0.2, 0.15, 0.25], "rank": [2.0, 3.0, 1.0]})
    fig = F.scatter_parts(df)
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("neural_vision", "behavior_vision")
    assert len(fig.axes) == 2 and fig.axes[1].get_ylabel() == "average_vision rank"


def test_rank_changes_and_intervals():
    ranks = pd.DataFrame({"brainscore": [1.0, 2, 3, 4, 5], "zscore": [2.0, 1, 5, 3, 4], "rank": [1.0, 3, 2, 5, 4]},
                         index=list("abcde"))
    fig = F.rank_changes(ranks, top=3, labels={"a": "alexnet"})
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["brainscore", "zscore", "rank"]
    assert len(ax.get_lines()) == 3
    assert ax.get_yticklabels()[0].get_text().startswith("alexnet")
    ri = pd.DataFrame({"model_id": list("abcde"), "rank": [1.0, 2, 3, 4, 5], "ci_low": [1.0, 1, 2, 2, 3],
                       "ci_high": [2.0, 3, 4, 5, 5]})
    fig = F.rank_intervals(ri, top=4)
    assert len(fig.axes[0].get_yticklabels()) == 4


def test_saved_png_is_deterministic(tmp_path, small):
    m, dom = small
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    F.save_figure(F.correlation_heatmap(m.corr(), dom), a)
    F.save_figure(F.correlation_heatmap(m.corr(), dom), b)
    assert a.read_bytes() == b.read_bytes()


def test_domain_colours_are_not_in_the_correlation_colour_map():
    """A domain strip must never read as a correlation: each domain colour is far (RGB distance
    > 0.25; the old blue and red were 0.05 and 0.12) from every colour of RdBu_r, the map of the
    correlation and loading heatmaps."""
    from matplotlib import colormaps
    from matplotlib.colors import to_rgb

    cmap = np.array([colormaps["RdBu_r"](t)[:3] for t in np.linspace(0, 1, 256)])
    for domain, colour in F.DOMAIN_COLOURS.items():
        if domain is None:
            continue
        dist = np.sqrt(((cmap - np.array(to_rgb(colour))) ** 2).sum(axis=1)).min()
        assert dist > 0.25, (domain, colour, dist)


def test_truncated_model_labels_keep_the_id():
    long = "vit_large_patch14_clip_224:openai_ft_in12k_in1k"
    a, b = F.model_label("2341", long, max_len=30), F.model_label("2342", long, max_len=30)
    assert a != b and a.endswith("[2341]") and b.endswith("[2342]") and "…" in a
    assert len(a) <= 30
    assert F.model_label("m1", None) == "m1" and F.model_label("m1", "m1") == "m1"


def _twenty_models():
    rng = np.random.default_rng(0)
    ids = [f"{3000 + i}" for i in range(40)]
    first = np.arange(1.0, 41)
    ranks = pd.DataFrame({"brainscore": first}, index=ids)
    for rule in ("mean", "zscore", "rank"):
        ranks[rule] = rng.permutation(first)
    names = {i: "convnext_large_mlp:clip_laion2b_augreg_ft_in1k_384" for i in ids}  # all the same long name
    return ranks, names


def test_rank_changes_stays_readable_with_20_models():
    ranks, names = _twenty_models()
    fig = F.rank_changes(ranks, top=20, labels=names)
    ax = fig.axes[0]
    lines = ax.get_lines()
    assert len(lines) == 20
    colours = [line.get_color() for line in lines]
    highlighted = [c for c in colours if c in F.HIGHLIGHT_COLOURS]
    assert len(highlighted) == len(F.HIGHLIGHT_COLOURS) == len(set(highlighted))  # each at most once
    assert sum(c == "0.72" for c in colours) == 20 - len(highlighted)  # the rest in grey
    left = [t.get_text() for t in ax.get_yticklabels()]
    right = [t.get_text() for t in ax.texts if "[" in t.get_text()]
    assert len(left) == len(right) == 20
    # the same long name for every model, yet every label is distinct: the id is never cut
    assert len(set(left)) == 20 and len(set(right)) == 20
    assert all(f"[{i}]" in lab for i, lab in zip(ranks.index[:20], left))


def test_rank_intervals_labels_keep_the_id():
    ranks, names = _twenty_models()
    ri = pd.DataFrame({"model_id": ranks.index, "rank": ranks["brainscore"], "ci_low": ranks["brainscore"] - 1,
                       "ci_high": ranks["brainscore"] + 2})
    labels = [t.get_text() for t in F.rank_intervals(ri, top=20, labels=names).axes[0].get_yticklabels()]
    assert len(set(labels)) == 20 and all(lab.endswith("]") for lab in labels)


def test_import_selects_no_backend():
    """No matplotlib.use() and no pyplot at import: the user's backend choice stays theirs."""
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys, matplotlib; before = matplotlib.rcParams._get_backend_or_none(); "
            "import alignfactors.reporting.figures, alignfactors.reporting.run; "
            "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'; "
            "assert matplotlib.rcParams._get_backend_or_none() == before, 'backend changed'")
    root = Path(__file__).parents[1]
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)
    assert "matplotlib.use(" not in (root / "alignfactors" / "reporting" / "figures.py").read_text()
