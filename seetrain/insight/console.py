"""Console capture: what the script prints, stored with the run line by line.

``sys.stdout`` and ``sys.stderr`` are replaced by tees (proxies, so ``isatty``, ``fileno``,
``encoding`` and even ``isinstance`` behave as before) that write to the original
stream first and then hand complete lines to every run capturing the console. Python logging
records are captured too: a record that a handler prints to stdout/stderr is stored as the
printed line (through the tee, or formatted by that handler when it was set up before the capture
and holds the real stream); one that no handler prints to the terminal (say, only a file
handler) is stored as stream ``logging``.

Limits, said plainly: only Python-level writes are seen. Output written straight to file
descriptor 1 or 2 by C extensions, by ``os.write`` or by child processes does not pass through
``sys.stdout`` and is not stored (it is still printed). Carriage-return progress bars (tqdm)
keep only the final state of a line. Each run stores at most ``SEETRAIN_CONSOLE_MAX_LINES``
lines and ``SEETRAIN_CONSOLE_MAX_BYTES`` bytes; what is beyond is counted and a notice says so.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from typing import Any

from seetrain._settings import default, setting

log = logging.getLogger("seetrain.console")

DEFAULT_MAX_LINES = default("SEETRAIN_CONSOLE_MAX_LINES")
DEFAULT_MAX_BYTES = default("SEETRAIN_CONSOLE_MAX_BYTES")
MAX_LINE_CHARS = 16_384
STREAMS = ("stdout", "stderr")


class _Sink:
    """One run's share of the console, with its own size budget."""

    def __init__(self, run: Any, max_lines: int, max_bytes: int) -> None:
        self.run = run
        self.max_lines = max_lines
        self.max_bytes = max_bytes
        self.lines = 0
        self.bytes = 0
        self.dropped_lines = 0
        self.dropped_bytes = 0
        self.queue_full = 0

    def emit(self, stream: str, line: str, ts: float) -> None:
        size = len(line.encode("utf-8", "replace"))
        if self.lines >= self.max_lines or self.bytes + size > self.max_bytes:
            if self.dropped_lines == self.queue_full:  # the first line over the size limit
                self.run.log_console("stderr", f"[seetrain] console capture limit reached "
                                               f"({self.max_lines} lines / {self.max_bytes} bytes); "
                                               f"later lines are counted, not stored", ts)
            self.dropped_lines += 1
            self.dropped_bytes += size
            return
        self.lines += 1
        self.bytes += size
        self.run.log_console(stream, line, ts)

    def close(self) -> None:
        stats = self.run.stats
        stats["console_lines"] += self.lines
        if self.dropped_lines:
            stats["console_dropped_lines"] += self.dropped_lines
            self.run.log_console("stderr", f"[seetrain] {self.dropped_lines} console lines "
                                           f"({self.dropped_bytes} bytes) were not stored: capture limit"
                                           + (f" ({self.queue_full} while the write queue was full)"
                                              if self.queue_full else ""))


class _Tee:
    """Stands in for sys.stdout / sys.stderr while at least one run captures the console.

    Everything but ``write``/``writelines`` is forwarded to the real stream, and ``__class__``
    reports the real stream's class so ``isinstance`` checks keep passing. (A hand-written proxy
    rather than ``wrapt.ObjectProxy``: importing wrapt 2 pulls in asyncio, ~20-40 ms on every
    first ``init``, for the two methods needed here.)"""

    def __init__(self, wrapped: Any, name: str, hub: _Hub) -> None:
        self.__dict__.update(_wrapped=wrapped, _name=name, _hub=hub, _active=True)

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        return type(self._wrapped)

    def write(self, text: Any) -> Any:
        result = self._wrapped.write(text)
        if self._active and type(text) is str:
            self._hub.feed(self._name, text)
        return result

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._wrapped, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "_active":
            self.__dict__[name] = value
        else:
            setattr(self._wrapped, name, value)

    def __repr__(self) -> str:
        return f"<seetrain console tee of {self._wrapped!r}>"


