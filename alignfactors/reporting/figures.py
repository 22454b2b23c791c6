"""Figures of the report. Each function takes result objects or labelled frames and returns a Figure.

Nothing here computes a statistic: the functions only draw what the analyses computed (the
clustering order of the heatmap is a display order). The figures are built with matplotlib's
object-oriented API (:class:`matplotlib.figure.Figure`, saved through the Agg canvas): importing
this module never selects a backend or touches pyplot's global state.

Tick labels of long benchmark names are shortened by :func:`short_label` (documented rule).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

__all__ = [
    "short_label", "short_labels", "model_label", "correlation_heatmap", "scree_plot", "loadings_heatmap",
    "scatter_parts", "rank_changes", "rank_intervals", "save_figure", "DOMAIN_COLOURS", "HIGHLIGHT_COLOURS",
]

#: Colour of each domain in the colour bars (others grey): green, mustard and purple, none of
#: which occurs in the red-white-blue map of correlations and loadings, so a strip never reads as a value.
DOMAIN_COLOURS = {"neural": "#1b9e77", "behavioral": "#e6ab02", "engineering": "#984ea3", None: "#bbbbbb"}

#: Colour-blind-safe line colours (Okabe & Ito 2008, without the yellow that vanishes on white).
HIGHLIGHT_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")

#: Replacements applied by :func:`short_label`, in order.
ABBREVIATIONS = (
    ("-error_consistency", "-EC"),
    ("_error_consistency", "-EC"),
    ("error_consistency", "EC"),
    ("ConditionWiseAccuracySimilarity", "CondAccSim"),
    ("accuracy_distance", "acc-dist"),
    ("accuracy_delta", "acc-delta"),
    ("confusion_similarity", "conf-sim"),
    ("tasks_consistency", "task-cons"),
    ("texture", "tex"),
    ("modulation", "mod"),
    ("selectivity", "sel"),
    ("bandwidth", "bw"),
    ("tong.", ""),
    ("Marques2020_FreemanZiemba2013", "Marques/FZ2013"),
    ("Marques2020_", "Marques/"),
)


def short_label(name: str, max_len: int = 40) -> str:
    """Shorten a benchmark name for a tick label.

    Rule: (1) apply the replacements in :data:`ABBREVIATIONS` (e.g. ``-error_consistency`` ->
    ``-EC``, ``texture`` -> ``tex``, ``Marques2020_`` -> ``Marques/``, drop ``tong.``); (2) if still longer than
    ``max_len``, keep the start and the end and put ``…`` in the middle. Full names are in
    the report's tables and in results.json.

    Examples
    --------
    >>> short_label("Geirhos2021phasescrambling-error_consistency")
    'Geirhos2021phasescrambling-EC'
    >>> short_label("Marques2020_FreemanZiemba2013-abs_texture_modulation_index")
    'Marques/FZ2013-abs_tex_mod_index'
    """
    s = str(name)
    for old, new in ABBREVIATIONS:
        s = s.replace(old, new)
    if len(s) > max_len:
        head = (max_len - 1) * 2 // 3
        tail = max_len - 1 - head
        s = s[:head] + "…" + s[-tail:]
    return s


def short_labels(names: Sequence[str], max_len: int = 40) -> list[str]:
    """:func:`short_label` of each name, made unique by appending ``#2``, ``#3`` ... to repeats."""
    out, seen = [], {}
    for n in names:
        s = short_label(n, max_len)
        seen[s] = seen.get(s, 0) + 1
        out.append(s if seen[s] == 1 else f"{s}#{seen[s]}")
    return out


