"""The transport interface, the batch it carries, and its error hierarchy."""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any

from seetrain._errors import SeeTrainError

__all__ = ["AuthError", "Batch", "ConflictError", "RejectedError", "SendResult", "ServerUnavailable",
           "TemporaryError", "Transport", "TransportError"]


class TransportError(SeeTrainError):
    """Base of every error a transport raises."""


class TemporaryError(TransportError):
    """5xx, 429, timeouts, refused or dropped connections: worth retrying later."""

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class ServerUnavailable(TransportError):
    """The circuit breaker is open: no request was made. Try again in ``retry_in`` seconds."""

    def __init__(self, message: str, retry_in: float) -> None:
        super().__init__(message)
        self.retry_in = retry_in


class RejectedError(TransportError):
    """The server refused this request for good (4xx): retrying the same bytes cannot help."""

    def __init__(self, message: str, *, status: int, reason: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


class AuthError(RejectedError):
    """401/403: the API key is missing or wrong. Nothing is dropped; records stay local."""


class ConflictError(RejectedError):
    """409: the batch contradicts what the server holds (the run id holds another store's
    data, a seq stored with other content, a batch id of another run). Records stay local."""


@dataclass
class Batch:
    """Records of one run, as the ingest API takes them.

    ``batch_id`` is derived from (project, run id, table, seq range), so sending the same
    range again (after a crash, or from ``seetrain sync``) gives the same id.
    ``files`` are (path relative to the run folder, absolute local path) to upload first.
    """

    batch_id: str
    project: str
    run_id: str
    run: dict[str, Any] | None = None
    store: str | None = None
    scalars: list[dict[str, Any]] = field(default_factory=list)
    # Packed metric chunks: [{"key": name, "data": base64 of seetrain.storage.chunks.pack(...)}].
    chunks: list[dict[str, Any]] = field(default_factory=list)
    points: int = 0
    media: list[dict[str, Any]] = field(default_factory=list)
    console: list[dict[str, Any]] = field(default_factory=list)
    files: list[tuple[str, str]] = field(default_factory=list)

    def record_count(self) -> int:
        return len(self.scalars) + self.points + len(self.media) + len(self.console)

    def to_json(self) -> dict[str, Any]:
        doc = {"batch_id": self.batch_id, "project": self.project, "run_id": self.run_id,
               "run": self.run, "scalars": self.scalars, "media": self.media, "console": self.console}
        if self.store is not None:
            doc["store"] = self.store
        if self.chunks:
            doc["chunks"] = self.chunks
        return doc


@dataclass
class SendResult:
    """What the server said: ``stored`` or ``duplicate`` (a replay, stored before).
    ``dropped_files`` maps a media path the server refused to the reason."""

    status: str
    records: int
    dropped_files: dict[str, str] = field(default_factory=dict)


class Transport(abc.ABC):
    """Sends batches somewhere. ``send`` is synchronous and raises a :class:`TransportError`."""

    @abc.abstractmethod
    def send(self, batch: Batch) -> SendResult:
        """Deliver one batch (files first); raise TemporaryError/ServerUnavailable/RejectedError."""

    def flush(self, timeout: float | None = None) -> int:
        """Wait up to ``timeout`` for buffered sends; return how many batches are still pending.
        ``send`` is synchronous in both shipped transports, so nothing is ever buffered."""
        return 0

    def wake(self) -> None:
        """Cut a running backoff short (``finish()`` wants a last attempt now).
        Transports that never sleep have nothing to cut short."""
        return None

    @abc.abstractmethod
    def close(self) -> None:
        """Release connections. Idempotent."""

    def stats(self) -> dict[str, Any]:
        return {}
