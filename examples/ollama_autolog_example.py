"""Ollama + SeeTrain autolog: chat, a stream and a tool call recorded without changing the calls.

    python examples/ollama_autolog_example.py [--logdir ./seetrain_logs] [--host http://127.0.0.1:11434]

With --host (a running Ollama with the model pulled) it talks to that server; without it, it
starts the repository's local fake server (``tests/llm_fake_server.py``) so the example runs
offline in a second.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for `tests.llm_fake_server` (and `integrations` from a checkout)

import ollama  # noqa: E402

from integrations.main import enable_ollama_autolog  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logdir", default="./seetrain_logs")
    parser.add_argument("--host", default=None)
    parser.add_argument("--model", default="llama3.2")
    args = parser.parse_args()

    with contextlib.ExitStack() as stack:
        host = args.host
        if host is None:
            from tests.llm_fake_server import FakeLLMServer

            host = stack.enter_context(FakeLLMServer()).url
            print(f"no --host: using the local fake server at {host}")
        autolog = enable_ollama_autolog(project="ollama-example", experiment_name="chat", logdir=args.logdir)
        client = ollama.Client(host=host)
        print("reply:", client.chat(args.model, [{"role": "user", "content": "What is a tracker?"}]).message.content)
        print("stream:", "".join(p.message.content for p in client.chat(
            model=args.model, messages=[{"role": "user", "content": "Count to three."}], stream=True)))
        tools = [{"type": "function", "function": {"name": "search", "description": "web search",
                                                   "parameters": {"type": "object", "properties": {}}}}]
        client.chat(model=args.model, tools=tools, messages=[{"role": "user", "content": "Find SeeTrain."}])
        print("totals:", autolog.get_totals())
        autolog.disable()


if __name__ == "__main__":
    main()
