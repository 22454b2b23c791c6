"""Model families: which leaderboard entries are near-copies of one model.

Leaderboards hold near-copies: one network trained with several seeds, saved at several
checkpoints, ported to several frameworks or submitted several times under one name. They are
not independent draws, so the bootstrap must resample *families* (clusters of models), not
models (see :func:`alignfactors.resampling.bootstrap`, ``clusters=``).

Two levels answer two questions:

``"variant"``
    Models that differ only by training seed, checkpoint or epoch, framework port or numeric
    precision, or that are repeated submissions of one name. Interval meaning: "another run of
    these models".
``"architecture"``
    The network family (resnet, vit, convnext, efficientnet, mobilenet, cornet, alexnet, vgg,
    densenet, inception, ...). Interval meaning: "other architectures like these".

The rules are data (:data:`VARIANT_RULES`, :data:`ARCHITECTURE_RULES`) and are listed in the
docstring of :func:`model_families`; ``rules=`` overrides them per model.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd

from .errors import DataError, ParameterError, ParameterTypeError
from ._options import unit_of

logger = logging.getLogger(__name__)

__all__ = [
    "model_families",
    "resolve_clusters",
    "cluster_labels",
    "matrix_names",
    "design_effect",
    "DesignEffect",
    "VARIANT_RULES",
    "ARCHITECTURE_RULES",
    "LEVELS",
]

LEVELS = ("variant", "architecture")

#: Ordered rewrite rules of the variant level: ``(what it removes, pattern, replacement)``,
#: applied to the lower-cased name. Names equal after the rewrite are one family.
VARIANT_RULES: tuple[tuple[str, str, str], ...] = (
    ("training seed", r"[_\-.]?(?:training[_\-]?)?seed[_\-]?\d+", ""),
    ("run index and submission date (e.g. _0_240719)", r"_\d{1,2}_\d{6}$", ""),
    ("checkpoint", r"[_\-](?:early|late|final|best|last)?[_\-]?checkpoint(?:[_\-]?\d+)?", ""),
    ("epoch (e5, 47e, epoch10, ep3)", r"[_\-](?:e|ep|epoch[_\-]?)\d+(?=[_\-]|$)|[_\-]\d+e(?=[_\-]|$)", ""),
    ("framework port or numeric precision", r"[_\-](?:tf|keras|pytorch|torch|jax|float32|fp32|fp16)(?=[_\-]|$)", ""),
    ("separators between a name and its number (resnet-50 = resnet_50 = resnet50)", r"(?<=[a-z])[_\-](?=\d)", ""),
    ("other separators", r"[\s_\-.]+", "_"),
)

#: Ordered architecture rules: ``(label, pattern)``, searched in the lower-cased name; the
#: first match wins. A name that matches none is its own architecture (its variant label).
ARCHITECTURE_RULES: tuple[tuple[str, str], ...] = (
    ("cornet", r"cornet|realnet"),
    ("inception", r"inception|googlenet|xception"),
    ("mobilenet", r"mobilenet"),
    ("efficientnet", r"efficientnet|effnet"),
    ("convnext", r"convnext"),
    ("vit", r"vit|deit|cvt|swin|beit|transformer|mvit"),
    ("alexnet", r"alexnet"),
    ("vgg", r"vgg"),
    ("densenet", r"densenet"),
    ("nasnet", r"nasnet"),
    ("grcnn", r"grcnn"),
    ("squeezenet", r"squeezenet"),
    ("shufflenet", r"shufflenet"),
    ("regnet", r"regnet"),
    ("bagnet", r"bagnet"),
    ("resnet", r"resnet|resnext|rnext|res2net|^bit-|(?:^|[^a-z])rn\d|(?:^|[^a-z])r50|r3d|r2plus1d|mc3_"),
)

_META_COLUMNS = {"architecture": "model_family"}


def _names(models: Any) -> pd.Series:
    """Series model_id -> model name from a ScoreTable, its models frame or a Series."""
    if hasattr(models, "models") and isinstance(getattr(models, "models"), pd.DataFrame):
        models = models.models
    if isinstance(models, pd.DataFrame):
        if "model_name" not in models.columns:
            raise DataError(
                f"the models frame has no 'model_name' column (columns: {list(models.columns)[:8]}); "
                "pass a Series model_id -> name instead."
            )
        names = models["model_name"]
    elif isinstance(models, pd.Series):
        names = models
    else:
        raise ParameterTypeError(
            "models must be a ScoreTable, its .models DataFrame or a Series model_id -> model name; "
            f"got {type(models).__name__}."
        )
    if names.isna().any():
        bad = list(names.index[names.isna()][:5])
        raise DataError(f"model names are missing for models {bad}; every model needs a name to get a family.")
    names = names.astype(str)
    names.index = names.index.astype(str)
    return names


def matrix_names(matrix: Any) -> pd.Series | None:
    """Model names a cleaned matrix carries (``matrix.attrs["model_names"]``, set by :func:`clean`), or None."""
    names = getattr(matrix, "attrs", {}).get("model_names")
    if not names:
        return None
    return pd.Series(dict(names), dtype=object)


def _variant_key(name: str) -> str:
    key = name.strip().lower()
    for _, pattern, repl in VARIANT_RULES:
        key = re.sub(pattern, repl, key)
    return key.strip("_") or name.lower()


def _numbered_replicates(keys: pd.Series) -> pd.Series:
    """Merge names that differ only by a zero-padded index (ReAlnet01 ... ReAlnet10 -> realnet*).

    Names are grouped by their pattern with every number replaced; inside a group of two or
    more, a number position where some member has a zero-padded index (``01``) is an index of
    replicates and is replaced by ``*``.
    """
    tokens = keys.map(lambda k: re.split(r"(\d+)", k))
    pattern = tokens.map(lambda t: "#".join(t[0::2]))
    out = keys.copy()
    for _, members in tokens.groupby(pattern):
        if len(members) < 2:
            continue
        n_tok = len(members.iloc[0])
        positions = [
            i for i in range(1, n_tok, 2)
            if any(len(t[i]) > 1 and t[i].startswith("0") for t in members)
        ]
        if not positions:
            continue
        for mid, t in members.items():
            t = list(t)
            for i in positions:
                t[i] = "*"
            out[mid] = "".join(t)
    return out


def _architecture(name: str, variant: str) -> str:
    low = name.lower()
    for label, pattern in ARCHITECTURE_RULES:
        if re.search(pattern, low):
            return label
    return variant


def _apply_rules(rules, names: pd.Series) -> pd.Series:
    """Labels from the user's ``rules`` (mapping by model_id or name, or callable name -> label)."""
    out = pd.Series(None, index=names.index, dtype=object)
    if rules is None:
        return out
    if callable(rules):
        for mid, name in names.items():
            lab = rules(name)
            if lab is not None:
                out[mid] = str(lab)
        return out
    if isinstance(rules, (Mapping, pd.Series)):
        rules = dict(rules)
        for mid, name in names.items():
            lab = rules.get(mid, rules.get(name))
            if lab is not None and not (isinstance(lab, float) and math.isnan(lab)):
                out[mid] = str(lab)
        return out
    raise ParameterTypeError(
        "rules must be None, a mapping {model_id or model name: family} or a callable name -> family "
        f"(None to use the built-in rules); got {type(rules).__name__}."
    )


