"""Reliability (errors, replicates, split), the correction for attenuation and noise='errors'."""

import numpy as np
import pandas as pd
import pingouin as pg
import pytest

import alignfactors as af
from alignfactors.errors import DataError, ParameterError, ParameterTypeError
from alignfactors.attenuation import disattenuate
from alignfactors.reliability import _icc_kernel, reliability
from alignfactors.resampling import bootstrap


def _noisy(n=2000, sd_true=1.0, se=0.5, p=1, seed=0):
    rng = np.random.default_rng(seed)
    t = sd_true * rng.normal(size=(n, p))
    cols = [f"m{j}" for j in range(p)]
    x = pd.DataFrame(t + se * rng.normal(size=(n, p)), columns=cols)
    return x, pd.DataFrame(np.full((n, p), se), columns=cols), t


def test_errors_recover_known_reliability():
    # var(true) = 1, se = 0.5: rel = 1 / 1.25 = 0.8
    x, se, _ = _noisy()
    rel = reliability(x, errors=se, n_boot=300, seed=1)
    e = rel.estimates["m0"]
    assert abs(e.value - 0.8) < 0.02
    assert e.ci[0] < 0.8 < e.ci[1]
    assert rel.flags == {} and rel.source == "errors"
    # the formula by hand
    assert e.value == pytest.approx(1 - 0.25 / x["m0"].var(ddof=1), abs=1e-12)


def test_impossible_reliability_flagged_not_clipped():
    x, _, _ = _noisy(n=200, sd_true=0.1, se=0.05)
    rel = reliability(x, errors=pd.DataFrame({"m0": np.full(200, 0.5)}), n_boot=0)  # error >> spread of scores
    assert rel.estimates["m0"].value < 0              # kept as computed
    assert "not be a standard error" in rel.flags["m0"] or "cannot be a standard error" in rel.flags["m0"]
    assert rel.usable == []


def test_error_kind_from_table_flags_metric():
    x, se, _ = _noisy(n=100, p=2)
    from dataclasses import replace

    table = af.ScoreTable.from_wide(x.set_axis([f"model{i}" for i in range(100)]))
    bench = table.benchmarks.copy()
    bench["error_kind"] = ["standard_error", "spread_over_subjects"]
    table = replace(table, errors=se.set_axis(table.scores.index), benchmarks=bench)
    rel = reliability(table, n_boot=0)
    assert "spread_over_subjects" in rel.flags["m1"] and "m0" not in rel.flags


# pingouin's own DataFrame.dropna(inplace=True) warns under pandas 3: third party, not ours to fix
@pytest.mark.filterwarnings("ignore:The inplace keyword in DataFrame.dropna is deprecated")
def test_icc_equals_pingouin_on_balanced_groups():
    rng = np.random.default_rng(3)
    g, k = 15, 3
    y = (rng.normal(size=g)[:, None] + 0.8 * rng.normal(size=(g, k))).ravel()
    codes = np.repeat(np.arange(g), k)
    df = pd.DataFrame({"target": codes, "rater": np.tile(np.arange(k), g), "y": y})
    ref = pg.intraclass_corr(df, targets="target", raters="rater", ratings="y").set_index("Type").loc["ICC(1,1)", "ICC"]
    assert _icc_kernel(y[:, None], codes, np.ones((1, y.size)))[0, 0] == pytest.approx(ref, abs=1e-12)
    m = pd.DataFrame({"m": y}, index=[f"s{i}" for i in range(y.size)])
    rel = reliability(m, source="replicates", groups=pd.Series(codes, index=m.index), n_boot=0, min_models=3)
    assert rel.estimates["m"].value == pytest.approx(ref, abs=1e-12)


def test_icc_unbalanced_by_hand():
    # groups {1, 2, 3}, {4, 6}, {5}: N = 6, G = 3, grand mean 3.5
    y = np.array([1.0, 2, 3, 4, 6, 5])
    codes = np.array([0, 0, 0, 1, 1, 2])
    ssw = (1 + 0 + 1) + (1 + 1) + 0                       # 4, df = 6 - 3 = 3
    ssb = 3 * (2 - 3.5) ** 2 + 2 * (5 - 3.5) ** 2 + (5 - 3.5) ** 2   # 13.5, df = 2
    msb, msw = ssb / 2, ssw / 3
    n0 = (6 - (9 + 4 + 1) / 6) / 2
    hand = (msb - msw) / (msb + (n0 - 1) * msw)
    assert _icc_kernel(y[:, None], codes, np.ones((1, 6)))[0, 0] == pytest.approx(hand, abs=1e-12)
    # two copies of every group (cluster bootstrap drawing each family twice) = the data listed twice
    twice = _icc_kernel(np.r_[y, y][:, None], np.r_[codes, codes + 3], np.ones((1, 12)))[0, 0]
    assert _icc_kernel(y[:, None], codes, np.full((1, 6), 2.0))[0, 0] == pytest.approx(twice, abs=1e-12)


