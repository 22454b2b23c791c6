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
import math
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import ParameterError, ParameterTypeError
from .estimate import Estimate

__all__ = ["report", "ReportResults", "run_analyses", "results_to_dict", "REPORT_OPTIONS", "RESULT_KEYS"]

#: Top-level keys of ``results.json``, in this order (more may follow).
RESULT_KEYS = ("alignfactors_version", "input", "options", "cleaning", "agreement", "dimensionality",
               "decomposition", "aggregation")

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
    "aggregation_methods": ["brainscore", "mean", "zscore", "rank"],
    "aggregation_models": "cleaned",
    "top_models": 20,
    "n_jobs": 1,
}

_VERSIONED = ("numpy", "pandas", "scipy", "statsmodels", "scikit-learn", "factor_analyzer", "matplotlib")


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


# ------------------------------------------------------------------------------------------ validation
def _validate_report(table, out, n_boot, seed, options):
    from .table import ScoreTable

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
        raise ParameterError(f"unknown report option(s) {unknown}; allowed: {sorted(REPORT_OPTIONS)}.")
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
        raise ParameterError(f"aggregation_models must be 'cleaned' (the models of the cleaned matrix) or 'all' "
                             f"(every model with a score); got {opts['aggregation_models']!r}.")
    opts["aggregation_methods"] = list(methods)
    return opts


# ------------------------------------------------------------------------------------------ provenance
def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _input_record(table, source) -> dict:
    """File name + sha256 of its bytes (never an absolute path); for an in-memory table, a hash
    of its scores written as CSV."""
    if source is not None:
        p = Path(source)
        return {"name": p.name, "sha256": _sha256(p), "sha256_of": "file bytes",
                "n_models": int(table.scores.shape[0]), "n_columns": int(table.scores.shape[1])}
    text = table.scores.to_csv(float_format=repr, lineterminator="\n").encode()
    return {"name": str(table.source), "sha256": hashlib.sha256(text).hexdigest(), "sha256_of": "scores as CSV",
            "n_models": int(table.scores.shape[0]), "n_columns": int(table.scores.shape[1])}


def package_versions() -> dict:
    """Versions of the libraries the analyses rely on (for the methods paragraph)."""
    out = {}
    for name in _VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:  # pragma: no cover - all are dependencies
            out[name] = None
    return out


# ------------------------------------------------------------------------------------------ running
def _steps_progress(progress: bool, total: int):
    from tqdm.auto import tqdm
    import sys

    return tqdm(total=total, desc="alignfactors report", disable=not progress, file=sys.stderr,
                bar_format="{desc}: {n_fmt}/{total_fmt} steps |{bar}| {postfix}")


