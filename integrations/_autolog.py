"""What the LLM-client autologs (OpenAI, ZhipuAI, Anthropic, Ollama, Google GenAI, Cohere, DashScope, Mistral) share.

- ``PROVIDERS``: the table of patch targets per client library. Methods of the client
  *classes* are wrapped (with ``wrapt``), so clients created before or after enabling are
  recorded alike. Applied once per provider however many autologs are enabled, and removed
  exactly (the original attribute objects are put back) when the last one is disabled.
- A wrapper resolves the call's kwargs into a record (``resolvers.<provider>``), calls the
  original, and completes the record from the response or the error; the user's return value
  is never replaced, except that a stream is handed back inside a proxy that yields every
  chunk unchanged and records the call exactly once, however the stream ends.
- ``suppress_autolog()``: a context flag (``contextvars``) under which the wrappers call
  straight through. SeeTrain's own HTTP calls, and calls nested inside a recorded call, run
  under it, so nothing is recorded twice.
- ``LLMAutolog``: the Integration base of the adapters (``class XAutolog(LLMAutolog, provider="x")``);
  keeps running totals per run.

Everything on the recording side is guarded: a failure inside SeeTrain is counted in
``get_stats()`` and logged once, and the user's call goes on as if SeeTrain were absent.
"""

from __future__ import annotations

import contextvars
import importlib
import inspect
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

from integrations._base import Integration
from integrations._llm_streams import (
    ERROR,
    UNFINISHED,
    AsyncStreamProxy,
    ClosableStreamProxy,
    StreamProxy,
)
from integrations._patching import PatchSet, Target
from seetrain._sample import SortedReservoir
from seetrain._sample import percentile as _percentile

log = logging.getLogger("seetrain")

__all__ = [
    "PROVIDERS",
    "LLMAutolog",
    "PatchTarget",
    "Provider",
    "autolog_suppressed",
    "suppress_autolog",
]

# ---------------------------------------------------------------- the table of patch targets

SYNC, ASYNC, STREAM_MANAGER, ASYNC_STREAM_MANAGER = "sync", "async", "stream_manager", "async_stream_manager"


@dataclass(frozen=True)
class PatchTarget:
    """One method to wrap: ``module`` and the dotted ``path`` of the attribute inside it."""

    module: str
    path: str
    kind: str          # SYNC, ASYNC, STREAM_MANAGER or ASYNC_STREAM_MANAGER
    operation: str     # the record's "operation"
    why: str           # why this patch exists (shown in debug logs and the run metadata)


# What a client's stream=True hands back when it has no stream class of its own.
_GENERATORS, _ASYNC_GENERATORS = ("types:GeneratorType",), ("types:AsyncGeneratorType",)


@dataclass(frozen=True)
class Provider:
    name: str
    targets: tuple[PatchTarget, ...]
    sync_streams: tuple[str, ...] = _GENERATORS        # "module:Class" of the client's stream objects
    async_streams: tuple[str, ...] = _ASYNC_GENERATORS

    @property
    def resolver(self) -> str:
        """The module with resolve_request/response/error and StreamAccumulator."""
        return f"resolvers.{self.name}"


def _pair(module: str, path: str, async_path: str, operation: str, why: str,
          async_why: str = "the same, async", kinds: tuple[str, str] = (SYNC, ASYNC)) -> tuple[PatchTarget, ...]:
    """A sync method and its asyncio twin, recorded under one operation."""
    return (PatchTarget(module, path, kinds[0], operation, why),
            PatchTarget(module, async_path, kinds[1], operation, async_why))


def _providers(*providers: Provider) -> dict[str, Provider]:
    return {p.name: p for p in providers}


_OPENAI_CHAT = "openai.resources.chat.completions"
_OPENAI_RESPONSES = "openai.resources.responses.responses"
_ANTHROPIC_MESSAGES = "anthropic.resources.messages"
_MISTRAL_CHAT = "mistralai.client.chat"
_GENAI_MODELS = "google.genai.models"
_FOR_ASYNC_OPENAI = "the same for AsyncOpenAI"
_BYPASSES_CREATE = "structured outputs post directly, bypassing create"

