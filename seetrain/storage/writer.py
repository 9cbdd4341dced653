"""The background writer: moves journal records into the local store.

Every flush interval the writer thread reads the records appended to the journal since the
position it last stored, turns them into one chunk per key (numpy, no per-point Python), media
rows, console lines and run fields, and writes all of it plus the new journal position in one
SQLite transaction. If that transaction fails (disk full, I/O error, a read-only folder) nothing
is lost: the records stay in the journal, the run's stats say how many points are pending, one
message says what failed and where, and the writer tries again with back-off.

Derived data comes after the points are safe and cannot cost one: the summary (last/min/max/
count per key), the heartbeat, and merging small chunks. A failure there is logged and retried.
"""

from __future__ import annotations

import logging
import os
import pickle
import re
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson

from seetrain._exit import background_thread
from seetrain._jsonsafe import json_safe, revive
from seetrain.storage.journal import CONSOLE, FIELDS, HEADER_SIZE, PICKLED, SCALARS, Journal, Schema, walk
from seetrain.storage.store import Chunk, RunStore, chunk_of, chunks_of_group, dumps

if TYPE_CHECKING:
    from seetrain.storage.chunks import Columns

log = logging.getLogger("seetrain")

HEARTBEAT_INTERVAL = 1.0
MAX_BACKOFF = 5.0
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def media_dir_name(key: str) -> str:
    """A file-system-safe folder name for a media key (never escapes the run folder)."""
    name = _UNSAFE.sub("_", key).strip("._") or "media"
    return name[:120]


class Summary:
    """last/min/max/count/non-finite count per metric, kept by the writer from the chunks it stores."""

    __slots__ = ("data",)

    def __init__(self, data: dict[str, dict[str, Any]] | None = None) -> None:
        self.data: dict[str, dict[str, Any]] = data or {}

    def add(self, chunk: Chunk) -> None:
        """Fold in one chunk's aggregates (computed when it was packed)."""
        entry = self.data.get(chunk.key)
        if entry is None:
            entry = self.data[chunk.key] = {"last": None, "min": None, "max": None, "count": 0, "step": None,
                                            "nonfinite": 0}
        entry["last"] = chunk.last
        entry["step"] = chunk.last_step
        entry["count"] += chunk.n
        entry["nonfinite"] += chunk.nonfinite
        if chunk.v_min is not None and (entry["min"] is None or chunk.v_min < entry["min"]):
            entry["min"] = chunk.v_min
        if chunk.v_max is not None and (entry["max"] is None or chunk.v_max > entry["max"]):
            entry["max"] = chunk.v_max

    def to_json(self) -> str:
        return dumps(json_safe(self.data))

    @classmethod
    def from_json(cls, text: str | None) -> Summary:
        raw = orjson.loads(text) if text else {}
        return cls({k: {f: revive(v) if f in ("last", "min", "max") else v for f, v in e.items()}
                    for k, e in raw.items()})


