"""The resampling engine: bootstrap over models for any vectorised statistic.

Every interval alignfactors reports comes from :func:`bootstrap`. An analysis is written
as a *statistic*: a callable that takes a float array ``weights`` of shape
``(B, n)`` -- how often each of the ``n`` models (rows) was drawn in each of ``B``
resamples -- and returns an array of shape ``(B, p)`` (``p`` numbers per resample,
NaN where undefined). The all-ones weight vector is the original data, a vector with
one zero is a jackknife replicate, so the same statistic gives the point estimate,
the bootstrap distribution and the BCa acceleration.

All draws are made up front from one ``numpy.random.Generator``; batches are then
evaluated (optionally in parallel through joblib), so results are bit-identical for
any ``n_jobs`` and any ``batch_size``.
"""

from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
from scipy import special
from threadpoolctl import threadpool_limits

from ._options import check_options
from ._progress import resample_bar
from .errors import DegenerateDataWarning, ParameterError, ParameterTypeError
from .estimate import Estimate

__all__ = [
    "bootstrap",
    "BootstrapResult",
    "weights_to_indices",
    "rowwise_statistic",
    "check_seed",
    "draw_indices",
    "check_n_boot_ci",
    "child_rng",
    "root_seed",
    "check_clusters",
    "NUMERICAL_ERRORS",
]

#: Exceptions that mean "this resample is numerically degenerate", caught by the engine and
#: turned into NaN (counted). Anything else -- ValueError, ParameterError, a bug -- propagates.
NUMERICAL_ERRORS: tuple[type[BaseException], ...] = (
    np.linalg.LinAlgError, FloatingPointError, ZeroDivisionError, OverflowError,
)

Statistic = Callable[[np.ndarray], np.ndarray]


def check_seed(seed: Any) -> np.random.Generator:
    """Return a Generator from None, an int, a SeedSequence or a Generator (never touches global state)."""
    if seed is None or isinstance(seed, (int, np.integer)):
        if isinstance(seed, bool) or (isinstance(seed, (int, np.integer)) and seed < 0):
            raise ParameterError(f"seed must be a non-negative integer, None or a numpy Generator; got {seed!r}.")
        return np.random.default_rng(seed)
    if isinstance(seed, (np.random.Generator, np.random.SeedSequence)):
        return np.random.default_rng(seed)
    raise ParameterTypeError(
        f"seed must be None, an int, a numpy.random.SeedSequence or a numpy.random.Generator; "
        f"got {type(seed).__name__}."
    )


def _stream_key(name: str) -> int:
    # zlib.crc32 is stable across Python runs and platforms (hash() is salted per process).
    import zlib

    return zlib.crc32(name.encode("utf-8"))


def root_seed(seed: Any) -> np.random.SeedSequence:
    """The root :class:`numpy.random.SeedSequence` of ``seed``, from which every named stream is derived.

    An int gives ``SeedSequence(seed)``, a SeedSequence is returned as is, None gives fresh
    entropy. A Generator stands for the SeedSequence it was made from
    (``seed.bit_generator.seed_seq``): its state is neither used nor advanced, so
    ``default_rng(5)`` and ``5`` give the same streams and results. (A Generator made from a raw
    bit-generator state has no SeedSequence; it is then drawn from once, for 128 bits.)

    Examples
    --------
    >>> root_seed(0).entropy
    0
    >>> root_seed(np.random.default_rng(7)).entropy
    7
    """
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, np.random.Generator):
        ss = getattr(seed.bit_generator, "seed_seq", None)
        if isinstance(ss, np.random.SeedSequence):
            return ss
        return np.random.SeedSequence([int(v) for v in seed.integers(0, 2**32, size=4, dtype=np.uint64)])
    check_seed(seed)  # validates None / int
    return np.random.SeedSequence(None if seed is None else int(seed))


