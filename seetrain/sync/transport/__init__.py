"""Client transports: how records read from the local store reach a tracking server.

One interface (:class:`Transport`: ``send``, ``flush``, ``close``) with an HTTP
implementation (httpx + tenacity retry + pybreaker circuit breaker) and an in-memory one for
tests. The replicator (``seetrain.sync.replicator``) decides *what* to send; a transport only
knows *how*.
"""

from __future__ import annotations

from seetrain.sync.transport.base import (
    AuthError,
    Batch,
    ConflictError,
    RejectedError,
    SendResult,
    ServerUnavailable,
    TemporaryError,
    Transport,
    TransportError,
)
from seetrain.sync.transport.memory import MemoryTransport

__all__ = [
    "AuthError", "Batch", "ConflictError", "HttpTransport", "MemoryTransport", "RejectedError", "SendResult",
    "ServerUnavailable", "TemporaryError", "Transport", "TransportError",
]


def __getattr__(name: str) -> object:
    # httpx costs ~60 ms to import; the in-memory transport and the errors must not pay for it.
    if name == "HttpTransport":
        from seetrain.sync.transport.http import HttpTransport

        return HttpTransport
    raise AttributeError(f"module 'seetrain.sync.transport' has no attribute {name!r}")
