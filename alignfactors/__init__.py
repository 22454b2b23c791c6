"""alignfactors: do model-brain alignment metrics measure the same thing?

Load a leaderboard, clean it, and measure agreement, dimensionality, variance decomposition
and aggregation fairness, with a bootstrap interval for every number.

>>> import alignfactors as af
>>> table = af.datasets.simulate_leaderboard(seed=0)      # doctest: +SKIP
>>> cleaned = af.clean(table)                              # doctest: +SKIP
>>> af.agreement(cleaned.matrix, groups=cleaned.domains, n_boot=2000, seed=0)  # doctest: +SKIP
"""

from importlib import import_module as _import_module

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
from .tree import BenchmarkTree, TreeCheck, infer_tree
from .table import ScoreTable
from .loading import load_brainscore, load_table
from .cleaning import Cleaned, clean
from .agreement import Agreement, agreement

__version__ = "0.1.0"

__all__ = [
    "AlignFactorsError", "AlignFactorsWarning", "ConvergenceWarning", "DataError", "DegenerateDataWarning",
    "InputFileError", "NotFittedError", "ParameterError", "ParameterTypeError", "SmoothingWarning", "TreeError",
    "Estimate", "BootstrapResult", "bootstrap", "BenchmarkTree", "TreeCheck", "infer_tree", "ScoreTable",
    "load_brainscore", "load_table", "Cleaned", "clean", "Agreement", "agreement", "__version__",
]

# Analyses land module by module; export each public name once its module exists.
_OPTIONAL = {
    "dimensions": ["Dimensionality", "dimensionality"],
    "factors": ["FactorModel", "kmo", "bartlett_sphericity", "bootstrap_loadings"],
    "aggregation": ["aggregate", "rank_models", "AGGREGATION_METHODS"],
    "decomposition": ["Decomposition", "decompose"],
    "comparison": ["AggregationComparison", "compare_aggregations"],
    "datasets": [],
    "report": ["report"],
}
for _mod, _names in _OPTIONAL.items():
    try:
        _m = _import_module(f".{_mod}", __name__)
    except ModuleNotFoundError as _e:  # pragma: no cover - only while a module is absent
        if _e.name != f"{__name__}.{_mod}":
            raise
        continue
    globals()[_mod] = _m
    for _n in _names:
        if hasattr(_m, _n):
            globals()[_n] = getattr(_m, _n)
            __all__.append(_n)
