"""fastai: a ``Learner`` callback.

    from fastai.learner import Learner
    from integrations.fastai import SeeTrainCallback

    learn = Learner(dls, model, loss_func=..., metrics=accuracy, cbs=[SeeTrainCallback(project="p")])
    learn.fit_one_cycle(5, 1e-2)

Keys (one step axis: training batches seen, from 0, fastai's ``train_iter`` minus one):
``batch/loss`` (the raw loss) and ``batch/smooth_loss`` per training batch (every
``log_every_n_batches``), the optimizer's hyper-parameters as ``hp/<name>`` (``lr``, ``mom``,
``wd`` ... of the last parameter group, as the schedulers of ``fit_one_cycle`` set them; with
several groups also ``hp/<name>_<group>``), and per epoch what fastai's ``Recorder`` prints:
``train/loss``, ``valid/loss``, ``valid/<metric>`` and ``epoch``. Config under ``fastai``: epochs,
batch size, optimizer, loss, metric names, the model class and parameter counts.
See docs/integrations/fastai.md.
"""

from __future__ import annotations

import inspect
import os
from typing import Any

from fastai.callback.core import Callback
from fastai.learner import Learner, Recorder
from fastai.torch_core import rank_distrib
from fastcore.foundation import L

from integrations._base import Integration
from integrations._binding import LazyIntegration, current_run_integration
from integrations._numbers import real_number
from integrations._patching import Target

__all__ = ["FastaiIntegration", "SeeTrainCallback", "autolog_targets"]


class FastaiIntegration(Integration):
    """Hub entry: ``init_fastai(project=...).get_callback()`` is a ``SeeTrainCallback``."""

    name = "fastai"
    mode = "callback"

    def get_callback(self, **kwargs: Any) -> SeeTrainCallback:
        return SeeTrainCallback(integration=self, **kwargs)


def _name(obj: Any) -> str | None:
    if obj is None:
        return None
    func = getattr(obj, "func", obj)  # functools.partial (opt_func=partial(Adam, ...))
    return getattr(func, "__name__", None) or type(func).__name__


