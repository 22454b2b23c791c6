"""Progress on stderr: one bar over a whole run, inner bars that count resamples.

On a terminal, tqdm draws the bars (the outer one weighted by each step's measured cost, the
inner one counting resamples) and a heartbeat thread redraws them every second, so the elapsed
time moves during every pause. When stderr is not a terminal (a log file, ``| cat``, CI) the same
information is written as plain lines without any escape code or carriage return: one line when a
step starts, and while it runs at most one line every :data:`LINE_INTERVAL` seconds (resamples
done, or "still running" when there is nothing to count), so no pause longer than that is silent.

Written by hand rather than with tqdm alone because tqdm has no plain-line mode for a
non-terminal (it writes ``\\r`` and, for nested bars, cursor-up escapes).
"""

from __future__ import annotations

import sys
import threading
import time
from contextlib import contextmanager
from typing import IO, Mapping

__all__ = ["StepProgress", "resample_bar", "current", "LINE_INTERVAL", "is_terminal"]

#: Seconds between two plain progress lines (non-terminal) and the longest silent pause.
LINE_INTERVAL = 2.0
#: Seconds between two redraws of the terminal bars by the heartbeat.
REDRAW_INTERVAL = 1.0

_current: "StepProgress | None" = None
_lock = threading.RLock()


def is_terminal(file: IO | None) -> bool:
    """``file`` is an interactive terminal (tqdm's escape codes are safe there)."""
    try:
        return bool(file is not None and file.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def current() -> "StepProgress | None":
    """The run-wide progress opened by :class:`StepProgress`, if one is active."""
    return _current


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 60}:{s % 60:02d}" if s >= 60 else f"{s} s"


