"""An in-memory transport that behaves like the server: idempotent by batch id and by record
seq, and switchable to "down" so the replicator's retry path can be exercised without HTTP."""

from __future__ import annotations

import math
import threading
from collections import Counter
from typing import Any

from seetrain.sync.transport.base import Batch, RejectedError, SendResult, TemporaryError, Transport


class MemoryTransport(Transport):
    def __init__(self) -> None:
        self.batches: dict[str, Batch] = {}
        self.records: dict[tuple[str, str, str], dict[int, dict[str, Any]]] = {}
        self.runs: dict[tuple[str, str], dict[str, Any]] = {}
        self.files: dict[tuple[str, str, str], bytes] = {}
        self.down = False
        self.reject: dict[int, int] = {}  # seq -> HTTP status to answer for a batch holding it
        self.counts: Counter[str] = Counter()
        self.closed = False
        self._lock = threading.Lock()

    def send(self, batch: Batch) -> SendResult:
        with self._lock:
            self.counts["calls"] += 1
            if self.down:
                self.counts["failures"] += 1
                raise TemporaryError("memory transport is down", status=503)
            points = points_of(batch)
            for rec in (*batch.scalars, *points, *batch.media, *batch.console):
                status = self.reject.get(rec["seq"])
                if status is not None:
                    raise RejectedError(f"record {rec['seq']} rejected", status=status, reason=f"HTTP {status}")
            key = (batch.project, batch.run_id)
            if batch.run is not None:
                old = self.runs.get(key)
                if old is None or old["snapshot_at"] <= batch.run["snapshot_at"]:
                    self.runs[key] = dict(batch.run)
            for rel, path in batch.files:
                with open(path, "rb") as fh:
                    self.files[key + (rel,)] = fh.read()
            n = batch.record_count()
            if n and batch.batch_id in self.batches:
                return SendResult("duplicate", n)
            for table in ("scalars", "media", "console"):
                store = self.records.setdefault((*key, table), {})
                for rec in (*getattr(batch, table), *(points if table == "scalars" else ())):
                    store.setdefault(rec["seq"], rec)
            if n:
                self.batches[batch.batch_id] = batch
            self.counts["stored_batches"] += bool(n)
            return SendResult("stored", n)

    def close(self) -> None:
        self.closed = True

    def stats(self) -> dict[str, Any]:
        return dict(self.counts)


def points_of(batch: Batch) -> list[dict[str, Any]]:
    """The packed metric chunks of a batch as JSON-like records (seq, key, step, ts, value)."""
    if not batch.chunks:
        return []
    from seetrain.storage import chunks as _chunks

    out = []
    for chunk in batch.chunks:
        cols = _chunks.unpack(_chunks.from_wire(chunk["data"]))
        for q, st, t, v in zip(cols.seq.tolist(), cols.step.tolist(), cols.ts.tolist(), cols.value.tolist()):
            special = None if math.isfinite(v) else ("nan" if v != v else ("inf" if v > 0 else "-inf"))
            out.append({"seq": q, "key": chunk["key"], "step": st, "ts": t, "value": None if special else v,
                        "special": special})
    return out