def run_analyses(table, *, n_boot: int = 2000, seed: int = 0, progress: bool = True, simulated: bool = False,
                 source=None, **options) -> ReportResults:
    """Run every analysis of the report; returns the result objects (nothing is written).

    Parameters are those of :func:`report` (without ``out``).
    """
    from .agreement import agreement
    from .aggregation import rank_models
    from .cleaning import clean
    from .comparison import compare_aggregations
    from .decomposition import decompose
    from .dimensions import dimensionality
    from .factor_bootstrap import bootstrap_loadings
    from .factors import FactorModel

    opts = _validate_report(table, ".", n_boot, seed, options)
    if not hasattr(table, "scores"):
        from .loading import load_table

        source = table if source is None else source
        table = load_table(table)
    seed = int(seed)
    bar = _steps_progress(progress, 6)
    caught: list[str] = []
    skipped: dict[str, str] = {}
    try:
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            common = dict(n_boot=int(n_boot), ci=opts["ci"], seed=seed, n_jobs=opts["n_jobs"], progress=progress)

            bar.set_postfix_str("cleaning + agreement")
            cleaned = clean(table, max_missing=opts["max_missing"], complete=opts["complete"],
                            domains=opts["domains"], level=opts["level"])
            groups = cleaned.domains if cleaned.domains.notna().all() else None
            agr = agreement(cleaned.matrix, method=opts["method"], groups=groups, **common)
            bar.update()

            bar.set_postfix_str("dimensionality")
            dim = dimensionality(cleaned.matrix, method=opts["method"], **common)
            bar.update()

            bar.set_postfix_str("factor analysis")
            p = cleaned.matrix.shape[1]
            k = opts["n_factors"] if opts["n_factors"] is not None else dim.n_dimensions.get("parallel_fa", 1)
            k = int(min(max(k, 1), opts["max_factors"], p - 1))
            fm = FactorModel(k, method=opts["factor_method"], rotation=opts["rotation"] if k > 1 else None,
                             corr_method=opts["method"]).fit(cleaned.matrix)
            boot_load = bootstrap_loadings(fm, cleaned.matrix, **common)
            bar.update()

            bar.set_postfix_str("decomposition")
            dec = None
            if opts["aggregate"] in table.scores.columns and not table.tree.is_leaf(opts["aggregate"]):
                dec = decompose(table, aggregate=opts["aggregate"], parts=opts["parts"], **common)
            else:
                skipped["decomposition"] = (
                    f"the table has no aggregate node {opts['aggregate']!r} with parts (a flat table); "
                    "set the option 'aggregate' to a parent column to decompose it")
            bar.update()

            bar.set_postfix_str("aggregation comparison")
            models = list(cleaned.matrix.index) if opts["aggregation_models"] == "cleaned" else None
            comp = compare_aggregations(table, methods=opts["aggregation_methods"], models=models, **common)
            bar.update()

            scatter = None
            if dec is not None and len(dec.parts) == 2:
                cols = [*dec.parts, dec.aggregate]
                scatter = table.scores[cols].dropna().copy()
                scatter["rank"] = rank_models(scatter[dec.aggregate])
                scatter.attrs.update(x=dec.parts[0], y=dec.parts[1], colour=dec.aggregate)
            bar.set_postfix_str("done")
            bar.update()
        for w in record:
            msg = f"{w.category.__name__}: {w.message}"
            if msg not in caught:
                caught.append(msg)
    finally:
        bar.close()
    return ReportResults(table, _input_record(table, source), {"n_boot": int(n_boot), "seed": seed, **opts},
                         cleaned, agr, dim, fm, boot_load, dec, comp, scatter, simulated, skipped, caught)


# ------------------------------------------------------------------------------------------ results.json
def _plain(x: Any) -> Any:
    """JSON-ready plain Python: numpy scalars to Python, NaN/inf to None, tuples to lists."""
    if isinstance(x, Estimate):
        return x.to_dict()
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if x is None or isinstance(x, str):
        return x
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        f = float(x)
        return f if math.isfinite(f) else None
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
    from . import __version__

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
        "factors": {"model": res.factors.to_dict(), "bootstrap": res.loadings.to_dict()},
        "environment": package_versions(),
        "warnings": list(res.warnings),
    }
    return _plain(out)


def dumps_results(d: dict) -> str:
    """Serialise as results.json is written (NaN already None; floats as repr)."""
    return json.dumps(d, indent=2, sort_keys=False, allow_nan=False, ensure_ascii=False) + "\n"


# ------------------------------------------------------------------------------------------ rendering
# Everything below only formats numbers the analyses computed.
def _e(est: Estimate) -> str:
    return est.format(3)


def _table(rows: list[dict]) -> str:
    from ._render import markdown_table

    return markdown_table(pd.DataFrame(rows)) if rows else "(none)"


def _iv(value, low, high, digits: int = 3) -> str:
    """``value [low, high]`` for numbers stored in frame columns."""
    return Estimate(value, (low, high)).format(digits)


def _figure(n: int, path: str, caption: str) -> str:
    return f"![{caption}]({path})\n\n*Figure {n}. {caption}*"


def write_figures(res: ReportResults, folder: Path) -> dict:
    """Draw and save every figure; returns name -> relative path."""
    from . import figures as F

    folder.mkdir(parents=True, exist_ok=True)
    names = res.table.models["model_name"] if "model_name" in res.table.models else None
    labels = None if names is None else {k: f"{v} [{k}]" for k, v in names.items()}
    figs = {
        "correlation_heatmap": lambda: F.correlation_heatmap(res.agreement.matrix, res.cleaned.domains,
                                                             label=f"{res.agreement.method.capitalize()} r"),
        "scree": lambda: F.scree_plot(res.dimensionality),
        "loadings": lambda: F.loadings_heatmap(res.factors.loadings_, res.cleaned.domains),
        "rank_changes": lambda: F.rank_changes(res.comparison.ranks, top=res.options["top_models"], labels=labels),
        "rank_intervals": lambda: F.rank_intervals(
            res.comparison.rank_intervals[res.comparison.rank_intervals["method"] == res.comparison.methods[0]],
            top=res.options["top_models"], labels=labels,
            title=f"Rank uncertainty of the top {res.options['top_models']} models ({res.comparison.methods[0]})"),
    }
    if res.scatter is not None:
        a = res.scatter.attrs
        figs["parts_scatter"] = lambda: F.scatter_parts(res.scatter, x=a["x"], y=a["y"],
                                                        colour_label=f"{a['colour']} rank")
    out = {}
    for name, make in figs.items():
        F.save_figure(make(), folder / f"{name}.png")
        out[name] = f"figures/{name}.png"
    return out


