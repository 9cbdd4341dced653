"""The background writer: drains the in-memory queue into the local store in batches.

The queue is a ``collections.deque`` (append is atomic under the GIL and costs ~50 ns, several
times cheaper than ``queue.Queue.put``). It is bounded by ``max_queue`` records: when full,
``put`` waits for the writer to drain it (back-pressure, counted in stats) instead of growing
memory without limit or dropping data.
"""

from __future__ import annotations

import logging
import math
import operator
import os
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from seetrain._media import Media
from seetrain._store import RunWriter, decode_scalar, dumps, encode_scalar

log = logging.getLogger("seetrain")

HEARTBEAT_INTERVAL = 1.0
_VALUE = operator.itemgetter(4)
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def media_dir_name(key: str) -> str:
    """A file-system-safe folder name for a media key (never escapes the run folder)."""
    name = _UNSAFE.sub("_", key).strip("._") or "media"
    return name[:120]


class Summary:
    """last/min/max/count per metric, kept in memory by the writer so readers get it for free."""

    __slots__ = ("data",)

    def __init__(self, data: dict[str, dict[str, Any]] | None = None) -> None:
        self.data: dict[str, dict[str, Any]] = data or {}

    def add(self, key: str, step: int, value: float) -> None:
        entry = self.data.get(key)
        if entry is None:
            entry = self.data[key] = {"last": value, "min": None, "max": None, "count": 0,
                                      "step": step, "nonfinite": 0}
        entry["last"] = value
        entry["step"] = step
        entry["count"] += 1
        if value - value != 0:  # NaN or inf: flagged, kept out of min/max
            entry["nonfinite"] += 1
            return
        if entry["min"] is None or value < entry["min"]:
            entry["min"] = value
        if entry["max"] is None or value > entry["max"]:
            entry["max"] = value

    def add_rows(self, key: str, rows: list[tuple]) -> None:
        """Same as :meth:`add` for each of one key's ``(seq, key_id, step, ts, value, special)``
        rows (in order), at the cost of a few builtin calls instead of one method call a point."""
        entry = self.data.get(key)
        if entry is None:
            entry = self.data[key] = {"last": None, "min": None, "max": None, "count": 0,
                                      "step": None, "nonfinite": 0}
        last = rows[-1]
        entry["last"] = decode_scalar(last[4], last[5])
        entry["step"] = last[2]
        entry["count"] += len(rows)
        vals = list(map(_VALUE, rows))
        try:
            lo, hi = min(vals), max(vals)
        except TypeError:  # NaN and inf are stored as None: counted, kept out of min/max
            entry["nonfinite"] += vals.count(None)
            vals = [v for v in vals if v is not None]
            if not vals:
                return
            lo, hi = min(vals), max(vals)
        if entry["min"] is None or lo < entry["min"]:
            entry["min"] = lo
        if entry["max"] is None or hi > entry["max"]:
            entry["max"] = hi

    def to_json(self) -> str:
        def clean(v: Any) -> Any:
            if isinstance(v, float) and v - v != 0:
                return str(v)
            return v
        return dumps({k: {f: clean(v) for f, v in e.items()} for k, e in self.data.items()})


