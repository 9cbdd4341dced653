"""W&B mirror: an unchanged W&B script also records into SeeTrain.

    from integrations.wandb import sync_wandb
    sync_wandb()                     # same as integrations.main.init_wandb(...)
    run = wandb.init(project="p", name="n", config={"lr": 0.1}, tags=["a"], notes="...")
    wandb.log({"loss": 0.5})         # also in SeeTrain, at W&B's step
    wandb.config.update({"bs": 32})  # also in the SeeTrain config
    wandb.finish()                   # finishes the SeeTrain run too (failed if exit_code != 0)

Each ``wandb.init`` opens one SeeTrain run: W&B's project, name, notes, tags, group and config
become the SeeTrain project, experiment name, description, tags, group and config; keyword
arguments given to ``sync_wandb`` override them (``logdir``, ``mode`` ... go to
``seetrain.init``). ``unsync_wandb()`` puts back the original W&B functions (the same objects)
and finishes the SeeTrain runs the mirror opened. Call ``sync_wandb`` before ``wandb.init``.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

import seetrain
from integrations._base import Integration
from integrations._mirror import PatchSet, Target
from seetrain import DisabledRun
from seetrain._config import normalize_config

log = logging.getLogger("seetrain")

__all__ = ["WandbIntegration", "WandbMirror", "sync_wandb", "unsync", "unsync_wandb"]

_lock = threading.RLock()
_active: WandbMirror | None = None
_patches = PatchSet("wandb")


# ---- the wrappers (they look up the active mirror at call time) ----------------------------------
def _wrap_init(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
    run = wrapped(*args, **kwargs)
    mirror = _active
    if mirror is not None:
        mirror.integration.guard(mirror.on_init, run, kwargs)
    return run


def _wrap_log(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
    mirror = _active
    target = mirror.target(instance) if mirror is not None else None
    if mirror is None or target is None:
        return wrapped(*args, **kwargs)
    data = args[0] if args else kwargs.get("data")
    step = args[1] if len(args) > 1 else kwargs.get("step")
    if step is None:
        # W&B's own step for this call: the run's step before it (commit=False keeps it).
        step = mirror.integration.guard(getattr, instance, "step")
    result = wrapped(*args, **kwargs)
    if isinstance(data, Mapping):
        mirror.integration.guard(mirror.log, target, data, step)
    return result


def _wrap_run_finish(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
    exit_code = args[0] if args else kwargs.get("exit_code")
    try:
        return wrapped(*args, **kwargs)
    finally:
        mirror = _active
        if mirror is not None:
            mirror.integration.guard(mirror.on_finish, instance, exit_code)


def _wrap_module_finish(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
    import wandb

    current = wandb.run
    exit_code = args[0] if args else kwargs.get("exit_code")
    try:
        return wrapped(*args, **kwargs)
    finally:
        mirror = _active
        if mirror is not None and current is not None:
            mirror.integration.guard(mirror.on_finish, current, exit_code)


def _wrap_config_change(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
    result = wrapped(*args, **kwargs)
    mirror = _active
    if mirror is not None:
        mirror.integration.guard(mirror.on_config_change, instance)
    return result


# What is patched, and why. Owners are "module" or "module:Class"; a missing one is skipped.
_TARGETS: list[tuple[str, str, Callable[..., Any], str]] = [
    ("wandb", "init", _wrap_init, "a new W&B run opens a SeeTrain run with its project/name/config"),
    ("wandb", "finish", _wrap_module_finish, "wandb.finish(exit_code) ends the mirrored run too"),
    # wandb.log is re-pointed at run.log by every wandb.init, so the class method is the one to wrap.
    ("wandb.sdk.wandb_run:Run", "log", _wrap_log, "wandb.log / run.log metrics reach SeeTrain"),
    ("wandb.sdk.wandb_run:Run", "finish", _wrap_run_finish, "run.finish ends the mirrored run"),
    # wandb.config is the run's Config after init; these are its public ways to change.
    ("wandb.sdk.wandb_config:Config", "update", _wrap_config_change, "config.update(...)"),
    ("wandb.sdk.wandb_config:Config", "__setitem__", _wrap_config_change, "config['k'] = v"),
    ("wandb.sdk.wandb_config:Config", "__setattr__", _wrap_config_change, "config.k = v"),
    ("wandb.sdk.wandb_config:Config", "setdefaults", _wrap_config_change, "config.setdefaults(...)"),
]


def _resolve(owner_path: str) -> Any:
    module_name, _, class_name = owner_path.partition(":")
    owner = importlib.import_module(module_name)
    return getattr(owner, class_name) if class_name else owner


def _targets() -> list[Target]:
    targets = []
    for owner_path, attr, wrapper, why in _TARGETS:
        try:
            owner = _resolve(owner_path)
        except (ImportError, AttributeError) as exc:
            log.debug("seetrain[wandb]: %s not found (%s); not mirroring %s", owner_path, exc, why)
            continue
        targets.append(Target(owner, attr, wrapper, why))
    return targets


def _apply_patches() -> None:
    """Wrap every target once; a target this W&B version lacks is skipped."""
    _patches.apply(_targets())


def _remove_patches() -> None:
    """Put back the original objects, so ``wandb.init is <the original function>`` holds again."""
    _patches.restore()


# ---- value conversion ----------------------------------------------------------------------------
def _size(value: Any) -> int | None:
    numel = getattr(value, "numel", None)
    if callable(numel):
        return int(numel())
    size = getattr(value, "size", None)
    return size if isinstance(size, int) else None


class _Skip:
    """A W&B value SeeTrain has no record type for (tables, 3D objects, video ...)."""


def _convert(value: Any, wandb: Any, skipped: list[str]) -> Any:
    if isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            converted = _convert(item, wandb, skipped)
            if not isinstance(converted, _Skip):
                out[str(key)] = converted
        return out
    if isinstance(value, str):
        return seetrain.Text(value)
    if isinstance(value, wandb.Image):
        return _image(value)
    if isinstance(value, wandb.Histogram):
        return seetrain.Histogram(np_histogram=(value.histogram, value.bins))
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, wandb.Image) for v in value):
        return [_image(v) for v in value]
    size = _size(value)
    if size == 1 and hasattr(value, "item"):
        return value
    if size is not None and size > 1:
        return seetrain.Histogram(value)  # W&B logs arrays as histograms too
    skipped.append(type(value).__name__)
    return _Skip()


def _image(value: Any) -> Any:
    source = getattr(value, "_image", None) or getattr(value, "_path", None)
    return seetrain.Image(source, caption=getattr(value, "_caption", None))


def _config_dict(config: Any) -> dict[str, Any]:
    # Config.items() leaves out W&B's private "_wandb" entries.
    return {str(k): v for k, v in config.items()}


# ---- the mirror ----------------------------------------------------------------------------------
class WandbMirror:
    """The patches and the W&B-run to SeeTrain-run table of one integration."""

    def __init__(self, integration: WandbIntegration) -> None:
        self.integration = integration
        self._runs: dict[int, tuple[Any, Any]] = {}      # id(wandb run) -> (wandb run, seetrain run)
        self._configs: dict[int, Any] = {}               # id(wandb run config) -> seetrain run
        self.skipped: dict[str, int] = {}

    @property
    def enabled(self) -> bool:
        return _active is self

    def enable(self) -> WandbMirror:
        """Apply the patches (once) and make this the mirror they report to."""
        global _active
        with _lock:
            previous = _active
            if previous is self:
                return self
            if previous is not None:
                log.info("seetrain[wandb]: a new mirror replaces the active one")
                previous.integration.finish()
            _apply_patches()
            _active = self
        return self

    def disable(self, status: str = "finished") -> None:
        """Stop mirroring, restore W&B exactly, and finish the SeeTrain runs this mirror opened."""
        global _active
        with _lock:
            if _active is self:
                _active = None
                _remove_patches()
        for wandb_run, _ in list(self._runs.values()):
            self.on_finish(wandb_run, None, status=status)

    def runs(self) -> list[Any]:
        """The SeeTrain runs still open for W&B runs."""
        return [run for _, run in self._runs.values()]

    def target(self, wandb_run: Any) -> Any:
        entry = self._runs.get(id(wandb_run))
        return entry[1] if entry is not None and entry[0] is wandb_run else None

    # ---- events from the wrappers -----------------------------------------------------------
    def on_init(self, wandb_run: Any, init_kwargs: dict[str, Any]) -> None:
        if wandb_run is None or self.target(wandb_run) is not None:
            return  # reinit="return_previous" hands back the run already mirrored
        integration = self.integration
        if not integration.may_log:
            return
        config = _config_dict(wandb_run.config)
        mapped: dict[str, Any] = {
            "project": init_kwargs.get("project") or getattr(wandb_run, "project", None),
            "experiment_name": getattr(wandb_run, "name", None) or None,
            "description": getattr(wandb_run, "notes", None) or None,
            "tags": list(getattr(wandb_run, "tags", None) or []),
            "group": getattr(wandb_run, "group", None) or None,
        }
        user = integration.user_kwargs
        kwargs = {**{k: v for k, v in mapped.items() if v}, **user}
        kwargs["config"] = {**config, **normalize_config(user.get("config"))}
        kwargs["tags"] = list(dict.fromkeys([*mapped["tags"], *(user.get("tags") or [])]))
        run = integration.open_run(kwargs)
        run.set_metadata(wandb={"id": getattr(wandb_run, "id", None), "project": mapped["project"],
                                "entity": getattr(wandb_run, "entity", None),
                                "job_type": getattr(wandb_run, "job_type", None),
                                "dir": getattr(wandb_run, "dir", None)})
        self._runs[id(wandb_run)] = (wandb_run, run)
        self._configs[id(wandb_run.config)] = run

    def log(self, run: Any, data: Mapping[str, Any], step: int | None) -> None:
        import wandb

        skipped: list[str] = []
        converted = _convert(data, wandb, skipped)
        for name in skipped:
            if name not in self.skipped:
                log.debug("seetrain[wandb]: %s values have no SeeTrain record type; not mirrored", name)
            self.skipped[name] = self.skipped.get(name, 0) + 1
        if converted:
            run.log(converted, step=step)
            self.integration.stats["records_sent"] += 1

    def on_config_change(self, config: Any) -> None:
        run = self._configs.get(id(config))
        if run is not None:
            run.update_config(_config_dict(config))

    def on_finish(self, wandb_run: Any, exit_code: int | None, status: str | None = None) -> None:
        if self.target(wandb_run) is None:
            return
        _, run = self._runs.pop(id(wandb_run))
        self._configs.pop(id(getattr(wandb_run, "config", None)), None)
        run.finish(status=status or ("failed" if exit_code not in (None, 0) else "finished"))


_PENDING_MARK = "_seetrain_pending"


class WandbIntegration(Integration):
    """The hub side: ``init_wandb(**seetrain_kwargs)`` starts mirroring; ``get_tracker()`` is
    the ``WandbMirror``. ``finish()`` (or ``unsync_wandb()``) restores W&B.

    A SeeTrain run is opened per ``wandb.init``; ``integration.run`` is the latest of them.
    Logging through the hub before any ``wandb.init`` opens a run from the given arguments.
    """

    name = "wandb"
    mode = "tracker"

    def __init__(self, project: str | None = None, experiment_name: str | None = None,
                 description: str | None = None, config: Any = None, tags: list[str] | None = None,
                 log_all_ranks: bool = False, run: Any = None, **init_kwargs: Any) -> None:
        given = {"project": project, "experiment_name": experiment_name, "description": description,
                 "config": config, "tags": tags, **init_kwargs}
        self.user_kwargs = {k: v for k, v in given.items() if v is not None}
        self._log_all_ranks = log_all_ranks
        self._opened: list[Any] = []
        self._ready = False  # the base class touches self.run while tagging: open nothing then
        self._finish_status = "finished"
        placeholder = run
        if placeholder is None:
            # The run comes later, from wandb.init (or from the first hub log): see ``run``.
            placeholder = DisabledRun(config=config)
            setattr(placeholder, _PENDING_MARK, True)
        super().__init__(log_all_ranks=log_all_ranks, run=placeholder)
        self._owns_run = run is None
        self._ready = True
        self.mirror = WandbMirror(self)
        if run is None and self.may_log:
            self.mirror.enable()

    # ---- the run, opened on demand -----------------------------------------------------------
    @property
    def run(self) -> Any:
        current = self._run
        if getattr(current, _PENDING_MARK, False) and self._ready and not self._finished and self.may_log:
            with self._lock:
                if getattr(self._run, _PENDING_MARK, False):
                    self.open_run(dict(self.user_kwargs))
            current = self._run
        return current

    @run.setter
    def run(self, value: Any) -> None:
        self._run = value

    @property
    def may_log(self) -> bool:
        return self.rank == 0 or self._log_all_ranks

    def open_run(self, kwargs: dict[str, Any]) -> Any:
        """A SeeTrain run tagged as W&B's, which becomes ``self.run``."""
        run = seetrain.init(reinit="create_new", **kwargs)
        self._run = run
        self._opened.append(run)
        self._tag_framework()
        return run

    @property
    def enabled(self) -> bool:
        if self._finished or not self.may_log:
            return False
        if getattr(self._run, _PENDING_MARK, False):
            return self.mirror.enabled
        return not isinstance(self._run, DisabledRun)

    def get_tracker(self) -> WandbMirror:
        return self.mirror

    def get_config(self) -> dict[str, Any]:
        return self._run.config.as_dict()

    def get_stats(self) -> dict[str, Any]:
        return {"integration": self.name, "mode": self.mode, "rank": self.rank, "enabled": self.enabled,
                "records_sent": self.stats["records_sent"], "degraded_calls": self.stats["degraded_calls"],
                "errors": dict(self.errors), "mirrored_runs": len(self._opened),
                "skipped_values": dict(self.mirror.skipped), "run": self._run.get_stats()}

    def finish(self, status: str = "finished") -> None:
        """Restore W&B and finish every SeeTrain run this integration opened (idempotent)."""
        self._finish_status = status
        super().finish(status=status)
        for run in self._opened:
            if not run.finished:
                self.guard(run.finish, status=status)

    def _teardown(self) -> None:
        self.mirror.disable(status=self._finish_status)


def sync_wandb(**seetrain_kwargs: Any) -> WandbIntegration:
    """Mirror W&B into SeeTrain from now on; returns the integration (its ``get_tracker()`` is
    the ``WandbMirror``). Calling it again while a mirror is on returns that one. Keyword
    arguments override what W&B gives (project, experiment_name, tags ...) and go to
    ``seetrain.init`` (logdir, mode ...)."""
    with _lock:
        if _active is not None:
            log.info("seetrain[wandb]: already synced; returning the active mirror")
            return _active.integration
    from integrations import main

    return main.init_wandb(**seetrain_kwargs)  # type: ignore[return-value]


def unsync_wandb(status: str = "finished") -> None:
    """Stop mirroring: W&B gets its original functions back; mirrored SeeTrain runs are finished."""
    mirror = _active
    if mirror is not None:
        mirror.integration.finish(status=status)


unsync = unsync_wandb
