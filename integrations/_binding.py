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
from typing import TYPE_CHECKING, Any, TypeVar

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
        self._told_open = False
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
        if current is not None and not (current._finished and (self.owns or current.ephemeral)):
            return current
        with self._lock:
            current = self._integration
            if current is not None and not (current._finished and (self.owns or current.ephemeral)):
                return current
            if current is not None and not self.owns:
                # An autolog integration ended with the framework's training call and the
                # framework logs again (trainer.test() after fit): a new one on the same run.
                self._integration = self._cls(run=current.run)
                self._integration.ephemeral = True
                return self._integration
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
        return self._cls.start(**kwargs)

    def __getstate__(self) -> dict[str, Any]:
        # Launchers that pickle callbacks into worker processes (DDP spawn, Ray): each worker
        # makes its own run from the same arguments; a run cannot cross a process boundary.
        return {"_cls": self._cls, "_kwargs": self._kwargs}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["_cls"], state["_kwargs"])  # type: ignore[misc]

    def finish(self, status: str = "finished", bound: str = "flush") -> None:
        """The framework says training ended. A run this native object created is finished. For
        an integration the user made through the hub (``integration=``), ``bound="flush"`` writes
        everything logged so far to disk and leaves the run open for its owner
        (``integration.finish()``, ``integrations.main.finish()``, the end of
        ``with_integration``, or the interpreter's exit), saying so once; ``bound="finish"``
        finishes that integration too (where the framework's end is final, e.g. Accelerate's
        ``end_training``)."""
        current = self._integration
        if current is None:
            return
        if self.owns or bound == "finish" or current.ephemeral:
            current.finish(status=status)
            return
        if current._finished or isinstance(current.run, DisabledRun):
            return
        current.guard(current.run.flush)
        if not self._told_open:
            self._told_open = True
            log.info("seetrain[%s]: training ended; the run %s stays open for the integration that "
                     "owns it (call integration.finish() to close it); everything so far is on disk",
                     current.name, current.run.id)


_I = TypeVar("_I", bound="Integration")


def current_run_integration(cls: type[_I]) -> _I | None:
    """For a native object ``seetrain.autolog()`` injects: an integration bound to the user's
    current run (ephemeral: the framework's "training ended" finishes it, the run stays open), or
    None when no run is open, and the native object then creates and owns a run of its own."""
    from seetrain import get_run

    run = get_run()
    if run is None or run.finished or isinstance(run, DisabledRun):
        return None
    integration = cls.start(run=run)
    integration.ephemeral = True
    return integration