PROVIDERS: dict[str, Provider] = _providers(
    Provider("openai", (
        *_pair(_OPENAI_CHAT, "Completions.create", "AsyncCompletions.create", "chat.completions.create",
               "every sync chat completion, streamed or not; chat.completions.stream() "
               "and with_raw_response call it too", _FOR_ASYNC_OPENAI),
        *_pair(_OPENAI_CHAT, "Completions.parse", "AsyncCompletions.parse", "chat.completions.parse",
               _BYPASSES_CREATE, _FOR_ASYNC_OPENAI),
        *_pair(_OPENAI_RESPONSES, "Responses.create", "AsyncResponses.create", "responses.create",
               "the Responses API, streamed or not; responses.stream() calls it too", _FOR_ASYNC_OPENAI),
        *_pair(_OPENAI_RESPONSES, "Responses.parse", "AsyncResponses.parse", "responses.parse",
               _BYPASSES_CREATE, _FOR_ASYNC_OPENAI),
        *_pair("openai.resources.embeddings", "Embeddings.create", "AsyncEmbeddings.create", "embeddings.create",
               "embeddings: inputs, model, token usage, count x dimensions", _FOR_ASYNC_OPENAI),
    ), ("openai:Stream",), ("openai:AsyncStream",)),
    Provider("zhipuai", (
        PatchTarget("zhipuai.api_resource.chat.completions", "Completions.create", SYNC, "chat.completions.create",
                    "ZhipuAI().chat.completions.create, streamed or not (the SDK has no asyncio client)"),
    ), ("zhipuai.core._sse_client:StreamResponse",), ()),
    Provider("anthropic", (
        *_pair(_ANTHROPIC_MESSAGES, "Messages.create", "AsyncMessages.create", "messages.create",
               "every sync messages.create, streamed (stream=True) or not", "the same for AsyncAnthropic"),
        *_pair(_ANTHROPIC_MESSAGES, "Messages.stream", "AsyncMessages.stream", "messages.stream",
               "messages.stream() posts by itself when its manager is entered, bypassing create",
               "the same for AsyncAnthropic", kinds=(STREAM_MANAGER, ASYNC_STREAM_MANAGER)),
    ), ("anthropic:Stream",), ("anthropic:AsyncStream",)),
    # stream=True hands back a generator (an async generator from AsyncClient).
    Provider("ollama", _pair("ollama._client", "Client.chat", "AsyncClient.chat", "chat",
                             "every Client().chat and module-level ollama.chat (its default client), "
                             "streamed or not", "the same for AsyncClient")),
    Provider("google_genai", (
        *_pair(_GENAI_MODELS, "Models.generate_content", "AsyncModels.generate_content", "models.generate_content",
               "client.models.generate_content (one record even when automatic function calling "
               "makes several requests inside it)", "client.aio.models.generate_content"),
        *_pair(_GENAI_MODELS, "Models.generate_content_stream", "AsyncModels.generate_content_stream",
               "models.generate_content_stream", "the streamed variant (a generator)",
               "client.aio ... (an async generator)"),
    )),
    Provider("cohere", (
        *_pair("cohere.v2.client", "V2Client.chat", "AsyncV2Client.chat", "chat",
               "ClientV2().chat (tools included)", "AsyncClientV2().chat"),
        # The async chat_stream is a plain method returning an async generator: wrapped as SYNC.
        *_pair("cohere.v2.client", "V2Client.chat_stream", "AsyncV2Client.chat_stream", "chat_stream",
               "ClientV2().chat_stream: a generator of typed events",
               "AsyncClientV2().chat_stream: an async generator, returned without awaiting", kinds=(SYNC, SYNC)),
    )),
    Provider("dashscope", _pair("dashscope.aigc.generation", "Generation.call", "AioGeneration.call",
                                "Generation.call", "dashscope.Generation.call (a classmethod), streamed or not; "
                                "API errors are returned as responses, not raised, and recorded as errors",
                                "the asyncio variant")),
    Provider("mistral", (
        *_pair(_MISTRAL_CHAT, "Chat.complete", "Chat.complete_async", "chat.complete",
               "every sync chat completion (tools included)"),
        *_pair(_MISTRAL_CHAT, "Chat.stream", "Chat.stream_async", "chat.stream",
               "chat.stream() posts by itself (no stream=True keyword) and returns an EventStream",
               "the same, async (an EventStreamAsync)"),
    ), ("mistralai.client.utils.eventstreaming:EventStream",),
        ("mistralai.client.utils.eventstreaming:EventStreamAsync",)),
)

# ---------------------------------------------------------------- the context flag

_SUPPRESSED: contextvars.ContextVar[bool] = contextvars.ContextVar("seetrain_autolog_suppressed", default=False)


