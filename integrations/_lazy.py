"""How a framework-native object (a Lightning logger, a Keras or HF callback ...) reaches its
Integration: created on first use, or bound to one the user made through the hub.

Native objects are built by the user before training starts (often before the process knows its
rank), so the run is created lazily. A native object that created its run also finishes it when
the framework says training ended, and reopens the same run (``resume``) if the framework keeps
using it afterwards, e.g. ``trainer.test()`` after ``trainer.fit()``.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from seetrain import DisabledRun

if TYPE_CHECKING:
    from integrations._base import Integration

log = logging.getLogger("seetrain")


class LazyIntegration:
    """Holds the Integration of one native object.

    ``cls`` is the adapter's Integration class, ``kwargs`` what the user gave the native object
    (project, experiment_name, logdir, mode ...), ``integration`` an existing one to bind to.
    """

    def __init__(self, cls: type[Integration], kwargs: dict[str, Any],
                 integration: Integration | None = None) -> None:
        self._cls = cls
        self._kwargs = {k: v for k, v in kwargs.items() if v is not None}
        self._integration = integration
        self.owns = integration is None
        self._lock = threading.Lock()

    @property
    def created(self) -> Integration | None:
        """The integration if it exists already (never creates one)."""
        return self._integration

    def get(self, rank_zero: bool = True, **late_kwargs: Any) -> Integration:
        """The integration, created now if needed. ``rank_zero=False`` (the framework's own view
        of the rank) gives a no-op run unless the user asked for ``log_all_ranks``.
        ``late_kwargs`` fill in defaults known only at training time (e.g. the HF run name)."""
        current = self._integration
        if current is not None and (not self.owns or not current._finished):
            return current
        with self._lock:
            current = self._integration
            if current is not None and (not self.owns or not current._finished):
                return current
            kwargs = {**{k: v for k, v in late_kwargs.items() if v is not None}, **self._kwargs}
            if current is not None:
                # The framework logs again after it said training ended: continue the same run.
                kwargs.update(self._resume_kwargs(current))
            self._integration = self._create(kwargs, rank_zero)
            return self._integration

    def _resume_kwargs(self, previous: Integration) -> dict[str, Any]:
        run = previous.run
        if isinstance(run, DisabledRun):
            return {}
        return {"resume": run.id, "project": run.project, "logdir": run.settings.logdir,
                "mode": run.mode}

    def _create(self, kwargs: dict[str, Any], rank_zero: bool) -> Integration:
        if not rank_zero and not kwargs.get("log_all_ranks"):
            return self._cls(run=DisabledRun(config=kwargs.get("config")))
        try:
            return self._cls(**kwargs)
        except Exception as exc:  # noqa: BLE001 - SeeTrain must never stop the user's training
            log.warning("seetrain: could not start the %s run (%s: %s); logging is off for it",
                        self._cls.name, type(exc).__name__, exc)
            fallback = self._cls(run=DisabledRun(config=None))
            fallback._degraded(exc)
            return fallback

    def __getstate__(self) -> dict[str, Any]:
        # Launchers that pickle callbacks into worker processes (DDP spawn, Ray): each worker
        # makes its own run from the same arguments; a run cannot cross a process boundary.
        return {"_cls": self._cls, "_kwargs": self._kwargs}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["_cls"], state["_kwargs"])  # type: ignore[misc]

    def finish(self, status: str = "finished") -> None:
        """Finish the run if this native object created it; a bound integration is left to its owner."""
        current = self._integration
        if current is not None and self.owns:
            current.finish(status=status)