def child_rng(seed: Any, name: str) -> np.random.Generator:
    """The independent random stream called ``name`` of ``seed``.

    One seed decides every draw of an analysis, but each purpose gets its own stream, so that
    drawing more of one thing never moves another: the bootstrap resamples use
    ``child_rng(seed, "resamples")``, parallel analysis ``"null"``, cross-validation
    ``"cv_folds"``, and so on. Adding a rule or changing ``n_iter`` then leaves every other
    quantity's interval unchanged.

    Parameters
    ----------
    seed : None, int, numpy.random.SeedSequence or numpy.random.Generator
        The root (see :func:`root_seed`). The stream is a function of the seed and the name
        only, not of the order of calls; a Generator counts as the SeedSequence it was made from.
    name : str
        Purpose of the stream. The child is ``SeedSequence(entropy, spawn_key + (crc32(name),))``.

    Returns
    -------
    numpy.random.Generator

    Examples
    --------
    >>> a = child_rng(0, "resamples").integers(100, size=3)
    >>> b = child_rng(0, "null").integers(100, size=3)
    >>> bool((a == child_rng(0, "resamples").integers(100, size=3)).all()), bool((a == b).all())
    (True, False)
    """
    if not isinstance(name, str) or not name:
        raise ParameterTypeError(f"name of a random stream must be a non-empty str; got {name!r}.")
    ss = root_seed(seed)
    child = np.random.SeedSequence(ss.entropy, spawn_key=tuple(ss.spawn_key) + (_stream_key(name),),
                                   pool_size=ss.pool_size)
    return np.random.default_rng(child)


def check_clusters(clusters: Any, n: int) -> np.ndarray | None:
    """Validate engine-level cluster codes: None or ints of length ``n`` using every code 0..G-1, G >= 2."""
    if clusters is None:
        return None
    codes = np.asarray(clusters)
    if codes.ndim != 1 or codes.shape[0] != n:
        raise ParameterError(
            f"clusters must be one integer code per model (length {n}); got shape {codes.shape}. "
            "Use alignfactors.families.resolve_clusters to turn labels into codes."
        )
    if not np.issubdtype(codes.dtype, np.integer):
        raise ParameterTypeError(
            f"clusters must hold integer codes 0..G-1; got dtype {codes.dtype}. "
            "Use alignfactors.families.resolve_clusters to turn labels into codes."
        )
    g = int(codes.max()) + 1 if n else 0
    if codes.min() < 0 or np.unique(codes).shape[0] != g:
        raise ParameterError(f"clusters codes must use every integer 0..G-1 (got values {np.unique(codes)[:10]}...).")
    if g < 2:
        raise ParameterError("clusters has a single cluster; a cluster bootstrap needs at least two.")
    return codes.astype(np.int64)


