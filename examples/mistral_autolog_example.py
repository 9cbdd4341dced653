"""Mistral + SeeTrain autolog: chat.complete, chat.stream and a tool call recorded without
changing the calls.

    python examples/mistral_autolog_example.py [--logdir ./seetrain_logs]

With MISTRAL_API_KEY set it talks to the real API (model mistral-small-latest, a few tiny
requests). Without it, it starts the repository's local fake server (``tests/llm_fake_server.py``)
and points the client there, so the example runs offline in a second.
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

from mistralai.client import Mistral  # noqa: E402

from integrations.main import enable_mistral_autolog  # noqa: E402


def endpoint(stack: contextlib.ExitStack) -> tuple[dict[str, Any], str]:
    if os.environ.get("MISTRAL_API_KEY"):
        return {"api_key": os.environ["MISTRAL_API_KEY"]}, "mistral-small-latest"
    from tests.llm_fake_server import FakeLLMServer

    server = stack.enter_context(FakeLLMServer())
    print(f"no MISTRAL_API_KEY: using the local fake server at {server.url}")
    return {"api_key": "fake", "server_url": f"{server.url}/mistral"}, "fake-model"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logdir", default="./seetrain_logs")
    args = parser.parse_args()

    with contextlib.ExitStack() as stack:
        client_kwargs, model = endpoint(stack)
        autolog = enable_mistral_autolog(project="mistral-example", experiment_name="chat", logdir=args.logdir)
        client = Mistral(**client_kwargs)
        reply = client.chat.complete(model=model, messages=[{"role": "user", "content": "What is a tracker?"}])
        print("reply:", reply.choices[0].message.content)
        print("stream:", "".join(e.data.choices[0].delta.content or "" for e in client.chat.stream(
            model=model, messages=[{"role": "user", "content": "Count to three."}])))
        tools = [{"type": "function", "function": {"name": "search", "description": "web search",
                                                   "parameters": {"type": "object", "properties": {}}}}]
        client.chat.complete(model=model, tools=tools, messages=[{"role": "user", "content": "Find SeeTrain."}])
        print("totals:", autolog.get_totals())
        autolog.disable()


if __name__ == "__main__":
    main()
