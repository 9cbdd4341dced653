"""MMEngine (and MMDetection): a ``BaseVisBackend`` registered as ``SeeTrainVisBackend``.

Importing this module registers the backend in MMEngine's root ``VISBACKENDS`` registry, so a
config can name it::

    custom_imports = dict(imports=["integrations.mmengine"], allow_failed_imports=False)
    visualizer = dict(type="Visualizer",
                      vis_backends=[dict(type="SeeTrainVisBackend", init_kwargs=dict(project="p"))])

MMDetection (and the other OpenMMLab libraries) build their visualizers through registries whose
root is MMEngine's, so the same line works in an MMDetection config; ``framework="mmdetection"``
(or ``init_mmdetection(...)``) tags the run as MMDetection. MMDetection itself is not needed.

``SeeTrainCheckpointHook`` (registered in ``HOOKS``; ``custom_hooks=[dict(type="SeeTrainCheckpointHook")]``)
stores the files ``CheckpointHook`` saves as versions of the artifact ``model-<run id>``, the best
one (``save_best``) with the ``best`` alias.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

from mmengine.hooks import CheckpointHook, Hook
from mmengine.registry import HOOKS, VISBACKENDS
from mmengine.visualization import BaseVisBackend

from integrations import registry
from integrations._artifacts import CheckpointArtifacts
from integrations._base import Integration
from integrations._binding import LazyIntegration
from seetrain import Image, Run

__all__ = ["MMDetectionIntegration", "MMEngineIntegration", "SeeTrainCheckpointHook", "SeeTrainVisBackend"]

_MAX_GRAPH_CHARS = 100_000


class MMEngineIntegration(Integration):
    """Hub entry for MMEngine: ``init_mmengine(...).get_backend()`` is a SeeTrainVisBackend bound
    to this integration's run (pass it in ``Visualizer(vis_backends=[backend])``)."""

    name = "mmengine"
    mode = "visbackend"

    def get_backend(self, save_dir: str | None = None) -> SeeTrainVisBackend:
        return SeeTrainVisBackend(save_dir=save_dir, integration=self)


class MMDetectionIntegration(MMEngineIntegration):
    """The MMEngine backend with the run tagged ``mmdetection`` (MMDetection trains through
    MMEngine's Runner and Visualizer, so nothing else differs)."""

    name = "mmdetection"

    def _tag_framework(self) -> None:
        super()._tag_framework()
        mmdet_version = registry.framework_version("mmdet")
        if mmdet_version is not None:
            # The registry row resolves to MMEngine's version; keep MMDetection's own beside it.
            self.guard(self.run.set_metadata, mmdet_version=mmdet_version)


_INTEGRATIONS: dict[str, type[MMEngineIntegration]] = {
    "mmengine": MMEngineIntegration,
    "mmdetection": MMDetectionIntegration,
}


def _pick_framework(framework: str | None) -> type[MMEngineIntegration]:
    if framework is None:
        # An MMDetection training script has imported mmdet by the time the backend is built.
        framework = "mmdetection" if "mmdet" in sys.modules else "mmengine"
    try:
        return _INTEGRATIONS[framework]
    except KeyError:
        raise ValueError(f"framework must be one of {sorted(_INTEGRATIONS)}, got {framework!r}") from None


