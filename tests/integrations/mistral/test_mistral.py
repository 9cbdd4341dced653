"""Mistral autolog: the real ``mistralai`` client against the local fake server (sync, async,
streaming, tool calls, an HTTP error, a stream cut mid-way), originals restored exactly."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

pytest.importorskip("mistralai")

from mistralai.client import Mistral  # noqa: E402

from tests.integrations._llm_autolog import calls, run_view, scalar  # noqa: E402
from tests.llm_fake_server import FakeLLMServer  # noqa: E402

pytestmark = pytest.mark.integration
PROVIDER = "mistral"  # the autolog and originals fixtures of tests/integrations/conftest.py
TOOLS = [{"type": "function", "function": {"name": "search", "parameters": {"type": "object"}}}]


def msgs(text: str = "hello there") -> list[dict[str, str]]:
    return [{"role": "system", "content": "be brief"}, {"role": "user", "content": text}]


@pytest.fixture
def client(server: FakeLLMServer) -> Any:
    return Mistral(api_key="x", server_url=f"{server.url}/mistral")


def test_complete_stream_and_tools(autolog: Any, client: Any, srv: FakeLLMServer, logdir: Any) -> None:
    reply = client.chat.complete(model="mistral-small", messages=msgs(), temperature=0.2)
    streamed = "".join(e.data.choices[0].delta.content or "" for e in client.chat.stream(model="mistral-small",
                                                                                         messages=msgs("a b c")))
    tool = client.chat.complete(model="mistral-small", messages=msgs("find x"), tools=TOOLS)
    assert reply.choices[0].message.content == "echo: hello there" and streamed == "echo: a b c"
    assert tool.choices[0].message.tool_calls[0].function.name == "search"
    autolog.disable()
    first, second, third = calls(run_view(logdir))
    assert first["provider"] == "mistral" and first["operation"] == "chat.complete"
    assert first["input_messages"] == [{"role": "system", "content": "be brief"},
                                       {"role": "user", "content": "hello there"}]
    assert first["params"]["temperature"] == 0.2 and first["output_text"] == "echo: hello there"
    assert (first["prompt_tokens"], first["completion_tokens"]) == (reply.usage.prompt_tokens,
                                                                    reply.usage.completion_tokens)
    assert second["operation"] == "chat.stream" and second["stream"] is True
    assert second["stream_end"] == "completed" and second["output_text"] == "echo: a b c"
    assert second["completion_tokens"] == 4 and second["ttft_s"] is not None
    assert third["tool_calls"] == [{"id": "call_fake_0", "name": "search", "arguments": '{"query": "find x"}'}]
    assert third["params"]["tools"] == ["search"]


def test_async_and_errors(autolog: Any, client: Any, srv: FakeLLMServer, logdir: Any) -> None:
    async def both() -> tuple[Any, str]:
        reply = await client.chat.complete_async(model="m", messages=msgs("async one"))
        text = ""
        async for event in await client.chat.stream_async(model="m", messages=msgs("async two")):
            text += event.data.choices[0].delta.content or ""
        return reply, text

    reply, text = asyncio.run(both())
    assert reply.choices[0].message.content == "echo: async one" and text == "echo: async two"
    srv.fail_next(429, times=1)
    with pytest.raises(Exception) as caught:
        client.chat.complete(model="m", messages=msgs(), retries=None)
    srv.drop_next_stream(after_frames=2)
    with pytest.raises(Exception) as dropped:  # noqa: B017 - httpx's error for a cut body
        for _ in client.chat.stream(model="m", messages=msgs("a b c d")):
            pass
    assert type(dropped.value).__name__ == "RemoteProtocolError"
    autolog.disable()
    view = run_view(logdir)
    records = calls(view)
    assert [r["operation"] for r in records] == ["chat.complete", "chat.stream", "chat.complete", "chat.stream"]
    assert records[2]["error"]["status_code"] == 429 and records[2]["error"]["type"] == type(caught.value).__name__
    assert records[3]["stream_end"] == "error" and records[3]["error"] is not None
    assert scalar(view, "llm/errors")[-1][1] == 2 and scalar(view, "llm/calls")[-1][1] == 4
