"""Resolvers for DashScope's ``Generation.call`` (Qwen; see ``resolvers`` for the record).

Request: ``model``, ``messages`` (or ``prompt``, a single user turn), and parameters such as
``result_format``, ``incremental_output``, ``temperature``, ``tools`` (reduced to names). The
``api_key`` and ``workspace`` are never recorded. Response (``GenerationResponse``, dict-like):
``output.choices[0].message`` with ``result_format="message"``, else ``output.text``; the finish
reason; ``usage.input_tokens`` / ``output_tokens`` / ``total_tokens``; ``request_id``. DashScope
does not raise on API errors: a response whose ``status_code`` is not 200 becomes the record's
``error`` (type = its ``code``). A stream's chunks carry the whole text so far, or only the new
piece with ``incremental_output=True``; the usage of the last chunk counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from resolvers import _common

__all__ = ["PROVIDER", "StreamAccumulator", "resolve_error", "resolve_request", "resolve_response",
           "resolve_stream"]

PROVIDER = "dashscope"
OPERATION = "Generation.call"
_SECRET = frozenset({"api_key", "workspace", "headers"})


def resolve_request(kwargs: Mapping[str, Any], operation: str = OPERATION) -> dict[str, Any]:
    kwargs = {k: v for k, v in (kwargs if isinstance(kwargs, Mapping) else {}).items() if k not in _SECRET}
    messages = kwargs.get("messages")
    if not messages and kwargs.get("prompt") is not None:
        kwargs["messages"] = [{"role": "user", "content": kwargs.pop("prompt")}]
    return _common.chat_request(PROVIDER, kwargs, operation)


def _ok(response: Any) -> bool:
    status = _common.as_int(_common.dig(response, "status_code"))
    return status is None or status == 200


def _response_error(response: Any) -> dict[str, Any]:
    return {"type": _common.as_str(_common.dig(response, "code")) or "error",
            "status_code": _common.as_int(_common.dig(response, "status_code")),
            "message": _common.as_str(_common.dig(response, "message")) or ""}


def _output(response: Any) -> tuple[str, list[dict[str, Any]], str | None]:
    output = _common.dig(response, "output")
    choice = _common.dig(output, "choices", 0)
    if choice is not None:
        message = _common.dig(choice, "message")
        calls = [{"id": _common.as_str(_common.dig(c, "id")),
                  "name": _common.as_str(_common.dig(c, "function", "name")),
                  "arguments": _common.arguments_text(_common.dig(c, "function", "arguments"))}
                 for c in _common.as_list(_common.dig(message, "tool_calls"))]
        return _common.text_of(_common.dig(message, "content")), calls, _common.as_str(_common.dig(choice,
                                                                                                 "finish_reason"))
    return _common.as_str(_common.dig(output, "text")) or "", [], _common.as_str(_common.dig(output, "finish_reason"))


def _apply_usage(record: dict[str, Any], response: Any) -> None:
    usage = _common.dig(response, "usage")
    prompt = _common.as_int(_common.dig(usage, "input_tokens"))
    completion = _common.as_int(_common.dig(usage, "output_tokens"))
    total = _common.as_int(_common.dig(usage, "total_tokens"))
    if prompt is None and completion is None:
        return
    record.update(prompt_tokens=prompt, completion_tokens=completion,
                  total_tokens=total if total is not None else (prompt or 0) + (completion or 0))


def _finish_reason(value: str | None) -> str | None:
    return None if value in (None, "null") else value


def resolve_response(request_record: Mapping[str, Any], response: Any) -> dict[str, Any]:
    record = _common.with_defaults(PROVIDER, OPERATION, request_record)
    record["response_id"] = _common.as_str(_common.dig(response, "request_id"))
    if not _ok(response):
        record["error"] = _response_error(response)
        return record
    text, calls, finish = _output(response)
    record.update(output_text=text, tool_calls=calls, finish_reason=_finish_reason(finish))
    _apply_usage(record, response)
    return record


class StreamAccumulator(_common.Accumulator):
    """Incremental form of ``resolve_stream``: ``add(chunk)`` per streamed response, then ``record()``."""

    def __init__(self, request_record: Mapping[str, Any]) -> None:
        super().__init__(PROVIDER, OPERATION, request_record)
        self._incremental = bool((self._record.get("params") or {}).get("incremental_output"))

    def add(self, chunk: Any) -> None:
        self._record["response_id"] = _common.as_str(_common.dig(chunk, "request_id")) or self._record["response_id"]
        if not _ok(chunk):
            self._record["error"] = _response_error(chunk)
            return
        text, calls, finish = _output(chunk)
        if self._incremental:
            self._text.append(text)
        else:
            self._text = [text]  # each chunk holds the whole answer so far
        if calls:
            self._calls = calls
        if _finish_reason(finish):
            self._record["finish_reason"] = finish
        _apply_usage(self._record, chunk)


def resolve_stream(request_record: Mapping[str, Any], chunks: Iterable[Any]) -> dict[str, Any]:
    return _common.accumulate(StreamAccumulator(request_record), chunks)


def resolve_error(request_record: Mapping[str, Any], exc: BaseException) -> dict[str, Any]:
    return _common.with_error(PROVIDER, OPERATION, request_record, exc)