def draw_indices(n: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Row indices of ``n_boot`` resamples of ``n`` rows, shape ``(n_boot, n)``, drawn at once."""
    dtype = np.int32 if n < 2**31 else np.int64
    return rng.integers(0, n, size=(n_boot, n), dtype=dtype)


def _counts(idx: np.ndarray, n: int) -> np.ndarray:
    b = idx.shape[0]
    flat = (idx.astype(np.int64) + (np.arange(b, dtype=np.int64) * n)[:, None]).ravel()
    return np.bincount(flat, minlength=b * n).reshape(b, n).astype(float)


def weights_to_indices(weights: np.ndarray) -> np.ndarray:
    """Materialise one weight (count) vector as row indices, e.g. ``[2, 0, 1] -> [0, 0, 2]``."""
    w = np.asarray(weights)
    return np.repeat(np.arange(w.shape[0]), np.rint(w).astype(np.int64))


def rowwise_statistic(func: Callable[[Any], Any], data: Any) -> Statistic:
    """Wrap a function of a materialised resample into a statistic for :func:`bootstrap`.

    ``func(data_subset)`` must return a 1-d array-like (or scalar). ``data`` is an ndarray
    or a pandas object (rows taken with ``.iloc``). Use this for statistics with no
    vectorised form (factor analysis, Kendall's tau); it evaluates one resample at a time.
    """
    take = (lambda ix: data.iloc[ix]) if hasattr(data, "iloc") else (lambda ix: data[ix])

    def statistic(weights: np.ndarray) -> np.ndarray:
        out = []
        caught: list[warnings.WarningMessage] = []
        for w in np.atleast_2d(weights):
            with warnings.catch_warnings(record=True) as rec:
                warnings.simplefilter("always")
                try:
                    val = np.atleast_1d(np.asarray(func(take(weights_to_indices(w))), dtype=float))
                except NUMERICAL_ERRORS:
                    val = None
            caught.extend(rec)
            out.append(val)
        # One warning per kind for the whole batch instead of one per resample (never silenced);
        # the text says when it came from resampled data rather than the data themselves.
        full = weights.shape[0] == 1 and np.all(weights == 1)
        seen = set()
        for wm in caught:
            key = (wm.category, str(wm.message))
            if key not in seen:
                seen.add(key)
                text = str(wm.message) if full else f"on resampled data (bootstrap or jackknife): {wm.message}"
                warnings.warn(text, wm.category, stacklevel=2)
        width = next((len(v) for v in out if v is not None), 1)
        return np.vstack([v if v is not None else np.full(width, np.nan) for v in out])

    return statistic


@dataclass(frozen=True)
class BootstrapResult:
    """Output of :func:`bootstrap`.

    Attributes
    ----------
    value : ndarray, shape (p,)
        Statistic on the full data.
    distribution : ndarray, shape (n_boot, p)
        Bootstrap replicates, NaN where the statistic was undefined.
    estimates : tuple of Estimate
        One per component, with the interval of ``method`` (BCa falls back to percentile
        where it is undefined; each Estimate records what was used).
    n_undefined : ndarray, shape (p,)
        Resamples on which each component was undefined.
    unit, n_units : str, int
        The resampling unit (``"model"`` or ``"cluster"``/a family label) and how many there are.
    """

    value: np.ndarray
    distribution: np.ndarray = field(repr=False)
    estimates: tuple[Estimate, ...]
    n_undefined: np.ndarray
    n_boot: int
    level: float
    method: str
    seed: Any = None
    unit: str = "model"
    n_units: int | None = None

    def __getitem__(self, i: int) -> Estimate:
        return self.estimates[i]

    def to_frame(self) -> "pd.DataFrame":
        """Tidy frame, one row per component (``component`` 0..p-1 and the Estimate columns)."""
        from ._formatting import estimates_frame

        return estimates_frame(dict(enumerate(self.estimates)), name="component")

    def __len__(self) -> int:
        return len(self.estimates)


def check_n_boot_ci(n_boot: Any, ci: Any) -> None:
    """Validate ``n_boot`` and ``ci`` (kept for callers; the one validator is ``_options.check_options``)."""
    check_options(n_boot=n_boot, ci=ci)


def _validate(n: int, n_boot: int, ci: float, method: str, n_jobs: int, batch_size: int | None) -> None:
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ParameterError(f"n (number of models) must be a positive integer; got {n!r}.")
    check_options(n_boot=n_boot, ci=ci, ci_method=method, n_jobs=n_jobs, batch_size=batch_size)


def _evaluate(statistic: Statistic, weights: np.ndarray, noise: np.ndarray | None = None) -> np.ndarray:
    with np.errstate(all="ignore"):
        out = np.asarray(statistic(weights) if noise is None else statistic(weights, noise=noise), dtype=float)
    if out.ndim == 1:
        out = out[:, None]
    if out.ndim != 2 or out.shape[0] != weights.shape[0]:
        raise ParameterError(
            f"statistic must return an array of shape (B, p) for weights of shape {weights.shape}; "
            f"got shape {out.shape}."
        )
    return out


def _one_batch(statistic, idx, n, codes=None, noise=None, both=True):
    # with clusters, idx holds drawn cluster numbers; a model's weight is how often its cluster was drawn.
    w = _counts(idx, n) if codes is None else cluster_weights(idx, codes)
    if noise is None:
        return _evaluate(statistic, w)
    if not both:  # no component is recentred: only the perturbed statistic is needed
        return _evaluate(statistic, w, noise)
    # unperturbed, perturbed by +eps and by -eps (antithetic pair; see ``noise`` in bootstrap)
    return np.hstack([_evaluate(statistic, w), _evaluate(statistic, w, noise), _evaluate(statistic, w, -noise)])


def _noise_batches(scale, starts, batch_size, total, rng):
    """Per-batch noise ``scale * z`` (or None), drawn in resample order: independent of the batch size."""
    for s in starts:
        yield None if scale is None else rng.standard_normal((min(batch_size, total - s), *scale.shape)) * scale


def cluster_weights(idx: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Model weights ``(B, n)`` of cluster draws ``idx`` ``(B, G)``: each model gets its cluster's count."""
    # C order like the model bootstrap's weights, so a statistic sees the same memory layout.
    return np.ascontiguousarray(_counts(idx, int(codes.max()) + 1)[:, codes])


def _run_batches(statistic, idx, n, batch_size, n_jobs, progress, desc, out, codes=None, noise=None, nrng=None,
                 both=True):
    """Evaluate all resamples batch by batch into the preallocated ``out`` (n_boot, p)."""
    starts = list(range(0, idx.shape[0], batch_size))
    eps = _noise_batches(noise, starts, batch_size, idx.shape[0], nrng)
    if n_jobs == 1:
        with resample_bar(idx.shape[0], desc=desc, enabled=progress) as bar:  # counts resamples, not batches
            for s, e in zip(starts, eps):
                out[s : s + batch_size] = _one_batch(statistic, idx[s : s + batch_size], n, codes, e, both)
                bar.update(len(out[s : s + batch_size]))
        return out
    if getattr(statistic, "threads", False):  # numpy-bound and quick: threads, no worker start-up
        with _thread_pool(n_jobs) as pool, resample_bar(idx.shape[0], desc=desc, enabled=progress) as bar:
            futures = [pool.submit(_one_batch, statistic, idx[s : s + batch_size], n, codes, e, both)
                       for s, e in zip(starts, eps)]
            for s, fut in zip(starts, futures):
                out[s : s + batch_size] = fut.result()
                bar.update(len(out[s : s + batch_size]))
        return out
    # joblib's process workers already run BLAS with cpu_count // n_jobs threads.
    from joblib import Parallel, delayed

    groups = _task_groups(starts, n_jobs)
    tasks = ([(idx[s : s + batch_size], next(eps)) for s in g] for g in groups)
    results = Parallel(n_jobs=n_jobs, return_as="generator")(
        delayed(_batch_group)(statistic, chunks, n, codes, both) for chunks in tasks)
    with resample_bar(idx.shape[0], desc=desc, enabled=progress) as bar:
        for g, res in zip(groups, results):
            for s, r in zip(g, res):
                out[s : s + batch_size] = r
                bar.update(len(r))
    return out


def _thread_pool(n_jobs: int):
    """Threads for a statistic marked ``threads = True`` (its time is in numpy calls that release
    the GIL), with single-threaded BLAS inside: the parallelism is across batches, as with processes."""
    from concurrent.futures import ThreadPoolExecutor

    from joblib import effective_n_jobs

    return ThreadPoolExecutor(max_workers=effective_n_jobs(n_jobs))


def _task_groups(batches: list, n_jobs: int) -> list[list]:
    """Consecutive batches grouped into worker tasks: the statistic (with its data) is pickled once
    per task, not once per batch; about 4 tasks per worker keep the load balanced and the
    progress moving."""
    from joblib import effective_n_jobs

    per_task = max(1, -(-len(batches) // (4 * effective_n_jobs(n_jobs))))
    return [batches[i:i + per_task] for i in range(0, len(batches), per_task)]


def _batch_group(statistic, chunks, n, codes=None, both=True):
    """Several batches in one worker task: ``chunks`` is a list of (indices, noise)."""
    return [_one_batch(statistic, ix, n, codes, e, both) for ix, e in chunks]


def _jackknife_weights(rows: np.ndarray, n: int, codes: np.ndarray | None) -> np.ndarray:
    if codes is None:
        w = np.ones((len(rows), n))
        w[np.arange(len(rows)), rows] = 0.0
        return w
    return (codes[None, :] != rows[:, None]).astype(float)


def _jackknife_batch(statistic: Statistic, rows: np.ndarray, n: int, codes: np.ndarray | None) -> np.ndarray:
    return _evaluate(statistic, _jackknife_weights(rows, n, codes))


def _jackknife(statistic: Statistic, n: int, batch_size: int, codes: np.ndarray | None = None,
               progress: bool = False, n_jobs: int = 1) -> np.ndarray:
    """Leave-one-out replicates: one model at a time, or one whole cluster at a time (in
    parallel batches with ``n_jobs``; deterministic, so the result is the same for any n_jobs)."""
    units = n if codes is None else int(codes.max()) + 1
    batches = [np.arange(s, min(units, s + batch_size)) for s in range(0, units, batch_size)]
    outs = []
    with resample_bar(units, desc="jackknife (BCa)", enabled=progress, kind="jackknife") as bar:
        if n_jobs == 1:
            for rows in batches:
                outs.append(_jackknife_batch(statistic, rows, n, codes))
                bar.update(len(rows))
        elif getattr(statistic, "threads", False):
            with _thread_pool(n_jobs) as pool:
                for rows, res in zip(batches, [pool.submit(_jackknife_batch, statistic, rows, n, codes)
                                               for rows in batches]):
                    outs.append(res.result())
                    bar.update(len(rows))
        else:  # a few tasks per worker, each several batches (one pickling of the statistic per task)
            from joblib import Parallel, delayed

            groups = _task_groups(batches, n_jobs)
            results = Parallel(n_jobs=n_jobs, return_as="generator")(
                delayed(_jackknife_group)(statistic, g, n, codes) for g in groups)
            for g, res in zip(groups, results):
                outs.extend(res)
                bar.update(sum(len(rows) for rows in g))
    return np.vstack(outs)


def _jackknife_group(statistic, groups, n, codes):
    return [_jackknife_batch(statistic, rows, n, codes) for rows in groups]


def _quantiles(sorted_d: np.ndarray, m: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Linear-interpolation quantiles (numpy's default) of the first ``m[j]`` values of each sorted row
    of ``sorted_d`` (components x resamples)."""
    h = probs * np.maximum(m - 1, 0)
    lo = np.floor(h).astype(np.int64)
    hi = np.minimum(lo + 1, np.maximum(m - 1, 0))
    rows = np.arange(sorted_d.shape[0])
    a, b = sorted_d[rows, lo], sorted_d[rows, hi]
    return a + (b - a) * (h - lo)


def _intervals(theta_hat, dist, jack, level, method, chunk=512, n_threads=1):
    """Intervals of every component, vectorised over components (in chunks to bound memory;
    ``n_threads`` run the chunks at once: sorts and reductions release the GIL).

    Returns ``low``, ``high``, ``used`` (method per component), ``se`` and ``n_undefined``.
    """
    p = dist.shape[1]
    alpha = (1 - level) / 2
    z = special.ndtri(np.array([alpha, 1 - alpha]))[:, None]
    out = {"low": np.full(p, np.nan), "high": np.full(p, np.nan), "se": np.full(p, np.nan),
           "used": np.full(p, "none", dtype=object), "n_undef": np.zeros(p, dtype=np.int64)}
    a_all = np.full(p, np.nan)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if jack is not None:
            diff = jack.mean(axis=0) - jack
            denom = 6.0 * np.sum(diff**2, axis=0) ** 1.5
            # diff * diff**2, not diff**3: numpy's power with exponent 3 calls pow() (30x slower)
            a_all = np.where(denom > 0, np.sum(diff * diff**2, axis=0) / denom, np.nan)
            a_all[~np.all(np.isfinite(jack), axis=0)] = np.nan
        slices = [slice(c0, min(p, c0 + chunk)) for c0 in range(0, p, chunk)]
        args = (theta_hat, dist, jack, alpha, z, method, a_all, out)
        if n_threads > 1 and len(slices) > 1:
            with _thread_pool(n_threads) as pool:
                list(pool.map(lambda sl: _interval_chunk(sl, *args), slices))
        else:
            for sl in slices:
                _interval_chunk(sl, *args)
    return out["low"], out["high"], out["used"], out["se"], out["n_undef"]


def _interval_chunk(sl, theta_hat, dist, jack, alpha, z, method, a_all, out) -> None:
    """One chunk of :func:`_intervals`, written into ``out``'s slices ``sl``."""
    with np.errstate(all="ignore"):  # thread-local; the caller silences RuntimeWarnings
        # components x resamples: the sort and the reductions run along contiguous rows
        d = np.array(dist[:, sl].T, dtype=float, order="C")
        finite = np.isfinite(d)
        all_finite = bool(finite.all())
        if not all_finite:
            d[~finite] = np.nan
        m = finite.sum(axis=1)
        out["n_undef"][sl] = d.shape[1] - m
        th = theta_hat[sl]
        ok = (m >= 2) & np.isfinite(th)
        if d.size:
            if all_finite:  # np.std's passes in one product: the centred sum of squares by einsum
                c = d - d.mean(axis=1, keepdims=True)
                sd = np.sqrt(np.einsum("ij,ij->i", c, c) / max(d.shape[1] - 1, 1))  # m < 2: masked below
                del c
            else:
                sd = np.nanstd(d, axis=1, ddof=1)
            out["se"][sl] = np.where(m >= 2, sd, np.nan)
        probs = np.broadcast_to(np.array([[alpha], [1 - alpha]]), (2, d.shape[0])).copy()
        chunk_used = np.where(ok, "percentile", "none").astype(object)
        if method == "bca" and jack is not None:
            z0 = special.ndtri(np.sum(d < th[:, None], axis=1) / np.maximum(m, 1))
            a = a_all[sl]
            adj = z0 + (z0 + z) / (1 - a * (z0 + z))
            pb = special.ndtr(adj)
            good = ok & np.isfinite(z0) & np.isfinite(a) & np.all(np.isfinite(pb), axis=0)
            probs[:, good] = pb[:, good]
            chunk_used[good] = "bca"
        d.sort(axis=1)  # NaN last, as the quantiles over the first m values need
        q_low = _quantiles(d, m, probs[0])
        q_high = _quantiles(d, m, probs[1])
        out["low"][sl] = np.where(ok, q_low, np.nan)
        out["high"][sl] = np.where(ok, q_high, np.nan)
        out["used"][sl] = chunk_used


def bootstrap(
    statistic: Statistic,
    n: int,
    *,
    n_boot: int = 2000,
    ci: float = 0.95,
    method: str = "bca",
    seed: Any = None,
    n_jobs: int = 1,
    batch_size: int | None = None,
    progress: bool | None = None,
    keep_distribution: bool = True,
    dtype: Any = np.float64,
    stacklevel: int = 2,
    clusters: Any = None,
    unit: str | None = None,
    stream: str = "resamples",
    noise: np.ndarray | None = None,
    recentre: Any = True,
) -> BootstrapResult:
    """Bootstrap a vectorised statistic over ``n`` models (rows).

    Parameters
    ----------
    statistic : callable
        ``statistic(weights) -> ndarray (B, p)`` where ``weights`` has shape ``(B, n)`` and
        holds resampling counts (ones = the original data). Return NaN where undefined.
    n : int
        Number of models (rows) in the data.
    n_boot : int, default=2000
        Number of resamples; 0 gives point estimates without intervals.
    ci : float, default=0.95
        Confidence level.
    method : {"bca", "percentile"}, default="bca"
        Interval method. BCa (bias-corrected and accelerated, jackknife acceleration)
        falls back to the percentile interval, per component, where it is undefined
        (e.g. all replicates on one side of the estimate); the used method is recorded.
    seed : None, int, numpy.random.SeedSequence or numpy.random.Generator
        Decides every draw, through its stream ``child_rng(seed, stream)``. The same seed
        gives bit-identical results for any ``n_jobs`` and ``batch_size``.
    n_jobs : int, default=1
        Parallel batches through joblib (any joblib backend, e.g. dask, via
        ``joblib.parallel_backend``). Each batch runs with single-threaded BLAS: the
        parallelism is across batches.
    batch_size : int, optional
        Resamples evaluated at once (bounds memory). Default: the statistic's
        ``batch_size`` attribute if it has one, else 64. Results do not depend on it as long
        as the statistic treats each resample separately (stacked ``matmul``/``einsum``, not one
        2-d BLAS product across resamples, whose rounding depends on the batch shape).
    progress : bool, optional
        Show a tqdm progress bar; default: when ``n_boot * n >= 200_000`` and stderr is a terminal.
    keep_distribution : bool, default=True
        Keep each component's replicates in ``Estimate.distribution``.
    dtype : numpy dtype, default=float64
        Storage type of the bootstrap distribution. ``float32`` halves the memory of very
        wide statistics (e.g. every pair of 150 metrics over 10,000 resamples); intervals
        are then computed from values rounded to ~7 significant digits.
    stacklevel : int, default=2
        Passed to ``warnings.warn``; analyses calling the engine add their own frames so a
        warning points at the user's line.
    clusters : array of int, optional
        Cluster code ``0..G-1`` of each model (e.g. its family, from
        :func:`alignfactors.families.resolve_clusters`). A resample then draws ``G``
        clusters with replacement and takes all their models: each model's weight is the
        number of times its cluster was drawn, so the statistic receives count weights of
        shape ``(B, n)`` as before. The BCa acceleration comes from the leave-one-cluster-out
        jackknife. None (default): models are the resampling unit. Singleton clusters give
        exactly the model bootstrap (same draws for the same seed).
    unit : str, optional
        Name of the resampling unit recorded in each Estimate; default ``"model"``, or
        ``"cluster"`` with ``clusters``.
    stream : str, default="resamples"
        Name of the random stream of ``seed`` the resamples are drawn from
        (:func:`child_rng`); other draws of an analysis use other streams.
    noise : ndarray, shape (n, q), optional
        Standard errors of the data (``noise="errors"`` in the analyses): each resample also
        perturbs every value by its own error, ``eps = noise * z`` with ``z ~ N(0, 1)`` drawn
        from the stream ``child_rng(seed, "noise")``, so the resamples of models are the same
        with and without noise. The statistic is called as ``statistic(weights)`` and as
        ``statistic(weights, noise=eps)`` and ``statistic(weights, noise=-eps)`` (``eps`` of shape
        ``(B, n, q)``); the replicate is the unperturbed value plus half the antithetic
        difference, :math:`\theta^*(w) + [\theta(w, x + \varepsilon) - \theta(w, x - \varepsilon)]/2`.
        The difference keeps the first-order (linear in the errors) effect of score error and
        cancels the even-order one: perturbing scores that already hold their error attenuates
        correlations and eigenvalues by an amount that grows with the value itself, and a plain
        shift :math:`\theta(w, x + \varepsilon) - \theta(w)` would carry that attenuation, shrink
        the spread over models and could even narrow an interval. The added term has mean zero
        (``eps`` and ``-eps`` are equally likely) and, to first order, the variance that score error
        gives the statistic with the models fixed (the delta-method variance). With all errors
        zero the replicates are the noise-free ones, bit for bit. The point estimate and the
        jackknife use the data as they are. Read the result as conservative: with models as the
        resampling unit, the model bootstrap already carries score error as far as it varies the
        scores between models, so the two sources partly overlap.
    recentre : bool or array of bool, default=True
        With ``noise``: which components get the antithetic replicate above (one bool for all,
        or one per component of the statistic). A component that does not is the perturbed
        statistic :math:`\theta(w, x + \varepsilon)` itself, e.g. an integer k or a 0/1 flag
        that a shift would make fractional. When no component is recentred only the perturbed
        statistic is evaluated.

    Returns
    -------
    BootstrapResult

    Raises
    ------
    Any exception of the statistic other than a numerical failure (a bug surfaces).

    Warns
    -----
    DegenerateDataWarning
        When some resamples left a component undefined (they are counted in the result), and
        when a component is undefined (NaN) on the full data.

    Notes
    -----
    BCa: :math:`z_0 = \\Phi^{-1}(\\#\\{\\theta^*_b < \\hat\\theta\\}/B)`,
    :math:`a = \\sum (\\bar\\theta_{(\\cdot)} - \\theta_{(i)})^3 / (6 [\\sum (\\bar\\theta_{(\\cdot)} - \\theta_{(i)})^2]^{3/2})`,
    quantile levels :math:`\\Phi(z_0 + (z_0 + z_\\alpha)/(1 - a(z_0 + z_\\alpha)))`.

    References
    ----------
    .. [1] Efron, B. (1987). Better bootstrap confidence intervals. JASA 82(397), 171-185.
       https://doi.org/10.1080/01621459.1987.10478410
    .. [2] Efron, B. & Tibshirani, R. (1993). An Introduction to the Bootstrap. Chapman & Hall.

    Examples
    --------
    >>> import numpy as np
    >>> from alignfactors.resampling import bootstrap
    >>> x = np.arange(10.0)
    >>> res = bootstrap(lambda w: np.einsum("bn,n->b", w, x)[:, None] / w.sum(axis=1, keepdims=True), 10, n_boot=500, seed=0)
    >>> res[0].value
    4.5
    """
    _validate(n, n_boot, ci, method, n_jobs, batch_size)
    codes = check_clusters(clusters, n)
    n_units = n if codes is None else int(codes.max()) + 1
    unit = unit or ("model" if codes is None else "cluster")
    if noise is not None:
        noise = np.nan_to_num(np.asarray(noise, dtype=float), nan=0.0)
        if noise.ndim != 2 or noise.shape[0] != n or (noise < 0).any():
            raise ParameterError(f"noise must be an array (n={n}, q) of standard errors >= 0; got shape {noise.shape}.")
    # one root for both streams (a Generator is drawn from once, as without noise)
    root = root_seed(seed) if noise is not None else seed
    rng = child_rng(root, stream)
    bs = int(batch_size or getattr(statistic, "batch_size", None) or 64)
    theta_hat = _evaluate(statistic, np.ones((1, n)))[0]
    p = theta_hat.shape[0]
    undefined_full = np.flatnonzero(~np.isfinite(theta_hat))
    if undefined_full.size:
        warnings.warn(
            f"the statistic is undefined (NaN) on the full data for {undefined_full.size} of {p} components "
            f"(first: {undefined_full[:5].tolist()}); their estimates are NaN.",
            DegenerateDataWarning,
            stacklevel=stacklevel,
        )
    prov = dict(unit=unit, n_units=n_units)
    if n_boot == 0:
        est = tuple(Estimate(v, level=ci, method="none", **prov) for v in theta_hat)
        return BootstrapResult(theta_hat, np.empty((0, p)), est, np.zeros(p, int), 0, ci, "none", seed,
                               unit, n_units)
    if progress is None:
        progress = n_boot * n >= 200_000 and sys.stderr.isatty()
    idx = draw_indices(n_units, n_boot, rng)
    # Statistics are batches of small products: multithreaded BLAS only oversubscribes the
    # cores (10x slower on 2 cores); parallelism comes from n_jobs instead.
    centre = _recentre_mask(recentre, p) if noise is not None else None
    both = noise is not None and bool(centre.any())
    with threadpool_limits(limits=1, user_api="blas"):
        width = 3 * p if both else p
        dist = _run_batches(statistic, idx, n, bs, n_jobs, progress, "bootstrap", np.empty((n_boot, width), dtype=dtype),
                            codes, noise, child_rng(root, "noise") if noise is not None else None, both)
        if both:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                moved = dist[:, :p] + (dist[:, p:2 * p] - dist[:, 2 * p:]) / 2
                dist = np.where(centre, moved, dist[:, p:2 * p]).astype(dtype)
        del idx
        jack = _jackknife(statistic, n, bs, codes, progress, n_jobs) if method == "bca" and n_units > 1 else None
    n_threads = 1
    if getattr(statistic, "threads", False) and n_jobs != 1:
        from joblib import effective_n_jobs

        n_threads = effective_n_jobs(n_jobs)
    chunk = min(512, -(-dist.shape[1] // n_threads))
    low, high, used, se, n_undef = _intervals(theta_hat, dist, jack, ci, method, chunk=chunk, n_threads=n_threads)
    if np.any(n_undef > 0) and np.any(np.isfinite(theta_hat)):
        warnings.warn(
            f"the statistic was undefined on up to {int(n_undef.max())} of {n_boot} resamples "
            "(e.g. a constant column in a resample); they are excluded from the intervals and "
            "counted in Estimate.n_undefined.",
            DegenerateDataWarning,
            stacklevel=stacklevel,
        )
    ests = tuple(
        Estimate(theta_hat[j], (low[j], high[j]), se=se[j], level=ci, method=used[j], n_boot=n_boot,
                 n_undefined=int(n_undef[j]), distribution=dist[:, j] if keep_distribution else None, **prov)
        for j in range(p)
    )
    return BootstrapResult(theta_hat, dist, ests, n_undef, n_boot, ci, method, seed, unit, n_units)


def _recentre_mask(recentre: Any, p: int) -> np.ndarray:
    """``recentre`` of :func:`bootstrap` as a boolean mask over the ``p`` components."""
    mask = np.asarray(recentre)
    if mask.dtype != bool or mask.ndim > 1 or (mask.ndim == 1 and mask.shape[0] != p):
        raise ParameterError(f"recentre must be True, False or one bool per component of the statistic ({p}); "
                             f"got {recentre!r}.")
    return np.broadcast_to(mask, (p,))


def estimates_by_name(result: BootstrapResult, names: Sequence[str]) -> dict[str, Estimate]:
    """Label the estimates of ``result`` with ``names`` (same order as the statistic's output)."""
    if len(names) != len(result.estimates):
        raise ParameterError(f"got {len(names)} names for {len(result.estimates)} estimates.")
    return dict(zip(names, result.estimates))