class Batch:
    """What one pass over the journal found, ready for one store transaction."""

    __slots__ = ("scalars", "media", "console", "fields", "points", "end", "bad")

    def __init__(self) -> None:
        # Per key tuple: its schema, record bytes, and (first seq, record count) of each run.
        self.scalars: dict[tuple[str, ...], tuple[Schema, list[bytes], list[tuple[int, int]]]] = {}
        self.media: list[tuple[Any, ...]] = []
        self.console: list[tuple[Any, ...]] = []
        self.fields: dict[str, Any] = {}
        self.points = 0
        self.end: tuple[int, int] | None = None
        self.bad = 0

    def chunks(self) -> list[Chunk]:
        """One chunk per key, in seq order (the numbers were given while reading). Keys logged
        together under one schema are packed across keys at once; a key found under several
        schemas in this batch is merged on its own."""
        import numpy as np

        from seetrain.storage.chunks import Columns

        groups = []
        seen: dict[str, int] = {}
        for sch, records, bases in self.scalars.values():
            k = len(sch.keys)
            dtype = np.dtype([("len", "<u4"), ("kind", "u1"), ("sid", "<u4"), ("step", "<i8"), ("ts", "<f8"),
                              ("v", "<f8", (k,)), ("tr", "u1")])
            arr = np.frombuffer(b"".join(records), dtype=dtype)
            base = np.concatenate([first + k * np.arange(count, dtype=np.int64) for first, count in bases])
            groups.append((sch.keys, base, arr))
            for key in sch.keys:
                seen[key] = seen.get(key, 0) + 1
        out: list[Chunk] = []
        split: dict[str, list[Columns]] = {}
        for keys, base, arr in groups:
            steps, ts, vals = arr["step"], arr["ts"], arr["v"]
            alone = [j for j, key in enumerate(keys) if seen[key] == 1]
            if len(alone) == len(keys):
                seq = base[:, None] + np.arange(len(keys), dtype=np.int64)
                out.extend(chunks_of_group(keys, seq, steps, ts, vals))
                continue
            for j, key in enumerate(keys):
                if seen[key] == 1:
                    out.append(chunk_of(key, Columns(base + j, steps, ts, np.ascontiguousarray(vals[:, j]))))
                else:
                    split.setdefault(key, []).append(Columns(base + j, steps, ts, vals[:, j]))
        for key, pieces in split.items():
            cols = Columns.concat(pieces)
            out.append(chunk_of(key, cols.take(np.argsort(cols.seq, kind="stable"))))
        return out


def read_journal(segments: list[Any], pos: tuple[int, int], schemas: dict[int, Schema], first_seq: int,
                 run_dir: str, on_media_warning: Callable[[str, str], None]) -> Batch:
    """Decode the complete records of ``segments`` (in order) from ``pos`` on into a batch whose
    points are numbered from ``first_seq``. A segment is left for the next one only when it is
    sealed and read to its end; ``batch.end`` is where the next read starts."""
    batch = Batch()
    seq = first_seq
    number, offset = pos
    end = pos
    for seg in segments:
        if seg.number < number:
            continue
        start = offset if seg.number == number else HEADER_SIZE
        sealed, stop = seg.sealed, seg.end
        last = start
        for rec in walk(seg.buf, start, stop, schemas):
            last = rec.end
            kind = rec.kind
            if kind == SCALARS:
                sch = rec.schema
                assert sch is not None  # walk() gives every SCALARS record its schema
                # By key tuple: each segment declares its schemas anew, and a recovered
                # journal may hold several processes' ids.
                slot = batch.scalars.get(sch.keys)
                if slot is None:
                    slot = batch.scalars[sch.keys] = (sch, [], [])
                slot[1].append(bytes(seg.buf[rec.offset:rec.end]))
                slot[2].append((seq, rec.count))
                seq += len(sch.keys) * rec.count
            elif kind == PICKLED:
                _decode_media(rec.payload, seg.number, rec.offset, batch, run_dir, on_media_warning)
            elif kind == CONSOLE:
                ts, stream, line = orjson.loads(bytes(rec.payload))
                batch.console.append((ts, stream, line))
            elif kind == FIELDS:
                batch.fields.update(orjson.loads(bytes(rec.payload)))
        done = sealed and last >= stop
        end = (seg.number + 1, HEADER_SIZE) if done else (seg.number, last)
        if not done:
            break
    batch.points = seq - first_seq
    batch.end = end
    return batch


def _decode_media(payload: Any, number: int, offset: int, batch: Batch, run_dir: str,
                  on_media_warning: Callable[[str, str], None]) -> None:
    try:
        step, ts, key, obj = pickle.loads(payload)
    except Exception as exc:  # noqa: BLE001 - one unreadable record costs itself only
        batch.bad += 1
        on_media_warning("", f"a media record could not be read back: {exc}")
        return
    sub = media_dir_name(key)
    directory = os.path.join(run_dir, "media", sub)
    try:
        os.makedirs(directory, exist_ok=True)
        name, body = obj.encode(directory, f"{step}-{number}-{offset}")
    except OSError:
        raise  # the disk: retried with the whole batch
    except Exception as exc:  # noqa: BLE001
        batch.bad += 1
        on_media_warning(key, f"could not encode {obj.kind} for {key!r}: {exc}")
        return
    if obj.warning:
        on_media_warning(key, obj.warning)
    rel = None if name is None else f"media/{sub}/{name}"
    batch.media.append((key, step, ts, obj.kind, rel, obj.caption, dumps(body)))


