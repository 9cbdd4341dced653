"""What a ``PeftModel``'s adapters are, as a JSON-safe dict: shared by the HF Trainer callback
(``integrations.transformers``) and ``integrations.peft``, which both import it from here."""

from __future__ import annotations

import enum
from typing import Any

__all__ = ["peft_summary"]


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
