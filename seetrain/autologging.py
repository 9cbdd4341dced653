"""``seetrain.autolog()`` and ``seetrain.autolog_torch()``: the hub's autologs, reached from the core
without the core importing the hub (``import seetrain`` never imports ``integrations``; these
functions do, when called)."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any


def autolog(exclude: Iterable[str] | None = None, disable: bool = False) -> dict[str, list[str] | str]:
    """Log every installed, supported framework into the current run (Lightning ``Trainer``,
    HF ``Trainer``, Keras ``fit``, ``xgb.train``, ``lgb.train``, SB3 ``learn``, the LLM clients):
    ``exclude=["keras"]`` leaves some out, ``disable=True`` restores every original exactly.
    Idempotent; imports no framework (each is patched when the program imports it).
    Returns what is patched per framework. See docs/integrations/autolog.md."""
    from integrations.autolog import autolog as hub_autolog

    return hub_autolog(exclude=exclude, disable=disable)

def autolog_torch(run: Any = None, loss_key: str = "loss", log_lr: bool = True, optimizer: Any = None,
                  **init_kwargs: Any) -> Any:
    """Log the loss of every ``loss.backward()`` and the learning rate at every ``optimizer.step()``.

    The step is the number of optimizer steps taken since this call (0, 1, 2 ...), and the loss
    is the mean of the scalar tensors ``backward()`` was called on since the previous step. Logs
    to ``run``, else the current run; without one, a run is started with ``init_kwargs``.
    Returns a handle (``integrations.torch_autolog.TorchAutolog``) whose ``undo()`` restores
    torch. Calling it again returns the active handle.

    Limits: ``torch.autograd.backward(loss)`` and ``torch.autograd.grad`` bypass
    ``Tensor.backward`` and are not seen; with AMP, ``scaler.scale(loss).backward()`` records the
    scaled loss; a closure-based optimizer (LBFGS) sees several backward calls per step; with
    several optimizers every optimizer's step counts unless ``optimizer=`` names the one to follow.
    Reading the loss costs one device sync per optimizer step on a GPU.
    """
    from integrations import torch_autolog

    current = torch_autolog.active()
    if current is not None and current.enabled:
        return current
    handle = torch_autolog.TorchAutolog(run, loss_key, log_lr, optimizer, init_kwargs).enable()
    torch_autolog.set_active(handle)
    return handle


def undo_autolog_torch() -> None:
    """Undo :func:`autolog_torch` (harmless when it is not active)."""
    module = sys.modules.get("integrations.torch_autolog")
    handle = module.active() if module is not None else None
    if handle is not None:
        handle.undo()
