"""Rendering of a report: markdown sections and figure files from finished results.

Everything here only formats numbers the analyses computed (see :mod:`alignfactors.report`);
rounding happens here and nowhere else.
"""

from __future__ import annotations

from functools import partial
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ..estimate import Estimate

if TYPE_CHECKING:  # pragma: no cover
    from .run import ReportResults

__all__ = ["render_markdown", "write_figures", "package_versions"]

_VERSIONED = ("numpy", "pandas", "scipy", "statsmodels", "scikit-learn", "factor_analyzer", "matplotlib")


def package_versions() -> dict:
    """Versions of the libraries the analyses rely on (for the methods paragraph)."""
    out = {}
    for name in _VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:  # pragma: no cover - all are dependencies
            out[name] = None
    return out


# Everything below only formats numbers the analyses computed.
def _e(est: Estimate) -> str:
    return est.format(3)


def _table(rows: list[dict]) -> str:
    from .._formatting import markdown_table

    return markdown_table(pd.DataFrame(rows)) if rows else "(none)"


def _iv(value, low, high, digits: int = 3) -> str:
    """``value [low, high]`` for numbers stored in frame columns."""
    return Estimate(value, (low, high)).format(digits)


def _figure(n: int, path: str, caption: str) -> str:
    return f"![{caption}]({path})\n\n*Figure {n}. {caption}*"


def write_figures(res: ReportResults, folder: Path, n_jobs: int = 1) -> dict:
    """Draw and save every figure (in ``n_jobs`` processes: each figure is independent); returns
    name -> relative path."""
    from . import figures as F

    folder.mkdir(parents=True, exist_ok=True)
    names = res.table.models["model_name"] if "model_name" in res.table.models else None
    labels = None if names is None else names.to_dict()  # figures add the id: F.model_label
    # each figure gets only the results it draws (not ``res``): a worker receives its share pickled
    figs = {
        "correlation_heatmap": partial(F.correlation_heatmap, res.agreement.matrix, res.cleaned.domains,
                                       label=f"{res.agreement.method.capitalize()} r"),
        "scree": partial(F.scree_plot, res.dimensionality),
        "loadings": partial(F.loadings_heatmap, res.factors.loadings_, res.cleaned.domains),
        "rank_changes": partial(F.rank_changes, res.comparison.ranks, top=res.options["top_models"], labels=labels),
        "rank_intervals": partial(
            F.rank_intervals,
            res.comparison.rank_intervals[res.comparison.rank_intervals["method"] == res.comparison.methods[0]],
            top=res.options["top_models"], labels=labels,
            title=f"Rank uncertainty of the top {res.options['top_models']} models ({res.comparison.methods[0]})"),
    }
    if res.scatter is not None:
        a = res.scatter.attrs
        figs["parts_scatter"] = partial(F.scatter_parts, res.scatter, x=a["x"], y=a["y"],
                                        colour_label=f"{a['colour']} rank")
    if getattr(res, "trend", None) is not None:
        figs["trend"] = res.trend.plot
    if getattr(res, "reliability", None) is not None:
        from ._reliability_section import reliability_figure

        figs["reliability"] = partial(reliability_figure, res.reliability)
    jobs = [(make, folder / f"{name}.png") for name, make in figs.items()]
    if n_jobs == 1:
        _draw_all(jobs)
    else:  # this process draws a share while the workers draw the rest, one task each: the results the
        # figures close over are pickled once per worker, not once per figure
        from joblib import Parallel, delayed, effective_n_jobs

        k = max(1, min(len(jobs), effective_n_jobs(n_jobs)))
        shares = _balanced_shares(list(figs), jobs, k)
        others = Parallel(n_jobs=n_jobs, return_as="generator")(delayed(_draw_all)(s) for s in shares[1:]) \
            if k > 1 else ()
        _draw_all(shares[0])
        list(others)
    return {name: f"figures/{name}.png" for name in figs}


#: Seconds each figure takes to draw and save on the 2025-05-07 export (relative; a figure not
#: listed counts 0.5): the shares of the processes that draw them are balanced by these.
FIGURE_COSTS = {"correlation_heatmap": 1.0, "loadings": 1.1, "rank_changes": 0.75, "reliability": 0.7,
                "rank_intervals": 0.37, "scree": 0.32, "parts_scatter": 0.2, "trend": 0.5}