def model_label(model_id, name=None, max_len: int = 44) -> str:
    """Tick label of a model: its name shortened to fit ``max_len``, always followed by ``[model_id]``.

    Two models never read the same even when their names share a long prefix: the id is never
    cut. Without a name (or when the name is the id) the label is the id.

    Examples
    --------
    >>> model_label("2330", "convnext_large_mlp:clip_laion2b_augreg_ft_in1k_384", max_len=30)
    'convnext_large_mlp:cli… [2330]'
    >>> model_label("m1", "alexnet")
    'alexnet [m1]'
    >>> model_label("m1")
    'm1'
    """
    mid = str(model_id)
    if name is None or (isinstance(name, float) and np.isnan(name)) or str(name) in ("", mid):
        return mid
    room = max(max_len - len(mid) - 3, 4)
    text = str(name)
    if len(text) > room:
        text = text[: room - 1] + "…"
    return f"{text} [{mid}]"


def _model_labels(ids, labels: Mapping | None, max_len: int) -> list[str]:
    return [model_label(i, None if labels is None else labels.get(i), max_len) for i in ids]


def save_figure(fig: Figure, path) -> None:
    """Save as PNG through the Agg canvas, without creation metadata (same figure, same bytes)."""
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=110, bbox_inches="tight", metadata={"Software": None})