def model_families(models: Any, level: str = "variant", *, rules: Any = None) -> pd.Series:
    """Family label of every model: near-copies share a label.

    Parameters
    ----------
    models : ScoreTable, DataFrame or Series
        A ScoreTable, its ``models`` frame (column ``model_name``) or a Series model_id -> name.
    level : {"variant", "architecture"}, default="variant"
        ``"variant"`` collapses models that differ only by training seed, checkpoint, epoch,
        framework port or precision, and repeated submissions of one name. ``"architecture"``
        groups network families (resnet, vit, ...).
    rules : mapping or callable, optional
        Overrides, applied first: a mapping ``{model_id or model_name: label}`` or a callable
        ``name -> label`` (return None to fall back to the built-in rules).

    Returns
    -------
    Series
        Index model_id (str, the input's order), values family labels (str), name
        ``"family"``. ``attrs["source"]`` counts how many labels came from ``rules``, the
        table's metadata and the name rules.

    Notes
    -----
    Order of precedence: ``rules``; at the architecture level, the website's metadata
    column ``model_family`` of ``table.models`` where it is filled (e.g. "resnet"; the
    website's ``architecture`` column, "DCNN"/"Transformer", is a model class too coarse to be
    a resampling unit and is not used); then the name rules.

    Variant level, on the lower-cased name, in order (:data:`VARIANT_RULES`): remove a training
    seed (``_training_seed_07``, ``_seed-0``), a run index with submission date
    (``_0_240719``), a checkpoint (``_early_checkpoint``), an epoch (``_e5``, ``_47e``), a
    framework or precision suffix (``-tf``, ``-keras``, ``_pytorch``, ``_float32``); drop
    separators between a word and its number (``resnet-50`` = ``resnet50``) and unify the
    others. Then names that differ only in a zero-padded index (``ReAlnet01`` ...
    ``ReAlnet10``) merge into ``realnet*``. Identical results are one family: repeated
    submissions of one name always share a family.

    Architecture level (:data:`ARCHITECTURE_RULES`): the first of cornet (incl. ReAlnet),
    inception (incl. xception), mobilenet, efficientnet, convnext, vit (ViT, DeiT, CvT, Swin,
    MViT), alexnet, vgg, densenet, nasnet, grcnn, squeezenet, shufflenet, regnet, bagnet,
    resnet (incl. ResNeXt, Res2Net, BiT, CLIP RN50, video ResNets) found in the name; a
    name matching none is its own architecture. A front-end or training change (VOne-,
    robust, SIN, CLIP) keeps the backbone's architecture.

    Examples
    --------
    >>> import pandas as pd
    >>> names = pd.Series(["alexnet", "alexnet_training_seed_01", "ReAlnet01", "ReAlnet02",
    ...                    "resnet-50_v1-tf", "resnet_50_v1", "vit_base"], index=list("abcdefg"))
    >>> model_families(names).tolist()
    ['alexnet', 'alexnet', 'realnet*', 'realnet*', 'resnet50_v1', 'resnet50_v1', 'vit_base']
    >>> model_families(names, level="architecture").tolist()
    ['alexnet', 'alexnet', 'cornet', 'cornet', 'resnet', 'resnet', 'vit']
    """
    if level not in LEVELS:
        raise ParameterError(f"level must be one of {LEVELS}; got {level!r}.")
    names = _names(models)
    user = _apply_rules(rules, names)
    variant = _numbered_replicates(names.map(_variant_key))
    if level == "variant":
        built = variant
        meta = pd.Series(None, index=names.index, dtype=object)
    else:
        built = pd.Series([_architecture(n, v) for n, v in zip(names, variant)], index=names.index, dtype=object)
        meta = pd.Series(None, index=names.index, dtype=object)
        frame = getattr(models, "models", models)
        col = _META_COLUMNS[level]
        if isinstance(frame, pd.DataFrame) and col in frame.columns:
            vals = frame[col].copy()
            vals.index = vals.index.astype(str)
            vals = vals.reindex(names.index)
            filled = vals.notna() & (vals.astype(str).str.strip() != "")
            meta[filled] = vals[filled].astype(str).str.strip().str.lower()
    out = user.where(user.notna(), meta.where(meta.notna(), built)).astype(str)
    out.name = "family"
    out.index.name = names.index.name or "model_id"
    out.attrs["level"] = level
    out.attrs["source"] = {"rules": int(user.notna().sum()),
                           "metadata": int((user.isna() & meta.notna()).sum()),
                           "names": int((user.isna() & meta.isna()).sum())}
    return out


