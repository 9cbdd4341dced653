"""``seetrain.timer``: time a section of code into the current run.

    with seetrain.timer("data_loading"):
        batch = next(loader)

    @seetrain.timer("eval")
    def evaluate(model): ...

Every timed call logs its duration in seconds as the metric ``time/<name>`` at the run's current
step (the last step the user logged; the step counter is neither read for the next ``log`` nor
moved, as with the system monitor). The run's metadata keeps a summary per name under
``timing``: ``{"count", "total", "mean", "min", "max", "p50", "p95"}`` (seconds; percentiles
from a uniform sample of at most 10,000 calls), written every few seconds and when the run
finishes; ``seetrain.timing_summary()`` returns it at any time.

Timers nest (each section logs its own key; an outer one includes the inner ones' time), the
same timer object can be entered from several threads or recursively, and without a run (before
``seetrain.init``, after ``finish``, ``mode="disabled"``) a timer only runs the code.
"""

from __future__ import annotations

import functools
import inspect
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from seetrain._sample import SortedReservoir

F = TypeVar("F", bound=Callable[..., Any])

SUMMARY_INTERVAL = 5.0   # seconds between metadata updates while the run is going
SAMPLE_SIZE = 10_000


class _Stats:
    """Every timed name's statistics for one run; written into the run's metadata."""

    def __init__(self, run: Any) -> None:
        self.run = run
        self.lock = threading.Lock()
        self.names: dict[str, tuple[SortedReservoir, list[float]]] = {}  # name -> (sample, [total, min, max])
        self.written_at = 0.0

    def add(self, name: str, seconds: float) -> bool:
        """Record one call; True when the metadata is due for a refresh."""
        with self.lock:
            entry = self.names.get(name)
            if entry is None:
                entry = self.names[name] = (SortedReservoir(SAMPLE_SIZE), [0.0, seconds, seconds])
            sample, agg = entry
            sample.add(seconds)
            agg[0] += seconds
            agg[1] = min(agg[1], seconds)
            agg[2] = max(agg[2], seconds)
            now = time.monotonic()
            due = now - self.written_at >= SUMMARY_INTERVAL
            if due:
                self.written_at = now
            return due

    def summary(self) -> dict[str, dict[str, float | int | None]]:
        with self.lock:
            out: dict[str, dict[str, float | int | None]] = {}
            for name, (sample, (total, low, high)) in self.names.items():
                out[name] = {"count": sample.seen, "total": total, "mean": total / sample.seen,
                             "min": low, "max": high, "p50": sample.percentile(0.5),
                             "p95": sample.percentile(0.95)}
            return out

    def write(self) -> None:
        try:
            self.run.set_metadata(timing=self.summary())
        except Exception:  # noqa: BLE001 - timing must never break the user's code
            pass


_by_run: dict[int, _Stats] = {}
_by_run_lock = threading.Lock()


def _stats_for(run: Any) -> _Stats:
    stats = _by_run.get(id(run))
    if stats is not None and stats.run is run:
        return stats
    with _by_run_lock:
        stats = _by_run.get(id(run))
        if stats is None or stats.run is not run:
            stats = _by_run[id(run)] = _Stats(run)

            def final(finished_run: Any) -> None:
                stats.write()
                with _by_run_lock:
                    if _by_run.get(id(finished_run)) is stats:
                        del _by_run[id(finished_run)]

            run.on_finish(final)
        return stats


def _target(run: Any) -> Any:
    if run is None:
        from seetrain._current_run import get_run

        run = get_run()
    if run is None or getattr(run, "finished", True) or getattr(run, "mode", None) == "disabled":
        return None
    return run


def _record(run: Any, name: str, seconds: float) -> None:
    try:
        run.log_side({f"time/{name}": seconds}, step=max(run.step - 1, 0))
        stats = _stats_for(run)
        if stats.add(name, seconds):
            stats.write()
    except Exception:  # noqa: BLE001 - timing must never break the user's code
        pass


class Timer:
    """What :func:`timer` returns: a context manager and a decorator. ``last`` is the duration
    of the most recent section this thread finished with it (seconds), even without a run."""

    def __init__(self, name: str, run: Any = None) -> None:
        self.name = str(name)
        self.run = run
        self._local = threading.local()

    @property
    def last(self) -> float | None:
        return getattr(self._local, "last", None)

    def __enter__(self) -> Timer:
        stack = getattr(self._local, "starts", None)
        if stack is None:
            stack = self._local.starts = []
        stack.append(time.perf_counter())
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self._done(self._local.starts.pop())

    def _done(self, start: float) -> None:
        seconds = time.perf_counter() - start
        self._local.last = seconds
        run = _target(self.run)
        if run is not None:
            _record(run, self.name, seconds)

    def __call__(self, func: F) -> F:
        # Each call keeps its own start time (not the per-thread stack): asyncio tasks of one
        # thread interleave their calls.
        if inspect.iscoroutinefunction(func):
            @functools.wraps(func)
            async def async_timed(*args: Any, **kwargs: Any) -> Any:
                start = time.perf_counter()
                try:
                    return await func(*args, **kwargs)
                finally:
                    self._done(start)

            return async_timed  # type: ignore[return-value]

        @functools.wraps(func)
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                self._done(start)

        return timed  # type: ignore[return-value]

    def __repr__(self) -> str:
        return f"<seetrain.timer {self.name!r}>"


def timer(name: str, run: Any = None) -> Timer:
    """Time a section: ``with seetrain.timer("data_loading"): ...`` or ``@seetrain.timer("eval")``.
    Logs ``time/<name>`` (seconds) into ``run`` or else the current run; see the module doc."""
    return Timer(name, run)


def timing_summary(run: Any = None) -> dict[str, dict[str, float | int | None]]:
    """``{name: {"count", "total", "mean", "min", "max", "p50", "p95"}}`` of ``run`` (default:
    the current run) so far; ``{}`` when nothing was timed."""
    target = _target(run) if run is None else run
    if target is None:
        return {}
    stats = _by_run.get(id(target))
    return stats.summary() if stats is not None and stats.run is target else {}
