"""ZhipuAI + SeeTrain autolog: every chat completion recorded without changing the calls.

    python examples/zhipuai_autolog_example.py [--logdir ./seetrain_logs]

With ZHIPUAI_API_KEY set it talks to the real API (model glm-4-flash, a handful of tiny
requests). Without it, it starts the repository's local fake server
(``tests/llm_fake_server.py``, standard library only) and points the client there, so the
example runs offline in a second. The fake server is found by putting the repository root on
``sys.path`` below; when you copy this example elsewhere, keep ``ZHIPUAI_API_KEY`` set instead.
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

import zhipuai  # noqa: E402

import seetrain  # noqa: E402
from integrations.main import enable_zhipuai_autolog  # noqa: E402


def endpoint(stack: contextlib.ExitStack) -> tuple[dict[str, Any], str]:
    """Client kwargs and model: the real API when a key is set, else the local fake server."""
    if os.environ.get("ZHIPUAI_API_KEY"):
        return {}, "glm-4-flash"
    from tests.llm_fake_server import FakeLLMServer

    server = stack.enter_context(FakeLLMServer())
    print(f"no ZHIPUAI_API_KEY: using the local fake server at {server.url}")
    # The SDK ignores Retry-After and backs off for seconds: no retries against the fake server.
    return {"base_url": f"{server.url}/api/paas/v4", "api_key": "fake.key", "max_retries": 0}, "fake-model"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logdir", default="./seetrain_logs")
    args = parser.parse_args()

    with contextlib.ExitStack() as stack:
        client_kwargs, model = endpoint(stack)
        autolog = enable_zhipuai_autolog(project="zhipuai-example", experiment_name="chat", logdir=args.logdir)
        client = zhipuai.ZhipuAI(**client_kwargs)

        reply = client.chat.completions.create(
            model=model, temperature=0.3,
            messages=[{"role": "system", "content": "Answer in one sentence."},
                      {"role": "user", "content": "What is an experiment tracker?"}])
        print("reply:", reply.choices[0].message.content)

        print("stream:", end=" ")
        for chunk in client.chat.completions.create(
                model=model, stream=True, messages=[{"role": "user", "content": "Count from one to five."}]):
            print(chunk.choices[0].delta.content or "", end="", flush=True)
        print()

        print("totals:", autolog.get_totals())
        client.close()
        run_id = autolog.run.id
        autolog.disable()  # restores the client exactly and finishes the run

    view = seetrain.Api(args.logdir).run(run_id)
    print(f"run {view.id}: {len(view.media(kind='llm_call'))} llm_call records, "
          f"llm/total_tokens = {view.summary['llm/total_tokens']['last']:.0f}, in {view.dir}")


if __name__ == "__main__":
    main()