def _balanced_shares(names, jobs, k: int) -> list[list]:
    """``jobs`` split into ``k`` shares of about equal :data:`FIGURE_COSTS` (the longest first, each
    to the least loaded share); the first share is drawn by this process."""
    shares, load = [[] for _ in range(k)], [0.0] * k
    for cost, _, job in sorted(((FIGURE_COSTS.get(n, 0.5), i, j) for i, (n, j) in enumerate(zip(names, jobs))),
                               key=lambda t: (-t[0], t[1])):
        i = min(range(k), key=lambda s: (load[s], s))
        shares[i].append(job)
        load[i] += cost
    return [s for s in shares if s]


def _draw_all(jobs) -> None:
    from . import figures as F

    for make, path in jobs:
        F.save_figure(make(), path)


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
        *([f"Summary columns: {t.detection.headline()}.", ""]
          if getattr(t, "detection", None) is not None else []),
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
                      "on 1 − r; colour bars mark the domain. Tick labels shortened (see alignfactors.reporting.figures."
                      "short_label); full names in the tables."), ""]
    lines += _md_extremes(res)
    return lines


def _md_extremes(res: ReportResults) -> list[str]:
    ex = res.rankings.get("extremes")
    if ex is None:
        return []
    c = ex["critical_value"].iloc[0] if len(ex) else float("nan")
    simultaneous = pd.notna(c)
    lines = []
    for title in ("most", "least"):
        top = ex[ex["which"] == title]
        lines += [f"The 5 {title} correlated pairs:", "",
                  _table([{"metric a": r.metric_a, "metric b": r.metric_b, "block": r.block or "",
                           "r": _iv(r.r, r.ci_low, r.ci_high) if simultaneous else f"{r.r:.3f}"}
                          for r in top.itertuples(index=False)]), ""]
    lines += [("These pairs were selected by their estimates, so their intervals are simultaneous over all "
               f"{res.agreement.matrix.shape[0] * (res.agreement.matrix.shape[0] - 1) // 2} pairs (bootstrap max-t, "
               f"critical value {c:.2f} standard errors instead of 1.96): they hold for every pair at once, hence for "
               "the selected ones." if simultaneous else
               "These pairs were selected by their estimates; without resamples they have no intervals."), ""]
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
                      "uncorrelated data of the same size and family structure (mean, dashed; band up to the quantile "
                      "parallel analysis "
                      "compares with)."), ""]
    for note in d.notes:
        lines.append(f"- {note}")
    k = fm.n_factors
    how = (f"set to {k}" if res.options["n_factors"] is not None else
           f"{k} from the parallel-analysis rule on factor eigenvalues (parallel_fa = "
           f"{d.n_dimensions.get('parallel_fa')}), clipped to [1, {res.options['max_factors']}]")
    ft = getattr(res, "factor_fit", None)
    how = ft.note() if ft is not None else how + "."
    lines += ["", "### Factor analysis", "",
              f"Factors retained: {how}"]
    if ft is not None:
        lines += _md_factor_fit(ft)
    lines += [f"Extraction {fm.method}, rotation {fm.rotation or 'none'}, "
              f"{fm.corr_method} correlations{' (smoothed)' if fm.smoothed_ else ''}. Loadings with {lb.level:.0%} "
              f"bootstrap intervals ({lb.n_boot} resamples of "
              f"{'models' if lb.options.get('unit', 'model') == 'model' else str(lb.options.get('n_units')) + ' ' + str(lb.options.get('unit')) + ' clusters'}"
              "; factors matched to the full-data solution by "
              f"{lb.align}; {lb.n_nonconverged} non-converged, {lb.n_heywood} Heywood and {lb.n_undefined} "
              "unfittable replicates):", ""]
    L = lb.loadings
    wide = {}
    for r in L.itertuples(index=False):
        wide.setdefault(r.metric, {"metric": r.metric})[r.factor] = _iv(r.loading, r.ci_low, r.ci_high, 2)
    for m, row in wide.items():
        row["h2"] = f"{fm.communalities_[m]:.2f}"
    lines += [_table(list(wide.values())), ""]
    lines += [f"Congruence of the bootstrap factors with the full-data factors ({lb.level:.0%} percentile interval "
              "over resamples; the full-data value is 1 by construction): "
              + ", ".join(f"{f} [{e.ci[0]:.2f}, {e.ci[1]:.2f}]" for f, e in lb.congruence.items()) + ".", ""]
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


