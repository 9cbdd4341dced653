"""Stream proxies of the LLM autologs: a client's stream handed back inside a proxy that yields
every chunk unchanged (``isinstance`` checks still pass, it is a ``wrapt.ObjectProxy``) and
reports how the stream ended exactly once to the call being recorded."""

from __future__ import annotations

from typing import Any, Protocol

import wrapt

# How a stream ended, as recorded in the llm_call event's ``stream_end``.
COMPLETED, CLOSED, ABANDONED, ERROR, UNFINISHED = "completed", "closed", "abandoned", "error", "unfinished"


class StreamCall(Protocol):
    """The recording side a proxy reports to (``integrations._autolog._Call``)."""

    def chunk(self, item: Any) -> None: ...

    def ended(self, how: str) -> None: ...

    def failed(self, exc: BaseException) -> None: ...



class StreamProxy(wrapt.ObjectProxy):
    """A sync stream that records its call once: at the end of iteration, on an error, or
    when it is dropped unread (garbage-collected). Chunks pass through unchanged."""

    def __init__(self, wrapped: Any, call: StreamCall) -> None:
        super().__init__(wrapped)
        self._self_call = call
        # The client streams are their own iterators; a plain iterable gets one made here.
        self._self_next = wrapped.__next__ if hasattr(wrapped, "__next__") else iter(wrapped).__next__

    def __iter__(self) -> Any:
        return self

    def __next__(self) -> Any:
        try:
            item = self._self_next()
        except StopIteration:
            self._self_call.ended(COMPLETED)
            raise
        except BaseException as exc:
            self._self_call.failed(exc)
            raise
        self._self_call.chunk(item)
        return item

    def __del__(self) -> None:
        call = getattr(self, "_self_call", None)
        if call is not None:
            call.ended(ABANDONED)


class ClosableStreamProxy(StreamProxy):
    """A sync stream with ``close()`` and ``with`` support (OpenAI, Anthropic)."""

    def close(self) -> Any:
        try:
            return self.__wrapped__.close()
        finally:
            self._self_call.ended(CLOSED)

    def __enter__(self) -> Any:
        self.__wrapped__.__enter__()
        return self  # iteration inside the block must go through the proxy

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> Any:
        try:
            return self.__wrapped__.__exit__(exc_type, exc, tb)
        finally:
            self._self_call.ended(CLOSED)


class AsyncStreamProxy(wrapt.ObjectProxy):
    """The asyncio form of :class:`ClosableStreamProxy`."""

    def __init__(self, wrapped: Any, call: StreamCall) -> None:
        super().__init__(wrapped)
        self._self_call = call
        self._self_anext = wrapped.__anext__ if hasattr(wrapped, "__anext__") else wrapped.__aiter__().__anext__

    def __aiter__(self) -> Any:
        return self

    async def __anext__(self) -> Any:
        try:
            item = await self._self_anext()
        except StopAsyncIteration:
            self._self_call.ended(COMPLETED)
            raise
        except BaseException as exc:
            self._self_call.failed(exc)
            raise
        self._self_call.chunk(item)
        return item

    async def close(self) -> Any:
        try:
            return await self.__wrapped__.close()
        finally:
            self._self_call.ended(CLOSED)

    async def __aenter__(self) -> Any:
        await self.__wrapped__.__aenter__()
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> Any:
        try:
            return await self.__wrapped__.__aexit__(exc_type, exc, tb)
        finally:
            self._self_call.ended(CLOSED)

    def __del__(self) -> None:
        call = getattr(self, "_self_call", None)
        if call is not None:
            call.ended(ABANDONED)
