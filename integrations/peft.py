"""PEFT: the adapter configuration of a ``PeftModel`` in the run config.

The HF Trainer callback (``integrations.transformers.SeeTrainCallback``, also under
``seetrain.autolog()``) records it by itself when the model it trains is a ``PeftModel``; for a
custom loop, ``log_peft_config(model)`` writes the same into the current run (or ``run=``)::

    from peft import LoraConfig, get_peft_model
    from integrations.peft import log_peft_config

    model = get_peft_model(base_model, LoraConfig(r=8, target_modules=["query", "value"]))
    seetrain.init(project="lora")
    log_peft_config(model)

Recorded under ``peft``: per adapter name, its config (``peft_type``, ``task_type``, ``r``,
``lora_alpha``, ``target_modules`` ...), the active adapter, and the trainable / total parameter
counts with the trainable percentage. See docs/integrations/peft.md.
"""

from __future__ import annotations

import enum
from typing import Any

import seetrain
from integrations.transformers import SeeTrainCallback, TransformersIntegration

__all__ = ["PeftIntegration", "log_peft_config", "peft_summary"]


class PeftIntegration(TransformersIntegration):
    """Hub entry: ``init_peft(project=...).get_callback()`` is the HF Trainer callback (which
    records the PEFT config), tagged ``peft``."""

    name = "peft"

    def get_callback(self) -> SeeTrainCallback:
        return SeeTrainCallback(integration=self)


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted(_plain(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def peft_summary(model: Any) -> dict[str, Any]:
    """The adapter configs and parameter counts of a ``PeftModel`` (JSON-safe)."""
    configs = getattr(model, "peft_config", None) or {}
    summary: dict[str, Any] = {"adapters": {name: _plain(cfg.to_dict()) for name, cfg in configs.items()}}
    active = getattr(model, "active_adapter", None)
    if active is not None:
        summary["active_adapter"] = _plain(active)
    counts = getattr(model, "get_nb_trainable_parameters", None)
    if callable(counts):
        trainable, total = counts()
        summary["trainable_params"] = int(trainable)
        summary["total_params"] = int(total)
        summary["trainable_percent"] = 100.0 * trainable / total if total else 0.0
    return summary


def log_peft_config(model: Any, run: Any = None) -> dict[str, Any]:
    """Write :func:`peft_summary` under ``peft`` into ``run``'s config (default: the current
    run); returns it."""
    summary = peft_summary(model)
    target = run if run is not None else seetrain.get_run()
    if target is None:
        raise seetrain.NotInitializedError("call seetrain.init() before log_peft_config(), or pass run=")
    target.update_config({"peft": summary})
    return summary
