"""Anthropic autolog: the real ``anthropic`` client against the local fake server, read back
through ``seetrain.Api``: ``messages.create`` (plain and ``stream=True``) and the
``messages.stream()`` helper, sync and async."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

anthropic = pytest.importorskip("anthropic")

from anthropic.lib.streaming import MessageStream, MessageStreamManager  # noqa: E402
from anthropic.resources.messages import AsyncMessages, Messages  # noqa: E402
from anthropic.types import Message  # noqa: E402

from tests.integrations import _llm_autolog as llm  # noqa: E402
from tests.llm_fake_server import FakeLLMServer  # noqa: E402

pytestmark = pytest.mark.llm
PROVIDER = "anthropic"  # the autolog and originals fixtures of tests/integrations/conftest.py

TOOLS = [{"name": "get_weather", "description": "Weather.", "input_schema": {"type": "object"}}]
QUERY_ARGS = '{"query": "weather in Paris"}'


def message(text: str = "hello there", **extra: Any) -> dict[str, Any]:
    return {"model": "claude-test", "max_tokens": 100, "system": "be brief",
            "messages": [{"role": "user", "content": text}], **extra}


@pytest.fixture(scope="module")
def client(server: FakeLLMServer) -> Any:
    made = anthropic.Anthropic(base_url=server.url, api_key="x", max_retries=0)
    yield made
    made.close()


def test_create_is_recorded(autolog: Any, client: Any, logdir: Any) -> None:
    response = client.messages.create(**message(stop_sequences=["END"]))
    assert type(response) is Message and response.content[0].text == "echo: hello there"
    view = llm.finished_view(autolog, logdir)
    assert view.config["framework"]["package"] == "anthropic"
    assert f"anthropic=={anthropic.__version__}" in view.tags
    (record,) = llm.calls(view)
    assert (record["provider"], record["operation"], record["model"]) == ("anthropic", "messages.create", "claude-test")
    assert record["input_messages"] == [{"role": "system", "content": "be brief"},
                                        {"role": "user", "content": "hello there"}]
    assert record["params"] == {"max_tokens": 100, "stop_sequences": ["END"], "stream": False}
    assert (record["output_text"], record["finish_reason"], record["response_id"]) == (
        "echo: hello there", "end_turn", "msg_fake_1")
    assert (record["prompt_tokens"], record["completion_tokens"], record["total_tokens"]) == (4, 3, 7)
    assert llm.texts(view, "llm/output") == ["echo: hello there"]
    assert llm.scalar(view, "llm/total_tokens") == [(0, 7)]


def test_messages_stream_helper_keeps_working_and_is_recorded_once(autolog: Any, client: Any,
                                                                   logdir: Any) -> None:
    manager = client.messages.stream(**message("one two three"))
    assert type(manager) is MessageStreamManager
    with manager as stream:
        assert type(stream) is MessageStream
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
        assert stream.get_final_text() == "echo: one two three"
    assert "".join(pieces) == final.content[0].text == "echo: one two three"
    (record,) = llm.calls(llm.finished_view(autolog, logdir))
    assert (record["operation"], record["stream"], record["stream_end"]) == ("messages.stream", True, "completed")
    assert (record["output_text"], record["finish_reason"]) == ("echo: one two three", "end_turn")
    assert (record["prompt_tokens"], record["completion_tokens"]) == (5, 4)
    assert 0 < record["ttft_s"] <= record["latency_s"]


def test_messages_stream_left_early_and_final_message_only(autolog: Any, client: Any, logdir: Any) -> None:
    with client.messages.stream(**message("a b c d e")) as stream:
        for _ in stream:
            break
    with client.messages.stream(**message("weather in Paris", tools=TOOLS)) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "tool_use"
    left, tool = llm.calls(llm.finished_view(autolog, logdir))
    assert (left["stream_end"], left["finish_reason"]) == ("closed", None)
    assert tool["stream_end"] == "completed"
    assert tool["tool_calls"] == [{"id": "toolu_fake_0", "name": "get_weather", "arguments": QUERY_ARGS}]


def test_create_stream_true_consumed_broken_and_closed(autolog: Any, client: Any, logdir: Any) -> None:
    stream = client.messages.create(**message("a b", stream=True))
    assert isinstance(stream, anthropic.Stream)
    events = list(stream)
    assert events[0].type == "message_start" and events[-1].type == "message_stop"
    llm.read_then_drop(lambda: client.messages.create(**message("a b c d", stream=True)), 4)
    closed = client.messages.create(**message("x y", stream=True))
    next(closed)
    closed.close()
    full, dropped, shut = llm.calls(llm.finished_view(autolog, logdir))
    assert (full["operation"], full["stream_end"], full["output_text"]) == ("messages.create", "completed", "echo: a b")
    assert full["total_tokens"] == 7
    assert (dropped["stream_end"], dropped["output_text"]) == ("abandoned", "echo: a")
    assert (shut["stream_end"], shut["output_text"]) == ("closed", "")


def test_dropped_connection_inside_messages_stream(autolog: Any, client: Any, srv: FakeLLMServer,
                                                   logdir: Any) -> None:
    srv.drop_next_stream(after_frames=4)
    with pytest.raises(Exception) as caught:
        with client.messages.stream(**message("a b c d")) as stream:
            for _ in stream.text_stream:
                pass
    assert type(caught.value).__name__ == "RemoteProtocolError"
    (record,) = llm.calls(llm.finished_view(autolog, logdir))
    assert record["error"] == {"type": "RemoteProtocolError", "status_code": None, "message": str(caught.value)}
    assert (record["stream_end"], record["output_text"]) == ("error", "echo: a")


@pytest.mark.parametrize(("status", "error_type"), [(429, "RateLimitError"), (500, "InternalServerError")])
def test_status_errors_recorded_and_reraised(autolog: Any, client: Any, srv: FakeLLMServer, logdir: Any,
                                             status: int, error_type: str) -> None:
    srv.fail_next(status)
    with pytest.raises(anthropic.APIStatusError) as on_create:
        client.messages.create(**message())
    srv.fail_next(status)
    with pytest.raises(anthropic.APIStatusError) as on_stream:
        with client.messages.stream(**message()):
            pass
    for caught in (on_create, on_stream):
        assert type(caught.value).__name__ == error_type and caught.value.status_code == status
    view = llm.finished_view(autolog, logdir)
    created, streamed = llm.calls(view)
    assert created["error"] == {"type": error_type, "status_code": status, "message": str(on_create.value)}
    assert (streamed["operation"], streamed["error"]["status_code"]) == ("messages.stream", status)
    assert llm.scalar(view, "llm/errors") == [(0, 1), (1, 2)]


def test_async_create_stream_helper_and_gather(autolog: Any, server: FakeLLMServer, logdir: Any) -> None:
    async def main() -> list[str]:
        async with anthropic.AsyncAnthropic(base_url=server.url, api_key="x", max_retries=0) as aclient:
            async def created(i: int) -> str:
                response = await aclient.messages.create(**message(f"call {i}"))
                return response.content[0].text

            async def helper(i: int) -> str:
                async with aclient.messages.stream(**message(f"helper {i}")) as stream:
                    return "".join([text async for text in stream.text_stream])

            async def raw(i: int) -> str:
                stream = await aclient.messages.create(**message(f"raw {i}", stream=True))
                assert isinstance(stream, anthropic.AsyncStream)
                return "".join([e.delta.text async for e in stream if e.type == "content_block_delta"])

            kinds = (created, helper, raw)
            return await asyncio.gather(*(kinds[i % 3](i) for i in range(45)))

    results = asyncio.run(main())
    names = ("call", "helper", "raw")
    assert results == [f"echo: {names[i % 3]} {i}" for i in range(45)]
    view = llm.finished_view(autolog, logdir)
    records = llm.calls(view)
    assert sorted(r["output_text"] for r in records) == sorted(results)
    assert {r["operation"] for r in records} == {"messages.create", "messages.stream"}
    assert [r["call_index"] for r in records] == list(range(45))
    assert llm.scalar(view, "llm/calls")[-1] == (44, 45)


def test_threads_record_every_call_once(autolog: Any, client: Any, logdir: Any) -> None:
    def work(worker: int) -> None:
        for i in range(4):
            with client.messages.stream(**message(f"t{worker} s{i}")) as stream:
                stream.until_done()
            client.messages.create(**message(f"t{worker} c{i}"))

    threads = [threading.Thread(target=work, args=(w,)) for w in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    records = llm.calls(llm.finished_view(autolog, logdir))
    expected = [f"echo: t{w} {k}{i}" for w in range(5) for i in range(4) for k in "sc"]
    assert sorted(r["output_text"] for r in records) == sorted(expected)


def test_enable_disable_enable_restores_every_method(client: Any, logdir: Any, srv: FakeLLMServer,
                                                     originals: Any) -> None:
    methods = (Messages.create, Messages.stream, AsyncMessages.create, AsyncMessages.stream)
    for round_ in ("first", "second"):
        autolog = llm.enable("anthropic", logdir, experiment_name=round_)
        assert all(getattr(owner, name) is not original for (owner, name), original in originals.items())
        with client.messages.stream(**message(round_)) as stream:
            stream.until_done()
        autolog.disable()
        llm.assert_restored(originals)
        assert (Messages.create, Messages.stream, AsyncMessages.create, AsyncMessages.stream) == methods
        client.messages.create(**message("unrecorded"))
    for round_ in ("first", "second"):
        assert [r["output_text"] for r in llm.calls(llm.run_view(logdir, round_))] == [f"echo: {round_}"]


def test_log_content_false_and_internal_failure(client: Any, logdir: Any, srv: FakeLLMServer, originals: Any,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    autolog = llm.enable("anthropic", logdir, log_content=False)
    secret = "okapi-secret-987"
    client.messages.create(**message(f"remember {secret}", system=f"system {secret}"))
    with client.messages.stream(**message(f"stream {secret}", tools=TOOLS)) as stream:
        stream.until_done()

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("store exploded")

    monkeypatch.setattr(autolog.run, "log", broken)
    with client.messages.stream(**message("still works")) as stream:
        assert stream.get_final_text() == "echo: still works"
    assert type(client.messages.create(**message())) is Message
    assert autolog.get_stats()["degraded_calls"] == 2
    monkeypatch.undo()
    view = llm.finished_view(autolog, logdir)
    created, streamed = llm.calls(view)[:2]
    assert created["input_messages"] == [{"role": "system"}, {"role": "user"}]
    assert streamed["tool_calls"] == [{"id": "toolu_fake_0", "name": "get_weather"}]
    assert created["output_text"] is None and view.media(kind="text") == []
    assert secret.encode() not in llm.run_bytes(view)