class _Hub:
    """Process-wide: one pair of tees and one record hook, shared by every capturing run."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.sinks: list[_Sink] = []
        self.partial = {name: "" for name in STREAMS}
        self.tees: dict[str, _Tee] = {}
        self.old_factory: Any = None
        self.local = threading.local()

    # ---- lines -----------------------------------------------------------------------------
    def feed(self, stream: str, text: str) -> None:
        ts = time.time()
        with self.lock:
            if "\r" in text:
                text = text.replace("\r\n", "\n")
            buf = self.partial[stream] + text
            *lines, rest = buf.split("\n")
            if "\r" in rest:  # a progress bar redraws the line: keep what is shown now
                rest = rest.rsplit("\r", 1)[1]
            self.partial[stream] = rest[-MAX_LINE_CHARS:]
            if not lines:
                return
            sinks = list(self.sinks)
        for line in lines:
            if "\r" in line:
                line = line.rsplit("\r", 1)[1]
            self._emit(sinks, stream, line, ts)

    def _emit(self, sinks: list[_Sink], stream: str, line: str, ts: float) -> None:
        if len(line) > MAX_LINE_CHARS:
            line = line[:MAX_LINE_CHARS] + f"... [{len(line) - MAX_LINE_CHARS} chars truncated]"
        for sink in sinks:
            sink.emit(stream, line, ts)

    # ---- install / remove ------------------------------------------------------------------
    def add(self, sink: _Sink) -> None:
        with self.lock:
            self.sinks.append(sink)
            if len(self.sinks) == 1:
                self._install()

    def remove(self, sink: _Sink) -> None:
        with self.lock:
            if sink not in self.sinks:
                return
            self.sinks.remove(sink)
            for stream, rest in self.partial.items():  # the unfinished last line still counts
                if rest:
                    sink.emit(stream, rest, time.time())
            if not self.sinks:
                self._uninstall()
                self.partial = {name: "" for name in STREAMS}
        sink.close()

    def _install(self) -> None:
        for name in STREAMS:
            current = getattr(sys, name)
            if current is None:
                continue
            tee = _Tee(current, name, self)
            self.tees[name] = tee
            setattr(sys, name, tee)
        self.old_factory = logging.getLogRecordFactory()
        logging.setLogRecordFactory(self._record_factory)

    def _uninstall(self) -> None:
        for name, tee in self.tees.items():
            tee._active = False
            # Someone else (pytest's capture, contextlib.redirect_stdout) may have replaced the
            # stream since; only put back what we replaced, and leave theirs alone.
            if getattr(sys, name) is tee:
                setattr(sys, name, tee._wrapped)
        self.tees = {}
        if logging.getLogRecordFactory() == self._record_factory:
            logging.setLogRecordFactory(self.old_factory)
        # Otherwise another factory wraps ours: ours now passes records through untouched.
        self.old_factory = None

    # ---- logging records -------------------------------------------------------------------
    def _record_factory(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        factory = self.old_factory or logging.LogRecord
        record = factory(*args, **kwargs)
        if self.sinks and not getattr(self.local, "busy", False):
            self.local.busy = True
            try:
                self._capture_record(record)
            except Exception as exc:  # noqa: BLE001 - a bad log call must stay the caller's problem
                log.debug("seetrain: could not capture a log record: %s", exc)
            finally:
                self.local.busy = False
        return record

    def _capture_record(self, record: logging.LogRecord) -> None:
        route = _route(record, self.tees)
        if route is None:
            return  # dropped by logging, or printed through a tee, which stores it
        stream, handler = route
        text = handler.format(record) if handler is not None else \
            f"{record.levelname} {record.name}: {record.getMessage()}"
        with self.lock:
            sinks = list(self.sinks)
        for part in text.split("\n"):
            self._emit(sinks, stream, part, record.created)


def _route(record: logging.LogRecord, tees: dict[str, _Tee]) -> tuple[str, Any] | None:
    """Where logging will send this record (mirrors ``Logger.callHandlers``).

    None: nothing to store here (the logger drops it, or a handler writes it to a tee, which stores
    the printed line). ``(stream, handler)``: a handler made before the capture started holds the
    real stdout/stderr and bypasses the tee, so the line is stored from the record, formatted by
    that handler. ``("logging", None)``: no handler prints it to the terminal (file handlers only).
    """
    name = record.name
    logger: Any = logging.root if name == "root" else logging.Logger.manager.loggerDict.get(name)
    if not isinstance(logger, logging.Logger):
        logger = logging.root
    if logger.disabled or logger.getEffectiveLevel() > record.levelno:
        return None
    through_tee = {id(t) for t in tees.values()}
    raw = {id(t._wrapped): n for n, t in tees.items()}
    for stream_name in ("stdout", "stderr"):
        original = getattr(sys, f"__{stream_name}__")
        if original is not None:
            raw.setdefault(id(original), stream_name)
    found = 0
    direct: tuple[str, Any] | None = None
    while logger is not None:
        for handler in logger.handlers:
            found += 1
            if record.levelno < handler.level or not isinstance(handler, logging.StreamHandler):
                continue
            stream_id = id(getattr(handler, "stream", None))
            if stream_id in through_tee:
                return None
            if direct is None and stream_id in raw:
                direct = (raw[stream_id], handler)
        if not logger.propagate:
            break
        logger = logger.parent
    if direct is not None:
        return direct
    last = logging.lastResort
    if found == 0 and last is not None and record.levelno >= last.level:
        return None  # the last-resort handler writes to sys.stderr at emit time: the tee
    return "logging", None


_hub = _Hub()


def start_console_capture(run: Any, max_lines: int | None = None, max_bytes: int | None = None) -> Any:
    """Tee stdout/stderr and logging records into ``run`` until it finishes."""
    if getattr(run, "_writer", None) is None:  # a disabled run
        return None
    sink = _Sink(run, max_lines or setting("SEETRAIN_CONSOLE_MAX_LINES"),
                 max_bytes or setting("SEETRAIN_CONSOLE_MAX_BYTES"))
    _hub.add(sink)
    run.on_finish(lambda _run: _hub.remove(sink))
    return sink


def capturing_runs() -> list[Any]:
    """Runs that currently capture the console (for tests and diagnostics)."""
    with _hub.lock:
        return [s.run for s in _hub.sinks]
