"""One-line helpers for scripts that were not written for SeeTrain.

``@seetrain.monitor(project=...)`` wraps a function in a run; ``seetrain.autolog_torch()`` logs the
loss of every ``loss.backward()`` at the step of every ``optimizer.step()``. What they cannot see
is listed in their docstrings and in docs/insight.md.
"""

from __future__ import annotations

import functools
import inspect
import logging
import threading
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

log = logging.getLogger("seetrain.helpers")

F = TypeVar("F", bound=Callable[..., Any])
_SIMPLE = (int, float, str, bool, type(None))


# ---- @monitor ------------------------------------------------------------------------------------
def _simple_args(func: Callable[..., Any], args: tuple, kwargs: dict) -> dict[str, Any]:
    """The call's arguments that are plain values (numbers, strings, flags), for the config."""
    try:
        bound = inspect.signature(func).bind(*args, **kwargs)
        bound.apply_defaults()
    except (TypeError, ValueError):
        return {}
    out = {}
    for name, value in bound.arguments.items():
        if isinstance(value, _SIMPLE):
            out[name] = value
        elif isinstance(value, (list, tuple)) and all(isinstance(v, _SIMPLE) for v in value):
            out[name] = list(value)
    return out


def monitor(func: F | None = None, *, project: str | None = None, log_args: bool = True,
            **init_kwargs: Any) -> Any:
    """Run the decorated function inside a SeeTrain run.

    The run is named after the function (unless ``experiment_name`` is given) and its plain
    arguments go into the config (``log_args``). Inside, ``seetrain.log`` and friends log to it.
    An exception marks the run ``failed`` (``aborted`` for Ctrl-C) with the traceback stored, and
    is re-raised unchanged. Other keyword arguments go to :func:`seetrain.init`. Works on plain
    and ``async`` functions, as ``@monitor`` or ``@monitor(project="x")``.

    Limits: a generator function's run ends when the generator object is created, not when it
    is exhausted; the decorator starts a fresh run per call and, like ``seetrain.init``,
    finishes a run that is still open unless ``reinit="create_new"`` is passed.
    """
    def decorate(fn: F) -> F:
        def start(args: tuple, kwargs: dict) -> Any:
            from seetrain._api_module import init

            options = dict(init_kwargs)
            options.setdefault("experiment_name", fn.__name__)
            run = init(project=project, **options)
            if log_args:
                values = _simple_args(fn, args, kwargs)
                if values:
                    run.update_config({"args": values})
            return run

        def fail(run: Any, exc: BaseException) -> None:
            status = "aborted" if isinstance(exc, KeyboardInterrupt) else "failed"
            run.finish(status=status, error="".join(traceback.format_exception(type(exc), exc,
                                                                              exc.__traceback__)))

        if inspect.iscoroutinefunction(fn):
            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                run = start(args, kwargs)
                try:
                    result = await fn(*args, **kwargs)
                except BaseException as exc:
                    fail(run, exc)
                    raise
                run.finish()
                return result
            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            run = start(args, kwargs)
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:
                fail(run, exc)
                raise
            run.finish()
            return result
        return wrapper  # type: ignore[return-value]

    return decorate(func) if func is not None else decorate


# ---- autolog_torch --------------------------------------------------------------------------------
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
        self._original_backward: Any = None
        self._hook: Any = None

    def enable(self) -> TorchAutolog:
        import torch
        import wrapt
        from torch.optim.optimizer import register_optimizer_step_post_hook

        # Tensor.backward is patched because torch has no global hook that sees the loss value;
        # optimizer steps do have one (register_optimizer_step_post_hook), so no patch there.
        self._original_backward = torch.Tensor.__dict__["backward"]
        wrapt.wrap_function_wrapper(torch.Tensor, "backward", self._backward)
        self._hook = register_optimizer_step_post_hook(self._after_step)
        self.enabled = True
        return self

    def undo(self) -> None:
        """Remove the patch and the hook; log a loss that no optimizer step has taken yet."""
        global _active
        if not self.enabled:
            return
        import torch

        self.enabled = False
        torch.Tensor.backward = self._original_backward
        self._hook.remove()
        if self._loss_count:
            self._log({}, self.steps)
        if _active is self:
            _active = None

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
        from seetrain._api_module import get_run, init

        run = self.run or get_run()
        if run is None or run.finished:
            if self.run is not None:
                return None  # the run given explicitly is over: do not start another
            run = init(**self.init_kwargs)
        return run


_active: TorchAutolog | None = None


def autolog_torch(run: Any = None, loss_key: str = "loss", log_lr: bool = True, optimizer: Any = None,
                  **init_kwargs: Any) -> TorchAutolog:
    """Log the loss of every ``loss.backward()`` and the learning rate at every ``optimizer.step()``.

    The step is the number of optimizer steps taken since this call (0, 1, 2 ...), and the loss
    is the mean of the scalar tensors ``backward()`` was called on since the previous step. Logs
    to ``run``, else the current run; without one, a run is started with ``init_kwargs``.
    Returns a handle whose ``undo()`` restores torch. Calling it again returns the active handle.

    Limits: ``torch.autograd.backward(loss)`` and ``torch.autograd.grad`` bypass
    ``Tensor.backward`` and are not seen; with AMP, ``scaler.scale(loss).backward()`` records the
    scaled loss; a closure-based optimizer (LBFGS) sees several backward calls per step; with
    several optimizers every optimizer's step counts unless ``optimizer=`` names the one to follow.
    Reading the loss costs one device sync per optimizer step on a GPU.
    """
    global _active
    if _active is not None and _active.enabled:
        return _active
    _active = TorchAutolog(run, loss_key, log_lr, optimizer, init_kwargs).enable()
    return _active


def undo_autolog_torch() -> None:
    """Undo :func:`autolog_torch` (harmless when it is not active)."""
    if _active is not None:
        _active.undo()