def cluster_labels(clusters: Any, index: Any, table: Any = None, *, names: Any = None) -> pd.Series | None:
    """The family label of every row of ``index`` from a ``clusters=`` argument (None for no clusters).

    Parameters
    ----------
    clusters : None, "auto", "families", "variant", "architecture", "none", Series or mapping
        None or "none": no clusters (the model bootstrap). "auto": "families" when the model
        names show near-copies (some variant family holds two or more of the models, as in
        Brain-Score exports), else None. "families" (= "variant") or
        "architecture": :func:`model_families` at that level, which needs the model names
        (``table`` or ``names``). A Series model_id -> label: the user's own clusters.
    index : sequence
        The model ids of the data rows (a matrix's index), in order.
    table : ScoreTable or DataFrame, optional
        Where the model names come from for a string ``clusters``.
    names : Series, optional
        model_id -> model name, as an alternative to ``table`` (a cleaned matrix carries every
        model of its table in ``matrix.attrs["model_names"]``, see :func:`matrix_names`).
        Models of ``table``/``names`` that are not in ``index`` may be named in a Series
        ``clusters`` (they are logged and not used); models of neither are unknown.

    Returns
    -------
    Series or None
        Index ``index`` (as str), values family labels (str).

    Raises
    ------
    DataError
        When the clusters miss models of ``index``, name models not in it, or form a single
        cluster (no between-cluster variation to resample).
    ParameterError
        For an unknown string, or a string with no model names to derive families from.

    Examples
    --------
    >>> import pandas as pd
    >>> cluster_labels(pd.Series({"m1": "a", "m2": "b", "m3": "a"}), ["m1", "m2", "m3"]).tolist()
    ['a', 'b', 'a']
    """
    index = pd.Index([str(i) for i in index])
    if clusters is None or (isinstance(clusters, str) and clusters == "none"):
        return None
    if isinstance(clusters, str) and clusters == "auto":
        src = table if table is not None else names
        if src is None:
            return None
        fam = model_families(src, level="variant")
        fam = fam.reindex(index)
        if fam.isna().any() or fam.nunique() == len(index) or fam.nunique() < 2:
            return None  # no near-copies (or no names for some models): the models are the units
        clusters = "families"
    if isinstance(clusters, str):
        level = {"families": "variant", "family": "variant", "variant": "variant",
                 "architecture": "architecture"}.get(clusters)
        if level is None:
            raise ParameterError(
                f"clusters must be None, 'auto', 'families', 'architecture', 'none' or a Series "
                f"model_id -> family; got {clusters!r}."
            )
        src = table if table is not None else names
        if src is None:
            raise ParameterError(
                f"clusters={clusters!r} needs the model names to find families, and only a matrix was given; "
                f"pass clusters=af.model_families(table, level={level!r}) (a Series model_id -> family)."
            )
        labels = model_families(src, level=level)
        missing = index.difference(labels.index)
        if len(missing):
            raise DataError(
                f"clusters={clusters!r}: {len(missing)} models of the data are not in the table's models "
                f"(e.g. {list(missing[:5])}); pass the table the data came from."
            )
        labels = labels.reindex(index)
    else:
        if isinstance(clusters, Mapping):
            clusters = pd.Series(dict(clusters), dtype=object)
        if not isinstance(clusters, pd.Series):
            raise ParameterTypeError(
                "clusters must be None, 'families', 'architecture', 'none' or a Series model_id -> family; "
                f"got {type(clusters).__name__}."
            )
        lab = clusters.copy()
        lab.index = lab.index.astype(str)
        if lab.index.has_duplicates:
            dup = list(lab.index[lab.index.duplicated()].unique()[:5])
            raise DataError(f"clusters names some models twice: {dup}; give one family per model_id.")
        missing = index.difference(lab.index)
        if len(missing):
            raise DataError(
                f"clusters misses {len(missing)} of the {len(index)} models of the data "
                f"(e.g. {list(missing[:5])}); give every model a family (a singleton family is fine)."
            )
        known = index
        for src in (table, names):  # models of the table the data came from are known, if not used
            if src is not None:
                known = known.union(_names(src).index)
        unknown = lab.index.difference(known)
        if len(unknown):
            raise DataError(
                f"clusters names {len(unknown)} models that are not in the data (e.g. {list(unknown[:5])}); "
                "pass clusters.loc[matrix.index] if the data were subset on purpose."
            )
        extra = lab.index.difference(index)
        if len(extra):
            logger.info("clusters: %d models of the table are not in the data (dropped by cleaning or not "
                        "used by this analysis); their families are not used.", len(extra))
        labels = lab.reindex(index)
        if labels.isna().any():
            bad = list(labels.index[labels.isna()][:5])
            raise DataError(f"clusters has no family (NaN) for models {bad}; give every model a family.")
    labels = labels.astype(str)
    if labels.nunique() < 2:
        raise DataError(
            f"clusters puts all {len(index)} models in one family ({labels.iloc[0]!r}); a cluster bootstrap "
            "needs at least two families (use clusters=None for the model bootstrap)."
        )
    labels.name = "family"
    return labels


