"""The LLM resolvers on recorded wire payloads, and on the real client libraries' objects
obtained from the local fake server (which these tests also pin down for autolog tests)."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from resolvers import anthropic as anthropic_resolver
from resolvers import openai as openai_resolver
from resolvers import zhipuai as zhipuai_resolver
from tests.llm_fake_server import FakeLLMServer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "llm"
RECORD_KEYS = {
    "provider",
    "operation",
    "model",
    "params",
    "input_messages",
    "output_text",
    "tool_calls",
    "finish_reason",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "stream",
    "response_id",
    "error",
}
RESOLVERS = [openai_resolver, zhipuai_resolver, anthropic_resolver]
WEATHER_TOOLS = [
    {
        "type": "function",
        "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}},
    },
    {
        "type": "function",
        "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}},
    },
]
ANTHROPIC_TOOLS = [{"name": "get_weather", "description": "Weather.", "input_schema": {"type": "object"}}]
QUERY_ARGS = '{"query": "weather in Paris"}'  # what the fake server's tool calls carry


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def tokens(record: dict[str, Any]) -> tuple[Any, Any, Any]:
    return record["prompt_tokens"], record["completion_tokens"], record["total_tokens"]


def collect(iterable: Any) -> tuple[list[Any], BaseException | None]:
    """The items a stream yielded before it failed, and the failure."""
    items: list[Any] = []
    try:
        for item in iterable:
            items.append(item)
    except Exception as exc:
        return items, exc
    return items, None


# ---------------------------------------------------------------- request records


def test_openai_request_flattens_messages_and_keeps_json_safe_params() -> None:
    kwargs = {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "You are terse."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is in this image?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
        ],
        "temperature": 0.2,
        "max_tokens": 64,
        "tools": WEATHER_TOOLS,
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "response_format": dict,
        "extra_headers": {"Authorization": "Bearer secret"},
        "timeout": 3.0,
    }
    record = openai_resolver.resolve_request(kwargs)
    assert record == {
        "provider": "openai",
        "operation": "chat.completions.create",
        "model": "gpt-4o-mini",
        "params": {
            "temperature": 0.2,
            "max_tokens": 64,
            "tools": ["get_weather", "get_time"],
            "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
            "response_format": "builtins.dict",
            "stream": False,
        },
        "input_messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "What is in this image?\n[image_url]"},
            {"role": "assistant", "content": "[tool_call: get_weather]"},
            {"role": "tool", "content": "sunny"},
        ],
        "output_text": "",
        "tool_calls": [],
        "finish_reason": None,
        "prompt_tokens": None,
        "completion_tokens": None,
        "total_tokens": None,
        "stream": False,
        "response_id": None,
        "error": None,
    }
    json.dumps(record)


def test_anthropic_request_puts_system_first_and_flattens_blocks() -> None:
    kwargs = {
        "model": "claude-sonnet-4-20250514",
        "max_tokens": 1024,
        "system": [{"type": "text", "text": "You are a weather bot."}],
        "messages": [
            {"role": "user", "content": "Weather in SF?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Checking."},
                    {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "SF"}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_1",
                        "content": [{"type": "text", "text": "15 C"}],
                    },
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"},
                    },
                ],
            },
        ],
        "tools": ANTHROPIC_TOOLS + [{"type": "web_search_20250305", "name": "web_search"}],
    }
    record = anthropic_resolver.resolve_request(kwargs)
    assert record["operation"] == "messages.create"
    assert record["input_messages"] == [
        {"role": "system", "content": "You are a weather bot."},
        {"role": "user", "content": "Weather in SF?"},
        {"role": "assistant", "content": "Checking.\n[tool_call: get_weather]"},
        {"role": "user", "content": "15 C\n[image]"},
    ]
    assert record["params"] == {"max_tokens": 1024, "tools": ["get_weather", "web_search"], "stream": False}
    streamed = anthropic_resolver.resolve_request({"model": "m", "messages": []}, operation="messages.stream")
    assert (streamed["operation"], streamed["stream"], streamed["params"]["stream"]) == (
        "messages.stream",
        True,
        True,
    )


# ---------------------------------------------------------------- recorded payloads


def test_openai_response_fixture() -> None:
    request = openai_resolver.resolve_request(
        {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}
    )
    record = openai_resolver.resolve_response(request, load("openai_chat_response.json"))
    assert record["model"] == "gpt-4o-mini-2024-07-18"
    assert record["response_id"] == "chatcmpl-AqP3xRkT9nVb2YcLm0sWd7EfGh1Ij"
    assert record["output_text"] == "The capital of France is Paris."
    assert (record["finish_reason"], record["tool_calls"], record["stream"]) == ("stop", [], False)
    assert tokens(record) == (24, 8, 32)
    assert record["input_messages"] == [{"role": "user", "content": "Hi"}]


def test_openai_tool_calls_response_fixture() -> None:
    record = openai_resolver.resolve_response({}, load("openai_chat_tool_calls_response.json"))
    assert record["output_text"] == ""
    assert record["finish_reason"] == "tool_calls"
    assert record["tool_calls"] == [
        {
            "id": "call_Vx8Yq2LmN4pR6sT0uW1zA3bC",
            "name": "get_weather",
            "arguments": '{"city": "Paris", "unit": "celsius"}',
        },
        {
            "id": "call_Dk5Ej7Fm9Gn1Hp3Iq5Jr7Ks9",
            "name": "get_time",
            "arguments": '{"timezone": "Europe/Paris"}',
        },
    ]
    assert tokens(record) == (81, 52, 133)


def test_openai_stream_fixture_with_usage_chunk() -> None:
    request = openai_resolver.resolve_request({"model": "gpt-4o-mini", "messages": [], "stream": True})
    record = openai_resolver.resolve_stream(request, load("openai_chat_stream_text.json"))
    assert record["output_text"] == "Hello! How can I help?"
    assert (record["finish_reason"], record["stream"]) == ("stop", True)
    assert record["response_id"] == "chatcmpl-AqP5cStReAm0123456789abcdef"
    assert tokens(record) == (9, 7, 16)


def test_openai_stream_fixture_joins_tool_call_fragments_by_index() -> None:
    record = openai_resolver.resolve_stream({}, load("openai_chat_stream_tool_calls.json"))
    assert record["tool_calls"] == [
        {"id": "call_Vx8Yq2LmN4pR6sT0uW1zA3bC", "name": "get_weather", "arguments": '{"city": "Paris"}'},
        {
            "id": "call_Dk5Ej7Fm9Gn1Hp3Iq5Jr7Ks9",
            "name": "get_time",
            "arguments": '{"timezone": "Europe/Paris"}',
        },
    ]
    assert (record["finish_reason"], record["output_text"]) == ("tool_calls", "")
    assert tokens(record) == (None, None, None)  # include_usage was not set


def test_openai_stream_interleaved_and_unindexed_fragments() -> None:
    def chunk(delta: dict[str, Any]) -> dict[str, Any]:
        return {"choices": [{"index": 0, "delta": delta}]}

    interleaved = [
        chunk({"tool_calls": [{"index": 1, "id": "b", "function": {"name": "g", "arguments": "{"}}]}),
        chunk({"tool_calls": [{"index": 0, "id": "a", "function": {"name": "f", "arguments": "["}}]}),
        chunk(
            {
                "tool_calls": [
                    {"index": 1, "function": {"arguments": "}"}},
                    {"index": 0, "function": {"arguments": "]"}},
                ]
            }
        ),
    ]
    assert openai_resolver.resolve_stream({}, interleaved)["tool_calls"] == [
        {"id": "a", "name": "f", "arguments": "[]"},
        {"id": "b", "name": "g", "arguments": "{}"},
    ]
    unindexed = [
        chunk({"tool_calls": [{"id": "a", "function": {"name": "f", "arguments": "{"}}]}),
        chunk({"tool_calls": [{"function": {"arguments": "}"}}]}),
        chunk({"tool_calls": [{"id": "b", "function": {"name": "g", "arguments": {"x": 1}}}]}),
    ]
    assert openai_resolver.resolve_stream({}, unindexed)["tool_calls"] == [
        {"id": "a", "name": "f", "arguments": "{}"},
        {"id": "b", "name": "g", "arguments": '{"x": 1}'},
    ]


def test_zhipuai_fixtures() -> None:
    response = zhipuai_resolver.resolve_response({}, load("zhipuai_chat_response.json"))
    assert (response["provider"], response["model"]) == ("zhipuai", "glm-4-plus")
    assert response["output_text"] == "你好！我是智谱清言，很高兴为你服务。"
    assert tokens(response) == (12, 15, 27)
    text = zhipuai_resolver.resolve_stream({}, load("zhipuai_chat_stream_text.json"))
    assert (text["output_text"], text["finish_reason"], tokens(text)) == ("1 + 1 = 2", "stop", (8, 6, 14))
    tool = zhipuai_resolver.resolve_stream({}, load("zhipuai_chat_stream_tool_call.json"))
    assert tool["tool_calls"] == [
        {
            "id": "call_-8923471634518273645",
            "name": "query_train_info",
            "arguments": '{"date": "2025-08-26", "departure": "北京南站", "destination": "上海"}',
        }
    ]
    assert (tool["finish_reason"], tokens(tool)) == ("tool_calls", (231, 33, 264))


def test_anthropic_response_fixtures() -> None:
    record = anthropic_resolver.resolve_response({}, load("anthropic_message_response.json"))
    assert record["output_text"] == "Hello! How can I help you today?"
    assert (record["finish_reason"], record["response_id"]) == ("end_turn", "msg_01XFDUDYJgAACzvnptvVoYEL")
    assert tokens(record) == (12 + 2048, 12, 2072)  # cache reads count as prompt
    tool = anthropic_resolver.resolve_response({}, load("anthropic_message_tool_use_response.json"))
    assert tool["output_text"] == "I'll check the current weather in San Francisco for you."
    assert tool["tool_calls"] == [
        {
            "id": "toolu_01A09q90qw90lq917835lq9",
            "name": "get_weather",
            "arguments": '{"location": "San Francisco, CA", "unit": "celsius"}',
        }
    ]
    assert (tool["finish_reason"], tokens(tool)) == ("tool_use", (472, 89, 561))


def test_anthropic_stream_fixtures() -> None:
    text = anthropic_resolver.resolve_stream({}, load("anthropic_stream_text.json"))
    assert (text["output_text"], text["finish_reason"]) == ("Hello! Nice to meet you.", "end_turn")
    assert (text["model"], text["response_id"], text["stream"]) == (
        "claude-3-5-haiku-20241022",
        "msg_01LzXkY2q9c3WnBr8TfPsVdE",
        True,
    )
    assert tokens(text) == (25, 15, 40)  # message_delta's cumulative output count wins
    tool = anthropic_resolver.resolve_stream({}, load("anthropic_stream_tool_use.json"))
    assert tool["output_text"] == "Okay, let's check the weather for San Francisco, CA:"
    assert tool["tool_calls"] == [
        {
            "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
            "name": "get_weather",
            "arguments": '{"location": "San Francisco, CA", "unit": "fahrenheit"}',
        }
    ]
    assert (tool["finish_reason"], tokens(tool)) == ("tool_use", (472, 89, 561))
    failed = anthropic_resolver.resolve_stream({}, load("anthropic_stream_error.json"))
    assert failed["output_text"] == "Partial"
    assert failed["error"] == {"type": "overloaded_error", "status_code": None, "message": "Overloaded"}


@pytest.mark.parametrize(
    ("resolver", "fixture", "expected"),
    [
        (openai_resolver, "openai_error_429.json", "requests"),
        (zhipuai_resolver, "zhipuai_error_429.json", "1302"),
        (anthropic_resolver, "anthropic_error_529.json", "overloaded_error"),
    ],
)
def test_error_bodies_resolve_without_an_exception(resolver: Any, fixture: str, expected: str) -> None:
    body = load(fixture)
    record = resolver.resolve_error({}, body)
    assert record["error"] == {"type": expected, "status_code": None, "message": body["error"]["message"]}


def test_pydantic_objects_resolve_like_their_dicts() -> None:
    pytest.importorskip("openai")
    pytest.importorskip("anthropic")
    from anthropic.types import Message
    from openai.types.chat import ChatCompletion, ChatCompletionChunk

    for name in ("openai_chat_response.json", "openai_chat_tool_calls_response.json"):
        payload = load(name)
        completion = ChatCompletion.model_validate(payload)
        assert openai_resolver.resolve_response({}, completion) == openai_resolver.resolve_response(
            {}, payload
        )
    chunks = load("openai_chat_stream_tool_calls.json")
    models = [ChatCompletionChunk.model_validate(c) for c in chunks]
    assert openai_resolver.resolve_stream({}, models) == openai_resolver.resolve_stream({}, chunks)
    for name in ("anthropic_message_response.json", "anthropic_message_tool_use_response.json"):
        payload = load(name)
        message = Message.model_validate(payload)
        assert anthropic_resolver.resolve_response({}, message) == anthropic_resolver.resolve_response(
            {}, payload
        )


# ---------------------------------------------------------------- robustness

ODD_REQUESTS = [
    None,
    42,
    "text",
    {"messages": "nope", "tools": "x", "model": 5},
    {"messages": [None, 3, {"content": object()}]},
]
ODD_RESPONSES = [
    None,
    "text",
    42,
    {},
    {"choices": None, "usage": "x"},
    {"choices": [None, 1]},
    {"choices": [{"message": {"content": 5, "tool_calls": [None, {"function": None}, 7]}}]},
    {"usage": {"prompt_tokens": "many", "input_tokens": "many", "output_tokens": True}},
    {"content": [None, {"type": "tool_use", "input": object()}, {"type": "text", "text": None}]},
]
ODD_CHUNKS = [
    None,
    5,
    [
        None,
        1,
        "x",
        {},
        {"choices": [{"delta": None}]},
        {"choices": [{"index": "a", "delta": {"content": 3}}]},
    ],
    [
        {
            "choices": [
                {
                    "delta": {
                        "tool_calls": [
                            None,
                            {"function": None},
                            {"index": "a"},
                            {"index": 0, "function": {"arguments": 1}},
                        ]
                    }
                }
            ]
        }
    ],
    [{"type": "content_block_delta", "delta": None}, {"type": "message_delta", "usage": None, "delta": None}],
    [
        {"type": "message_start", "message": None},
        {"type": "content_block_start", "content_block": None},
        {"type": 3},
    ],
    [
        {
            "type": "content_block_delta",
            "index": 2,
            "delta": {"type": "input_json_delta", "partial_json": None},
        }
    ],
    iter([{"type": "error", "error": None}]),
]


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no")


@pytest.mark.parametrize("resolver", RESOLVERS, ids=lambda r: r.PROVIDER)
def test_unexpected_shapes_never_raise(resolver: Any) -> None:
    records = [resolver.resolve_request(kwargs) for kwargs in ODD_REQUESTS]
    records += [
        resolver.resolve_response(record, response) for record in (None, {}) for response in ODD_RESPONSES
    ]
    records += [resolver.resolve_stream(None, chunks) for chunks in ODD_CHUNKS]
    records += [resolver.resolve_error(None, Unprintable()), resolver.resolve_error("x", None)]
    for record in records:
        assert set(record) == RECORD_KEYS
        assert record["provider"] == resolver.PROVIDER
        json.dumps(record)


@pytest.mark.parametrize("resolver", RESOLVERS, ids=lambda r: r.PROVIDER)
def test_request_record_is_not_mutated(resolver: Any) -> None:
    request = resolver.resolve_request({"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    before = copy.deepcopy(request)
    resolver.resolve_response(request, load("openai_chat_response.json"))
    resolver.resolve_stream(request, load("anthropic_stream_text.json"))
    resolver.resolve_error(request, ValueError("boom"))
    assert request == before


def test_resolvers_import_no_client_library() -> None:
    code = (
        "import sys, resolvers, resolvers.openai, resolvers.zhipuai, resolvers.anthropic\n"
        "print(sorted(m for m in ('openai', 'anthropic', 'zhipuai', 'httpx', 'pydantic') if m in sys.modules))"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ---------------------------------------------------------------- real clients against the fake server


# Clients are module-scoped too: building one costs tens of milliseconds (TLS context).
@pytest.fixture(scope="module")
def _openai_client(server: FakeLLMServer) -> Any:
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="x", max_retries=0)
    yield client
    client.close()


@pytest.fixture(scope="module")
def _zhipuai_client(server: FakeLLMServer) -> Any:
    zhipuai = pytest.importorskip("zhipuai")
    # The SDK ignores Retry-After and backs off for seconds: no retries in tests.
    client = zhipuai.ZhipuAI(api_key="id.secret", base_url=f"{server.url}/api/paas/v4", max_retries=0)
    yield client
    client.close()


@pytest.fixture(scope="module")
def _anthropic_client(server: FakeLLMServer) -> Any:
    anthropic = pytest.importorskip("anthropic")
    client = anthropic.Anthropic(base_url=server.url, api_key="x", max_retries=0)
    yield client
    client.close()


@pytest.fixture
def openai_client(_openai_client: Any, srv: FakeLLMServer) -> Any:
    return _openai_client


@pytest.fixture
def zhipuai_client(_zhipuai_client: Any, srv: FakeLLMServer) -> Any:
    return _zhipuai_client


@pytest.fixture
def anthropic_client(_anthropic_client: Any, srv: FakeLLMServer) -> Any:
    return _anthropic_client


def chat_kwargs(text: str = "hello there", **extra: Any) -> dict[str, Any]:
    messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": text}]
    return {"model": "test-model", "messages": messages, **extra}


def test_openai_client_create(openai_client: Any, srv: FakeLLMServer) -> None:
    kwargs = chat_kwargs(temperature=0.5)
    response = openai_client.chat.completions.create(**kwargs)
    record = openai_resolver.resolve_response(openai_resolver.resolve_request(kwargs), response)
    assert record["output_text"] == response.choices[0].message.content == "echo: hello there"
    assert (record["finish_reason"], record["tool_calls"], record["stream"]) == ("stop", [], False)
    assert (record["model"], record["response_id"]) == ("test-model", "chatcmpl-fake-1")
    assert record["params"] == {"temperature": 0.5, "stream": False}
    assert tokens(record) == (4, 3, 7)
    assert srv.requests[0]["path"] == "/v1/chat/completions"
    assert srv.requests[0]["body"]["messages"] == kwargs["messages"]


def test_openai_client_stream_with_tools_and_usage(openai_client: Any) -> None:
    kwargs = chat_kwargs(
        "weather in Paris", stream=True, stream_options={"include_usage": True}, tools=WEATHER_TOOLS
    )
    chunks = list(openai_client.chat.completions.create(**kwargs))
    fragments = [c for c in chunks if c.choices and c.choices[0].delta.tool_calls]
    assert len(fragments) == 8  # a head and three argument pieces per call
    record = openai_resolver.resolve_stream(openai_resolver.resolve_request(kwargs), chunks)
    assert record["tool_calls"] == [
        {"id": "call_fake_0", "name": "get_weather", "arguments": QUERY_ARGS},
        {"id": "call_fake_1", "name": "get_time", "arguments": QUERY_ARGS},
    ]
    assert (record["output_text"], record["finish_reason"], record["stream"]) == ("", "tool_calls", True)
    assert record["params"]["tools"] == ["get_weather", "get_time"]
    assert tokens(record) == (5, 8, 13)


def test_openai_client_stream_without_usage_and_truncated(openai_client: Any) -> None:
    kwargs = chat_kwargs("one two three", stream=True)
    record = openai_resolver.resolve_stream(
        openai_resolver.resolve_request(kwargs), openai_client.chat.completions.create(**kwargs)
    )
    assert (record["output_text"], record["finish_reason"]) == ("echo: one two three", "stop")
    assert tokens(record) == (None, None, None)
    kwargs = chat_kwargs("one two three", max_tokens=2)
    record = openai_resolver.resolve_response({}, openai_client.chat.completions.create(**kwargs))
    assert (record["output_text"], record["finish_reason"], tokens(record)) == (
        "echo: one",
        "length",
        (5, 2, 7),
    )


def test_openai_client_objects_in_request(openai_client: Any) -> None:
    import openai

    first = openai_client.chat.completions.create(**chat_kwargs("weather in Paris", tools=WEATHER_TOOLS[:1]))
    # The usual tool loop: the response message object goes straight back into messages.
    messages = chat_kwargs("weather in Paris")["messages"] + [
        first.choices[0].message,
        {"role": "tool", "tool_call_id": "call_fake_0", "content": "sunny"},
    ]
    kwargs = {
        "model": "test-model",
        "messages": messages,
        "tools": WEATHER_TOOLS[:1],
        "temperature": openai.NOT_GIVEN,
    }
    request = openai_resolver.resolve_request(kwargs)
    assert request["input_messages"][2:] == [
        {"role": "assistant", "content": "[tool_call: get_weather]"},
        {"role": "tool", "content": "sunny"},
    ]
    assert request["params"] == {"tools": ["get_weather"], "stream": False}
    record = openai_resolver.resolve_response(request, openai_client.chat.completions.create(**kwargs))
    assert (record["output_text"], record["finish_reason"]) == ("echo: weather in Paris", "stop")


def test_zhipuai_client_create_and_stream(zhipuai_client: Any, srv: FakeLLMServer) -> None:
    kwargs = chat_kwargs()
    record = zhipuai_resolver.resolve_response(
        zhipuai_resolver.resolve_request(kwargs), zhipuai_client.chat.completions.create(**kwargs)
    )
    assert (record["provider"], record["output_text"], record["finish_reason"]) == (
        "zhipuai",
        "echo: hello there",
        "stop",
    )
    assert tokens(record) == (4, 3, 7)
    kwargs = chat_kwargs(stream=True)
    chunks = list(zhipuai_client.chat.completions.create(**kwargs))
    assert chunks[-1].usage is not None  # ZhipuAI reports usage unasked
    record = zhipuai_resolver.resolve_stream(zhipuai_resolver.resolve_request(kwargs), chunks)
    assert (record["output_text"], record["response_id"], tokens(record)) == (
        "echo: hello there",
        "chatcmpl-fake-2",
        (4, 3, 7),
    )
    kwargs = chat_kwargs("weather in Paris", stream=True, tools=WEATHER_TOOLS[:1])
    record = zhipuai_resolver.resolve_stream({}, zhipuai_client.chat.completions.create(**kwargs))
    assert record["tool_calls"] == [{"id": "call_fake_0", "name": "get_weather", "arguments": QUERY_ARGS}]
    assert (record["finish_reason"], tokens(record)) == ("tool_calls", (5, 4, 9))
    assert srv.requests[0]["path"] == "/api/paas/v4/chat/completions"


def anthropic_kwargs(text: str = "hello there", **extra: Any) -> dict[str, Any]:
    messages = [{"role": "user", "content": text}]
    return {"model": "claude-test", "max_tokens": 100, "system": "be brief", "messages": messages, **extra}


def test_anthropic_client_create(anthropic_client: Any) -> None:
    kwargs = anthropic_kwargs()
    record = anthropic_resolver.resolve_response(
        anthropic_resolver.resolve_request(kwargs), anthropic_client.messages.create(**kwargs)
    )
    assert record["input_messages"][0] == {"role": "system", "content": "be brief"}
    assert (record["output_text"], record["finish_reason"], record["response_id"]) == (
        "echo: hello there",
        "end_turn",
        "msg_fake_1",
    )
    assert tokens(record) == (4, 3, 7)
    kwargs = anthropic_kwargs("weather in Paris", tools=ANTHROPIC_TOOLS)
    record = anthropic_resolver.resolve_response({}, anthropic_client.messages.create(**kwargs))
    assert record["tool_calls"] == [{"id": "toolu_fake_0", "name": "get_weather", "arguments": QUERY_ARGS}]
    assert (record["output_text"], record["finish_reason"], tokens(record)) == ("", "tool_use", (5, 4, 9))


def test_anthropic_client_raw_stream(anthropic_client: Any) -> None:
    kwargs = anthropic_kwargs("weather in Paris", stream=True, tools=ANTHROPIC_TOOLS)
    events = list(anthropic_client.messages.create(**kwargs))
    assert [e.type for e in events][:2] == ["message_start", "content_block_start"]
    assert [e.type for e in events][-3:] == ["content_block_stop", "message_delta", "message_stop"]
    record = anthropic_resolver.resolve_stream(anthropic_resolver.resolve_request(kwargs), events)
    assert record["tool_calls"] == [{"id": "toolu_fake_0", "name": "get_weather", "arguments": QUERY_ARGS}]
    assert (record["finish_reason"], record["stream"], tokens(record)) == ("tool_use", True, (5, 4, 9))


def test_anthropic_client_messages_stream_helper(anthropic_client: Any) -> None:
    kwargs = anthropic_kwargs("one two three")
    request = anthropic_resolver.resolve_request(kwargs, operation="messages.stream")
    with anthropic_client.messages.stream(**kwargs) as stream:
        events = list(stream)
        final = stream.get_final_message()
    assert "text" in {e.type for e in events}  # the helper's derived events are fed too
    record = anthropic_resolver.resolve_stream(request, events)
    assert record["output_text"] == final.content[0].text == "echo: one two three"
    assert (record["operation"], record["finish_reason"]) == ("messages.stream", final.stop_reason)
    assert tokens(record) == (5, 4, 9) == (final.usage.input_tokens, final.usage.output_tokens, 9)


# ---------------------------------------------------------------- failures the autolog tests rely on


def _call(provider: str, clients: dict[str, Any], **extra: Any) -> Any:
    if provider == "anthropic":
        return clients[provider].messages.create(**anthropic_kwargs(**extra))
    return clients[provider].chat.completions.create(**chat_kwargs(**extra))


@pytest.fixture
def clients(
    openai_client: Any, zhipuai_client: Any, anthropic_client: Any, srv: FakeLLMServer
) -> dict[str, Any]:
    return {"openai": openai_client, "zhipuai": zhipuai_client, "anthropic": anthropic_client}


ERRORS = {
    ("openai", 429): "RateLimitError",
    ("openai", 500): "InternalServerError",
    ("zhipuai", 429): "APIReachLimitError",
    ("zhipuai", 500): "APIInternalError",
    ("anthropic", 429): "RateLimitError",
    ("anthropic", 500): "InternalServerError",
}
PROVIDER_RESOLVERS = {"openai": openai_resolver, "zhipuai": zhipuai_resolver, "anthropic": anthropic_resolver}


@pytest.mark.parametrize(("provider", "status"), list(ERRORS))
def test_scripted_status_errors_raise_in_the_real_client(
    provider: str, status: int, clients: dict[str, Any], srv: FakeLLMServer
) -> None:
    srv.fail_next(status)
    with pytest.raises(Exception) as caught:
        _call(provider, clients)
    assert type(caught.value).__name__ == ERRORS[provider, status]
    assert caught.value.status_code == status
    if status == 429:
        assert caught.value.response.headers["retry-after"] == "0"
    record = PROVIDER_RESOLVERS[provider].resolve_error({}, caught.value)
    assert record["error"] == {
        "type": ERRORS[provider, status],
        "status_code": status,
        "message": str(caught.value),
    }
    assert _call(provider, clients) is not None  # only the next request failed


@pytest.mark.parametrize(
    ("provider", "fixture", "status", "needle"),
    [
        ("openai", "openai_error_429.json", 429, "Rate limit reached"),
        ("zhipuai", "zhipuai_error_429.json", 429, "1302"),
        ("anthropic", "anthropic_error_529.json", 529, "Overloaded"),
    ],
)
def test_recorded_error_bodies_through_the_real_client(
    provider: str, fixture: str, status: int, needle: str, clients: dict[str, Any], srv: FakeLLMServer
) -> None:
    srv.fail_next(status, body=load(fixture))
    with pytest.raises(Exception) as caught:
        _call(provider, clients)
    error = PROVIDER_RESOLVERS[provider].resolve_error({}, caught.value)["error"]
    assert (error["type"], error["status_code"]) == (type(caught.value).__name__, status)
    assert needle in error["message"]


def test_fail_next_times(openai_client: Any, srv: FakeLLMServer) -> None:
    import openai

    srv.fail_next(500, times=2)
    for _ in range(2):
        with pytest.raises(openai.InternalServerError):
            openai_client.chat.completions.create(**chat_kwargs())
    assert openai_client.chat.completions.create(**chat_kwargs()).id == "chatcmpl-fake-3"


# openai wraps the transport error; anthropic and zhipuai let httpx's through.
@pytest.mark.parametrize(
    ("provider", "after", "partial", "error"),
    [
        ("openai", 3, "echo: a", "APIConnectionError"),
        ("zhipuai", 2, "echo:", "RemoteProtocolError"),
        ("anthropic", 4, "echo: a", "RemoteProtocolError"),
    ],
)
def test_dropped_stream_raises_mid_iteration(
    provider: str, after: int, partial: str, error: str, clients: dict[str, Any], srv: FakeLLMServer
) -> None:
    srv.drop_next_stream(after_frames=after)
    extra = {"text": "a b c d", "stream": True}
    resolver = PROVIDER_RESOLVERS[provider]
    request = resolver.resolve_request(
        anthropic_kwargs(**extra) if provider == "anthropic" else chat_kwargs(**extra)
    )
    chunks, exc = collect(_call(provider, clients, **extra))
    assert exc is not None and chunks
    record = resolver.resolve_error(resolver.resolve_stream(request, chunks), exc)
    assert (record["output_text"], record["finish_reason"]) == (partial, None)
    assert record["error"] == {"type": error, "status_code": None, "message": str(exc)}
    chunks, exc = collect(_call(provider, clients, **extra))  # the next stream is whole again
    assert exc is None and resolver.resolve_stream(request, chunks)["output_text"] == "echo: a b c d"


def test_fake_server_rejects_unknown_paths_and_bad_bodies(srv: FakeLLMServer) -> None:
    import urllib.error
    import urllib.request

    for path, data in [("/v1/nope", b"{}"), ("/v1/chat/completions", b"not json")]:
        request = urllib.request.Request(
            srv.url + path, data=data, headers={"Content-Type": "application/json"}
        )
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(request, timeout=5)
        assert caught.value.code in (400, 404)
        assert "error" in json.loads(caught.value.read())
    assert [r["path"] for r in srv.requests] == ["/v1/nope", "/v1/chat/completions"]
    assert srv.requests[1]["body"] is None
