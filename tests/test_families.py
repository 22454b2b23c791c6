import numpy as np
import pandas as pd
import pytest

import alignfactors as af
from alignfactors.errors import DataError, ParameterError, ParameterTypeError
from alignfactors.families import cluster_labels, design_effect, model_families, resolve_clusters


def _names(*names):
    return pd.Series(list(names), index=[f"m{i}" for i in range(len(names))])


@pytest.mark.parametrize("a,b", [
    ("alexnet_training_seed_01", "alexnet_training_seed_10"),
    ("alexnet", "alexnet_training_seed_03"),
    ("alexnet", "alexnet_early_checkpoint"),
    ("convnext_small_imagenet_full_seed-0", "convnext_small_imagenet_full"),
    ("ReAlnet01_cornet", "ReAlnet10_cornet"),
    ("ReAlnet01", "ReAlnet07"),
    ("yudixie_resnet50_imagenet1kpret_0_240312", "yudixie_resnet50_imagenet1kpret_0_240908"),
    ("effnetb1_cutmixrespatch_SAM_robust32_e10_manylayers_324x288",
     "effnetb1_cutmixrespatch_SAM_robust32_e2_manylayers_324x288"),
    ("mobilenet_v2_0.75_160-tf", "mobilenet_v2_0_75_160"),
    ("resnet-50_v1-tf", "resnet_50_v1"),
    ("densenet-169", "densenet-169-keras"),
    ("CLIP_resnet50", "CLIP_resnet50_float32"),
    ("resnet50", "resnet50"),
])
def test_variant_level_collapses_near_copies(a, b):
    fam = model_families(_names(a, b))
    assert fam.iloc[0] == fam.iloc[1]


@pytest.mark.parametrize("a,b", [
    ("resnet18_ecoset_full", "resnet34_ecoset_full"),        # other depth: other variant
    ("resnet50_imagenet_10_seed-0", "resnet50_imagenet_100_seed-0"),   # other training data
    ("yudixie_resnet18_category_class_0_240719", "yudixie_resnet18_object_class_0_240719"),
    ("mobilenet_v2_0.5_128", "mobilenet_v2_0.5_160"),        # other input size
    ("resnet50", "resnet101"),
    ("alexnet", "alexnet_l2_3_robust"),                      # other training
])
def test_variant_level_keeps_different_models_apart(a, b):
    fam = model_families(_names(a, b))
    assert fam.iloc[0] != fam.iloc[1]


@pytest.mark.parametrize("name,arch", [
    ("ReAlnet01_cornet", "cornet"), ("CORnet-S", "cornet"), ("vonealexnet_gaussian_noise_std4_fixed", "alexnet"),
    ("resnext101_32x8d_wsl", "resnet"), ("BiT-S-R50x1", "resnet"), ("CLIP-RN50", "resnet"), ("CLIP_ViT-B_32", "vit"),
    ("deit_small_imagenet_full_seed-0", "vit"), ("swin_small_patch4_window7_224:ms_in22k_ft_in1k", "vit"),
    ("inception_resnet_v2", "inception"), ("effnetb1_272x240", "efficientnet"), ("mobilenet_v2_1.0_224", "mobilenet"),
    ("convnext_tiny:in12k_ft_in1k", "convnext"), ("vgg-16-keras", "vgg"), ("densenet-121", "densenet"),
    ("hmax", "hmax"),
])
def test_architecture_level(name, arch):
    assert model_families(_names(name), level="architecture").iloc[0] == arch


def test_rules_override_and_metadata_first():
    models = pd.DataFrame({"model_name": ["alexnet", "resnet50", "weird"],
                           "model_family": ["alexnet", None, "resnext"]}, index=["1", "2", "3"])
    arch = model_families(models, level="architecture")
    assert arch.tolist() == ["alexnet", "resnet", "resnext"]
    assert arch.attrs["source"] == {"rules": 0, "metadata": 2, "names": 1}
    # user rules come first, by model_id or by name, mapping or callable
    assert model_families(models, rules={"2": "mine", "weird": "w"}).tolist() == ["alexnet", "mine", "w"]
    assert model_families(models, rules=lambda n: "x" if n.startswith("a") else None).tolist() == [
        "x", "resnet50", "weird"]
    with pytest.raises(ParameterTypeError, match="rules must be"):
        model_families(models, rules=3)
    with pytest.raises(ParameterError, match="level must be one of"):
        model_families(models, level="species")
    with pytest.raises(ParameterTypeError, match="models must be a ScoreTable"):
        model_families(["alexnet"])


