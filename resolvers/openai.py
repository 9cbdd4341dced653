"""Resolvers for the OpenAI client (see ``resolvers`` for the record): ``chat.completions``
(the shared chat format), the Responses API (``responses.create`` / ``parse``, streamed or
not) and ``embeddings.create``. The operation in the request record says which format applies.

Responses API: input messages from ``input`` (a string is one user message; message items keep
their role; a ``function_call_output`` item is a ``tool`` message) with ``instructions`` as a
leading system message; output text = the ``output_text`` parts of the ``message`` output items;
tool calls = the ``function_call`` items (id = ``call_id``); finish reason = the
``incomplete_details.reason`` of an incomplete response, else its ``status``; tokens from
``usage.input_tokens`` / ``output_tokens`` / ``total_tokens``. A stream's record comes from the
final ``response.completed`` (``.incomplete``, ``.failed``) event, or from the deltas seen so far
if the stream ended before it.

Embeddings: each input is an ``input`` message (a token array as ``[N tokens]``); the output text
says ``[<count> embeddings x <dims> dims]``; ``prompt_tokens`` / ``total_tokens`` from usage.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from resolvers import _common

__all__ = ["PROVIDER", "StreamAccumulator", "resolve_error", "resolve_request", "resolve_response",
           "resolve_stream"]

PROVIDER = "openai"
EMBEDDINGS = "embeddings.create"
_chat = _common.ChatFormat(PROVIDER)
_RESPONSES_CONTENT = frozenset({"model", "input", "instructions", "extra_headers", "extra_query", "timeout",
                                "extra_body"})
_FINAL_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed"})


def _is_responses(operation: Any) -> bool:
    return isinstance(operation, str) and operation.startswith("responses.")


# ---------------------------------------------------------------- requests


def _responses_request(kwargs: Mapping[str, Any], operation: str) -> dict[str, Any]:
    record = _common.empty_record(PROVIDER, operation)
    record["model"] = _common.as_str(kwargs.get("model"))
    record["stream"] = _common.stream_flag(kwargs.get("stream"))
    params: dict[str, Any] = {}
    for key, value in kwargs.items():
        if key in _RESPONSES_CONTENT or _common.is_omitted(value):
            continue
        params[str(key)] = _common.tool_names(value) if key == "tools" else _common.json_safe(value)
    params["stream"] = record["stream"]
    record["params"] = params
    messages: list[dict[str, str]] = []
    instructions = kwargs.get("instructions")
    if isinstance(instructions, str) and instructions:
        messages.append({"role": "system", "content": instructions})
    given = kwargs.get("input")
    if isinstance(given, str):
        messages.append({"role": "user", "content": given})
    for item in _common.as_list(given):
        if isinstance(item, str):
            messages.append({"role": "user", "content": item})
            continue
        kind = _common.as_str(_common.dig(item, "type"))
        if kind == "function_call_output":
            messages.append({"role": "tool", "content": _common.text_of(_common.dig(item, "output"))})
        elif kind == "function_call":
            messages.append({"role": "assistant",
                             "content": f"[tool_call: {_common.as_str(_common.dig(item, 'name')) or ''}]"})
        else:
            messages.append({"role": _common.as_str(_common.dig(item, "role")) or "user",
                             "content": _common.text_of(_common.dig(item, "content"))})
    record["input_messages"] = messages
    return record


def _embeddings_request(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    record = _common.empty_record(PROVIDER, EMBEDDINGS)
    record["model"] = _common.as_str(kwargs.get("model"))
    given = kwargs.get("input")
    items = [given] if isinstance(given, str) or (isinstance(given, list) and given
                                                  and isinstance(given[0], int)) else _common.as_list(given)
    record["input_messages"] = [{"role": "input", "content": item if isinstance(item, str) else
                                 f"[{len(item) if isinstance(item, list) else 0} tokens]"} for item in items]
    record["params"] = _common.request_params({k: v for k, v in kwargs.items() if k != "input"}, False)
    return record


def resolve_request(kwargs: Mapping[str, Any], operation: str = _common.CHAT_OPERATION) -> dict[str, Any]:
    """A record of the call's kwargs: chat completions, Responses API or embeddings by ``operation``."""
    kwargs = kwargs if isinstance(kwargs, Mapping) else {}
    if _is_responses(operation):
        return _responses_request(kwargs, operation)
    if operation == EMBEDDINGS:
        return _embeddings_request(kwargs)
    return _chat.resolve_request(kwargs, operation)


# ---------------------------------------------------------------- responses


