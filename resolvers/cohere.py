"""Resolvers for the Cohere v2 client's ``chat`` / ``chat_stream`` (see ``resolvers`` for the record).

Requests are OpenAI-like (``model``, ``messages`` with string or text-item content, ``tools`` as
functions), so the shared chat request logic applies. Responses: ``message.content`` text items
joined, ``message.tool_calls`` (``function.name`` / ``arguments``), ``finish_reason``
(``COMPLETE``, ``MAX_TOKENS``, ``TOOL_CALL`` ...), tokens from ``usage.tokens`` (input / output;
the billed units are not the token counts). A stream is typed events: ``content-delta`` text,
``tool-call-start`` / ``tool-call-delta`` fragments, ``message-end`` with finish reason and usage.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from resolvers import _common

__all__ = ["PROVIDER", "StreamAccumulator", "resolve_error", "resolve_request", "resolve_response",
           "resolve_stream"]

PROVIDER = "cohere"
OPERATION = "chat"
STREAM_OPERATION = "chat_stream"


def resolve_request(kwargs: Mapping[str, Any], operation: str = OPERATION) -> dict[str, Any]:
    record = _common.chat_request(PROVIDER, kwargs, operation)
    if operation == STREAM_OPERATION:
        record["stream"] = True
        record["params"]["stream"] = True
    return record


def _apply_usage(record: dict[str, Any], usage: Any) -> None:
    tokens = _common.dig(usage, "tokens")
    prompt = _common.as_int(_common.dig(tokens, "input_tokens"))
    completion = _common.as_int(_common.dig(tokens, "output_tokens"))
    if prompt is None and completion is None:
        return
    record.update(prompt_tokens=prompt, completion_tokens=completion, total_tokens=(prompt or 0) + (completion or 0))


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(t for t in (_common.dig(item, "text") for item in _common.as_list(content)) if isinstance(t, str))


def resolve_response(request_record: Mapping[str, Any], response: Any) -> dict[str, Any]:
    record = _common.with_defaults(PROVIDER, OPERATION, request_record)
    response_id = _common.as_str(_common.dig(response, "id"))
    if response_id:
        record["response_id"] = response_id
    message = _common.dig(response, "message")
    record["output_text"] = _text(_common.dig(message, "content"))
    record["tool_calls"] = [{"id": _common.as_str(_common.dig(call, "id")),
                             "name": _common.as_str(_common.dig(call, "function", "name")),
                             "arguments": _common.arguments_text(_common.dig(call, "function", "arguments"))}
                            for call in _common.as_list(_common.dig(message, "tool_calls"))]
    record["finish_reason"] = _common.as_str(_common.dig(response, "finish_reason"))
    _apply_usage(record, _common.dig(response, "usage"))
    return record


class StreamAccumulator(_common.Accumulator):
    """Incremental form of ``resolve_stream``: ``add(event)`` per stream event, then ``record()``."""

    def __init__(self, request_record: Mapping[str, Any]) -> None:
        super().__init__(PROVIDER, STREAM_OPERATION, request_record)

    def add(self, event: Any) -> None:
        kind = _common.as_str(_common.dig(event, "type"))
        message = _common.dig(event, "delta", "message")
        if kind == "message-start":
            self._record["response_id"] = _common.as_str(_common.dig(event, "id"))
        elif kind == "content-delta":
            text = _common.dig(message, "content", "text")
            if isinstance(text, str):
                self._text.append(text)
        elif kind in ("tool-call-start", "tool-call-delta"):
            index = _common.as_int(_common.dig(event, "index")) or 0
            slot = self._slot(index)
            call = _common.dig(message, "tool_calls")
            call_id = _common.as_str(_common.dig(call, "id"))
            name = _common.as_str(_common.dig(call, "function", "name"))
            if call_id:
                slot["id"] = call_id
            if name:
                slot["name"] = name
            arguments = _common.dig(call, "function", "arguments")
            if arguments:
                slot["arguments"].append(_common.arguments_text(arguments))
        elif kind == "message-end":
            self._record["finish_reason"] = _common.as_str(_common.dig(event, "delta", "finish_reason"))
            _apply_usage(self._record, _common.dig(event, "delta", "usage"))


def resolve_stream(request_record: Mapping[str, Any], chunks: Iterable[Any]) -> dict[str, Any]:
    return _common.accumulate(StreamAccumulator(request_record), chunks)


def resolve_error(request_record: Mapping[str, Any], exc: BaseException) -> dict[str, Any]:
    return _common.with_error(PROVIDER, OPERATION, request_record, exc)
