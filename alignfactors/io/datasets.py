"""A simulated Brain-Score-shaped leaderboard with a known factor structure, built into the package.

The simulated export has the layout of the website's "download CSV": ``model_name``,
``model_id``, ``rank``, then one column per benchmark node in pre-order of the tree, parents
equal to the mean of their direct children (missing child = 0) rounded to 3 decimals, ``X``
for failed and empty for never-run evaluations. Leaf scores come from a linear factor model
whose loadings are returned by :func:`simulate_leaderboard_truth`.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ParameterError, ParameterTypeError

__all__ = ["simulate_leaderboard", "simulate_leaderboard_truth", "SIMULATED_TREE", "SIMULATED_ROOTS"]

_FACTORS = ("general", "neural", "behavioral")

#: Parent -> direct children of the simulated benchmark tree (a small version of Brain-Score's).
SIMULATED_TREE: dict[str, list[str]] = {
    "average_vision": ["neural_vision", "behavior_vision"],
    "neural_vision": ["V1", "V2", "V4", "IT"],
    "V1": ["tong.Coggan2024_fMRI.V1-rdm", "FreemanZiemba2013.V1-pls", "Marques2020"],
    "Marques2020": ["Marques2020_Ringach2002-or_selective", "Marques2020_Ringach2002-circular_variance",
                    "Marques2020_Schiller1976-sf_bandwidth", "Marques2020_DeValois1982-peak_sf"],
    "V2": ["tong.Coggan2024_fMRI.V2-rdm", "FreemanZiemba2013.V2-pls"],
    "V4": ["tong.Coggan2024_fMRI.V4-rdm", "MajajHong2015.V4-pls", "Sanghavi2020.V4-pls",
           "SanghaviJozwik2020.V4-pls"],
    "IT": ["Kar2019-ost", "MajajHong2015.IT-pls", "Sanghavi2020.IT-pls", "SanghaviJozwik2020.IT-pls",
           "Bracci2019.anteriorVTC-rdm", "tong.Coggan2024_fMRI.IT-rdm"],
    "behavior_vision": ["Rajalingham2018-i2n", "Geirhos2021-error_consistency",
                        "Maniquet2024-confusion_similarity", "Maniquet2024-tasks_consistency",
                        "Ferguson2024-value_delta", "Hebart2023-match", "Baker2022frankenstein-accuracy_delta",
                        "Baker2022inverted-accuracy_delta",
                        "tong.Coggan2024_behavior-ConditionWiseAccuracySimilarity",
                        "BMD2024.texture_1Behavioral-accuracy_distance"],
    "Geirhos2021-error_consistency": ["Geirhos2021colour-error_consistency", "Geirhos2021contrast-error_consistency",
                                      "Geirhos2021edge-error_consistency", "Geirhos2021sketch-error_consistency",
                                      "Geirhos2021stylized-error_consistency"],
    "engineering_vision": ["ImageNet-top1", "ImageNet-C-top1", "ObjectNet-top1", "Geirhos2021-top1"],
}
#: Roots of :data:`SIMULATED_TREE`, in file order.
SIMULATED_ROOTS: list[str] = ["average_vision", "engineering_vision"]

# Benchmarks added late: run only on models submitted after this fraction of the history.
_NEWER = {"tong.Coggan2024_fMRI": 0.55, "tong.Coggan2024_behavior": 0.55, "Maniquet2024": 0.6,
          "Ferguson2024": 0.5, "Hebart2023": 0.45, "BMD2024": 0.7, "Baker2022": 0.3, "Bracci2019": 0.25}
# Benchmarks that fail (X) more often than the rest (per-model failure probability).
_FAILING = {"Kar2019-ost": 0.15, "Marques2020_": 0.02, "Geirhos2021": 0.03, "ObjectNet-top1": 0.08}
# Leaves whose scores sometimes exceed 1 (printed 1.1 / 1.2 as on the website) or dip below 0.
_ABOVE_ONE = ("Hebart2023-match", "Baker2022inverted-accuracy_delta")
_BELOW_ZERO = ("Kar2019-ost",)
_ARCHITECTURES = ("alexnet", "resnet18", "resnet50", "resnet101", "vgg16", "vgg19", "densenet121",
                  "convnext_tiny", "convnext_large", "vit_base_patch16_224", "vit_large_patch14",
                  "efficientnet_b0", "mobilenet_v2", "cornet_s", "RN50", "swin_base", "regnety_032",
                  "deit_small", "inception_v3", "squeezenet1_1")
_VARIANTS = ("in1k", "in21k_ft_in1k", "clip_laion2b", "ssl", "adv_linf_8", "augmix", "sin_in",
             "fb_swsl", "ecoset", "robust_l2")


def _preorder(tree: dict[str, list[str]], roots: list[str]) -> list[str]:
    out: list[str] = []

    def walk(node: str) -> None:
        out.append(node)
        for child in tree.get(node, []):
            walk(child)

    for r in roots:
        walk(r)
    return out


def _leaf_domain(leaf: str) -> str:
    for parent, kids in SIMULATED_TREE.items():
        if leaf in kids:
            if parent in ("neural_vision", "behavior_vision", "engineering_vision"):
                return {"neural_vision": "neural", "behavior_vision": "behavioral"}.get(parent, "engineering")
            return _leaf_domain(parent)
    raise KeyError(leaf)


def _validate_simulate(n_models, seed, n_factors, as_frame=False) -> np.random.Generator:
    if isinstance(n_models, bool) or not isinstance(n_models, (int, np.integer)):
        raise ParameterTypeError(f"n_models must be an int; got {type(n_models).__name__}.")
    if n_models < 20:
        raise ParameterError(f"n_models must be >= 20 (the tree needs models on every benchmark); got {n_models}.")
    if isinstance(n_factors, bool) or not isinstance(n_factors, (int, np.integer)):
        raise ParameterTypeError(f"n_factors must be an int; got {type(n_factors).__name__}.")
    if n_factors not in (1, 2, 3):
        raise ParameterError(f"n_factors must be 1, 2 or 3 (factors {list(_FACTORS)} in that order); "
                             f"got {n_factors}.")
    if not isinstance(as_frame, bool):
        raise ParameterTypeError(f"as_frame must be True or False; got {as_frame!r}.")
    if isinstance(seed, bool) or not (isinstance(seed, (int, np.integer)) and seed >= 0):
        raise ParameterError(f"seed must be a non-negative int (the truth is recomputed from it); got {seed!r}.")
    return np.random.default_rng(seed)


def _fmt(v: float) -> str:
    # The website prints .467 for scores in [0, 1), 1.0 for 1, 1.1 above and -0.007 below 0.
    if v >= 1:
        return f"{v:.1f}"
    if v >= 0:
        return f"{v:.3f}"[1:]
    return f"{v:.3f}"


def _simulate(n_models: int, rng: np.random.Generator, n_factors: int):
    nodes = _preorder(SIMULATED_TREE, SIMULATED_ROOTS)
    leaves = [c for c in nodes if c not in SIMULATED_TREE]
    domain = {leaf: _leaf_domain(leaf) for leaf in leaves}
    factors = list(_FACTORS[:n_factors])

    # Loadings: every leaf loads on "general"; neural and behavioral leaves also on their domain factor.
    lam = np.zeros((len(leaves), n_factors))
    for j, leaf in enumerate(leaves):
        dom = domain[leaf]
        lam[j, 0] = rng.uniform(0.65, 0.85) if dom == "engineering" else rng.uniform(0.25, 0.5)
        if dom in factors:
            lam[j, factors.index(dom)] = rng.uniform(0.45, 0.7)
    h2 = (lam**2).sum(axis=1)
    uniq = 1.0 - h2

    # Models are ordered by submission time (older first); newer models are better on average.
    age = (np.arange(n_models) + 0.5) / n_models
    age_z = (age - age.mean()) / age.std()
    z = rng.standard_normal((n_models, n_factors))
    z[:, 0] = 0.4 * age_z + np.sqrt(1 - 0.4**2) * z[:, 0]
    latent = z @ lam.T + rng.standard_normal((n_models, len(leaves))) * np.sqrt(uniq)

    mu = rng.uniform(0.25, 0.65, len(leaves))
    sd = rng.uniform(0.06, 0.14, len(leaves))
    for j, leaf in enumerate(leaves):
        if leaf in _ABOVE_ONE:
            mu[j], sd[j] = 0.9, 0.08
    values = mu + sd * latent
    for j, leaf in enumerate(leaves):
        col = values[:, j]
        if leaf in _ABOVE_ONE:
            col = np.where(col > 1.0, np.where(col > 1.1, 1.2, 1.1), col)
        elif leaf in _BELOW_ZERO:
            col = np.clip(col, -0.07, 1.0)
        else:
            col = np.clip(col, 0.0, 1.0)
        values[:, j] = np.round(col, 3)

    # Status: "missing" (never run: newer benchmarks on older models, plus a few random gaps),
    # "failed" (some models fail whole domains; some benchmarks fail often).
    status = np.full(values.shape, "ok", dtype=object)
    fail_behavior = rng.random(n_models) < 0.04
    for j, leaf in enumerate(leaves):
        start = next((f for k, f in _NEWER.items() if leaf.startswith(k)), 0.0)
        never = (age < start) | (rng.random(n_models) < 0.003)
        p_fail = next((p for k, p in _FAILING.items() if leaf.startswith(k)), 0.004)
        failed = rng.random(n_models) < p_fail
        if domain[leaf] == "behavioral":
            failed |= fail_behavior
        status[failed, j] = "failed"
        status[never, j] = "missing"
    values[status != "ok"] = np.nan

    # Parents bottom-up from the printed (rounded) children, as the website does.
    col_of = {leaf: j for j, leaf in enumerate(leaves)}
    node_val: dict[str, np.ndarray] = {leaf: values[:, col_of[leaf]] for leaf in leaves}
    node_st: dict[str, np.ndarray] = {leaf: status[:, col_of[leaf]] for leaf in leaves}
    for node in reversed(nodes):
        if node not in SIMULATED_TREE:
            continue
        kids = SIMULATED_TREE[node]
        kv = np.column_stack([node_val[k] for k in kids])
        ks = np.column_stack([node_st[k] for k in kids])
        any_ok = (ks == "ok").any(axis=1)
        any_failed = (ks == "failed").any(axis=1)
        node_val[node] = np.where(any_ok, np.round(np.nan_to_num(kv, nan=0.0).mean(axis=1), 3), np.nan)
        node_st[node] = np.where(any_ok, "ok", np.where(any_failed, "failed", "missing"))

    ids = np.sort(rng.choice(np.arange(100, 100 + 10 * n_models), size=n_models, replace=False))
    arch = rng.integers(0, len(_ARCHITECTURES), n_models)
    variant = rng.integers(-3, len(_VARIANTS), n_models)  # negative: plain name, so names repeat
    names = [_ARCHITECTURES[a] if v < 0 else f"{_ARCHITECTURES[a]}:{_VARIANTS[v]}" for a, v in zip(arch, variant)]

    avg = pd.Series(node_val["average_vision"])
    rank = avg.rank(method="min", ascending=False)
    rank = rank.fillna(avg.notna().sum() + 1).astype(int).to_numpy()
    order = np.lexsort((ids, rank))

    cells = {}
    for node in nodes:
        v, s = node_val[node], node_st[node]
        cells[node] = [_fmt(x) if st == "ok" else ("X" if st == "failed" else "") for x, st in zip(v, s)]
    frame = pd.DataFrame({"model_name": names, "model_id": [str(i) for i in ids],
                          "rank": [str(r) for r in rank], **cells}, dtype=str)
    frame = frame.iloc[order].reset_index(drop=True)

    model_ids = [str(i) for i in ids]
    truth = {
        "loadings": pd.DataFrame(lam, index=pd.Index(leaves, name="metric"), columns=factors),
        "factor": pd.Series([domain[leaf] if domain[leaf] in factors else "general" for leaf in leaves],
                            index=leaves, name="factor"),
        "uniquenesses": pd.Series(uniq, index=leaves, name="uniqueness"),
        "domains": pd.Series(domain, name="domain"),
        "factor_scores": pd.DataFrame(z, index=pd.Index(model_ids, name="model_id"), columns=factors),
        "tree": {k: list(v) for k, v in SIMULATED_TREE.items()},
        "roots": list(SIMULATED_ROOTS),
        "status": pd.DataFrame({node: node_st[node] for node in nodes},
                               index=pd.Index(model_ids, name="model_id")).iloc[order],
    }
    return frame, truth


def simulate_leaderboard(n_models: int = 300, *, seed: int = 0, n_factors: int = 3, as_frame: bool = False):
    """A simulated Brain-Score vision leaderboard with a known factor structure.

    Builds a small version of the Brain-Score benchmark tree (``average_vision`` over
    ``neural_vision`` (V1, V2, V4, IT; ``Marques2020`` an intermediate node under V1) and
    ``behavior_vision`` (10 benchmarks, ``Geirhos2021-error_consistency`` a parent of 5);
    ``engineering_vision`` a separate root), draws leaf scores from a factor model, marks
    failed (``X``) and never-run (empty) cells -- newer benchmarks are run only on newer
    models -- and computes every parent as the website does. The export is written to an
    in-memory CSV and read back with :func:`alignfactors.io.loading.load_brainscore`, so it goes
    through the same loader and tree inference as a real download.

    Parameters
    ----------
    n_models : int, default=300
        Number of model rows (>= 20).
    seed : int, default=0
        Non-negative integer; the same seed gives the same leaderboard (and truth).
    n_factors : {1, 2, 3}, default=3
        Latent factors, in the order ``general``, ``neural``, ``behavioral``: every leaf loads
        on ``general``; neural (behavioral) leaves also load on ``neural`` (``behavioral``)
        when that factor is included.
    as_frame : bool, default=False
        Return the raw export (a DataFrame of strings, exactly as the CSV holds it) instead
        of a ScoreTable.

    Returns
    -------
    ScoreTable or DataFrame

    Raises
    ------
    ParameterError, ParameterTypeError
        For an out-of-range or wrongly typed option.

    Notes
    -----
    Leaf ``j`` of model ``i``: :math:`x_{ij} = \\mu_j + \\sigma_j(\\lambda_j^\\top z_i + \\sqrt{1 -
    \\lambda_j^\\top\\lambda_j}\\,e_{ij})` with :math:`z_i, e_{ij} \\sim N(0, 1)` (the general
    factor drifts with submission time), clipped to [0, 1] and rounded to 3 decimals; two
    leaves print values above 1 as 1.1 / 1.2 and one may dip slightly below 0, as on the website.
    Parent = round(mean of direct children with a missing child counted as 0, 3); a parent is
    empty when all its children are, ``X`` when none has a score but one failed.

    See Also
    --------
    simulate_leaderboard_truth : the loadings and factor scores behind the scores.

    Examples
    --------
    >>> from alignfactors.io.datasets import simulate_leaderboard
    >>> raw = simulate_leaderboard(40, seed=1, as_frame=True)
    >>> list(raw.columns[:5])
    ['model_name', 'model_id', 'rank', 'average_vision', 'neural_vision']
    >>> raw.shape
    (40, 49)
    """
    rng = _validate_simulate(n_models, seed, n_factors, as_frame)
    frame, _ = _simulate(int(n_models), rng, int(n_factors))
    if as_frame:
        return frame
    from .loading import load_brainscore

    buf = io.StringIO()
    frame.to_csv(buf, index=False)
    buf.seek(0)
    buf.name = f"simulate_leaderboard(n_models={n_models}, seed={seed}, n_factors={n_factors})"
    return load_brainscore(buf)


def simulate_leaderboard_truth(n_models: int = 300, *, seed: int = 0, n_factors: int = 3) -> dict[str, Any]:
    """The known structure behind :func:`simulate_leaderboard` with the same arguments.

    Parameters
    ----------
    n_models, seed, n_factors
        As for :func:`simulate_leaderboard`.

    Returns
    -------
    dict
        ``loadings`` (DataFrame leaf x factor), ``factor`` (Series leaf -> the domain factor it
        loads on, ``"general"`` when it loads on no domain factor), ``uniquenesses`` (Series),
        ``domains`` (Series leaf -> domain), ``factor_scores`` (DataFrame model_id x factor),
        ``tree`` (dict parent -> children), ``roots`` (list) and ``status`` (DataFrame
        model_id x node of "ok" / "failed" / "missing", rows in file order).

    Examples
    --------
    >>> from alignfactors.io.datasets import simulate_leaderboard_truth
    >>> truth = simulate_leaderboard_truth(40, seed=1)
    >>> list(truth["loadings"].columns)
    ['general', 'neural', 'behavioral']
    >>> truth["factor"]["MajajHong2015.IT-pls"]
    'neural'
    """
    rng = _validate_simulate(n_models, seed, n_factors)
    _, truth = _simulate(int(n_models), rng, int(n_factors))
    return truth
