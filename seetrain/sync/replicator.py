"""The replicator: copies a run's local store to a tracking server (outbox pattern).

The local store stays the source of truth. A daemon thread opens its own connection to the
run's SQLite file (WAL lets it read while the writer thread writes), reads rows after the
cursor kept in the ``replication`` table, in seq order, and sends them in batches whose ids
come from (project, run id, table, seq range). The cursor moves only after the server has
acknowledged a batch, so a crash, a dead server or a SIGKILL at any point means "send again",
and the server stores a replay once. ``seetrain sync`` drives the same :class:`RunUploader`
from the command line.

Nothing here runs on the training thread: ``log()`` never waits for the network.
"""

from __future__ import annotations

import logging
import os
import shlex
import sqlite3
import sys
import threading
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

from seetrain import limits
from seetrain._exit import background_thread
from seetrain._jsonsafe import NONFINITE, float_text
from seetrain._settings import default, setting
from seetrain.storage.store import DB_NAME, connect, count_points, has_table, loads, read_points
from seetrain.sync.transport.base import (
    AuthError,
    Batch,
    RejectedError,
    ServerUnavailable,
    TemporaryError,
    Transport,
    TransportError,
)

if TYPE_CHECKING:
    from seetrain._run import Run

log = logging.getLogger("seetrain")

DEFAULT_UPLOAD_TIMEOUT = default("SEETRAIN_UPLOAD_TIMEOUT")
# A batch the server answers with 5xx this many times in a row stops the run's upload (the
# records stay local and the report says why) instead of being retried forever.
DEFAULT_MAX_BATCH_ATTEMPTS = default("SEETRAIN_UPLOAD_MAX_ATTEMPTS")
DEFAULT_BATCH_SIZE = default("SEETRAIN_UPLOAD_BATCH")
DEFAULT_POINTS_PER_BATCH = 10_000
MEDIA_BATCH_SIZE = 50
SNAPSHOT_INTERVAL = 2.0
TABLES = ("scalars", "media", "console")

# Fixed statements, one per table: no SQL is assembled from data.
_SELECT = {
    "media": "SELECT seq, key, step, ts, kind, path, caption, payload FROM media "
             "WHERE seq > ? ORDER BY seq LIMIT ?",
    "console": "SELECT seq, ts, stream, line FROM console WHERE seq > ? ORDER BY seq LIMIT ?",
}
_SELECT_V1_POINTS = ("SELECT s.seq, k.name, s.step, s.ts, s.value, s.special FROM scalars s "
                     "JOIN metric_keys k ON k.id = s.key_id WHERE s.seq > ? ORDER BY s.seq LIMIT ?")
_PENDING = {
    "media": "SELECT COUNT(*) FROM media WHERE seq > ?",
    "console": "SELECT COUNT(*) FROM console WHERE seq > ?",
}
_ADVANCE = {
    "scalars": "UPDATE replication SET scalars_seq = ? WHERE target = ? AND scalars_seq < ?",
    "media": "UPDATE replication SET media_seq = ? WHERE target = ? AND media_seq < ?",
    "console": "UPDATE replication SET console_seq = ? WHERE target = ? AND console_seq < ?",
}


