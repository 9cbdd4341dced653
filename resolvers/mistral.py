"""Resolvers for the Mistral client's ``chat.complete`` / ``chat.stream`` (see ``resolvers`` for
the record).

Mistral's API is OpenAI's chat-completions format, so the shared chat-format logic in
``_common`` does the work. Two differences: ``chat.stream()`` streams without a ``stream=True``
keyword (the operation says it), and its stream yields ``CompletionEvent`` objects whose
``data`` is the OpenAI-style chunk. Usage comes on the final choice chunk, as with ZhipuAI.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from resolvers import _common

__all__ = ["PROVIDER", "StreamAccumulator", "resolve_error", "resolve_request", "resolve_response",
           "resolve_stream"]

PROVIDER = "mistral"
STREAM_OPERATION = "chat.stream"
_chat = _common.ChatFormat(PROVIDER)

resolve_response = _chat.resolve_response
resolve_error = _chat.resolve_error


def resolve_request(kwargs: Mapping[str, Any], operation: str = "chat.complete") -> dict[str, Any]:
    record = _chat.resolve_request(kwargs, operation)
    if operation == STREAM_OPERATION:
        record["stream"] = True
        record["params"]["stream"] = True
    return record


def _chunk(event: Any) -> Any:
    """A ``CompletionEvent``'s chunk (its ``data``); a bare chunk or dict as it is."""
    if isinstance(event, Mapping):
        return event["data"] if "data" in event and "choices" not in event else event
    data = getattr(event, "data", None)
    return event if data is None else data


class StreamAccumulator(_chat.StreamAccumulator):  # type: ignore[name-defined,misc]
    """Incremental form of ``resolve_stream``: ``add(event)`` per stream event, then ``record()``."""

    def add(self, chunk: Any) -> None:
        super().add(_chunk(chunk))


def resolve_stream(request_record: Mapping[str, Any], chunks: Iterable[Any]) -> dict[str, Any]:
    accumulator = StreamAccumulator(request_record)
    for event in _common.iterate(chunks):
        accumulator.add(event)
    return accumulator.record()
