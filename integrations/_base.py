"""What every adapter shares: a run tagged with the framework, rank-0-only logging, stats, and
graceful degradation (a failure inside SeeTrain is counted, never raised into training)."""

from __future__ import annotations

import logging
import os
import threading
from collections import Counter
from typing import Any, TypeVar

import seetrain
from integrations import _active, registry
from seetrain import DisabledRun, Run
from seetrain.sync.resilience import count as count_global

log = logging.getLogger("seetrain")

_RANK_VARS = ("RANK", "SLURM_PROCID", "PMI_RANK", "OMPI_COMM_WORLD_RANK", "LOCAL_RANK")


def detect_rank() -> int:
    """Global rank from the usual launcher variables, or torch.distributed if already initialised."""
    for var in _RANK_VARS:
        value = os.environ.get(var)
        if value and value.strip().isdigit():
            return int(value)
    import sys

    dist = sys.modules.get("torch.distributed")
    try:
        if dist is not None and dist.is_available() and dist.is_initialized():
            return int(dist.get_rank())
    except Exception:  # noqa: BLE001
        pass
    return 0


_I = TypeVar("_I", bound="Integration")


class Integration:
    """Base of every adapter. Subclasses set ``name`` (registry row) and implement the native
    object getter for their mode: ``get_callback`` / ``get_tracker`` / ``get_backend``."""

    name = "custom"
    mode = "callback"
    # True for an integration ``seetrain.autolog()`` made for one training call on the user's
    # current run: the framework's "training ended" finishes it (the run stays open).
    ephemeral = False

    def __init__(self, project: str | None = None, experiment_name: str | None = None,
                 description: str | None = None, config: Any = None, tags: list[str] | None = None,
                 log_all_ranks: bool = False, run: Run | DisabledRun | None = None,
                 **init_kwargs: Any) -> None:
        self.spec = registry.get_spec(self.name)
        self.framework, self.framework_version = registry.find_framework(self.spec)
        self.rank = detect_rank()
        self.stats: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self._finished = False
        self._lock = threading.Lock()
        self._owns_run = run is None
        if run is not None:
            self.run = run
        elif self.rank != 0 and not log_all_ranks:
            self.run = DisabledRun(config=config)
        else:
            if log_all_ranks:
                init_kwargs.setdefault("group", experiment_name or project or "distributed")
                if experiment_name:
                    experiment_name = f"{experiment_name}-rank{self.rank}"
            self.run = seetrain.init(project=project, experiment_name=experiment_name, description=description,
                                     config=config, tags=tags, reinit="create_new", **init_kwargs)
        self._tag_framework()
        _active.register(self)

    @classmethod
    def start(cls: type[_I], **kwargs: Any) -> _I:
        """``cls(**kwargs)``, or, if SeeTrain cannot start the run (a logdir it cannot create, a
        full disk ...), the same integration on a no-op run: the failure is counted once (here and
        in the process-wide stats) and warned about once, and the user's training goes on. The
        hub (``integrations.main.init``) and every native object that creates its own run use this.
        """
        try:
            return cls(**kwargs)
        except Exception as exc:  # noqa: BLE001 - SeeTrain must never stop the user's training
            fallback = cls(run=DisabledRun(config=None))
            fallback._degraded(exc, "could not start the run; logging is off for it")
            return fallback

    # ---- identity ------------------------------------------------------------------------
    def _tag_framework(self) -> None:
        tag = {"name": self.name, "package": self.framework, "version": self.framework_version,
               "mode": self.mode}
        try:
            self.run.update_config({"framework": tag})
            self.run.add_tags(self.name)
        except Exception as exc:  # noqa: BLE001
            self._degraded(exc)

    @property
    def enabled(self) -> bool:
        return not isinstance(self.run, DisabledRun) and not self._finished

    # ---- the four native getters -----------------------------------------------------------
    def get_callback(self) -> Any:
        raise NotImplementedError(f"{self.name} is a {self.mode} integration: use its own getter")

    def get_tracker(self) -> Any:
        raise NotImplementedError(f"{self.name} is a {self.mode} integration: use its own getter")

    def get_backend(self) -> Any:
        raise NotImplementedError(f"{self.name} is a {self.mode} integration: use its own getter")

    # ---- logging through the run, never raising ---------------------------------------------
    def log(self, data: dict[str, Any], step: int | None = None) -> None:
        if self._finished:
            return
        try:
            self.run.log(data, step=step)
            if not isinstance(self.run, DisabledRun):
                self.stats["records_sent"] += 1
        except Exception as exc:  # noqa: BLE001
            self._degraded(exc)

    def log_event(self, kind: str, payload: dict[str, Any], key: str | None = None,
                  step: int | None = None) -> None:
        try:
            self.run.log_event(kind, payload, key=key, step=step)
            if not isinstance(self.run, DisabledRun):
                self.stats["records_sent"] += 1
        except Exception as exc:  # noqa: BLE001
            self._degraded(exc)

    def update_config(self, values: Any = None, **kwargs: Any) -> None:
        try:
            self.run.update_config(values, **kwargs)
        except Exception as exc:  # noqa: BLE001
            self._degraded(exc)

    def guard(self, func: Any, *args: Any, **kwargs: Any) -> Any:
        """Call ``func``; a failure is counted in stats and logged once instead of raised."""
        try:
            return func(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001
            self._degraded(exc)
            return None

    def _degraded(self, exc: BaseException, what: str = "") -> None:
        """Count one failure inside SeeTrain (here and process-wide) and warn about the first of
        each kind; never raises."""
        kind = type(exc).__name__
        with self._lock:
            self.errors[kind] += 1
            self.stats["degraded_calls"] += 1
            first = self.errors[kind] == 1
        count_global("degraded_calls")
        if first:
            log.warning("seetrain[%s]: %s%s: %s (training continues; counted in get_stats())",
                        self.name, f"{what}: " if what else "", kind, exc)

    # ---- introspection ---------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        return self.run.config.as_dict()

    def get_stats(self) -> dict[str, Any]:
        return {"integration": self.name, "mode": self.mode, "rank": self.rank, "enabled": self.enabled,
                "records_sent": self.stats["records_sent"], "degraded_calls": self.stats["degraded_calls"],
                "errors": dict(self.errors), "run": self.run.get_stats()}

    # ---- end ---------------------------------------------------------------------------------
    def finish(self, status: str = "finished") -> None:
        """Undo the adapter's hooks and finish the run if this integration started it (a run
        passed in with ``run=`` is flushed and left open for its owner). Idempotent."""
        with self._lock:
            if self._finished:
                return
            self._finished = True
        try:
            self._teardown()
        except Exception as exc:  # noqa: BLE001
            self._degraded(exc)
        try:
            if self._owns_run:
                self.run.finish(status=status)
            elif not isinstance(self.run, DisabledRun):
                # A run given with run=... belongs to the caller: leave it open, but on disk.
                self.run.flush()
        except Exception as exc:  # noqa: BLE001
            self._degraded(exc)
        _active.unregister(self)

    def _teardown(self) -> None:
        """Adapters undo patches or detach hooks here."""

    def __enter__(self) -> Integration:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.finish(status=exit_status(exc_type))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} run={getattr(self.run, 'id', None)}>"


def exit_status(exc_type: type[BaseException] | None) -> str:
    """The run status for the end of a ``with`` block: "finished", "aborted" for Ctrl-C
    (``KeyboardInterrupt``), "failed" for any other exception."""
    if exc_type is None:
        return "finished"
    return "aborted" if issubclass(exc_type, KeyboardInterrupt) else "failed"
