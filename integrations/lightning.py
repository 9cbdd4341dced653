"""PyTorch Lightning: ``Trainer(logger=SeeTrainLogger(project="p"))``.

``SeeTrainLogger`` implements Lightning's ``Logger`` contract (name, version, a lazily created
``experiment`` that is the seetrain Run, ``log_metrics``, ``log_hyperparams``, ``log_graph``,
``save``, ``finalize``, ``after_save_checkpoint``) and works in ``lightning.pytorch.Trainer`` and
``pytorch_lightning.Trainer`` alike, next to other loggers.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging as log_module
import os
import sys
import traceback
from collections.abc import Mapping
from typing import Any

from lightning.pytorch.loggers import Logger
from lightning_utilities.core.rank_zero import rank_zero_only

from integrations._artifacts import CheckpointArtifacts, log_model_setting
from integrations._base import Integration
from integrations._binding import LazyIntegration, current_run_integration
from integrations._patching import Target
from seetrain import DisabledRun, Run

__all__ = ["LightningIntegration", "SeeTrainLogger", "autolog_targets"]

# Lightning's finalize() statuses -> SeeTrain's final statuses.
_STATUS = {"success": "finished", "finished": "finished", "failed": "failed", "aborted": "aborted"}


class LightningIntegration(Integration):
    """Hub entry for Lightning: ``init_pytorch_lightning(...).get_callback()`` is a SeeTrainLogger."""

    name = "pytorch_lightning"
    mode = "callback"

    def get_callback(self) -> SeeTrainLogger:
        return SeeTrainLogger(integration=self)


class SeeTrainLogger(Logger):
    """A Lightning logger writing to a SeeTrain run.

    Args:
        project, experiment_name, description, config, tags: as in ``seetrain.init``.
        logdir, mode: where and how the run is stored (``seetrain.init`` passthrough).
        prefix: put before every metric key (``prefix/key``).
        log_model_summary: record the module tree and parameter counts when training starts.
        log_all_ranks: log from every rank as grouped runs instead of rank 0 only.
        log_model: store ModelCheckpoint files as versions of the artifact ``model-<run id>``
            (as WandbLogger does): ``True`` logs the kept checkpoints when training ends (every
            one as it is saved when ``save_top_k=-1``), ``"all"`` logs each checkpoint as soon as
            it is saved; the best one (``best_model_path``) carries the ``best`` alias.
        integration: bind to an existing ``LightningIntegration`` instead of creating a run.
        **init_kwargs: more ``seetrain.init`` arguments (``system_monitor``, ``group`` ...).

    The run is created on first use. When this logger created it, ``Trainer`` ending finishes it
    (``finalize("success")`` -> finished, ``"failed"`` -> failed, Ctrl-C -> aborted); a later
    ``trainer.test()`` reopens the same run and continues it.
    """

    def __init__(self, project: str | None = None, experiment_name: str | None = None,
                 description: str | None = None, config: Any = None, tags: list[str] | None = None,
                 logdir: str | os.PathLike[str] | None = None, mode: str | None = None, prefix: str = "",
                 log_model_summary: bool = True, log_all_ranks: bool = False,
                 log_model: bool | str = False,
                 integration: LightningIntegration | None = None, **init_kwargs: Any) -> None:
        super().__init__()
        self._log_model = log_model_setting(log_model)
        self._model_artifacts: CheckpointArtifacts | None = None
        self._checkpoint_callback: Any = None
        self._prefix = prefix
        self._log_model_summary = log_model_summary
        self._project = project
        kwargs = {"project": project, "experiment_name": experiment_name, "description": description,
                  "config": config, "tags": tags, "mode": mode, "log_all_ranks": log_all_ranks or None,
                  "logdir": os.fspath(logdir) if logdir is not None else None, **init_kwargs}
        self._lazy = LazyIntegration(LightningIntegration, kwargs, integration)
        self._checkpoints: list[str] = []

    # ---- identity (Lightning reads these to build checkpoint folders) ------------------------
    def _session(self) -> Integration:
        # Logging calls go through here: it creates the run, or reopens it after finalize().
        return self._lazy.get(rank_zero=getattr(rank_zero_only, "rank", 0) == 0)

    @property
    def integration(self) -> Integration:
        """The LightningIntegration behind this logger (created on first use, kept after finalize)."""
        return self._lazy.created or self._session()

    @property
    def experiment(self) -> Run | DisabledRun:
        """The seetrain Run (a no-op run on non-zero ranks): ``self.logger.experiment.log_image(...)``."""
        return self._session().run

    @property
    def _identity_run(self) -> Run | DisabledRun:
        return self.integration.run

    @property
    def name(self) -> str:
        run = self._identity_run
        if isinstance(run, DisabledRun):
            return self._project or "default"
        return run.project

    @property
    def version(self) -> str | None:
        run = self._identity_run
        return None if isinstance(run, DisabledRun) else run.id

    @property
    def save_dir(self) -> str | None:
        """The SeeTrain logdir, so that checkpoints land in ``<logdir>/<project>/<run id>/checkpoints``."""
        run = self._identity_run
        return None if isinstance(run, DisabledRun) else run.settings.logdir

    @property
    def root_dir(self) -> str | None:
        save_dir = self.save_dir
        return None if save_dir is None else os.path.join(save_dir, self.name)

    @property
    def log_dir(self) -> str | None:
        run = self._identity_run
        return None if isinstance(run, DisabledRun) else run.dir

    # ---- the contract --------------------------------------------------------------------------
    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        """Log ``metrics`` at Lightning's ``step`` (its optimizer-step count while fitting)."""
        integration = self._session()
        if not integration.enabled:
            return
        if self._prefix:
            metrics = {f"{self._prefix}/{k}": v for k, v in metrics.items()}
        integration.log(dict(metrics), step=step)

    def log_hyperparams(self, params: Any = None, *args: Any, metrics: Mapping[str, Any] | None = None,
                        **kwargs: Any) -> None:
        """Merge ``params`` (dict, ``argparse.Namespace``, ``AttributeDict``, dataclass or an
        omegaconf-like object with ``to_container``) into the run config."""
        integration = self._session()
        if not integration.enabled:
            return
        values = integration.guard(_params_to_dict, params)
        if values:
            integration.update_config(values)
        if metrics:
            self.log_metrics(metrics, step=0)

    def log_graph(self, model: Any, input_array: Any = None) -> None:
        """Record the module tree (top-level children) and parameter counts; runs no forward pass."""
        if not self._log_model_summary:
            return
        integration = self._session()
        if not integration.enabled:
            return
        summary = integration.guard(model_summary, model)
        if summary:
            integration.log_event("model_summary", summary)
            integration.guard(integration.run.set_metadata, model={
                "class": summary["class"], "total_params": summary["total_params"],
                "trainable_params": summary["trainable_params"]})

    def save(self) -> None:
        """Non-blocking: Lightning calls this after every ``log_metrics``; the writer thread
        persists records within its flush interval, and ``finalize`` flushes them all."""

    def after_save_checkpoint(self, checkpoint_callback: Any) -> None:
        """Record the path of every checkpoint Lightning saves (and the best one so far)."""
        integration = self._session()
        if integration.enabled:
            integration.guard(self._record_checkpoint, integration, checkpoint_callback)
            if self._log_model == "all" or (self._log_model is True
                                            and getattr(checkpoint_callback, "save_top_k", None) == -1):
                self._log_checkpoints(integration, checkpoint_callback)
            elif self._log_model is True:
                self._checkpoint_callback = checkpoint_callback

    def _log_checkpoints(self, integration: Integration, callback: Any) -> None:
        """Log the checkpoint files ModelCheckpoint currently keeps, oldest first."""
        if self._model_artifacts is None or self._model_artifacts.run is not integration.run:
            self._model_artifacts = CheckpointArtifacts(integration.run, guard=integration.guard)
        best = getattr(callback, "best_model_path", "") or ""
        scores = {str(p): s for p, s in (getattr(callback, "best_k_models", None) or {}).items()}
        paths = {*scores, getattr(callback, "last_model_path", "") or "", best} - {""}
        existing = sorted((p for p in paths if os.path.isfile(p)), key=os.path.getmtime)
        settings = {k: getattr(callback, k, None) for k in ("monitor", "mode", "save_last", "save_top_k",
                                                             "save_weights_only", "_every_n_train_steps")}
        for path in existing:
            score = scores.get(path)
            metadata = {"score": float(score) if score is not None else None,
                        "original_filename": os.path.basename(path), "ModelCheckpoint": settings}
            self._model_artifacts.log(path, ["best"] if path == best else [], metadata)

    def _record_checkpoint(self, integration: Integration, callback: Any) -> None:
        path = (getattr(callback, "_last_checkpoint_saved", None) or getattr(callback, "last_model_path", None)
                or getattr(callback, "best_model_path", None))
        best_score = getattr(callback, "best_model_score", None)
        payload = {
            "path": path or None,
            "best_model_path": getattr(callback, "best_model_path", None) or None,
            "best_model_score": float(best_score) if best_score is not None else None,
            "last_model_path": getattr(callback, "last_model_path", None) or None,
            "monitor": getattr(callback, "monitor", None),
            "global_step": getattr(callback, "_last_global_step_saved", None),
        }
        step = payload["global_step"] if isinstance(payload["global_step"], int) else None
        integration.log_event("checkpoint", payload, step=step)
        if path and path not in self._checkpoints:
            self._checkpoints.append(path)
        integration.run.set_metadata(checkpoints={"paths": list(self._checkpoints),
                                                  "best_model_path": payload["best_model_path"],
                                                  "best_model_score": payload["best_model_score"]})

    def finalize(self, status: str) -> None:
        """Lightning's end of ``fit``/``validate``/``test``: flush, and finish the run if this
        logger created it (``success`` -> finished, ``failed`` -> failed, Ctrl-C -> aborted)."""
        integration = self._lazy.created
        if integration is None:
            return
        if integration.enabled and self._checkpoint_callback is not None:
            integration.guard(self._log_checkpoints, integration, self._checkpoint_callback)
            self._checkpoint_callback = None
        if not integration.enabled:
            self._lazy.finish()  # a no-op run (other rank): just leave the hub's active list
            return
        final = _STATUS.get(status, "finished")
        exc_type, exc, tb = sys.exc_info()
        if exc_type is not None and issubclass(exc_type, KeyboardInterrupt):
            final = "aborted"
        if final != "finished" and exc is not None:
            integration.guard(integration.run.set_metadata,
                              error="".join(traceback.format_exception(exc_type, exc, tb))[-4000:])
        if self._lazy.owns or integration.ephemeral:
            self._lazy.finish(status=final)  # an autolog integration ends here; the user's run does not
        else:
            integration.guard(integration.run.flush)


