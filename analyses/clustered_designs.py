"""Simulated leaderboards whose models come in families, shared by calibration.py and recovery.py.

A leaderboard holds near-copies of one model (training seeds, checkpoints, repeated names). The
design here: model i of family g has latent scores

    z_i = sqrt(icc) * u_g + sqrt(1 - icc) * e_i,     u_g, e_i ~ N(0, Sigma) independent,

so every row is N(0, Sigma) (the population correlation between metrics is Sigma, whatever the
family sizes) and two models of one family correlate ``icc`` on every metric. Sigma = I is
clustered noise: no common factor, only family resemblance.

``FAMILY_SIZES`` holds the family size multisets of the cleaned 2025-05-07 Brain-Score matrix
(229 models), at both levels of :func:`alignfactors.families.model_families`; see
``family_sizes_from_export`` for the command that reproduces them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Family sizes (descending) of the 229 models of the cleaned 2025-05-07 matrix. Provenance:
#: ``family_sizes_from_export("../shared/data/brainscore_vision_leaderboard_2025-05-07.csv", level)``
#: with the engine's model_families rules of 2026-12-01 (tests/test_recovery_designs.py rechecks them).
FAMILY_SIZES: dict[str, tuple[int, ...]] = {
    "variant": (18, 10) + (2,) * 22 + (1,) * 157,  # 181 families
    "architecture": (66, 29, 28, 28, 21, 14, 13, 6, 5, 5, 4, 4, 1, 1, 1, 1, 1, 1),  # 18 families
}


def family_sizes_from_export(path: str, level: str) -> tuple[int, ...]:
    """Family sizes (descending) of the cleaned matrix of a Brain-Score export at ``level``."""
    import alignfactors as af

    table = af.load_brainscore(path)
    matrix = af.clean(table).matrix
    fam = af.model_families(table, level=level).reindex(matrix.index)
    return tuple(int(v) for v in fam.value_counts().sort_values(ascending=False))


def family_codes(sizes) -> np.ndarray:
    """Cluster code of each model, families in the order of ``sizes``."""
    return np.repeat(np.arange(len(sizes)), sizes)


def simulate(sizes, sigma: np.ndarray, icc: float, rng: np.random.Generator):
    """One leaderboard: (models x metrics DataFrame, Series model_id -> family)."""
    sizes = np.asarray(sizes, dtype=int)
    codes = family_codes(sizes)
    p = sigma.shape[0]
    chol = np.linalg.cholesky(sigma)
    u = rng.standard_normal((len(sizes), p)) @ chol.T
    e = rng.standard_normal((len(codes), p)) @ chol.T
    z = np.sqrt(icc) * u[codes] + np.sqrt(1.0 - icc) * e
    idx = pd.Index([f"model{i:03d}" for i in range(len(codes))], name="model_id")
    return (pd.DataFrame(z, index=idx, columns=[f"metric{j:02d}" for j in range(p)]),
            pd.Series(codes, index=idx, name="family"))


def spearman_from_pearson(rho):
    """Population Spearman correlation of a bivariate normal with Pearson correlation ``rho`` (Kruskal 1958)."""
    return 6.0 / np.pi * np.arcsin(np.asarray(rho) / 2.0)
