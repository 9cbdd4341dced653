"""System metrics sampler (placeholder until the monitor lands)."""

from __future__ import annotations

from typing import Any


def start_system_monitor(run: Any, interval: float | None = None) -> None:
    return None