def resolve_clusters(clusters: Any, index: Any, table: Any = None, *, names: Any = None) -> np.ndarray | None:
    """Turn a ``clusters=`` argument into integer codes aligned with ``index``.

    Same arguments, rules and errors as :func:`cluster_labels`; returns ``None`` for no
    clusters, else codes ``0 .. G-1`` in order of first appearance, one per row of ``index``
    (what :func:`alignfactors.resampling.bootstrap` takes).

    Examples
    --------
    >>> import pandas as pd
    >>> resolve_clusters(pd.Series({"m1": "a", "m2": "b", "m3": "a"}), ["m1", "m2", "m3"]).tolist()
    [0, 1, 0]
    >>> resolve_clusters(None, ["m1", "m2"]) is None
    True
    """
    labels = cluster_labels(clusters, index, table, names=names)
    if labels is None:
        return None
    codes, _ = pd.factorize(labels, sort=False)
    return codes.astype(np.int64)


@dataclass(frozen=True)
class DesignEffect:
    """Result of :func:`design_effect`.

    Attributes
    ----------
    icc : dict of str -> Estimate
        Each metric's intra-family correlation, ICC(1) of a one-way ANOVA by family.
    n_eff : dict of str -> Estimate
        Each metric's Kish effective number of models, ``n / (1 + (m - 1) ICC)``.
    median_icc, median_n_eff : Estimate
        Median over metrics.
    sizes : Series
        Family label -> number of models, largest first.
    n_models, n_clusters : int
    mean_size : float
        Size-weighted mean family size ``m = sum(n_g^2) / n`` (the ``m`` of the formula).
    options : dict
        Resampling options and provenance.
    """

    icc: dict
    n_eff: dict
    median_icc: Estimate
    median_n_eff: Estimate
    sizes: pd.Series
    n_models: int
    n_clusters: int
    mean_size: float
    options: dict = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """Tidy frame: one row per metric and quantity (``icc``, ``n_eff``), medians first."""
        from ._formatting import estimates_frame

        rows = [estimates_frame({"median": self.median_icc}, name="metric").assign(quantity="icc"),
                estimates_frame({"median": self.median_n_eff}, name="metric").assign(quantity="n_eff"),
                estimates_frame(self.icc, name="metric").assign(quantity="icc"),
                estimates_frame(self.n_eff, name="metric").assign(quantity="n_eff")]
        out = pd.concat(rows, ignore_index=True)
        return out[["quantity", "metric"] + [c for c in out.columns if c not in ("quantity", "metric")]]

    def summary(self) -> str:
        top = ", ".join(f"{k} ({v})" for k, v in self.sizes.head(5).items())
        return "\n".join([
            f"Design effect of families: {self.n_models} models in {self.n_clusters} families "
            f"(size-weighted mean size {self.mean_size:.2f}; largest: {top}).",
            f"Median intra-family correlation {self.median_icc}; median effective n {self.median_n_eff.format(1)}.",
            f"Intervals: {self.options.get('n_boot')} resamples of families, {self.median_icc.level:.0%} "
            f"{self.median_icc.method}.",
        ])

    def to_markdown(self) -> str:
        from ._formatting import markdown_table

        return markdown_table(self.to_frame()[["quantity", "metric", "value", "ci_low", "ci_high", "method"]])

    def to_dict(self) -> dict:
        return {
            "n_models": self.n_models, "n_clusters": self.n_clusters, "mean_size": self.mean_size,
            "largest": {str(k): int(v) for k, v in self.sizes.head(10).items()},
            "median_icc": self.median_icc.to_dict(), "median_n_eff": self.median_n_eff.to_dict(),
            "icc": {k: e.to_dict() for k, e in self.icc.items()},
            "n_eff": {k: e.to_dict() for k, e in self.n_eff.items()},
            "options": self.options,
        }

    def __str__(self) -> str:
        return self.summary()