# force=True: custom_imports or a notebook may import this module twice; the second
# registration must replace the first instead of raising "already registered".
@VISBACKENDS.register_module(name="SeeTrainVisBackend", force=True)
class SeeTrainVisBackend(BaseVisBackend):
    _env_initialized: bool  # set by BaseVisBackend
    """An MMEngine visualization backend writing to a SeeTrain run.

    Args:
        save_dir: given by MMEngine's Visualizer (``<work_dir>/<timestamp>/vis_data``); kept in
            the run metadata. SeeTrain's own logdir is ``init_kwargs["logdir"]`` (default
            ``./seetrain_logs`` or ``$SEETRAIN_LOGDIR``).
        init_kwargs: ``seetrain.init`` arguments (project, experiment_name, description, config,
            tags, logdir, mode, log_all_ranks, system_monitor ...), the same convention as
            MMEngine's ``WandbVisBackend``.
        framework: ``"mmengine"`` or ``"mmdetection"``; default: ``mmdetection`` when ``mmdet``
            is imported, else ``mmengine``.
        integration: bind to an existing integration (``init_mmengine(...)``) instead of
            creating a run; that run is then finished by its owner, not by ``close()``.
        **kwargs: also accepted as ``seetrain.init`` arguments (``project="p"`` directly).

    The run is created on first use and finished by ``close()`` (MMEngine's LoggerHook calls it
    when ``runner.train()`` ends); a later ``runner.val()`` continues the same run.
    """

    def __init__(self, save_dir: str | None = None, init_kwargs: Mapping[str, Any] | None = None,
                 framework: str | None = None, integration: MMEngineIntegration | None = None,
                 **kwargs: Any) -> None:
        super().__init__(save_dir)  # type: ignore[arg-type]  # MMEngine passes None when unset
        cls = type(integration) if integration is not None else _pick_framework(framework)
        self._lazy = LazyIntegration(cls, {**dict(init_kwargs or {}), **kwargs}, integration)

    # ---- MMEngine's lazy environment -----------------------------------------------------
    def _init_env(self) -> None:
        """Create (or reopen) the run; MMEngine calls this before the first record."""
        integration: MMEngineIntegration = self._lazy.get()  # type: ignore[assignment]
        if self._save_dir:
            integration.guard(integration.run.set_metadata, mmengine_save_dir=os.fspath(self._save_dir))

    @property
    def integration(self) -> MMEngineIntegration:
        """The integration behind this backend (created on first use; reading it after ``close()``
        gives the finished one, it does not reopen the run)."""
        return self._lazy.created or self._lazy.get()  # type: ignore[return-value]

    @property
    def experiment(self) -> Run:
        """The seetrain Run, for records MMEngine has no method for (``.log_text``, ``.log``)."""
        self._ensure_env()
        return self.integration.run  # type: ignore[return-value]

    def _ensure_env(self) -> MMEngineIntegration:
        # MMEngine's force_init_env only runs _init_env once; after close() the run is finished
        # and must be reopened, so check the integration itself on every call.
        if not self._env_initialized or self._lazy.created is None or self._lazy.created._finished:
            self._init_env()
            self._env_initialized = True
        return self._lazy.get()  # type: ignore[return-value]

    # ---- records -------------------------------------------------------------------------
    def add_config(self, config: Any, **kwargs: Any) -> None:
        """Record the Runner's config (MMEngine calls this only for ``Runner.from_cfg``)."""
        integration = self._ensure_env()
        integration.guard(self._add_config, integration, config)

    @staticmethod
    def _add_config(integration: MMEngineIntegration, config: Any) -> None:
        to_dict = getattr(config, "to_dict", None)
        values = to_dict() if callable(to_dict) else dict(config)
        values.pop("framework", None)  # the framework tag of the run must survive
        integration.update_config(values)
        filename = getattr(config, "filename", None)
        if filename:
            integration.run.set_metadata(mmengine_config_file=os.fspath(filename))

    def add_graph(self, model: Any, data_batch: Any = None, **kwargs: Any) -> None:
        """Record the model as a ``graph`` record (``seetrain.log_graph``'s payload: traced with
        torch.fx, no shapes since MMEngine's data batch is not a forward input) and, as before,
        the module repr and parameter count as a ``model_graph`` event."""
        integration = self._ensure_env()
        integration.guard(self._add_graph, integration, model)

    @staticmethod
    def _add_graph(integration: MMEngineIntegration, model: Any) -> None:
        params = sum(int(p.numel()) for p in model.parameters()) if hasattr(model, "parameters") else None
        integration.log_event("model_graph", {"repr": repr(model)[:_MAX_GRAPH_CHARS], "parameters": params,
                                              "class": type(model).__name__})
        if hasattr(model, "parameters"):
            from seetrain.insight.graph import graph_payload

            integration.log_event("graph", graph_payload(model), key="graph")

    def add_image(self, name: str, image: Any, step: int = 0, **kwargs: Any) -> None:
        """Record an image (MMEngine passes HWC RGB uint8 arrays)."""
        integration = self._ensure_env()
        if integration.enabled:
            integration.guard(integration.log, {name: Image(image)}, step)

    def add_scalar(self, name: str, value: Any, step: int = 0, **kwargs: Any) -> None:
        """Record one scalar (int, float, numpy or torch scalar)."""
        self._ensure_env().log({name: value}, step=step)

    def add_scalars(self, scalar_dict: Mapping[str, Any], step: int = 0, file_path: str | None = None,
                    **kwargs: Any) -> None:
        """Record a dict of scalars; MMEngine's LoggerHook calls this each logging interval
        (step = iteration) and after each validation (step = epoch by default)."""
        self._ensure_env().log(dict(scalar_dict), step=step)

    def close(self) -> None:
        """Finish the run if this backend created it; a bound run is only flushed."""
        created = self._lazy.created
        if created is None:
            return
        if self._lazy.owns:
            self._lazy.finish()
        else:
            created.guard(created.run.flush)