def test_icc_complete_columns_path_equals_the_masked_path():
    """Complete columns share one weight per model (counts computed once); a column with a missing
    value takes the masked path: the complete column's ICC is the same either way, singletons,
    undrawn models and repeated draws included."""
    rng = np.random.default_rng(8)
    codes = np.r_[np.arange(20), np.repeat(np.arange(20, 30), 3)]
    y = rng.normal(size=codes.size) + rng.normal(size=30)[codes]
    w = np.stack([np.bincount(rng.integers(0, codes.size, codes.size), minlength=codes.size)
                  for _ in range(6)]).astype(float)
    other = rng.normal(size=codes.size)
    other[4] = np.nan
    alone = _icc_kernel(y[:, None], codes, w)[:, 0]
    mixed = _icc_kernel(np.column_stack([y, other]), codes, w)[:, 0]
    np.testing.assert_allclose(mixed, alone, rtol=1e-12)
    assert np.isfinite(alone).all()


def test_replicates_flag_when_seeds_vary_more_than_models():
    rng = np.random.default_rng(0)
    y = rng.normal(size=40) * 0.1
    y[:8] = rng.normal(size=8) * 2.0          # one family of 8 seeds that vary wildly
    m = pd.DataFrame({"m": y}, index=[f"s{i}" for i in range(40)])
    groups = pd.Series(["fam"] * 8, index=m.index[:8])
    rel = reliability(m, source="replicates", groups=groups, n_boot=0)
    assert rel.estimates["m"].value < 0 and "vary more than models" in rel.flags["m"]


def test_split_spearman_brown():
    rng = np.random.default_rng(5)
    t = rng.normal(size=(5000, 2))
    a = pd.DataFrame(t + rng.normal(size=t.shape), columns=["u", "v"])
    b = pd.DataFrame(t + rng.normal(size=t.shape), columns=["u", "v"])
    rel = reliability((a, b), source="split", n_boot=0)
    r = np.corrcoef(a["u"], b["u"])[0, 1]
    assert rel.estimates["u"].value == pytest.approx(2 * r / (1 + r), abs=1e-12)
    # truth: each half has rel 0.5, their mean rel 2/3
    assert abs(rel.estimates["v"].value - 2 / 3) < 0.03


def test_attenuation_formula_on_a_constructed_pair():
    r = pd.DataFrame([[1.0, 0.3], [0.3, 1.0]], index=["a", "b"], columns=["a", "b"])
    c = disattenuate(r, {"a": 0.6, "b": 0.5})
    assert c.loc["a", "b"] == pytest.approx(0.3 / np.sqrt(0.3))
    assert np.isnan(disattenuate(r, {"a": -0.2, "b": 0.5}).loc["a", "b"])   # impossible: no value, not clipped
    # simulated pair: true r = 0.6, reliabilities 0.8 and 0.5 -> observed ~ 0.6 * sqrt(0.4)
    rng = np.random.default_rng(0)
    n = 20000
    t = rng.multivariate_normal([0, 0], [[1, 0.6], [0.6, 1]], size=n)
    se = np.array([0.5, 1.0])
    x = pd.DataFrame(t + se * rng.normal(size=t.shape), columns=["a", "b"])
    rel = reliability(x, errors=pd.DataFrame(np.tile(se, (n, 1)), columns=["a", "b"]), n_boot=0)
    agr = af.agreement(x, method="pearson", reliability=rel, n_boot=0)
    obs = x.corr().loc["a", "b"]
    hand = obs / np.sqrt(rel.estimates["a"].value * rel.estimates["b"].value)
    assert agr.disattenuated.matrix.loc["a", "b"] == pytest.approx(hand, abs=1e-10)
    assert agr.disattenuated.mean.value == pytest.approx(hand, abs=1e-10)
    assert abs(hand - 0.6) < 0.03 and abs(obs - 0.6 * np.sqrt(0.4)) < 0.03


