"""The integrations that are open in this process, in creation order.

It sits below everything else in the hub (it imports nothing from it): the base class adds and
removes entries, the facade (``integrations.main``) and the error statistics read them.
"""

from __future__ import annotations

import threading
from typing import Any

_active: list[Any] = []
_lock = threading.Lock()


def register(integration: Any) -> None:
    with _lock:
        _active.append(integration)


def unregister(integration: Any) -> None:
    with _lock:
        if integration in _active:
            _active.remove(integration)


def active_integrations() -> list[Any]:
    """A copy of the list of open integrations (oldest first)."""
    with _lock:
        return list(_active)


def labelled() -> dict[str, Any]:
    """``{"<name>#<index>": integration}`` for the open integrations, the labels used in stats."""
    return {f"{i.name}#{idx}": i for idx, i in enumerate(active_integrations())}