def _design_effect_statistic(x: np.ndarray, codes: np.ndarray):
    """ICC(1) and Kish n_eff per metric, plus their medians, for cluster-draw weights.

    With clusters drawn with replacement every draw is a separate group: a family drawn twice
    counts twice in the sums of squares and in the degrees of freedom.
    """
    g = int(codes.max()) + 1
    first = np.array([np.flatnonzero(codes == k)[0] for k in range(g)])
    size = np.bincount(codes, minlength=g).astype(float)
    sums = np.zeros((g, x.shape[1]))
    np.add.at(sums, codes, x)
    sq = np.zeros((g, x.shape[1]))
    np.add.at(sq, codes, x**2)
    between_part = sums**2 / size[:, None]
    within_part = sq - between_part

    def statistic(w: np.ndarray) -> np.ndarray:
        c = w[:, first]  # draws of each family
        n = c @ size
        groups = c.sum(axis=1)
        n2 = c @ size**2
        total = c @ sums
        ssb = c @ between_part - total**2 / n[:, None]
        ssw = c @ within_part
        msb = ssb / (groups - 1)[:, None]
        msw = ssw / (n - groups)[:, None]
        n0 = (n - n2 / n) / (groups - 1)
        icc = (msb - msw) / (msb + (n0 - 1)[:, None] * msw)
        m = n2 / n
        n_eff = n[:, None] / (1 + (m - 1)[:, None] * icc)
        return np.hstack([np.median(icc, axis=1, keepdims=True), np.median(n_eff, axis=1, keepdims=True),
                          icc, n_eff])

    return statistic


