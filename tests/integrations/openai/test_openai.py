"""OpenAI autolog: the real ``openai`` client against the local fake server, read back through
``seetrain.Api``. The shared machinery (stream proxies, totals, privacy, failures) is tested
most thoroughly here; the ZhipuAI and Anthropic tests cover what differs."""

from __future__ import annotations

import asyncio
import inspect
import threading
from typing import Any

import pytest

openai = pytest.importorskip("openai")

import seetrain  # noqa: E402
from integrations._autolog import suppress_autolog  # noqa: E402
from tests.integrations import _llm_autolog as llm  # noqa: E402
from tests.llm_fake_server import FakeLLMServer  # noqa: E402

pytestmark = pytest.mark.llm
PROVIDER = "openai"  # the autolog and originals fixtures of tests/integrations/conftest.py

from openai.resources.chat.completions import AsyncCompletions, Completions  # noqa: E402
from openai.types.chat import ChatCompletion, ChatCompletionChunk  # noqa: E402

TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}}},
    {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}}},
]
QUERY_ARGS = '{"query": "weather in Paris"}'


def chat(text: str = "hello there", **extra: Any) -> dict[str, Any]:
    messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": text}]
    return {"model": "test-model", "messages": messages, **extra}


@pytest.fixture(scope="module")
def client(server: FakeLLMServer) -> Any:
    made = openai.OpenAI(base_url=f"{server.url}/v1", api_key="x", max_retries=0)
    yield made
    made.close()


# ---------------------------------------------------------------- plain calls


def test_sync_create_is_recorded_with_totals_and_texts(autolog: Any, client: Any, logdir: Any) -> None:
    response = client.chat.completions.create(**chat(temperature=0.5, max_tokens=50))
    assert type(response) is ChatCompletion
    assert response.choices[0].message.content == "echo: hello there"
    client.chat.completions.create(**chat("one two three"))
    view = llm.finished_view(autolog, logdir)
    assert view.status == "finished"
    assert view.config["framework"] == {"name": "openai", "package": "openai", "version": openai.__version__,
                                        "mode": "autolog"}
    assert f"openai=={openai.__version__}" in view.tags
    first, second = llm.calls(view)
    assert first["provider"] == "openai" and first["operation"] == "chat.completions.create"
    assert (first["model"], first["response_id"], first["finish_reason"]) == ("test-model", "chatcmpl-fake-1", "stop")
    assert first["params"] == {"temperature": 0.5, "max_tokens": 50, "stream": False}
    assert first["input_messages"] == [{"role": "system", "content": "be brief"},
                                       {"role": "user", "content": "hello there"}]
    assert first["output_text"] == "echo: hello there"
    assert (first["prompt_tokens"], first["completion_tokens"], first["total_tokens"]) == (4, 3, 7)
    assert first["latency_s"] > 0 and first["ttft_s"] is None and first["stream_end"] is None
    assert first["timestamp"] <= second["timestamp"] and first["error"] is None
    assert (first["call_index"], second["call_index"], second["total_tokens"]) == (0, 1, 9)
    assert llm.scalar(view, "llm/calls") == [(0, 1), (1, 2)]
    assert llm.scalar(view, "llm/total_tokens") == [(0, 7), (1, 16)]
    assert llm.scalar(view, "llm/prompt_tokens") == [(0, 4), (1, 9)]
    assert llm.scalar(view, "llm/errors") == [(0, 0), (1, 0)]
    latencies = sorted(record["latency_s"] for record in (first, second))
    assert llm.scalar(view, "llm/latency_p50_s")[-1][1] == pytest.approx(sum(latencies) / 2)
    assert llm.scalar(view, "llm/latency_p99_s")[-1][1] == pytest.approx(latencies[0] + 0.99 * (latencies[1] - latencies[0]))
    assert llm.texts(view, "llm/input")[0] == "[system] be brief\n\n[user] hello there"
    assert llm.texts(view, "llm/output") == ["echo: hello there", "echo: one two three"]


