"""Google GenAI (Gemini) + SeeTrain autolog: generate_content, a stream and a function call
recorded without changing the calls.

    python examples/google_genai_autolog_example.py [--logdir ./seetrain_logs]

With GOOGLE_API_KEY set it talks to the real API (gemini-2.0-flash, a few tiny requests); without
it, it starts the repository's local fake server (``tests/llm_fake_server.py``) so the example runs
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

from google import genai  # noqa: E402
from google.genai import types  # noqa: E402

from integrations.main import enable_google_genai_autolog  # noqa: E402


def endpoint(stack: contextlib.ExitStack) -> dict[str, Any]:
    if os.environ.get("GOOGLE_API_KEY"):
        return {"api_key": os.environ["GOOGLE_API_KEY"]}
    from tests.llm_fake_server import FakeLLMServer

    server = stack.enter_context(FakeLLMServer())
    print(f"no GOOGLE_API_KEY: using the local fake server at {server.url}")
    return {"api_key": "fake", "http_options": {"base_url": server.url}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logdir", default="./seetrain_logs")
    args = parser.parse_args()

    with contextlib.ExitStack() as stack:
        client = genai.Client(**endpoint(stack))
        autolog = enable_google_genai_autolog(project="gemini-example", experiment_name="chat", logdir=args.logdir)
        model = "gemini-2.0-flash"
        reply = client.models.generate_content(model=model, contents="What is an experiment tracker?",
                                               config={"system_instruction": "Answer in one sentence."})
        print("reply:", reply.text)
        print("stream:", "".join(c.text or "" for c in client.models.generate_content_stream(
            model=model, contents="Count to three.")))
        search = types.FunctionDeclaration(name="search", description="web search",
                                           parameters={"type": "OBJECT", "properties": {"query": {"type": "STRING"}}})
        client.models.generate_content(model=model, contents="Find SeeTrain.", config=types.GenerateContentConfig(
            tools=[types.Tool(function_declarations=[search])]))
        print("totals:", autolog.get_totals())
        autolog.disable()


if __name__ == "__main__":
    main()