def test_disattenuated_blocks_intervals_and_over_one():
    rng = np.random.default_rng(2)
    n = 150
    f = rng.normal(size=(n, 1))
    x = pd.DataFrame(f @ np.ones((1, 4)) + 0.5 * rng.normal(size=(n, 4)), columns=list("abcd"))
    # claimed errors twice the real ones: reliabilities underestimated, corrected r > 1
    se = pd.DataFrame(np.full((n, 4), 0.7), columns=x.columns)
    rel = reliability(x, errors=se, n_boot=0)
    groups = pd.Series({"a": "g", "b": "g", "c": "h", "d": "h"})
    agr = af.agreement(x, method="pearson", groups=groups, reliability=rel, n_boot=100, seed=0)
    d = agr.disattenuated
    assert set(d.blocks) == {"g-g", "g-h", "h-h"}
    assert d.mean.ci[0] <= d.mean.value <= d.mean.ci[1]
    assert d.raw_mean.value == pytest.approx(agr.mean.value)
    assert d.over_one.shape[0] == 6 and d.pairs["over_one"].all()
    assert "disattenuated" in agr.to_dict()
    assert set(d.to_frame()["quantity"]) == {"mean", "g-g", "g-h", "h-h"}


def test_flagged_metric_excluded_from_agreement_and_dimensionality():
    rng = np.random.default_rng(4)
    n = 120
    f = rng.normal(size=(n, 1))
    x = pd.DataFrame(f @ np.ones((1, 5)) + 0.6 * rng.normal(size=(n, 5)), columns=list("abcde"))
    se = pd.DataFrame(np.full((n, 5), 0.3), columns=x.columns)
    se["e"] = 5.0
    rel = reliability(x, errors=se, n_boot=0)
    assert "e" in rel.flags
    agr = af.agreement(x, reliability=rel, n_boot=50, seed=0)
    assert "e" in agr.disattenuated.excluded
    assert agr.disattenuated.matrix["e"].isna().all()
    assert not ((agr.disattenuated.pairs.metric_a == "e") | (agr.disattenuated.pairs.metric_b == "e")).any()
    dim = af.dimensionality(x, rules=["parallel_pc", "map"], n_boot=20, seed=0, reliability=rel)
    assert dim.n_metrics == 4 and any("left out: e" in s for s in dim.notes)
    with pytest.raises(ParameterError, match="needs matrix"):
        af.dimensionality(corr=x.corr(), n_obs=n, reliability=rel)


