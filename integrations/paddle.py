"""PaddlePaddle: a ``paddle.callbacks.Callback`` for the high-level API's ``paddle.Model.fit``.

    import paddle
    from integrations.paddle import SeeTrainCallback

    model = paddle.Model(net)
    model.prepare(optimizer, paddle.nn.CrossEntropyLoss(), paddle.metric.Accuracy())
    model.fit(train_data, eval_data, epochs=5, batch_size=32,
              callbacks=[SeeTrainCallback(project="paddle")])

Keys (one step axis: training batches seen so far, from 0, across epochs and ``fit`` calls):
``batch/<metric>`` and ``batch/lr`` per training batch (every ``log_every_n_batches``),
``train/<metric>``, ``train/lr`` and ``epoch`` at the end of each epoch, ``eval/<metric>`` when
``fit`` evaluates ``eval_data`` and after a standalone ``model.evaluate``. Paddle hands the
callback losses as one-element lists and metrics as numpy numbers: both become floats.
Config under ``paddle``: the fit parameters (epochs, steps, batch size, metric names), the
optimizer (class, initial learning rate, scheduler class), the loss class, and the network's
class and parameter counts. See docs/integrations/paddle.md.
"""

from __future__ import annotations

import inspect
import logging
import numbers
import os
from collections.abc import Mapping
from typing import Any

import paddle

from integrations._base import Integration
from integrations._binding import FitCallback, current_run_integration
from integrations._patching import Target

__all__ = ["PaddleIntegration", "SeeTrainCallback", "autolog_targets"]

log = logging.getLogger("seetrain")

# Keys of Paddle's ``logs`` dict that are bookkeeping, not metrics.
_NOT_METRICS = frozenset({"step", "batch_size", "steps", "metrics"})


class PaddleIntegration(Integration):
    """Hub entry: ``init_paddle(project=...).get_callback()`` is a ``SeeTrainCallback``."""

    name = "paddle"
    mode = "callback"

    def get_callback(self, **kwargs: Any) -> SeeTrainCallback:
        return SeeTrainCallback(integration=self, **kwargs)


def _number(value: Any) -> float | None:
    """Paddle's logs: ``loss`` is ``[float]`` (one per loss function), metrics numpy numbers."""
    if isinstance(value, (list, tuple)):
        if len(value) != 1:
            return None
        value = value[0]
    if hasattr(value, "item") and getattr(value, "size", 1) == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    return float(value)


def _metrics(logs: Mapping[str, Any] | None, prefix: str) -> dict[str, float]:
    values: dict[str, float] = {}
    for key, raw in (logs or {}).items():
        if key in _NOT_METRICS:
            continue
        if isinstance(raw, (list, tuple)) and len(raw) > 1:
            # Several loss functions: loss/0, loss/1 ...
            for i, item in enumerate(raw):
                value = _number(item)
                if value is not None:
                    values[f"{prefix}{key}/{i}"] = value
            continue
        value = _number(raw)
        if value is not None:
            values[prefix + key] = value
    return values


def _optimizer(model: Any) -> Any:
    # paddle.Model keeps what prepare() got in ``_optimizer``; its own callbacks read it there.
    return getattr(model, "_optimizer", None)


def _learning_rate(model: Any) -> float | None:
    optimizer = _optimizer(model)
    if optimizer is None:
        return None
    return float(optimizer.get_lr())


def _param_counts(network: Any) -> tuple[int, int]:
    total = trainable = 0
    for param in network.parameters():
        n = int(param.size)
        total += n
        if not param.stop_gradient:
            trainable += n
    return total, trainable


