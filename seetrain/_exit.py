"""Exit paths: normal exit, uncaught exception, Ctrl-C and SIGTERM all flush and close every
active run with the right status before the interpreter goes away."""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
import traceback
import weakref
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from seetrain._run import Run

_active: weakref.WeakSet[Run] = weakref.WeakSet()
_installed = False
_lock = threading.Lock()
_previous_excepthook = sys.excepthook
_previous_sigterm: Any = None


def register(run: Run) -> None:
    _install()
    _active.add(run)


def unregister(run: Run) -> None:
    _active.discard(run)


def active_runs() -> list[Run]:
    return list(_active)


def _install() -> None:
    global _installed, _previous_excepthook, _previous_sigterm
    with _lock:
        if _installed:
            return
        _installed = True
        atexit.register(_at_exit)
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=_detach_in_child)
        _previous_excepthook = sys.excepthook
        sys.excepthook = _excepthook
        if threading.current_thread() is threading.main_thread():
            try:
                _previous_sigterm = signal.getsignal(signal.SIGTERM)
                signal.signal(signal.SIGTERM, _on_sigterm)
            except (ValueError, OSError):  # embedded interpreters may refuse
                _previous_sigterm = None


def _detach_in_child() -> None:
    """A forked child (DataLoader worker, multiprocessing) inherits the runs but not their
    threads, and must never touch the parent's SQLite connections: its copies go inert."""
    for run in list(_active):
        run._detach_after_fork()
    _active.clear()


def _at_exit() -> None:
    for run in active_runs():
        run.finish()


def _excepthook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    status = "aborted" if issubclass(exc_type, KeyboardInterrupt) else "failed"
    text = "".join(traceback.format_exception(exc_type, exc, tb))
    for run in active_runs():
        run.finish(status=status, error=text)
    _previous_excepthook(exc_type, exc, tb)


def _on_sigterm(signum: int, frame: Any) -> None:
    for run in active_runs():
        run.finish(status="aborted", error="terminated by SIGTERM")
    previous = _previous_sigterm
    if callable(previous):
        previous(signum, frame)
        return
    if previous == signal.SIG_IGN:
        return
    # Re-deliver with the default action so the exit code still says "killed by SIGTERM".
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


def background_thread(target: Any, name: str) -> threading.Thread:
    """A daemon thread that blocks SIGTERM and SIGINT, so the kernel delivers them to the main
    thread: Python runs signal handlers only there, and a signal taken by another thread does
    not interrupt a main thread blocked in ``time.sleep`` (the handler would wait for it)."""
    def run() -> None:
        if hasattr(signal, "pthread_sigmask"):
            try:
                signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
            except (OSError, ValueError):
                pass
        target()
    return threading.Thread(target=run, name=name, daemon=True)