def test_resolve_clusters_errors():
    idx = ["a", "b", "c"]
    assert resolve_clusters(None, idx) is None and resolve_clusters("none", idx) is None
    assert resolve_clusters({"a": "x", "b": "y", "c": "x"}, idx).tolist() == [0, 1, 0]
    with pytest.raises(DataError, match="misses 1 of the 3 models"):
        resolve_clusters(pd.Series({"a": "x", "b": "y"}), idx)
    with pytest.raises(DataError, match="not in the data"):
        resolve_clusters(pd.Series({"a": "x", "b": "y", "c": "x", "zz": "y"}), idx)
    with pytest.raises(DataError, match="one family"):
        resolve_clusters(pd.Series({"a": "x", "b": "x", "c": "x"}), idx)
    with pytest.raises(DataError, match="no family"):
        resolve_clusters(pd.Series({"a": "x", "b": None, "c": "y"}), idx)
    with pytest.raises(ParameterError, match="needs the model names"):
        resolve_clusters("families", idx)
    with pytest.raises(ParameterError, match="clusters must be None, 'auto', 'families'"):
        resolve_clusters("famlies", idx)
    with pytest.raises(ParameterTypeError, match="clusters must be None"):
        resolve_clusters([0, 1, 0], idx)


def test_cleaned_matrix_carries_names_for_families():
    t = af.datasets.simulate_leaderboard(60, seed=0)
    m = af.clean(t).matrix
    lab = cluster_labels("families", m.index, names=af.families.matrix_names(m))
    assert lab.index.tolist() == [str(i) for i in m.index]
    assert lab.equals(cluster_labels("families", m.index, t))
    # families of the whole table fit the cleaned matrix; an id of no model of the table does not
    fam = model_families(t)
    assert resolve_clusters(fam, m.index, names=af.families.matrix_names(m)).shape == (len(m),)
    with pytest.raises(DataError, match="names 1 models that are not in the data"):
        resolve_clusters(pd.concat([fam, pd.Series({"zz": "a"})]), m.index, names=af.families.matrix_names(m))


def _clustered(n_fam=40, size=3, icc=0.5, p=4, seed=0):
    rng = np.random.default_rng(seed)
    shared = np.repeat(rng.normal(size=(n_fam, p)), size, axis=0) * np.sqrt(icc)
    x = shared + rng.normal(size=(n_fam * size, p)) * np.sqrt(1 - icc)
    idx = [f"m{i}" for i in range(n_fam * size)]
    fam = pd.Series(np.repeat([f"f{i}" for i in range(n_fam)], size), index=idx)
    return pd.DataFrame(x, index=idx, columns=list("abcd")[:p]), fam


def test_design_effect_matches_anova_by_hand_and_pingouin_free_formula():
    m, fam = _clustered(n_fam=10, size=3, p=2, seed=1)
    # drop one model so sizes are unequal
    m, fam = m.iloc[1:], fam.iloc[1:]
    de = design_effect(m, fam, n_boot=0)
    y = m["a"].to_numpy()
    g = fam.to_numpy()
    groups = [y[g == k] for k in pd.unique(g)]
    n, G = len(y), len(groups)
    msb = sum(len(v) * (v.mean() - y.mean()) ** 2 for v in groups) / (G - 1)
    msw = sum(((v - v.mean()) ** 2).sum() for v in groups) / (n - G)
    n0 = (n - sum(len(v) ** 2 for v in groups) / n) / (G - 1)
    icc = (msb - msw) / (msb + (n0 - 1) * msw)
    assert de.icc["a"].value == pytest.approx(icc, rel=1e-12)
    m_bar = sum(len(v) ** 2 for v in groups) / n
    assert de.n_eff["a"].value == pytest.approx(n / (1 + (m_bar - 1) * icc), rel=1e-12)
    assert de.n_clusters == 10 and de.n_models == 29