def _apply_responses(record: dict[str, Any], response: Any) -> None:
    response_id = _common.as_str(_common.dig(response, "id"))
    if response_id:
        record["response_id"] = response_id
    model = _common.as_str(_common.dig(response, "model"))
    if model:
        record["model"] = model
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for item in _common.as_list(_common.dig(response, "output")):
        kind = _common.as_str(_common.dig(item, "type"))
        if kind == "message":
            for part in _common.as_list(_common.dig(item, "content")):
                if _common.as_str(_common.dig(part, "type")) == "output_text":
                    texts.append(_common.as_str(_common.dig(part, "text")) or "")
        elif kind == "function_call":
            calls.append({"id": _common.as_str(_common.dig(item, "call_id")),
                          "name": _common.as_str(_common.dig(item, "name")),
                          "arguments": _common.arguments_text(_common.dig(item, "arguments"))})
    record["output_text"] = "".join(texts)
    record["tool_calls"] = calls
    reason = _common.as_str(_common.dig(response, "incomplete_details", "reason"))
    record["finish_reason"] = reason or _common.as_str(_common.dig(response, "status"))
    usage = _common.dig(response, "usage")
    if usage is not None:
        record.update(prompt_tokens=_common.as_int(_common.dig(usage, "input_tokens")),
                      completion_tokens=_common.as_int(_common.dig(usage, "output_tokens")),
                      total_tokens=_common.as_int(_common.dig(usage, "total_tokens")))


def _apply_embeddings(record: dict[str, Any], response: Any) -> None:
    model = _common.as_str(_common.dig(response, "model"))
    if model:
        record["model"] = model
    data = _common.as_list(_common.dig(response, "data"))
    first = _common.dig(data, 0, "embedding")
    dims = len(first) if isinstance(first, (list, tuple)) else 0
    record["output_text"] = f"[{len(data)} embeddings x {dims} dims]"
    usage = _common.dig(response, "usage")
    record.update(prompt_tokens=_common.as_int(_common.dig(usage, "prompt_tokens")),
                  total_tokens=_common.as_int(_common.dig(usage, "total_tokens")))


def resolve_response(request_record: Mapping[str, Any], response: Any) -> dict[str, Any]:
    """The request record completed from the response object (or its dict)."""
    operation: Any = request_record.get("operation") if isinstance(request_record, Mapping) else None
    if _is_responses(operation):
        record = _common.with_defaults(PROVIDER, operation, request_record)
        _apply_responses(record, response)
        return record
    if operation == EMBEDDINGS:
        record = _common.with_defaults(PROVIDER, EMBEDDINGS, request_record)
        _apply_embeddings(record, response)
        return record
    return _chat.resolve_response(request_record, response)


# ---------------------------------------------------------------- streams


class _ResponsesAccumulator(_common.Accumulator):
    def __init__(self, request_record: Mapping[str, Any]) -> None:
        super().__init__(PROVIDER, str(request_record.get("operation")), request_record)
        self._final: dict[str, Any] | None = None

    def add(self, event: Any) -> None:
        kind = _common.as_str(_common.dig(event, "type"))
        if kind in _FINAL_EVENTS or kind == "response.created":
            response = _common.dig(event, "response")
            if kind == "response.created":
                self._record["response_id"] = _common.as_str(_common.dig(response, "id"))
                return
            final = dict(self._record)
            _apply_responses(final, response)
            self._final = final
        elif kind == "response.output_text.delta":
            self._text.append(_common.as_str(_common.dig(event, "delta")) or "")
        elif kind == "response.output_item.added":
            item = _common.dig(event, "item")
            if _common.as_str(_common.dig(item, "type")) == "function_call":
                index = _common.as_int(_common.dig(event, "output_index")) or 0
                self._slots[index] = {"id": _common.as_str(_common.dig(item, "call_id")),
                                      "name": _common.as_str(_common.dig(item, "name")), "arguments": []}
        elif kind == "response.function_call_arguments.delta":
            index = _common.as_int(_common.dig(event, "output_index")) or 0
            self._slot(index)["arguments"].append(_common.as_str(_common.dig(event, "delta")) or "")

    def record(self) -> dict[str, Any]:
        return dict(self._final) if self._final is not None else super().record()


class StreamAccumulator:
    """Incremental form of ``resolve_stream``: ``add(chunk_or_event)``, then ``record()``; chat
    chunks or Responses API events according to the request's operation."""

    def __init__(self, request_record: Mapping[str, Any]) -> None:
        operation = request_record.get("operation") if isinstance(request_record, Mapping) else None
        self._inner: Any = _ResponsesAccumulator(request_record) if _is_responses(operation) else \
            _chat.StreamAccumulator(request_record)

    def add(self, chunk: Any) -> None:
        self._inner.add(chunk)

    def record(self) -> dict[str, Any]:
        return self._inner.record()


def resolve_stream(request_record: Mapping[str, Any], chunks: Iterable[Any]) -> dict[str, Any]:
    return _common.accumulate(StreamAccumulator(request_record), chunks)


def resolve_error(request_record: Mapping[str, Any], exc: BaseException) -> dict[str, Any]:
    """The record with ``error`` set from the exception the call raised."""
    operation = request_record.get("operation") if isinstance(request_record, Mapping) else None
    return _common.with_error(PROVIDER, operation or _common.CHAT_OPERATION, request_record, exc)