def test_tool_calls_are_recorded(autolog: Any, client: Any, logdir: Any) -> None:
    response = client.chat.completions.create(**chat("weather in Paris", tools=TOOLS, tool_choice="auto"))
    assert [call.function.name for call in response.choices[0].message.tool_calls] == ["get_weather", "get_time"]
    stream = client.chat.completions.create(**chat("weather in Paris", tools=TOOLS[:1], stream=True))
    assert len(list(stream)) > 3
    view = llm.finished_view(autolog, logdir)
    created, streamed = llm.calls(view)
    assert created["tool_calls"] == [
        {"id": "call_fake_0", "name": "get_weather", "arguments": QUERY_ARGS},
        {"id": "call_fake_1", "name": "get_time", "arguments": QUERY_ARGS},
    ]
    assert (created["finish_reason"], created["output_text"]) == ("tool_calls", "")
    assert created["params"]["tools"] == ["get_weather", "get_time"]
    assert created["params"]["tool_choice"] == "auto"
    assert streamed["tool_calls"] == [{"id": "call_fake_0", "name": "get_weather", "arguments": QUERY_ARGS}]
    assert streamed["finish_reason"] == "tool_calls"
    assert llm.texts(view, "llm/output")[0] == f"[tool_call: get_weather] {QUERY_ARGS}\n[tool_call: get_time] {QUERY_ARGS}"


@pytest.mark.parametrize(("status", "error_type"), [(429, "RateLimitError"), (500, "InternalServerError")])
def test_status_errors_are_recorded_and_reraised_unchanged(
    autolog: Any, client: Any, srv: FakeLLMServer, logdir: Any, status: int, error_type: str
) -> None:
    srv.fail_next(status)
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(**chat())
    assert type(caught.value).__name__ == error_type and caught.value.status_code == status
    assert client.chat.completions.create(**chat()).choices[0].message.content == "echo: hello there"
    view = llm.finished_view(autolog, logdir)
    failed, ok = llm.calls(view)
    assert failed["error"] == {"type": error_type, "status_code": status, "message": str(caught.value)}
    assert failed["output_text"] == "" and failed["total_tokens"] is None and failed["latency_s"] > 0
    assert ok["error"] is None
    assert llm.scalar(view, "llm/errors") == [(0, 1), (1, 1)]
    assert llm.scalar(view, "llm/total_tokens") == [(0, 0), (1, 7)]


def test_connection_error_is_recorded_and_reraised(autolog: Any, logdir: Any, srv: FakeLLMServer) -> None:
    dead = openai.OpenAI(base_url="http://127.0.0.1:9/v1", api_key="x", max_retries=0, timeout=2)
    with pytest.raises(openai.APIConnectionError) as caught:
        dead.chat.completions.create(**chat())
    dead.close()
    (record,) = llm.calls(llm.finished_view(autolog, logdir))
    assert record["error"] == {"type": "APIConnectionError", "status_code": None, "message": str(caught.value)}


# ---------------------------------------------------------------- streams


