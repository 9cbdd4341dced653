"""The one codec for values JSON cannot hold: NaN and the infinities, and anything not JSON.

JSON has no NaN or infinity. Everywhere SeeTrain writes JSON (summaries, configs, stats, the
dashboard API, the replicator's records) a non-finite float is the text ``"nan"``, ``"inf"`` or
``"-inf"``, and readers turn that text back into the float. Chart series instead carry ``None``
plus a flag per point (:func:`value_flags`), so a chart library never sees a string in a number
column.
"""

from __future__ import annotations

import math
from typing import Any

NONFINITE: dict[str, float] = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def float_text(value: float) -> str | None:
    """``"nan"``, ``"inf"`` or ``"-inf"`` for a non-finite float, None for a finite one."""
    if value - value == 0:
        return None
    return "nan" if value != value else ("inf" if value > 0 else "-inf")


def text_float(text: str | None) -> float | None:
    """The float a :func:`float_text` text stands for (None for None)."""
    return None if text is None else NONFINITE[text]


def json_safe(obj: Any, *, nonfinite_as_none: bool = False) -> Any:
    """``obj`` with every non-finite float (in dicts, lists, tuples) replaced by its text, or by
    None with ``nonfinite_as_none`` (for readers that take only plain JSON numbers)."""
    if isinstance(obj, float):
        text = float_text(obj)
        return obj if text is None else (None if nonfinite_as_none else text)
    if isinstance(obj, dict):
        return {k: json_safe(v, nonfinite_as_none=nonfinite_as_none) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v, nonfinite_as_none=nonfinite_as_none) for v in obj]
    return obj


def revive(value: Any) -> Any:
    """A float written by :func:`json_safe` read back: the texts become floats again."""
    return NONFINITE[value] if isinstance(value, str) and value in NONFINITE else value


def value_flags(values: Any) -> tuple[list[float | None], list[str | None]]:
    """A numpy float array as chart columns: values with None for non-finite points, and a flag
    per point (None, or the point's :func:`float_text`)."""
    import numpy as np

    finite = np.isfinite(values)
    out: list[float | None] = np.where(finite, values, 0.0).tolist()
    flags: list[str | None] = [None] * len(out)
    for i in np.flatnonzero(~finite).tolist():
        out[i] = None
        flags[i] = float_text(float(values[i]))
    return out, flags