class StepProgress:
    """One bar over a sequence of named steps, each weighted by its expected cost.

    Parameters
    ----------
    costs : mapping of str to float
        Step name -> expected cost (e.g. seconds); the bar advances by a step's share of the
        total when the step ends, and within a step by the fraction of its resamples done.
        A step not listed costs ``default_cost``.
    enabled : bool
        False: print nothing (``--quiet``).
    title : str
        Prefix of every line.
    file : file object, default sys.stderr
    default_cost : float
    bars : mapping of str to int, optional
        Step name -> how many bootstrap bars it runs (default 1); see :meth:`sub`.
    boot_share : mapping of str to float, optional
        Step name -> share of its cost in its bootstrap resamples (the rest: jackknife and fits).

    ``step(name)`` ends the running step and starts ``name``; ``update()`` ends the running step;
    ``close()`` ends the last one. ``set_postfix_str(name)`` is ``step(name)``, so code written
    for a tqdm bar of steps keeps working. Used as a context manager it becomes the run-wide
    progress (:func:`current`) that inner :func:`resample_bar` s report to; nested use reuses
    the outer one (the outer bar keeps the whole run). Without a context manager, call
    :meth:`start` and :meth:`close`.
    """

    def __init__(self, costs: Mapping[str, float], *, enabled: bool = True, title: str = "alignfactors",
                 file: IO | None = None, default_cost: float = 1.0, bars: Mapping[str, int] | None = None,
                 boot_share: Mapping[str, float] | None = None):
        self.costs = {str(k): float(v) for k, v in costs.items()}
        self.enabled = bool(enabled)
        self.title = title
        self.file = sys.stderr if file is None else file
        self.default_cost = float(default_cost)
        self.bars = dict(bars or {})
        self.n_bars: dict[str, int] = {}
        self.boot_share = dict(boot_share or {})
        self.status = ""           # of the running step's resample bar, for the heartbeat
        self.terminal = is_terminal(self.file)
        self.total = sum(self.costs.values()) or 1.0
        self.done = 0.0            # cost of the finished steps
        self.name: str | None = None
        self.fraction = 0.0        # of the running step, from its resample bars
        self.started = time.monotonic()
        self.step_started = self.started
        self.last_line = self.started  # a heartbeat line after LINE_INTERVAL of silence, not at once
        self.owner = True
        self.durations: dict[str, float] = {}       # wall seconds per step
        self.cpu_durations: dict[str, float] = {}   # CPU seconds of this process per step
        self.step_cpu = time.process_time()
        self._bar = None
        self._stop = threading.Event()
        self._thread = None
        self._closed = False
        self._nested = False
        self._shown = 0.0

    # -- context: the run-wide progress ---------------------------------------------------------
    def start(self) -> "StepProgress":
        """Become the run-wide progress (:func:`current`) and start drawing; if one is already
        running, return a handle to it instead (the outer bar keeps the whole run)."""
        global _current
        with _lock:
            if _current is not None:
                self._nested = True
                return _current.proxy()
            _current = self
        self._open()
        return self

    def __enter__(self) -> "StepProgress":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close(ok=exc[0] is None)

    def proxy(self) -> "StepProgress":
        """A handle whose ``close()`` does nothing: for code that would close its own bar."""
        outer = self

        class _Proxy:
            def __getattr__(self, attr):
                return getattr(outer, attr)

            def close(self, ok: bool = True) -> None:
                outer._end_step()

        return _Proxy()  # type: ignore[return-value]

    # -- drawing --------------------------------------------------------------------------------
    def _open(self) -> None:
        if not self.enabled:
            return
        if self.terminal:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=100, file=self.file, position=0, leave=True, desc=self.title,
                             bar_format="{desc}: {percentage:3.0f}% |{bar}| {elapsed}<{remaining}{postfix}")
        self._thread = threading.Thread(target=self._heartbeat, name="alignfactors-progress", daemon=True)
        self._thread.start()

    def _heartbeat(self) -> None:
        interval = REDRAW_INTERVAL if self.terminal else min(0.25, LINE_INTERVAL / 2)
        while not self._stop.wait(interval):
            with _lock:
                if self._closed:
                    return
                if self.terminal:
                    self._draw()
                elif time.monotonic() - self.last_line >= LINE_INTERVAL:
                    what = ": " + ", ".join(x for x in (self.name, self.status) if x) if self.name or self.status else ""
                    self._line(f"still running{what} ({_clock(time.monotonic() - self.step_started)})")

    def percent(self) -> float:
        """Share of the run's expected cost done, in percent."""
        running = self.costs.get(self.name, self.default_cost) * self.fraction if self.name else 0.0
        # never back, even when a step that was not expected adds to the total
        self._shown = max(self._shown, min(100.0, 100.0 * (self.done + running) / self.total))
        return self._shown

    def _draw(self) -> None:
        if self._bar is not None:
            self._bar.n = round(self.percent(), 1)
            self._bar.set_postfix_str(self.name or "", refresh=False)
            self._bar.refresh()

    def _line(self, text: str) -> None:
        elapsed = _clock(time.monotonic() - self.started)
        print(f"{self.title}: [{self.percent():3.0f}% at {elapsed}] {text}", file=self.file, flush=True)
        self.last_line = time.monotonic()

    def write(self, text: str) -> None:
        """A line that does not break the bars."""
        with _lock:
            if not self.enabled:
                return
            if self._bar is not None:
                self._bar.write(text, file=self.file)
            else:
                print(text, file=self.file, flush=True)
                self.last_line = time.monotonic()

    # -- steps ----------------------------------------------------------------------------------
    def _end_step(self) -> None:
        if self.name is None:
            return
        self.durations[self.name] = self.durations.get(self.name, 0.0) + time.monotonic() - self.step_started
        self.cpu_durations[self.name] = self.cpu_durations.get(self.name, 0.0) + time.process_time() - self.step_cpu
        self.done += self.costs.get(self.name, self.default_cost)
        self.name, self.fraction, self.n_bars, self.status = None, 0.0, {}, ""

    def step(self, name: str) -> None:
        """End the running step and start ``name``."""
        with _lock:
            self._end_step()
            if name not in self.costs:
                self.costs[name] = self.default_cost if name != "done" else 0.0
                self.total += self.costs[name]
            self.name, self.fraction, self.n_bars, self.status = name, 0.0, {}, ""
            self.step_started, self.step_cpu = time.monotonic(), time.process_time()
            if not self.enabled or name == "done":
                return
            if self.terminal:
                self._draw()
            else:
                self._line(name)

    set_postfix_str = step

    def update(self, n: int = 1) -> None:
        """End the running step (tqdm's name, for a bar of steps)."""
        with _lock:
            self._end_step()
            if self.enabled and self.terminal:
                self._draw()

    def set_costs(self, costs: Mapping[str, float], boot_share: Mapping[str, float] | None = None) -> None:
        """Re-weight steps once the data's shape is known (finished steps keep their cost)."""
        with _lock:
            for name, cost in costs.items():
                if name in self.durations or name == self.name:
                    continue
                self.total += float(cost) - self.costs.get(name, 0.0)
                self.costs[name] = float(cost)
            self.boot_share.update(boot_share or {})

    def begin_bar(self, kind: str = "bootstrap") -> int:
        """A resample bar of ``kind`` starts in the running step; returns its index among that kind."""
        with _lock:
            self.n_bars[kind] = self.n_bars.get(kind, 0) + 1
            return self.n_bars[kind] - 1

    def sub(self, index: int, fraction: float, kind: str = "bootstrap") -> None:
        """Resample bar ``index`` of ``kind`` in the running step is ``fraction`` done.

        A step runs E bootstraps (:attr:`bars`, default 1), each followed by its jackknife (BCa);
        bootstrap k and its jackknife cover the k-th E-th of the step: the bootstrap the first
        ``s`` of it, the jackknife the rest, where ``s`` = :attr:`boot_share` of the step (its
        per-resample share of the cost; default 1). A jackknife belongs to the bootstrap that ran
        last. The step's fraction never goes back.
        """
        s = self.boot_share.get(self.name, 1.0)
        e = max(self.bars.get(self.name, 1), 1)
        f = min(max(float(fraction), 0.0), 1.0)
        if kind == "bootstrap":
            k, within = index, s * f
        else:
            k, within = max(self.n_bars.get("bootstrap", 1) - 1, 0), s + (1 - s) * f
        x = (min(k, e - 1) + within) / e
        self.fraction = max(self.fraction, min(x, 1.0))

    def close(self, ok: bool = True) -> None:
        """End the last step, stop the heartbeat and print the final state."""
        global _current
        with _lock:
            if self._closed or self._nested:
                return
            self._end_step()
            self._closed = True
            if _current is self:
                _current = None
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if not self.enabled:
            return
        elapsed = _clock(time.monotonic() - self.started)
        if self._bar is not None:
            if ok:
                self._bar.n = 100
                self._bar.set_postfix_str("done", refresh=False)
            self._bar.close()
        elif ok:
            self._line("done")


