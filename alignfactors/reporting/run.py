"""End to end: run every analysis on a leaderboard and write ``report.md``, figures and ``results.json``.

:func:`report` is the only place that chains the analyses. It first *runs* them through their
public functions (clean -> agreement -> dimensionality -> FactorModel + bootstrap_loadings ->
decompose -> compare_aggregations) and then *renders* the results: rendering only formats
numbers that the analyses computed, it computes nothing statistical. The output directory is
written atomically: everything goes into a temporary directory next to ``out`` and is moved into
place only when complete, so a failed run never leaves a half-written report and never clobbers
an existing one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._formatting import json_number
from .._validation import did_you_mean
from .._workers import prewarm, warm_workers  # noqa: F401  (prewarm: still importable from here)
from ..errors import DataError, ParameterError, ParameterTypeError
from ..estimate import Estimate
from ._render import package_versions, render_markdown, write_figures

__all__ = ["report", "ReportResults", "run_analyses", "results_to_dict", "REPORT_OPTIONS", "RESULT_KEYS"]

#: Top-level keys of ``results.json``, in this order (more may follow).
RESULT_KEYS = ("alignfactors_version", "input", "options", "cleaning", "agreement", "dimensionality",
               "decomposition", "aggregation")

#: Options that decide how the work is spread, not what is computed (left out of results.json).
_EXECUTION_OPTIONS = ("n_jobs", "batch_size")

#: Options of :func:`report` (beyond n_boot and seed) and their defaults; a ``--config`` file may set them.
REPORT_OPTIONS: dict[str, Any] = {
    "ci": 0.95,
    "method": "spearman",
    "max_missing": 0.5,
    "complete": True,
    "domains": None,
    "level": "leaves",
    "n_factors": None,
    "max_factors": 5,
    "factor_method": "minres",
    "rotation": "oblimin",
    "aggregate": "average_vision",
    "parts": None,
    "aggregation_methods": ["brainscore", "mean", "zscore", "rank", "domain_zscore"],
    "aggregation_models": "cleaned",
    "top_models": 20,
    "n_jobs": 1,
    "clusters": "auto",
    "ci_method": "bca",
    "batch_size": None,
    "compare_units": True,
    "trend_dates": None,
}



@dataclass
class ReportResults:
    """Everything :func:`run_analyses` computed; the renderers only read it."""

    table: Any
    input: dict
    options: dict
    cleaned: Any
    agreement: Any
    dimensionality: Any
    factors: Any
    loadings: Any
    decomposition: Any
    comparison: Any
    scatter: pd.DataFrame | None
    simulated: bool = False
    skipped: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)
    units: Any = None
    clusters: Any = None
    trend: Any = None
    factor_fit: Any = None  # adequacy.FactorFitTable: fit over k, poor-fit flag, clipping of k
    reliability: Any = None
    rankings: dict = field(default_factory=dict)  # run_rankings_extras: policies, cleanings, sources, extremes


# ------------------------------------------------------------------------------------------ validation
def _validate_report(table, out, n_boot, seed, options):
    from ..io.table import ScoreTable

    if not isinstance(table, (ScoreTable, str, os.PathLike)):
        raise ParameterTypeError(
            f"table must be a ScoreTable or a path to a leaderboard CSV; got {type(table).__name__}."
        )
    if not isinstance(out, (str, os.PathLike)):
        raise ParameterTypeError(f"out must be a directory path; got {type(out).__name__}.")
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 0:
        raise ParameterError(f"n_boot must be a non-negative integer (e.g. 2000); got {n_boot!r}.")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ParameterError(
            f"seed must be a non-negative integer (the report records it so that it can be rerun); got {seed!r}."
        )
    unknown = sorted(set(options) - set(REPORT_OPTIONS))
    if unknown:
        raise ParameterError(f"unknown report option(s) {unknown}{did_you_mean(unknown[0], REPORT_OPTIONS)}; "
                             f"allowed: {sorted(REPORT_OPTIONS)}.")
    opts = {**REPORT_OPTIONS, **options}
    methods = opts["aggregation_methods"]
    if isinstance(methods, str) or not isinstance(methods, (list, tuple)) or len(methods) < 2:
        raise ParameterError(f"aggregation_methods must be a list of at least 2 methods; got {methods!r}.")
    for key in ("max_factors", "top_models", "n_jobs"):
        v = opts[key]
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < (-1 if key == "n_jobs" else 1):
            raise ParameterError(f"{key} must be a positive integer; got {v!r}.")
    if opts["n_factors"] is not None and (isinstance(opts["n_factors"], bool)
                                          or not isinstance(opts["n_factors"], (int, np.integer))
                                          or opts["n_factors"] < 1):
        raise ParameterError(f"n_factors must be None (parallel-analysis rule) or a positive integer; "
                             f"got {opts['n_factors']!r}.")
    if opts["aggregation_models"] not in ("cleaned", "all"):
        raise ParameterError(f"aggregation_models must be 'cleaned' (the models and metrics of the cleaned matrix) or 'all' "
                             f"(every model with a score); got {opts['aggregation_models']!r}.")
    opts["aggregation_methods"] = list(methods)
    cl = opts["clusters"]
    if not (cl is None or isinstance(cl, pd.Series) or cl in ("auto", "none", "families", "architecture")):
        raise ParameterError(f"clusters must be 'auto' (families for Brain-Score-like names), 'families', "
                             f"'architecture', 'none' or a Series model_id -> family; got {cl!r}.")
    if not isinstance(opts["compare_units"], bool):
        raise ParameterTypeError(f"compare_units must be True or False; got {opts['compare_units']!r}.")
    from .._options import check_options

    check_options(n_boot=n_boot, ci=opts["ci"], ci_method=opts["ci_method"], seed=seed, n_jobs=opts["n_jobs"],
                  batch_size=opts["batch_size"], where="report")
    return opts


def _report_clusters(option, table, index):
    """The ``clusters=`` every analysis of the report gets: "auto" becomes "families" when the model
    names show near-copies (Brain-Score exports), else None; and a description for the record."""
    from ..families import cluster_labels

    if isinstance(option, pd.Series):
        return option, "cluster"
    if option in (None, "none"):
        return None, "model"
    if option == "auto":
        lab = cluster_labels("auto", index, table)
        return (None, "model") if lab is None else ("families", "family")
    return option, ("architecture" if option == "architecture" else "family")


def _clusters_kw(func, clusters, **options) -> dict:
    # An analysis from before the common options (no clusters=/ci_method= yet) gets what it takes
    # and resamples models; the report then says so (see ReportResults.clusters["not_clustered"]).
    import inspect

    params = inspect.signature(func).parameters
    return {k: v for k, v in dict(options, clusters=clusters).items() if k in params}


# ------------------------------------------------------------------------------------------ provenance
def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _input_record(table, source) -> dict:
    """File name + sha256 of its bytes (never an absolute path); for an in-memory table, a hash
    of its scores written as CSV; what aggregate detection found, when it ran."""
    record = _input_hash(table, source)
    det = getattr(table, "detection", None)
    if det is not None:
        record["aggregates"] = det.to_dict()
    return record


def _input_hash(table, source) -> dict:
    if source is not None:
        p = Path(source)
        return {"name": p.name, "sha256": _sha256(p), "sha256_of": "file bytes",
                "n_models": int(table.scores.shape[0]), "n_columns": int(table.scores.shape[1])}
    text = table.scores.to_csv(float_format=repr, lineterminator="\n").encode()
    return {"name": str(table.source), "sha256": hashlib.sha256(text).hexdigest(), "sha256_of": "scores as CSV",
            "n_models": int(table.scores.shape[0]), "n_columns": int(table.scores.shape[1])}


# ------------------------------------------------------------------------------------------ running
#: Measured cost of each step of the report, in CPU seconds: (fixed, per bootstrap resample), fitted
#: from runs at n_boot=200 and 1000 on the 2025-05-07 export (229 models x 50 metrics) on the 2-core
#: machine (``python benchmarks/report_steps.py --n-boot 200 1000``; reports/benchmark_report_steps.md),
#: after the speed-ups and the reliability section were merged. Re-measure when a step's cost changes
#: (the first measurement, before them, had the factor step at 75% of the run; now dimensionality
#: and reliability lead). The run-wide bar weights each step by ``fixed + per_resample * n_boot``;
#: only the ratios matter. A step missing here weighs ``_DEFAULT_STEP_COST``.
STEP_COSTS: dict[str, tuple[float, float]] = {
    "cleaning + agreement": (0.4, 0.0),
    "dimensionality": (2.3, 0.0161),
    "factor analysis": (3.2, 0.0028),
    "decomposition": (0.8, 0.0),
    "aggregation comparison": (6.2, 0.0072),
    "resampling units": (1.1, 0.0011),
    "reliability": (1.3, 0.0099),
    "results.json": (0.3, 0.0),
    "figures": (4.7, 0.0),
    "report.md": (0.1, 0.0),
    # not measured (runs only on a snapshot with timestamps): estimated as the steps it repeats,
    # 4 dates x (agreement + dimensionality + decomposition); 0 when the input has no timestamps
    "trend": (14.0, 0.0644),
}
#: Bootstrap calls each step makes (each with its progress bar; counted on the 2025-05-07 export
#: and the simulated default, the same on both): a step's fraction advances by bar, so a wrong
#: count stalls the run-wide bar. Decomposition: the aggregate and the parts one level down;
#: resampling units: agreement, dimensionality and decomposition under each unit; reliability:
#: the reliabilities, the corrected agreement and its dimensionality's two.
STEP_BARS = {"dimensionality": 2, "decomposition": 8, "aggregation comparison": 9, "resampling units": 12,
             "reliability": 4}
_DEFAULT_STEP_COST = (0.5, 0.002)
#: Shape of the data STEP_COSTS was measured on: cleaned models and metrics, and the parts one
#: level below the aggregate that the decomposition's Shapley shares run over (2^parts subsets).
_COST_REFERENCE = {"n_models": 229, "n_metrics": 50, "n_subparts": 12}


def _step_costs(n_boot: int, shape: dict | None = None) -> tuple[dict, dict]:
    """Expected cost of each step for ``n_boot`` resamples, and the share of it in the resamples.

    With the data's ``shape`` (keys of ``_COST_REFERENCE``) the measured costs are scaled by the
    drivers that dominate them: metrics squared for dimensionality and the factor refits (and
    models for the factor step's leave-one-out refits of BCa), 2^parts for the decomposition,
    models for the aggregation comparison.
    Checked with the first measurement on the simulated default leaderboard (91 x 23, 14 parts):
    predicted 1.3 s + 0.0098 s per resample for the factor step and 3.6 s + 0.0164 s for the
    decomposition against measured 1.1 s + 0.0089 s and 2.4 s + 0.0136 s
    (reports/benchmark_report_steps.md).
    """
    ref = _COST_REFERENCE
    scale = {k: (1.0, 1.0) for k in STEP_COSTS}
    if shape:
        p2 = (shape.get("n_metrics", ref["n_metrics"]) / ref["n_metrics"]) ** 2
        n = shape.get("n_models", ref["n_models"]) / ref["n_models"]
        parts = 2.0 ** (shape.get("n_subparts", ref["n_subparts"]) - ref["n_subparts"])
        scale.update({"dimensionality": (p2, p2), "factor analysis": (p2 * n, p2), "decomposition": (parts, parts),
                      "aggregation comparison": (n, n), "trend": (p2, p2), "reliability": (p2, p2),
                      "resampling units": (p2, p2)})
        if not shape.get("families", True):
            scale["resampling units"] = (0.0, 0.0)
        if not shape.get("timestamps", True):
            scale["trend"] = (0.0, 0.0)
        if not shape.get("errors", True):
            scale["reliability"] = (0.0, 0.0)
    costs, share = {}, {}
    for k, (a, b) in STEP_COSTS.items():
        fa, fb = scale[k]
        costs[k] = a * fa + b * fb * n_boot
        share[k] = b * fb * n_boot / costs[k] if costs[k] > 0 else 1.0
    return costs, share


def _steps_progress(progress: bool, n_boot: int = 2000):
    """The report's run-wide progress: one bar weighted by :data:`STEP_COSTS` (see
    :class:`alignfactors._progress.StepProgress`); inside :func:`report` the bar it opened."""
    from .._progress import StepProgress

    costs, share = _step_costs(n_boot)
    return StepProgress(costs, enabled=progress, title="alignfactors report", bars=STEP_BARS, boot_share=share,
                        default_cost=_DEFAULT_STEP_COST[0] + _DEFAULT_STEP_COST[1] * n_boot).start()


def _data_shape(table, cleaned, aggregate) -> dict:
    """What the step costs scale with (see :func:`_step_costs`)."""
    n, p = cleaned.matrix.shape
    tree = table.tree
    parts = tree.children(aggregate) if aggregate in table.scores.columns and not tree.is_leaf(aggregate) else []
    from ._reliability_section import _replicate_groups

    errors = getattr(table, "errors", None)
    with warnings.catch_warnings():  # the reliability section says itself why it has no replicates
        warnings.simplefilter("ignore")
        replicates = _replicate_groups(table, cleaned.matrix) is not None
    return {"n_models": n, "n_metrics": p, "n_subparts": sum(len(tree.children(c)) or 1 for c in parts),
            "families": replicates,  # the resampling-units comparison runs when model names show families
            "timestamps": bool(getattr(table, "has_timestamps", False)),
            "errors": (errors is not None and bool(np.any(pd.notna(errors)))) or replicates}


def run_analyses(table, *, n_boot: int = 2000, seed: int = 0, progress: bool = True, simulated: bool = False,
                 source=None, **options) -> ReportResults:
    """Run every analysis of the report; returns the result objects (nothing is written).

    Parameters are those of :func:`report` (without ``out``).
    """
    from ..agreement import agreement
    from ..aggregation import rank_models
    from ..cleaning import clean
    from ..comparison import compare_aggregations
    from ..decomposition import decompose
    from ..dimensions import dimensionality
    from ..factor_bootstrap import bootstrap_loadings
    from ..factors import FactorModel

    opts = _validate_report(table, ".", n_boot, seed, options)
    warm = warm_workers(opts["n_jobs"]) if n_boot else None
    if not hasattr(table, "scores"):
        from ..io.loading import load_table

        source = table if source is None else source
        table = load_table(table)
    seed = int(seed)
    bar = _steps_progress(progress, int(n_boot))
    caught: list[str] = []
    skipped: dict[str, str] = {}
    if "aggregate" not in options:  # the default names Brain-Score's root: take another table's own
        opts["aggregate"], chosen = _default_aggregate(table, opts["aggregate"])
        if chosen:
            caught.append(chosen)
    try:
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            common = dict(n_boot=int(n_boot), ci=opts["ci"], seed=seed, n_jobs=opts["n_jobs"], progress=progress)
            full = dict(common, ci_method=opts["ci_method"], batch_size=opts["batch_size"])

            bar.set_postfix_str("cleaning + agreement")
            cleaned = clean(table, max_missing=opts["max_missing"], complete=opts["complete"],
                            domains=opts["domains"], level=opts["level"])
            bar.set_costs(*_step_costs(int(n_boot), _data_shape(table, cleaned, opts["aggregate"])))
            groups = cleaned.domains if cleaned.domains.notna().all() else None
            clusters, unit = _report_clusters(opts["clusters"], table, cleaned.matrix.index)
            not_clustered = [f.__name__ for f in (bootstrap_loadings,)
                             if clusters is not None and "clusters" not in _clusters_kw(f, clusters)]
            agr = agreement(cleaned.matrix, method=opts["method"], groups=groups, clusters=clusters, **full)
            bar.update()

            if warm is not None:  # this process waits on the workers from here: meanwhile it imports
                # matplotlib and statsmodels (the decomposition's joint fit), not in the serial steps later
                threading.Thread(target=_import_for_main, daemon=True).start()
            bar.set_postfix_str("dimensionality")
            dim = dimensionality(cleaned.matrix, method=opts["method"], **full, clusters=clusters)
            bar.update()

            bar.set_postfix_str("factor analysis")
            fit_table = _factor_fit_table(cleaned.matrix, dim, opts)
            k = fit_table.k
            fm = FactorModel(k, method=opts["factor_method"], rotation=opts["rotation"] if k > 1 else None,
                             corr_method=opts["method"]).fit(cleaned.matrix)
            boot_load = bootstrap_loadings(cleaned.matrix, fm, **common,
                                           **_clusters_kw(bootstrap_loadings, clusters, ci_method=opts["ci_method"],
                                                          batch_size=opts["batch_size"]))
            bar.update()

            bar.set_postfix_str("decomposition")
            dec = None
            if opts["aggregate"] in table.scores.columns and not table.tree.is_leaf(opts["aggregate"]):
                dec = decompose(table, aggregate=opts["aggregate"], parts=opts["parts"], clusters=clusters, **full)
            else:
                skipped["decomposition"] = (
                    f"the table has no aggregate node {opts['aggregate']!r} with parts (a flat table); "
                    "set the option 'aggregate' to a parent column to decompose it")
            bar.update()

            bar.set_postfix_str("aggregation comparison")
            on_cleaned = opts["aggregation_models"] == "cleaned"
            comp = compare_aggregations(table, methods=opts["aggregation_methods"],
                                        models=list(cleaned.matrix.index) if on_cleaned else None,
                                        metrics=list(cleaned.matrix.columns) if on_cleaned else None,
                                        clusters=clusters, **full)
            rankings = run_rankings_extras(table, cleaned, dec, opts, common, clusters)
            bar.update()

            bar.set_postfix_str("resampling units")
            units = None
            if opts["compare_units"] and n_boot and cleaned.matrix.index.size:
                units = _resampling_units(table, cleaned, groups, opts, dec, full,
                                          {clusters: {"agreement": agr, "dimensionality": dim, "decomposition": dec}}
                                          if clusters is None or isinstance(clusters, str) else None)
            bar.update()

            scatter = None
            if dec is not None and len(dec.parts) == 2:
                cols = [*dec.parts, dec.aggregate]
                scatter = table.scores[cols].dropna().copy()
                scatter["rank"] = rank_models(scatter[dec.aggregate])
                scatter.attrs.update(x=dec.parts[0], y=dec.parts[1], colour=dec.aggregate)
            bar.set_postfix_str("trend")
            trend_res = _run_trend(table, opts, common, skipped, clusters)
            bar.update()
            # "Reliability and measurement error": only when the input has errors or replicate models
            from ._reliability_section import run_reliability_section

            bar.set_postfix_str("reliability")
            rel_section = run_reliability_section(table, cleaned, dim, method=opts["method"], groups=groups,
                                                  n_boot=int(n_boot), ci=opts["ci"], seed=seed,
                                                  n_jobs=opts["n_jobs"], progress=progress, clusters=clusters,
                                                  agr=agr, dec=dec, ci_method=opts["ci_method"])
            bar.update()
            bar.set_postfix_str("done")
            bar.update()
        for w in record:
            msg = f"{w.category.__name__}: {w.message}"
            if msg not in caught:
                caught.append(msg)
    finally:
        bar.close()
        if warm is not None:  # long done: the analyses' first parallel step queued behind the warm-up
            list(warm)
    record = {"option": opts["clusters"] if not isinstance(opts["clusters"], pd.Series) else "Series",
              "used": clusters if not isinstance(clusters, pd.Series) else "Series", "unit": unit,
              "n_units": agr.mean.n_units, "not_clustered": not_clustered}
    # how the work was spread (n_jobs, batch_size) changes no number: not recorded, so that
    # results.json is byte-identical for any n_jobs and joblib backend
    opts_out = {k: (v if not isinstance(v, pd.Series) else "Series") for k, v in opts.items()
                if k not in _EXECUTION_OPTIONS}
    return ReportResults(table, _input_record(table, source), {"n_boot": int(n_boot), "seed": seed, **opts_out},
                         cleaned, agr, dim, fm, boot_load, dec, comp, scatter, simulated, skipped, caught,
                         units=units, clusters=record, trend=trend_res, factor_fit=fit_table,
                         reliability=rel_section, rankings=rankings)


def _import_for_main() -> None:
    import statsmodels.api  # noqa: F401

    from . import figures  # noqa: F401


def _default_aggregate(table, default: str) -> tuple[str, str | None]:
    """The aggregate the report decomposes when the option is not set: ``default`` if the table
    has it as a parent, else the table's single top-level parent column (e.g. a detected
    "Average"), with a sentence saying so; ``default`` when there is none or several."""
    tree = table.tree
    if default in table.scores.columns and not tree.is_leaf(default):
        return default, None
    tops = [r for r in tree.roots if r in table.scores.columns and not tree.is_leaf(r)]
    if len(tops) != 1:
        return default, None
    return tops[0], (f"aggregate: the table has no {default!r} column; its single top-level aggregate {tops[0]!r} "
                     f"(children: {', '.join(map(repr, tree.children(tops[0])))}) is decomposed instead (set the "
                     "option 'aggregate' to choose another)")


def _factor_fit_table(matrix, dim, opts):
    """k for the factor model: the n_factors option, else the parallel_fa rule; clipped to max_factors
    (and p - 1) with the clipping stated, and the fit tabulated over k around it."""
    from ..adequacy import factor_fit_table

    p = matrix.shape[1]
    if opts["n_factors"] is not None:
        k, source = int(opts["n_factors"]), "the n_factors option"
    else:
        k, source = max(int(dim.n_dimensions.get("parallel_fa", 1)), 1), "the parallel_fa rule"
    return factor_fit_table(matrix, min(k, p - 1), max_factors=opts["max_factors"], source=source,
                            method=opts["factor_method"], corr_method=opts["method"], n_jobs=opts.get("n_jobs", 1))


def _resampling_units(table, cleaned, groups, opts, dec, full, reuse=None):
    """Headline numbers under the model, family and architecture bootstrap, when the names show families
    (``reuse``: the report's own results for its unit, taken where their options match)."""
    from ..families import cluster_labels
    from ..units import compare_units

    idx = cleaned.matrix.index
    if cluster_labels("auto", idx, table) is None:
        return None  # no near-copies among the model names: nothing to compare
    units = [None, "families"]
    try:
        cluster_labels("architecture", idx, table)
        units.append("architecture")
    except DataError:  # a single architecture: no architecture bootstrap
        pass
    return compare_units(table, matrix=cleaned.matrix, groups=groups, units=units, method=opts["method"],
                         aggregate=None if dec is None else dec.aggregate, parts=None if dec is None else dec.parts,
                         reuse=reuse, **full)


def _trend_dates(table) -> list[str]:
    """Default dates of the report's trend section: 31 December of every year the scores span."""
    stamps = table.timestamps.stack()
    first, last = stamps.min(), stamps.max()
    return [f"{y}-12-31" for y in range(first.year, last.year + 1)]


def _run_trend(table, opts, common, skipped, clusters=None):
    """The trend over time when the table has timestamps (else None); see :func:`alignfactors.trend`."""
    from ..errors import AlignFactorsError
    from ..trend import trend

    if not getattr(table, "has_timestamps", False):
        return None
    dates = opts["trend_dates"] or _trend_dates(table)
    try:
        return trend(table, dates, aggregate=opts["aggregate"], parts=opts["parts"], method=opts["method"],
                     max_missing=opts["max_missing"], n_boot=common["n_boot"], ci=common["ci"],
                     seed=common["seed"], n_jobs=common["n_jobs"], progress=common["progress"],
                     clusters=clusters)
    except AlignFactorsError as exc:
        skipped["trend"] = str(exc)
        return None


def run_rankings_extras(table, cleaned, dec, opts, common, clusters=None) -> dict:
    """The analyses behind the rankings, balance, decomposition and source sections beyond the
    main ones: the decomposition under the other ``missing=`` policies, balance across
    alternative cleanings, benchmark-source structure (within vs between sources; agreement and
    dimensionality one level up, on one column per dataset) and the most / least correlated
    pairs with simultaneous intervals."""
    from ..agreement import agreement
    from ..balance import balance_across_cleanings
    from ..decomposition import decompose
    from ..dimensions import dimensionality
    from ..sources import benchmark_sources, extreme_pairs, source_agreement, source_matrix

    from ..families import cluster_codes

    out: dict = {}
    plain = {k: common[k] for k in ("n_boot", "ci", "seed", "n_jobs")}
    codes, _ = cluster_codes(clusters, cleaned.matrix.index, table=table, known=table.scores.index)
    # the source-level matrix has no model names: give its analyses the families as a Series
    labels = None if codes is None else pd.Series(codes, index=cleaned.matrix.index).astype(str)
    groups = cleaned.domains if cleaned.domains.notna().all() else None
    out["extremes"] = extreme_pairs(cleaned.matrix, 5, method=opts["method"], groups=groups, clusters=codes, **plain)
    if dec is not None:
        from ..errors import AlignFactorsError

        out["decomposition_policies"], out["decomposition_policies_not_run"] = {}, {}
        for m in ("complete_children", "skip"):
            try:  # the run-wide bar counts this step as a whole
                out["decomposition_policies"][m] = decompose(
                    table, aggregate=dec.aggregate, parts=dec.parts, missing=m, levels=False, clusters=clusters,
                    **dict(common, progress=False))
            except AlignFactorsError as exc:  # e.g. too few models with every child: said in the report
                out["decomposition_policies_not_run"][m] = str(exc)
    methods = [m for m in opts["aggregation_methods"] if m != "brainscore"] + \
        (["brainscore"] if "brainscore" in opts["aggregation_methods"] else [])
    if hasattr(table.tree, "leaves") and all(d in set(cleaned.domains) for d in ("neural", "behavioral")):
        out["balance_cleanings"] = balance_across_cleanings(table, methods=methods, n_jobs=plain["n_jobs"])
    src = benchmark_sources(table, cleaned.matrix.columns)
    if 1 < src.nunique() < len(src):
        out["sources"] = source_agreement(cleaned.matrix, src, method=opts["method"], clusters=codes, **plain)
        smat, sdom = source_matrix(cleaned.matrix, src, cleaned.domains)
        sgroups = sdom if sdom is not None and sdom.notna().all() and sdom.nunique() > 1 else None
        out["source_agreement"] = agreement(smat, method=opts["method"], groups=sgroups, clusters=labels, **plain)
        if smat.shape[1] >= 3:
            out["source_dimensionality"] = dimensionality(smat, method=opts["method"], **plain,
                                                          **_clusters_kw(dimensionality, labels))
    return out


def _rankings_dict(extra: dict) -> dict:
    out = {}
    if "decomposition_policies" in extra:
        out["decomposition_policies"] = {k: v.to_dict() for k, v in extra["decomposition_policies"].items()}
        out["decomposition_policies_not_run"] = dict(extra.get("decomposition_policies_not_run", {}))
    if "balance_cleanings" in extra:
        out["balance_cleanings"] = extra["balance_cleanings"].to_dict(orient="records")
    if "sources" in extra:
        out["sources"] = {"within_between": extra["sources"].to_dict(),
                          "agreement": extra["source_agreement"].to_dict(),
                          "dimensionality": extra["source_dimensionality"].to_dict()
                          if "source_dimensionality" in extra else None}
    if "extremes" in extra:
        out["extreme_pairs"] = extra["extremes"].to_dict(orient="records")
    return out


# ------------------------------------------------------------------------------------------ results.json
def _plain(x: Any) -> Any:
    """JSON-ready plain Python: numpy scalars to Python, NaN/inf to None, tuples to lists."""
    if isinstance(x, Estimate):
        return x.to_dict()
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if x is None or isinstance(x, (str, bool, np.bool_, int, np.integer, float, np.floating)):
        return json_number(x)
    if x is pd.NA or x is pd.NaT:
        return None
    raise TypeError(f"cannot write {type(x).__name__} to results.json")


def _cleaning_dict(cleaned, table) -> dict:
    log = cleaned.log
    counts = log.groupby(["kind", "reason_short"], sort=True).size()
    names = table.models["model_name"] if "model_name" in table.models else None
    dropped = []
    for r in log.itertuples(index=False):
        row = {"item": str(r.item), "kind": r.kind, "reason": r.reason_short, "detail": r.reason,
               "n_missing": r.n_missing, "n_total": r.n_total}
        if r.kind == "model" and names is not None:
            row["model_name"] = str(names.get(r.item, ""))
        dropped.append(row)
    return {
        "options": dict(cleaned.options),
        "n_models_in": int(cleaned.n_models_in),
        "n_columns_in": int(cleaned.n_metrics_in),
        "n_models": int(cleaned.matrix.shape[0]),
        "n_metrics": int(cleaned.matrix.shape[1]),
        "metrics": [{"metric": str(m), "domain": cleaned.domains[m]} for m in cleaned.matrix.columns],
        "models": [str(m) for m in cleaned.matrix.index],
        "dropped_counts": [{"kind": k, "reason": r, "count": int(c)} for (k, r), c in counts.items()],
        "dropped": dropped,
    }


def results_to_dict(res: ReportResults) -> dict:
    """The content of ``results.json`` (keys :data:`RESULT_KEYS` first, in order)."""
    from .. import __version__

    dec = res.decomposition.to_dict() if res.decomposition is not None else {
        "skipped": res.skipped.get("decomposition")}
    out = {
        "alignfactors_version": __version__,
        "input": res.input,
        "options": {**res.options, "simulated": res.simulated},
        "cleaning": _cleaning_dict(res.cleaned, res.table),
        "agreement": res.agreement.to_dict(),
        "dimensionality": res.dimensionality.to_dict(),
        "decomposition": dec,
        "aggregation": res.comparison.to_dict(),
        "factors": {"model": res.factors.to_dict(), "bootstrap": res.loadings.to_dict(),
                    **({"fit_over_k": res.factor_fit.to_dict()} if res.factor_fit is not None else {})},
        "resampling_units": None if res.units is None else res.units.to_dict(),
        "clusters": res.clusters,
        "rankings_extras": _rankings_dict(res.rankings),
        "environment": package_versions(),
        "warnings": list(res.warnings),
        **({"reliability": res.reliability.to_dict()} if res.reliability is not None else {}),
    }
    if res.trend is not None:
        out["trend"] = res.trend.to_dict()
    return _plain(out)


def dumps_results(d: dict) -> str:
    """Serialise as results.json is written (NaN already None; floats as repr)."""
    return json.dumps(d, indent=2, sort_keys=False, allow_nan=False, ensure_ascii=False) + "\n"


# ------------------------------------------------------------------------------------------ writing
def _write_atomically(out: Path, fill) -> Path:
    """Call ``fill(tmpdir)`` and move the directory to ``out`` only when it returned.

    An existing ``out`` is renamed aside, the new one moved in and only then the old one
    deleted; on any failure the temporary directory is removed and ``out`` is left as it was.
    """
    out = Path(out)
    parent = out.parent if str(out.parent) else Path(".")
    parent.mkdir(parents=True, exist_ok=True)
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"--out {out} exists and is not a directory; choose another path")
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=parent))
    try:
        fill(tmp)
        if out.exists() and any(out.iterdir()):
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=parent))
            old.rmdir()
            os.rename(out, old)
            try:
                os.rename(tmp, out)
            except BaseException:
                os.rename(old, out)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            if out.exists():
                out.rmdir()
            os.rename(tmp, out)
        return out
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def report(table, *, out, n_boot: int = 2000, seed: int = 0, progress: bool = True, simulated: bool = False,
           source=None, **options) -> Path:
    """Run all analyses on a leaderboard and write a report directory.

    Writes ``out/report.md`` (a results section: data and cleaning, agreement,
    dimensionality and factors, decomposition, aggregation comparison, methods),
    ``out/figures/*.png`` and ``out/results.json`` (every number with its interval;
    byte-identical for the same input, options and seed).

    Parameters
    ----------
    table : ScoreTable or path
        The leaderboard; a path is read with :func:`alignfactors.io.loading.load_table`.
    out : str or Path
        Output directory; replaced atomically if it exists.
    n_boot : int, default=2000
        Bootstrap resamples (of families or models, see ``clusters``) for every interval.
    seed : int, default=0
        Seed of every analysis (each analysis gets this seed).
    progress : bool, default=True
        Show progress on stderr: one bar over the whole run (analyses, results.json, figures,
        report.md) weighted by :data:`STEP_COSTS`, inner bars counting resamples; plain lines
        without escape codes when stderr is not a terminal (see :mod:`alignfactors._progress`).
    simulated : bool, default=False
        The data are simulated: say so at the top of the report.
    source : path, optional
        The file the table was read from (its name and sha256 go into ``results.json``).
    **options
        Any of :data:`REPORT_OPTIONS`: ``ci`` (0.95), ``method`` ("spearman"), ``max_missing``
        (0.5), ``complete`` (True), ``domains``, ``level`` ("leaves"), ``n_factors`` (None: the
        ``parallel_fa`` rule clipped to [1, ``max_factors`` = 5]), ``factor_method`` ("minres"),
        ``rotation`` ("oblimin"), ``aggregate`` ("average_vision"), ``parts``,
        ``aggregation_methods`` (brainscore, mean, zscore, rank), ``aggregation_models`` ("cleaned": compare
        the rules on the cleaned models and, except brainscore, its metrics; "all": every model with a score),
        ``top_models`` (20), ``n_jobs`` (1), ``clusters`` ("auto": resample families of
        near-copies when the model names show them, as in Brain-Score exports; "families",
        "architecture", "none" or a Series model_id -> family), ``ci_method`` ("bca"),
        ``batch_size`` (None), ``compare_units`` (True: a section with the headline numbers under
        the model, family and architecture bootstrap side by side, and the design effect).

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    ParameterError, ParameterTypeError
        Bad options.
    AlignFactorsError
        Any error of an analysis (nothing is written then).
    OSError
        The output directory cannot be written.

    Examples
    --------
    >>> import tempfile, alignfactors as af
    >>> t = af.datasets.simulate_leaderboard(60, seed=0)
    >>> d = report(t, out=tempfile.mkdtemp() + "/rep", n_boot=20, progress=False, simulated=True)  # doctest: +SKIP
    >>> sorted(p.name for p in d.iterdir())  # doctest: +SKIP
    ['figures', 'report.md', 'results.json']
    """
    _validate_report(table, out, n_boot, seed, options)
    out = Path(out)
    # fail on an unusable output location before the (long) analyses, not after
    (out.parent if str(out.parent) else Path(".")).mkdir(parents=True, exist_ok=True)
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"--out {out} exists and is not a directory; choose another path")
    bar = _steps_progress(progress, int(n_boot))  # one bar over the analyses and the writing
    try:
        res = run_analyses(table, n_boot=n_boot, seed=seed, progress=progress, simulated=simulated, source=source,
                           **options)

        def fill(tmp: Path) -> None:
            bar.step("results.json")
            text = dumps_results(results_to_dict(res))
            bar.step("figures")
            figs = write_figures(res, tmp / "figures", n_jobs=options.get("n_jobs", REPORT_OPTIONS["n_jobs"]))
            bar.step("report.md")
            (tmp / "report.md").write_text(render_markdown(res, figs), encoding="utf-8")
            (tmp / "results.json").write_text(text, encoding="utf-8")

        written = _write_atomically(Path(out), fill)
    except BaseException:
        bar.close(ok=False)
        raise
    bar.close()
    return written
