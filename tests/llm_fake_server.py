"""A local fake of the OpenAI, ZhipuAI and Anthropic HTTP APIs, for tests (standard library only).

Serves, on 127.0.0.1 and a free port, in a daemon thread:

- ``POST /v1/chat/completions`` (OpenAI) and ``POST /api/paas/v4/chat/completions``
  (ZhipuAI): a ``chat.completion`` JSON, or with ``"stream": true`` an SSE stream of
  ``data: {chunk}`` frames ending in ``data: [DONE]``. OpenAI streams end with a
  usage chunk (no choices) only when ``stream_options.include_usage`` is set;
  ZhipuAI streams always carry usage on the final choice chunk, as the real API does.
- ``POST /mistral/v1/chat/completions`` (Mistral, ``server_url=f"{url}/mistral"``): OpenAI's
  format, streams with usage on the final choice chunk (as Mistral's API does).
- ``POST /api/chat`` (Ollama, ``Client(host=url)``): a chat JSON (``message``, ``done_reason``,
  ``prompt_eval_count``, ``eval_count``), or with ``"stream": true`` (Ollama's default) NDJSON
  lines, one per word, the last with ``done: true`` and the counts; tool calls arrive whole with
  ``arguments`` as an object; ``options.num_predict`` caps the words.
- ``POST /v1beta/models/<model>:generateContent`` and ``:streamGenerateContent?alt=sse``
  (Google GenAI, ``http_options={"base_url": url}``): ``candidates[0].content.parts`` (text, or
  one ``functionCall`` per declared function), ``finishReason``, ``usageMetadata``; a stream is SSE
  ``data:`` frames, one per word, the last with the finish reason and usage.
- ``POST /v2/chat`` (Cohere v2, ``ClientV2(base_url=url)``): a chat JSON (``message.content``
  text items, ``message.tool_calls``, ``finish_reason`` ``COMPLETE``/``MAX_TOKENS``/``TOOL_CALL``,
  ``usage.tokens``), or with ``"stream": true`` SSE ``data:`` events typed message-start,
  content-start/-delta/-end, tool-call-start/-delta/-end, message-end (with usage).
- ``POST /api/v1/services/aigc/text-generation/generation`` (DashScope ``Generation.call``):
  ``output.choices[0].message`` (``result_format="message"``) or ``output.text``, ``usage``
  (input/output/total tokens), ``request_id``; with the ``X-DashScope-SSE: enable`` header an SSE
  stream (``id:``/``event:result``/``data:`` lines) whose chunks carry the text so far, or only
  the new piece with ``parameters.incremental_output``; errors as ``{"code", "message"}``.
- ``POST /v1/responses`` (OpenAI Responses API): a ``response`` JSON (``output`` items: one
  ``message`` with ``output_text``, or one ``function_call`` per declared function tool;
  ``usage.input_tokens``/``output_tokens``), or with ``"stream": true`` ``event:``/``data:``
  frames: response.created, response.output_text.delta per word (or
  response.function_call_arguments.delta), response.output_item.done, response.completed.
- ``POST /v1/embeddings`` (OpenAI): one deterministic ``EMBEDDING_DIM``-float vector per input,
  usage = words of the inputs.
- ``POST /v1/messages`` (Anthropic): a ``message`` JSON, or an SSE stream of
  ``event:``/``data:`` frames: message_start, content_block_start,
  content_block_delta xN, content_block_stop (per block), message_delta, message_stop.

Replies are deterministic, so tests can assert exact values:

- text: ``"echo: <text of the last user message>"`` (or ``reply(body)`` if given),
  cut to ``max_tokens`` words (finish reason ``length`` / ``max_tokens``);
- when the request declares tools (and the last turn is not a tool result, and
  tool_choice is not "none"): one tool call per declared tool, named after it, with
  arguments ``{"query": "<last user text>"}``, ids ``call_fake_<i>`` / ``toolu_fake_<i>``;
- tokens are whitespace-separated words: prompt = words of every message (and
  system), completion = words of the reply text or of the tool-call arguments;
- ids: ``chatcmpl-fake-<n>`` / ``msg_fake_<n>``, n = 1-based request number.

Streamed text comes word by word; tool-call arguments in three fragments.

Scripting: ``fail_next(status, times, body=None)`` answers the next requests with
that error status and the API's JSON error body, or ``body`` (``Retry-After: 0`` on 429);
``drop_next_stream(after_frames)`` makes the next streaming request send a few
frames and then close the connection in the middle of the chunked body, so the
client raises.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

__all__ = ["FakeLLMServer", "count_tokens", "default_reply"]

OPENAI_PATH = "/v1/chat/completions"
RESPONSES_PATH = "/v1/responses"
EMBEDDINGS_PATH = "/v1/embeddings"
EMBEDDING_DIM = 8
ZHIPUAI_PATH = "/api/paas/v4/chat/completions"
ANTHROPIC_PATH = "/v1/messages"
OLLAMA_PATH = "/api/chat"
COHERE_PATH = "/v2/chat"
DASHSCOPE_PATH = "/api/v1/services/aigc/text-generation/generation"  # dashscope.base_http_api_url = url + "/api/v1"
GENAI_PREFIX = "/v1beta/models/"  # Google GenAI: /v1beta/models/<model>:generateContent | :streamGenerateContent
MISTRAL_PATH = "/mistral/v1/chat/completions"  # Mistral(server_url=f"{url}/mistral"): OpenAI's format
CREATED = 1_700_000_000

_ANTHROPIC_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    429: "rate_limit_error",
    529: "overloaded_error",
}


# ---------------------------------------------------------------- reply content


def count_tokens(text: str) -> int:
    return len(text.split())


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [
            _text(part.get("content") if part.get("type") == "tool_result" else part.get("text"))
            for part in content
            if isinstance(part, dict)
        ]
        return "\n".join(part for part in parts if part)
    return ""


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _last_user_text(body: dict[str, Any]) -> str:
    for message in reversed(_dicts(body.get("messages"))):
        if message.get("role") == "user":
            return _text(message.get("content"))
    return ""


def default_reply(body: dict[str, Any]) -> str:
    return f"echo: {_last_user_text(body)}"


def _prompt_tokens(body: dict[str, Any]) -> int:
    messages = _dicts(body.get("messages"))
    return count_tokens(_text(body.get("system"))) + sum(
        count_tokens(_text(m.get("content"))) for m in messages
    )


def _tool_names(body: dict[str, Any]) -> list[str]:
    names = []
    for tool in _dicts(body.get("tools")):
        function = tool.get("function")
        name = (function.get("name") if isinstance(function, dict) else None) or tool.get("name")
        if isinstance(name, str) and name:
            names.append(name)
    return names


def _answered_tool(body: dict[str, Any]) -> bool:
    messages = _dicts(body.get("messages"))
    last = messages[-1] if messages else {}
    if last.get("role") == "tool":
        return True
    content = last.get("content")
    return isinstance(content, list) and any(
        isinstance(p, dict) and p.get("type") == "tool_result" for p in content
    )


def _wants_tools(body: dict[str, Any]) -> bool:
    choice = body.get("tool_choice")
    if choice == "none" or (isinstance(choice, dict) and choice.get("type") == "none"):
        return False
    return bool(_tool_names(body)) and not _answered_tool(body)


def _words(text: str) -> list[str]:
    # Pieces that concatenate back to the exact text, one word each.
    words = text.split(" ")
    return [words[0]] + [" " + word for word in words[1:]]


def _thirds(text: str) -> list[str]:
    size = max(1, -(-len(text) // 3))
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


class _Plan:
    """What to answer to one request, independent of the wire format."""

    def __init__(self, body: dict[str, Any], number: int, reply: Callable[[dict[str, Any]], str]) -> None:
        self.number = number
        self.model = body.get("model") or "fake-model"
        self.prompt_tokens = _prompt_tokens(body)
        self.truncated = False
        self.calls: list[tuple[str, str]] = []  # (name, arguments)
        self.text = ""
        if _wants_tools(body):
            arguments = json.dumps({"query": _last_user_text(body)})
            self.calls = [(name, arguments) for name in _tool_names(body)]
            self.completion_tokens = sum(count_tokens(args) for _, args in self.calls)
            return
        self.text = reply(body)
        limit = body.get("max_tokens") or body.get("max_completion_tokens")
        if isinstance(limit, int) and count_tokens(self.text) > limit:
            self.text = " ".join(self.text.split()[:limit])
            self.truncated = True
        self.completion_tokens = count_tokens(self.text)

    def usage(self) -> dict[str, int]:
        total = self.prompt_tokens + self.completion_tokens
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": total,
        }


# ---------------------------------------------------------------- Ollama format


def _ollama_message(plan: _Plan, content: str, with_calls: bool) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if with_calls and plan.calls:
        message["tool_calls"] = [{"function": {"name": name, "arguments": json.loads(arguments)}}
                                 for name, arguments in plan.calls]
    return message


def _ollama_done(plan: _Plan) -> dict[str, Any]:
    return {"done": True, "done_reason": "length" if plan.truncated else "stop",
            "prompt_eval_count": plan.prompt_tokens, "eval_count": plan.completion_tokens,
            "total_duration": 1000, "load_duration": 10, "prompt_eval_duration": 100, "eval_duration": 800}


def _ollama_json(plan: _Plan) -> dict[str, Any]:
    return {"model": plan.model, "created_at": "2026-01-01T00:00:00Z",
            "message": _ollama_message(plan, plan.text, True), **_ollama_done(plan)}


def _ollama_lines(plan: _Plan) -> Iterator[bytes]:
    base = {"model": plan.model, "created_at": "2026-01-01T00:00:00Z"}
    if plan.calls:
        yield (json.dumps({**base, "message": _ollama_message(plan, "", True), "done": False}) + "\n").encode()
    else:
        for piece in _words(plan.text):
            yield (json.dumps({**base, "message": {"role": "assistant", "content": piece}, "done": False})
                   + "\n").encode()
    yield (json.dumps({**base, "message": {"role": "assistant", "content": ""}, **_ollama_done(plan)}) + "\n").encode()


# ---------------------------------------------------------------- Google GenAI format


def _genai_text(content: Any) -> str:
    parts = content.get("parts") if isinstance(content, dict) else None
    return "\n".join(p["text"] for p in _dicts(parts) if isinstance(p.get("text"), str))


def _genai_as_chat(body: dict[str, Any], model: str) -> dict[str, Any]:
    """The GenAI request in the shape _Plan reads (messages, tools, max_tokens)."""
    messages = [{"role": "user" if c.get("role", "user") == "user" else "assistant", "content": _genai_text(c)}
                for c in _dicts(body.get("contents"))]
    last = _dicts(body.get("contents"))[-1:] or [{}]
    if any("functionResponse" in p for p in _dicts(last[0].get("parts"))):
        messages.append({"role": "tool", "content": ""})
    tools = [{"name": d.get("name")} for t in _dicts(body.get("tools")) for d in _dicts(t.get("functionDeclarations"))]
    chat: dict[str, Any] = {"model": model, "messages": messages, "tools": tools,
                            "system": _genai_text(body.get("systemInstruction"))}
    limit = (body.get("generationConfig") or {}).get("maxOutputTokens")
    if limit:
        chat["max_tokens"] = limit
    return chat


def _genai_usage(plan: _Plan) -> dict[str, int]:
    return {"promptTokenCount": plan.prompt_tokens, "candidatesTokenCount": plan.completion_tokens,
            "totalTokenCount": plan.prompt_tokens + plan.completion_tokens}


def _genai_response(plan: _Plan, parts: list[dict[str, Any]], finish: bool) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
    out: dict[str, Any] = {"candidates": [candidate], "modelVersion": plan.model,
                           "responseId": f"genai-fake-{plan.number}"}
    if finish:
        candidate["finishReason"] = "MAX_TOKENS" if plan.truncated else "STOP"
        out["usageMetadata"] = _genai_usage(plan)
    return out


def _genai_parts(plan: _Plan) -> list[dict[str, Any]]:
    if plan.calls:
        return [{"functionCall": {"name": name, "args": json.loads(arguments)}} for name, arguments in plan.calls]
    return [{"text": plan.text}]


def _genai_frames(plan: _Plan) -> Iterator[bytes]:
    if plan.calls:
        yield _data_frame(_genai_response(plan, _genai_parts(plan), True))
        return
    pieces = _words(plan.text)
    for i, piece in enumerate(pieces):
        yield _data_frame(_genai_response(plan, [{"text": piece}], i == len(pieces) - 1))


# ---------------------------------------------------------------- Cohere v2 format


def _cohere_finish(plan: _Plan) -> str:
    return "TOOL_CALL" if plan.calls else "MAX_TOKENS" if plan.truncated else "COMPLETE"


def _cohere_usage(plan: _Plan) -> dict[str, Any]:
    counts = {"input_tokens": plan.prompt_tokens, "output_tokens": plan.completion_tokens}
    return {"billed_units": dict(counts), "tokens": dict(counts)}


def _cohere_json(plan: _Plan) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant"}
    if plan.calls:
        message["tool_plan"] = "I will call the tools."
        message["tool_calls"] = [{"id": f"call_fake_{i}", "type": "function",
                                  "function": {"name": name, "arguments": arguments}}
                                 for i, (name, arguments) in enumerate(plan.calls)]
    else:
        message["content"] = [{"type": "text", "text": plan.text}]
    return {"id": f"cohere-fake-{plan.number}", "finish_reason": _cohere_finish(plan), "message": message,
            "usage": _cohere_usage(plan)}


def _cohere_frames(plan: _Plan) -> Iterator[bytes]:
    yield _data_frame({"type": "message-start", "id": f"cohere-fake-{plan.number}",
                       "delta": {"message": {"role": "assistant"}}})
    if not plan.calls:
        yield _data_frame({"type": "content-start", "index": 0,
                           "delta": {"message": {"content": {"type": "text", "text": ""}}}})
        for piece in _words(plan.text):
            yield _data_frame({"type": "content-delta", "index": 0,
                               "delta": {"message": {"content": {"text": piece}}}})
        yield _data_frame({"type": "content-end", "index": 0})
    for index, (name, arguments) in enumerate(plan.calls):
        yield _data_frame({"type": "tool-call-start", "index": index, "delta": {"message": {"tool_calls": {
            "id": f"call_fake_{index}", "type": "function", "function": {"name": name, "arguments": ""}}}}})
        for fragment in _thirds(arguments):
            yield _data_frame({"type": "tool-call-delta", "index": index,
                               "delta": {"message": {"tool_calls": {"function": {"arguments": fragment}}}}})
        yield _data_frame({"type": "tool-call-end", "index": index})
    yield _data_frame({"type": "message-end", "delta": {"finish_reason": _cohere_finish(plan),
                                                        "usage": _cohere_usage(plan)}})


# ---------------------------------------------------------------- DashScope format


def _dashscope_chat(body: dict[str, Any]) -> dict[str, Any]:
    given = body.get("input") or {}
    parameters = body.get("parameters") or {}
    messages = given.get("messages") or [{"role": "user", "content": given.get("prompt") or ""}]
    chat = {"model": body.get("model"), "messages": messages, "tools": parameters.get("tools")}
    if parameters.get("max_tokens"):
        chat["max_tokens"] = parameters["max_tokens"]
    return chat


def _dashscope_output(plan: _Plan, parameters: dict[str, Any], text: str, done: bool) -> dict[str, Any]:
    finish = ("tool_calls" if plan.calls else "length" if plan.truncated else "stop") if done else "null"
    if parameters.get("result_format") != "message":
        return {"text": text, "finish_reason": finish}
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if plan.calls:
        message["tool_calls"] = [{"index": i, "id": f"call_fake_{i}", "type": "function",
                                  "function": {"name": name, "arguments": arguments}}
                                 for i, (name, arguments) in enumerate(plan.calls)]
    return {"choices": [{"finish_reason": finish, "message": message}]}


def _dashscope_usage(plan: _Plan, completion: int) -> dict[str, int]:
    return {"input_tokens": plan.prompt_tokens, "output_tokens": completion,
            "total_tokens": plan.prompt_tokens + completion}


def _dashscope_json(plan: _Plan, parameters: dict[str, Any]) -> dict[str, Any]:
    return {"output": _dashscope_output(plan, parameters, plan.text, True),
            "usage": _dashscope_usage(plan, plan.completion_tokens), "request_id": f"ds-fake-{plan.number}"}


def _dashscope_frames(plan: _Plan, parameters: dict[str, Any]) -> Iterator[bytes]:
    pieces = _words(plan.text) if not plan.calls else [""]
    incremental = bool(parameters.get("incremental_output"))
    so_far = ""
    for i, piece in enumerate(pieces):
        so_far += piece
        done = i == len(pieces) - 1
        payload = {"output": _dashscope_output(plan, parameters, piece if incremental else so_far, done),
                   "usage": _dashscope_usage(plan, plan.completion_tokens if done else count_tokens(so_far)),
                   "request_id": f"ds-fake-{plan.number}"}
        yield b"id:%d\nevent:result\n:HTTP_STATUS/200\ndata:%s\n\n" % (i + 1, json.dumps(payload).encode())


# ---------------------------------------------------------------- OpenAI Responses and embeddings


def _responses_as_chat(body: dict[str, Any]) -> dict[str, Any]:
    given = body.get("input")
    if isinstance(given, str):
        messages = [{"role": "user", "content": given}]
    else:
        messages = [{"role": m.get("role", "user"), "content": _text(m.get("content"))
                     if not isinstance(m.get("content"), list) else
                     "\n".join(p.get("text", "") for p in _dicts(m.get("content")))}
                    for m in _dicts(given) if "role" in m]
        if any(m.get("type") == "function_call_output" for m in _dicts(given)):
            messages.append({"role": "tool", "content": ""})
    tools = [{"name": t.get("name")} for t in _dicts(body.get("tools")) if t.get("type") == "function"]
    chat = {"model": body.get("model"), "messages": messages, "tools": tools, "system": body.get("instructions")}
    if body.get("max_output_tokens"):
        chat["max_tokens"] = body["max_output_tokens"]
    return chat


def _responses_output(plan: _Plan) -> list[dict[str, Any]]:
    if plan.calls:
        return [{"type": "function_call", "id": f"fc_fake_{i}", "call_id": f"call_fake_{i}", "name": name,
                 "arguments": arguments, "status": "completed"} for i, (name, arguments) in enumerate(plan.calls)]
    return [{"type": "message", "id": f"msg_fake_{plan.number}", "role": "assistant", "status": "completed",
             "content": [{"type": "output_text", "text": plan.text, "annotations": []}]}]


def _responses_json(plan: _Plan, done: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": f"resp_fake_{plan.number}", "object": "response", "created_at": CREATED, "model": plan.model,
        "status": ("incomplete" if plan.truncated else "completed") if done else "in_progress",
        "output": _responses_output(plan) if done else [], "parallel_tool_calls": True, "tool_choice": "auto",
        "tools": [], "incomplete_details": {"reason": "max_output_tokens"} if plan.truncated and done else None}
    if done:
        out["usage"] = {"input_tokens": plan.prompt_tokens, "output_tokens": plan.completion_tokens,
                        "total_tokens": plan.prompt_tokens + plan.completion_tokens}
    return out


def _responses_frames(plan: _Plan) -> Iterator[bytes]:
    sequence = iter(range(10**6))

    def event(name: str, **fields: Any) -> bytes:
        return _event_frame(name, type=name, sequence_number=next(sequence), **fields)

    yield event("response.created", response=_responses_json(plan, done=False))
    for index, item in enumerate(_responses_output(plan)):
        if item["type"] == "message":
            yield event("response.output_item.added", output_index=index,
                        item={**item, "content": [], "status": "in_progress"})
            empty = {"type": "output_text", "text": "", "annotations": []}
            yield event("response.content_part.added", item_id=item["id"], output_index=index, content_index=0,
                        part=empty)
            for piece in _words(plan.text):
                yield event("response.output_text.delta", item_id=item["id"], output_index=index,
                            content_index=0, delta=piece, logprobs=[])
            yield event("response.output_text.done", item_id=item["id"], output_index=index, content_index=0,
                        text=plan.text, logprobs=[])
            yield event("response.content_part.done", item_id=item["id"], output_index=index, content_index=0,
                        part=item["content"][0])
        else:
            yield event("response.output_item.added", output_index=index,
                        item={**item, "arguments": "", "status": "in_progress"})
            for fragment in _thirds(item["arguments"]):
                yield event("response.function_call_arguments.delta", item_id=item["id"], output_index=index,
                            delta=fragment)
            yield event("response.function_call_arguments.done", item_id=item["id"], output_index=index,
                        arguments=item["arguments"], name=item["name"])
        yield event("response.output_item.done", output_index=index, item=item)
    yield event("response.incomplete" if plan.truncated else "response.completed", response=_responses_json(plan))


def _embeddings_json(body: dict[str, Any]) -> dict[str, Any]:
    given = body.get("input")
    items = [given] if isinstance(given, str) else list(given or [])
    data = []
    for index, item in enumerate(items):
        seed = sum(map(ord, str(item)))
        data.append({"object": "embedding", "index": index,
                     "embedding": [((seed * (i + 1)) % 97) / 97.0 for i in range(EMBEDDING_DIM)]})
    tokens = sum(count_tokens(item) if isinstance(item, str) else len(item) for item in items)
    return {"object": "list", "data": data, "model": body.get("model") or "fake-embedding",
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}


# ---------------------------------------------------------------- OpenAI format


def _openai_finish(plan: _Plan) -> str:
    return "tool_calls" if plan.calls else "length" if plan.truncated else "stop"


def _openai_tool_call(plan: _Plan, index: int) -> dict[str, Any]:
    name, arguments = plan.calls[index]
    return {
        "id": f"call_fake_{index}",
        "type": "function",
        "function": {"name": name, "arguments": arguments},
    }


def _openai_json(plan: _Plan) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": plan.text or None}
    if plan.calls:
        message["tool_calls"] = [_openai_tool_call(plan, i) for i in range(len(plan.calls))]
    return {
        "id": f"chatcmpl-fake-{plan.number}",
        "object": "chat.completion",
        "created": CREATED,
        "model": plan.model,
        "choices": [
            {"index": 0, "message": message, "finish_reason": _openai_finish(plan), "logprobs": None}
        ],
        "usage": plan.usage(),
    }


def _openai_deltas(plan: _Plan) -> Iterator[dict[str, Any]]:
    yield {"role": "assistant", "content": ""}
    if not plan.calls:
        for piece in _words(plan.text):
            yield {"content": piece}
    for index, (name, arguments) in enumerate(plan.calls):
        head = {"index": index, "id": f"call_fake_{index}", "type": "function"}
        yield {"tool_calls": [{**head, "function": {"name": name, "arguments": ""}}]}
        for fragment in _thirds(arguments):
            yield {"tool_calls": [{"index": index, "function": {"arguments": fragment}}]}


def _openai_frames(plan: _Plan, body: dict[str, Any], zhipuai: bool) -> Iterator[bytes]:
    include_usage = not zhipuai and bool((body.get("stream_options") or {}).get("include_usage"))
    base = {
        "id": f"chatcmpl-fake-{plan.number}",
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": plan.model,
    }
    if include_usage:
        base["usage"] = None

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
        return _data_frame({**base, "choices": [choice], **extra})

    for delta in _openai_deltas(plan):
        yield chunk(delta)
    yield chunk({}, _openai_finish(plan), **({"usage": plan.usage()} if zhipuai else {}))
    if include_usage:
        yield _data_frame({**base, "choices": [], "usage": plan.usage()})
    yield b"data: [DONE]\n\n"


def _openai_error(status: int, message: str, zhipuai: bool) -> dict[str, Any]:
    if zhipuai:
        return {"error": {"code": "1302" if status == 429 else str(status), "message": message}}
    kind = (
        "rate_limit_exceeded"
        if status == 429
        else "server_error"
        if status >= 500
        else "invalid_request_error"
    )
    return {"error": {"message": message, "type": kind, "param": None, "code": kind}}


# ---------------------------------------------------------------- Anthropic format


def _anthropic_blocks(plan: _Plan) -> list[dict[str, Any]]:
    if not plan.calls:
        return [{"type": "text", "text": plan.text}]
    return [
        {"type": "tool_use", "id": f"toolu_fake_{i}", "name": name, "input": json.loads(arguments)}
        for i, (name, arguments) in enumerate(plan.calls)
    ]


def _anthropic_stop(plan: _Plan) -> str:
    return "tool_use" if plan.calls else "max_tokens" if plan.truncated else "end_turn"


def _anthropic_message(
    plan: _Plan, content: list[dict[str, Any]], stop: str | None, output_tokens: int
) -> dict[str, Any]:
    return {
        "id": f"msg_fake_{plan.number}",
        "type": "message",
        "role": "assistant",
        "model": plan.model,
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {"input_tokens": plan.prompt_tokens, "output_tokens": output_tokens},
    }


def _anthropic_json(plan: _Plan) -> dict[str, Any]:
    return _anthropic_message(plan, _anthropic_blocks(plan), _anthropic_stop(plan), plan.completion_tokens)


def _anthropic_block_frames(index: int, block: dict[str, Any]) -> Iterator[bytes]:
    if block["type"] == "text":
        yield _event_frame("content_block_start", index=index, content_block={"type": "text", "text": ""})
        deltas = [{"type": "text_delta", "text": piece} for piece in _words(block["text"])]
    else:
        start = {**block, "input": {}}
        yield _event_frame("content_block_start", index=index, content_block=start)
        deltas = [
            {"type": "input_json_delta", "partial_json": f} for f in _thirds(json.dumps(block["input"]))
        ]
    for delta in deltas:
        yield _event_frame("content_block_delta", index=index, delta=delta)
    yield _event_frame("content_block_stop", index=index)


def _anthropic_frames(plan: _Plan) -> Iterator[bytes]:
    # The real API reports a small output count at the start and the cumulative one in message_delta.
    yield _event_frame("message_start", message=_anthropic_message(plan, [], None, 1))
    for index, block in enumerate(_anthropic_blocks(plan)):
        yield from _anthropic_block_frames(index, block)
    delta = {"stop_reason": _anthropic_stop(plan), "stop_sequence": None}
    yield _event_frame("message_delta", delta=delta, usage={"output_tokens": plan.completion_tokens})
    yield _event_frame("message_stop")


def _anthropic_error(status: int, message: str) -> dict[str, Any]:
    return {
        "type": "error",
        "error": {"type": _ANTHROPIC_ERROR_TYPES.get(status, "api_error"), "message": message},
    }


# ---------------------------------------------------------------- HTTP


def _data_frame(payload: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


def _event_frame(name: str, **fields: Any) -> bytes:
    payload = json.dumps({"type": name, **fields})
    return f"event: {name}\ndata: {payload}\n\n".encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, and chunked bodies that can be cut short
    # Headers and body go out as separate writes; with Nagle on, each keep-alive
    # request would wait ~40 ms for the client's delayed ACK.
    disable_nagle_algorithm = True
    fake: FakeLLMServer  # set on the per-server subclass

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean

    def do_POST(self) -> None:  # http.server's naming
        path = urlsplit(self.path).path
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        number = self.fake._record(path, {key.lower(): value for key, value in self.headers.items()}, body)
        genai = path.startswith(GENAI_PREFIX) and ":" in path
        known = (OPENAI_PATH, ZHIPUAI_PATH, ANTHROPIC_PATH, MISTRAL_PATH, OLLAMA_PATH, COHERE_PATH, DASHSCOPE_PATH,
                 RESPONSES_PATH, EMBEDDINGS_PATH)
        if path not in known and not genai:
            return self._send_json(404, {"error": {"message": f"no route {path}", "type": "not_found"}})
        anthropic, zhipuai = path == ANTHROPIC_PATH, path == ZHIPUAI_PATH
        failure = self.fake._take_failure()
        if failure is None and not isinstance(body, dict):
            failure = (400, None)
        if failure is not None:
            status, error = failure
            if error is None:
                message = f"fake error {status}"
                error = (
                    _anthropic_error(status, message)
                    if anthropic
                    else _openai_error(status, message, zhipuai)
                )
            if path == OLLAMA_PATH:
                error = {"error": f"fake error {status}"}
            elif genai:
                error = {"error": {"code": status, "message": f"fake error {status}", "status": "UNAVAILABLE"}}
            elif path == COHERE_PATH:
                error = {"message": f"fake error {status}"}
            elif path == DASHSCOPE_PATH:
                error = {"code": "Throttling" if status == 429 else "InvalidParameter",
                         "message": f"fake error {status}", "request_id": f"ds-fake-{number}"}
            return self._send_json(status, error, {"Retry-After": "0"} if status == 429 else {})
        if path == OLLAMA_PATH:
            limit = (body.get("options") or {}).get("num_predict")
            plan = _Plan({**body, "max_tokens": limit} if limit else body, number, self.fake.reply)
            if body.get("stream", True):
                return self._send_sse(_ollama_lines(plan), self.fake._take_drop(), "application/x-ndjson")
            return self._send_json(200, _ollama_json(plan))
        if path == EMBEDDINGS_PATH:
            return self._send_json(200, _embeddings_json(body))
        if path == RESPONSES_PATH:
            plan = _Plan(_responses_as_chat(body), number, self.fake.reply)
            if body.get("stream"):
                return self._send_sse(_responses_frames(plan), self.fake._take_drop())
            return self._send_json(200, _responses_json(plan))
        if path == DASHSCOPE_PATH:
            parameters = body.get("parameters") or {}
            plan = _Plan(_dashscope_chat(body), number, self.fake.reply)
            if (self.headers.get("X-DashScope-SSE") or "").lower() == "enable":
                return self._send_sse(_dashscope_frames(plan, parameters), self.fake._take_drop())
            return self._send_json(200, _dashscope_json(plan, parameters))
        if path == COHERE_PATH:
            plan = _Plan(body, number, self.fake.reply)
            if body.get("stream"):
                return self._send_sse(_cohere_frames(plan), self.fake._take_drop())
            return self._send_json(200, _cohere_json(plan))
        if genai:
            model, _, method = path[len(GENAI_PREFIX):].partition(":")
            plan = _Plan(_genai_as_chat(body, model), number, self.fake.reply)
            if method == "streamGenerateContent":
                return self._send_sse(_genai_frames(plan), self.fake._take_drop())
            return self._send_json(200, _genai_response(plan, _genai_parts(plan), True))
        plan = _Plan(body, number, self.fake.reply)
        if not body.get("stream"):
            return self._send_json(200, _anthropic_json(plan) if anthropic else _openai_json(plan))
        # Mistral, like ZhipuAI, reports usage on the final choice chunk of a stream.
        frames = _anthropic_frames(plan) if anthropic else \
            _openai_frames(plan, body, zhipuai or path == MISTRAL_PATH)
        self._send_sse(frames, self.fake._take_drop())

    def _send_json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _send_sse(self, frames: Iterator[bytes], drop_after: int | None,
                  content_type: str = "text/event-stream") -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for sent, frame in enumerate(frames):
            if drop_after is not None and sent >= drop_after:
                # Without the terminating zero-length chunk the client sees a truncated body.
                self.close_connection = True
                self.wfile.flush()
                return
            self.wfile.write(b"%x\r\n%s\r\n" % (len(frame), frame))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")


class _Server(ThreadingHTTPServer):
    # socketserver's default listen backlog of 5 resets connections when a test fires dozens
    # of requests at once (asyncio.gather of 50 calls).
    request_queue_size = 128


class FakeLLMServer:
    """The fake API server; a context manager that starts and stops it.

    ``url`` is ``http://127.0.0.1:<port>`` (no path). ``requests`` lists every
    request received, in order, as ``{"path", "headers", "body"}`` (``body`` is the
    parsed JSON, or ``None`` when it was not JSON).
    """

    def __init__(self, reply: Callable[[dict[str, Any]], str] | None = None) -> None:
        self.reply = reply or default_reply
        self.requests: list[dict[str, Any]] = []
        self.url = ""
        self._lock = threading.Lock()
        self._failures: list[tuple[int, dict[str, Any] | None]] = []
        self._drops: list[int] = []
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> FakeLLMServer:
        handler = type("FakeLLMHandler", (_Handler,), {"fake": self})
        self._httpd = _Server(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        # A short poll interval keeps stop() (shutdown waits for one poll) fast.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-llm-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def fail_next(self, status: int = 500, times: int = 1, body: dict[str, Any] | None = None) -> None:
        """Answer the next ``times`` requests with ``status`` and the API's JSON error body
        (or ``body``, e.g. a recorded one)."""
        with self._lock:
            self._failures.extend([(status, body)] * times)

    def drop_next_stream(self, after_frames: int = 2, times: int = 1) -> None:
        """Cut the next ``times`` streaming responses after ``after_frames`` SSE frames."""
        with self._lock:
            self._drops.extend([after_frames] * times)

    def reset(self) -> None:
        """Forget received requests and pending failures/drops."""
        with self._lock:
            self.requests.clear()
            self._failures.clear()
            self._drops.clear()

    def _record(self, path: str, headers: dict[str, str], body: Any) -> int:
        with self._lock:
            self.requests.append({"path": path, "headers": headers, "body": body})
            return len(self.requests)

    def _take_failure(self) -> tuple[int, dict[str, Any] | None] | None:
        with self._lock:
            return self._failures.pop(0) if self._failures else None

    def _take_drop(self) -> int | None:
        with self._lock:
            return self._drops.pop(0) if self._drops else None
