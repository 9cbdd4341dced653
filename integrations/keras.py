"""Keras 3: ``model.fit(..., callbacks=[SeeTrainCallback(project="p")])``.

Keys: batch metrics as ``batch/<metric>`` (Keras' running means within the epoch, as the progress
bar shows them), epoch metrics as ``train/<metric>`` and ``val/<metric>`` (``val_`` stripped) plus
``epoch``, the learning rate as ``train/learning_rate``, a standalone ``model.evaluate()`` as
``eval/<metric>``. Everything shares one step axis: the number of training batches seen so far,
so epoch points line up with the batch curves.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

import keras

from integrations._artifacts import CheckpointArtifacts
from integrations._base import Integration
from integrations._binding import FitCallback, current_run_integration
from integrations._patching import Target

__all__ = ["KerasIntegration", "SeeTrainCallback", "SeeTrainModelCheckpoint"]


class KerasIntegration(Integration):
    """Hub entry for Keras: ``init_keras(...).get_callback()`` is a SeeTrainCallback."""

    name = "keras"
    mode = "callback"

    def get_callback(self) -> SeeTrainCallback:
        return SeeTrainCallback(integration=self)


class SeeTrainCallback(FitCallback, keras.callbacks.Callback):
    """A Keras callback writing to a SeeTrain run.

    Args:
        project, experiment_name, description, config, tags, logdir, mode: as in ``seetrain.init``.
        log_every_n_batches: log batch metrics every n training batches (0 turns batch logging
            off). Keras hands the callback plain floats, so logging each batch is cheap.
        log_model_summary: record the model summary (text and per-layer rows) when fit starts.
        log_all_ranks: log from every process as grouped runs instead of rank 0 only.
        integration: bind to an existing ``KerasIntegration``.

    The run starts with ``fit``; when this callback created it, the end of ``fit`` finishes it
    and a later ``fit``/``evaluate`` with the same callback continues the same run.
    """

    integration_class = KerasIntegration

    def __init__(self, project: str | None = None, experiment_name: str | None = None,
                 description: str | None = None, config: Any = None, tags: list[str] | None = None,
                 logdir: str | os.PathLike[str] | None = None, mode: str | None = None,
                 log_every_n_batches: int = 1, log_model_summary: bool = True, log_all_ranks: bool = False,
                 integration: KerasIntegration | None = None, **init_kwargs: Any) -> None:
        super().__init__()
        self._hold_fit(integration, log_every_n_batches, logdir, log_all_ranks, project=project,
                       experiment_name=experiment_name, description=description, config=config, tags=tags,
                       mode=mode, **init_kwargs)
        self.log_model_summary = log_model_summary
        self._summary_logged = False
        if not self.log_every_n_batches:
            # Keras converts every batch's logs to Python floats (a device sync) and turns off its
            # asynchronous callback dispatch as soon as one callback has a batch hook: without
            # batch logging, present the base class' no-op hook so Keras sees none.
            self.on_train_batch_end = keras.callbacks.Callback.on_train_batch_end.__get__(self)  # type: ignore[method-assign]

    # ---- fit -----------------------------------------------------------------------------------
    def _record_setup(self, integration: Integration) -> None:
        model = self.model
        values: dict[str, Any] = {"fit": dict(self.params or {})}
        optimizer = getattr(model, "optimizer", None)
        if optimizer is not None:
            values["optimizer"] = {"class": type(optimizer).__name__, **optimizer.get_config()}
        loss = getattr(model, "loss", None)
        if loss is not None:
            values["loss"] = loss if isinstance(loss, str) else getattr(loss, "name", type(loss).__name__)
        integration.update_config(values)
        if self.log_model_summary and not self._summary_logged:
            self._summary_logged = True
            self._record_summary(integration, model)

    def _record_summary(self, integration: Integration, model: Any) -> None:
        rows = [_layer_row(layer) for layer in getattr(model, "layers", [])]
        total = _count(model)
        trainable = sum(_count_weights(w) for w in getattr(model, "trainable_weights", []))
        payload = {"model": model.name, "class": type(model).__name__, "rows": rows,
                   "total_params": total, "trainable_params": trainable,
                   "non_trainable_params": total - trainable}
        integration.log_event("model_summary", payload, step=self._step)
        integration.run.set_metadata(model={"class": type(model).__name__, "total_params": total,
                                            "trainable_params": trainable})
        lines: list[str] = []
        model.summary(print_fn=lambda line, **_: lines.append(str(line)))
        if lines:
            integration.guard(integration.run.log_text, "model/summary", "\n".join(lines), step=self._step)

    def on_train_batch_end(self, batch: int, logs: Mapping[str, Any] | None = None) -> None:
        gated = self._batch(has_values=bool(logs))
        if gated is None:
            return
        step, integration = gated
        values = {f"batch/{k}": v for k, v in (logs or {}).items()}
        if _has_schedule(self.model):
            lr = integration.guard(_learning_rate, self.model)
            if lr is not None:
                values["batch/learning_rate"] = lr
        integration.log(values, step=step)

    def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        if not self.log_every_n_batches:
            self._step += int((self.params or {}).get("steps") or 1)  # no batch hook counted them
        integration = self._recording()
        if integration is None:
            return
        values: dict[str, Any] = {"epoch": epoch}
        for key, value in (logs or {}).items():
            values[f"val/{key[4:]}" if key.startswith("val_") else f"train/{key}"] = value
        if "train/learning_rate" not in values:
            lr = integration.guard(_learning_rate, self.model)
            if lr is not None:
                values["train/learning_rate"] = lr
        integration.log(values, step=max(self._step - 1, 0))

    # ---- evaluate ------------------------------------------------------------------------------
    def on_test_end(self, logs: Mapping[str, Any] | None = None) -> None:
        if self._in_fit or not logs:
            return  # validation inside fit() arrives with on_epoch_end as val_*
        integration = self._recording()
        if integration is not None:
            integration.log({f"eval/{k}": v for k, v in logs.items()}, step=max(self._step - 1, 0))
            integration.guard(integration.run.flush)


class SeeTrainModelCheckpoint(keras.callbacks.ModelCheckpoint):
    """``keras.callbacks.ModelCheckpoint`` that also stores every file it saves as a version of
    the artifact ``artifact_name`` (default ``model-<run id>``), like W&B's WandbModelCheckpoint.

    With ``save_best_only=True`` each saved file is a new best and gets the ``best`` alias.
    Versions go to ``callback``'s run when given (a :class:`SeeTrainCallback` in the same
    ``fit``), else to the current run (``seetrain.get_run()``); with no run, it only saves.
    All other arguments are ``ModelCheckpoint``'s.
    """

    def __init__(self, filepath: str, *args: Any, artifact_name: str | None = None,
                 callback: SeeTrainCallback | None = None, **kwargs: Any) -> None:
        super().__init__(filepath, *args, **kwargs)
        self._artifact_name = artifact_name
        self._seetrain_callback = callback
        self._artifacts: CheckpointArtifacts | None = None

    def _run(self) -> Any:
        if self._seetrain_callback is not None:
            integration = self._seetrain_callback.integration
            return integration.run if integration is not None else None
        import seetrain

        return seetrain.get_run()

    def _save_model(self, epoch: int, batch: int | None, logs: Mapping[str, Any] | None) -> None:
        filepath = self._get_file_path(epoch, batch, logs)
        best_before = self.best
        super()._save_model(epoch, batch, logs)
        run = self._run()
        if run is None or not os.path.exists(filepath):
            return
        if self._artifacts is None or self._artifacts.run is not run:
            self._artifacts = CheckpointArtifacts(run, name=self._artifact_name)
        improved = bool(self.save_best_only) and self.best != best_before
        current = (logs or {}).get(self.monitor)
        metadata = {"epoch": epoch, "batch": batch, "monitor": self.monitor,
                    "value": float(current) if isinstance(current, (int, float)) else None,
                    "original_filename": os.path.basename(filepath), "save_weights_only": self.save_weights_only}
        self._artifacts.log(filepath, ["best"] if improved else [], metadata)


def _count_weights(weight: Any) -> int:
    size = 1
    for dim in weight.shape:
        size *= int(dim)
    return size


def _count(model: Any) -> int:
    try:
        return int(model.count_params())
    except ValueError:  # not built yet
        return 0


def _shape(layer: Any, attr: str) -> Any:
    try:
        tensor = getattr(layer, attr)
    except (AttributeError, ValueError):
        return None
    if isinstance(tensor, (list, tuple)):
        return [list(t.shape) for t in tensor if hasattr(t, "shape")]
    shape = getattr(tensor, "shape", None)
    return None if shape is None else list(shape)


def _layer_row(layer: Any) -> dict[str, Any]:
    return {"name": layer.name, "type": type(layer).__name__, "params": _count(layer),
            "input_shape": _shape(layer, "input"), "output_shape": _shape(layer, "output")}


def _has_schedule(model: Any) -> bool:
    optimizer = getattr(model, "optimizer", None)
    return isinstance(getattr(optimizer, "_learning_rate", None), keras.optimizers.schedules.LearningRateSchedule)


def _learning_rate(model: Any) -> float | None:
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        return None
    # float() of the variable or the scheduled tensor: no numpy round trip (that path warns on
    # numpy 2 with the torch backend).
    return float(optimizer.learning_rate)


# ---- seetrain.autolog() -------------------------------------------------------------------------
_FIT_CALLBACKS_POSITION = 5  # Model.fit(x, y, batch_size, epochs, verbose, callbacks, ...)


def _with_callback(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
    try:
        positional = len(args) > _FIT_CALLBACKS_POSITION
        given = args[_FIT_CALLBACKS_POSITION] if positional else kwargs.get("callbacks")
        callbacks = list(given or [])
        if not any(isinstance(cb, SeeTrainCallback) for cb in callbacks):
            callbacks.append(SeeTrainCallback(integration=current_run_integration(KerasIntegration)))
            if positional:
                args = (*args[:_FIT_CALLBACKS_POSITION], callbacks, *args[_FIT_CALLBACKS_POSITION + 1:])
            else:
                kwargs["callbacks"] = callbacks
    except Exception as exc:  # noqa: BLE001 - autolog never stops training
        logging.getLogger("seetrain").warning("seetrain: autolog could not add its Keras callback: %s", exc)
    return wrapped(*args, **kwargs)


def autolog_targets() -> list[Target]:
    """``keras.Model.fit`` (patched where the backend's trainer defines it) gets a
    ``SeeTrainCallback`` unless the caller passed one."""
    owner = next(klass for klass in keras.Model.__mro__ if "fit" in vars(klass))
    return [Target(owner, "fit", _with_callback, "Model.fit logs into the current run")]
