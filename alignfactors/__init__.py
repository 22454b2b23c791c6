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
from .estimate import Estimate
from .resampling import BootstrapResult, bootstrap
from .correlation import cor_smooth
from .io.tree import BenchmarkTree
from .io.tree_inference import TreeCheck, infer_tree
from .io.table import ScoreTable
from .io.loading import load_brainscore, load_table
from .io.aggregates import AggregateDetection, AggregateFit, detect_aggregates
from .cleaning import Cleaned, clean
from .agreement import Agreement, agreement
from .dimensions import Dimensionality, dimensionality
from .factors import FactorModel, FitIndices
from .adequacy import BartlettResult, FactorFitTable, KMOResult, bartlett_sphericity, factor_fit_table, kmo
from .factor_bootstrap import LoadingsBootstrap, bootstrap_loadings
from .aggregation import AGGREGATION_METHODS, MISSING_POLICIES, aggregate, rank_models
from .decomposition import Decomposition, decompose
from .comparison import AggregationComparison, compare_aggregations
from .reliability import Reliability, reliability
from .attenuation import Disattenuated, disattenuate
from .trend import Trend, trend
from .io import datasets
from .reporting.run import report
from .families import DesignEffect, design_effect, model_families
from .rank_uncertainty import RankUncertainty, rank_uncertainty
from .sources import SourceAgreement, benchmark_sources, extreme_pairs, source_agreement, source_matrix

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
