"""Answers for finished runs, kept until one of their runs changes.

A sweep workspace asks for the same 100-run charts on every visit; once every run in a request
has stopped (finished, failed, crashed), its points cannot change unless the run's row says so
(a resumed run is ``running`` again, and logs bump its summary counts). So an answer is cached
under the request and the runs' (status, summary count, last step) of the key, read from
``DataSource.runs`` (cheap: run rows are cached by the source). Requests with a running run are
never cached: their summaries may lag the points.
"""

from __future__ import annotations

import gzip
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

_SIZE = 256
# The server's gzip policy, for the middleware and for answers encoded here alike: answers under
# GZIP_MIN_SIZE bytes go out as they are; level 5, not Starlette's 9: a 100-run chart (520 KB of
# JSON) compresses in ~11 ms instead of ~35 ms for 0.6% more bytes.
GZIP_MIN_SIZE = 1024
GZIP_LEVEL = 5


class Encoded:
    """An answer encoded once: its JSON bytes, and their gzip made on the first request that
    accepts it. A cached 100-run chart is then sent without encoding 50,000 values again (FastAPI's
    encoder and the gzip middleware took ~40 ms of each such request)."""

    __slots__ = ("body", "_gzipped", "payload")

    def __init__(self, payload: Any) -> None:
        self.payload = payload
        self.body = orjson.dumps(payload, default=str)  # never a 500 over an odd config value
        self._gzipped: bytes | None = None

    def response(self, request: Request) -> Response:
        if len(self.body) >= GZIP_MIN_SIZE and "gzip" in request.headers.get("accept-encoding", ""):
            if self._gzipped is None:
                self._gzipped = gzip.compress(self.body, compresslevel=GZIP_LEVEL, mtime=0)
            return Response(self._gzipped, media_type="application/json",
                            headers={"Content-Encoding": "gzip", "Vary": "Accept-Encoding"})
        return Response(self.body, media_type="application/json", headers={"Vary": "Accept-Encoding"})


def run_signature(rows: list[dict[str, Any]], key: str) -> tuple | None:
    """What must not change for a cached answer about ``key`` of these runs; None when a run is
    running (then nothing is cached)."""
    sig = []
    for r in rows:
        if r.get("status") == "running":
            return None
        s = (r.get("summary") or {}).get(key) or {}
        sig.append((r["id"], r.get("status"), s.get("count"), s.get("step"), r.get("finished_at")))
    return tuple(sig)


class ResponseCache:
    """A small LRU of JSON-ready answers."""

    def __init__(self, size: int = _SIZE) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._data: OrderedDict[Hashable, Any] = OrderedDict()

    def encoded(self, payload: Any) -> Encoded:
        """``payload`` encoded, once per object (for answers another cache holds, such as the
        aggregator's bands: the same dict comes back while it is valid)."""
        hit = self.get_or_make(("encoded", id(payload)), lambda: Encoded(payload))
        return hit if hit.payload is payload else Encoded(payload)

    def get_or_make(self, key: Hashable | None, make: Callable[[], Any]) -> Any:
        """``make()``, cached under ``key`` (None: not cached)."""
        if key is None:
            return make()
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
        value = make()  # outside the lock: other requests go on meanwhile
        with self._lock:
            self._data[key] = value
            while len(self._data) > self.size:
                self._data.popitem(last=False)
        return value
