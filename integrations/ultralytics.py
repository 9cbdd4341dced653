"""Ultralytics YOLO: ``add_seetrain_callback(model)`` before ``model.train(...)``.

Per epoch it logs what Ultralytics writes to ``results.csv`` (train losses, validation metrics,
learning rates) at step ``epoch`` (1-based, as in that file); at the end it logs the result plots
found in ``trainer.save_dir`` as images and records the checkpoints and the final validation of
``best.pt``.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from integrations._artifacts import CheckpointArtifacts, log_model_setting
from integrations._base import Integration
from integrations._binding import LazyIntegration

__all__ = ["SeeTrainCallbacks", "UltralyticsIntegration", "add_seetrain_callback"]

log = logging.getLogger("seetrain")
PLOT_SUFFIXES = (".png", ".jpg", ".jpeg")


class UltralyticsIntegration(Integration):
    """Hub entry for Ultralytics: ``get_callback()`` is the ``{event: function}`` dict to add."""

    name = "ultralytics"
    mode = "callback"

    def get_callback(self) -> dict[str, Callable[[Any], None]]:
        return SeeTrainCallbacks(integration=self).callbacks()


def _safe(method: Callable[..., None]) -> Callable[..., None]:
    """A SeeTrain failure inside a callback is counted, never raised into the YOLO trainer."""

    @functools.wraps(method)
    def wrapper(self: SeeTrainCallbacks, trainer: Any) -> None:
        try:
            method(self, trainer)
        except Exception as exc:  # noqa: BLE001
            integration = self._lazy.created
            if integration is not None:
                integration._degraded(exc)
            else:
                log.warning("seetrain[ultralytics]: %s in %s: %s", type(exc).__name__, method.__name__, exc)

    return wrapper


class SeeTrainCallbacks:
    """The state behind the Ultralytics callbacks of one training run.

    Args:
        project, experiment_name, description, config, tags, logdir, mode: as in ``seetrain.init``
            (defaults: project ``ultralytics``, the YOLO run name).
        log_plots: log the png/jpg plots of ``trainer.save_dir`` at the end of training.
        log_model: store ``best.pt`` (alias ``best``) and ``last.pt`` (alias ``last``) as versions of
            the artifact ``model-<run id>``: ``True`` when training ends (after Ultralytics strips
            the optimizer from them), ``"all"`` also after every save.
        integration: bind to an existing ``UltralyticsIntegration``.
    """

    def __init__(self, project: str | None = None, experiment_name: str | None = None,
                 description: str | None = None, config: Any = None, tags: list[str] | None = None,
                 logdir: str | os.PathLike[str] | None = None, mode: str | None = None,
                 log_plots: bool = True, log_all_ranks: bool = False, log_model: bool | str = False,
                 integration: UltralyticsIntegration | None = None, **init_kwargs: Any) -> None:
        kwargs = {"project": project, "experiment_name": experiment_name, "description": description,
                  "config": config, "tags": tags, "mode": mode, "log_all_ranks": log_all_ranks or None,
                  "logdir": os.fspath(logdir) if logdir is not None else None, **init_kwargs}
        self._lazy = LazyIntegration(UltralyticsIntegration, kwargs, integration)
        self.log_plots = log_plots
        self.log_model = log_model_setting(log_model)
        self._model_artifacts: CheckpointArtifacts | None = None
        self._epoch_trained = False
        self._logged_epochs: set[int] = set()

    @property
    def integration(self) -> Integration | None:
        return self._lazy.created

    def callbacks(self) -> dict[str, Callable[[Any], None]]:
        return {
            "on_pretrain_routine_start": self.on_pretrain_routine_start,
            "on_pretrain_routine_end": self.on_pretrain_routine_end,
            "on_train_epoch_end": self.on_train_epoch_end,
            "on_fit_epoch_end": self.on_fit_epoch_end,
            "on_model_save": self.on_model_save,
            "on_train_end": self.on_train_end,
        }

    def _session(self, trainer: Any) -> Integration:
        args = getattr(trainer, "args", None)
        return self._lazy.get(rank_zero=_rank() in (-1, 0), project="ultralytics",
                              experiment_name=getattr(args, "name", None))

    @_safe
    def on_pretrain_routine_start(self, trainer: Any) -> None:
        integration = self._session(trainer)
        args = {k: v for k, v in vars(trainer.args).items() if not k.startswith("_")}
        integration.update_config(args)
        integration.guard(integration.run.set_metadata, ultralytics={
            "task": getattr(trainer.args, "task", None), "save_dir": str(trainer.save_dir)})

    @_safe
    def on_pretrain_routine_end(self, trainer: Any) -> None:
        integration = self._session(trainer)
        model = getattr(trainer, "model", None)
        if model is None or not hasattr(model, "parameters"):
            return
        params = list(model.parameters())
        info = {"class": type(model).__name__, "total_params": sum(p.numel() for p in params),
                "trainable_params": sum(p.numel() for p in params if p.requires_grad)}
        integration.run.set_metadata(model=info)
        integration.update_config({"model_parameters": info["total_params"]})

    @_safe
    def on_train_epoch_end(self, trainer: Any) -> None:
        self._epoch_trained = True

    @_safe
    def on_fit_epoch_end(self, trainer: Any) -> None:
        integration = self._session(trainer)
        if not self._epoch_trained:
            # Ultralytics fires this hook once more after training, for the validation of
            # best.pt (at the last epoch, or the last + 1 since 8.3): keep it apart from the
            # per-epoch history instead of logging a duplicate point.
            self._final_validation(integration, trainer)
            return
        self._epoch_trained = False
        epoch = int(trainer.epoch) + 1
        if epoch in self._logged_epochs:
            return
        self._logged_epochs.add(epoch)
        losses = trainer.label_loss_items(trainer.tloss, prefix="train") if trainer.tloss is not None else {}
        values = {**losses, **_numeric(trainer.metrics), **_numeric(getattr(trainer, "lr", {}) or {})}
        values["epoch"] = epoch
        epoch_time = getattr(trainer, "epoch_time", None)
        if isinstance(epoch_time, (int, float)):
            values["time/epoch_seconds"] = float(epoch_time)
        integration.log(values, step=epoch)

    def _final_validation(self, integration: Integration, trainer: Any) -> None:
        metrics = _numeric(trainer.metrics)
        best = getattr(trainer, "best", None)
        payload: dict[str, Any] = {"metrics": metrics, "model": str(best) if best else None,
                   "epoch": max(self._logged_epochs, default=0)}
        integration.log_event("final_validation", payload, step=payload["epoch"])
        integration.run.set_metadata(final_validation=payload)

    @_safe
    def on_model_save(self, trainer: Any) -> None:
        integration = self._session(trainer)
        epoch = int(trainer.epoch) + 1
        payload = {"path": str(trainer.last), "best_model_path": str(trainer.best),
                   "best_fitness": _float_or_none(getattr(trainer, "best_fitness", None)), "epoch": epoch}
        integration.log_event("checkpoint", payload, step=epoch)
        if self.log_model == "all":
            self._log_weights(integration, trainer)

    def _log_weights(self, integration: Integration, trainer: Any) -> None:
        if not integration.enabled:
            return
        if self._model_artifacts is None or self._model_artifacts.run is not integration.run:
            self._model_artifacts = CheckpointArtifacts(integration.run, guard=integration.guard)
        meta = {"epoch": int(getattr(trainer, "epoch", 0)) + 1,
                "best_fitness": _float_or_none(getattr(trainer, "best_fitness", None))}
        for attr, alias in (("last", "last"), ("best", "best")):
            path = getattr(trainer, attr, None)
            if path and os.path.isfile(path):
                self._model_artifacts.log(str(path), [alias], {**meta, "original_filename": os.path.basename(path)})

    @_safe
    def on_train_end(self, trainer: Any) -> None:
        integration = self._session(trainer)
        step = max(self._logged_epochs, default=0)
        if self.log_plots:
            for path in _plot_files(trainer):
                integration.guard(integration.run.log_image, f"plots/{path.stem}", str(path),
                                  caption=path.name, step=step)
        if self.log_model:
            self._log_weights(integration, trainer)
        self._lazy.finish("finished")


def add_seetrain_callback(model: Any, **kwargs: Any) -> SeeTrainCallbacks:
    """Attach SeeTrain to a YOLO model: ``add_seetrain_callback(YOLO("yolov8n.yaml"), project="p")``.

    Keyword arguments go to :class:`SeeTrainCallbacks`; returns it (its ``integration`` is the
    run's Integration once training started).
    """
    callbacks = SeeTrainCallbacks(**kwargs)
    for event, func in callbacks.callbacks().items():
        model.add_callback(event, func)
    return callbacks


def _rank() -> int:
    try:
        return int(os.environ.get("RANK", "-1"))
    except ValueError:
        return -1


def _float_or_none(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def _numeric(values: dict[str, Any]) -> dict[str, float]:
    out = {}
    for key, value in dict(values or {}).items():
        number = _float_or_none(value)
        if number is not None:
            out[str(key)] = number
    return out


def _plot_files(trainer: Any) -> list[Path]:
    save_dir = Path(trainer.save_dir)
    files = {p for p in save_dir.glob("*") if p.suffix.lower() in PLOT_SUFFIXES}
    # Plots Ultralytics registered through on_plot() may live elsewhere (validator folders).
    for registry in (getattr(trainer, "plots", {}), getattr(getattr(trainer, "validator", None), "plots", {})):
        for path in (registry or {}):
            path = Path(path)
            if path.suffix.lower() in PLOT_SUFFIXES and path.is_file():
                files.add(path)
    return sorted(files)
