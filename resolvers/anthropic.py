"""Resolvers for the Anthropic client's ``messages.create`` / ``messages.stream``
(see ``resolvers`` for the record).

Anthropic reports ``input_tokens`` without the cached part of the prompt, so
``prompt_tokens`` adds ``cache_creation_input_tokens`` and
``cache_read_input_tokens`` back in: the record counts the whole prompt, as
OpenAI's ``prompt_tokens`` does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from resolvers._common import (
    accumulate,
    apply_identity,
    arguments_text,
    as_dict,
    as_int,
    as_list,
    as_str,
    dig,
    empty_record,
    request_params,
    stream_flag,
    text_of,
    with_defaults,
    with_error,
)

__all__ = ["PROVIDER", "StreamAccumulator", "resolve_error", "resolve_request", "resolve_response",
           "resolve_stream"]

PROVIDER = "anthropic"
CREATE = "messages.create"
STREAM = "messages.stream"

_USAGE_KEYS = ("input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")


def resolve_request(kwargs: Mapping[str, Any], operation: str = CREATE) -> dict[str, Any]:
    """A record from the kwargs of ``messages.create`` (or of ``messages.stream`` when
    ``operation="messages.stream"``, which streams without a ``stream`` kwarg)."""
    kwargs = kwargs if isinstance(kwargs, Mapping) else {}
    record = empty_record(PROVIDER, operation)
    record["model"] = as_str(kwargs.get("model"))
    record["stream"] = operation == STREAM or stream_flag(kwargs.get("stream"))
    record["params"] = request_params(kwargs, record["stream"])
    messages = []
    system = text_of(kwargs.get("system"))
    if system:
        messages.append({"role": "system", "content": system})
    for message in as_list(kwargs.get("messages")):
        messages.append(
            {"role": as_str(dig(message, "role")) or "", "content": text_of(dig(message, "content"))}
        )
    record["input_messages"] = messages
    return record


def _tool_input_text(block: Any) -> str:
    tool_input = dig(block, "input")
    return arguments_text({} if tool_input is None else tool_input)


def _apply_usage(record: dict[str, Any], usage: Any) -> None:
    if usage is None:
        return
    prompt = as_int(dig(usage, "input_tokens"))
    if prompt is not None:
        for key in ("cache_creation_input_tokens", "cache_read_input_tokens"):
            prompt += as_int(dig(usage, key)) or 0
    completion = as_int(dig(usage, "output_tokens"))
    total = prompt + completion if prompt is not None and completion is not None else None
    record.update(prompt_tokens=prompt, completion_tokens=completion, total_tokens=total)


def resolve_response(request_record: Mapping[str, Any], response: Any) -> dict[str, Any]:
    """The request record completed from a ``Message`` (model or dict)."""
    record = with_defaults(PROVIDER, CREATE, request_record)
    data = as_dict(response)
    apply_identity(record, data)
    texts, calls = [], []
    for block in as_list(data.get("content")):
        kind = dig(block, "type")
        if kind == "text":
            texts.append(as_str(dig(block, "text")) or "")
        elif kind == "tool_use":
            calls.append(
                {
                    "id": as_str(dig(block, "id")),
                    "name": as_str(dig(block, "name")),
                    "arguments": _tool_input_text(block),
                }
            )
    record["output_text"] = "".join(texts)
    record["tool_calls"] = calls
    record["finish_reason"] = as_str(data.get("stop_reason"))
    _apply_usage(record, data.get("usage"))
    return record


class StreamAccumulator:
    """Folds stream events into a record one event at a time.

    Takes the raw events of ``messages.create(stream=True)`` as well as the events
    of ``messages.stream()``; the latter's derived events (``text``,
    ``input_json``, ...) repeat what the raw deltas already said and are ignored.
    """

    def __init__(self, request_record: Mapping[str, Any]) -> None:
        self._record = with_defaults(PROVIDER, STREAM, request_record)
        self._record["stream"] = True
        self._blocks: dict[int, dict[str, Any]] = {}
        self._usage: dict[str, Any] = {}

    def add(self, event: Any) -> None:
        data = as_dict(event)
        handler = self._handlers.get(as_str(data.get("type")) or "")
        if handler is not None:
            handler(self, data)

    def _merge_usage(self, usage: Any) -> None:
        # message_delta repeats the counts cumulatively; the latest non-null value wins.
        for key in _USAGE_KEYS:
            value = as_int(dig(usage, key))
            if value is not None:
                self._usage[key] = value

    def _on_message_start(self, data: dict[str, Any]) -> None:
        message = data.get("message")
        apply_identity(self._record, message)
        self._merge_usage(dig(message, "usage"))

    def _on_block_start(self, data: dict[str, Any]) -> None:
        block = data.get("content_block")
        self._blocks[as_int(data.get("index")) or 0] = {
            "type": as_str(dig(block, "type")),
            "text": [as_str(dig(block, "text")) or ""],
            "id": as_str(dig(block, "id")),
            "name": as_str(dig(block, "name")),
            "input": dig(block, "input"),
            "json": [],
        }

    def _on_block_delta(self, data: dict[str, Any]) -> None:
        index = as_int(data.get("index")) or 0
        delta = data.get("delta")
        kind = dig(delta, "type")
        # A delta without its block_start (a truncated recording) still counts.
        block = self._blocks.setdefault(
            index,
            {
                "type": "tool_use" if kind == "input_json_delta" else "text",
                "text": [],
                "id": None,
                "name": None,
                "input": None,
                "json": [],
            },
        )
        if kind == "text_delta":
            block["text"].append(as_str(dig(delta, "text")) or "")
        elif kind == "input_json_delta":
            block["json"].append(as_str(dig(delta, "partial_json")) or "")

    def _on_message_delta(self, data: dict[str, Any]) -> None:
        stop_reason = as_str(dig(data, "delta", "stop_reason"))
        if stop_reason:
            self._record["finish_reason"] = stop_reason
        self._merge_usage(data.get("usage"))

    def _on_error(self, data: dict[str, Any]) -> None:
        error = data.get("error")
        self._record["error"] = {
            "type": as_str(dig(error, "type")) or "error",
            "status_code": None,
            "message": as_str(dig(error, "message")) or "",
        }

    _handlers = {
        "message_start": _on_message_start,
        "content_block_start": _on_block_start,
        "content_block_delta": _on_block_delta,
        "message_delta": _on_message_delta,
        "error": _on_error,
    }

    def _tool_call(self, block: dict[str, Any]) -> dict[str, Any]:
        arguments = "".join(block["json"])
        if not arguments:
            arguments = arguments_text({} if block["input"] is None else block["input"])
        return {"id": block["id"], "name": block["name"], "arguments": arguments}

    def record(self) -> dict[str, Any]:
        """The record for everything added so far (may be called more than once)."""
        record = dict(self._record)
        blocks = [block for _, block in sorted(self._blocks.items())]
        record["output_text"] = "".join("".join(b["text"]) for b in blocks if b["type"] == "text")
        record["tool_calls"] = [self._tool_call(b) for b in blocks if b["type"] == "tool_use"]
        if self._usage:
            _apply_usage(record, self._usage)
        return record


def resolve_stream(request_record: Mapping[str, Any], chunks: Iterable[Any]) -> dict[str, Any]:
    """The request record completed from stream events (models or dicts)."""
    return accumulate(StreamAccumulator(request_record), chunks)


def resolve_error(request_record: Mapping[str, Any], exc: BaseException) -> dict[str, Any]:
    """The record with ``error`` set from the exception the call raised."""
    return with_error(PROVIDER, CREATE, request_record, exc)
