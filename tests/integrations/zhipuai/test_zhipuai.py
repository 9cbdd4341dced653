"""ZhipuAI autolog: the real ``zhipuai`` client against the local fake server, read back
through ``seetrain.Api``. The SDK has no asyncio client; ``asyncio.gather`` drives it
through ``asyncio.to_thread`` as asyncio users of it do."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

zhipuai = pytest.importorskip("zhipuai")

from zhipuai.api_resource.chat.completions import Completions  # noqa: E402
from zhipuai.core._sse_client import StreamResponse  # noqa: E402
from zhipuai.types.chat.chat_completion import Completion  # noqa: E402

from tests.integrations import _llm_autolog as llm  # noqa: E402
from tests.llm_fake_server import FakeLLMServer  # noqa: E402

pytestmark = pytest.mark.llm
PROVIDER = "zhipuai"  # the autolog and originals fixtures of tests/integrations/conftest.py

TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}}}]
QUERY_ARGS = '{"query": "weather in Paris"}'


def chat(text: str = "hello there", **extra: Any) -> dict[str, Any]:
    messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": text}]
    return {"model": "glm-test", "messages": messages, **extra}


def text_of(chunks: list[Any]) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


@pytest.fixture(scope="module")
def client(server: FakeLLMServer) -> Any:
    # The SDK ignores Retry-After and backs off for seconds: no retries in tests.
    made = zhipuai.ZhipuAI(api_key="id.secret", base_url=f"{server.url}/api/paas/v4", max_retries=0)
    yield made
    made.close()


def test_create_and_streams_are_recorded(autolog: Any, client: Any, logdir: Any) -> None:
    response = client.chat.completions.create(**chat(temperature=0.5))
    assert type(response) is Completion and response.choices[0].message.content == "echo: hello there"
    stream = client.chat.completions.create(**chat("a b c", stream=True))
    assert isinstance(stream, StreamResponse)
    assert text_of(list(stream)) == "echo: a b c"
    llm.read_then_drop(lambda: client.chat.completions.create(**chat("a b c d", stream=True)), 3)
    view = llm.finished_view(autolog, logdir)
    assert view.config["framework"]["package"] == "zhipuai"
    created, streamed, abandoned = llm.calls(view)
    assert (created["provider"], created["model"], created["output_text"]) == ("zhipuai", "glm-test", "echo: hello there")
    assert created["params"] == {"temperature": 0.5, "stream": False}
    assert (created["total_tokens"], created["finish_reason"], created["stream_end"]) == (7, "stop", None)
    # ZhipuAI reports usage on its last stream chunk without being asked.
    assert (streamed["stream_end"], streamed["total_tokens"], streamed["finish_reason"]) == ("completed", 9, "stop")
    assert streamed["ttft_s"] is not None
    assert (abandoned["stream_end"], abandoned["output_text"]) == ("abandoned", "echo: a")
    assert llm.scalar(view, "llm/total_tokens") == [(0, 7), (1, 16), (2, 16)]
    assert llm.texts(view, "llm/input")[0] == "[system] be brief\n\n[user] hello there"


def test_tool_calls(autolog: Any, client: Any, logdir: Any) -> None:
    response = client.chat.completions.create(**chat("weather in Paris", tools=TOOLS))
    assert response.choices[0].message.tool_calls[0].function.name == "get_weather"
    list(client.chat.completions.create(**chat("weather in Paris", tools=TOOLS, stream=True)))
    for record in llm.calls(llm.finished_view(autolog, logdir)):
        assert record["tool_calls"] == [{"id": "call_fake_0", "name": "get_weather", "arguments": QUERY_ARGS}]
        assert (record["finish_reason"], record["params"]["tools"]) == ("tool_calls", ["get_weather"])


@pytest.mark.parametrize(("status", "error_type"), [(429, "APIReachLimitError"), (500, "APIInternalError")])
def test_status_errors_recorded_and_reraised(autolog: Any, client: Any, srv: FakeLLMServer, logdir: Any,
                                             status: int, error_type: str) -> None:
    srv.fail_next(status)
    with pytest.raises(zhipuai.APIStatusError) as caught:
        client.chat.completions.create(**chat())
    assert type(caught.value).__name__ == error_type
    view = llm.finished_view(autolog, logdir)
    (record,) = llm.calls(view)
    assert record["error"] == {"type": error_type, "status_code": status, "message": str(caught.value)}
    assert llm.scalar(view, "llm/errors") == [(0, 1)]


def test_dropped_stream_records_error(autolog: Any, client: Any, srv: FakeLLMServer, logdir: Any) -> None:
    srv.drop_next_stream(after_frames=2)
    received = []
    with pytest.raises(Exception) as caught:
        for chunk in client.chat.completions.create(**chat("a b c d", stream=True)):
            received.append(chunk)
    assert type(caught.value).__name__ == "RemoteProtocolError" and len(received) == 2
    (record,) = llm.calls(llm.finished_view(autolog, logdir))
    assert record["error"]["type"] == "RemoteProtocolError"
    assert (record["stream_end"], record["output_text"]) == ("error", "echo:")


def test_threads_and_gather_record_every_call_once(autolog: Any, client: Any, logdir: Any) -> None:
    def work(worker: int) -> None:
        for i in range(5):
            if i % 2:
                list(client.chat.completions.create(**chat(f"t{worker} c{i}", stream=True)))
            else:
                client.chat.completions.create(**chat(f"t{worker} c{i}"))

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    async def gathered() -> list[Any]:
        return await asyncio.gather(*(asyncio.to_thread(client.chat.completions.create, **chat(f"g{i}"))
                                      for i in range(20)))

    assert [r.choices[0].message.content for r in asyncio.run(gathered())] == [f"echo: g{i}" for i in range(20)]
    view = llm.finished_view(autolog, logdir)
    records = llm.calls(view)
    expected = [f"echo: t{w} c{i}" for w in range(4) for i in range(5)] + [f"echo: g{i}" for i in range(20)]
    assert sorted(r["output_text"] for r in records) == sorted(expected)
    assert llm.scalar(view, "llm/calls")[-1] == (39, 40)


def test_enable_disable_enable_and_privacy(client: Any, logdir: Any, srv: FakeLLMServer, originals: Any,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    create = Completions.create
    first = llm.enable("zhipuai", logdir, experiment_name="first")
    client.chat.completions.create(**chat("one"))
    first.disable()
    assert Completions.create is create
    assert type(client.chat.completions.create(**chat(stream=True))) is StreamResponse
    secret = "quokka-secret-555"
    second = llm.enable("zhipuai", logdir, experiment_name="second", log_content=False)
    client.chat.completions.create(**chat(f"private {secret}"))
    monkeypatch.setattr(second.run, "log_event", lambda *a, **k: 1 / 0)
    assert client.chat.completions.create(**chat("still fine")).choices[0].message.content == "echo: still fine"
    assert second.get_stats()["degraded_calls"] == 1
    monkeypatch.undo()
    second.disable()
    llm.assert_restored(originals)
    assert [r["output_text"] for r in llm.calls(llm.run_view(logdir, "first"))] == ["echo: one"]
    view = llm.run_view(logdir, "second")
    (private,) = llm.calls(view)
    assert private["output_text"] is None and private["input_messages"] == [{"role": "system"}, {"role": "user"}]
    assert secret.encode() not in llm.run_bytes(view)