class SeeTrainCallback(Callback):
    """Records a fastai ``Learner.fit`` (and ``fit_one_cycle``, ``fine_tune`` ...) into a SeeTrain run.

    Args:
        project, experiment_name, description, config, tags, logdir, mode: as in ``seetrain.init``.
        log_every_n_batches: log ``batch/*`` and ``hp/*`` every n training batches (0: per epoch only).
        log_all_ranks: log from every process (``rank_distrib()``) instead of rank 0 only.
        integration: bind to an existing ``FastaiIntegration`` (``init_fastai(...)``).

    The run is created when ``fit`` starts; if this callback created it, the end of ``fit``
    finishes it, and a later ``fit`` on the same learner continues it (``fine_tune`` is two
    ``fit`` calls in one run). ``learn.lr_find()`` is not recorded.
    """

    order = Recorder.order + 1  # after the Recorder has written the epoch's values

    def __init__(self, project: str | None = None, experiment_name: str | None = None,
                 description: str | None = None, config: Any = None, tags: list[str] | None = None,
                 logdir: str | os.PathLike[str] | None = None, mode: str | None = None,
                 log_every_n_batches: int = 1, log_all_ranks: bool = False,
                 integration: FastaiIntegration | None = None, **init_kwargs: Any) -> None:
        kwargs = {"project": project, "experiment_name": experiment_name, "description": description,
                  "config": config, "tags": tags, "mode": mode, "log_all_ranks": log_all_ranks or None,
                  "logdir": os.fspath(logdir) if logdir is not None else None, **init_kwargs}
        self._lazy = LazyIntegration(FastaiIntegration, kwargs, integration)
        self.log_every_n_batches = max(0, int(log_every_n_batches))
        self._skip = False
        self._base = 0  # steps the run already had (a continued run goes on after them)
        self._last_run_step: int | None = None

    @property
    def integration(self) -> Integration | None:
        """The run's Integration once ``fit`` started (None before)."""
        return self._lazy.created

    def _step(self) -> int:
        # train_iter counts this fit()'s batches and is already advanced at after_batch.
        return self._base + max(int(self.learn.train_iter) - 1, 0)

    def before_fit(self) -> None:
        self._skip = hasattr(self.learn, "lr_finder") or hasattr(self.learn, "gather_preds")
        if self._skip:
            return
        integration = self._lazy.get(rank_zero=rank_distrib() == 0)
        if integration.enabled:
            previous = self._last_run_step
            self._base = previous + 1 if previous is not None else integration.run.step
            integration.guard(self._record_setup, integration)

    def _record_setup(self, integration: Integration) -> None:
        learn = self.learn
        model = learn.model
        total = sum(int(p.numel()) for p in model.parameters())
        trainable = sum(int(p.numel()) for p in model.parameters() if p.requires_grad)
        values: dict[str, Any] = {
            "n_epoch": int(learn.n_epoch),
            "batch_size": getattr(learn.dls, "bs", None),
            "opt_func": _name(learn.opt_func),
            "loss_func": _name(learn.loss_func),
            "metrics": [m.name for m in learn.metrics],
            "model": {"class": type(model).__name__, "total_params": total, "trainable_params": trainable},
        }
        integration.update_config({"fastai": values})
        integration.run.set_metadata(model={"class": type(model).__name__, "total_params": total,
                                            "trainable_params": trainable})

    def after_batch(self) -> None:
        if self._skip or not self.training:
            return
        n = self.log_every_n_batches
        step = self._step()
        self._last_run_step = step
        if not n or (step - self._base) % n:
            return
        integration = self._lazy.get()
        if not integration.enabled:
            return
        values: dict[str, Any] = {}
        for key, raw in (("batch/loss", self.learn.loss), ("batch/smooth_loss", self.learn.smooth_loss)):
            value = integration.guard(real_number, raw)
            if value is not None:
                values[key] = value
        values.update(integration.guard(self._hypers) or {})
        if values:
            integration.log(values, step=step)

    def _hypers(self) -> dict[str, float]:
        opt = self.learn.opt
        if opt is None:
            return {}
        groups = opt.hypers
        values: dict[str, float] = {}
        for i, hypers in enumerate(groups):
            for name, raw in hypers.items():
                value = real_number(raw)
                if value is None:
                    continue
                if i == len(groups) - 1:
                    values[f"hp/{name}"] = value
                if len(groups) > 1:
                    values[f"hp/{name}_{i}"] = value
        return values

    def after_epoch(self) -> None:
        if self._skip:
            return
        integration = self._lazy.get()
        if not integration.enabled:
            return
        values: dict[str, Any] = {"epoch": int(self.learn.epoch)}
        recorder = self.learn.recorder
        for name, raw in zip(recorder.metric_names, recorder.log):
            if name in ("epoch", "time"):
                continue
            value = real_number(raw)
            if value is None:
                continue
            if name == "train_loss":
                values["train/loss"] = value
            elif name == "valid_loss":
                values["valid/loss"] = value
            else:
                values[f"valid/{name}"] = value
        step = self._step()
        self._last_run_step = step
        integration.log(values, step=step)

    def after_fit(self) -> None:
        if self._skip:
            self._skip = False
            return
        self._lazy.finish("finished")


# ---- seetrain.autolog() -------------------------------------------------------------------------
def _with_callback(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
    if instance is None or any(isinstance(cb, SeeTrainCallback) for cb in instance.cbs):
        return wrapped(*args, **kwargs)
    try:
        bound = inspect.signature(wrapped).bind(*args, **kwargs)
    except TypeError:
        return wrapped(*args, **kwargs)  # let fastai report the user's wrong call
    cbs = list(L(bound.arguments.get("cbs")))  # None, one callback, a list or fastcore's L (fit_one_cycle)
    if not any(isinstance(cb, SeeTrainCallback) for cb in cbs):
        cbs.append(SeeTrainCallback(integration=current_run_integration(FastaiIntegration)))
        bound.arguments["cbs"] = cbs
    return wrapped(*bound.args, **bound.kwargs)


def autolog_targets() -> list[Target]:
    """``Learner.fit`` (which ``fit_one_cycle`` and ``fine_tune`` call) gets a ``SeeTrainCallback``
    for that fit, writing into the current run."""
    return [Target(Learner, "fit", _with_callback, "add a SeeTrainCallback to every fit")]
