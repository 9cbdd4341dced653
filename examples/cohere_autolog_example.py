"""Cohere + SeeTrain autolog: chat, a stream and a tool call recorded without changing the calls.

    python examples/cohere_autolog_example.py [--logdir ./seetrain_logs]

With CO_API_KEY set it talks to the real API (command-r, a few tiny requests); without it, it
starts the repository's local fake server (``tests/llm_fake_server.py``) so the example runs
offline in a second.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for `tests.llm_fake_server` (and `integrations` from a checkout)

import cohere  # noqa: E402

from integrations.main import enable_cohere_autolog  # noqa: E402


def endpoint(stack: contextlib.ExitStack) -> dict[str, Any]:
    if os.environ.get("CO_API_KEY"):
        return {"api_key": os.environ["CO_API_KEY"]}
    from tests.llm_fake_server import FakeLLMServer

    server = stack.enter_context(FakeLLMServer())
    print(f"no CO_API_KEY: using the local fake server at {server.url}")
    return {"api_key": "fake", "base_url": server.url}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logdir", default="./seetrain_logs")
    args = parser.parse_args()

    with contextlib.ExitStack() as stack:
        autolog = enable_cohere_autolog(project="cohere-example", experiment_name="chat", logdir=args.logdir)
        client = cohere.ClientV2(**endpoint(stack))   # after enabling: see docs/integrations/cohere.md
        reply = client.chat(model="command-r", messages=[{"role": "user", "content": "What is a tracker?"}])
        print("reply:", reply.message.content[0].text)
        print("stream:", "".join(e.delta.message.content.text for e in client.chat_stream(
            model="command-r", messages=[{"role": "user", "content": "Count to three."}]) if e.type == "content-delta"))
        tools = [{"type": "function", "function": {"name": "search", "description": "web search",
                                                   "parameters": {"type": "object", "properties": {}}}}]
        client.chat(model="command-r", tools=tools, messages=[{"role": "user", "content": "Find SeeTrain."}])
        print("totals:", autolog.get_totals())
        autolog.disable()


if __name__ == "__main__":
    main()