def _md_data(res: ReportResults) -> list[str]:
    t, c = res.table, res.cleaned
    st = t.status_counts() if hasattr(t, "status_counts") else {}
    leaves = t.domains.fillna("(none)").value_counts(sort=False)
    n, p = c.matrix.shape
    per = c.domains.fillna("(none)").value_counts(sort=False)
    lines = [
        "## Data and cleaning", "",
        f"The input `{res.input['name']}` (sha256 `{res.input['sha256'][:16]}…`) holds {t.scores.shape[0]} models "
        f"and {t.scores.shape[1]} benchmark columns ({len(t.tree.leaves())} leaves: "
        + ", ".join(f"{v} {k}" for k, v in leaves.items()) + "). "
        + (f"Cells: {st.get('ok', 0)} scored, {st.get('failed', 0)} failed (`X`), {st.get('missing', 0)} never run. "
           if st else "")
        + ("" if t.tree_check is None else f"Tree check: {t.tree_check}."), "",
        f"Cleaning (max_missing={c.options['max_missing']}, complete={c.options['complete']}, "
        f"level={c.options['level']!r}, domains={c.options['domains']!r}) leaves **{n} models × {p} metrics** ("
        + ", ".join(f"{v} {k}" for k, v in per.items()) + "). Every dropped item, by reason:", "",
    ]
    counts = c.log.groupby(["kind", "reason_short"], sort=True).size()
    lines += [_table([{"kind": k, "reason": r, "count": int(v)} for (k, r), v in counts.items()]), ""]
    names = t.models["model_name"] if "model_name" in t.models else pd.Series(dtype=object)
    rows = [{"item": r.item, "model name": names.get(r.item, "") if r.kind == "model" else "",
             "kind": r.kind, "reason": r.reason} for r in c.log.itertuples(index=False)]
    lines += ["<details>", f"<summary>All {len(rows)} dropped items</summary>", "", _table(rows), "", "</details>", ""]
    return lines


def _md_agreement(res: ReportResults, figs: dict, fig_no) -> list[str]:
    a = res.agreement
    lines = ["## Agreement between metrics", "",
             f"Over {a.n_models} models, the mean {a.method.capitalize()} correlation between the {a.matrix.shape[0]} metrics "
             f"(each pair once) is **{_e(a.mean)}**. Within and between domains:", ""]
    lines += [_table([{"block": k, "mean r": _e(v)} for k, v in a.blocks.items()]
                     + [{"block": k, "mean r": _e(v)} for k, v in a.differences.items()]), ""]
    lines += [_figure(next(fig_no), figs["correlation_heatmap"],
                      f"{a.method.capitalize()} correlations between metrics, ordered by average-linkage clustering "
                      "on 1 − r; colour bars mark the domain. Tick labels shortened (see alignfactors.figures."
                      "short_label); full names in the tables."), ""]
    for title, largest in (("most", True), ("least", False)):
        top = a.top_pairs(5, largest=largest)
        lines += [f"The 5 {title} correlated pairs:", "",
                  _table([{"metric a": r.metric_a, "metric b": r.metric_b, "block": r.block or "",
                           "r": _iv(r.r, r.ci_low, r.ci_high)} for r in top.itertuples(index=False)]), ""]
    return lines