def _md_factor_fit(ft) -> list[str]:
    """The fit-over-k table of the factor section (adequacy.FactorFitTable)."""
    rows = [{"k": f"**{r.k}**" if r.k == ft.k else str(r.k), "chi²": f"{r.chi2:.1f}", "dof": f"{r.dof:.0f}",
             "RMSEA [90% CI]": f"{r.rmsea:.3f} [{r.rmsea_low:.3f}, {r.rmsea_high:.3f}]", "TLI": f"{r.tli:.3f}",
             "BIC": f"{r.bic:.1f}", "Heywood": str(r.n_heywood), "fit": "poor" if r.poor_fit else "acceptable"}
            for r in ft.table.itertuples(index=False)]
    flag = []
    if ft.poor_fit:
        flag = [f"**Poor fit:** the {ft.k}-factor model misses the conventional thresholds (RMSEA ≤ {ft.rmsea_max}, "
                f"TLI ≥ {ft.tli_min}); read its loadings as a summary of the main directions, not as a model "
                "that reproduces the correlations.", ""]
    return ["", f"Fit of {ft.method} factor models over k (chi-square-based indices as psych::fa; the fitted k "
            "in bold):", "", _table(rows), ""] + flag


def _dec_rows(dec) -> list[dict]:
    rows = []
    for p in dec.parts:
        row = {"part": p}
        if dec.identity:
            row["covariance share"] = _e(dec.covariance_shares[p])
        row.update({"R² alone": _e(dec.r2[p]), "Shapley share": _e(dec.shapley[p])})
        if not dec.identity:
            row["covariance share"] = _e(dec.covariance_shares[p])
        row.update({"weight": f"{dec.weights[p]:.3f}", "SD": _e(dec.variance[p]["sd"])})
        if p in dec.zero_fill:
            z = dec.zero_fill[p]
            row["r with # missing children"] = "–" if pd.isna(z.value) else _e(z)
        rows.append(row)
    return rows


def _dec_head(dec) -> str:
    if dec.identity:
        terms = " + ".join(f"{dec.weights[p]:.3g} × `{p}`" for p in dec.parts)
        return (f"`{dec.aggregate}` = {terms} exactly (weights from {dec.weights_source!r}), so the joint R² is 1 by "
                "construction: it is stated, not estimated, and no p-value is attached. The covariance shares "
                "(weight × Cov(part, aggregate) / Var(aggregate), summing to 1) are the decomposition to read; the "
                "R² of each part alone and the Shapley shares (functions of those R²) are shown beside them.")
    return (f"`{dec.aggregate}` is not an exact linear function of its parts (joint R² {_e(dec.r2_joint)}); "
            "covariance shares use the OLS slopes.")


def _md_decomposition(res: ReportResults, figs: dict, fig_no) -> list[str]:
    dec = res.decomposition
    lines = ["## Decomposition of the aggregate score", ""]
    if dec is None:
        return lines + [f"Not run: {res.skipped['decomposition']}.", ""]
    pol = res.rankings.get("decomposition_policies", {})
    lines += [f"How much of `{dec.aggregate}` does each part account for, over {dec.n_models} models "
              f"({dec.n_excluded} excluded for a missing value)? Scores as the website computes them "
              "(`missing=\"as_website\"`: a never-run or failed child counts as 0). " + _dec_head(dec), "",
              _table(_dec_rows(dec)), ""]
    zf = {p: e for p, e in dec.zero_fill.items() if pd.notna(e.value)}
    if zf:
        lines += ["Zero-fill diagnostic: the last column is the correlation of each part with its number of missing "
                  "direct children (mean " + ", ".join(f"{dec.missing_children[p]:.2f} for `{p}`" for p in zf)
                  + "). A strongly negative value means the part measures how many of its benchmarks a model was "
                  "run on as much as its alignment.", ""]
    if pol:
        rows = []
        for name, d in [("as_website", dec), *pol.items()]:
            for p in d.parts:
                rows.append({"missing": name, "models": d.n_models, "part": p, "R² alone": _e(d.r2[p]),
                             "covariance share": _e(d.covariance_shares[p]), "SD": _e(d.variance[p]["sd"])})
        lines += ["The same decomposition under the three missing-children policies: `as_website` (above), "
                  "`complete_children` (only the models with every child of both parts present) and `skip` "
                  "(each parent recomputed as the mean of its present children):", "", _table(rows), ""]
    for name, why in res.rankings.get("decomposition_policies_not_run", {}).items():
        lines += [f"The `{name}` policy was not run: {why}", ""]
    subs = ([(f"`{dec.aggregate}` one level down", dec.finer)] if dec.finer is not None else []) + \
        [(f"`{k}` on its children", v) for k, v in dec.sublevels.items()]
    for title, sub in subs:
        lines += [f"**{title}** ({sub.n_models} models, {sub.n_excluded} excluded). {_dec_head(sub)}",
                  "", _table(_dec_rows(sub)), ""]
    for title, why in dec.options.get("levels_not_run", {}).items():
        lines += [f"**{title}**: not run: {why}", ""]
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
                f"aggregate the {res.cleaned.matrix.shape[1]} metrics of the cleaned matrix, so they all see the same "
                "complete scores. "
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
    lines += _md_rank_uncertainty(res, figs, fig_no)
    lines += _md_balance(res)
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


