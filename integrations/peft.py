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

from typing import Any

from integrations._binding import update_run_config
from integrations._peft_config import peft_summary
from integrations.transformers import SeeTrainCallback, TransformersIntegration

__all__ = ["PeftIntegration", "log_peft_config", "peft_summary"]


class PeftIntegration(TransformersIntegration):
    """Hub entry: ``init_peft(project=...).get_callback()`` is the HF Trainer callback (which
    records the PEFT config), tagged ``peft``."""

    name = "peft"

    def get_callback(self) -> SeeTrainCallback:
        return SeeTrainCallback(integration=self)


def log_peft_config(model: Any, run: Any = None) -> dict[str, Any]:
    """Write :func:`peft_summary` under ``peft`` into ``run``'s config (default: the current
    run); returns it."""
    summary = peft_summary(model)
    update_run_config("peft", summary, run, "log_peft_config")
    return summary