def _md_dimensions(res: ReportResults, figs: dict, fig_no) -> list[str]:
    d, fm, lb = res.dimensionality, res.factors, res.loadings
    kf = d.k_frame()
    rows = []
    for r in kf.itertuples(index=False):
        dist = d.k_distribution.get(r.rule, {})
        rows.append({"rule": r.rule, "k": r.k,
                     "k interval": "–" if pd.isna(r.k_ci_low) else f"[{r.k_ci_low:.0f}, {r.k_ci_high:.0f}]",
                     "P(k) over resamples": ", ".join(f"{k}: {v:.2f}" for k, v in sorted(dist.items())) or "–"})
    lines = ["## Dimensionality", "",
             f"How many dimensions do the {d.n_metrics} metrics span? Each rule's k on the full data, its "
             f"{d.level:.0%} interval and the distribution of k over {d.n_boot} bootstrap resamples of models:", "",
             _table(rows), "",
             f"Participation ratio (effective number of dimensions): **{_e(d.participation_ratio)}**.", ""]
    ev = list(d.eigenvalue_estimates)[:10]
    lines += ["Leading eigenvalues of the correlation matrix and their share of the variance:", "",
              _table([{"component": k, "eigenvalue": _e(d.eigenvalue_estimates[k]),
                       "explained": _e(d.explained_estimates[k])} for k in ev]), ""]
    lines += [_figure(next(fig_no), figs["scree"],
                      "Scree plot: observed eigenvalues with bootstrap intervals; grey: eigenvalues of simulated "
                      "uncorrelated data of the same size (mean, dashed; band up to the quantile parallel analysis "
                      "compares with)."), ""]
    for note in d.notes:
        lines.append(f"- {note}")
    k = fm.n_factors
    how = (f"set to {k}" if res.options["n_factors"] is not None else
           f"{k} from the parallel-analysis rule on factor eigenvalues (parallel_fa = "
           f"{d.n_dimensions.get('parallel_fa')}), clipped to [1, {res.options['max_factors']}]")
    lines += ["", "### Factor analysis", "",
              f"Factors retained: {how}. Extraction {fm.method}, rotation {fm.rotation or 'none'}, "
              f"{fm.corr_method} correlations{' (smoothed)' if fm.smoothed_ else ''}. Loadings with {lb.level:.0%} "
              f"bootstrap intervals ({lb.n_boot} resamples; factors matched to the full-data solution by "
              f"{lb.align}; {lb.n_nonconverged} non-converged, {lb.n_heywood} Heywood and {lb.n_undefined} "
              "unfittable replicates):", ""]
    L = lb.loadings
    wide = {}
    for r in L.itertuples(index=False):
        wide.setdefault(r.metric, {"metric": r.metric})[r.factor] = _iv(r.loading, r.ci_low, r.ci_high, 2)
    for m, row in wide.items():
        row["h2"] = f"{fm.communalities_[m]:.2f}"
    lines += [_table(list(wide.values())), ""]
    lines += ["Congruence of the bootstrap factors with the full-data factors: "
              + ", ".join(f"{f} {_e(e)}" for f, e in lb.congruence.items()) + ".", ""]
    if k > 1:
        phi = fm.factor_corr_
        lines += ["Factor correlations:", "",
                  _table([{"factor": i, **{j: f"{phi.at[i, j]:.2f}" for j in phi.columns}} for i in phi.index]), ""]
    f = fm.fit_
    lines += [f"Fit: RMSEA {f.rmsea:.3f}, TLI {f.tli:.3f}, RMSR {f.rms:.3f}, BIC {f.bic:.1f}"
              + (f"; Heywood cases: {', '.join(fm.heywood_)}" if fm.heywood_ else "") + ".", ""]
    lines += [_figure(next(fig_no), figs["loadings"],
                      "Factor loadings (pattern matrix), metrics sorted by the factor they load most on; colour "
                      "bar marks the domain."), ""]
    return lines


def _dec_rows(dec) -> list[dict]:
    return [{"part": p, "R² alone": _e(dec.r2[p]), "Shapley share": _e(dec.shapley[p]),
             "covariance share": _e(dec.covariance_shares[p]), "weight": f"{dec.weights[p]:.3f}",
             "SD": _e(dec.variance[p]["sd"])} for p in dec.parts]


