"""Resolvers for the ZhipuAI client's ``chat.completions.create`` (see ``resolvers`` for the record).

ZhipuAI's API is OpenAI's chat-completions format (plus extras such as
``reasoning_content``, which is not recorded), so this module only names the
provider and delegates to the shared chat-format logic in ``_common``.
ZhipuAI streams report usage on the final choice chunk without being asked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from resolvers import _common

__all__ = [
    "PROVIDER",
    "StreamAccumulator",
    "resolve_error",
    "resolve_request",
    "resolve_response",
    "resolve_stream",
]

PROVIDER = "zhipuai"


def resolve_request(kwargs: Mapping[str, Any], operation: str = _common.CHAT_OPERATION) -> dict[str, Any]:
    """A record holding model, params, input messages and the stream flag of a call's kwargs."""
    return _common.chat_request(PROVIDER, kwargs, operation)


def resolve_response(request_record: Mapping[str, Any], response: Any) -> dict[str, Any]:
    """The request record completed from a ``ChatCompletion`` (model or dict)."""
    return _common.chat_response(PROVIDER, request_record, response)


class StreamAccumulator(_common.ChatStreamAccumulator):
    """Incremental form of :func:`resolve_stream`: ``add(chunk)`` per chunk, then ``record()``."""

    def __init__(self, request_record: Mapping[str, Any]) -> None:
        super().__init__(PROVIDER, request_record)


def resolve_stream(request_record: Mapping[str, Any], chunks: Iterable[Any]) -> dict[str, Any]:
    """The request record completed from ``ChatCompletionChunk``s (models or dicts)."""
    accumulator = StreamAccumulator(request_record)
    for chunk in _common.iterate(chunks):
        accumulator.add(chunk)
    return accumulator.record()


def resolve_error(request_record: Mapping[str, Any], exc: BaseException) -> dict[str, Any]:
    """The record with ``error`` set from the exception the call raised."""
    return _common.with_error(PROVIDER, _common.CHAT_OPERATION, request_record, exc)