def _domain_strip(ax, domains: Sequence, orientation: str) -> None:
    keys = list(dict.fromkeys(domains))
    cmap = ListedColormap([DOMAIN_COLOURS.get(k, "#bbbbbb") for k in keys])
    codes = np.array([keys.index(d) for d in domains])[None, :]
    ax.imshow(codes if orientation == "h" else codes.T, aspect="auto", cmap=cmap, vmin=-0.5,
              vmax=len(keys) - 0.5, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def _font_for(p: int) -> float:
    return float(np.clip(360 / max(p, 1), 5, 9))


def correlation_heatmap(corr: pd.DataFrame, domains: pd.Series | Mapping | None = None, *, order=None,
                        title: str | None = None, label: str = "Spearman r") -> Figure:
    """Heatmap of a metric x metric correlation matrix in clustered order, with domain colour bars.

    Parameters
    ----------
    corr : DataFrame
        Square, labelled (e.g. ``Agreement.matrix``).
    domains : Series or mapping, optional
        metric -> domain; draws colour bars on the top and the left.
    order : sequence of str, optional
        Display order; default: leaves of an average-linkage hierarchical clustering on
        ``1 - r`` (scipy), so blocks of similar metrics sit together.
    """
    from scipy.cluster.hierarchy import leaves_list, linkage
    from scipy.spatial.distance import squareform

    names = list(corr.columns)
    p = len(names)
    if order is None:
        if p > 2:
            d = 1 - corr.to_numpy(dtype=float)
            d = np.nan_to_num((d + d.T) / 2, nan=1.0)
            np.fill_diagonal(d, 0)
            order = [names[i] for i in leaves_list(linkage(squareform(d, checks=False), method="average"))]
        else:
            order = names
    c = corr.loc[order, order]
    side = float(np.clip(3 + 0.17 * p, 5, 16))
    strip = 0.022 * 40 / max(p, 40)
    fig = Figure(figsize=(side + 1.2, side))
    gs = fig.add_gridspec(2, 3, width_ratios=[0.015, strip, 1], height_ratios=[strip, 1], wspace=0.03, hspace=0.01)
    ax = fig.add_subplot(gs[1, 2])
    im = ax.imshow(c.to_numpy(dtype=float), cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest", aspect="auto")
    fs = _font_for(p)
    labels = short_labels(order)
    ax.set_xticks(range(p), labels, rotation=90, fontsize=fs)
    ax.set_yticks(range(p), labels, fontsize=fs)
    ax.yaxis.tick_right()
    ax.tick_params(length=0)
    cb = fig.colorbar(im, cax=fig.add_subplot(gs[1, 0]))
    cb.set_label(label)
    cb.ax.yaxis.set_ticks_position("left")
    cb.ax.yaxis.set_label_position("left")
    heading = title or f"Correlations between {p} metrics (clustered)"
    if domains is not None:
        dom = pd.Series(dict(domains)) if isinstance(domains, Mapping) else domains
        vals = [dom.get(m) for m in order]
        top = fig.add_subplot(gs[0, 2])
        _domain_strip(top, vals, "h")
        left = fig.add_subplot(gs[1, 1])
        _domain_strip(left, vals, "v")
        keys = list(dict.fromkeys(vals))
        top.legend(handles=[Patch(color=DOMAIN_COLOURS.get(k, "#bbbbbb"), label=str(k)) for k in keys],
                   loc="lower left", bbox_to_anchor=(0, 1.02), ncol=len(keys), frameon=False, fontsize=9)
        top.set_title(heading, pad=24)
    else:
        ax.set_title(heading)
    return fig


def scree_plot(dim, *, max_components: int = 20, title: str | None = None) -> Figure:
    """Scree plot with parallel analysis.

    Observed eigenvalues of the correlation matrix with their bootstrap intervals, and the
    eigenvalues of simulated uncorrelated data (mean, and the band up to the quantile parallel
    analysis compares with). ``dim`` is a :class:`~alignfactors.dimensions.Dimensionality`.
    """
    par = dim.parallel
    k = min(max_components, len(par))
    par = par.iloc[:k]
    ests = [dim.eigenvalue_estimates[i] for i in list(dim.eigenvalue_estimates)[:k]]
    x = par["k"].to_numpy()
    obs = np.array([e.value for e in ests])
    lo = np.array([e.ci[0] for e in ests])
    hi = np.array([e.ci[1] for e in ests])
    fig = Figure(figsize=(7, 4.5))
    ax = fig.add_subplot()
    q = dim.options.get("parallel_quantile") or 0.95
    ax.fill_between(x, 0, par["pc_simulated_quantile"], color="0.85", label=f"simulated data, up to {q:.0%} quantile")
    ax.plot(x, par["pc_simulated_mean"], "--", color="0.4", lw=1, label="simulated data, mean")
    # intervals as vertical segments: a BCa interval need not contain the estimate
    ax.vlines(x, lo, hi, color="C0", lw=1.5, label=f"observed, {dim.level:.0%} bootstrap interval")
    ax.plot(x, obs, "o-", color="C0", ms=4, lw=1.2)
    kp = dim.n_dimensions.get("parallel_pc")
    if kp:
        ax.axvline(kp + 0.5, color="C3", lw=0.8, ls=":", label=f"parallel analysis (components): k = {kp}")
    ax.set_xlabel("component")
    ax.set_ylabel("eigenvalue")
    ax.set_xticks(x)
    ax.set_xlim(0.5, k + 0.5)
    ax.set_ylim(bottom=0)
    ax.legend(frameon=False, fontsize=8)
    ax.set_title(title or f"Scree plot: {dim.n_metrics} metrics, {dim.n_models} models")
    return fig


def loadings_heatmap(loadings: pd.DataFrame, domains: pd.Series | Mapping | None = None, *,
                     title: str | None = None) -> Figure:
    """Heatmap of factor loadings (metrics x factors), rows sorted by the factor they load most on.

    ``loadings`` is a wide frame (e.g. ``FactorModel.loadings_``); within a factor, rows are
    sorted by decreasing loading. A domain colour bar on the left.
    """
    L = loadings.astype(float)
    main = L.abs().idxmax(axis=1)
    fac_pos = {f: i for i, f in enumerate(L.columns)}
    key = pd.DataFrame({"f": main.map(fac_pos), "v": -L.abs().max(axis=1)})
    order = key.sort_values(["f", "v"], kind="stable").index
    L = L.loc[order]
    p, k = L.shape
    fig = Figure(figsize=(3.2 + 0.8 * k, float(np.clip(1.8 + 0.17 * p, 3.5, 14))))
    gs = fig.add_gridspec(1, 2, width_ratios=[0.12, 0.8 * k], wspace=0.03)
    ax = fig.add_subplot(gs[0, 1])
    left = fig.add_subplot(gs[0, 0])
    vmax = max(1.0, float(np.nanmax(np.abs(L.to_numpy()))))
    im = ax.imshow(L.to_numpy(), cmap="RdBu_r", vmin=-vmax, vmax=vmax, aspect="auto", interpolation="nearest")
    fs = _font_for(p)
    ax.set_xticks(range(k), list(L.columns))
    ax.xaxis.tick_top()
    ax.set_yticks([])
    if k * p <= 600:
        for i in range(p):
            for j in range(k):
                v = L.iat[i, j]
                ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=max(fs - 1, 4),
                        color="white" if abs(v) > 0.6 * vmax else "black")
    cb = fig.colorbar(im, ax=[left, ax], orientation="horizontal", fraction=0.025, pad=0.01, aspect=40)
    cb.set_label("loading")
    dom = None if domains is None else (pd.Series(dict(domains)) if isinstance(domains, Mapping) else domains)
    vals = [dom.get(m) for m in L.index] if dom is not None else [None] * p
    _domain_strip(left, vals, "v")
    left.set_yticks(range(p), short_labels(list(L.index)), fontsize=fs)
    if dom is not None:
        keys = list(dict.fromkeys(vals))
        ax.legend(handles=[Patch(color=DOMAIN_COLOURS.get(kk, "#bbbbbb"), label=str(kk)) for kk in keys],
                  loc="lower left", bbox_to_anchor=(0, 1.03), ncol=len(keys), frameon=False, fontsize=8)
    ax.set_title(title or f"Factor loadings ({k} factor{'s' * (k > 1)}, {p} metrics)", loc="left", pad=42,
                 fontsize=10)
    return fig


def scatter_parts(frame: pd.DataFrame, *, x: str = "neural_vision", y: str = "behavior_vision",
                  rank: str = "rank", colour_label: str = "average_vision rank", title: str | None = None) -> Figure:
    """Scatter of two parts of an aggregate, each model coloured by its rank on the aggregate.

    As Ahlert et al. (2024), Fig. 3: x = ``neural_vision``, y = ``behavior_vision``,
    colour = rank on ``average_vision`` (1 = best, dark).
    """
    fig = Figure(figsize=(6.2, 5))
    ax = fig.add_subplot()
    order = frame.sort_values(rank, ascending=False)
    sc = ax.scatter(order[x], order[y], c=order[rank], cmap="viridis_r", s=18, edgecolor="k", linewidth=0.2)
    cb = fig.colorbar(sc, ax=ax)
    cb.set_label(colour_label)
    cb.ax.invert_yaxis()
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(title or f"{y} vs {x} ({len(frame)} models)")
    ax.grid(alpha=0.3)
    return fig


def rank_changes(ranks: pd.DataFrame, *, top: int = 20, labels: Mapping | None = None,
                 title: str | None = None, n_highlight: int = len(HIGHLIGHT_COLOURS)) -> Figure:
    """Bump chart: ranks of the models under several aggregation rules (columns), left to right.

    ``ranks`` is models x rules (1 = best); ``labels`` maps model id -> name (the id is always
    shown, see :func:`model_label`). Shown: the ``top`` best models by the first column. To stay
    readable with 20 crossing lines, the ``n_highlight`` models whose rank moves most (largest
    absolute change from the first rule) are drawn in colour-blind-safe colours
    (:data:`HIGHLIGHT_COLOURS`), the others in grey; every line is labelled at both ends, and
    every point outside the top window carries its true rank (those points stack below the window
    in rank order).
    """
    first = ranks.columns[0]
    sel = ranks.sort_values(first, kind="stable").head(top)
    m = len(ranks.columns)
    n = len(sel)
    names = _model_labels(sel.index, labels, 40)
    floor = n + 2
    # models beyond the window stack below it in order of their true rank, which is printed
    vals = sel.to_numpy(dtype=float)
    ypos = vals.copy()
    n_out = 0
    for i in range(m):
        out = np.flatnonzero(~(vals[:, i] <= n))
        out = out[np.argsort(np.nan_to_num(vals[out, i], nan=np.inf), kind="stable")]
        ypos[out, i] = floor + np.arange(len(out))
        n_out = max(n_out, len(out))
    bottom = floor + max(n_out, 1) - 1
    move = np.nanmax(np.abs(vals - vals[:, :1]), axis=1) if m > 1 else np.zeros(n)
    move = np.nan_to_num(move, nan=np.inf)
    order = np.argsort(-move, kind="stable")
    hi = [j for j in order[:n_highlight] if move[j] > 0]
    colour = {j: HIGHLIGHT_COLOURS[k % len(HIGHLIGHT_COLOURS)] for k, j in enumerate(sorted(hi))}
    fig = Figure(figsize=(6.5 + 1.5 * m, float(np.clip(0.22 * (bottom + 1) + 1.5, 3, 14))))
    ax = fig.add_subplot()
    for j in range(n):
        c = colour.get(j, "0.72")
        ax.plot(range(m), ypos[j], "-o", color=c, ms=3.5 if j in colour else 2.5,
                lw=2.0 if j in colour else 0.9, zorder=3 if j in colour else 2)
        for i in range(m - 1):  # the last column's rank is in the end label
            if ypos[j, i] >= floor:
                ax.text(i + 0.05, ypos[j, i], "–" if np.isnan(vals[j, i]) else f"{vals[j, i]:g}",
                        fontsize=6.5, color="0.2", va="center")
        last = vals[j, -1]
        ax.text(m - 1 + 0.28, ypos[j, -1], f"{'–' if np.isnan(last) else f'{last:g}'}  {names[j]}", fontsize=7,
                va="center", ha="left", color=c if j in colour else "0.35",
                fontweight="bold" if j in colour else "normal")
    ax.set_yticks(ypos[:, 0], [f"{nm}  ({v:g})" for nm, v in zip(names, vals[:, 0])], fontsize=7)
    for lab, j in zip(ax.get_yticklabels(), range(n)):
        lab.set_color(colour.get(j, "0.35"))
        if j in colour:
            lab.set_fontweight("bold")
    if n_out:
        ax.axhspan(floor - 0.5, bottom + 0.5, color="0.94", zorder=0)
        ax.text(-0.2, floor, f"beyond rank {n}:\ntrue rank printed", fontsize=7, ha="right", va="top", color="0.3")
    ax.set_ylim(bottom + 0.8, 0.2)
    ax.set_xticks(range(m), list(ranks.columns))
    ax.set_xlim(-0.15, m - 1 + 0.25)
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(axis="y", length=0)
    ax.set_ylabel(f"model (rank by {first})")
    heading = title or f"Rank of the top {n} models (by {first}) under each rule"
    if colour:
        heading += f"\ncoloured: the {len(colour)} whose rank moves most; grey: the others"
    ax.set_title(heading, fontsize=10)
    return fig


def rank_intervals(frame: pd.DataFrame, *, top: int = 20, labels: Mapping | None = None,
                   title: str | None = None) -> Figure:
    """Horizontal bootstrap intervals of the ranks of the top models.

    ``frame`` has columns ``model_id``, ``rank``, ``ci_low``, ``ci_high`` (1 = best).
    """
    f = frame.sort_values("rank", kind="stable").head(top).iloc[::-1]
    n = len(f)
    fig = Figure(figsize=(7.5, float(np.clip(0.3 * n + 1.2, 2.5, 10))))
    ax = fig.add_subplot()
    ypos = np.arange(n)
    ax.hlines(ypos, f["ci_low"], f["ci_high"], color="C0", lw=2)
    ax.plot(f["rank"], ypos, "o", color="k", ms=4)
    ax.set_yticks(ypos, _model_labels(f["model_id"], labels, 48), fontsize=7)
    ax.set_xlabel("rank (1 = best) with 95% bootstrap interval")
    ax.grid(axis="x", alpha=0.3)
    ax.set_xlim(left=0)
    ax.set_title(title or f"Rank uncertainty of the top {n} models")
    return fig
