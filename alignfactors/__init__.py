"""alignfactors: do model-brain alignment metrics measure the same thing?

Load a leaderboard, clean it, and measure agreement, dimensionality, variance decomposition
and aggregation fairness, with a bootstrap interval for every number.

Examples
--------
>>> import alignfactors as af
>>> table = af.datasets.simulate_leaderboard(n_models=120, seed=0)
>>> cleaned = af.clean(table)
>>> res = af.agreement(cleaned.matrix, groups=cleaned.domains, n_boot=200, seed=0)
>>> sorted(res.blocks)
['behavioral-behavioral', 'neural-behavioral', 'neural-neural']
"""

import importlib
import sys
import types

from .errors import (
    AlignFactorsError,
    AlignFactorsWarning,
    ConvergenceWarning,
    DataError,
    DegenerateDataWarning,
    InputFileError,
    NotFittedError,
    ParameterError,
    ParameterTypeError,
    SmoothingWarning,
    TreeError,
)

# Public names -> the module that defines them, imported on first use (PEP 562): ``alignfactors
# report`` starts its worker processes before numpy, scipy and pandas are imported, and a light
# command (``--help``) imports none of them.
_LAZY = {
    "Estimate": ".estimate", "BootstrapResult": ".resampling", "bootstrap": ".resampling",
    "cor_smooth": ".correlation", "BenchmarkTree": ".io.tree", "TreeCheck": ".io.tree_inference",
    "infer_tree": ".io.tree_inference", "ScoreTable": ".io.table", "load_brainscore": ".io.loading",
    "load_table": ".io.loading", "AggregateDetection": ".io.aggregates", "AggregateFit": ".io.aggregates",
    "detect_aggregates": ".io.aggregates", "Cleaned": ".cleaning", "clean": ".cleaning",
    "Agreement": ".agreement", "agreement": ".agreement", "Dimensionality": ".dimensions",
    "dimensionality": ".dimensions", "FactorModel": ".factors", "FitIndices": ".factors",
    "BartlettResult": ".adequacy", "FactorFitTable": ".adequacy", "KMOResult": ".adequacy",
    "bartlett_sphericity": ".adequacy", "factor_fit_table": ".adequacy", "kmo": ".adequacy",
    "LoadingsBootstrap": ".factor_bootstrap", "bootstrap_loadings": ".factor_bootstrap",
    "AGGREGATION_METHODS": ".aggregation", "MISSING_POLICIES": ".aggregation", "aggregate": ".aggregation",
    "rank_models": ".aggregation", "Decomposition": ".decomposition", "decompose": ".decomposition",
    "AggregationComparison": ".comparison", "compare_aggregations": ".comparison",
    "Reliability": ".reliability", "reliability": ".reliability", "Disattenuated": ".attenuation",
    "disattenuate": ".attenuation", "Trend": ".trend", "trend": ".trend", "datasets": ".io.datasets",
    "report": ".reporting.run", "DesignEffect": ".families", "design_effect": ".families",
    "model_families": ".families", "RankUncertainty": ".rank_uncertainty", "rank_uncertainty": ".rank_uncertainty",
    "SourceAgreement": ".sources", "benchmark_sources": ".sources", "extreme_pairs": ".sources",
    "source_agreement": ".sources", "source_matrix": ".sources",
}
#: Public functions named like the submodule that defines them: ``alignfactors.agreement`` stays
#: the function when the submodule is imported (as it was when this file imported everything).
_SHADOWED = frozenset(n for n, m in _LAZY.items() if m == "." + n)


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    mod = importlib.import_module(module, __name__)
    value = mod if name == "datasets" else getattr(mod, name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


class _Package(types.ModuleType):
    def __setattr__(self, name, value):
        # the import system sets a loaded submodule as an attribute of its package: not over a function
        if name in _SHADOWED and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

__version__ = "0.1.0"

__all__ = [
    "AlignFactorsError", "AlignFactorsWarning", "ConvergenceWarning", "DataError", "DegenerateDataWarning",
    "InputFileError", "NotFittedError", "ParameterError", "ParameterTypeError", "SmoothingWarning", "TreeError",
    "Estimate", "BootstrapResult", "bootstrap", "cor_smooth",
    "BenchmarkTree", "TreeCheck", "infer_tree", "ScoreTable", "load_brainscore", "load_table",
    "AggregateDetection", "AggregateFit", "detect_aggregates",
    "Cleaned", "clean", "Agreement", "agreement", "Dimensionality", "dimensionality",
    "FactorModel", "FitIndices", "KMOResult", "BartlettResult", "LoadingsBootstrap", "kmo", "bartlett_sphericity",
    "bootstrap_loadings", "factor_fit_table", "FactorFitTable", "AGGREGATION_METHODS", "MISSING_POLICIES", "aggregate", "rank_models",
    "Decomposition", "decompose", "AggregationComparison", "compare_aggregations", "datasets", "report",
    "Trend", "trend", "__version__",
    "model_families", "design_effect", "DesignEffect",
    "RankUncertainty", "rank_uncertainty",
    "SourceAgreement", "benchmark_sources", "extreme_pairs", "source_agreement", "source_matrix",
    "Reliability", "Disattenuated", "reliability", "disattenuate",
]
