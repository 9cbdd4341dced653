"""Helpers shared by the provider resolvers, and the OpenAI chat format itself.

ZhipuAI speaks the OpenAI chat-completions format, so the request, response and
stream logic for that format lives here and both ``openai.py`` and ``zhipuai.py``
are thin wrappers that only set the provider name.

Every helper tolerates any input shape: a resolver runs on the user's hot path,
inside an autolog wrapper, and must never be the reason a call fails.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "CHAT_OPERATION",
    "Accumulator",
    "ChatStreamAccumulator",
    "accumulate",
    "apply_identity",
    "arguments_text",
    "as_dict",
    "as_int",
    "as_list",
    "as_str",
    "chat_request",
    "chat_response",
    "dig",
    "empty_record",
    "error_info",
    "iterate",
    "json_safe",
    "request_params",
    "stream_flag",
    "text_of",
    "tool_names",
    "with_defaults",
    "with_error",
]

CHAT_OPERATION = "chat.completions.create"

# model/messages/system have their own record fields; the transport options may
# carry credentials (extra_headers) and say nothing about the model call.
_NON_PARAM_KEYS = frozenset({"model", "messages", "system", "extra_headers", "extra_query", "timeout"})

# The client libraries mark "argument not given" with sentinel objects.
_OMITTED_TYPE_NAMES = frozenset({"NotGiven", "Omit"})

# Bounds json_safe on self-referencing structures.
_MAX_DEPTH = 32


def empty_record(provider: str, operation: str) -> dict[str, Any]:
    """A record with every field at its empty value."""
    return {
        "provider": provider,
        "operation": operation,
        "model": None,
        "params": {},
        "input_messages": [],
        "output_text": "",
        "tool_calls": [],
        "finish_reason": None,
        "prompt_tokens": None,
        "completion_tokens": None,
        "total_tokens": None,
        "stream": False,
        "response_id": None,
        "error": None,
    }


def with_defaults(provider: str, operation: str, record: Any) -> dict[str, Any]:
    """A new record: the given one laid over an empty one, so later code may rely on every key."""
    merged = empty_record(provider, operation)
    if isinstance(record, Mapping):
        merged.update(record)
    return merged


# ---------------------------------------------------------------- shape access


def _is_model(obj: Any) -> bool:
    return callable(getattr(type(obj), "model_dump", None))


def as_dict(obj: Any) -> dict[str, Any]:
    """A pydantic model (via ``model_dump``) or a mapping as a dict; anything else as ``{}``."""
    if isinstance(obj, Mapping):
        return dict(obj)
    if not _is_model(obj):
        return {}
    try:
        dumped = obj.model_dump(warnings=False)
    except TypeError:  # a model_dump without the keyword (old or foreign models)
        try:
            dumped = obj.model_dump()
        except Exception:
            return {}
    except Exception:
        return {}
    return dumped if isinstance(dumped, dict) else {}


def as_list(obj: Any) -> list[Any]:
    # Only real sequences: consuming a user's generator here would starve the client.
    return list(obj) if isinstance(obj, (list, tuple)) else []


def dig(obj: Any, *path: str | int) -> Any:
    """Follow keys/indexes through mappings, lists and pydantic models; ``None`` when anything is missing."""
    for key in path:
        if obj is None:
            return None
        if isinstance(key, int):
            obj = obj[key] if isinstance(obj, (list, tuple)) and -len(obj) <= key < len(obj) else None
        elif isinstance(obj, Mapping):
            obj = obj.get(key)
        elif _is_model(obj):
            try:
                obj = getattr(obj, key, None)
            except Exception:
                return None
        else:
            return None
    return obj


def as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def as_str(value: Any) -> str | None:
    if value is None or is_omitted(value):
        return None
    return value if isinstance(value, str) else str(value)


def is_omitted(value: Any) -> bool:
    return type(value).__name__ in _OMITTED_TYPE_NAMES


def iterate(items: Any) -> Iterable[Any]:
    """``items`` itself when iterable, else nothing. Errors raised by the iteration itself propagate."""
    if items is None or isinstance(items, (str, bytes, Mapping)):
        return ()
    try:
        return iter(items)
    except TypeError:
        return ()


def json_safe(value: Any, _depth: int = 0) -> Any:
    """A JSON-serialisable copy of ``value``; unknown objects become their repr."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if _depth > _MAX_DEPTH:
        return "..."
    if isinstance(value, Mapping):
        return {str(k): json_safe(v, _depth + 1) for k, v in value.items() if not is_omitted(v)}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_safe(v, _depth + 1) for v in value]
    if isinstance(value, type):  # e.g. response_format=SomePydanticModel
        return f"{value.__module__}.{value.__qualname__}"
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    if _is_model(value):
        return json_safe(as_dict(value), _depth + 1)
    try:
        return repr(value)
    except Exception:
        return f"<{type(value).__name__}>"