def test_fill_takes_other_source_for_flagged_metrics():
    x, se, _ = _noisy(n=60, p=2)
    x.index = [f"s{i}" for i in range(60)]
    se.index = x.index
    se["m1"] = 9.0
    a = reliability(x, errors=se, n_boot=0)
    b = reliability(x, source="replicates", groups=pd.Series(np.arange(60) // 2, index=x.index), n_boot=0)
    both = a.fill(b)
    assert both.sources == {"m0": "errors", "m1": "replicates"}
    assert both.estimates["m1"] is b.estimates["m1"] and "m1" not in both.flags


def test_validation_errors():
    x, se, _ = _noisy(n=30)
    with pytest.raises(ParameterError, match="source must be one of"):
        reliability(x, errors=se, source="bogus")
    with pytest.raises(DataError, match="needs standard errors"):
        reliability(x)
    with pytest.raises(ParameterTypeError, match="two score tables"):
        reliability(x, source="split")
    with pytest.raises(DataError, match="negative"):
        reliability(x, errors=-se)
    with pytest.raises(ParameterTypeError, match="must be a Reliability"):
        af.agreement(pd.concat([x, x * 2 + 1], axis=1).set_axis(["a", "b"], axis=1), reliability="errors")
    with pytest.raises(ParameterError, match="noise must be None or 'errors'"):
        af.agreement(pd.concat([x, x], axis=1).set_axis(["a", "b"], axis=1), noise="gaussian", errors=se)


def test_noise_stream_leaves_model_resamples_unchanged_and_batch_invariant():
    x = np.arange(20.0)

    def stat(w, noise=None):
        return (w @ x / w.sum(axis=1))[:, None]

    plain = bootstrap(lambda w: stat(w), 20, n_boot=200, seed=3)
    noisy = bootstrap(stat, 20, n_boot=200, seed=3, noise=np.ones((20, 1)))
    np.testing.assert_array_equal(plain.distribution, noisy.distribution)   # statistic ignores noise

    def stat2(w, noise=None):
        xx = x[None] if noise is None else x[None] + noise[:, :, 0]
        return ((w * xx).sum(axis=1) / w.sum(axis=1))[:, None]

    a = bootstrap(stat2, 20, n_boot=200, seed=3, noise=np.full((20, 1), 2.0), batch_size=64)
    b = bootstrap(stat2, 20, n_boot=200, seed=3, noise=np.full((20, 1), 2.0), batch_size=7)
    np.testing.assert_array_equal(a.distribution, b.distribution)
    assert a[0].se > plain[0].se          # score error widens the interval


def test_agreement_noise_errors_runs_and_keeps_point_estimate():
    x, se, _ = _noisy(n=80, p=3)
    a0 = af.agreement(x, n_boot=60, seed=0)
    a1 = af.agreement(x, n_boot=60, seed=0, noise="errors", errors=se)
    assert a1.mean.value == a0.mean.value
    assert np.isfinite(a1.mean.ci).all()


@pytest.mark.slow
def test_simulation_correction_recovers_true_blocks():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[1] / "analyses" / "reliability_simulation.py"
    spec = importlib.util.spec_from_file_location("reliability_simulation", path)
    sim = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sim)
    out = sim.run_cell(n_models=200, level=0.6, n_rep=12, n_boot=200, seed=0)
    assert (out["corrected_abs_bias"] < out["raw_abs_bias"]).all()
    assert (out["corrected_abs_bias"] < 0.05).all() and (out["raw_abs_bias"] > 0.04).all()
    assert (out["coverage"] >= 0.75).all()


def _table_with_errors_and_seeds(n_fam=40, seeds=3, seed=0):
    """A leaderboard with per-score errors and families of seed replicates (known structure)."""
    from dataclasses import replace

    rng = np.random.default_rng(seed)
    sizes = np.where(np.arange(n_fam) < 10, seeds, 1)
    fam = np.repeat(np.arange(n_fam), sizes)
    n = fam.size
    names = [f"net{f}_seed-{k}" if sizes[f] > 1 else f"net{f}" for f, k in
             zip(fam, np.concatenate([np.arange(s) for s in sizes]))]
    f = rng.normal(size=(n_fam, 1))[fam]
    cols = ["n1", "n2", "n3", "b1", "b2", "b3"]
    t = f @ np.ones((1, 6)) * 0.7 + rng.normal(size=(n_fam, 6))[fam] * 0.7
    se = np.full((n, 6), 0.3)
    x = t + se * rng.normal(size=(n, 6))
    df = pd.DataFrame(x, columns=cols, index=[f"m{i}" for i in range(n)])
    df.insert(0, "model_name", names)
    table = af.ScoreTable.from_wide(df, domains={c: "neural" if c[0] == "n" else "behavioral" for c in cols})
    return replace(table, errors=pd.DataFrame(se, index=table.scores.index, columns=cols))


def test_report_section_runs_and_renders():
    import itertools
    import json

    from alignfactors.reporting._reliability_section import render_reliability_section, run_reliability_section

    table = _table_with_errors_and_seeds()
    cleaned = af.clean(table)
    dim = af.dimensionality(cleaned.matrix, rules=["parallel_pc", "map"], n_boot=20, seed=0)
    sec = run_reliability_section(table, cleaned, dim, method="spearman", groups=cleaned.domains, n_boot=30,
                                  ci=0.95, seed=0)
    assert set(sec.by_source) == {"errors", "replicates"}
    assert set(sec.disattenuated.blocks) == {"neural-neural", "neural-behavioral", "behavioral-behavioral"}
    assert set(sec.widening["interval over"]) >= {"models", "models + score error"}
    text = "\n".join(render_reliability_section(sec, None, itertools.count(1)))
    assert text.startswith("## Reliability and measurement error") and "**Answer.**" in text
    json.dumps(sec.to_dict(), allow_nan=False)


def test_report_section_absent_without_errors_or_replicates():
    from alignfactors.reporting._reliability_section import run_reliability_section

    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(30, 4)), columns=["n1", "n2", "b1", "b2"],
                      index=[f"m{i}" for i in range(30)])
    df.insert(0, "model_name", [f"model{i}" for i in range(30)])
    table = af.ScoreTable.from_wide(df, domains={"n1": "neural", "n2": "neural", "b1": "behavioral",
                                                 "b2": "behavioral"})
    cleaned = af.clean(table)
    dim = af.dimensionality(cleaned.matrix, rules=["map"], n_boot=0, seed=0)
    assert run_reliability_section(table, cleaned, dim, method="spearman", groups=cleaned.domains, n_boot=0,
                                   ci=0.95, seed=0) is None