def _md_rank_uncertainty(res: ReportResults, figs: dict, fig_no) -> list[str]:
    c = res.comparison
    names = res.table.models["model_name"] if "model_name" in res.table.models else pd.Series(dtype=object)
    lines = []
    for m in c.methods[:1] + [x for x in c.methods[1:] if x == "domain_zscore"]:
        u = c.rank_uncertainty.get(m)
        if u is None:
            continue
        top = u.intervals.head(res.options["top_models"] if m == c.methods[0] else 5)
        if u.n_boot == 0:
            lines += [f"Top models under `{m}` (n_boot=0: no rank intervals):", "",
                      _table([{"model": names.get(r.model_id, r.model_id), "model_id": r.model_id,
                               "rank": f"{r.rank:.0f}"} for r in top.itertuples(index=False)]), ""]
            continue
        lines += [f"How sure is the ranking under `{m}`? The intervals below carry the **{u.carries}**; they do not "
                  "resample the ranked models (a model's score under these rules does not depend on which other "
                  "models were submitted; which competitors are present is audited by IIA below). Marginal "
                  f"{u.level:.0%} rank interval and P(rank 1) over {u.n_boot} resamples; simultaneous rank intervals "
                  f"for the top {u.n_family} (Mogstad, Romano, Shaikh & Wilhelm 2024, bootstrap max-t, critical value "
                  f"{u.critical_value:.2f}); P(ahead of next) = share of resamples in which the model still scores "
                  "above the next one on the leaderboard:", ""]
        nxt = u.pairs.set_index("model_id")["p_ordered"]
        lines += [_table([{"model": names.get(r.model_id, r.model_id), "model_id": r.model_id,
                           "rank": _iv(r.rank, r.ci_low, r.ci_high, 1), "P(rank 1)": f"{r.p_rank1:.2f}",
                           "simultaneous": "–" if pd.isna(r.sim_low) else f"[{r.sim_low:.0f}, {r.sim_high:.0f}]",
                           "P(ahead of next)": f"{nxt.get(r.model_id, float('nan')):.2f}"}
                          for r in top.itertuples(index=False)]), ""]
        lines += [f"Confidence set for the best model under `{m}` ({u.level:.0%}, one-sided max-t over all pairs): "
                  f"{len(u.best_set)} of {u.n_models} models cannot be excluded.", ""]
        if m == c.methods[0] and "rank_intervals" in figs:
            lines += [_figure(next(fig_no), figs["rank_intervals"],
                              f"{u.level:.0%} rank intervals of the top models under {m}: {u.carries}."), ""]
    return lines