class _Lines:
    """Plain-line counter of resamples for a non-terminal."""

    def __init__(self, total: int, desc: str, file, outer: StepProgress | None, unit: str = "resamples"):
        self.total, self.desc, self.file, self.outer, self.unit = total, desc, file, outer, unit
        self.n = 0
        self.started = time.monotonic()
        self.last = self.started

    def update(self, k: int) -> None:
        self.n += k
        now = time.monotonic()
        last = self.outer.last_line if self.outer is not None else self.last
        if now - last >= LINE_INTERVAL and self.n < self.total:
            self._print(f"{self.desc}: {self.n}/{self.total} {self.unit} ({_clock(now - self.started)})")

    def _print(self, text: str) -> None:
        with _lock:
            if self.outer is not None:
                self.outer._line(f"{self.outer.name}: {text}" if self.outer.name else text)
            else:
                print(f"{text}", file=self.file, flush=True)
            self.last = time.monotonic()

    def close(self) -> None:
        pass


@contextmanager
def resample_bar(total: int, *, desc: str = "bootstrap", enabled: bool = True, file: IO | None = None,
                 kind: str = "bootstrap"):
    """A progress counter of ``total`` resamples; ``update(k)`` after each batch of ``k``.

    ``kind`` is "bootstrap" or "jackknife" (leave-one-out replicates of BCa).

    Inside a :class:`StepProgress` run it also advances the run's bar within the running step.
    """
    unit = "resamples" if kind == "bootstrap" else "left out"
    outer = current()
    index = outer.begin_bar(kind) if outer is not None else 0
    file = sys.stderr if file is None else file
    if outer is not None and not outer.enabled:
        enabled = False
    if not enabled or total <= 0:
        bar = None
    elif is_terminal(file):
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc=desc, unit=unit.rstrip("s"), leave=False, file=file,
                   position=1 if outer is not None else None, dynamic_ncols=True)
    else:
        bar = _Lines(total, desc, file, outer, unit)

    class _Counter:
        n = 0

        def update(self, k: int) -> None:
            self.n += k
            if outer is not None:
                outer.sub(index, self.n / total, kind)
                outer.status = f"{desc} {self.n}/{total} {unit}"
            if bar is not None:
                with _lock:
                    bar.update(k)

    try:
        yield _Counter()
    finally:
        if bar is not None:
            with _lock:
                bar.close()
