"""Resolvers for the Ollama client's ``chat`` (see ``resolvers`` for the record).

Ollama's ``/api/chat`` format: the reply is one ``message`` (``content``, whole ``tool_calls``
with ``arguments`` as an object), ``done_reason`` is the finish reason, and the token counts are
``prompt_eval_count`` / ``eval_count`` (no total: their sum). A stream (NDJSON, Ollama's default
on the wire; ``stream=True`` in the Python client) sends one such object per piece, the last with
``done: true`` and the counts. Responses may be ``ollama.ChatResponse`` objects or dicts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from resolvers import _common

__all__ = ["PROVIDER", "StreamAccumulator", "resolve_error", "resolve_request", "resolve_response",
           "resolve_stream"]

PROVIDER = "ollama"
OPERATION = "chat"


def resolve_request(kwargs: Mapping[str, Any], operation: str = OPERATION) -> dict[str, Any]:
    return _common.chat_request(PROVIDER, kwargs, operation)


def _apply_counts(record: dict[str, Any], data: Any) -> None:
    prompt = _common.as_int(_common.dig(data, "prompt_eval_count"))
    completion = _common.as_int(_common.dig(data, "eval_count"))
    if prompt is None and completion is None:
        return
    total = (prompt or 0) + (completion or 0)
    record.update(prompt_tokens=prompt, completion_tokens=completion, total_tokens=total)


def _tool_calls(message: Any) -> list[dict[str, Any]]:
    return [{"id": _common.as_str(_common.dig(call, "id")),
             "name": _common.as_str(_common.dig(call, "function", "name")),
             "arguments": _common.arguments_text(_common.dig(call, "function", "arguments"))}
            for call in _common.as_list(_common.dig(message, "tool_calls"))]


def resolve_response(request_record: Mapping[str, Any], response: Any) -> dict[str, Any]:
    record = _common.with_defaults(PROVIDER, OPERATION, request_record)
    data = _common.as_dict(response)
    model = _common.as_str(data.get("model"))
    if model:
        record["model"] = model
    message = data.get("message")
    record["output_text"] = _common.text_of(_common.dig(message, "content"))
    record["tool_calls"] = _tool_calls(message)
    record["finish_reason"] = _common.as_str(data.get("done_reason"))
    _apply_counts(record, data)
    return record


class StreamAccumulator(_common.Accumulator):
    """Incremental form of ``resolve_stream``: ``add(chunk)`` per streamed object, then ``record()``."""

    def __init__(self, request_record: Mapping[str, Any]) -> None:
        super().__init__(PROVIDER, OPERATION, request_record)

    def add(self, chunk: Any) -> None:
        data = _common.as_dict(chunk)
        if not data:
            return
        model = _common.as_str(data.get("model"))
        if model:
            self._record["model"] = model
        message = data.get("message")
        content = _common.dig(message, "content")
        if isinstance(content, str):
            self._text.append(content)
        self._calls.extend(_tool_calls(message))
        if data.get("done"):
            self._record["finish_reason"] = _common.as_str(data.get("done_reason"))
            _apply_counts(self._record, data)


def resolve_stream(request_record: Mapping[str, Any], chunks: Iterable[Any]) -> dict[str, Any]:
    return _common.accumulate(StreamAccumulator(request_record), chunks)


def resolve_error(request_record: Mapping[str, Any], exc: BaseException) -> dict[str, Any]:
    return _common.with_error(PROVIDER, OPERATION, request_record, exc)
