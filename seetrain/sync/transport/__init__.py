"""Client transports: how records read from the local store reach a tracking server.

One interface (:class:`Transport`: ``send``, ``flush``, ``close``) with an HTTP
implementation (httpx + tenacity retry + pybreaker circuit breaker) and an in-memory one for
tests. The replicator (``seetrain.sync.replicator``) decides *what* to send; a transport only
knows *how*.
"""

from __future__ import annotations

from seetrain.sync.transport import base
from seetrain.sync.transport.base import *  # noqa: F403 - the interface and its errors (base.__all__)
from seetrain.sync.transport.memory import MemoryTransport

__all__ = [*base.__all__, "HttpTransport", "MemoryTransport"]  # noqa: F405 - HttpTransport: __getattr__


def __getattr__(name: str) -> object:
    # httpx costs ~60 ms to import; the in-memory transport and the errors must not pay for it.
    if name == "HttpTransport":
        from seetrain.sync.transport.http import HttpTransport

        return HttpTransport
    raise AttributeError(f"module 'seetrain.sync.transport' has no attribute {name!r}")
