"""Plain numbers from what training loops hand the adapters (fastai, timm)."""

from __future__ import annotations

import numbers
from typing import Any

__all__ = ["real_number"]


def real_number(value: Any) -> float | None:
    """A one-element tensor (torch: ``.numel() == 1``) or a real number as a float; None for
    anything else, booleans included (a flag is not a metric)."""
    if hasattr(value, "item") and getattr(value, "numel", lambda: 1)() == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    return float(value)
