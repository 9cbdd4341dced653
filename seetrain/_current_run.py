"""Module-level functions (``seetrain.init``, ``seetrain.log`` ...) acting on the current run."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from seetrain import limits
from seetrain._config import Config
from seetrain._disabled import DisabledRun
from seetrain._errors import NotInitializedError
from seetrain._run import Run
from seetrain._settings import resolve, setting

_current: Run | DisabledRun | None = None
_lock = threading.RLock()
REINIT_CHOICES = ("finish_previous", "create_new", "return_previous")


def init(project: str | None = None, experiment_name: str | None = None, description: str | None = None,
         config: Any = None, tags: list[str] | None = None, mode: str | None = None,
         logdir: str | None = None, host: str | None = None, group: str | None = None,
         resume: str | None = None, reinit: bool | str = "finish_previous", strict: bool = False,
         name: str | None = None, upload_timeout: float | None = None,
         system_monitor: bool | None = None, monitor_interval: float | None = None,
         capture_console: bool | None = None) -> Run | DisabledRun:
    """Start a run and make it the current one.

    ``mode`` is ``local`` (default: the local store only), ``online`` (local store plus upload to
    ``host``), ``offline`` (local only, upload later with ``seetrain sync``) or ``disabled``.
    A second ``init`` finishes the current run first, as in W&B; ``reinit="create_new"`` keeps
    both open (the integration hub uses that) and ``"return_previous"`` returns the open one.
    """
    global _current
    if reinit is True:
        reinit = "finish_previous"
    if reinit not in REINIT_CHOICES:
        raise ValueError(f"reinit must be one of {REINIT_CHOICES}")
    settings = resolve(mode, logdir, project, host)
    with _lock:
        if _current is not None and not _current.finished:
            if reinit == "return_previous":
                return _current
            if reinit == "finish_previous":
                _current.finish()
        if settings.mode == "disabled":
            _current = DisabledRun(config=config)
            return _current
        # One definition of ids, names and tags for client and server (seetrain.limits): a bad
        # resume id is a ValueError here, never data the server later refuses.
        fixed = limits.check_init(run_id=resume, name=experiment_name or name, description=description,
                                  group=group, tags=tags)
        run = Run(settings, project=project, experiment_name=fixed["name"],
                  description=fixed["description"], config=config, tags=fixed.get("tags"),
                  group=fixed["group"], resume=resume, strict=strict)
        _start_transport(run, upload_timeout)
        _start_extras(run, system_monitor, monitor_interval, capture_console)
        _current = run
        return run


def _start_transport(run: Run, upload_timeout: float | None) -> None:
    if run.mode != "online":
        return
    if not run.settings.host:
        print(f"seetrain: mode='online' but no server is configured (pass host= or set SEETRAIN_HOST); "
              f"logging locally to {run.dir}", file=sys.stderr)
        return
    run.start_upload(upload_timeout)


def _start_extras(run: Run, system_monitor: bool | None, interval: float | None,
                  capture_console: bool | None) -> None:
    """System monitor and console capture: on by default, switchable per run or by env var."""
    if system_monitor is None:
        system_monitor = setting("SEETRAIN_SYSTEM_MONITOR")
    if capture_console is None:
        capture_console = setting("SEETRAIN_CAPTURE_CONSOLE")
    if system_monitor:
        from seetrain.insight.system_monitor import start_system_monitor

        start_system_monitor(run, interval)
    if capture_console:
        from seetrain.insight.console import start_console_capture

        start_console_capture(run)


def get_run() -> Run | DisabledRun | None:
    """The current run, or None before ``init``."""
    return _current


def _run() -> Run | DisabledRun:
    run = _current
    if run is None:
        raise NotInitializedError("call seetrain.init() before logging")
    return run


def log(data: Mapping[str, Any], step: int | None = None) -> None:
    """Log a dict of scalars and media to the current run (``step`` auto-increments when omitted)."""
    _run().log(data, step=step)


def log_scalar(key: str, value: float, step: int | None = None) -> None:
    _run().log_scalar(key, value, step=step)


def log_image(key: str, image: Any, caption: str | None = None, step: int | None = None) -> None:
    _run().log_image(key, image, caption=caption, step=step)


def log_audio(key: str, audio: Any, sample_rate: int = 16000, caption: str | None = None,
              step: int | None = None) -> None:
    _run().log_audio(key, audio, sample_rate=sample_rate, caption=caption, step=step)


def log_text(key: str, text: Any, caption: str | None = None, step: int | None = None) -> None:
    _run().log_text(key, text, caption=caption, step=step)


def log_artifact(path: Any, name: str | None = None, type: str = "artifact", aliases: list[str] | None = None,
                 metadata: Mapping[str, Any] | None = None, description: str | None = None) -> Any:
    """Store a file or folder as a new version of artifact ``name`` in the current run's project;
    returns the version, or None (with a counted warning) if it could not be stored."""
    return _run().log_artifact(path, name=name, type=type, aliases=aliases, metadata=metadata,
                               description=description)


def use_artifact(ref: str) -> Any:
    """Resolve ``"name:v3"`` / ``"name:best"`` / ``"project/name:latest"`` and record lineage."""
    return _run().use_artifact(ref)


def update_config(values: Any = None, **kwargs: Any) -> None:
    _run().update_config(values, **kwargs)


def finish(status: str = "finished") -> None:
    """Finish the current run (idempotent; also runs automatically at interpreter exit)."""
    global _current
    with _lock:
        run = _current
        if run is not None:
            run.finish(status=status)


class ConfigProxy:
    """``seetrain.config``: the current run's config, or an empty one before ``init``."""

    def _target(self) -> Config:
        run = _current
        return run.config if run is not None else Config()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._target(), name, value)

    def __getitem__(self, key: str) -> Any:
        return self._target()[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._target()[key] = value

    def __contains__(self, key: object) -> bool:
        return key in self._target()

    def __iter__(self) -> Iterator[str]:
        return iter(self._target())

    def __len__(self) -> int:
        return len(self._target())

    def __repr__(self) -> str:
        return repr(self._target())


config = ConfigProxy()