def _md_balance(res: ReportResults) -> list[str]:
    c = res.comparison
    b = c.balance
    rows = []
    for r in b.to_dict("records"):
        m = r["method"]
        row = {"rule": m, "nominal weight N / B": f"{r['weight_neural']:.2f} / {r['weight_behavioral']:.2f}",
               "SD of S_N / S_B": f"{r['sd_neural']:.3g} / {r['sd_behavioral']:.3g}",
               "effective weight N / B": f"{r['effective_neural']:.3g} / {r['effective_behavioral']:.3g}",
               "ρ(S_N, S_B)": f"{r['rho']:.2f}",
               "Shapley difference N − B (models)": _iv(r["difference"], r["diff_ci_low"], r["diff_ci_high"])}
        if "diff_domain_low" in r:
            row["… (metrics within domain)"] = _iv(r["difference"], r["diff_domain_low"], r["diff_domain_high"])
            row["… (datasets within tree)"] = _iv(r["difference"], r["diff_tree_low"], r["diff_tree_high"])
        rows.append(row)
    linear = [m for m, lin in zip(b["method"], b["linear"]) if lin]
    lines = ["Balance between the domains. Each rule's score S is regressed on its own neural and behavioral "
             "sub-aggregates S_N and S_B. "
             + (f"Every rule here ({', '.join(linear)}) is exactly linear in them, S = w_N S_N + w_B S_B with the nominal "
                "weights, so the joint R² is 1 by identity (not estimated) and the Shapley difference is the closed "
                "form (1 − ρ²)(a² − b²)/(a² + b² + 2ρab) of the effective weights a = w_N·SD(S_N), b = w_B·SD(S_B): a "
                "rule is balanced exactly when its effective weights are equal. "
                if len(linear) == len(b) else "")
             + "`domain_zscore` standardises within each domain (every node of the tree, then each domain) and "
             "averages the domains equally: balanced by construction. Intervals of the difference: over models, "
             "over metrics resampled within each domain (the numbers per domain fixed), and over datasets resampled "
             "within the tree (a flat rule's numbers of metrics per domain then change).", "", _table(rows), ""]
    cl = res.rankings.get("balance_cleanings")
    if cl is not None and len(cl):
        wide = {}
        for r in cl.itertuples(index=False):
            key = r.cleaning
            wide.setdefault(key, {"cleaning": key, "models × N + B metrics":
                                  f"{r.n_models} × {r.n_neural} + {r.n_behavioral}"})[r.method] = \
                f"{r.difference:+.3f}" + (" *" if r.best else "")
        lines += ["Shapley difference N − B of each rule under alternative cleanings (* = most balanced in that "
                  "cleaning; no resampling):", "", _table(list(wide.values())), ""]
    return lines


def _md_sources(res: ReportResults) -> list[str]:
    s = res.rankings.get("sources")
    if s is None:
        return []
    sa, sd = res.rankings.get("source_agreement"), res.rankings.get("source_dimensionality")
    lines = ["## Benchmark sources", "",
             "Metrics from one dataset share stimuli, subjects and analysis. Each metric's source is its dataset "
             "(the author-year token of its name or its parent's, e.g. Marques2020, Geirhos2021). Mean "
             f"{s.method} correlation of metric pairs within the same source vs between sources, with bootstrap "
             "intervals over models:", "",
             _table([{"pairs": "within a source", "n": s.n_within, "mean r": _e(s.within)},
                     {"pairs": "between sources", "n": s.n_between, "mean r": _e(s.between)},
                     {"pairs": "within − between", "n": "", "mean r": _e(s.difference)}]), "",
             _table([{"source": r.source, "metrics": r.n_metrics,
                      "mean r within": "–" if pd.isna(r.within) else _iv(r.within, r.ci_low, r.ci_high)}
                     for r in s.by_source.itertuples(index=False)]), ""]
    if sa is not None:
        a = res.agreement
        rows = [{"level": f"leaves ({a.matrix.shape[0]} metrics)", "mean r": _e(a.mean)},
                {"level": f"sources ({sa.matrix.shape[0]} datasets, each the mean of its metrics)",
                 "mean r": _e(sa.mean)}]
        if sd is not None:
            d = res.dimensionality
            for row, dd in zip(rows, (d, sd)):
                row["participation ratio"] = _e(dd.participation_ratio)
                row["parallel_fa k"] = str(dd.n_dimensions.get("parallel_fa", "–"))
                row["parallel_pc k"] = str(dd.n_dimensions.get("parallel_pc", "–"))
        lines += ["Agreement and dimensionality one level up (one column per source) beside the leaves: if the "
                  "dimensions were only datasets, the source-level matrix would show as many dimensions as sources.",
                  "", _table(rows), ""]
    return lines


