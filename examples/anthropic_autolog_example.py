"""Anthropic + SeeTrain autolog: messages.create and messages.stream recorded without changing the calls.

    python examples/anthropic_autolog_example.py [--logdir ./seetrain_logs]

With ANTHROPIC_API_KEY set it talks to the real API (model claude-haiku-4-5, a handful of tiny
requests). Without it, it starts the repository's local fake server
(``tests/llm_fake_server.py``, standard library only) and points the client there, so the
example runs offline in a second. The fake server is found by putting the repository root on
``sys.path`` below; when you copy this example elsewhere, keep ``ANTHROPIC_API_KEY`` set instead.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for `tests.llm_fake_server` (and `integrations` from a checkout)

import anthropic  # noqa: E402

import seetrain  # noqa: E402
from integrations.main import enable_anthropic_autolog  # noqa: E402

TOOLS = [{"name": "get_weather", "description": "Current weather of a city.",
          "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]


def endpoint(stack: contextlib.ExitStack) -> tuple[dict[str, Any], str]:
    """Client kwargs and model: the real API when a key is set, else the local fake server."""
    if os.environ.get("ANTHROPIC_API_KEY"):
        return {}, "claude-haiku-4-5"
    from tests.llm_fake_server import FakeLLMServer

    server = stack.enter_context(FakeLLMServer())
    print(f"no ANTHROPIC_API_KEY: using the local fake server at {server.url}")
    return {"base_url": server.url, "api_key": "fake"}, "fake-model"


async def stream_async(client_kwargs: dict[str, Any], model: str) -> str:
    async with anthropic.AsyncAnthropic(**client_kwargs) as client:
        async with client.messages.stream(model=model, max_tokens=40,
                                          messages=[{"role": "user", "content": "Name three colours."}]) as stream:
            return "".join([text async for text in stream.text_stream])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logdir", default="./seetrain_logs")
    args = parser.parse_args()

    with contextlib.ExitStack() as stack:
        client_kwargs, model = endpoint(stack)
        autolog = enable_anthropic_autolog(project="anthropic-example", experiment_name="chat",
                                           logdir=args.logdir)
        client = anthropic.Anthropic(**client_kwargs)

        reply = client.messages.create(model=model, max_tokens=60, system="Answer in one sentence.",
                                       messages=[{"role": "user", "content": "What is an experiment tracker?"}])
        print("reply:", reply.content[0].text)

        # The stream helper and all its methods work as usual; the call is recorded once.
        with client.messages.stream(model=model, max_tokens=60,
                                    messages=[{"role": "user", "content": "Count from one to five."}]) as stream:
            print("stream:", "".join(stream.text_stream))
            print("stop reason:", stream.get_final_message().stop_reason)

        tool = client.messages.create(model=model, max_tokens=100, tools=TOOLS,
                                      messages=[{"role": "user", "content": "Weather in Paris?"}])
        print("tool calls:", [block.name for block in tool.content if block.type == "tool_use"])

        print("async stream:", asyncio.run(stream_async(client_kwargs, model)))
        print("totals:", autolog.get_totals())
        client.close()
        run_id = autolog.run.id
        autolog.disable()  # restores the client exactly and finishes the run

    view = seetrain.Api(args.logdir).run(run_id)
    print(f"run {view.id}: {len(view.media(kind='llm_call'))} llm_call records, "
          f"llm/total_tokens = {view.summary['llm/total_tokens']['last']:.0f}, in {view.dir}")


if __name__ == "__main__":
    main()
