"""The report section "Reliability and measurement error": run (once) and render (only formats).

:func:`run_reliability_section` computes everything through the public functions
(:func:`alignfactors.reliability`, :func:`alignfactors.agreement` with ``reliability=`` and
``noise="errors"``, :func:`alignfactors.dimensionality` with ``reliability=``);
:func:`render_reliability_section` and :func:`reliability_figure` only format its numbers. The
section is present when the input has per-score errors or replicate models (families of the
"variant" level with two or more models among the cleaned ones).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._formatting import markdown_table
from ..estimate import Estimate
from ..attenuation import Disattenuated
from ..reliability import ASSUMPTIONS, Reliability

__all__ = ["ReliabilitySection", "run_reliability_section", "render_reliability_section", "reliability_figure"]


@dataclass(frozen=True)
class ReliabilitySection:
    """What the section shows (all computed by :func:`run_reliability_section`).

    Attributes
    ----------
    by_source : dict of str -> Reliability
        ``"errors"`` and/or ``"replicates"``: each metric's reliability from that source.
    used : Reliability
        The reliability the corrections use: errors where they are standard errors, replicates
        for the other metrics (``errors.fill(replicates)``), or the only source available.
    disattenuated : Disattenuated
        Raw and corrected block means over the same pairs, with intervals.
    k_raw, k_raw_same, k_corrected : dict of str -> int
        Number of dimensions per rule on the raw matrix (all metrics), on the raw matrix of the
        metrics the correction keeps, and on the corrected matrix.
    k_corrected_distribution : dict of str -> dict
        P(k) over resamples on the corrected matrix.
    widening : DataFrame or None
        The headline numbers (mean agreement and block means, k and P(k) of each rule, the
        decomposition's primary shares) with their interval over the resampling unit alone and
        with score error added (``noise="errors"``), when the input has errors and ``n_boot > 0``:
        kind ("agreement" | "k" | "decomposition"), quantity, interval over, value, ci_low, ci_high,
        width, se (bootstrap SE), p_k (P(k) of the full-data k, k rows only), width_ratio and
        se_ratio (to the interval / SE without score error; NaN for a zero width) and error_share
        (``1 - se_ratio**-2``: the share of the replicates' variance that score error adds, as the
        antithetic replicates add a variance; less noisy than the widths' ratio, whose interval
        ends carry the Monte-Carlo error of a few replicates in each tail).
    gap_closed : dict of str -> float
        Per block, the share of the distance from the raw mean to 1 that the correction closes,
        ``(corrected - raw) / (1 - raw)``.
    notes : tuple of str
    """

    by_source: dict
    used: Reliability
    disattenuated: Disattenuated
    k_raw: dict
    k_raw_same: dict
    k_corrected: dict
    k_corrected_distribution: dict
    widening: pd.DataFrame | None
    gap_closed: dict
    notes: tuple = field(default_factory=tuple)

    def to_dict(self) -> dict:
        w = None if self.widening is None else [
            {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in row.items()}
            for row in self.widening.to_dict("records")]
        return {
            "assumptions": ASSUMPTIONS,
            "by_source": {k: r.to_dict() for k, r in self.by_source.items()},
            "used": {m: {"source": self.used.sources[m], "value": e.to_dict()["value"], "flag": self.used.flags.get(m)}
                     for m, e in self.used.estimates.items()},
            "disattenuated": self.disattenuated.to_dict(),
            "k_raw": dict(self.k_raw), "k_raw_same_metrics": dict(self.k_raw_same), "k_corrected": dict(self.k_corrected),
            "k_corrected_distribution": {r: {str(k): p for k, p in d.items()}
                                         for r, d in self.k_corrected_distribution.items()},
            "widening": w,
            "gap_closed": {k: (None if not np.isfinite(v) else float(v)) for k, v in self.gap_closed.items()},
            "notes": list(self.notes),
        }


def _replicate_groups(table, matrix: pd.DataFrame) -> pd.Series | None:
    from ..families import model_families

    try:
        fam = model_families(table, level="variant").reindex([str(i) for i in matrix.index])
    except Exception as exc:  # names missing or unusable: no replicate source, said in the notes
        warnings.warn(f"no replicate groups: model_families failed ({exc})", stacklevel=3)
        return None
    sizes = fam.value_counts()
    return fam if (sizes >= 2).any() else None


def run_reliability_section(table, cleaned, dim, *, method: str, groups, n_boot: int, ci: float, seed: int,
                            n_jobs: int = 1, progress: bool = False, clusters=None, agr=None, dec=None,
                            ci_method: str = "bca") -> ReliabilitySection | None:
    """Compute the section, or None when the input has neither errors nor replicate models.

    ``clusters`` (codes-ready: None, a Series model_id -> label or a string the analyses accept) is
    the resampling unit of the report, passed to every analysis of the section. ``dim`` (and, when
    given, the report's ``agr`` and ``dec``, computed with the same seed, ``n_boot``, ``ci_method``
    and clusters) are reused as the intervals without score error; otherwise they are computed here.
    """
    from ..agreement import agreement
    from ..dimensions import dimensionality
    from ..reliability import reliability

    m = cleaned.matrix
    common = dict(n_boot=n_boot, ci=ci, seed=seed, n_jobs=n_jobs, progress=progress, clusters=clusters)
    notes: list[str] = []
    by_source: dict[str, Reliability] = {}
    errors = getattr(table, "errors", None)
    if errors is not None and errors.reindex(index=m.index, columns=m.columns).notna().any().any():
        kinds = table.benchmarks["error_kind"] if "error_kind" in getattr(table, "benchmarks", pd.DataFrame()) else None
        by_source["errors"] = reliability(m, errors=errors, error_kind=kinds, **common)
    fam = _replicate_groups(table, m)
    if fam is not None:  # resampled over the replicate groups themselves unless the report says otherwise
        by_source["replicates"] = reliability(m, source="replicates", groups=fam, **common)
    if not by_source:
        return None
    used = by_source["errors"].fill(by_source["replicates"]) if len(by_source) == 2 else next(iter(by_source.values()))
    agr = agreement(m, method=method, groups=groups, reliability=used, **common)
    d = agr.disattenuated
    rules = [r for r in dim.rules if r != "cv_likelihood"]
    keep = [c for c in m.columns if c not in d.excluded]
    k_same, k_cor, k_dist = {}, {}, {}
    if len(keep) >= 3:
        # only k and P(k) are read from it: no eigenvalue intervals (a bootstrap pass and its jackknife)
        dim_c = dimensionality(m, method=method, reliability=used, rules=rules, null_from=dim, eigen_intervals=False,
                               **common)
        k_cor, k_dist = dict(dim_c.n_dimensions), dict(dim_c.k_distribution)
        notes.extend(dim_c.notes)
        k_same = dict(dim.n_dimensions) if len(keep) == m.shape[1] else dict(
            dimensionality(m[keep], method=method, rules=rules, n_boot=0, seed=seed, clusters=clusters).n_dimensions)
    else:
        notes.append(f"only {len(keep)} metrics have a usable reliability: no dimensionality on the corrected matrix.")
    gap = {"mean": (d.mean.value - d.raw_mean.value) / (1 - d.raw_mean.value)}
    gap.update({b: (d.blocks[b].value - d.raw_blocks[b].value) / (1 - d.raw_blocks[b].value) for b in d.blocks})
    widening = None
    if "errors" in by_source and n_boot:  # what score error adds to the intervals of the headline numbers
        # only the errors that are standard errors perturb the scores (flagged ones are not noise)
        usable = errors.reindex(index=m.index, columns=m.columns).astype(float)
        usable[list(by_source["errors"].flags)] = np.nan
        widening = _widening(table, m, dim, agr, dec, usable, rules, method=method, groups=groups,
                             common=dict(common, ci_method=ci_method))
    return ReliabilitySection(by_source, used, d, dict(dim.n_dimensions), k_same, k_cor, k_dist, widening, gap,
                              tuple(notes))


def _widening(table, m, dim, agr, dec, usable, rules, *, method, groups, common) -> pd.DataFrame:
    """Headline numbers without and with ``noise="errors"`` (see ``ReliabilitySection.widening``)."""
    from ..agreement import agreement
    from ..decomposition import decompose
    from ..dimensions import dimensionality

    rows = []

    def add(kind, quantity, label, value, low, high, p_k=float("nan"), se=float("nan")):
        rows.append({"kind": kind, "quantity": quantity, "interval over": label, "value": float(value),
                     "ci_low": float(low), "ci_high": float(high), "width": float(high - low), "se": float(se),
                     "p_k": p_k})

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the metrics left unperturbed are listed by noise_scale's warning
        base = agr if agr is not None else agreement(m, method=method, groups=groups, **common)
        unit = "models" if common.get("clusters") is None else f"{base.mean.unit}s"
        with_err = f"{unit} + score error"
        noisy = agreement(m, method=method, groups=groups, noise="errors", errors=usable, **common)
        for label, a in ((unit, base), (with_err, noisy)):
            for q, e in {"mean": a.mean, **a.blocks}.items():
                add("agreement", q, label, e.value, *e.ci, se=e.se)
        dim_noisy = dimensionality(m, method=method, rules=rules, noise="errors", errors=usable, null_from=dim,
                                   eigen_intervals=False, **common)
        for label, dd in ((unit, dim), (with_err, dim_noisy)):
            for rule in rules:
                k = dd.n_dimensions.get(rule)
                if k is None or rule not in dd.k_ci:
                    continue
                add("k", f"k ({rule})", label, k, *dd.k_ci[rule], p_k=dd.k_distribution[rule].get(k, 0.0))
        aggregate = dec.aggregate if dec is not None else "average_vision"
        tree = getattr(table, "tree", None)
        if tree is not None and aggregate in table.scores.columns and not tree.is_leaf(aggregate):
            kw = dict(aggregate=aggregate, levels=False, **common)
            if dec is not None:
                kw.update(parts=dec.parts, missing=dec.missing)
            base_dec = dec if dec is not None else decompose(table, **kw)
            noisy_dec = decompose(table, noise="errors", **kw)
            name = base_dec.primary
            label_of = {"covariance_shares": "covariance share", "shapley": "Shapley share"}
            for label, dd in ((unit, base_dec), (with_err, noisy_dec)):
                for part, e in getattr(dd, name).items():
                    add("decomposition", f"{label_of[name]} {part}", label, e.value, *e.ci, se=e.se)
    out = pd.DataFrame(rows)
    first = out.groupby("quantity", sort=False)["width"].transform("first")
    out["width_ratio"] = np.where(first > 0, out["width"] / first.where(first > 0), np.nan)
    first_se = out.groupby("quantity", sort=False)["se"].transform("first")
    out["se_ratio"] = np.where(first_se > 0, out["se"] / first_se.where(first_se > 0), np.nan)
    # the antithetic term adds variance: the share of the replicates' variance that score error adds
    out["error_share"] = np.where(out["se_ratio"] >= 1, 1 - out["se_ratio"] ** -2.0, np.nan)
    return out


def reliability_figure(sec: ReliabilitySection):
    """Each metric's reliability (with interval) from each source; flagged values hollow."""
    import matplotlib.pyplot as plt

    from .figures import short_labels

    metrics = list(sec.used.estimates)
    fig, ax = plt.subplots(figsize=(7, max(4, 0.18 * len(metrics) + 1)))
    y = np.arange(len(metrics))
    for k, (name, rel) in enumerate(sec.by_source.items()):
        off = (k - (len(sec.by_source) - 1) / 2) * 0.3
        for j, mtr in enumerate(metrics):
            e = rel.estimates.get(mtr)
            if e is None or not np.isfinite(e.value):
                continue
            flagged = mtr in rel.flags
            lo, hi = e.ci
            ax.plot([lo, hi], [j + off] * 2, color=f"C{k}", lw=1)
            ax.plot(e.value, j + off, "o", color=f"C{k}", mfc="none" if flagged else f"C{k}", ms=4,
                    label=(name + (" (flagged: hollow)" if rel.flags else "")) if j == 0 else None)
    ax.axvline(0, color="k", lw=0.6)
    ax.axvline(1, color="k", lw=0.6, ls="--")
    ax.set_xlim(-1.05, 1.05)
    ax.set_yticks(y, short_labels(metrics), fontsize=6)
    ax.invert_yaxis()
    ax.set_xlabel("reliability over models (values below −1 not shown)")
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    return fig


def _render_widening(wide: pd.DataFrame) -> list[str]:
    """The widening tables (formats ``sec.widening``; computes nothing)."""
    labels = list(dict.fromkeys(wide["interval over"]))
    base, noisy = labels[0], labels[-1]
    rows, krows = [], []
    for q, g in wide.groupby("quantity", sort=False):
        b, e = g[g["interval over"] == base].iloc[0], g[g["interval over"] == noisy].iloc[0]
        if b.kind == "k":
            krows.append({"rule": q[3:-1], "k": int(b.value), f"interval over {base}": f"[{b.ci_low:.0f}, {b.ci_high:.0f}]",
                          f"P(k) over {base}": b.p_k, f"interval over {noisy}": f"[{e.ci_low:.0f}, {e.ci_high:.0f}]",
                          f"P(k) over {noisy}": e.p_k})
        else:
            rows.append({"quantity": q, "value": b.value, f"interval over {base}": f"[{b.ci_low:.3f}, {b.ci_high:.3f}]",
                         f"interval over {noisy}": f"[{e.ci_low:.3f}, {e.ci_high:.3f}]", "width ratio": e.width_ratio,
                         "SE ratio": e.se_ratio, "error share": e.error_share})
    lines = ["What the intervals carry: the headline numbers with intervals from resampling alone and from "
             "resampling plus score error (`noise=\"errors\"`: in each resample every score is also perturbed by its "
             "own standard error, as an antithetic pair ±ε whose half-difference is added to the resample's value, "
             "so the extra attenuation of a second dose of error cancels and only the spread it adds remains). "
             "Width ratio: width with score error over width without (its interval ends carry the Monte-Carlo "
             "error of the few replicates in each tail, so a ratio just below 1 means no visible widening); SE ratio: "
             "the same for the bootstrap standard errors; error share: 1 − SE ratio⁻², the share of the replicates' "
             "variance that score error adds. "
             + ("Decomposition: the errors of the leaves are carried up the tree to the parts (errors that are not "
                "standard errors, such as the Geirhos2021 error-consistency ones, are not used). "
                if (wide["kind"] == "decomposition").any() else "")
             + "Resampling models already carries score error as far as it varies the scores between models, so "
             "the combined interval is conservative. Models versus families: see the section on resampling units.", "",
             markdown_table(pd.DataFrame(rows)), ""]
    if krows:
        lines += ["Number of dimensions: the percentile interval of k and P(k) of the full-data k. With score error "
                  "each resample's k is that of its perturbed scores, which hold the error twice (k cannot be "
                  "recentred), so this is a stress test: how stable k is when that much more error is added; it "
                  "leans towards fewer dimensions.", "", markdown_table(pd.DataFrame(krows)), ""]
    return lines


def _e(est: Estimate) -> str:
    return est.format(3)


def _short(reason: str | None) -> str:
    """The first clause of a flag's reason (the full text is in results.json)."""
    return "" if not reason else reason.split(":")[0]


def render_reliability_section(sec: ReliabilitySection, figure_path: str | None, fig_no) -> list[str]:
    """Markdown lines of the section (formats the numbers of ``sec``; computes nothing)."""
    d = sec.disattenuated
    srcs = " and ".join(sec.by_source)
    lines = ["## Reliability and measurement error", "",
             "How much of the disagreement between metrics is noise? Each metric's reliability over the "
             f"cleaned models is estimated from {srcs}: from per-score standard errors as 1 − mean(se²)/var(score); "
             "from replicate models (seeds, checkpoints: families of the *variant* level with two or more "
             "models) as the intra-class correlation ICC(1). Spearman's correction r/√(rel_a·rel_b) then "
             "estimates the correlation of error-free scores; reliabilities are re-estimated in every resample. "
             f"Assumptions: {ASSUMPTIONS}", ""]
    rows = []
    for mtr, e in sec.used.estimates.items():
        row = {"metric": mtr}
        for name, rel in sec.by_source.items():
            x = rel.estimates.get(mtr)
            row[f"from {name}"] = _e(x) if x is not None else ""
            row[f"{name} n_groups"] = rel.details.set_index("metric").at[mtr, "n_groups"] if name == "replicates" else None
        row["used"] = "" if mtr in sec.used.flags else sec.used.sources[mtr]
        row["why excluded / note"] = _short(sec.used.flags.get(mtr)) or "; ".join(
            f"{n}: {_short(r.flags[mtr])}" for n, r in sec.by_source.items() if mtr in r.flags)
        rows.append({k: v for k, v in row.items() if v is not None})
    lines += ["Reliability of each metric (flagged values are shown as computed, never clipped, and are "
              "excluded from the correction; the full reasons are in results.json):", "", markdown_table(pd.DataFrame(rows)), ""]
    if figure_path:
        lines += [f"![reliabilities]({figure_path})", "",
                  f"*Figure {next(fig_no)}. Reliability of each metric from each source with its interval; hollow "
                  "markers are flagged values.*", ""]
    lines += [f"Raw and disattenuated mean correlations over the same pairs ({len(d.excluded)} metrics excluded; "
              f"{int(d.pairs['over_one'].sum())} corrected pairs with |r| > 1, flagged, not hidden: "
              "`disattenuated.over_one`):", "",
              markdown_table(pd.DataFrame([{"block": q, "raw": _e(r), "corrected": _e(c),
                                            "share of the gap to 1 closed": sec.gap_closed.get(q, float("nan"))}
                                           for q, r, c in [("mean", d.raw_mean, d.mean)]
                                           + [(b, d.raw_blocks[b], d.blocks[b]) for b in d.blocks]])), ""]
    if sec.k_corrected:
        lines += [f"Number of dimensions on the raw matrix (all metrics, and the {len(sec.used.estimates) - len(d.excluded)} "
                  "metrics the correction keeps) and on the corrected (cor.smooth-ed) matrix of those metrics:", "",
                  markdown_table(pd.DataFrame([{"rule": r, "k raw (all)": sec.k_raw.get(r),
                                                "k raw (kept)": sec.k_raw_same.get(r), "k corrected": k,
                                                "P(k) corrected": ", ".join(f"{kk}: {p:.2f}" for kk, p in sorted(
                                                    sec.k_corrected_distribution.get(r, {}).items()))}
                                               for r, k in sec.k_corrected.items()])), ""]
    if sec.widening is not None:
        lines += _render_widening(sec.widening)
    nn = d.blocks.get("neural-neural")
    if nn is not None:
        raw = d.raw_blocks["neural-neural"]
        share = sec.gap_closed.get("neural-neural", float("nan"))
        verdict = ("little of it" if share < 0.1 else "part of it" if share < 0.5 else "much of it")
        lines += [f"**Answer.** Measurement noise explains {verdict}: corrected for the metrics' reliabilities, "
                  f"the neural–neural mean correlation is {_e(nn)} instead of {_e(raw)} (the correction closes "
                  f"{share:.0%} of the distance to 1). "
                  + ("The neural metrics disagree mostly because they measure different things, not because each "
                     "is noisy. " if nn.ci[1] < 0.5 else "")
                  + "This holds under the stated assumptions; errors that are not standard errors (flagged above) "
                  "and metrics without replicates cannot be corrected.", ""]
    if sec.notes:
        lines += ["Notes: " + " ".join(sec.notes), ""]
    return lines
