"""Answers for finished runs, kept until one of their runs changes.

A sweep workspace asks for the same 100-run charts on every visit; once every run in a request
has stopped (finished, failed, crashed), its points cannot change unless the run's row says so
(a resumed run is ``running`` again, and logs bump its summary counts). So an answer is cached
under the request and the runs' (status, summary count, last step) of the key, read from
``DataSource.runs`` (cheap: run rows are cached by the source). Requests with a running run are
never cached: their summaries may lag the points.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

_SIZE = 256


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
