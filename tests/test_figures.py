"""Figure functions: each returns a Figure with the expected axes and labels on a small input."""

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from alignfactors import figures as F
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