def test_stream_fully_consumed(autolog: Any, client: Any, logdir: Any) -> None:
    stream = client.chat.completions.create(**chat("a b c", stream=True, stream_options={"include_usage": True}))
    assert isinstance(stream, openai.Stream)
    chunks = list(stream)
    assert all(type(chunk) is ChatCompletionChunk for chunk in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "echo: a b c"
    stream.close()  # closing after the end records nothing more
    view = llm.finished_view(autolog, logdir)
    (record,) = llm.calls(view)
    assert (record["stream"], record["stream_end"], record["output_text"]) == (True, "completed", "echo: a b c")
    assert (record["finish_reason"], record["total_tokens"]) == ("stop", 9)
    assert 0 < record["ttft_s"] <= record["latency_s"]
    assert record["params"] == {"stream_options": {"include_usage": True}, "stream": True}
    assert [step for step, _ in llm.scalar(view, "llm/ttft_s")] == [0]


def test_stream_broken_off_early_is_recorded_when_dropped(autolog: Any, client: Any, logdir: Any) -> None:
    llm.read_then_drop(lambda: client.chat.completions.create(**chat("a b c d e", stream=True)), 3)
    (record,) = llm.calls(llm.finished_view(autolog, logdir))
    assert (record["stream_end"], record["output_text"], record["finish_reason"]) == ("abandoned", "echo: a", None)


def test_stream_closed_explicitly_and_by_context_manager(autolog: Any, client: Any, logdir: Any) -> None:
    stream = client.chat.completions.create(**chat("a b c d e", stream=True))
    next(stream)
    next(stream)
    stream.close()
    with client.chat.completions.create(**chat("x y z", stream=True)) as managed:
        assert isinstance(managed, openai.Stream)
        first = next(iter(managed))
        assert type(first) is ChatCompletionChunk
    with client.chat.completions.create(**chat("whole", stream=True)) as whole:
        assert len(list(whole)) > 2
    closed, exited, completed = llm.calls(llm.finished_view(autolog, logdir))
    assert (closed["stream_end"], closed["output_text"]) == ("closed", "echo:")
    assert (exited["stream_end"], exited["output_text"]) == ("closed", "")
    assert (completed["stream_end"], completed["output_text"]) == ("completed", "echo: whole")


def test_stream_dropped_mid_way_records_the_error(
    autolog: Any, client: Any, srv: FakeLLMServer, logdir: Any
) -> None:
    srv.drop_next_stream(after_frames=3)
    received = []
    with pytest.raises(openai.APIConnectionError) as caught:
        for chunk in client.chat.completions.create(**chat("a b c d", stream=True)):
            received.append(chunk)
    assert len(received) == 3
    view = llm.finished_view(autolog, logdir)
    (record,) = llm.calls(view)
    assert record["error"] == {"type": "APIConnectionError", "status_code": None, "message": str(caught.value)}
    assert (record["stream_end"], record["output_text"]) == ("error", "echo: a")
    assert llm.scalar(view, "llm/errors") == [(0, 1)]


def test_chat_completions_stream_helper_is_recorded_once(autolog: Any, client: Any, logdir: Any) -> None:
    with client.chat.completions.stream(**chat("helper please")) as stream:
        events = [event.type for event in stream]
        final = stream.get_final_completion()
    assert "content.delta" in events
    assert final.choices[0].message.content == "echo: helper please"
    (record,) = llm.calls(llm.finished_view(autolog, logdir))
    assert (record["stream_end"], record["output_text"]) == ("completed", "echo: helper please")


def test_stream_left_open_is_recorded_at_disable(autolog: Any, client: Any, logdir: Any) -> None:
    stream = client.chat.completions.create(**chat("a b c", stream=True))
    next(stream)
    assert autolog.get_stats()["pending_streams"] == 1
    view = llm.finished_view(autolog, logdir)
    assert list(stream)  # still a working stream for the user
    (record,) = llm.calls(view)
    assert record["stream_end"] == "unfinished"


def test_raw_response_calls_still_work(autolog: Any, client: Any, logdir: Any) -> None:
    raw = client.chat.completions.with_raw_response.create(**chat())
    assert raw.parse().choices[0].message.content == "echo: hello there"
    (record,) = llm.calls(llm.finished_view(autolog, logdir))
    assert record["error"] is None and record["input_messages"][1]["content"] == "hello there"


# ---------------------------------------------------------------- asyncio


def test_async_create_and_streams(autolog: Any, server: FakeLLMServer, logdir: Any) -> None:
    # The wrappers keep what introspection says about the originals.
    for method in (AsyncCompletions.create, Completions.create):
        assert inspect.iscoroutinefunction(method) == inspect.iscoroutinefunction(method.__wrapped__)
        assert inspect.signature(method) == inspect.signature(method.__wrapped__)

    async def main() -> tuple[Any, str, str]:
        async with openai.AsyncOpenAI(base_url=f"{server.url}/v1", api_key="x", max_retries=0) as aclient:
            response = await aclient.chat.completions.create(**chat("async one"))
            stream = await aclient.chat.completions.create(**chat("async two", stream=True))
            assert isinstance(stream, openai.AsyncStream)
            text = "".join([chunk.choices[0].delta.content or "" async for chunk in stream])
            async with await aclient.chat.completions.create(**chat("a b c d", stream=True)) as early:
                async for _ in early:
                    break
            closing = await aclient.chat.completions.create(**chat("a b c d", stream=True))
            await closing.__anext__()
            await closing.close()
            return response, text, "ok"

    response, text, _ = asyncio.run(main())
    assert type(response) is ChatCompletion and text == "echo: async two"
    created, streamed, early, closed = llm.calls(llm.finished_view(autolog, logdir))
    assert (created["output_text"], created["stream_end"]) == ("echo: async one", None)
    assert (streamed["output_text"], streamed["stream_end"]) == ("echo: async two", "completed")
    assert streamed["ttft_s"] is not None
    assert (early["stream_end"], closed["stream_end"]) == ("closed", "closed")


def test_asyncio_gather_records_every_call_once(autolog: Any, server: FakeLLMServer, logdir: Any) -> None:
    async def main() -> list[Any]:
        async with openai.AsyncOpenAI(base_url=f"{server.url}/v1", api_key="x", max_retries=0) as aclient:
            async def streamed(i: int) -> str:
                stream = await aclient.chat.completions.create(**chat(f"stream {i}", stream=True))
                return "".join([c.choices[0].delta.content or "" async for c in stream])

            async def created(i: int) -> str:
                response = await aclient.chat.completions.create(**chat(f"call {i}"))
                return response.choices[0].message.content

            return await asyncio.gather(*(streamed(i) if i % 5 == 0 else created(i) for i in range(50)))

    results = asyncio.run(main())
    assert results == [f"echo: {'stream' if i % 5 == 0 else 'call'} {i}" for i in range(50)]
    view = llm.finished_view(autolog, logdir)
    records = llm.calls(view)
    assert sorted(r["output_text"] for r in records) == sorted(results)
    assert len({r["response_id"] for r in records}) == 50
    assert [r["call_index"] for r in records] == list(range(50))
    assert llm.scalar(view, "llm/calls")[-1] == (49, 50)
    assert llm.scalar(view, "llm/total_tokens")[-1][1] == sum(r["total_tokens"] or 0 for r in records)


# ---------------------------------------------------------------- threads and clients


def test_threads_record_every_call_once(autolog: Any, client: Any, logdir: Any) -> None:
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i in range(6):
                if i % 3 == 0:
                    list(client.chat.completions.create(**chat(f"t{worker} c{i}", stream=True)))
                else:
                    client.chat.completions.create(**chat(f"t{worker} c{i}"))
        except BaseException as exc:  # surfaced below: a thread cannot fail the test itself
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    view = llm.finished_view(autolog, logdir)
    records = llm.calls(view)
    assert sorted(r["output_text"] for r in records) == sorted(f"echo: t{w} c{i}" for w in range(6) for i in range(6))
    assert [r["call_index"] for r in records] == list(range(36))
    assert llm.scalar(view, "llm/calls")[-1] == (35, 36)
    assert autolog.get_stats()["llm"]["calls"] == 36


def test_clients_made_before_and_after_enabling_are_both_recorded(
    client: Any, server: FakeLLMServer, logdir: Any, originals: Any
) -> None:
    before = client  # made at module set-up, long before enabling
    autolog = llm.enable("openai", logdir)
    after = openai.OpenAI(base_url=f"{server.url}/v1", api_key="x", max_retries=0)
    before.chat.completions.create(**chat("from before"))
    after.chat.completions.create(**chat("from after"))
    after.close()
    records = llm.calls(llm.finished_view(autolog, logdir))
    assert [r["output_text"] for r in records] == ["echo: from before", "echo: from after"]


def test_enable_disable_enable_restores_originals_exactly(
    client: Any, logdir: Any, srv: FakeLLMServer, originals: Any
) -> None:
    create = Completions.create
    first = llm.enable("openai", logdir, experiment_name="first")
    assert Completions.create is not create and Completions.create.__wrapped__ is create
    client.chat.completions.create(**chat("one"))
    first.disable()
    first.disable()  # twice is harmless
    llm.assert_restored(originals)
    assert Completions.create is create
    plain = client.chat.completions.create(**chat("unrecorded", stream=True))
    assert type(plain) is openai.Stream  # the client's own object, no proxy
    list(plain)
    second = llm.enable("openai", logdir, experiment_name="second")
    client.chat.completions.create(**chat("two"))
    second.disable()
    llm.assert_restored(originals)
    assert [r["output_text"] for r in llm.calls(llm.run_view(logdir, "first"))] == ["echo: one"]
    assert [r["output_text"] for r in llm.calls(llm.run_view(logdir, "second"))] == ["echo: two"]


def test_two_autologs_share_one_patch(client: Any, logdir: Any, srv: FakeLLMServer, originals: Any) -> None:
    first = llm.enable("openai", logdir, experiment_name="first")
    second = llm.enable("openai", logdir, experiment_name="second")
    client.chat.completions.create(**chat("both"))
    first.disable()
    assert Completions.create is not originals[Completions, "create"]  # still needed by the second
    client.chat.completions.create(**chat("second only"))
    second.disable()
    llm.assert_restored(originals)
    assert [r["output_text"] for r in llm.calls(llm.run_view(logdir, "first"))] == ["echo: both"]
    assert [r["output_text"] for r in llm.calls(llm.run_view(logdir, "second"))] == ["echo: both", "echo: second only"]


# ---------------------------------------------------------------- privacy, degradation, switches


def test_log_content_false_stores_no_message_content(client: Any, logdir: Any, srv: FakeLLMServer,
                                                     originals: Any) -> None:
    autolog = llm.enable("openai", logdir, log_content=False)
    secret = "zebra-passphrase-1234"
    client.chat.completions.create(**chat(f"my secret is {secret}", temperature=0.1))
    list(client.chat.completions.create(**chat(f"again {secret}", stream=True)))
    client.chat.completions.create(**chat(f"tool {secret}", tools=TOOLS[:1]))
    view = llm.finished_view(autolog, logdir)
    first, streamed, tool = llm.calls(view)
    assert first["input_messages"] == [{"role": "system"}, {"role": "user"}]
    assert first["output_text"] is None and first["content_logged"] is False
    assert (first["total_tokens"], first["params"]) == (11, {"temperature": 0.1, "stream": False})
    assert streamed["stream_end"] == "completed"
    assert tool["tool_calls"] == [{"id": "call_fake_0", "name": "get_weather"}]
    assert view.media(kind="text") == []
    assert secret.encode() not in llm.run_bytes(view)
    assert llm.scalar(view, "llm/calls")[-1] == (2, 3)


def test_internal_failure_does_not_affect_the_call(autolog: Any, client: Any, logdir: Any,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("store exploded")

    monkeypatch.setattr(autolog.run, "log_event", broken)
    response = client.chat.completions.create(**chat())
    assert type(response) is ChatCompletion and response.choices[0].message.content == "echo: hello there"
    assert "".join(c.choices[0].delta.content or "" for c in client.chat.completions.create(**chat(stream=True))) \
        == "echo: hello there"
    monkeypatch.undo()
    import resolvers.openai as resolver

    monkeypatch.setattr(resolver, "resolve_request", broken)
    assert client.chat.completions.create(**chat("unresolvable")).choices[0].message.content == "echo: unresolvable"
    monkeypatch.undo()
    monkeypatch.setattr(resolver.StreamAccumulator, "add", broken)
    chunks = list(client.chat.completions.create(**chat("a b", stream=True)))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "echo: a b"
    monkeypatch.undo()
    stats = autolog.get_stats()
    assert stats["degraded_calls"] >= 4 and stats["errors"] == {"RuntimeError": stats["degraded_calls"]}
    view = llm.finished_view(autolog, logdir)
    assert view.status == "finished"
    # Four calls: the first two lost their event, the unresolvable one went unrecorded, the
    # last one is recorded without the chunks the accumulator could not take.
    assert llm.scalar(view, "llm/calls") == [(0, 1), (1, 2), (2, 3)]
    (last,) = llm.calls(view)
    assert (last["call_index"], last["stream_end"], last["output_text"]) == (2, "completed", "")


def test_suppressed_calls_are_not_recorded(autolog: Any, client: Any, logdir: Any) -> None:
    with suppress_autolog():
        plain = client.chat.completions.create(**chat("quiet", stream=True))
        assert type(plain) is openai.Stream
        list(plain)
    client.chat.completions.create(**chat("loud"))
    assert [r["output_text"] for r in llm.calls(llm.finished_view(autolog, logdir))] == ["echo: loud"]


def test_disabled_mode_leaves_the_client_untouched(client: Any, logdir: Any, srv: FakeLLMServer,
                                                    originals: Any) -> None:
    autolog = llm.enable("openai", logdir, mode="disabled")
    assert not autolog.enabled and not autolog.active
    llm.assert_restored(originals)  # never patched
    assert type(client.chat.completions.create(**chat(stream=True))) is openai.Stream
    autolog.disable()
    assert seetrain.Api(logdir).runs() == []


def test_another_active_run_is_left_alone(client: Any, logdir: Any, srv: FakeLLMServer, originals: Any) -> None:
    user_run = seetrain.init(project="mine", experiment_name="user", logdir=str(logdir), **llm.QUIET)
    user_run.log({"loss": 1.0})
    autolog = llm.enable("openai", logdir)
    response = client.chat.completions.create(**chat())
    assert type(response) is ChatCompletion
    user_run.log({"loss": 0.5})
    autolog.disable()
    assert not user_run.finished
    user_run.finish()
    (mine,) = seetrain.Api(logdir).runs("mine")
    assert mine.keys() == ["loss"] and mine.media(kind="llm_call") == []
    assert len(llm.calls(llm.run_view(logdir))) == 1


def test_latency_sample_stays_bounded(autolog: Any, client: Any, logdir: Any,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(autolog._latencies, "size", 5)  # a SortedReservoir (seetrain._sample)
    for i in range(20):
        client.chat.completions.create(**chat(f"call {i}"))
    kept = autolog._latencies.values
    assert len(kept) == 5 and kept == sorted(kept) and autolog._latencies.seen == 20
    totals = autolog.get_totals()
    assert totals["calls"] == 20 and totals["total_tokens"] == sum(7 for _ in range(20))
    assert min(kept) <= totals["latency_p50_s"] <= max(kept)
    view = llm.finished_view(autolog, logdir)
    assert len(llm.calls(view)) == 20 and llm.scalar(view, "llm/calls")[-1] == (19, 20)
