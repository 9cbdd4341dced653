"""OpenAI autolog beyond chat completions: the Responses API (create, streamed, stream() helper,
function calls, async) and embeddings, with the real ``openai`` client against the fake server."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

openai = pytest.importorskip("openai")

from tests.integrations._llm_autolog import calls, run_view, scalar  # noqa: E402
from tests.llm_fake_server import EMBEDDING_DIM, FakeLLMServer  # noqa: E402

pytestmark = pytest.mark.integration
PROVIDER = "openai"  # the autolog and originals fixtures of tests/integrations/conftest.py
TOOLS = [{"type": "function", "name": "search", "parameters": {"type": "object"}}]


def test_responses_api(autolog: Any, srv: FakeLLMServer, logdir: Any) -> None:
    client = openai.OpenAI(base_url=f"{srv.url}/v1", api_key="x", max_retries=0)
    reply = client.responses.create(model="gpt-x", input="hello there", instructions="be brief", temperature=0.1)
    events = list(client.responses.create(model="gpt-x", input="a b c", stream=True))
    tool = client.responses.create(model="gpt-x", input="find x", tools=TOOLS)
    with client.responses.stream(model="gpt-x", input="x y") as stream:
        for _ in stream:
            pass
        helper_text = stream.get_final_response().output_text

    async def go() -> str:
        aclient = openai.AsyncOpenAI(base_url=f"{srv.url}/v1", api_key="x", max_retries=0)
        return (await aclient.responses.create(model="gpt-x", input="async")).output_text

    assert asyncio.run(go()) == "echo: async"
    assert reply.output_text == "echo: hello there" and events[-1].type == "response.completed"
    assert tool.output[0].name == "search" and helper_text == "echo: x y"
    autolog.disable()
    records = calls(run_view(logdir))
    assert [(r["operation"], r["stream"], r["output_text"]) for r in records] == [
        ("responses.create", False, "echo: hello there"), ("responses.create", True, "echo: a b c"),
        ("responses.create", False, ""), ("responses.create", True, "echo: x y"),
        ("responses.create", False, "echo: async")]
    first = records[0]
    assert first["input_messages"] == [{"role": "system", "content": "be brief"},
                                       {"role": "user", "content": "hello there"}]
    assert first["params"]["temperature"] == 0.1 and first["finish_reason"] == "completed"
    assert (first["prompt_tokens"], first["completion_tokens"], first["total_tokens"]) == (
        reply.usage.input_tokens, reply.usage.output_tokens, reply.usage.total_tokens)
    assert first["response_id"] == reply.id
    assert records[1]["stream_end"] == "completed" and records[1]["completion_tokens"] == 4
    assert records[2]["tool_calls"] == [{"id": "call_fake_0", "name": "search", "arguments": '{"query": "find x"}'}]
    assert records[2]["params"]["tools"] == ["search"]


def test_responses_stream_cut_and_embeddings(autolog: Any, srv: FakeLLMServer, logdir: Any) -> None:
    client = openai.OpenAI(base_url=f"{srv.url}/v1", api_key="x", max_retries=0)
    srv.drop_next_stream(after_frames=5)
    with pytest.raises(Exception) as dropped:  # noqa: B017 - httpx's error for a cut body
        for _ in client.responses.create(model="gpt-x", input="a b c d e", stream=True):
            pass
    assert type(dropped.value).__name__ in ("APIConnectionError", "RemoteProtocolError")
    result = client.embeddings.create(model="text-embedding-3-small", input=["a b", "c"], dimensions=EMBEDDING_DIM)
    autolog.disable()
    view = run_view(logdir)
    cut, embedded = calls(view)
    # Frames 4 and 5 were the first two text deltas: the record keeps what arrived.
    assert cut["stream_end"] == "error" and cut["output_text"] == "echo: a" and cut["error"] is not None
    assert embedded["operation"] == "embeddings.create" and embedded["params"]["dimensions"] == EMBEDDING_DIM
    assert embedded["input_messages"] == [{"role": "input", "content": "a b"}, {"role": "input", "content": "c"}]
    assert embedded["output_text"] == f"[2 embeddings x {EMBEDDING_DIM} dims]"
    assert (embedded["prompt_tokens"], embedded["total_tokens"]) == (result.usage.prompt_tokens,
                                                                     result.usage.total_tokens)
    assert scalar(view, "llm/calls")[-1][1] == 2