def _md_methods(res: ReportResults) -> list[str]:
    o = res.options
    v = package_versions()
    from .. import __version__

    opts = ", ".join(f"{k}={o[k]!r}" for k in o if k not in ("n_boot", "seed"))
    unit = (res.clusters or {}).get("unit", "model")
    what = "models" if unit == "model" else f"{unit} clusters of models"
    text = ("No intervals were computed (n_boot=0). " if o["n_boot"] == 0 else
            f"Intervals are {o['ci']:.0%} bootstrap intervals over {what} ({o['n_boot']} resamples of the "
            f"{what} with replacement; BCa where defined, with the jackknife over the same unit, percentile "
            "otherwise, as each result records), except rank intervals, which resample benchmarks (and score noise "
            "when requested) with every model kept, and the balance intervals labelled as over metrics or "
            "datasets. ") + (
            f"One seed ({o['seed']}) is given to every analysis. Correlations are {o['method']} (average ranks "
            "for ties). Dimensionality: parallel analysis on components and on one-factor minres eigenvalues "
            "(psych's rule), Velicer's MAP, Kaiser, optimal coordinates, acceleration factor and cross-validated "
            "likelihood; P(k) is the share of resamples in which a rule chooses k, each resample compared with "
            "null data of its own kind (its repeated rows and family structure). Factor analysis as psych::fa "
            "at psych's defaults (rotations as GPArotation/stats::varimax, tolerance 1e-5; every extraction x "
            "rotation checked against R); k from the parallel_fa rule, fit tabulated over k with RMSEA > 0.08 "
            "or TLI < 0.90 flagged as poor; loading intervals refit the model on each resample, warm-started "
            "from the full-data solution. The "
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


def _md_trend(res: ReportResults, figs: dict, fig_no) -> list[str]:
    """Section "Over time" (only when the input has timestamps, e.g. the snapshot JSON)."""
    tr = getattr(res, "trend", None)
    if tr is None:
        why = res.skipped.get("trend")
        return ["## Over time", "", f"Not computed: {why}", ""] if why else []
    lines = [
        "## Over time", "",
        "The input dates every score, so the leaderboard can be rebuilt as it stood on each date "
        f"({', '.join(tr.dates)}): scores computed later are removed and the aggregates recomputed with the rule "
        "the source used for each of them (`table.benchmarks['aggregate_rule']`; the 2024 snapshot averages the "
        "children that have a score, today's website counts a missing child as 0). Each date is then cleaned and "
        "analysed on its own, with the report's options; intervals resample that date's models. Counts have no "
        "interval; k is given with the percentile interval of k over resamples. The cleaned metric set changes "
        "from date to date (row n_metrics: benchmarks are added, and a benchmark run on less than half of the "
        "models of a date is dropped), so a change between dates mixes new models with a different set of "
        "metrics.", "",
        tr.to_markdown(), "",
    ]
    if "trend" in figs:
        lines += [_figure(next(fig_no), figs["trend"], "The headline numbers on the leaderboard as it stood "
                                                       "at each date, with their intervals."), ""]
    return lines


def _md_source_notes(res: ReportResults) -> list[str]:
    """What the loader found about the source (layout limits, left-out items, error meanings)."""
    t = res.table
    notes = list(getattr(t, "notes", ()))
    log = getattr(t, "log", None)
    lines = []
    if notes:
        lines += ["Notes on the source:", ""] + [f"- {n}" for n in notes] + [""]
    if log is not None and len(log):
        per = log["kind"].value_counts()
        lines += ["Left out when reading it: " + ", ".join(f"{v} {k}(s)" for k, v in per.items())
                  + " (reasons in `table.log`).", ""]
    errors = getattr(t, "errors", None)
    if errors is not None:
        kinds = t.benchmarks.loc[t.benchmarks["error_kind"] != "none", "error_kind"]
        rows = [{"benchmark": b, "error kind": k} for b, k in kinds.items()]
        lines += [f"The source gives {int(errors.notna().to_numpy().sum())} per-score errors. What they "
                  "measure differs between benchmarks (`table.benchmarks['error_kind']`):", "",
                  _table([{"error kind": k, "benchmarks": int(v)} for k, v in kinds.value_counts().items()]),
                  "", "<details>", "<summary>Error kind of every benchmark with errors</summary>", "",
                  _table(rows), "", "</details>", ""]
    return lines


def _md_resampling_units(res: ReportResults) -> list[str]:
    """Section: what the intervals resample, the families, the design effect and the headline
    numbers under each resampling unit side by side (only formats ``res.units``)."""
    c = res.clusters or {}
    unit = c.get("unit", "model")
    lines = ["## Resampling unit: models or families", ""]
    if unit == "model":
        lines += [f"Every interval resamples the {res.cleaned.matrix.shape[0]} models as independent units "
                  f"(clusters={c.get('option')!r}: "
                  + ("the model names show no near-copies)." if c.get("option") == "auto" else "as asked).")]
    else:
        lines += [f"Every interval resamples **{c.get('n_units')} {unit} clusters** of the "
                  f"{res.cleaned.matrix.shape[0]} cleaned models (clusters={c.get('option')!r}): a resample draws "
                  "whole families of near-copies (seeds, checkpoints, framework ports, repeated submissions of one "
                  "name) with replacement, because such models are not independent draws "
                  "(see `alignfactors.model_families`)."]
    if c.get("not_clustered"):
        lines += ["", f"Not yet clustered (these resample models): {', '.join(c['not_clustered'])}."]
    lines.append("")
    u = res.units
    if u is None:
        return lines
    for lvl, de in u.design.items():
        top = ", ".join(f"`{k}` ({v})" for k, v in de.sizes.head(6).items())
        lines.append(f"- **{lvl}** level: {de.n_models} models in {de.n_clusters} families (largest: {top}); "
                     f"median intra-family correlation {_e(de.median_icc)}, median effective number of models "
                     f"{de.median_n_eff.format(1)} (Kish).")
    lines += ["", "The headline numbers with the interval of each resampling unit (same data, same seed); "
              "*SE ratio* is the standard error over the model bootstrap's:", ""]
    f = u.frame
    rows = []
    for q, g in f.groupby("quantity", sort=False):
        row = {"quantity": q, "value": f"{g['value'].iloc[0]:.3f}"}
        for r in g.itertuples(index=False):
            row[r.unit] = _iv(r.value, r.ci_low, r.ci_high).split(" ", 1)[-1]
            if r.unit != "model":
                row[f"SE ratio {r.unit}"] = f"{r.se_ratio:.2f}"
        rows.append(row)
    cols = list(dict.fromkeys(k for r in rows for k in r))
    lines += [_table([{k: r.get(k, "") for k in cols} for r in rows]), ""]
    counts = f.drop_duplicates(["unit", "n_units"]).groupby("unit", sort=False)["n_units"].apply(
        lambda v: " / ".join(str(int(x)) for x in v))
    lines += ["Units resampled: " + "; ".join(f"{k}: {v}" for k, v in counts.items())
              + " (agreement and dimensionality use the cleaned models; the decomposition every model with the "
              "aggregate and its parts, hence a second count where they differ).", ""]
    lines += ["The family level answers \"another run of these models\"; the architecture level \"other "
              "architectures like these\". Intervals under the model bootstrap treat near-copies as independent "
              "and are too narrow when the intra-family correlation is positive.", ""]
    return lines


def render_markdown(res: ReportResults, figs: dict) -> str:
    """The text of report.md."""
    import itertools

    fig_no = itertools.count(1)
    lines = [f"# Alignment metrics report: {res.input['name']}", ""]
    if res.simulated:
        lines += ["> **Note: the data are simulated.** No input file was given, so this report runs on "
                  "`alignfactors.io.datasets.simulate_leaderboard()`, a simulated leaderboard with a known factor "
                  "structure. None of these numbers describes real models.", ""]
    if res.options["n_boot"] == 0:
        lines += [f"Generated by alignfactors with n_boot=0, seed={res.options['seed']}: **no resampling was run, so "
                  "this report has no intervals**; every number is a point estimate.", ""]
    else:
        lines += [f"Generated by alignfactors with n_boot={res.options['n_boot']}, seed={res.options['seed']}. "
                  "Every number is given as `estimate [low, high]`; † marks an interval that does not contain its "
                  "estimate (the bootstrap distribution lies mostly on one side of it, as for the smaller eigenvalues "
                  "of a correlation matrix), which is then not a reliable measure of uncertainty.", ""]
    lines += _md_data(res)
    lines += _md_source_notes(res)
    lines += _md_resampling_units(res)
    lines += _md_agreement(res, figs, fig_no)
    lines += _md_dimensions(res, figs, fig_no)
    if getattr(res, "reliability", None) is not None:
        from ._reliability_section import render_reliability_section

        lines += render_reliability_section(res.reliability, figs.get("reliability"), fig_no)
    lines += _md_sources(res)
    lines += _md_decomposition(res, figs, fig_no)
    lines += _md_aggregation(res, figs, fig_no)
    lines += _md_trend(res, figs, fig_no)
    lines += _md_methods(res)
    return "\n".join(lines).rstrip() + "\n"
