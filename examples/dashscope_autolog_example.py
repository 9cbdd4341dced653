"""DashScope (Qwen) + SeeTrain autolog: a call, a stream and a tool call recorded without changing
the calls.

    python examples/dashscope_autolog_example.py [--logdir ./seetrain_logs]

With DASHSCOPE_API_KEY set it talks to the real API (qwen-plus, a few tiny requests); without it,
it starts the repository's local fake server (``tests/llm_fake_server.py``) so the example runs
offline in a second.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for `tests.llm_fake_server` (and `integrations` from a checkout)

import dashscope  # noqa: E402
from dashscope import Generation  # noqa: E402

from integrations.main import enable_dashscope_autolog  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logdir", default="./seetrain_logs")
    args = parser.parse_args()

    with contextlib.ExitStack() as stack:
        key = os.environ.get("DASHSCOPE_API_KEY")
        if not key:
            from tests.llm_fake_server import FakeLLMServer

            server = stack.enter_context(FakeLLMServer())
            print(f"no DASHSCOPE_API_KEY: using the local fake server at {server.url}")
            dashscope.base_http_api_url = f"{server.url}/api/v1"
            key = "fake"
        autolog = enable_dashscope_autolog(project="dashscope-example", experiment_name="chat", logdir=args.logdir)
        reply = Generation.call(model="qwen-plus", api_key=key, result_format="message",
                                messages=[{"role": "user", "content": "What is an experiment tracker?"}])
        print("reply:", reply.output.choices[0].message.content)
        print("stream:", "".join(c.output.choices[0].message.content for c in Generation.call(
            model="qwen-plus", api_key=key, result_format="message", stream=True, incremental_output=True,
            messages=[{"role": "user", "content": "Count to three."}])))
        tools = [{"type": "function", "function": {"name": "search", "description": "web search",
                                                   "parameters": {"type": "object", "properties": {}}}}]
        Generation.call(model="qwen-plus", api_key=key, result_format="message", tools=tools,
                        messages=[{"role": "user", "content": "Find SeeTrain."}])
        print("totals:", autolog.get_totals())
        autolog.disable()


if __name__ == "__main__":
    main()
