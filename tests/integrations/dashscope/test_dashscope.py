"""DashScope autolog: the real ``dashscope`` SDK against the local fake server (message and text
formats, cumulative and incremental streams, tool calls, an API error returned as a response,
asyncio); the API key never reaches the run."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

dashscope = pytest.importorskip("dashscope")

from tests.integrations._llm_autolog import calls, run_bytes, run_view, scalar  # noqa: E402
from tests.llm_fake_server import FakeLLMServer  # noqa: E402

pytestmark = pytest.mark.integration
PROVIDER = "dashscope"  # the autolog and originals fixtures of tests/integrations/conftest.py
TOOLS = [{"type": "function", "function": {"name": "search", "parameters": {"type": "object"}}}]
KEY = "sk-never-recorded-4242"


def msgs(text: str = "hello there") -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


@pytest.fixture
def srv(srv: FakeLLMServer, monkeypatch: pytest.MonkeyPatch) -> FakeLLMServer:
    """The shared fake server, with the SDK's module-level endpoint pointed at it."""
    monkeypatch.setattr(dashscope, "base_http_api_url", f"{srv.url}/api/v1")
    return srv


def test_calls_streams_tools_errors(autolog: Any, srv: FakeLLMServer, logdir: Any) -> None:
    from dashscope import Generation

    reply = Generation.call(model="qwen-plus", messages=msgs(), api_key=KEY, result_format="message", temperature=0.5)
    text = Generation.call(model="qwen-plus", prompt="hi you", api_key=KEY)
    cumulative = list(Generation.call(model="qwen-plus", messages=msgs("a b c"), api_key=KEY,
                                      result_format="message", stream=True))
    pieces = list(Generation.call(model="qwen-plus", prompt="x y", api_key=KEY, stream=True, incremental_output=True))
    tool = Generation.call(model="qwen-plus", messages=msgs("find x"), api_key=KEY, result_format="message",
                           tools=TOOLS)
    srv.fail_next(400, times=1)
    failed = Generation.call(model="qwen-plus", messages=msgs(), api_key=KEY)
    assert reply.output.choices[0].message.content == "echo: hello there" and text.output.text == "echo: hi you"
    assert cumulative[-1].output.choices[0].message.content == "echo: a b c" and len(pieces) == 3
    assert failed.status_code == 400  # DashScope returns the error; the script goes on as before
    assert tool.output.choices[0].message.tool_calls[0]["function"]["name"] == "search"
    autolog.disable()
    view = run_view(logdir)
    records = calls(view)
    assert [(r["stream"], r["output_text"]) for r in records] == [
        (False, "echo: hello there"), (False, "echo: hi you"), (True, "echo: a b c"), (True, "echo: x y"),
        (False, ""), (False, "")]
    first = records[0]
    assert first["provider"] == "dashscope" and first["operation"] == "Generation.call"
    assert first["params"] == {"result_format": "message", "temperature": 0.5, "stream": False}
    assert (first["prompt_tokens"], first["completion_tokens"], first["total_tokens"]) == (2, 3, 5)
    assert first["response_id"] == reply.request_id and first["finish_reason"] == "stop"
    assert records[1]["input_messages"] == [{"role": "user", "content": "hi you"}]
    assert records[2]["stream_end"] == "completed" and records[2]["completion_tokens"] == 4
    assert records[4]["tool_calls"] == [{"id": "call_fake_0", "name": "search", "arguments": '{"query": "find x"}'}]
    assert records[5]["error"] == {"type": "InvalidParameter", "status_code": 400, "message": "fake error 400"}
    assert scalar(view, "llm/errors")[-1][1] == 1
    assert KEY.encode() not in run_bytes(view)


def test_asyncio(autolog: Any, srv: FakeLLMServer, logdir: Any) -> None:
    from dashscope.aigc.generation import AioGeneration

    async def go() -> str:
        reply = await AioGeneration.call(model="qwen-plus", messages=msgs("async"), api_key=KEY,
                                         result_format="message")
        return reply.output.choices[0].message.content

    assert asyncio.run(go()) == "echo: async"
    autolog.disable()
    (record,) = calls(run_view(logdir))
    assert record["output_text"] == "echo: async" and record["completion_tokens"] == 2