class Writer:
    """The writer thread of one run and its view of the journal."""

    def __init__(self, run_dir: str, journal: Journal, flush_interval: float, stats: Any,
                 on_media_warning: Callable[[str, str], None], summary: Summary | None = None,
                 stats_snapshot: Callable[[], dict[str, Any]] | None = None,
                 create_row: dict[str, Any] | None = None) -> None:
        self.run_dir = run_dir
        self.journal = journal
        self.flush_interval = flush_interval
        self.stats = stats
        self.summary = summary or Summary()
        self._stats_snapshot = stats_snapshot or (lambda: dict(stats))
        self._on_media_warning = on_media_warning
        self._create_row = create_row
        self._schemas: dict[int, Schema] = {}
        self.pos = (journal.seg.number, HEADER_SIZE)
        self.store: RunStore | None = None
        self.error: str | None = None
        self._failures = 0
        self._wake = threading.Event()
        self._stop = False
        self._last_heartbeat = 0.0
        self._summary_dirty = False
        self._lock = threading.Lock()
        self._synced = threading.Condition()
        self._flushes = 0
        self._media_n = 0
        self.stats["points_written"] += 0
        self.stats["write_state"] = "ok"
        self._open_store()
        self._thread = background_thread(self._loop, "seetrain-writer")
        self._thread.start()

    # ---- caller side --------------------------------------------------------------------------
    def wake(self) -> None:
        self._wake.set()

    def pending_bytes(self) -> int:
        return self.journal.pending_bytes(*self.pos)

    def flush(self, timeout: float = 10.0) -> bool:
        """Block until everything appended before this call is in the store (False on timeout)."""
        target = (self.journal.seg.number, self.journal.seg.end)
        deadline = time.monotonic() + timeout
        self._flush_requested = True
        with self._synced:
            while (self.pos < target or self._flush_requested) and self._thread.is_alive():
                self._wake.set()
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._synced.wait(min(left, 0.05))
        return self.pos >= target

    def close(self, timeout: float = 30.0) -> bool:
        """Write everything, then stop. True when the journal was emptied into the store."""
        self._stop = True
        self._wake.set()
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._give_up = True
            self._wake.set()
            self._thread.join(5.0)
        return self._finish()

    # ---- the thread -------------------------------------------------------------------------
    _give_up = False
    _final_counts: tuple[int, int] | None = None
    _flush_requested = False

    def _loop(self) -> None:
        while True:
            if not (self._stop and not self._failures):
                self._wake.wait(self.flush_interval if not self._failures else
                                min(MAX_BACKOFF, self.flush_interval * 2 ** self._failures))
                self._wake.clear()
            stopping = self._stop
            ok = self._flush_safely()
            if self._give_up or (stopping and ok and self.pending_bytes() == 0):
                return

    def _flush_safely(self) -> bool:
        try:
            self._open_store()
            if self.store is None:
                return False
            self._flush_once()
        except Exception as exc:  # noqa: BLE001 - the writer must survive any failure
            self._failed(exc)
            return False
        if self._failures:
            log.warning("seetrain: the local store at %s is writable again; pending records written", self.run_dir)
            self._failures = 0
            self.error = None
            self.stats["write_state"] = "ok"
        force, self._flush_requested = self._flush_requested, False
        self._derive(final=False, force=force)
        with self._synced:
            self._synced.notify_all()
        return True

    def _open_store(self) -> None:
        if self.store is not None:
            return
        try:
            store = RunStore(self.run_dir)
            if self._create_row is not None:
                store.create_run(self._create_row)
        except Exception as exc:  # noqa: BLE001
            self._failed(exc)
            return
        self.store = store
        self._create_row = None

    def _failed(self, exc: BaseException) -> None:
        self._failures += 1
        self.stats["write_errors"] += 1
        message = f"{type(exc).__name__}: {exc}"
        self.stats["write_state"] = "pending"
        self.stats["last_write_error"] = message
        if message != self.error:
            self.error = message
            where = "in memory" if self.journal.fallback_reason else "in the journal on disk"
            log.warning("seetrain: cannot write to the local store at %s (%s); %d points are pending %s "
                        "and will be retried", self.run_dir, message, self.pending_points(), where)

    def pending_points(self) -> int:
        """Scalar points in the journal that are not in the store yet (any thread)."""
        return self.counts()[1]

    def counts(self) -> tuple[int, int]:
        """``(points written, points pending)``, consistent with each other: the journal after
        the stored position is walked (records only; schemas it declares are read on the way)."""
        if self._final_counts is not None:
            return self._final_counts
        with self._lock:
            written = int(self.stats["points_written"])
            number, offset = self.pos
            schemas = dict(self._schemas)
            pending = 0
            with self.journal.lock:
                for seg in self.journal.segments:
                    if seg.number < number:
                        continue
                    start = offset if seg.number == number else HEADER_SIZE
                    for rec in walk(seg.buf, start, seg.end, schemas):
                        if rec.kind == SCALARS:
                            assert rec.schema is not None  # walk() gives every SCALARS record its schema
                            pending += len(rec.schema.keys) * rec.count
        return written, pending

    def read_batch(self) -> Batch:
        """Decode every complete record after ``self.pos`` (without consuming it)."""
        number = self.pos[0]
        segments = [s for s in list(self.journal.segments) if s.number >= number]
        first = self.store.next_seq if self.store is not None else 1
        return read_journal(segments, self.pos, self._schemas, first, self.run_dir, self._on_media_warning)

    def _flush_once(self) -> None:
        store = self.store
        assert store is not None
        batch = self.read_batch()
        if batch.end == self.pos and not batch.fields:
            return
        chunks = batch.chunks()
        store.write(chunks, batch.media, batch.console, batch.fields, batch.end,
                    store.next_seq + batch.points)
        assert batch.end is not None  # read_journal always sets it
        with self._lock:
            self.pos = batch.end
            self.stats["points_written"] += batch.points
        self.stats["media_written"] += len(batch.media)
        self.stats["console_written"] += len(batch.console)
        if batch.bad:
            self.stats["records_unreadable"] += batch.bad
        self.journal.release(self.pos[0])
        try:
            add = self.summary.add
            for chunk in chunks:
                add(chunk)
            if chunks:
                self._summary_dirty = True
        except Exception:  # noqa: BLE001 - derived: rebuilt from the chunks on recovery
            self.stats["summary_errors"] += 1
            log.warning("seetrain: could not update the summary of %s", self.run_dir, exc_info=True)

    def _derive(self, final: bool = False, force: bool = False) -> None:
        """Heartbeat, summary and stats in the run row; merging small chunks. Never raises."""
        store = self.store
        if store is None:
            return
        now = time.time()
        if final or force or now - self._last_heartbeat >= HEARTBEAT_INTERVAL:
            fields: dict[str, Any] = {"heartbeat_at": now}
            if self._summary_dirty or final:
                fields["summary"] = self.summary.to_json()
            fields["stats"] = dumps(self._stats_snapshot())
            try:
                store.update_run(**fields)
                self._last_heartbeat = now
                self._summary_dirty = False
            except Exception as exc:  # noqa: BLE001
                self.stats["derived_errors"] += 1
                log.debug("seetrain: heartbeat not written: %s", exc)
        try:
            while store.merge_small_chunks() and final:
                pass
        except Exception as exc:  # noqa: BLE001
            self.stats["derived_errors"] += 1
            log.debug("seetrain: chunk merge postponed: %s", exc)

    def _finish(self) -> bool:
        emptied = self.store is not None and self.pending_bytes() == 0
        self._final_counts = self.counts()
        if emptied:
            self._derive(final=True)
        self.journal.close(remove=emptied)
        if emptied:
            try:
                os.rmdir(self.journal.directory)
            except OSError:
                pass
        if self.store is not None:
            try:
                self.store.close()
            except sqlite3.Error:
                pass
        return emptied