def arguments_text(value: Any) -> str:
    """Tool-call arguments as the JSON text the model produced (some servers send an object)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(json_safe(value), ensure_ascii=False)
    except (TypeError, ValueError):
        return str(value)


# ---------------------------------------------------------------- request side


def _part_text(part: Any) -> str:
    if isinstance(part, str):
        return part
    kind = as_str(dig(part, "type"))
    if kind in ("text", "input_text", "output_text"):
        text = dig(part, "text")
        return text if isinstance(text, str) else ""
    if kind == "refusal":
        return as_str(dig(part, "refusal")) or ""
    if kind == "tool_result":
        return text_of(dig(part, "content"))
    if kind == "tool_use":
        return f"[tool_call: {as_str(dig(part, 'name')) or ''}]"
    text = dig(part, "text")
    if isinstance(text, str):
        return text
    return f"[{kind}]" if kind else ""


def text_of(content: Any) -> str:
    """Message content flattened to text: text parts joined by newlines, other parts as ``[type]``."""
    if content is None or is_omitted(content):
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Mapping) or _is_model(content):
        return _part_text(content)
    if isinstance(content, (list, tuple)):
        pieces = (_part_text(part) for part in content)
        return "\n".join(piece for piece in pieces if piece)
    return str(content)


def tool_names(tools: Any) -> list[str]:
    """The names of the declared tools; a tool without a name (e.g. a built-in) is listed by type."""
    names = []
    for tool in as_list(tools):
        name = dig(tool, "function", "name") or dig(tool, "custom", "name") or dig(tool, "name")
        name = name or dig(tool, "type")
        if name is not None:
            names.append(str(name))
    return names


def request_params(kwargs: Mapping[str, Any], stream: bool) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for key, value in kwargs.items():
        if key in _NON_PARAM_KEYS or is_omitted(value):
            continue
        params[str(key)] = tool_names(value) if key == "tools" else json_safe(value)
    params["stream"] = stream
    return params


def stream_flag(value: Any) -> bool:
    return False if is_omitted(value) else bool(value)


def _chat_message(message: Any) -> dict[str, str]:
    lines = [text_of(dig(message, "content"))]
    # An assistant turn that only called tools would otherwise read as empty.
    calls = as_list(dig(message, "tool_calls"))
    if dig(message, "function_call") is not None:
        calls.append({"function": dig(message, "function_call")})
    lines += [f"[tool_call: {_tool_call(call)['name'] or ''}]" for call in calls]
    return {
        "role": as_str(dig(message, "role")) or "",
        "content": "\n".join(line for line in lines if line),
    }


def chat_request(provider: str, kwargs: Any, operation: str = CHAT_OPERATION) -> dict[str, Any]:
    kwargs = kwargs if isinstance(kwargs, Mapping) else {}
    record = empty_record(provider, operation)
    record["model"] = as_str(kwargs.get("model"))
    record["stream"] = stream_flag(kwargs.get("stream"))
    record["params"] = request_params(kwargs, record["stream"])
    record["input_messages"] = [_chat_message(m) for m in as_list(kwargs.get("messages"))]
    return record


# ---------------------------------------------------------------- response side


def _tool_call(call: Any) -> dict[str, Any]:
    function = dig(call, "function") or dig(call, "custom")
    arguments = dig(function, "arguments")
    if arguments is None:
        arguments = dig(function, "input")  # custom tools carry free-form input
    return {
        "id": as_str(dig(call, "id")),
        "name": as_str(dig(function, "name")),
        "arguments": arguments_text(arguments),
    }


def _apply_chat_usage(record: dict[str, Any], usage: Any) -> None:
    if usage is None:
        return
    prompt = as_int(dig(usage, "prompt_tokens"))
    completion = as_int(dig(usage, "completion_tokens"))
    total = as_int(dig(usage, "total_tokens"))
    if total is None and prompt is not None and completion is not None:
        total = prompt + completion
    record.update(prompt_tokens=prompt, completion_tokens=completion, total_tokens=total)


def apply_identity(record: dict[str, Any], data: Any) -> None:
    """The response's ``id`` and ``model`` into the record, where the response has them."""
    response_id = as_str(dig(data, "id"))
    if response_id:
        record["response_id"] = response_id
    model = as_str(dig(data, "model"))
    if model:
        record["model"] = model


