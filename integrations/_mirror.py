"""What the mirror adapters (TensorBoard, MLflow, W&B) share: the patch engine's ``PatchSet`` and
``Target`` (``integrations._patching``), a per-thread busy flag, and extra SeeTrain runs opened on
demand next to the integration's own run."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any

import seetrain
from integrations._patching import PatchSet, Target
from seetrain import DisabledRun, Run

if TYPE_CHECKING:
    from integrations._base import Integration

log = logging.getLogger("seetrain")

__all__ = ["BusyFlag", "MirrorStack", "PatchSet", "RunPool", "Target", "framework_tag"]

class BusyFlag(threading.local):
    """Per-thread "inside a mirrored call" flag: a framework method that calls another mirrored
    method (TensorBoard's add_hparams writes its metrics through a second writer's add_scalar)
    must be recorded once."""

    busy = False


def framework_tag(integration: Integration) -> dict[str, Any]:
    return {"name": integration.name, "package": integration.framework,
            "version": integration.framework_version, "mode": integration.mode}


class RunPool:
    """SeeTrain runs keyed by the framework's own notion of a run (a TensorBoard log_dir, an
    MLflow run id). The first key claims the integration's own run; later keys get new runs with
    the same project and settings, tagged with the framework like the first."""

    def __init__(self, integration: Integration, init_kwargs: dict[str, Any]) -> None:
        self._integration = integration
        self._kwargs = {k: v for k, v in init_kwargs.items() if v is not None}
        self._runs: dict[Hashable, Run | DisabledRun] = {}
        self._claimed = False
        self._lock = threading.RLock()

    def get(self, key: Hashable) -> Run | DisabledRun | None:
        return self._runs.get(key)

    def keys(self) -> list[Hashable]:
        return list(self._runs)

    def open(self, key: Hashable, name: str | None = None, config: dict[str, Any] | None = None,
             group: str | None = None) -> Run | DisabledRun:
        """The run for ``key``, created (or claimed) now if needed."""
        with self._lock:
            run = self._runs.get(key)
            if run is not None and not run.finished:
                return run
            own = self._integration.run
            if isinstance(own, DisabledRun):  # non-zero rank: nothing is recorded anywhere
                self._runs[key] = own
                return own
            if not self._claimed and not own.finished:
                self._claimed = True
                if config:
                    own.update_config(config)
                self._runs[key] = own
                return own
            kwargs = dict(self._kwargs)
            kwargs["project"] = own.project
            kwargs["logdir"] = own.settings.logdir
            kwargs["mode"] = own.mode
            if group is not None:
                kwargs["group"] = group
            user_config = kwargs.pop("config", None) or {}
            user_config = user_config if isinstance(user_config, dict) else {}
            new = seetrain.init(experiment_name=name, config={**user_config, **(config or {}),
                                                              "framework": framework_tag(self._integration)},
                                reinit="create_new", **kwargs)
            new.add_tags(self._integration.name)
            self._runs[key] = new
            return new

    def finish(self, key: Hashable, status: str = "finished") -> None:
        run = self._runs.get(key)
        if run is not None:
            self._integration.guard(run.finish, status=status)

    def finish_all(self, status: str = "finished") -> None:
        """Finish every extra run (the integration finishes its own run itself)."""
        with self._lock:
            for run in self._runs.values():
                if run is not self._integration.run:
                    self._integration.guard(run.finish, status=status)


class MirrorStack:
    """The mirrors of one framework that are switched on, latest last. The patches go in with
    the first and come out with the last, so nested sync/unsync pairs restore the originals
    exactly, and the latest mirror is the one that records."""

    def __init__(self, name: str, patches: PatchSet) -> None:
        self.name = name
        self.patches = patches
        self.lock = threading.RLock()
        self._items: list[Integration] = []

    def __bool__(self) -> bool:
        return bool(self._items)

    def current(self) -> Any:
        items = self._items
        return items[-1] if items else None

    def push(self, integration: Integration, install: Callable[[], None]) -> None:
        with self.lock:
            self._items.append(integration)
            install()

    def remove(self, integration: Integration) -> None:
        with self.lock:
            if integration in self._items:
                self._items.remove(integration)
            if not self._items:
                self.patches.restore()

    def sync(self, factory: Callable[..., Any], **seetrain_kwargs: Any) -> Any:
        """Switch a mirror on through the hub, or return the one already on."""
        active = self.current()
        if active is not None:
            log.info("seetrain[%s]: already synced; returning the active mirror", self.name)
            return active
        return factory(**seetrain_kwargs)

    def unsync_all(self, status: str = "finished") -> None:
        with self.lock:
            active = list(self._items)
        for integration in reversed(active):
            integration.finish(status=status)
