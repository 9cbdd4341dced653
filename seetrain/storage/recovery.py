"""Recovery of a run whose process is gone: replay its journal tail, reconcile its summary.

A run's process holds ``writer.lock`` (``flock``) from ``init`` to ``finish``. Whoever can take
the lock knows the writer is gone, so ``Api``, ``seetrain ui``, ``seetrain status``, ``seetrain
sync`` and ``init(resume=...)`` may then move the records its journal holds beyond the position
saved in the store into the store (the same decoding as the writer thread, one transaction with
the new position, so a second recovery finds nothing left: idempotent), rebuild the summary from
the stored points, and mark a run still saying ``running`` as ``crashed`` at the time of its last
record. A second process that wants to *write* a run whose lock is held gets
:class:`~seetrain._errors.RunInUseError` at ``init``.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

log = logging.getLogger("seetrain")

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no locking, no recovery by readers
    fcntl = None  # type: ignore[assignment]


def acquire_lock(run_dir: str) -> int | None:
    """The lock of ``run_dir`` as an open descriptor, or None when another process holds it
    (or it cannot be had here: a read-only folder, no ``fcntl``)."""
    from seetrain.storage.store import LOCK_NAME

    if fcntl is None:
        return None
    try:
        fd = os.open(os.path.join(run_dir, LOCK_NAME), os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
    except OSError:
        pass
    return fd


def lock_holder(run_dir: str) -> int | None:
    """The pid written into the lock file by its holder (informational)."""
    from seetrain.storage.store import LOCK_NAME

    try:
        with open(os.path.join(run_dir, LOCK_NAME)) as fh:
            return int(fh.read().strip() or 0) or None
    except (OSError, ValueError):
        return None


def release_lock(fd: int | None) -> None:
    if fd is None:
        return
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def needs_recovery(run_dir: str, status: str | None) -> bool:
    """Cheap check (one stat): a journal folder left behind, or a run still saying running."""
    from seetrain.storage.journal import JOURNAL_DIR

    return status == "running" or os.path.isdir(os.path.join(run_dir, JOURNAL_DIR))


def recover(run_dir: str, locked: bool = False) -> dict[str, Any] | None:
    """Recover ``run_dir`` if its writer is gone. Returns what was done, or None when the run
    is being written (or the folder is read-only). ``locked``: the caller holds the lock."""
    if not os.access(run_dir, os.W_OK):
        return None
    fd = None if locked else acquire_lock(run_dir)
    if fd is None and not locked:
        return None
    try:
        return _recover_locked(run_dir)
    except Exception as exc:  # noqa: BLE001 - a reader must still be able to show the run
        log.warning("seetrain: could not recover %s: %s", run_dir, exc)
        return None
    finally:
        release_lock(fd)


def _recover_locked(run_dir: str) -> dict[str, Any]:
    from seetrain.storage.journal import (
        HEADER_SIZE,
        JOURNAL_DIR,
        Schema,
        Segment,
        list_segments,
        read_segment_file,
        walk,
    )
    from seetrain.storage.store import RunStore, chunk_of, key_names, load_columns
    from seetrain.storage.writer import Summary, read_journal

    jdir = os.path.join(run_dir, JOURNAL_DIR)
    store = RunStore(run_dir)
    try:
        number, offset = store.journal_pos
        segments = []
        stale = []
        for num, path in list_segments(jdir):
            if num < number:
                stale.append(path)
                continue
            loaded = read_segment_file(path)
            if loaded is None:
                stale.append(path)
                continue
            _, data = loaded
            seg = Segment(num, data, path)
            valid = HEADER_SIZE
            for rec in walk(data, HEADER_SIZE, len(data), {}):
                valid = rec.end
            seg.end, seg.sealed = valid, True
            segments.append(seg)
        replayed = 0
        if segments:
            first = segments[0]
            pos = (number, offset) if first.number == number else (first.number, HEADER_SIZE)
            schemas: dict[int, Schema] = {}
            if first.number == number:
                for _ in walk(first.buf, HEADER_SIZE, offset, schemas):
                    pass
            warnings: list[str] = []
            batch = read_journal(segments, pos, schemas, store.next_seq, run_dir,
                                 lambda key, msg: warnings.append(msg))
            chunks = batch.chunks()
            end = (segments[-1].number + 1, HEADER_SIZE)
            store.write(chunks, batch.media, batch.console, batch.fields, end, store.next_seq + batch.points)
            replayed = batch.points
            stale.extend(s.path for s in segments if s.path is not None)
        row = store.run_row() or {}
        summary = Summary()
        last_ts = 0.0
        for key in key_names(store.conn):
            cols = load_columns(store.conn, key)
            if cols is not None and len(cols):
                summary.add(chunk_of(key, cols, packed=False))
                last_ts = max(last_ts, float(cols.ts.max()))
        fields: dict[str, Any] = {"summary": summary.to_json()}
        if row.get("status") == "running":
            end_ts = max(x for x in (last_ts, row.get("heartbeat_at") or 0.0, row.get("created_at") or 0.0))
            fields.update(status="crashed", finished_at=end_ts, heartbeat_at=end_ts)
        stats = _loads(row.get("stats"))
        if replayed:
            stats["points_recovered"] = stats.get("points_recovered", 0) + replayed
            stats["points_written"] = stats.get("points_written", 0) + replayed
        fields["stats"] = _dumps(stats)
        store.update_run(**fields)
        while store.merge_small_chunks():
            pass
    finally:
        store.close()
    for path in stale:
        try:
            os.unlink(path)
        except OSError:
            pass
    try:
        os.rmdir(jdir)
    except OSError:
        pass
    return {"points_replayed": replayed, "at": time.time()}


def _loads(text: Any) -> dict[str, Any]:
    from seetrain.storage.store import loads

    try:
        value = loads(text)
    except Exception:  # noqa: BLE001
        return {}
    return value if isinstance(value, dict) else {}


def _dumps(value: Any) -> str:
    from seetrain.storage.store import dumps

    return dumps(value)