def chat_response(provider: str, request_record: Any, response: Any) -> dict[str, Any]:
    record = with_defaults(provider, CHAT_OPERATION, request_record)
    data = as_dict(response)
    apply_identity(record, data)
    choice = dig(data, "choices", 0)
    message = dig(choice, "message")
    record["output_text"] = text_of(dig(message, "content"))
    calls = [_tool_call(call) for call in as_list(dig(message, "tool_calls"))]
    if dig(message, "function_call") is not None:
        calls.append(_tool_call({"function": dig(message, "function_call")}))
    record["tool_calls"] = calls
    record["finish_reason"] = as_str(dig(choice, "finish_reason"))
    _apply_chat_usage(record, dig(data, "usage"))
    return record


class Accumulator:
    """The state every stream accumulator keeps, folding a stream into its record one chunk at a
    time (so an autolog stream proxy keeps O(output) state, not every chunk): the request's record
    marked as streamed, the output text pieces, the whole tool calls seen (``_calls``) and the ones
    streamed in fragments (``_slots``: index -> id, name, argument pieces). Subclasses add ``add``."""

    def __init__(self, provider: str, operation: str, request_record: Any) -> None:
        self._record = with_defaults(provider, operation, request_record)
        self._record["stream"] = True
        self._text: list[str] = []
        self._calls: list[dict[str, Any]] = []
        self._slots: dict[int, dict[str, Any]] = {}

    def _slot(self, index: int) -> dict[str, Any]:
        """The tool call streamed at ``index``, started empty by its first fragment."""
        return self._slots.setdefault(index, {"id": None, "name": None, "arguments": []})

    def record(self) -> dict[str, Any]:
        """The record for everything added so far (may be called more than once)."""
        record = dict(self._record)
        record["output_text"] = "".join(self._text)
        record["tool_calls"] = [*self._calls, *(
            {"id": slot["id"], "name": slot["name"], "arguments": "".join(slot["arguments"])}
            for _, slot in sorted(self._slots.items()))]
        return record


def accumulate(accumulator: Any, chunks: Iterable[Any]) -> dict[str, Any]:
    """``resolve_stream``: every chunk (model or dict) into ``accumulator``, then its record."""
    for chunk in iterate(chunks):
        accumulator.add(chunk)
    return accumulator.record()


