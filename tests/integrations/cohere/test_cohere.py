"""Cohere autolog: the real ``cohere`` v2 client against the local fake server (chat, typed-event
streams, tool calls streamed in fragments, async, an error)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

cohere = pytest.importorskip("cohere")

from tests.integrations._llm_autolog import calls, enable, run_view, scalar  # noqa: E402
from tests.llm_fake_server import FakeLLMServer  # noqa: E402

pytestmark = pytest.mark.integration
PROVIDER = "cohere"  # the autolog and originals fixtures of tests/integrations/conftest.py
TOOLS = [{"type": "function", "function": {"name": "search", "parameters": {"type": "object"}}}]


def msgs(text: str = "hello there") -> list[dict[str, str]]:
    return [{"role": "system", "content": "be brief"}, {"role": "user", "content": text}]


def test_chat_stream_tools_async(autolog: Any, srv: FakeLLMServer, logdir: Any) -> None:
    client = cohere.ClientV2(api_key="x", base_url=srv.url)
    reply = client.chat(model="command-r", messages=msgs(), temperature=0.3)
    text = "".join(e.delta.message.content.text for e in client.chat_stream(model="command-r", messages=msgs("a b c"))
                   if e.type == "content-delta")
    events = list(client.chat_stream(model="command-r", messages=msgs("find x"), tools=TOOLS))

    async def go() -> str:
        aclient = cohere.AsyncClientV2(api_key="x", base_url=srv.url)
        answer = await aclient.chat(model="command-r", messages=msgs("async one"))
        out = answer.message.content[0].text
        async for event in aclient.chat_stream(model="command-r", messages=msgs("async two")):
            if event.type == "content-delta":
                out += "|" + event.delta.message.content.text
        return out

    assert asyncio.run(go()) == "echo: async one|echo:| async| two"
    assert reply.message.content[0].text == "echo: hello there" and text == "echo: a b c"
    assert events[-1].delta.finish_reason == "TOOL_CALL"
    autolog.disable()
    records = calls(run_view(logdir))
    assert [(r["operation"], r["stream"], r["output_text"]) for r in records] == [
        ("chat", False, "echo: hello there"), ("chat_stream", True, "echo: a b c"), ("chat_stream", True, ""),
        ("chat", False, "echo: async one"), ("chat_stream", True, "echo: async two")]
    first = records[0]
    assert first["provider"] == "cohere" and first["params"]["temperature"] == 0.3
    assert first["input_messages"][0] == {"role": "system", "content": "be brief"}
    assert (first["prompt_tokens"], first["completion_tokens"], first["total_tokens"]) == (4, 3, 7)
    assert first["finish_reason"] == "COMPLETE" and first["response_id"] == reply.id
    assert records[1]["stream_end"] == "completed" and records[1]["completion_tokens"] == 4
    assert records[2]["tool_calls"] == [{"id": "call_fake_0", "name": "search", "arguments": '{"query": "find x"}'}]
    assert records[2]["finish_reason"] == "TOOL_CALL"


def test_error_is_recorded(autolog: Any, srv: FakeLLMServer, logdir: Any) -> None:
    client = cohere.ClientV2(api_key="x", base_url=srv.url)
    srv.fail_next(400, times=1)
    with pytest.raises(Exception) as caught:  # noqa: B017 - cohere's BadRequestError
        client.chat(model="command-r", messages=msgs())
    autolog.disable()
    view = run_view(logdir)
    (record,) = calls(view)
    assert record["error"]["type"] == type(caught.value).__name__ == "BadRequestError"
    assert record["error"]["status_code"] == 400 and scalar(view, "llm/errors") == [(0, 1)]


def test_client_made_before_enabling_is_not_recorded(srv: FakeLLMServer, logdir: Any) -> None:
    """The documented limit: Cohere's constructor stores its bound chat on the instance."""
    early = cohere.ClientV2(api_key="x", base_url=srv.url)
    autolog = enable("cohere", logdir)
    try:
        early.chat(model="command-r", messages=msgs("early"))
        cohere.ClientV2(api_key="x", base_url=srv.url).chat(model="command-r", messages=msgs("late"))
    finally:
        autolog.disable()
    assert [r["output_text"] for r in calls(run_view(logdir))] == ["echo: late"]