@contextmanager
def suppress_autolog() -> Iterator[None]:
    """Within this block (this thread / asyncio task), LLM calls are not recorded."""
    token = _SUPPRESSED.set(True)
    try:
        yield
    finally:
        _SUPPRESSED.reset(token)


def autolog_suppressed() -> bool:
    """True inside :func:`suppress_autolog` or inside a call that is already being recorded."""
    return _SUPPRESSED.get()


# ---------------------------------------------------------------- one recorded call

# How a stream ended, as stored in the record's "stream_end".


class _Call:
    """The state of one call from request to record. Every method swallows (and counts) its
    own failures: this object runs on the user's call path."""

    __slots__ = ("patch", "sinks", "request", "started", "t0", "first", "acc", "_once", "_token")

    def __init__(self, patch: _Patch, sinks: tuple[LLMAutolog, ...], operation: str,
                 kwargs: Mapping[str, Any]) -> None:
        self.patch = patch
        self.sinks = sinks
        self.started = time.time()
        self.t0 = time.perf_counter()
        self.first: float | None = None
        self.acc: Any = None
        self._once = threading.Lock()  # acquired by the one _finish that records
        self.request = patch.resolver.resolve_request(kwargs, operation=operation)

    @classmethod
    def begin(cls, patch: _Patch, sinks: tuple[LLMAutolog, ...], operation: str,
              kwargs: Mapping[str, Any]) -> _Call | None:
        try:
            return cls(patch, sinks, operation, kwargs)
        except Exception as exc:  # noqa: BLE001 - the call goes on unrecorded
            _degraded(sinks, exc)
            return None

    def _degraded(self, exc: BaseException) -> None:
        _degraded(self.sinks, exc)

    # ---- ``with call:`` around the client's own call -----------------------------------------
    def __enter__(self) -> None:
        # A patched method the client calls inside this one is part of this call: not recorded.
        self._token = _SUPPRESSED.set(True)

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        try:
            if exc is not None:
                self.failed(exc)  # the client's exception then goes on to the user unchanged
        finally:
            _SUPPRESSED.reset(self._token)

    # ---- outcomes ---------------------------------------------------------------------
    def returned(self, result: Any) -> Any:
        """The value to hand to the user: ``result`` itself, or a recording proxy of a stream."""
        try:
            patch = self.patch
            proxy_cls: type | None = None
            if patch.sync_streams and isinstance(result, patch.sync_streams):
                proxy_cls = ClosableStreamProxy if hasattr(result, "close") else StreamProxy
            elif patch.async_streams and isinstance(result, patch.async_streams):
                proxy_cls = AsyncStreamProxy
            if proxy_cls is not None:
                self.acc = patch.resolver.StreamAccumulator(self.request)
                proxy = proxy_cls(result, self)
                for sink in self.sinks:
                    sink._pending.add(self)
                return proxy
            # A parsed response, or whatever with_raw_response gives (recorded without output).
            self._finish(patch.resolver.resolve_response(self.request, result), None)
        except Exception as exc:  # noqa: BLE001
            self._degraded(exc)
        return result

    def failed(self, exc: BaseException) -> None:
        if self._once.locked():
            return  # already recorded, e.g. a stream used again after it was closed
        try:
            partial = self.acc.record() if self.acc is not None else self.request
            self._finish(self.patch.resolver.resolve_error(partial, exc), ERROR if self.acc is not None else None)
        except Exception as inner:  # noqa: BLE001
            self._degraded(inner)

    def chunk(self, item: Any) -> None:
        try:
            if self.first is None:
                self.first = time.perf_counter()
            self.acc.add(item)
        except Exception as exc:  # noqa: BLE001
            self._degraded(exc)

    def ended(self, how: str) -> None:
        if self._once.locked():
            return  # cheap early exit: close() after a fully read stream, __del__ after close()
        try:
            self._finish(self.acc.record(), how)
        except Exception as exc:  # noqa: BLE001
            self._degraded(exc)

    def _finish(self, record: dict[str, Any], stream_end: str | None) -> None:
        if not self._once.acquire(blocking=False):
            return
        now = time.perf_counter()
        record["latency_s"] = now - self.t0
        record["ttft_s"] = None if self.first is None else self.first - self.t0
        record["timestamp"] = self.started
        record["stream_end"] = stream_end
        for sink in self.sinks:
            sink._pending.discard(self)
            sink._record(record)


def _degraded(sinks: tuple[LLMAutolog, ...], exc: BaseException) -> None:
    for sink in sinks:
        sink._degraded(exc)