def _md_decomposition(res: ReportResults, figs: dict, fig_no) -> list[str]:
    dec = res.decomposition
    lines = ["## Decomposition of the aggregate score", ""]
    if dec is None:
        return lines + [f"Not run: {res.skipped['decomposition']}.", ""]
    lines += [f"How much of `{dec.aggregate}` does each part explain, over {dec.n_models} models "
              f"({dec.n_excluded} excluded for a missing value)? R² of the aggregate on each part alone, "
              f"Shapley (LMG) shares of the joint R² ({_e(dec.r2_joint)}) and covariance shares "
              f"(weights from {dec.weights_source!r}):", "", _table(_dec_rows(dec)), ""]
    subs = ([(f"`{dec.aggregate}` one level down", dec.finer)] if dec.finer is not None else []) + \
        [(f"`{k}` on its children", v) for k, v in dec.sublevels.items()]
    for title, sub in subs:
        lines += [f"**{title}** ({sub.n_models} models, {sub.n_excluded} excluded; joint R² {_e(sub.r2_joint)}):",
                  "", _table(_dec_rows(sub)), ""]
    if "parts_scatter" in figs:
        a = res.scatter.attrs
        lines += [_figure(next(fig_no), figs["parts_scatter"],
                          f"{a['y']} against {a['x']} for the {len(res.scatter)} models with both; colour = rank "
                          f"on {a['colour']} (as Ahlert et al., 2024)."), ""]
    return lines


def _md_aggregation(res: ReportResults, figs: dict, fig_no) -> list[str]:
    c = res.comparison
    est = c.estimates
    lines = ["## Aggregation rules compared", "",
             f"Rules: {', '.join(c.methods)}, over {c.n_models} models "
             + ("(the models of the cleaned matrix, as in Ahlert et al. 2024). `brainscore` averages every leaf "
                "of the tree up the hierarchy, counting a missing score as 0, as the website does; the other rules "
                "use the neural and behavioral leaves each model has (missing scores skipped). "
                if res.options["aggregation_models"] == "cleaned" else
                f"(every model with a score; {c.n_excluded} excluded without any; rules other than `brainscore` "
                "average the scores each model has). ")
             + f"Agreement between the rankings (Kendall τ-b, Spearman ρ, overlap of the top {c.top_k}):", ""]
    rows = {}
    for r in c.agreement.itertuples(index=False):
        key = (r.method_a, r.method_b)
        col = {"kendall": "Kendall τ-b", "spearman": "Spearman ρ", "top_k": f"top-{c.top_k} overlap"}.get(
            r.measure, r.measure)
        rows.setdefault(key, {"rule a": r.method_a, "rule b": r.method_b})[col] = _iv(r.value, r.ci_low, r.ci_high)
    lines += [_table(list(rows.values())), ""]
    lines += [_figure(next(fig_no), figs["rank_changes"],
                      f"Ranks of the top {res.options['top_models']} models by {c.methods[0]} under each rule; "
                      "models that fall out of the window stack in the grey band with their true rank."), ""]
    ri = c.rank_intervals[c.rank_intervals["method"] == c.methods[0]].sort_values("rank", kind="stable")
    names = res.table.models["model_name"] if "model_name" in res.table.models else pd.Series(dtype=object)
    top = ri.head(res.options["top_models"])
    lines += [f"Rank intervals of the top {len(top)} models ({c.methods[0]}), with the probability of rank 1:", "",
              _table([{"model": names.get(r.model_id, r.model_id), "model_id": r.model_id,
                       "rank": _iv(r.rank, r.ci_low, r.ci_high, 1), "P(rank 1)": f"{r.p_rank1:.2f}",
                       "group": r.group} for r in top.itertuples(index=False)]), "",
              _figure(next(fig_no), figs["rank_intervals"],
                      f"Bootstrap {c.level:.0%} intervals of the ranks of the top models under {c.methods[0]}."), ""]
    bal = []
    for m in c.methods:
        row = {"rule": m}
        for q in ("r2_neural", "r2_behavioral", "shapley_neural", "shapley_behavioral", "difference"):
            if f"{q}:{m}" in est:
                row[q] = _e(est[f"{q}:{m}"])
        bal.append(row)
    lines += ["Balance between the domains: each rule's score regressed on its own neural and behavioral "
              f"sub-aggregates (Shapley shares; difference = neural − behavioral). Most balanced: **{c.best_balance}**.",
              "", _table(bal), ""]
    if c.iia_summary is not None:
        lines += ["Independence of irrelevant alternatives (remove one model, count swapped pairs among the rest):",
                  "", _table([{**r, "mean_fraction": f"{r['mean_fraction']:.4%}", "max_fraction":
                               f"{r['max_fraction']:.4%}"} for r in c.iia_summary.to_dict("records")]), ""]
    if c.monotone is not None:
        lines += ["Monotone rescaling (one metric at a time by a strictly increasing function; Kendall τ with the "
                  "original ranking):", "", _table(c.monotone_summary().to_dict("records")), ""]
    if c.metric_sensitivity is not None:
        lines += ["Leave one metric out (rank correlation with the full ranking):", "",
                  _table(c.sensitivity_summary().to_dict("records")), ""]
    return lines


