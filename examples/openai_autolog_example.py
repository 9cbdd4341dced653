"""OpenAI + SeeTrain autolog: every chat completion recorded without changing the calls.

    python examples/openai_autolog_example.py [--logdir ./seetrain_logs]

With OPENAI_API_KEY set it talks to the real API (model gpt-4o-mini, a handful of tiny
requests). Without it, it starts the repository's local fake server
(``tests/llm_fake_server.py``, standard library only) and points the client there, so the
example runs offline in a second. The fake server is found by putting the repository root on
``sys.path`` below; when you copy this example elsewhere, keep ``OPENAI_API_KEY`` set instead.
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

import openai  # noqa: E402

import seetrain  # noqa: E402
from integrations.main import enable_openai_autolog  # noqa: E402

TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Current weather of a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]


def endpoint(stack: contextlib.ExitStack) -> tuple[dict[str, Any], str]:
    """Client kwargs and model: the real API when a key is set, else the local fake server."""
    if os.environ.get("OPENAI_API_KEY"):
        return {}, "gpt-4o-mini"
    from tests.llm_fake_server import FakeLLMServer

    server = stack.enter_context(FakeLLMServer())
    print(f"no OPENAI_API_KEY: using the local fake server at {server.url}")
    return {"base_url": f"{server.url}/v1", "api_key": "fake"}, "fake-model"


async def several_at_once(client_kwargs: dict[str, Any], model: str) -> list[str]:
    async with openai.AsyncOpenAI(**client_kwargs) as client:
        replies = await asyncio.gather(*(
            client.chat.completions.create(model=model, max_tokens=20,
                                           messages=[{"role": "user", "content": f"Say the number {i}."}])
            for i in range(5)))
    return [reply.choices[0].message.content for reply in replies]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logdir", default="./seetrain_logs")
    args = parser.parse_args()

    with contextlib.ExitStack() as stack:
        client_kwargs, model = endpoint(stack)
        autolog = enable_openai_autolog(project="openai-example", experiment_name="chat", logdir=args.logdir)
        client = openai.OpenAI(**client_kwargs)  # any client, created before or after enabling

        reply = client.chat.completions.create(
            model=model, temperature=0.2, max_tokens=40,
            messages=[{"role": "system", "content": "Answer in one sentence."},
                      {"role": "user", "content": "What is an experiment tracker?"}])
        print("reply:", reply.choices[0].message.content)

        print("stream:", end=" ")
        for chunk in client.chat.completions.create(
                model=model, stream=True, stream_options={"include_usage": True}, max_tokens=40,
                messages=[{"role": "user", "content": "Count from one to five."}]):
            if chunk.choices:
                print(chunk.choices[0].delta.content or "", end="", flush=True)
        print()

        tool = client.chat.completions.create(
            model=model, tools=TOOLS, messages=[{"role": "user", "content": "Weather in Paris?"}])
        print("tool calls:", [call.function.name for call in tool.choices[0].message.tool_calls or []])

        print("async:", asyncio.run(several_at_once(client_kwargs, model)))
        print("totals:", autolog.get_totals())
        client.close()
        run_id = autolog.run.id
        autolog.disable()  # restores the client exactly and finishes the run

    view = seetrain.Api(args.logdir).run(run_id)
    print(f"run {view.id}: {len(view.media(kind='llm_call'))} llm_call records, "
          f"llm/total_tokens = {view.summary['llm/total_tokens']['last']:.0f}, in {view.dir}")


if __name__ == "__main__":
    main()