class Writer:
    def __init__(self, run_dir: str, flush_interval: float, max_queue: int,
                 stats: dict[str, Any], on_media_warning: Callable[[str, str], None],
                 summary: Summary | None = None,
                 stats_snapshot: Callable[[], dict[str, Any]] | None = None) -> None:
        self.store = RunWriter(run_dir)
        self.flush_interval = flush_interval
        self.max_queue = max_queue
        self.queue: deque[tuple] = deque()
        self.stats = stats
        self.summary = summary or Summary()
        self._stats_snapshot = stats_snapshot or (lambda: dict(stats))
        self._on_media_warning = on_media_warning
        self._run_fields: dict[str, Any] = {}
        self._fields_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = False
        self._media_counter = 0
        self._last_heartbeat = 0.0
        self._summary_dirty = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, name="seetrain-writer", daemon=True)
        self._thread.start()

    # ---- caller side (training thread) -------------------------------------------------
    def put(self, item: tuple) -> None:
        q = self.queue
        if len(q) >= self.max_queue:
            self._wait_for_room()
        q.append(item)

    def _wait_for_room(self) -> None:
        self.stats["backpressure_waits"] += 1
        self._wake.set()
        deadline = time.monotonic() + 60.0
        while len(self.queue) >= self.max_queue and self._thread.is_alive():
            if time.monotonic() > deadline:  # a dead disk must not hang training forever
                self.stats["backpressure_timeouts"] += 1
                return
            time.sleep(0.001)

    def set_run_fields(self, **fields: Any) -> None:
        with self._fields_lock:
            self._run_fields.update(fields)
        self._wake.set()

    def flush(self, timeout: float = 10.0) -> bool:
        """Block until everything queued before this call is on disk."""
        if not self._thread.is_alive():
            return not self.queue
        done = threading.Event()
        self.queue.append(("sync", done))
        self._wake.set()
        return done.wait(timeout)

    def close(self, final_fields: dict[str, Any], timeout: float = 60.0) -> None:
        self.set_run_fields(**final_fields)
        self._stop = True
        self._wake.set()
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("seetrain: writer did not finish within %.0fs; data may be incomplete", timeout)
            return
        self.store.close()

    # ---- writer thread -------------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            stopping = self._stop
            try:
                self._flush_once()
            except Exception as exc:  # noqa: BLE001 - never kill the process from here
                self.stats["write_errors"] += 1
                self._error = exc
                log.exception("seetrain: writing to the local store failed")
                time.sleep(self.flush_interval)
            if stopping and not self.queue:
                return

    def _flush_once(self) -> None:
        q = self.queue
        scalars: list[tuple] = []
        media: list[tuple] = []
        console: list[tuple] = []
        syncs: list[threading.Event] = []
        store = self.store
        key_id = store.key_id
        # Points are numbered here (seq is the rowid; this thread is the store's only writer)
        # and grouped by key on the way, for the summary and the level-of-detail blocks.
        seq = store.next_seq
        groups: dict[str, tuple[int, list[tuple]]] = {}
        n = len(q)
        for _ in range(n):
            item = q.popleft()
            tag = item[0]
            if tag == "s":
                _, step, ts, pairs = item
                for key, value in pairs:
                    slot = groups.get(key)
                    if slot is None:
                        slot = groups[key] = (key_id(key), [])
                    try:
                        value = float(value)
                    except OverflowError:  # an int beyond float range
                        value = math.inf if value > 0 else -math.inf
                    if value - value == 0.0:  # finite: the common case, no encoding needed
                        row = (seq, slot[0], step, ts, value, None)
                    else:
                        row = (seq, slot[0], step, ts, *encode_scalar(value))
                    scalars.append(row)
                    slot[1].append(row)
                    seq += 1
            elif tag == "m":
                self._encode_media(item, media)
            elif tag == "c":
                console.append(item[1:])
            elif tag == "sync":
                syncs.append(item[1])
        by_key: dict[int, list[tuple]] = {}
        add_rows = self.summary.add_rows
        for key, (kid, rows) in groups.items():
            add_rows(key, rows)
            by_key[kid] = rows
        if scalars or media:
            self._summary_dirty = True
            self.stats["points_written"] += len(scalars)
            self.stats["media_written"] += len(media)
        fields = self._take_run_fields()
        now = time.time()
        if now - self._last_heartbeat >= HEARTBEAT_INTERVAL or fields or self._stop:
            fields["heartbeat_at"] = now
            self._last_heartbeat = now
            if self._summary_dirty:
                fields["summary"] = self.summary.to_json()
                self._summary_dirty = False
            fields["stats"] = dumps(self._stats_snapshot())
        if scalars or media or console or fields:
            store.write_batch(scalars, media, console, fields, by_key=by_key)
        for ev in syncs:
            ev.set()

    def _take_run_fields(self) -> dict[str, Any]:
        with self._fields_lock:
            fields, self._run_fields = self._run_fields, {}
        return fields

    def _encode_media(self, item: tuple, out: list[tuple]) -> None:
        _, step, ts, key, obj = item
        obj: Media
        self._media_counter += 1
        sub = media_dir_name(key)
        directory = os.path.join(self.store.media_dir, sub)
        try:
            os.makedirs(directory, exist_ok=True)
            name, payload = obj.encode(directory, f"{step}-{self._media_counter}")
        except Exception as exc:  # noqa: BLE001
            self._on_media_warning(key, f"could not encode {obj.kind} for {key!r}: {exc}")
            return
        if obj.warning:
            self._on_media_warning(key, obj.warning)
        rel = None if name is None else f"media/{sub}/{name}"
        out.append((key, step, ts, obj.kind, rel, obj.caption, dumps(payload)))