def _params_to_dict(params: Any) -> dict[str, Any]:
    if params is None:
        return {}
    if isinstance(params, argparse.Namespace):
        return vars(params).copy()
    if type(params).__module__.startswith("omegaconf"):
        from omegaconf import OmegaConf

        params = OmegaConf.to_container(params, resolve=True)
    else:
        to_container = getattr(params, "to_container", None)  # omegaconf look-alikes
        if callable(to_container):
            params = to_container(resolve=True)
    if dataclasses.is_dataclass(params) and not isinstance(params, type):
        return dataclasses.asdict(params)
    if isinstance(params, Mapping):
        return {str(k): _plain(v) for k, v in params.items()}
    raise TypeError(f"log_hyperparams takes a dict or Namespace, got {type(params).__name__}")


def _plain(value: Any) -> Any:
    if isinstance(value, argparse.Namespace):
        return {k: _plain(v) for k, v in vars(value).items()}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def model_summary(model: Any) -> dict[str, Any]:
    """Top-level children of a torch module with their parameter counts (no forward pass)."""
    rows = []
    for child_name, child in model.named_children():
        rows.append({"name": child_name, "type": type(child).__name__,
                     "params": sum(p.numel() for p in child.parameters()),
                     "input_shape": None, "output_shape": None})
    params = list(model.parameters())
    return {"class": type(model).__name__, "rows": rows,
            "total_params": sum(p.numel() for p in params),
            "trainable_params": sum(p.numel() for p in params if p.requires_grad)}


# ---- seetrain.autolog() -------------------------------------------------------------------------
def _with_logger(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
    try:
        if not any(isinstance(logger, SeeTrainLogger) for logger in instance.loggers):
            logger = SeeTrainLogger(integration=current_run_integration(LightningIntegration))
            instance.loggers = [*instance.loggers, logger]
    except Exception as exc:  # noqa: BLE001 - autolog never stops training
        log_module.getLogger("seetrain").warning("seetrain: autolog could not add its Lightning logger: %s", exc)
    return wrapped(*args, **kwargs)


def autolog_targets() -> list[Target]:
    """``Trainer.fit/validate/test`` of ``lightning.pytorch`` and ``pytorch_lightning`` (those
    imported) get a ``SeeTrainLogger`` next to the trainer's own loggers."""
    targets = []
    for package in ("lightning.pytorch", "pytorch_lightning"):
        module = sys.modules.get(package)
        if module is None:
            continue
        for method in ("fit", "validate", "test"):
            targets.append(Target(module.Trainer, method, _with_logger,
                                  f"{package}.Trainer.{method} logs into the current run"))
    return targets