def design_effect(
    matrix: pd.DataFrame,
    clusters: Any = "families",
    *,
    table: Any = None,
    n_boot: int = 2000,
    ci: float = 0.95,
    ci_method: str = "bca",
    seed: Any = None,
    n_jobs: int = 1,
    batch_size: int | None = None,
    progress: bool | None = None,
    missing: str = "complete",
) -> DesignEffect:
    """How much do models of one family resemble each other? Intra-family correlation and effective n.

    For each metric, the intra-class correlation ICC(1) of a one-way random-effects ANOVA with
    families as groups, and Kish's effective number of models; intervals from the cluster
    bootstrap (families drawn with replacement).

    Parameters
    ----------
    matrix : DataFrame
        Models x metrics, no NaN (index model_id).
    clusters : Series, "families", "architecture", default="families"
        Family of each model (see :func:`resolve_clusters`); a string needs ``table``.
    table : ScoreTable, optional
        Where model names come from for a string ``clusters``.
    n_boot, ci, ci_method, seed, n_jobs, batch_size, progress
        See :func:`alignfactors.resampling.bootstrap`; resamples draw families.
    missing : {"complete"}, default="complete"
        The matrix must be complete; a NaN raises :class:`DataError`.

    Returns
    -------
    DesignEffect

    Notes
    -----
    With ``G`` families of sizes :math:`n_g`, :math:`n = \\sum n_g`,
    :math:`MSB = \\sum_g n_g(\\bar y_g - \\bar y)^2/(G-1)`,
    :math:`MSW = \\sum_g\\sum_i (y_{gi} - \\bar y_g)^2/(n-G)`,
    :math:`n_0 = (n - \\sum n_g^2/n)/(G-1)`:
    :math:`ICC(1) = (MSB - MSW)/(MSB + (n_0-1) MSW)` (may be negative). Kish's design effect
    for unequal cluster sizes is :math:`1 + (m - 1) ICC` with :math:`m = \\sum n_g^2/n`, and
    the effective number of models :math:`n_{eff} = n / (1 + (m-1) ICC)`.

    References
    ----------
    .. [1] Shrout, P. E. & Fleiss, J. L. (1979). Intraclass correlations: uses in assessing rater
       reliability. Psychological Bulletin 86(2), 420-428. https://doi.org/10.1037/0033-2909.86.2.420
    .. [2] Kish, L. (1965). Survey Sampling. Wiley. (Design effect, ch. 5.)
    .. [3] Field, C. A. & Welsh, A. H. (2007). Bootstrapping clustered data. JRSS-B 69(3),
       369-390. https://doi.org/10.1111/j.1467-9868.2007.00593.x

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> fam = pd.Series(np.repeat([f"f{i}" for i in range(20)], 3), index=[f"m{i}" for i in range(60)])
    >>> shared = np.repeat(rng.normal(size=(20, 2)), 3, axis=0)
    >>> m = pd.DataFrame(shared + rng.normal(size=(60, 2)), index=fam.index, columns=["a", "b"])
    >>> de = design_effect(m, fam, n_boot=200, seed=0)
    >>> de.n_clusters, bool(0 < de.median_icc.value < 1)
    (20, True)
    """
    from .resampling import bootstrap
    from ._options import check_options, provenance

    check_options(n_boot=n_boot, ci=ci, ci_method=ci_method, seed=seed, n_jobs=n_jobs, batch_size=batch_size,
                  progress=progress, missing=missing, allowed_missing=("complete",))
    if not isinstance(matrix, pd.DataFrame):
        raise ParameterTypeError(f"matrix must be a pandas DataFrame (models x metrics); got {type(matrix).__name__}.")
    if clusters is None or (isinstance(clusters, str) and clusters == "none"):
        raise ParameterError("design_effect needs clusters (a Series model_id -> family, 'families' or 'architecture').")
    x = matrix.to_numpy(dtype=float)
    if np.isnan(x).any():
        bad = list(matrix.columns[np.isnan(x).any(axis=0)][:5])
        raise DataError(f"design_effect needs a complete matrix (missing='complete'); NaN in columns {bad}. "
                        "Use clean(table, complete=True).")
    labels = cluster_labels(clusters, matrix.index, table, names=matrix_names(matrix))
    codes = pd.factorize(labels, sort=False)[0].astype(np.int64)
    sizes = labels.value_counts()
    stat = _design_effect_statistic(x, codes)
    res = bootstrap(stat, x.shape[0], n_boot=n_boot, ci=ci, method=ci_method, seed=seed, n_jobs=n_jobs,
                    batch_size=batch_size, progress=progress, clusters=codes, unit="family", stacklevel=3)
    est = list(res.estimates)
    p = x.shape[1]
    cols = [str(c) for c in matrix.columns]
    size = np.bincount(codes).astype(float)
    return DesignEffect(
        icc=dict(zip(cols, est[2 : 2 + p])), n_eff=dict(zip(cols, est[2 + p :])),
        median_icc=est[0], median_n_eff=est[1], sizes=sizes.rename("n_models"),
        n_models=x.shape[0], n_clusters=int(codes.max()) + 1, mean_size=float((size**2).sum() / size.sum()),
        options=provenance(n_boot=n_boot, ci=ci, ci_method=ci_method, seed=seed, missing=missing,
                           unit="family", n_units=int(codes.max()) + 1, n=x.shape[0]),
    )


def cluster_codes(clusters: Any, rows: Any, *, table: Any = None, names: Any = None, known: Any = None):
    """``(codes, unit)`` for the rows an analysis resamples: codes 0..G-1 aligned with ``rows``, or None.

    ``known``: every model id the user could refer to (e.g. the table's models when the analysis
    uses a subset of them); a Series ``clusters`` may then name known models the analysis does not
    use, but never unknown ones, and must give a family to every row used.
    """
    import pandas as pd

    from .errors import DataError

    if isinstance(clusters, pd.Series) and known is not None:
        lab = clusters.copy()
        lab.index = lab.index.astype(str)
        known = pd.Index([str(k) for k in known])
        unknown = lab.index.difference(known)
        if len(unknown):
            raise DataError(f"clusters names {len(unknown)} models that are not in the data "
                            f"(e.g. {list(unknown[:5])}).")
        clusters = lab[lab.index.isin([str(r) for r in rows])]
    codes = resolve_clusters(clusters, rows, table, names=names)
    return codes, ("model" if codes is None else unit_of(clusters))
