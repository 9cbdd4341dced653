"""Console capture (placeholder until it lands)."""

from __future__ import annotations

from typing import Any


def start_console_capture(run: Any) -> None:
    return None