class ChatStreamAccumulator(Accumulator):
    """Folds OpenAI-format stream chunks into a record. Only the first choice (index 0) is
    recorded, as for non-streamed responses."""

    def __init__(self, provider: str, request_record: Any) -> None:
        super().__init__(provider, CHAT_OPERATION, request_record)
        self._usage: Any = None

    def add(self, chunk: Any) -> None:
        data = as_dict(chunk)
        if not data:
            return
        if not self._record["response_id"]:
            self._record["response_id"] = as_str(data.get("id"))
        model = as_str(data.get("model"))
        if model:
            self._record["model"] = model
        # include_usage sends usage on a last chunk with no choices; ZhipuAI puts it on the final choice chunk.
        if data.get("usage") is not None:
            self._usage = data["usage"]
        for choice in as_list(data.get("choices")):
            if (as_int(dig(choice, "index")) or 0) == 0:
                self._add_choice(choice)

    def _add_choice(self, choice: Any) -> None:
        delta = dig(choice, "delta")
        content = dig(delta, "content")
        if isinstance(content, str):
            self._text.append(content)
        for fragment in as_list(dig(delta, "tool_calls")):
            self._add_tool_fragment(fragment)
        legacy = dig(delta, "function_call")
        if legacy is not None:
            self._add_tool_fragment({"index": 0, "function": legacy})
        finish = as_str(dig(choice, "finish_reason"))
        if finish:
            self._record["finish_reason"] = finish

    def _slot_index(self, fragment: Any) -> int:
        index = as_int(dig(fragment, "index"))
        if index is not None:
            return index
        # Some OpenAI-compatible servers omit the index: a new id starts a new call,
        # anything else continues the latest one.
        call_id = as_str(dig(fragment, "id"))
        for existing, slot in self._slots.items():
            if call_id and slot["id"] == call_id:
                return existing
        if call_id or not self._slots:
            return len(self._slots)
        return max(self._slots)

    def _add_tool_fragment(self, fragment: Any) -> None:
        slot = self._slot(self._slot_index(fragment))
        call_id = as_str(dig(fragment, "id"))
        if call_id:
            slot["id"] = call_id
        function = dig(fragment, "function")
        name = as_str(dig(function, "name"))
        if name:
            slot["name"] = name
        arguments = dig(function, "arguments")
        if arguments is not None:
            slot["arguments"].append(arguments_text(arguments))

    def record(self) -> dict[str, Any]:
        record = super().record()
        _apply_chat_usage(record, self._usage)
        return record


# ---------------------------------------------------------------- errors


def _status_code(exc: Any) -> int | None:
    try:
        status = getattr(exc, "status_code", None)
        if status is None:
            status = getattr(getattr(exc, "response", None), "status_code", None)
    except Exception:  # e.g. httpx raises from some properties when unset
        return None
    return as_int(status)


def error_info(exc: Any) -> dict[str, Any]:
    """``{"type", "status_code", "message"}`` for an exception, or for a wire error body
    (``{"error": {"type"|"code", "message"}}``) when one is given instead."""
    if not isinstance(exc, BaseException) and isinstance(exc, Mapping):
        body: Any = exc.get("error") if isinstance(exc.get("error"), Mapping) else exc
        return {
            "type": as_str(body.get("type")) or as_str(body.get("code")) or "error",
            "status_code": as_int(exc.get("status_code")),
            "message": as_str(body.get("message")) or "",
        }
    try:
        message = str(exc)
    except Exception:
        message = ""
    return {"type": type(exc).__name__, "status_code": _status_code(exc), "message": message}


def with_error(provider: str, operation: str, request_record: Any, exc: Any) -> dict[str, Any]:
    record = with_defaults(provider, operation, request_record)
    record["error"] = error_info(exc)
    return record


class ChatFormat:
    """The resolver functions of the OpenAI chat-completions wire format for one provider.
    OpenAI and ZhipuAI share the format, so each of their modules binds one of these."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.StreamAccumulator = type("StreamAccumulator", (ChatStreamAccumulator,), {
            "__init__": lambda acc, request_record: ChatStreamAccumulator.__init__(acc, provider, request_record),
            "__doc__": "Incremental form of ``resolve_stream``: ``add(chunk)`` per chunk, then ``record()``.",
        })

    def resolve_request(self, kwargs: Mapping[str, Any], operation: str = CHAT_OPERATION) -> dict[str, Any]:
        """A record holding model, params, input messages and the stream flag of a call's kwargs."""
        return chat_request(self.provider, kwargs, operation)

    def resolve_response(self, request_record: Mapping[str, Any], response: Any) -> dict[str, Any]:
        """The request record completed from a ``ChatCompletion`` (model or dict)."""
        return chat_response(self.provider, request_record, response)

    def resolve_stream(self, request_record: Mapping[str, Any], chunks: Iterable[Any]) -> dict[str, Any]:
        """The request record completed from ``ChatCompletionChunk``s (models or dicts)."""
        return accumulate(self.StreamAccumulator(request_record), chunks)

    def resolve_error(self, request_record: Mapping[str, Any], exc: BaseException) -> dict[str, Any]:
        """The record with ``error`` set from the exception the call raised."""
        return with_error(self.provider, CHAT_OPERATION, request_record, exc)