class SeeTrainCallback(FitCallback, paddle.callbacks.Callback):
    """Records a ``paddle.Model.fit`` / ``evaluate`` into a SeeTrain run.

    Args:
        project, experiment_name, description, config, tags, logdir, mode: as in ``seetrain.init``.
        log_every_n_batches: log ``batch/*`` every n training batches (0: epoch metrics only).
        log_all_ranks: log from every process as grouped runs instead of rank 0 only.
        integration: bind to an existing ``PaddleIntegration`` (``init_paddle(...)``).

    The run is created when ``fit`` starts; if this callback created it, the end of ``fit``
    finishes it, and a later ``evaluate`` or ``fit`` with the same callback continues it.
    """

    integration_class = PaddleIntegration

    def __init__(self, project: str | None = None, experiment_name: str | None = None,
                 description: str | None = None, config: Any = None, tags: list[str] | None = None,
                 logdir: str | os.PathLike[str] | None = None, mode: str | None = None,
                 log_every_n_batches: int = 1, log_all_ranks: bool = False,
                 integration: PaddleIntegration | None = None, **init_kwargs: Any) -> None:
        super().__init__()
        self._hold_fit(integration, log_every_n_batches, logdir, log_all_ranks, project=project,
                       experiment_name=experiment_name, description=description, config=config, tags=tags,
                       mode=mode, **init_kwargs)

    def _rank_zero(self) -> bool:
        return paddle.distributed.get_rank() == 0

    # ---- fit -----------------------------------------------------------------------------------
    def _record_setup(self, integration: Integration) -> None:
        model = self.model
        params = dict(self.params or {})
        values: dict[str, Any] = {"fit": {k: params.get(k) for k in ("epochs", "steps", "batch_size", "verbose")},
                                  "metrics": list(params.get("metrics") or [])}
        optimizer = _optimizer(model)
        if optimizer is not None:
            lr = getattr(optimizer, "_learning_rate", None)
            values["optimizer"] = {"class": type(optimizer).__name__,
                                   "learning_rate": _number(lr) if _number(lr) is not None else _learning_rate(model)}
            if isinstance(lr, paddle.optimizer.lr.LRScheduler):
                values["optimizer"]["lr_scheduler"] = type(lr).__name__
        loss = getattr(model, "_loss", None)
        if loss is not None:
            values["loss"] = type(loss).__name__
        network = getattr(model, "network", None)
        if network is not None:
            total, trainable = _param_counts(network)
            values["model"] = {"class": type(network).__name__, "total_params": total,
                               "trainable_params": trainable}
            integration.run.set_metadata(model={"class": type(network).__name__, "total_params": total,
                                                "trainable_params": trainable})
        integration.update_config({"paddle": values})

    def on_train_batch_end(self, step: int, logs: Mapping[str, Any] | None = None) -> None:
        batch = self._batch()
        if batch is None:
            return
        global_step, integration = batch
        values = _metrics(logs, "batch/")
        lr = integration.guard(_learning_rate, self.model)
        if lr is not None:
            values["batch/lr"] = lr
        if values:
            integration.log(values, step=global_step)

    def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        integration = self._recording()
        if integration is None:
            return
        values: dict[str, Any] = {"epoch": int(epoch), **_metrics(logs, "train/")}
        lr = integration.guard(_learning_rate, self.model)
        if lr is not None:
            values["train/lr"] = lr
        integration.log(values, step=max(self._step - 1, 0))

    # ---- evaluate (inside fit, or standalone) ----------------------------------------------------
    def on_eval_end(self, logs: Mapping[str, Any] | None = None) -> None:
        integration = self._recording()
        if integration is None:
            return
        values = _metrics(logs, "eval/")
        if values:
            integration.log(values, step=max(self._step - 1, 0))
        if not self._in_fit:
            # A standalone evaluate() is over: the run is complete on disk again.
            self._lazy.finish("finished")


# ---- seetrain.autolog() -------------------------------------------------------------------------
def _with_callback(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
    try:
        bound = inspect.signature(wrapped).bind(*args, **kwargs)
    except TypeError:
        return wrapped(*args, **kwargs)  # let Paddle report the user's wrong call
    callbacks = bound.arguments.get("callbacks")
    callbacks = list(callbacks) if isinstance(callbacks, (list, tuple)) else [callbacks] if callbacks else []
    if not any(isinstance(cb, SeeTrainCallback) for cb in callbacks):
        callbacks.append(SeeTrainCallback(integration=current_run_integration(PaddleIntegration)))
        bound.arguments["callbacks"] = callbacks
    return wrapped(*bound.args, **bound.kwargs)


def autolog_targets() -> list[Target]:
    """``paddle.Model.fit`` gets a ``SeeTrainCallback`` writing into the current run."""
    return [Target(paddle.hapi.model.Model, "fit", _with_callback, "add a SeeTrainCallback to every fit")]
