"""A JSON file the dashboard rewrites (run edits, saved views): whole or not at all."""

from __future__ import annotations

import json
import os
import threading
from typing import Any


def write_json(path: str, data: Any) -> None:
    """Write ``data`` to ``path`` through a temporary file, fsync'd, then renamed over it: a crash
    leaves the old file or the new one, never half of one. The temporary name is unique per
    process and thread, so two writers never share it (the caller's lock orders them)."""
    tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