class UploadStopped(TransportError):
    """The server refused a whole batch for good (4xx/409) or kept failing it: this run's
    upload stops, nothing more is sent, every unsent record stays in the local store."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def normalize_target(host: str) -> str:
    host = host.strip().rstrip("/")
    return host if "://" in host else "http://" + host


def pending_counts(run_dir: str, target: str) -> dict[str, int]:
    """Records of each table not yet acknowledged by ``target`` (fresh read-only connection)."""
    conn = connect(os.path.join(run_dir, DB_NAME), readonly=True)
    try:
        row = conn.execute("SELECT scalars_seq, media_seq, console_seq FROM replication WHERE target = ?",
                           (normalize_target(target),)).fetchone() or (0, 0, 0)
        return {t: _pending(conn, t, seq) for t, seq in zip(TABLES, row)}
    finally:
        conn.close()


def _pending(conn: sqlite3.Connection, table: str, after: int) -> int:
    if table == "scalars":
        return count_points(conn, after)
    return int(conn.execute(_PENDING[table], (after,)).fetchone()[0])


class RunUploader:
    """Sends what one run store holds beyond its cursor for ``target``. Not thread-safe:
    one uploader per thread (the replicator's, or ``seetrain sync``'s)."""

    def __init__(self, run_dir: str, transport: Transport, target: str,
                 batch_size: int = DEFAULT_BATCH_SIZE, *, upload_as: str | None = None,
                 max_batch_attempts: int = DEFAULT_MAX_BATCH_ATTEMPTS) -> None:
        self.run_dir = run_dir
        self.transport = transport
        self.target = normalize_target(target)
        self.batch_size = batch_size
        self.max_batch_attempts = max(1, max_batch_attempts)
        # Points per batch: packed chunks are cheap to send, so batches are larger than the
        # JSON record batches of media and console.
        self.points_per_batch = DEFAULT_POINTS_PER_BATCH if batch_size == DEFAULT_BATCH_SIZE else batch_size
        self.columnar = not setting("SEETRAIN_UPLOAD_JSON_POINTS")
        self.conn = connect(os.path.join(run_dir, DB_NAME))
        head = self.conn.execute("SELECT id, project, created_at, hostname, pid FROM run").fetchone()
        if head is None:
            raise ValueError(f"{run_dir} holds no run")
        self.run_id, self.project = head[0], head[1]
        self.local_id = self.run_id
        # The cursor row: one per server, and one per (server, new id) for `sync --as`, so an
        # upload under a new id starts from the first record whatever the old id got.
        self.cursor_key = self.target
        if upload_as is not None:
            limits.check_run_id(upload_as)
            self.run_id = upload_as
            self.cursor_key = f"{self.target}#as={upload_as}"
        self.store = store_identity(self.conn, head)
        self.conn.execute("INSERT OR IGNORE INTO replication (target) VALUES (?)", (self.cursor_key,))
        row = self.conn.execute("SELECT scalars_seq, media_seq, console_seq FROM replication WHERE target = ?",
                                (self.cursor_key,)).fetchone()
        self.cursor = dict(zip(TABLES, row))
        self.sent: Counter[str] = Counter()
        self.dropped: Counter[str] = Counter()
        # Why this run's upload stopped for good (None while it goes on).
        self.stopped: str | None = None
        self.attempts: Counter[str] = Counter()  # failed sends of the batch now at the head
        self.max_attempts_seen = 0
        self._snapshot_sent: tuple[Any, ...] | None = None
        self._snapshot_time = 0.0

    # ---- what is left ------------------------------------------------------------------------
    def pending(self) -> dict[str, int]:
        return {t: _pending(self.conn, t, self.cursor[t]) for t in TABLES}

    def snapshot_pending(self) -> bool:
        """True while the server lacks the run row: any change once the run has ended; only
        real changes (not heartbeat/summary churn) while another process still writes it."""
        sent = self._snapshot_sent
        if sent is None:
            return True
        row = self._read_run_row()
        if row[:-3] != sent[:-3]:
            return True
        return row != sent and row[4] != "running"

    # ---- sending -----------------------------------------------------------------------------
    def pump(self, force_snapshot: bool = False) -> int:
        """Send one batch per table (and the run row if it changed); return records sent.
        Raises :class:`UploadStopped` once the server has refused this run for good."""
        if self.stopped is not None:
            raise UploadStopped(self.stopped)
        sent = 0
        snapshot = self._snapshot_if_due(force_snapshot)
        for table in TABLES:
            if table == "scalars":
                points = self._read_points()
                if points is None:
                    continue
                sent += self._send_points(*points, snapshot)
                snapshot = None
                continue
            rows = self.conn.execute(_SELECT[table], (self.cursor[table],
                                                      MEDIA_BATCH_SIZE if table == "media" else self.batch_size)
                                     ).fetchall()
            if not rows:
                continue
            sent += self._send_rows(table, rows, snapshot)
            snapshot = None  # the run row rides along with the first batch only
        if snapshot is not None:
            self._send_snapshot_alone(snapshot)
        return sent

    def _send_snapshot_alone(self, snapshot: tuple[tuple[Any, ...], dict[str, Any]]) -> None:
        batch = Batch(self._batch_id("run", int(snapshot[1]["snapshot_at"] * 1000), 0),
                      self.project, self.run_id, run=snapshot[1], store=self.store)
        self._send(batch, snapshot, "run metadata")

    def drain(self, deadline: float | None = None, stop: threading.Event | None = None) -> bool:
        """Pump until nothing is left (True) or the deadline/stop comes first (False)."""
        while True:
            if stop is not None and stop.is_set():
                return False
            if deadline is not None and time.monotonic() > deadline:
                return False
            sent = self.pump(force_snapshot=self._snapshot_sent is None)
            if not sent and not any(self.pending().values()) and not self.snapshot_pending():
                return True

    def _send_rows(self, table: str, rows: list[tuple[Any, ...]], snapshot: tuple[Any, ...] | None) -> int:
        """Send rows as one batch. The cursor moves past them only once the server has
        stored them: a batch refused for good stops this run's upload (:class:`UploadStopped`)
        and a failing one is retried, never split up and never skipped."""
        records, files = self._encode(table, rows)
        lo, hi = rows[0][0], rows[-1][0]
        batch = Batch(self._batch_id(table, lo, hi), self.project, self.run_id,
                      run=snapshot[1] if snapshot else None, files=files, store=self.store)
        setattr(batch, table, records)
        result = self._send(batch, snapshot, f"{table} {lo}-{hi}")
        for reason in result.dropped_files.values():
            self.dropped[f"media file: {reason}"] += 1
        self.sent[table] += len(records) - len(result.dropped_files)
        self.sent["files"] += len(files) - len(result.dropped_files)
        self._advance(table, hi)
        return len(records)

    # ---- metric points: packed chunks ----------------------------------------------------------
    def _read_points(self) -> tuple[int, int, list[tuple[str, Any]]] | None:
        """(first seq, last seq, [(key, Columns)]) of the next points after the cursor, or None.
        The store's chunks are read as they are (seq is dense, so nothing below ``last`` is
        left out) and go to the server as packed chunks again."""
        after = self.cursor["scalars"]
        if not has_table(self.conn, "chunks"):
            return self._read_v1_points(after)
        last, by_key = read_points(self.conn, after, self.points_per_batch)
        if last <= after or not by_key:
            return None
        return after + 1, last, list(by_key.items())

    def _read_v1_points(self, after: int) -> tuple[int, int, list[tuple[str, Any]]] | None:
        """A store from before chunks (not yet migrated: ``sync`` of an old logdir): one row per point."""
        import numpy as np

        from seetrain.storage.chunks import Columns

        rows = self.conn.execute(_SELECT_V1_POINTS, (after, self.points_per_batch)).fetchall()
        if not rows:
            return None
        grouped: dict[str, list[tuple[Any, ...]]] = {}
        for seq, key, step, ts, value, special in rows:
            v = NONFINITE[special] if special else (float("nan") if value is None else value)
            grouped.setdefault(key, []).append((seq, step, ts, v))
        series = [(key, Columns(*(np.array(col, dtype=dt) for col, dt in
                                  zip(zip(*group), (np.int64, np.int64, np.float64, np.float64)))))
                  for key, group in grouped.items()]
        return rows[0][0], rows[-1][0], series

    def _send_points(self, lo: int, hi: int, series: list[tuple[str, Any]], snapshot: tuple[Any, ...] | None) -> int:
        """One batch of metric points, one packed chunk per key (JSON records to a server from
        before chunks). Same cursor rules as :meth:`_send_rows`."""
        n = sum(len(cols.seq) for _, cols in series)
        batch = Batch(self._batch_id("scalars", lo, hi), self.project, self.run_id,
                      run=snapshot[1] if snapshot else None, store=self.store)
        if self.columnar:
            from seetrain.storage import chunks as _chunks

            batch.chunks = [{"key": key, "data": _chunks.to_wire(_chunks.pack(cols.seq, cols.step, cols.ts,
                                                                              cols.value, compress=True))}
                            for key, cols in series]
            batch.points = n
        else:
            batch.scalars = _records(series)
        try:
            self._send(batch, snapshot, f"scalars {lo}-{hi}")
        except UploadStopped:
            if not (self.columnar and "chunks" in (self.stopped or "") and "HTTP 422" in (self.stopped or "")):
                raise
            self.columnar, self.stopped = False, None  # a server from before chunks: JSON records
            return self._send_points(lo, hi, series, snapshot)
        self.sent["scalars"] += n
        self._advance("scalars", hi)
        return n

    def _send(self, batch: Batch, snapshot: tuple[Any, ...] | None, what: str) -> Any:
        try:
            result = self.transport.send(batch)
        except AuthError:
            raise  # the key, not this run: the caller stops every upload
        except RejectedError as exc:
            self._stop(f"the server refused {what} for good ({exc.reason})")
        except TemporaryError as exc:
            # The server answered but failed (5xx, 429 past the transport's own retries) or
            # did not answer: counted per batch; 5xx answers stop the run past the cap.
            self.attempts[batch.batch_id] += 1
            tries = self.attempts[batch.batch_id]
            self.max_attempts_seen = max(self.max_attempts_seen, tries)
            if exc.status is not None and exc.status >= 500 and tries >= self.max_batch_attempts:
                self._stop(f"the server failed {what} {tries} times in a row ({exc})")
            raise
        self.attempts.pop(batch.batch_id, None)
        self.sent["batches"] += 1
        if snapshot is not None:
            self._snapshot_sent = snapshot[0]
            self._snapshot_time = time.monotonic()
            self.conn.execute("UPDATE replication SET run_synced_at = ? WHERE target = ?",
                              (time.time(), self.cursor_key))
        return result

    def _stop(self, reason: str) -> None:
        self.stopped = reason
        hint = ""
        if "another local store" in reason:
            hint = f"; upload this copy under a new id with: seetrain sync --run {shlex.quote(self.local_id)} --as NEW_ID"
        self.stopped = reason + hint
        raise UploadStopped(self.stopped)

    def _advance(self, table: str, seq: int) -> None:
        self.conn.execute(_ADVANCE[table], (seq, self.cursor_key, seq))
        self.cursor[table] = max(self.cursor[table], seq)

    def _batch_id(self, table: str, lo: int, hi: int) -> str:
        # The store identity first: the same run id written by two stores never shares ids.
        return f"{self.store}/{self.project}/{self.run_id}/{table}/{lo}-{hi}"

    def _encode(self, table: str, rows: list[tuple[Any, ...]]) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
        files: list[tuple[str, str]] = []
        if table == "scalars":
            return [{"seq": s, "key": k, "step": st, "ts": ts, "value": v, "special": sp}
                    for s, k, st, ts, v, sp in rows], files
        if table == "console":
            # NUL cannot be stored by PostgreSQL: shown as U+FFFD (documented in docs/server.md).
            return [{"seq": s, "ts": ts, "stream": stream if stream in ("stdout", "stderr") else "stdout",
                     "line": limits.replace_nul(line)} for s, ts, stream, line in rows], files
        out = []
        for seq, key, step, ts, kind, path, caption, payload in rows:
            if path:
                local = os.path.join(self.run_dir, *path.split("/"))
                if os.path.isfile(local):
                    files.append((path, local))
                else:
                    self.dropped["media file missing locally"] += 1
                    path = None
            out.append({"seq": seq, "key": key, "step": step, "ts": ts, "kind": kind, "path": path,
                        "caption": limits.replace_nul(caption) if caption else caption,
                        "payload": loads(payload) or {}})
        return out, files

    # ---- the run row -------------------------------------------------------------------------
    def _read_run_row(self) -> tuple[Any, ...]:
        return tuple(self.conn.execute(
            "SELECT name, description, tags, group_name, status, created_at, finished_at, hostname, "
            "pid, config, metadata, error, summary, stats, heartbeat_at FROM run").fetchone())

    def _snapshot_if_due(self, force: bool) -> tuple[tuple[Any, ...], dict[str, Any]] | None:
        row = self._read_run_row()
        if row == self._snapshot_sent:
            return None
        # Heartbeats rewrite summary/stats/heartbeat_at every second (the last three columns):
        # those go out every SNAPSHOT_INTERVAL; status, config, tags ... go out at once.
        changed = self._snapshot_sent is None or row[:-3] != self._snapshot_sent[:-3]
        if not (force or changed) and time.monotonic() - self._snapshot_time < SNAPSHOT_INTERVAL:
            return None
        (name, description, tags, group, status, created, finished, hostname, pid, config,
         metadata, error, summary, stats, heartbeat) = row
        # Stores written before init checked the shared limits may hold longer text: cut it
        # the same way init now does, rather than have the server refuse the whole run row.
        snapshot = {
            "snapshot_at": max(x for x in (created, finished, heartbeat, 0.0) if x is not None),
            "name": _clip(name, limits.MAX_NAME_LENGTH), "description": _clip(description, limits.MAX_DESCRIPTION_LENGTH),
            "tags": [limits.replace_nul(str(t))[:limits.MAX_TAG_LENGTH] for t in (loads(tags) or [])][:limits.MAX_TAGS],
            "group": _clip(group, limits.MAX_GROUP_LENGTH),
            "status": status, "created_at": created, "finished_at": finished, "heartbeat_at": heartbeat,
            "hostname": _clip(hostname, limits.MAX_HOSTNAME_LENGTH), "pid": pid,
            "config": _shallow(loads(config)), "metadata": _shallow(loads(metadata)),
            "summary": _shallow(loads(summary)), "stats": _shallow(loads(stats)),
            "error": _clip(error, limits.MAX_ERROR_LENGTH),
        }
        return row, snapshot

    def save_stats(self, extra: dict[str, Any]) -> None:
        """Merge the upload outcome into the run's stats in the local store (writer is closed)."""
        row = self.conn.execute("SELECT stats FROM run").fetchone()
        stats = (loads(row[0]) if row else None) or {}
        stats.update(extra)
        from seetrain.storage.store import dumps

        self.conn.execute("UPDATE run SET stats = ?", (dumps(stats),))

    def close(self) -> None:
        self.conn.close()




