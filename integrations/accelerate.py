"""HF Accelerate: a ``GeneralTracker`` for ``Accelerator(log_with=...)``.

    from accelerate import Accelerator
    from integrations.accelerate import SeeTrainTracker

    accelerator = Accelerator(log_with=SeeTrainTracker(run_name="baseline"))
    accelerator.init_trackers("my-project", config={"lr": 1e-3})   # project of the SeeTrain run
    accelerator.log({"loss": loss}, step=step)
    accelerator.end_training()                                     # finishes the run

Importing this module also registers the class with Accelerate under the name ``"seetrain"``
(where Accelerate has ``register_tracker_class``), so ``Accelerator(log_with="seetrain")`` works
and ``init_trackers("proj", init_kwargs={"seetrain": {"run_name": "x"}})`` reaches it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from types import FrameType
from typing import Any

from accelerate.tracking import GeneralTracker, on_main_process

from integrations._base import Integration
from integrations._binding import LazyIntegration

log = logging.getLogger("seetrain")

__all__ = ["AccelerateIntegration", "SeeTrainTracker"]


class AccelerateIntegration(Integration):
    """The hub side: ``init_accelerate(project=..., experiment_name=...).get_tracker()``."""

    name = "accelerate"
    mode = "tracker"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._tracker: SeeTrainTracker | None = None

    def get_tracker(self) -> SeeTrainTracker:
        """A ``SeeTrainTracker`` bound to this integration's run (the same object on every call)."""
        if self._tracker is None:
            self._tracker = SeeTrainTracker(integration=self)
        return self._tracker


def _init_trackers_project() -> str | None:
    """The ``project_name`` given to ``Accelerator.init_trackers``, read from the caller's frame.

    Accelerate hands a ready-made tracker instance nothing from ``init_trackers`` except
    ``start()``; looking one or two frames up is the only way to honour the project name there
    without patching Accelerate.
    """
    frame: FrameType | None = sys._getframe(1)
    for _ in range(8):
        if frame is None:
            return None
        if frame.f_code.co_name == "init_trackers":
            value = frame.f_locals.get("project_name")
            return str(value) if value else None
        frame = frame.f_back
    return None


def _is_main_process() -> bool:
    try:
        from accelerate.state import PartialState

        if not getattr(PartialState, "_shared_state", None):
            # Not set up yet: creating it here would fix its settings before the user's
            # Accelerator does; the hub's environment rank check decides instead.
            return True
        return bool(PartialState().is_main_process)
    except Exception as exc:  # noqa: BLE001 - no Accelerate state: the hub's rank check decides
        log.debug("seetrain[accelerate]: no PartialState (%s); using the environment rank", exc)
        return True


class SeeTrainTracker(GeneralTracker):
    """Accelerate tracker writing to a SeeTrain run.

    ``run_name`` (or ``experiment_name``) names the run; ``project`` defaults to the project
    name given to ``accelerator.init_trackers``. Other keywords (``description``, ``config``,
    ``tags``, ``logdir``, ``mode``, ``log_all_ranks`` ...) go to ``seetrain.init``.
    ``integration=`` binds the tracker to a run made with ``init_accelerate``; that run is then
    finished by its owner, not by ``end_training``.
    """

    name = "seetrain"
    requires_logging_directory = False
    main_process_only = True

    def __init__(self, run_name: str | None = None, project: str | None = None,
                 experiment_name: str | None = None, description: str | None = None,
                 config: Any = None, tags: list[str] | None = None,
                 integration: Integration | None = None, **init_kwargs: Any) -> None:
        super().__init__()
        self.run_name = run_name or experiment_name
        kwargs = {"project": project, "experiment_name": self.run_name, "description": description,
                  "config": config, "tags": tags, **init_kwargs}
        self._lazy = LazyIntegration(AccelerateIntegration, kwargs, integration)
        self._project_hint: str | None = None

    def _integration(self) -> Integration:
        return self._lazy.get(rank_zero=_is_main_process(), project=self._project_hint)

    @property
    def integration(self) -> Integration:
        """The hub Integration behind this tracker (created on first use)."""
        return self._integration()

    @property
    def tracker(self) -> Any:
        """The SeeTrain ``Run`` (``accelerator.get_tracker("seetrain", unwrap=True)``)."""
        return self._integration().run

    @on_main_process
    def start(self) -> None:
        """Called by ``init_trackers``: create the run now, in the project given there."""
        self._project_hint = _init_trackers_project()
        self._integration()

    @on_main_process
    def store_init_configuration(self, values: dict[str, Any]) -> None:
        """The ``config=`` of ``init_trackers`` becomes the run config."""
        integration = self._integration()
        integration.guard(integration.run.update_config, dict(values or {}))

    @on_main_process
    def log(self, values: dict[str, Any], step: int | None = None, **kwargs: Any) -> None:
        """Scalars (and tensors of one element) as metrics; strings as text records."""
        self._integration().log(_convert(values), step=step)

    @on_main_process
    def finish(self) -> None:
        """Called by ``end_training``: finish the run. Training is over for good here, so a tracker
        bound to a hub integration (``init_accelerate(...).get_tracker()``) finishes that
        integration too; a run passed to the integration with ``run=`` is flushed and left open."""
        self._lazy.finish("finished", bound="finish")


def _convert(values: Mapping[str, Any]) -> dict[str, Any]:
    # Accelerate allows str values; SeeTrain keeps text as a Text record, not a metric.
    from seetrain import Text

    return {key: Text(value) if isinstance(value, str) else value for key, value in values.items()}


class _RegisteredSeeTrainTracker(SeeTrainTracker):
    """What ``log_with="seetrain"`` builds: Accelerate passes the ``init_trackers`` project name
    first, so it is the project here, not the run name."""

    def __init__(self, project_name: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("project", project_name)
        super().__init__(**kwargs)


def _register_with_accelerate() -> None:
    try:
        from accelerate.tracking import register_tracker_class
    except ImportError:
        log.debug("seetrain[accelerate]: this Accelerate has no register_tracker_class; "
                  "pass a SeeTrainTracker instance to log_with")
        return
    register_tracker_class(_RegisteredSeeTrainTracker)


_register_with_accelerate()