def test_design_effect_recovers_known_icc_with_family_intervals():
    m, fam = _clustered(n_fam=150, size=3, icc=0.4, p=4, seed=3)
    de = design_effect(m, fam, n_boot=300, seed=0)
    assert 0.3 < de.median_icc.value < 0.5
    assert de.median_icc.ci[0] < 0.4 < de.median_icc.ci[1]
    assert de.median_icc.unit == "family" and de.median_icc.n_units == 150
    assert 450 / (1 + 2 * 0.5) < de.median_n_eff.value < 450 / (1 + 2 * 0.3)
    assert {"quantity", "metric", "ci_low", "unit", "n_units"} <= set(de.to_frame().columns)
    assert de.to_dict()["options"]["unit"] == "family"
    assert "150 families" in de.summary()


def test_design_effect_errors():
    m, fam = _clustered()
    with pytest.raises(ParameterError, match="needs clusters"):
        design_effect(m, None)
    bad = m.copy()
    bad.iloc[0, 0] = np.nan
    with pytest.raises(DataError, match="complete matrix"):
        design_effect(bad, fam)
    with pytest.raises(ParameterError, match="missing must be one of"):
        design_effect(m, fam, missing="pairwise")


def test_real_export_families(brainscore_path):
    t = af.load_brainscore(brainscore_path)
    c = af.clean(t)
    var = model_families(t).loc[c.matrix.index]
    arch = model_families(t, level="architecture").loc[c.matrix.index]
    v, a = var.value_counts(), arch.value_counts()
    print("variant families:", len(v), v.head(8).to_dict())
    print("architecture families:", len(a), a.head(8).to_dict())
    assert v["alexnet"] >= 15 and v["realnet*"] == 10
    assert 150 < len(v) < 229 and 10 < len(a) < 40
    assert a.index[0] == "resnet"
    names = t.models["model_name"]
    # every repeated name lands in one family
    allvar = model_families(t)
    for name, ids in names.groupby(names).groups.items():
        assert allvar.loc[list(ids)].nunique() == 1, name
    # the ReAlnetNN_cornet and yudixie checkpoints
    ids = names.index[names.str.match(r"ReAlnet\d\d_cornet")]
    assert len(ids) == 10 and allvar.loc[ids].nunique() == 1


@pytest.mark.filterwarnings("ignore::alignfactors.errors.DegenerateDataWarning")
def test_compare_units_reuses_matching_results_with_the_same_numbers():
    """Results computed beforehand (as the report's) give the same table; mismatching options are recomputed."""
    import alignfactors as af
    from alignfactors.units import compare_units

    t = af.datasets.simulate_leaderboard(60, seed=1)
    c = af.clean(t)
    kw = dict(n_boot=40, ci=0.9, ci_method="bca", seed=3)
    agr = af.agreement(c.matrix, clusters="architecture", **kw)
    dim = af.dimensionality(c.matrix, rules=["kaiser"], clusters="architecture", **kw)
    dec = af.decompose(t, levels=False, clusters="architecture", **kw)
    units = [None, "architecture"]
    plain = compare_units(t, matrix=c.matrix, units=units, **kw)
    given = compare_units(t, matrix=c.matrix, units=units, **kw,
                          reuse={"architecture": {"agreement": agr, "dimensionality": dim, "decomposition": dec}})
    pd.testing.assert_frame_equal(plain.frame, given.frame)
    other = af.agreement(c.matrix, clusters="architecture", **dict(kw, seed=4))  # another seed: not taken
    mixed = compare_units(t, matrix=c.matrix, units=units, **kw, reuse={"architecture": {"agreement": other}})
    pd.testing.assert_frame_equal(plain.frame, mixed.frame)
    k_only = af.dimensionality(c.matrix, rules=["kaiser"], clusters="architecture", eigen_intervals=False, **kw)
    no_ci = compare_units(t, matrix=c.matrix, units=units, **kw, reuse={"architecture": {"dimensionality": k_only}})
    pd.testing.assert_frame_equal(plain.frame, no_ci.frame)  # no eigenvalue intervals: recomputed
