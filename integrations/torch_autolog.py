"""The patch behind ``seetrain.autolog_torch()``: the loss of every ``loss.backward()`` at the
step of every ``optimizer.step()``. Framework adapter code, so it lives in the hub and patches
through the hub's one engine (``integrations._patching``); ``seetrain.autologging.autolog_torch``
imports it when called."""

from __future__ import annotations

import logging
import threading
from typing import Any

from integrations._base import Integration
from integrations._patching import PatchSet, Target

log = logging.getLogger(__name__)

__all__ = ["TorchAutolog", "TorchIntegration", "active", "set_active"]

_active: TorchAutolog | None = None


def active() -> TorchAutolog | None:
    return _active


def set_active(handle: TorchAutolog | None) -> None:
    global _active
    _active = handle


def _clear(handle: TorchAutolog) -> None:
    global _active
    if _active is handle:
        _active = None


class TorchAutolog:
    """The patch behind :func:`autolog_torch`; ``undo()`` restores torch exactly."""

    def __init__(self, run: Any = None, loss_key: str = "loss", log_lr: bool = True,
                 optimizer: Any = None, init_kwargs: dict[str, Any] | None = None) -> None:
        self.run = run
        self.loss_key = loss_key
        self.log_lr = log_lr
        self.optimizer = optimizer
        self.init_kwargs = init_kwargs or {}
        self.steps = 0
        self.enabled = False
        self._lock = threading.Lock()
        self._loss_sum: Any = None
        self._loss_count = 0
        self._patches = PatchSet("autolog_torch")
        self._hook: Any = None

    def enable(self) -> TorchAutolog:
        import torch
        from torch.optim.optimizer import register_optimizer_step_post_hook

        # Tensor.backward is patched because torch has no global hook that sees the loss value;
        # optimizer steps do have one (register_optimizer_step_post_hook), so no patch there.
        self._patches.apply([Target(torch.Tensor, "backward", self._backward,
                                    "the loss value of every backward()")])
        self._hook = register_optimizer_step_post_hook(self._after_step)
        self.enabled = True
        return self

    def undo(self) -> None:
        """Remove the patch and the hook; log a loss that no optimizer step has taken yet."""
        if not self.enabled:
            return
        self.enabled = False
        self._patches.restore()
        self._hook.remove()
        if self._loss_count:
            self._log({}, self.steps)
        _clear(self)

    def _backward(self, wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
        result = wrapped(*args, **kwargs)
        # Only a scalar is a loss; backward() of anything else needs an explicit gradient.
        if self.enabled and instance.numel() == 1:
            value = instance.detach().reshape(())
            with self._lock:  # no .item() here: that would force a GPU sync on every backward
                self._loss_sum = value if self._loss_sum is None else self._loss_sum + value
                self._loss_count += 1
        return result

    def _after_step(self, optimizer: Any, args: tuple, kwargs: dict) -> None:
        if not self.enabled or (self.optimizer is not None and optimizer is not self.optimizer):
            return
        step = self.steps
        self.steps += 1
        data: dict[str, float] = {}
        if self.log_lr:
            groups = optimizer.param_groups
            for i, group in enumerate(groups):
                lr = group.get("lr")
                if isinstance(lr, (int, float)) or hasattr(lr, "item"):
                    data["lr" if len(groups) == 1 else f"lr/group{i}"] = float(lr)
        try:
            self._log(data, step)
        except Exception:  # noqa: BLE001 - never break the training step
            log.warning("seetrain: autolog_torch could not log step %d", step, exc_info=True)

    def _log(self, data: dict[str, float], step: int) -> None:
        with self._lock:
            total, count = self._loss_sum, self._loss_count
            self._loss_sum, self._loss_count = None, 0
        if count:
            # Gradient accumulation: several backward() per step give their mean.
            data[self.loss_key] = float(total) / count
        if not data:
            return
        run = self._target_run()
        if run is not None:
            run.log(data, step=step)

    def _target_run(self) -> Any:
        from seetrain._current_run import get_run, init

        run = self.run or get_run()
        if run is None or run.finished:
            if self.run is not None:
                return None  # the run given explicitly is over: do not start another
            run = init(**self.init_kwargs)
        return run


class TorchIntegration(Integration):
    """Hub entry (registry name ``torch``): ``init("torch", project="p")`` starts a run and
    logs the loss of every ``loss.backward()`` and the learning rate at every
    ``optimizer.step()`` into it, as ``seetrain.autolog_torch(run=...)`` does; ``disable()`` (or
    ``finish()``) restores ``torch.Tensor.backward`` and removes the optimizer hook.
    Keyword arguments ``loss_key``, ``log_lr`` and ``optimizer`` go to the patch."""

    name = "torch"
    mode = "autolog"

    def __init__(self, *args: Any, loss_key: str = "loss", log_lr: bool = True, optimizer: Any = None,
                 **kwargs: Any) -> None:
        self._handle: TorchAutolog | None = None
        super().__init__(*args, **kwargs)
        if self.enabled:
            self._handle = self.guard(TorchAutolog(self.run, loss_key, log_lr, optimizer).enable)

    def disable(self) -> None:
        """Undo the patch and finish the run this integration started. Idempotent."""
        self.finish()

    def _teardown(self) -> None:
        if self._handle is not None:
            self._handle.undo()
