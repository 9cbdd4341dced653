"""Per-call overhead of the LLM autolog (OpenAI, Anthropic, ZhipuAI) against the local fake server.

    .venv/bin/python -m benchmarks.llm_autolog_overhead              # ~1 minute
    .venv/bin/python -m benchmarks.llm_autolog_overhead --quick      # ~5 s
    .venv/bin/python -m benchmarks.llm_autolog_overhead --json out.json

Two measurements, both in microseconds per call (median and p90):

``end_to_end``
    Real clients calling the fake server (tests/llm_fake_server.py) on 127.0.0.1, with and
    without autolog (the patches taken off and put back on one autolog), in short alternating
    blocks so that drift (CPU frequency, other load, the server's threads) hits both sides alike. Scenarios: ``create`` (one chat completion) and
    ``stream`` (a streamed reply of ~12 chunks, fully read). The added cost is the difference of
    the two distributions' medians and p90s; a loopback HTTP call costs about a millisecond
    with jitter of the same order as the overhead, so read it together with:
``isolated``
    What SeeTrain adds around a call, without the network: the patched ``create`` path (resolve
    the request, call, resolve the response, log the record and totals) around a function that
    returns a ready ``ChatCompletion``, and the stream proxy over ready chunks, each compared with
    the bare call. This is the overhead the user's thread pays per call.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script or as a module from anywhere
    sys.path.insert(0, str(ROOT))

QUIET = {"system_monitor": False, "capture_console": False}
REPLY_WORDS = 10  # the streamed reply has REPLY_WORDS + 2 content chunks


def _percentiles(samples_ns: list[int]) -> dict[str, float]:
    ordered = sorted(samples_ns)
    return {"median_us": statistics.median(ordered) / 1e3,
            "p90_us": ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))] / 1e3,
            "n": len(ordered)}


def _time(fn: Callable[[], Any], calls: int) -> list[int]:
    samples = []
    for _ in range(calls):
        start = time.perf_counter_ns()
        fn()
        samples.append(time.perf_counter_ns() - start)
    return samples


def _scenarios(client: Any) -> dict[str, Callable[[], Any]]:
    text = " ".join(f"w{i}" for i in range(REPLY_WORDS - 1))
    messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": text}]

    def create() -> Any:
        return client.chat.completions.create(model="bench", messages=messages, temperature=0.2)

    def stream() -> Any:
        for _ in client.chat.completions.create(model="bench", messages=messages, stream=True,
                                                stream_options={"include_usage": True}):
            pass

    return {"create": create, "stream": stream}


def end_to_end(calls: int, block: int, logdir: str) -> dict[str, Any]:
    import openai

    from integrations.main import enable_openai_autolog
    from tests.llm_fake_server import FakeLLMServer

    samples: dict[str, dict[str, list[int]]] = {}
    with FakeLLMServer() as server:
        # Closing the client at the end resets its idle keep-alive connections; the server's
        # threads would print each reset as a traceback.
        server._httpd.handle_error = lambda request, address: None
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="x", max_retries=0)
        scenarios = _scenarios(client)
        autolog = enable_openai_autolog(project="bench", experiment_name="end-to-end", logdir=logdir, **QUIET)
        patch = autolog._patch
        for fn in scenarios.values():  # warm up connections, lazy imports and the run's keys
            _time(fn, 50)
        for _ in range(max(1, calls // block)):
            for name, fn in scenarios.items():
                entry = samples.setdefault(name, {"off": [], "on": []})
                # Short alternating blocks: the patches come off (originals restored, exactly as
                # with no autolog) and go back on, so drift on a busy machine hits both sides.
                patch.detach(autolog)
                entry["off"] += _time(fn, block)
                patch.attach(autolog)
                entry["on"] += _time(fn, block)
            server.reset()  # the server keeps every request; keep it small
        autolog.disable()
        client.close()
    result = {}
    for name, entry in samples.items():
        off, on = _percentiles(entry["off"]), _percentiles(entry["on"])
        result[name] = {"without": off, "with": on,
                        "added_median_us": on["median_us"] - off["median_us"],
                        "added_p90_us": on["p90_us"] - off["p90_us"]}
    return result


def isolated(calls: int, logdir: str) -> dict[str, Any]:
    """The autolog path around ready objects: exactly what SeeTrain adds to the user's thread."""
    from openai.types.chat import ChatCompletion, ChatCompletionChunk

    from integrations import _autolog
    from integrations.main import enable_openai_autolog

    words = [f"w{i}" for i in range(REPLY_WORDS)]
    completion = ChatCompletion.model_validate({
        "id": "chatcmpl-bench", "object": "chat.completion", "created": 0, "model": "bench",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": " ".join(words)}}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 10, "total_tokens": 22},
    })
    base = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 0, "model": "bench"}
    chunks = [ChatCompletionChunk.model_validate({**base, "choices": [
        {"index": 0, "delta": {"content": f" {w}"}, "finish_reason": None}]}) for w in words]
    chunks.append(ChatCompletionChunk.model_validate({**base, "choices": [
        {"index": 0, "delta": {}, "finish_reason": "stop"}]}))
    kwargs = {"model": "bench", "messages": [{"role": "user", "content": "hello there"}], "temperature": 0.2}

    autolog = enable_openai_autolog(project="bench", experiment_name="isolated", logdir=logdir, **QUIET)
    patch = autolog._patch
    operation = "chat.completions.create"

    def bare_create() -> Any:
        return completion

    def logged_create() -> Any:
        return _autolog._call_sync(patch, operation, kwargs, bare_create, (), {})

    class Chunks:
        """A stand-in for the client's Stream: an iterator over ready chunks."""

        def __init__(self) -> None:
            self._it = iter(chunks)

        def __iter__(self) -> Any:
            return self

        def __next__(self) -> Any:
            return next(self._it)

    # The stand-in is recognised as the provider's stream type for this measurement.
    sync_streams = patch.sync_streams
    patch.sync_streams = (*sync_streams, Chunks)

    def bare_stream() -> None:
        for _ in Chunks():
            pass

    def logged_stream() -> None:
        for _ in _autolog._call_sync(patch, operation, {**kwargs, "stream": True}, Chunks, (), {}):
            pass

    result = {}
    try:
        for name, bare, logged in (("create", bare_create, logged_create), ("stream", bare_stream, logged_stream)):
            _time(logged, 200)
            off = _percentiles(_time(bare, calls))
            on = _percentiles(_time(logged, calls))
            result[name] = {"without": off, "with": on,
                            "added_median_us": on["median_us"] - off["median_us"],
                            "added_p90_us": on["p90_us"] - off["p90_us"]}
        result["stream"]["chunks"] = len(chunks)
        result["stream"]["added_median_us_per_chunk"] = result["stream"]["added_median_us"] / len(chunks)
    finally:
        patch.sync_streams = sync_streams
        autolog.disable()
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000, help="calls per scenario and side (end to end)")
    parser.add_argument("--block", type=int, default=20, help="calls per alternating off/on block")
    parser.add_argument("--isolated-calls", type=int, default=20000)
    parser.add_argument("--quick", action="store_true", help="400 calls, 5000 isolated calls")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    if args.quick:
        args.calls, args.isolated_calls = 400, 5000
    os.environ.setdefault("SEETRAIN_SYSTEM_MONITOR", "0")
    os.environ.setdefault("SEETRAIN_CAPTURE_CONSOLE", "0")
    with tempfile.TemporaryDirectory(prefix="seetrain-llm-bench-") as logdir:
        results = {"end_to_end": end_to_end(args.calls, args.block, logdir),
                   "isolated": isolated(args.isolated_calls, logdir),
                   "python": sys.version.split()[0]}
    for section in ("end_to_end", "isolated"):
        print(f"{section}:")
        for name, row in results[section].items():
            print(f"  {name:7s} without: median {row['without']['median_us']:8.1f} us  p90 {row['without']['p90_us']:8.1f} us"
                  f" | with: median {row['with']['median_us']:8.1f} us  p90 {row['with']['p90_us']:8.1f} us"
                  f" | added: median {row['added_median_us']:7.1f} us  p90 {row['added_p90_us']:7.1f} us")
    stream = results["isolated"]["stream"]
    print(f"  stream of {stream['chunks']} chunks: {stream['added_median_us_per_chunk']:.1f} us added per chunk")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
