"""The report's worker processes, started before anything heavy is imported.

Light on purpose (joblib only, imported when called): ``alignfactors report`` calls
:func:`prewarm` right after parsing its arguments, so the workers import numpy, scipy, pandas,
the analyses and matplotlib while this process does the same and then reads the input.
"""

from __future__ import annotations

import os
import sys

#: Warm-ups started ahead of :func:`alignfactors.reporting.run.run_analyses` by :func:`prewarm`
#: (n_jobs -> their generator).
_PREWARMED: dict = {}


def prewarm(n_jobs: int) -> None:
    """Start the report's worker processes now (e.g. before the input is read): they import the
    package meanwhile. ``run_analyses`` with the same ``n_jobs`` then uses them instead of
    starting its own warm-up. A no-op without workers, when already started, or for an n_jobs the
    report will reject (its validation then says why)."""
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0:
        return
    if n_jobs not in _PREWARMED:
        warm = warm_workers(n_jobs)
        if warm is not None:
            _PREWARMED[n_jobs] = warm


def warm_workers(n_jobs: int):
    """Start the worker processes at once: they import the package while this process loads and
    cleans the table and measures agreement (in threads). Returns the warm-up tasks' generator
    (consumed at the end; the first parallel step simply queues behind it); None without workers,
    or the one :func:`prewarm` started (taken: it is consumed by the caller)."""
    from joblib import Parallel, delayed, effective_n_jobs

    if n_jobs in _PREWARMED:
        return _PREWARMED.pop(n_jobs)
    if n_jobs == 1 or effective_n_jobs(n_jobs) <= 1:
        return None
    return Parallel(n_jobs=n_jobs, return_as="generator_unordered")(
        delayed(import_package)() for _ in range(effective_n_jobs(n_jobs)))


def import_package() -> int:
    """Import every module of the package (the analyses and their dependencies) and matplotlib,
    which the workers use to draw figures at the end; returns the process id."""
    import importlib

    import alignfactors

    for module in sorted(set(alignfactors._LAZY.values())):
        importlib.import_module(module, "alignfactors")
    importlib.import_module("alignfactors.reporting.figures")
    return os.getpid()


#: glibc malloc settings for the report's processes (bytes). numpy's temporaries of a few MB are
#: allocated and freed thousands of times; with glibc's defaults the freed top of the heap goes
#: back to the system and the next allocation faults its pages in again (about 850,000 page
#: faults and 1.2 s of system time in the simulated report; 150,000 with these). 32 MB is glibc's
#: largest mmap threshold. Memory is kept for reuse, not returned: the peak is unchanged.
MALLOC_SETTINGS = {"MALLOC_MMAP_THRESHOLD_": 32 * 2**20, "MALLOC_TRIM_THRESHOLD_": 2**30, "MALLOC_TOP_PAD_": 64 * 2**20}
_MALLOPT = {"MALLOC_TRIM_THRESHOLD_": -1, "MALLOC_TOP_PAD_": -2, "MALLOC_MMAP_THRESHOLD_": -3}  # M_* of malloc.h


def tune_allocator() -> bool:
    """Apply :data:`MALLOC_SETTINGS` to this process (``mallopt``) and, through the environment, to
    the worker processes started after it; a setting the user exported is kept. For the command
    line (it owns its process), not for a library call. Returns whether this process was tuned:
    False off Linux or without glibc, where nothing changes."""
    if not sys.platform.startswith("linux"):
        return False
    for name, value in MALLOC_SETTINGS.items():
        os.environ.setdefault(name, str(value))
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        applied = [libc.mallopt(_MALLOPT[name], int(os.environ[name])) == 1 for name in MALLOC_SETTINGS]
        return all(applied)
    except (OSError, AttributeError, ValueError):  # musl (no mallopt) or a setting that is not a number
        return False