@HOOKS.register_module(name="SeeTrainCheckpointHook", force=True)
class SeeTrainCheckpointHook(Hook):
    """Logs what MMEngine's ``CheckpointHook`` saved as artifact versions.

    Runs after ``CheckpointHook`` (priority ``LOWEST``): after each training epoch/iteration its
    ``last_ckpt`` is logged if it is new, after validation its best checkpoint(s) get the
    ``best`` alias. Versions go to the run of the ``SeeTrainVisBackend`` in the Runner's
    visualizer, else to the current run; with neither, the hook does nothing.

    Args:
        artifact_name: default ``model-<run id>``.
    """

    priority = "LOWEST"

    def __init__(self, artifact_name: str | None = None) -> None:
        self.artifact_name = artifact_name
        self._artifacts: CheckpointArtifacts | None = None

    def after_train_epoch(self, runner: Any) -> None:
        self._log(runner)

    def after_train_iter(self, runner: Any, batch_idx: int, data_batch: Any = None, outputs: Any = None) -> None:
        self._log(runner)

    def after_val_epoch(self, runner: Any, metrics: Mapping[str, float] | None = None) -> None:
        self._log(runner)

    def _log(self, runner: Any) -> None:
        hooks = [h for h in getattr(runner, "hooks", []) if isinstance(h, CheckpointHook)]
        if not hooks:
            return
        run = _runner_run(runner)
        if run is None:
            return
        if self._artifacts is None or self._artifacts.run is not run:
            self._artifacts = CheckpointArtifacts(run, name=self.artifact_name)
        meta = {"epoch": int(getattr(runner, "epoch", 0)), "iter": int(getattr(runner, "iter", 0))}
        for hook in hooks:
            last = getattr(hook, "last_ckpt", None)
            if last and os.path.isfile(str(last)):
                self._artifacts.log(str(last), [], {**meta, "original_filename": os.path.basename(str(last))})
            bests = [getattr(hook, "best_ckpt_path", None),
                     *(getattr(hook, "best_ckpt_path_dict", None) or {}).values()]
            for best in bests:
                if best and os.path.isfile(str(best)) and str(best) != self._artifacts.best_path:
                    self._artifacts.log(str(best), ["best"], {**meta, "original_filename": os.path.basename(str(best)),
                                                              "save_best": getattr(hook, "save_best", None)})


def _runner_run(runner: Any) -> Any:
    visualizer = getattr(runner, "visualizer", None)
    for backend in (getattr(visualizer, "_vis_backends", None) or {}).values():
        if isinstance(backend, SeeTrainVisBackend):
            created = backend._lazy.created
            if created is not None and created.enabled:
                return created.run
    import seetrain

    run = seetrain.get_run()
    return None if run is None or run.finished else run
