"""Google GenAI (Gemini) autolog: the real ``google-genai`` client against the local fake server
(generate_content with a system instruction, streaming, function calls, async, an error)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

genai = pytest.importorskip("google.genai")

from google.genai import types  # noqa: E402

from tests.integrations._llm_autolog import calls, run_view, scalar  # noqa: E402
from tests.llm_fake_server import FakeLLMServer  # noqa: E402

pytestmark = pytest.mark.integration
PROVIDER = "google_genai"  # the autolog and originals fixtures of tests/integrations/conftest.py


def test_generate_stream_tools_async(autolog: Any, srv: FakeLLMServer, logdir: Any) -> None:
    client = genai.Client(api_key="x", http_options={"base_url": srv.url})
    reply = client.models.generate_content(model="gemini-2.0-flash", contents="hello there",
                                           config={"system_instruction": "be brief", "temperature": 0.2})
    streamed = "".join(c.text or "" for c in client.models.generate_content_stream(model="g", contents=["a b c"]))
    search = types.FunctionDeclaration(name="search", parameters={"type": "OBJECT",
                                                                  "properties": {"query": {"type": "STRING"}}})
    tool = client.models.generate_content(model="g", contents="find x",
                                          config=types.GenerateContentConfig(tools=[types.Tool(
                                              function_declarations=[search])]))

    async def go() -> str:
        out = ""
        async for chunk in await client.aio.models.generate_content_stream(model="g", contents="x y"):
            out += chunk.text or ""
        return out

    assert asyncio.run(go()) == "echo: x y"
    assert reply.text == "echo: hello there" and streamed == "echo: a b c"
    assert tool.function_calls[0].name == "search"
    autolog.disable()
    first, second, third, fourth = calls(run_view(logdir))
    assert first["provider"] == "google_genai" and first["operation"] == "models.generate_content"
    assert first["input_messages"] == [{"role": "system", "content": "be brief"},
                                       {"role": "user", "content": "hello there"}]
    assert first["params"]["temperature"] == 0.2 and first["finish_reason"] == "STOP"
    assert first["model"] == "gemini-2.0-flash" and first["output_text"] == "echo: hello there"
    usage = reply.usage_metadata
    assert (first["prompt_tokens"], first["completion_tokens"], first["total_tokens"]) == (
        usage.prompt_token_count, usage.candidates_token_count, usage.total_token_count)
    assert second["stream"] is True and second["stream_end"] == "completed" and second["output_text"] == "echo: a b c"
    assert second["completion_tokens"] == 4 and second["ttft_s"] is not None
    assert third["tool_calls"] == [{"id": None, "name": "search", "arguments": '{"query": "find x"}'}]
    assert third["params"]["tools"] == ["search"]
    assert fourth["stream"] is True and fourth["output_text"] == "echo: x y"


def test_error_is_recorded(autolog: Any, srv: FakeLLMServer, logdir: Any) -> None:
    client = genai.Client(api_key="x", http_options={"base_url": srv.url})
    srv.fail_next(400, times=1)
    with pytest.raises(genai.errors.ClientError) as caught:
        client.models.generate_content(model="g", contents="hello")
    autolog.disable()
    view = run_view(logdir)
    (record,) = calls(view)
    assert record["error"]["type"] == "ClientError" and record["error"]["status_code"] == caught.value.code == 400
    assert scalar(view, "llm/errors") == [(0, 1)]
