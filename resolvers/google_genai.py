"""Resolvers for the Google GenAI client's ``models.generate_content`` /
``generate_content_stream`` (Gemini; see ``resolvers`` for the record).

Request: ``model``, ``contents`` (a string, a list of strings/parts, or ``Content`` objects with
a ``role`` and ``parts``) and ``config`` (``GenerateContentConfig`` or a dict: the system
instruction becomes a leading system message, tools are reduced to their function names, the
other fields are the params). Response: ``candidates[0].content.parts`` (text parts joined,
``function_call`` parts as tool calls with their ``args`` as JSON text), ``finish_reason``
(``"STOP"``, ``"MAX_TOKENS"`` ...), ``usage_metadata`` (prompt / candidates / total token counts),
``model_version`` and ``response_id``. A stream is a sequence of such responses: text
concatenated, the last finish reason and usage kept. Objects or camelCase wire dicts alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from resolvers import _common

__all__ = ["PROVIDER", "StreamAccumulator", "resolve_error", "resolve_request", "resolve_response",
           "resolve_stream"]

PROVIDER = "google_genai"
OPERATION = "models.generate_content"
STREAM_OPERATION = "models.generate_content_stream"
_CONTENT_KEYS = ("system_instruction", "systemInstruction", "tools")


def _get(obj: Any, snake: str) -> Any:
    """A field by its Python name, or by the wire's camelCase name in a dict."""
    value = _common.dig(obj, snake)
    if value is None and isinstance(obj, Mapping):
        head, *rest = snake.split("_")
        value = obj.get(head + "".join(word.title() for word in rest))
    return value


def _part_text(part: Any) -> str | None:
    if isinstance(part, str):
        return part
    text = _get(part, "text")
    if isinstance(text, str):
        return text
    call = _get(part, "function_call")
    if call is not None:
        return f"[tool_call: {_common.as_str(_get(call, 'name')) or ''}]"
    response = _get(part, "function_response")
    if response is not None:
        return _common.arguments_text(_get(response, "response"))
    return "[part]" if part is not None else None


def _content_message(content: Any, default_role: str = "user") -> dict[str, str]:
    if isinstance(content, str):
        return {"role": default_role, "content": content}
    parts = _get(content, "parts")
    if parts is None:  # a bare part (text, image ...)
        return {"role": default_role, "content": _part_text(content) or ""}
    texts = [t for t in (_part_text(p) for p in _common.as_list(parts)) if t]
    role = _common.as_str(_get(content, "role")) or default_role
    return {"role": role, "content": "\n".join(texts)}


def _messages(contents: Any) -> list[dict[str, str]]:
    if contents is None:
        return []
    if not isinstance(contents, (list, tuple)):
        return [_content_message(contents)]
    if all(isinstance(c, str) or _get(c, "parts") is None for c in contents):
        # A list of strings/parts is one user turn.
        return [{"role": "user", "content": "\n".join(t for t in (_part_text(c) for c in contents) if t)}]
    return [_content_message(c) for c in contents]


def _tool_names(tools: Any) -> list[str]:
    names: list[str] = []
    for tool in _common.as_list(tools):
        if callable(tool):
            names.append(getattr(tool, "__name__", "function"))
            continue
        for declaration in _common.as_list(_get(tool, "function_declarations")):
            name = _common.as_str(_get(declaration, "name"))
            if name:
                names.append(name)
    return names


def resolve_request(kwargs: Mapping[str, Any], operation: str = OPERATION) -> dict[str, Any]:
    kwargs = kwargs if isinstance(kwargs, Mapping) else {}
    record = _common.empty_record(PROVIDER, operation)
    record["model"] = _common.as_str(kwargs.get("model"))
    record["stream"] = operation == STREAM_OPERATION
    config = kwargs.get("config")
    config_dict = _common.as_dict(config)
    params = {k: _common.json_safe(v) for k, v in config_dict.items()
              if v is not None and k not in _CONTENT_KEYS and not _common.is_omitted(v)}
    tools = _get(config, "tools")
    if tools:
        params["tools"] = _tool_names(tools)
    params["stream"] = record["stream"]
    record["params"] = params
    messages = _messages(kwargs.get("contents"))
    system = _get(config, "system_instruction")
    if system is not None:
        messages.insert(0, {"role": "system", "content": _content_message(system, "system")["content"]})
    record["input_messages"] = messages
    return record


def _finish(value: Any) -> str | None:
    if value is None:
        return None
    return _common.as_str(getattr(value, "value", value))


def _apply(record: dict[str, Any], response: Any, texts: list[str], calls: list[dict[str, Any]]) -> None:
    model = _common.as_str(_get(response, "model_version"))
    if model:
        record["model"] = model
    response_id = _common.as_str(_get(response, "response_id"))
    if response_id:
        record["response_id"] = response_id
    candidate = _common.dig(_get(response, "candidates"), 0)
    for part in _common.as_list(_get(_get(candidate, "content"), "parts")):
        text = _get(part, "text")
        if isinstance(text, str):
            texts.append(text)
        call = _get(part, "function_call")
        if call is not None:
            calls.append({"id": _common.as_str(_get(call, "id")), "name": _common.as_str(_get(call, "name")),
                          "arguments": _common.arguments_text(_get(call, "args"))})
    finish = _finish(_get(candidate, "finish_reason"))
    if finish:
        record["finish_reason"] = finish
    usage = _get(response, "usage_metadata")
    if usage is not None:
        prompt = _common.as_int(_get(usage, "prompt_token_count"))
        completion = _common.as_int(_get(usage, "candidates_token_count"))
        total = _common.as_int(_get(usage, "total_token_count"))
        record.update(prompt_tokens=prompt, completion_tokens=completion, total_tokens=total)


def resolve_response(request_record: Mapping[str, Any], response: Any) -> dict[str, Any]:
    record = _common.with_defaults(PROVIDER, OPERATION, request_record)
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    _apply(record, response, texts, calls)
    record["output_text"] = "".join(texts)
    record["tool_calls"] = calls
    return record


class StreamAccumulator(_common.Accumulator):
    """Incremental form of ``resolve_stream``: ``add(chunk)`` per streamed response, then ``record()``."""

    def __init__(self, request_record: Mapping[str, Any]) -> None:
        super().__init__(PROVIDER, STREAM_OPERATION, request_record)

    def add(self, chunk: Any) -> None:
        _apply(self._record, chunk, self._text, self._calls)


def resolve_stream(request_record: Mapping[str, Any], chunks: Iterable[Any]) -> dict[str, Any]:
    return _common.accumulate(StreamAccumulator(request_record), chunks)


def resolve_error(request_record: Mapping[str, Any], exc: BaseException) -> dict[str, Any]:
    return _common.with_error(PROVIDER, OPERATION, request_record, exc)