# ---------------------------------------------------------------- calling through a record


def _call_sync(patch: _Patch, operation: str, call_kwargs: Mapping[str, Any],
               fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    sinks = patch.sinks
    if not sinks or _SUPPRESSED.get():
        return fn(*args, **kwargs)
    call = _Call.begin(patch, sinks, operation, call_kwargs)
    if call is None:
        return fn(*args, **kwargs)
    with call:
        result = fn(*args, **kwargs)
    return call.returned(result)


async def _call_async(patch: _Patch, sinks: tuple[LLMAutolog, ...], operation: str,
                      call_kwargs: Mapping[str, Any], make_awaitable: Callable[[], Any]) -> Any:
    call = _Call.begin(patch, sinks, operation, call_kwargs)
    if call is None:
        return await make_awaitable()
    with call:
        result = await make_awaitable()
    return call.returned(result)


def _mangled(obj: Any, name: str) -> str | None:
    """The name-mangled attribute ``__<name>`` of ``obj`` as its defining class spells it."""
    for cls in type(obj).__mro__:
        attr = f"_{cls.__name__.lstrip('_')}__{name}"
        if attr in getattr(obj, "__dict__", {}):
            return attr
    return None


def _hook_stream_manager(patch: _Patch, operation: str, manager: Any, call_kwargs: Mapping[str, Any],
                         is_async: bool) -> None:
    """Anthropic's ``messages.stream()`` returns a manager that sends the request only when it is
    entered, from a private ``__api_request``. That callable (or awaitable) is replaced by one that
    records, so the manager, the ``MessageStream`` it yields and every helper on it
    (``text_stream``, ``get_final_message`` ...) stay the client's own objects."""
    attr = _mangled(manager, "api_request")
    if attr is None:
        log.debug("seetrain[%s]: %s has no __api_request; messages.stream() not recorded",
                  patch.provider.name, type(manager).__name__)
        return
    original = getattr(manager, attr)
    if is_async:
        sinks = patch.sinks
        setattr(manager, attr, _call_async(patch, sinks, operation, call_kwargs, lambda: original))
    else:
        setattr(manager, attr, lambda: _call_sync(patch, operation, call_kwargs, original, (), {}))


def _named_arguments(wrapped: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Mapping[str, Any]:
    """The call's arguments by name: ``kwargs`` itself when nothing was passed positionally (the
    usual case, no cost), else bound to the method's signature (``client.chat("llama3", [...])``)."""
    if not args:
        return kwargs
    try:
        return {**inspect.signature(wrapped).bind_partial(*args, **kwargs).arguments}
    except (TypeError, ValueError):
        return kwargs


def _make_wrapper(patch: _Patch, target: PatchTarget) -> Callable[..., Any]:
    operation, kind = target.operation, target.kind

    if kind == SYNC:
        def sync_wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            return _call_sync(patch, operation, _named_arguments(wrapped, args, kwargs), wrapped, args, kwargs)

        return sync_wrapper

    if kind == ASYNC:
        def async_wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            sinks = patch.sinks
            if not sinks or _SUPPRESSED.get():
                return wrapped(*args, **kwargs)  # the client's own coroutine, untouched
            return _call_async(patch, sinks, operation, _named_arguments(wrapped, args, kwargs),
                               lambda: wrapped(*args, **kwargs))

        return async_wrapper

    is_async = kind == ASYNC_STREAM_MANAGER

    def manager_wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        manager = wrapped(*args, **kwargs)
        sinks = patch.sinks
        if sinks and not _SUPPRESSED.get():
            try:
                _hook_stream_manager(patch, operation, manager, kwargs, is_async)
            except Exception as exc:  # noqa: BLE001
                _degraded(sinks, exc)
        return manager

    return manager_wrapper


# ---------------------------------------------------------------- applying and removing patches


def _import(ref: str) -> Any:
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


class _Patch:
    """The patches of one provider (a ``PatchSet``): applied with the first autolog, removed
    with the last."""

    def __init__(self, provider: Provider) -> None:
        self.provider = provider
        self.sinks: tuple[LLMAutolog, ...] = ()  # replaced, never mutated: wrappers read it unlocked
        self.resolver: Any = None
        self.sync_streams: tuple[type, ...] = ()
        self.async_streams: tuple[type, ...] = ()
        self.patches = PatchSet(provider.name)
        self._lock = threading.Lock()

    @property
    def applied(self) -> list[str]:
        return self.patches.labels

    def attach(self, sink: LLMAutolog) -> list[str]:
        """Start recording into ``sink``; returns the patched targets."""
        with self._lock:
            if not self.patches.active:
                self._apply()
            self.sinks = (*self.sinks, sink)
            return self.patches.labels

    def detach(self, sink: LLMAutolog) -> None:
        with self._lock:
            self.sinks = tuple(s for s in self.sinks if s is not sink)
            if not self.sinks:
                self.patches.restore()

    def _classes(self, refs: tuple[str, ...]) -> tuple[type, ...]:
        found = []
        for ref in refs:
            try:
                found.append(_import(ref))
            except (ImportError, AttributeError) as exc:
                log.debug("seetrain[%s]: stream class %s not found (%s)", self.provider.name, ref, exc)
        return tuple(found)

    def _apply(self) -> None:
        self.resolver = importlib.import_module(self.provider.resolver)
        self.sync_streams = self._classes(self.provider.sync_streams)
        self.async_streams = self._classes(self.provider.async_streams)
        # inherited=True: a client version may define the method on a base class only.
        self.patches.apply(Target(t.module, t.path, _make_wrapper(self, t), t.why, inherited=True)
                           for t in self.provider.targets)


_PATCHES: dict[str, _Patch] = {}
_PATCHES_LOCK = threading.Lock()


def _patch_for(provider: Provider) -> _Patch:
    with _PATCHES_LOCK:
        patch = _PATCHES.get(provider.name)
        if patch is None:
            patch = _PATCHES[provider.name] = _Patch(provider)
        return patch


# ---------------------------------------------------------------- the integration


LATENCY_SAMPLE = 10_000  # latencies kept for the percentiles


# Request params that carry content: left out of the record when log_content=False.
_CONTENT_PARAMS = frozenset({"prediction", "extra_body", "messages", "system", "prompt", "input"})


def _redacted(record: dict[str, Any]) -> dict[str, Any]:
    out = dict(record)
    out["input_messages"] = [{"role": m.get("role", "")} for m in record.get("input_messages") or ()]
    out["output_text"] = None
    out["tool_calls"] = [{"id": c.get("id"), "name": c.get("name")} for c in record.get("tool_calls") or ()]
    out["params"] = {k: v for k, v in (record.get("params") or {}).items() if k not in _CONTENT_PARAMS}
    return out


def _input_text(record: dict[str, Any]) -> str:
    return "\n\n".join(f"[{m.get('role', '')}] {m.get('content', '')}" for m in record.get("input_messages") or ())


def _output_text(record: dict[str, Any]) -> str:
    lines = [record.get("output_text") or ""]
    lines += [f"[tool_call: {c.get('name')}] {c.get('arguments', '')}" for c in record.get("tool_calls") or ()]
    return "\n".join(line for line in lines if line)


class LLMAutolog(Integration):
    """Records every call of an LLM client into a SeeTrain run; see ``docs/integrations/openai.md``.

    Created by ``integrations.main.enable_<client>_autolog(project=..., experiment_name=...,
    log_content=True, **seetrain_init_kwargs)``; patching starts in the constructor and
    :meth:`disable` (or ``finish``) undoes it and finishes the run this autolog created.

    Per call: an ``llm_call`` event (the resolver record plus ``latency_s``, ``ttft_s``,
    ``timestamp``, ``stream_end``, ``content_logged``), the input and output as ``seetrain.Text``
    (``llm/input``, ``llm/output``) and the running totals as scalars (``llm/calls``,
    ``llm/errors``, ``llm/prompt_tokens``, ``llm/completion_tokens``, ``llm/total_tokens``,
    ``llm/latency_s``, ``llm/latency_p50_s``, ``llm/latency_p90_s``, ``llm/latency_p99_s``,
    ``llm/ttft_s`` for streams), all at step = the call's index (0, 1, 2 ... in completion order).
    ``log_content=False`` keeps every message text, output and tool argument out of the run.
    """

    mode = "autolog"
    provider: ClassVar[Provider]

    def __init_subclass__(cls, provider: str | None = None, **kwargs: Any) -> None:
        """``class OpenAIAutolog(LLMAutolog, provider="openai")``: the adapter's name and its row
        of ``PROVIDERS``, so an adapter module holds its docs and nothing else."""
        super().__init_subclass__(**kwargs)
        if provider is not None:
            cls.name = provider
            cls.provider = PROVIDERS[provider]

    def __init__(self, project: str | None = None, experiment_name: str | None = None,
                 description: str | None = None, config: Any = None, tags: list[str] | None = None,
                 log_all_ranks: bool = False, run: Any = None, log_content: bool = True,
                 **init_kwargs: Any) -> None:
        self.log_content = bool(log_content)
        self._pending: set[_Call] = set()
        # Re-entrant: a dropped stream's __del__ may run (cyclic GC) while this thread records.
        self._record_lock = threading.RLock()
        self._calls = self._errors = 0
        self._tokens = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
        self._latencies = SortedReservoir(LATENCY_SAMPLE)  # a uniform sample once there are many
        self._patch: _Patch | None = None
        self._detached = False
        super().__init__(project=project, experiment_name=experiment_name, description=description,
                         config=config, tags=tags, log_all_ranks=log_all_ranks, run=run, **init_kwargs)
        if self.enabled:  # a disabled run (mode="disabled", rank != 0) leaves the client untouched
            self.guard(self._attach)

    def _attach(self) -> None:
        patch = _patch_for(self.provider)
        patched = patch.attach(self)
        self._patch = patch
        self.run.set_metadata(llm_autolog={"client": self.framework, "version": self.framework_version,
                                           "patched": patched, "log_content": self.log_content})
        self.run.add_tags(f"{self.framework}=={self.framework_version}")

    @property
    def active(self) -> bool:
        """True while calls are being recorded."""
        return self._patch is not None and not self._detached

    def disable(self) -> None:
        """Stop recording, restore the client methods exactly and finish the run if this autolog
        created it. Idempotent (same as :meth:`finish`)."""
        self.finish()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until what was recorded so far is on disk (readers see it)."""
        return bool(self.run.flush(timeout))

    def _teardown(self) -> None:
        # Streams still open are recorded as they stand before the run closes.
        for call in list(self._pending):
            call.ended(UNFINISHED)
        self._detached = True
        if self._patch is not None:
            self._patch.detach(self)

    # ---- recording ------------------------------------------------------------------------
    def _record(self, record: dict[str, Any]) -> None:
        if self._detached:
            return
        try:
            with self._record_lock:
                self._log_call(record)
        except Exception as exc:  # noqa: BLE001
            self._degraded(exc)

    def _log_call(self, record: dict[str, Any]) -> None:
        index = self._calls
        self._calls += 1
        if record.get("error") is not None:
            self._errors += 1
        for key in self._tokens:
            value = record.get(key)
            if isinstance(value, int):
                self._tokens[key] += value
        self._latencies.add(record["latency_s"])
        ordered = self._latencies.values
        latency = record["latency_s"]
        data: dict[str, Any] = {
            "llm/calls": self._calls, "llm/errors": self._errors,
            "llm/prompt_tokens": self._tokens["prompt_tokens"],
            "llm/completion_tokens": self._tokens["completion_tokens"],
            "llm/total_tokens": self._tokens["total_tokens"],
            "llm/latency_s": latency,
            "llm/latency_p50_s": _percentile(ordered, 0.5),
            "llm/latency_p90_s": _percentile(ordered, 0.9),
            "llm/latency_p99_s": _percentile(ordered, 0.99),
        }
        if record.get("ttft_s") is not None:
            data["llm/ttft_s"] = record["ttft_s"]
        if self.log_content:
            from seetrain import Text

            caption = f"{record.get('provider')} {record.get('model')} #{index}"
            data["llm/input"] = Text(_input_text(record), caption=caption)
            output = _output_text(record)
            if output:
                data["llm/output"] = Text(output, caption=caption)
            payload = {**record, "call_index": index, "content_logged": True}
        else:
            payload = {**_redacted(record), "call_index": index, "content_logged": False}
        self.run.log(data, step=index)
        self.run.log_event("llm_call", payload, step=index)
        self.stats["records_sent"] += 1

    # ---- introspection ----------------------------------------------------------------------
    def get_totals(self) -> dict[str, Any]:
        """The running totals (what the last ``llm/*`` scalars say)."""
        with self._record_lock:
            ordered = list(self._latencies.values)
            totals: dict[str, Any] = {"calls": self._calls, "errors": self._errors, **self._tokens}
        for name, q in (("latency_p50_s", 0.5), ("latency_p90_s", 0.9), ("latency_p99_s", 0.99)):
            totals[name] = _percentile(ordered, q) if ordered else None
        return totals

    def get_stats(self) -> dict[str, Any]:
        return {**super().get_stats(), "llm": self.get_totals(), "pending_streams": len(self._pending)}