def _md_methods(res: ReportResults) -> list[str]:
    o = res.options
    v = package_versions()
    from . import __version__

    opts = ", ".join(f"{k}={o[k]!r}" for k in o if k not in ("n_boot", "seed"))
    text = (f"All intervals are {o['ci']:.0%} bootstrap intervals over models ({o['n_boot']} resamples of the "
            "models with replacement; BCa where defined, percentile otherwise, as each result records), "
            f"from one seed ({o['seed']}) given to every analysis. Correlations are {o['method']} (average ranks "
            "for ties). Dimensionality: parallel analysis on components and on one-factor minres eigenvalues "
            "(psych's rule), Velicer's MAP, Kaiser, optimal coordinates, acceleration factor and cross-validated "
            "likelihood; P(k) is the share of resamples in which a rule chooses k. Factor analysis as psych::fa "
            "with rotations from factor_analyzer; loading intervals refit the model on each resample. The "
            "decomposition regresses the aggregate on its parts (OLS; Shapley/LMG shares over all subsets). "
            "Aggregation rules are compared on the same resamples. Missing values are never imputed: cleaning "
            "drops metrics and models as listed above. "
            f"Software: alignfactors {__version__}, " + ", ".join(f"{k} {val}" for k, val in v.items()) + ". "
            f"Options: {opts}.")
    lines = ["## Methods", "", text, ""]
    if res.warnings:
        lines += ["<details>", f"<summary>{len(res.warnings)} warning(s) raised during the analyses</summary>", ""]
        lines += [f"- {w}" for w in res.warnings] + ["", "</details>", ""]
    return lines


def render_markdown(res: ReportResults, figs: dict) -> str:
    """The text of report.md."""
    import itertools

    fig_no = itertools.count(1)
    lines = [f"# Alignment metrics report: {res.input['name']}", ""]
    if res.simulated:
        lines += ["> **Note: the data are simulated.** No input file was given, so this report runs on "
                  "`alignfactors.datasets.simulate_leaderboard()`, a simulated leaderboard with a known factor "
                  "structure. None of these numbers describes real models.", ""]
    lines += [f"Generated by alignfactors with n_boot={res.options['n_boot']}, seed={res.options['seed']}. "
              "Every number is given as `estimate [low, high]`; † marks an interval that does not contain its "
              "estimate (the bootstrap distribution lies mostly on one side of it, as for the smaller eigenvalues "
              "of a correlation matrix), which is then not a reliable measure of uncertainty.", ""]
    lines += _md_data(res)
    lines += _md_agreement(res, figs, fig_no)
    lines += _md_dimensions(res, figs, fig_no)
    lines += _md_decomposition(res, figs, fig_no)
    lines += _md_aggregation(res, figs, fig_no)
    lines += _md_methods(res)
    return "\n".join(lines).rstrip() + "\n"


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
        The leaderboard; a path is read with :func:`alignfactors.loading.load_table`.
    out : str or Path
        Output directory; replaced atomically if it exists.
    n_boot : int, default=2000
        Bootstrap resamples over models for every interval.
    seed : int, default=0
        Seed of every analysis (each analysis gets this seed).
    progress : bool, default=True
        Show progress bars on stderr.
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
        the rules on the cleaned model set; "all": every model with a score), ``top_models`` (20), ``n_jobs`` (1).

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
    res = run_analyses(table, n_boot=n_boot, seed=seed, progress=progress, simulated=simulated, source=source,
                       **options)
    def fill(tmp: Path) -> None:
        text = dumps_results(results_to_dict(res))
        figs = write_figures(res, tmp / "figures")
        (tmp / "report.md").write_text(render_markdown(res, figs), encoding="utf-8")
        (tmp / "results.json").write_text(text, encoding="utf-8")

    return _write_atomically(Path(out), fill)