def _records(series: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    """Metric points as the JSON records of servers from before packed chunks."""

    out = []
    for key, cols in series:
        for q, st, t, v in zip(cols.seq.tolist(), cols.step.tolist(), cols.ts.tolist(), cols.value.tolist()):
            special = float_text(v)
            out.append({"seq": q, "key": key, "step": st, "ts": t, "value": None if special else v,
                        "special": special})
    out.sort(key=lambda r: r["seq"])
    return out


DEEP_MARKER = "<nested deeper than the server's limit>"


def _shallow(obj: Any, limit: int = limits.MAX_JSON_DEPTH) -> Any:
    """``obj`` with anything nested deeper than the server accepts replaced by a marker
    string, so one odd config value never blocks the run's points (the local store keeps
    the whole value)."""
    if limits.json_depth(obj, limit) <= limit:
        return obj

    def cut(value: Any, depth: int) -> Any:
        if isinstance(value, dict):
            return DEEP_MARKER if depth >= limit else {k: cut(v, depth + 1) for k, v in value.items()}
        if isinstance(value, list):
            return DEEP_MARKER if depth >= limit else [cut(v, depth + 1) for v in value]
        return value

    return cut(obj, 0)


def _clip(text: Any, limit: int) -> Any:
    return limits.replace_nul(text)[:limit] if isinstance(text, str) else text


def store_identity(conn: sqlite3.Connection, head: tuple[Any, ...]) -> str:
    """The local store's random identity (``seetrain.storage.store.store_identity``). Stores made
    before it existed and not migrated yet get the stand-in their migration will keep
    (``seetrain.storage.store.legacy_identity``)."""
    from seetrain.storage import store as _store

    try:
        ident = _store.store_identity(conn)
        if ident:
            return "".join(c for c in str(ident) if c.isalnum() or c in "_-")[:64] or "store"
    except sqlite3.Error:
        pass
    return _store.legacy_identity(head[2])


class Replicator:
    """The daemon thread behind an ``online`` run."""

    def __init__(self, run_dir: str, transport: Transport, target: str, *, logdir: str = "",
                 stats: Counter[str] | None = None, upload_timeout: float = DEFAULT_UPLOAD_TIMEOUT,
                 interval: float = 0.5, batch_size: int = DEFAULT_BATCH_SIZE,
                 max_batch_attempts: int = DEFAULT_MAX_BATCH_ATTEMPTS) -> None:
        self.run_dir = run_dir
        self.max_batch_attempts = max_batch_attempts
        self.transport = transport
        self.target = normalize_target(target)
        self.logdir = logdir
        self.stats = stats if stats is not None else Counter()
        self.upload_timeout = upload_timeout
        self.interval = interval
        self.batch_size = batch_size
        self.uploader: RunUploader | None = None
        self.state = "running"
        self.last_error: str | None = None
        self.done = False
        self._stopping = threading.Event()
        self._abort = threading.Event()
        self._wake = threading.Event()
        self._finished = False
        self._thread = background_thread(self._loop, "seetrain-replicator")

    def start(self) -> Replicator:
        self._thread.start()
        return self

    def _loop(self) -> None:
        try:
            self.uploader = RunUploader(self.run_dir, self.transport, self.target, self.batch_size,
                                        max_batch_attempts=self.max_batch_attempts)
        except (sqlite3.Error, ValueError) as exc:
            self.state, self.last_error = "failed", f"cannot read the local store: {exc}"
            log.warning("seetrain: upload disabled: %s", self.last_error)
            return
        up = self.uploader
        while not self._abort.is_set():
            stopping = self._stopping.is_set()
            delay = self.interval
            try:
                sent = up.pump(force_snapshot=stopping)
                self.state, self.last_error = "running", None
                if sent:
                    delay = 0.0
                elif stopping and not any(up.pending().values()) and not up.snapshot_pending():
                    self.done = True
                    break
            except ServerUnavailable as exc:
                self.state, self.last_error = "paused", "server unreachable: circuit breaker open"
                delay = max(0.05, min(exc.retry_in, 5.0))
            except TemporaryError as exc:
                self.state, self.last_error = "retrying", str(exc)
                delay = 1.0
            except AuthError as exc:
                self.state, self.last_error = "refused", f"server refused the API key ({exc.reason})"
                log.warning("seetrain: upload stopped: %s; records stay local", self.last_error)
                break
            except UploadStopped as exc:
                self.state, self.last_error = "stopped", f"upload stopped: {exc.reason}"
                # The run's stats Counter also carries status texts, shown by `seetrain status`.
                self.stats["upload_stopped"] = exc.reason  # type: ignore[assignment]
                log.warning("seetrain: %s; records stay local", self.last_error)
                break
            except (TransportError, sqlite3.Error, OSError) as exc:
                self.state, self.last_error = "retrying", f"{type(exc).__name__}: {exc}"
                log.warning("seetrain: upload error (will retry): %s", self.last_error)
                delay = 1.0
            except Exception as exc:  # noqa: BLE001 - a bug here must not kill the thread silently
                self.state, self.last_error = "retrying", f"unexpected {type(exc).__name__}: {exc}"
                log.warning("seetrain: upload error (will retry): %s", self.last_error, exc_info=True)
                delay = 1.0
            self._publish()
            if delay and self._wake.wait(delay):
                self._wake.clear()
        self._publish()

    def _publish(self) -> None:
        up = self.uploader
        if up is None:
            return
        stats = self.stats
        stats["upload_records_sent"] = up.sent["scalars"] + up.sent["media"] + up.sent["console"]
        stats["upload_files_sent"] = up.sent["files"]
        stats["upload_batches"] = up.sent["batches"]
        stats["upload_dropped"] = sum(up.dropped.values())
        stats["upload_batch_attempts_max"] = up.max_attempts_seen
        for key, value in self.transport.stats().items():
            if isinstance(value, (int, float)):
                stats[f"upload_{key}"] = value  # type: ignore[assignment]  # a Counter holding float stats too

    def wake(self) -> None:
        self._wake.set()

    def finish(self, timeout: float | None = None) -> str:
        """Wait up to ``timeout`` seconds (default: the run's upload timeout) for the upload,
        print one line saying what was sent, kept locally and dropped, and return it."""
        if self._finished:
            return ""
        self._finished = True
        timeout = self.upload_timeout if timeout is None else timeout
        self._stopping.set()
        self._wake.set()
        self.transport.wake()
        self._thread.join(max(0.0, timeout))
        if self._thread.is_alive():
            self._abort.set()
            self._wake.set()
            self.transport.wake()
            self._thread.join(0.5)
        line = self._report()
        self.transport.close()
        print(line, file=sys.stderr)
        return line

    def _report(self) -> str:
        up = self.uploader
        if up is None:
            return f"seetrain: nothing uploaded to {self.target}: {self.last_error}"
        alive = self._thread.is_alive()
        try:
            # The uploader's connection belongs to its thread while that thread still runs.
            pending = up.pending() if not alive else pending_counts(self.run_dir, self.target)
        except sqlite3.Error as exc:
            pending = {}
            log.warning("seetrain: cannot count unsent records: %s", exc)
        kept = sum(pending.values())
        sent = up.sent["scalars"] + up.sent["media"] + up.sent["console"]
        dropped = sum(up.dropped.values())
        self._publish()
        extra: dict[str, Any] = {k: v for k, v in self.stats.items() if k.startswith("upload_")}
        extra.update(upload_records_sent=sent, upload_kept_locally=kept, upload_dropped=dropped,
                     upload_dropped_reasons=dict(up.dropped), upload_target=self.target)
        if up.stopped:
            extra["upload_stopped"] = up.stopped
        try:
            if not alive:
                up.save_stats(extra)
                up.close()
        except sqlite3.Error as exc:
            log.warning("seetrain: cannot save upload stats: %s", exc)
        line = f"seetrain: upload to {self.target}: sent {sent} records ({up.sent['files']} files)"
        why = self.last_error or f"upload timeout of {self.upload_timeout:g}s reached"
        reason = f" ({why})" if kept else ""
        line += f", kept locally {kept}{reason}"
        reasons = "; ".join(f"{r}: {n}" for r, n in up.dropped.items())
        line += f", dropped {dropped}" + (f" ({reasons})" if reasons else "")
        if up.stopped and not kept:
            line += f"; {self.last_error}"
        if kept:
            line += (f"; send the rest with: seetrain sync {self.logdir or '<logdir>'} --host {self.target}"
                     f" --project {up.project} --run {shlex.quote(up.local_id)}")
        return line


def make_replicator(run: Run, upload_timeout: float | None = None, transport: Transport | None = None,
                    target: str | None = None, **options: Any) -> Replicator:
    """The replicator of ``run`` (not started): to ``target`` (default ``run.settings.host``)
    over ``transport`` (default HTTP with retry and a circuit breaker); ``options`` override
    the settings (``interval``, ``batch_size``, ``max_batch_attempts``)."""
    if upload_timeout is None:
        upload_timeout = setting("SEETRAIN_UPLOAD_TIMEOUT")
    host = normalize_target(target or run.settings.host or "")
    if transport is None:
        from seetrain.sync.transport.http import HttpTransport

        transport = HttpTransport.from_env(host, run.settings.api_key)
    settings = {"interval": setting("SEETRAIN_REPLICATOR_INTERVAL"), "batch_size": setting("SEETRAIN_UPLOAD_BATCH"),
                "max_batch_attempts": setting("SEETRAIN_UPLOAD_MAX_ATTEMPTS"), **options}
    return Replicator(run.dir, transport, host, logdir=run.settings.logdir, stats=run.stats,
                      upload_timeout=upload_timeout, **settings)
