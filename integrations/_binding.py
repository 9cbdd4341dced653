"""How a framework-native object (a Lightning logger, a Keras or HF callback ...) reaches its
Integration: created on first use, or bound to one the user made through the hub.

Native objects are built by the user before training starts (often before the process knows its
rank), so the run is created lazily. A native object that created its run also finishes it when
the framework says training ended, and reopens the same run (``resume``) if the framework keeps
using it afterwards, e.g. ``trainer.test()`` after ``trainer.fit()``.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from seetrain import DisabledRun

if TYPE_CHECKING:
    from typing_extensions import Self

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


def update_run_config(section: str, values: dict[str, Any], run: Any, caller: str) -> None:
    """``values`` under ``section`` in ``run``'s config (default: the current run), for the
    ``log_*`` functions users call next to their training code (``caller`` names it)."""
    import seetrain

    target = run if run is not None else seetrain.get_run()
    if target is None:
        raise seetrain.NotInitializedError(f"call seetrain.init() before {caller}(), or pass run=")
    target.update_config({section: values})


class NativeRunHolder:
    """The part of a native callback or tracker (the CatBoost, LightGBM and XGBoost callbacks,
    ``SeeTrainSklearn``) that holds its run: the ``seetrain.init`` arguments it was built with
    become a :class:`LazyIntegration` of ``integration_class`` (``integration=`` binds it to a hub
    integration instead), :attr:`integration` creates the run on first use, and ``with holder:``
    finishes it at the end of the block ("failed" when the block raised)."""

    integration_class: ClassVar[type[Integration]]
    finish: Callable[..., None]  # each holder's own: ``finish(status=...)`` at least
    _lazy: LazyIntegration

    def _hold(self, integration: Integration | None, **init_kwargs: Any) -> None:
        self._lazy = LazyIntegration(self.integration_class, init_kwargs, integration)
        self._last_step = 0  # the step of the last record, where end-of-training records go
        self._done = False

    @property
    def integration(self) -> Integration:
        return self._lazy.get()

    def _finish_with(self, model: Any, status: str) -> None:
        """Record what the fitted ``model`` says at the end (``_log_end``, guarded) into a run that
        exists, then finish it if this object created it; only the first call does anything."""
        if self._done:
            return
        self._done = True
        current = self._lazy.created
        if current is not None and model is not None:
            current.guard(self._log_end, current, model)
        self._lazy.finish(status)

    def _log_end(self, integration: Integration, model: Any) -> None:
        """Subclasses that call :meth:`_finish_with` record the fitted model here."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.finish(status="finished" if exc_type is None else "failed")


class BoostingCallback(NativeRunHolder):
    """The constructor the gradient-boosting callbacks (CatBoost, LightGBM, XGBoost) share:
    ``project``, ``experiment_name``, ``description``, ``config``, ``tags``, ``logdir``, ``mode`` ...
    go to ``seetrain.init``; ``integration=`` binds to a hub integration;
    ``log_feature_importance=False`` skips the feature importance at the end."""

    def __init__(self, project: str | None = None, experiment_name: str | None = None,
                 description: str | None = None, config: Any = None, tags: list[str] | None = None,
                 log_feature_importance: bool = True, integration: Integration | None = None,
                 **init_kwargs: Any) -> None:
        self.log_feature_importance = log_feature_importance
        self._hold(integration, project=project, experiment_name=experiment_name, description=description,
                   config=config, tags=tags, **init_kwargs)


def call_with_callback(call: Callable[[list[Any] | None], Any], callbacks: Any, cls: type[Any],
                       finish_with: Callable[[Any], Any]) -> Any:
    """``seetrain.autolog()``'s wrapper of a training call that takes ``callbacks``: unless one of
    ``cls`` is among them already (``call(None)`` then calls unchanged), ``call`` gets them with a
    ``cls`` callback added, bound to the current run; the added callback is finished with
    ``finish_with(result)`` (the fitted model), or as failed when the call raises."""
    callbacks = list(callbacks or [])
    if any(isinstance(cb, cls) for cb in callbacks):
        return call(None)
    added = cls(integration=current_run_integration(cls.integration_class))
    try:
        result = call([*callbacks, added])
    except BaseException:
        added.finish(status="failed")
        raise
    added.finish(finish_with(result))
    return result


class FitCallback:
    """What the Keras and Paddle ``fit`` callbacks share. One step axis: the training batches seen
    so far, across epochs and ``fit`` calls (a reopened run continues after the steps it has). The
    run is created when ``fit`` starts (``_record_setup`` records the setup then) and finished when
    it ends if this callback created it; ``integration=`` binds to a hub integration instead."""

    integration_class: ClassVar[type[Integration]]

    def _hold_fit(self, integration: Integration | None, log_every_n_batches: int,
                  logdir: str | os.PathLike[str] | None, log_all_ranks: bool, **init_kwargs: Any) -> None:
        init_kwargs.update(log_all_ranks=log_all_ranks or None, logdir=os.fspath(logdir) if logdir is not None else None)
        self._lazy = LazyIntegration(self.integration_class, init_kwargs, integration)
        self.log_every_n_batches = max(0, int(log_every_n_batches))
        self._step = 0            # training batches seen, across epochs and fit() calls
        self._in_fit = False

    @property
    def integration(self) -> Integration | None:
        """The run's Integration once ``fit`` (or ``evaluate``) started (None before)."""
        return self._lazy.created

    def _rank_zero(self) -> bool:
        """The framework's own view of "this process records" (see ``LazyIntegration.get``)."""
        return True

    def _recording(self) -> Integration | None:
        """The integration, created now if needed; None where nothing is recorded (other ranks)."""
        integration = self._lazy.get(rank_zero=self._rank_zero())
        if not integration.enabled:
            return None
        if self._step == 0:
            self._step = integration.run.step  # a reopened run continues after the steps it has
        return integration

    def _batch(self, has_values: bool = True) -> tuple[int, Integration] | None:
        """Count one training batch; its step and the integration when this batch is logged."""
        step = self._step
        self._step += 1
        n = self.log_every_n_batches
        if not n or not has_values or step % n:
            return None
        integration = self._recording()
        return None if integration is None else (step, integration)

    def on_train_begin(self, logs: Mapping[str, Any] | None = None) -> None:
        self._in_fit = True
        integration = self._recording()
        if integration is not None:
            integration.guard(self._record_setup, integration)

    def _record_setup(self, integration: Integration) -> None:
        """Subclasses record the model, optimizer and fit parameters here."""

    def on_train_end(self, logs: Mapping[str, Any] | None = None) -> None:
        self._in_fit = False
        self._lazy.finish("finished")
