"""Ollama autolog: the real ``ollama`` client against the local fake server (positional and keyword
calls, module-level ollama.chat, streaming, async, tool calls, an error, a cut stream)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

ollama = pytest.importorskip("ollama")

from tests.integrations._llm_autolog import calls, run_view, scalar  # noqa: E402
from tests.llm_fake_server import FakeLLMServer  # noqa: E402

pytestmark = pytest.mark.integration
PROVIDER = "ollama"  # the autolog and originals fixtures of tests/integrations/conftest.py
TOOLS = [{"type": "function", "function": {"name": "search", "parameters": {"type": "object"}}}]


def msgs(text: str = "hello there") -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def test_chat_stream_tools_async(autolog: Any, srv: FakeLLMServer, logdir: Any) -> None:
    client = ollama.Client(host=srv.url)
    reply = client.chat("llama3", msgs(), options={"temperature": 0.1})   # positional, as ollama's docs do
    streamed = "".join(p.message.content for p in client.chat(model="llama3", messages=msgs("a b c"), stream=True))
    tool = client.chat(model="llama3", messages=msgs("find x"), tools=TOOLS)

    async def go() -> str:
        out = ""
        async for part in await ollama.AsyncClient(host=srv.url).chat(model="llama3", messages=msgs("x y"),
                                                                        stream=True):
            out += part.message.content
        return out

    assert asyncio.run(go()) == "echo: x y"
    assert reply.message.content == "echo: hello there" and streamed == "echo: a b c"
    assert tool.message.tool_calls[0].function.name == "search"
    autolog.disable()
    records = calls(run_view(logdir))
    assert [(r["model"], r["stream"], r["output_text"]) for r in records] == [
        ("llama3", False, "echo: hello there"), ("llama3", True, "echo: a b c"), ("llama3", False, ""),
        ("llama3", True, "echo: x y")]
    first = records[0]
    assert first["provider"] == "ollama" and first["params"]["options"] == {"temperature": 0.1}
    assert (first["prompt_tokens"], first["completion_tokens"], first["total_tokens"]) == (
        reply.prompt_eval_count, reply.eval_count, reply.prompt_eval_count + reply.eval_count)
    assert records[1]["stream_end"] == "completed" and records[1]["completion_tokens"] == 4
    assert records[2]["tool_calls"] == [{"id": None, "name": "search", "arguments": '{"query": "find x"}'}]


def test_module_level_chat_error_and_cut_stream(autolog: Any, srv: FakeLLMServer, logdir: Any,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ollama, "_client", ollama.Client(host=srv.url))  # what ollama.chat uses
    monkeypatch.setattr(ollama, "chat", ollama._client.chat)
    assert ollama.chat(model="m", messages=msgs("module level")).message.content == "echo: module level"
    srv.fail_next(500, times=1)
    with pytest.raises(ollama.ResponseError) as caught:
        ollama.chat(model="m", messages=msgs())
    srv.drop_next_stream(after_frames=2)
    received = []
    with pytest.raises(Exception) as dropped:  # noqa: B017 - httpx's error for a cut body
        for part in ollama.chat(model="m", messages=msgs("a b c d"), stream=True):
            received.append(part)
    assert type(dropped.value).__name__ == "RemoteProtocolError" and len(received) == 2
    autolog.disable()
    view = run_view(logdir)
    records = calls(view)
    assert records[1]["error"]["type"] == "ResponseError" and records[1]["error"]["status_code"] == 500
    assert records[1]["error"]["message"] == str(caught.value)
    assert records[2]["stream_end"] == "error" and records[2]["output_text"] == "echo: a"
    assert scalar(view, "llm/errors")[-1][1] == 2
