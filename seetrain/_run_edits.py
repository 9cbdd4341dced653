"""What the dashboard's run management wrote beside a run: ``<run folder>/edits.json``
(``{"name", "notes", "tags", "archived", "edited_at"}``, each field present once edited). The
training process never writes it; every reader (``seetrain.Api``, the dashboard, the CLI) lays it
over the run's own fields, and the edit wins. Writing it is the dashboard's
(``seetrain/server/run_edit.py``)."""

from __future__ import annotations

import json
import os
from typing import Any

EDITS_FILE = "edits.json"
EDITABLE = ("name", "notes", "tags", "archived")
_TYPES: dict[str, type] = {"name": str, "notes": str, "tags": list, "archived": bool, "edited_at": float}


def read_edits(run_dir: str) -> dict[str, Any]:
    """The run's edits ({} when none); a field of the wrong type (a hand-edited file) is left out."""
    try:
        with open(os.path.join(run_dir, EDITS_FILE), encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    out: dict[str, Any] = {}
    for field, kind in _TYPES.items():
        value = data.get(field)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if isinstance(value, list) and not all(isinstance(t, str) for t in value):
            continue
        if isinstance(value, kind):
            out[field] = value
    return out
