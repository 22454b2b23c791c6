"""Private: the options every analysis shares, validated once, and the provenance every result records.

Every public analysis takes, data first and keyword-only, ``n_boot, ci, ci_method, seed, n_jobs,
batch_size, progress, clusters, missing`` with the defaults of :data:`DEFAULTS` (``missing``'s
allowed values depend on the analysis). :func:`check_options` validates them before any work
(the pattern of scikit-learn's ``_parameter_constraints`` and scipy's ``_bootstrap_iv``);
:func:`provenance` is the one record of them every result stores.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from .errors import ParameterError, ParameterTypeError

#: Defaults shared by every analysis (``missing`` varies: each analysis states its own).
DEFAULTS = {"n_boot": 2000, "ci": 0.95, "ci_method": "bca", "seed": None, "n_jobs": 1,
            "batch_size": None, "progress": None, "clusters": None}

CI_METHODS = ("bca", "percentile")

def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def check_options(
    *,
    n_boot: Any = 2000,
    ci: Any = 0.95,
    ci_method: Any = "bca",
    seed: Any = None,
    n_jobs: Any = 1,
    batch_size: Any = None,
    progress: Any = None,
    missing: Any = None,
    allowed_missing: tuple = (),
    where: str = "",
) -> None:
    """Validate the shared options; raise one clear error naming the option, the value and what is allowed."""
    pre = f"{where}: " if where else ""
    if not _is_int(n_boot) or n_boot < 0:
        raise ParameterError(f"{pre}n_boot must be a non-negative integer; got {n_boot!r}.")
    if not isinstance(ci, (float, int, np.floating)) or isinstance(ci, bool) or not 0 < ci < 1:
        raise ParameterError(f"{pre}ci (confidence level) must be in (0, 1), e.g. 0.95; got {ci!r}.")
    if ci_method not in CI_METHODS:
        raise ParameterError(f"{pre}ci_method must be one of {CI_METHODS}; got {ci_method!r}.")
    if not (seed is None or _is_int(seed) or isinstance(seed, (np.random.Generator, np.random.SeedSequence))):
        raise ParameterTypeError(
            f"{pre}seed must be None, an int, a numpy.random.SeedSequence or a numpy.random.Generator; "
            f"got {type(seed).__name__}."
        )
    if _is_int(seed) and seed < 0:
        raise ParameterError(f"{pre}seed must be a non-negative integer; got {seed!r}.")
    if not _is_int(n_jobs) or n_jobs == 0:
        raise ParameterError(f"{pre}n_jobs must be a non-zero integer (-1 = all cores); got {n_jobs!r}.")
    if batch_size is not None and (not _is_int(batch_size) or batch_size < 1):
        raise ParameterError(f"{pre}batch_size must be a positive integer or None; got {batch_size!r}.")
    if progress is not None and not isinstance(progress, (bool, np.bool_)):
        raise ParameterTypeError(f"{pre}progress must be True, False or None (automatic); got {progress!r}.")
    if allowed_missing and missing not in allowed_missing:
        raise ParameterError(f"{pre}missing must be one of {tuple(allowed_missing)}; got {missing!r}.")


def seed_record(seed: Any) -> Any:
    """How a seed is written in provenance: an int as is, a SeedSequence by its entropy, else a description."""
    if seed is None or _is_int(seed):
        return None if seed is None else int(seed)
    if isinstance(seed, np.random.Generator):
        ss = getattr(seed.bit_generator, "seed_seq", None)
        if not isinstance(ss, np.random.SeedSequence):
            return "<Generator without a SeedSequence: not reproducible from this record; pass an int seed>"
        seed = ss
    if isinstance(seed, np.random.SeedSequence):
        if not seed.spawn_key and _is_int(seed.entropy):
            return int(seed.entropy)  # what the int seed would record: the same streams
        return {"entropy": int(seed.entropy) if _is_int(seed.entropy) else str(seed.entropy),
                "spawn_key": list(seed.spawn_key)}
    return f"<{type(seed).__name__}: not reproducible from this record; pass an int seed>"


def versions() -> dict:
    """Versions of alignfactors and the libraries its numbers depend on."""
    return dict(_versions())


@functools.lru_cache(maxsize=None)
def _versions() -> dict:
    # read once per process: importlib.metadata parses each package's METADATA (~13 ms for all)
    import importlib.metadata as md

    out = {}
    for pkg in ("alignfactors", "numpy", "scipy", "pandas", "scikit-learn", "statsmodels", "factor_analyzer"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:  # running from a source tree
            out[pkg] = None
    return out


def plain_float(matrix):
    """``matrix`` (a DataFrame) as float64 without its ``attrs``: pandas deep-copies ``attrs`` in every
    operation, and a cleaned matrix carries the model-name map (about 2 ms a copy on Brain-Score)."""
    import pandas as pd

    return pd.DataFrame(matrix.to_numpy(dtype=float), index=matrix.index, columns=matrix.columns)


def provenance(*, n_boot, ci, ci_method, seed, unit="model", n_units=None, n=None, missing=None,
               clusters=None, **extra) -> dict:
    """The one provenance record of a result: options, seed, resampling unit, counts and software versions."""
    rec = {
        "n_boot": int(n_boot), "ci": float(ci), "ci_method": ci_method, "seed": seed_record(seed),
        "missing": missing, "clusters": clusters_record(clusters), "unit": unit,
        "n_units": None if n_units is None else int(n_units), "n": None if n is None else int(n),
    }
    rec.update(extra)
    rec["versions"] = versions()
    return rec


def clusters_record(clusters: Any) -> Any:
    """How a ``clusters=`` argument is written in provenance (a Series by its number of families)."""
    if clusters is None or isinstance(clusters, str):
        return clusters
    try:
        return f"Series of {len(clusters)} models in {len(set(map(str, dict(clusters).values())))} families"
    except TypeError:
        return type(clusters).__name__


def unit_of(clusters: Any) -> str:
    """Name of the resampling unit a ``clusters=`` argument gives, as recorded in each Estimate."""
    if clusters is None or (isinstance(clusters, str) and clusters == "none"):
        return "model"
    if isinstance(clusters, str):
        return "architecture" if clusters == "architecture" else "family"
    return "cluster"


def subset_codes(codes: Any, keep: Any):
    """Cluster codes of the kept rows, renumbered 0..G'-1 (None stays None); at least two clusters must remain."""
    if codes is None:
        return None
    import pandas as pd

    from .errors import DataError

    sub = pd.factorize(np.asarray(codes)[np.asarray(keep)], sort=False)[0].astype(np.int64)
    if sub.size and sub.max() < 1:
        raise DataError("after dropping incomplete models a single family is left; a cluster bootstrap needs two.")
    return sub
