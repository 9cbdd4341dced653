"""The local store: one SQLite database (WAL mode) per run, media files beside it.

Layout: ``<logdir>/<project>/<run_id>/run.sqlite``, ``.../media/`` and, while the run's process
writes, ``.../journal/`` (see :mod:`seetrain.storage.journal`) and ``.../writer.lock``.

Scalars are stored as chunks (schema 3): one row per (key, flush) holding the packed columns of
that key's points (:mod:`seetrain.storage.chunks`: seq, step, ts, value) plus the chunk's step and seq
range and finite min/max, so a reader decodes a million points with a few ``numpy.frombuffer``
calls. ``seq`` numbers every point of a run densely in logging order; it is the replication
cursor and makes replays idempotent. Small chunks of a key are merged into larger ones after the
points are safe (derived work, like the summary: rebuildable, never able to cost a point).

Stores written before (schema 1 and 2: one ``scalars`` row per point) are migrated on the first
open for writing (resume, recovery); readers read them through :func:`load_columns`'s row path
until then.
"""

from __future__ import annotations

import logging
import os
import secrets
import sqlite3
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import orjson

from seetrain._jsonsafe import NONFINITE

if TYPE_CHECKING:
    from seetrain.storage.chunks import Columns

log = logging.getLogger("seetrain")

DB_NAME = "run.sqlite"
MEDIA_DIR = "media"
LOCK_NAME = "writer.lock"
SCHEMA_VERSION = 3
# Merge a key's chunks once this many small ones follow its last large one.
MERGE_COUNT = 32
LARGE_CHUNK = 4096

SCHEMA = """
CREATE TABLE IF NOT EXISTS run (
    id TEXT PRIMARY KEY, project TEXT NOT NULL, name TEXT, description TEXT, tags TEXT,
    group_name TEXT, status TEXT NOT NULL, created_at REAL NOT NULL, finished_at REAL,
    heartbeat_at REAL, pid INTEGER, hostname TEXT, config TEXT, metadata TEXT, summary TEXT,
    stats TEXT, error TEXT, schema_version INTEGER
);
CREATE TABLE IF NOT EXISTS metric_keys (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT, key_id INTEGER NOT NULL, n INTEGER NOT NULL,
    seq_first INTEGER NOT NULL, seq_last INTEGER NOT NULL, step_min INTEGER NOT NULL,
    step_max INTEGER NOT NULL, ts_first REAL NOT NULL, ts_last REAL NOT NULL,
    v_min REAL, v_max REAL, nonfinite INTEGER NOT NULL, data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_by_key ON chunks (key_id, seq_first);
CREATE INDEX IF NOT EXISTS chunks_by_seq ON chunks (seq_last);
CREATE TABLE IF NOT EXISTS media (
    seq INTEGER PRIMARY KEY, key TEXT NOT NULL, step INTEGER NOT NULL, ts REAL NOT NULL,
    kind TEXT NOT NULL, path TEXT, caption TEXT, payload TEXT
);
CREATE INDEX IF NOT EXISTS media_by_key ON media (kind, key, step);
CREATE TABLE IF NOT EXISTS console (
    seq INTEGER PRIMARY KEY, ts REAL NOT NULL, stream TEXT NOT NULL, line TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS replication (
    target TEXT PRIMARY KEY, scalars_seq INTEGER NOT NULL DEFAULT 0,
    media_seq INTEGER NOT NULL DEFAULT 0, console_seq INTEGER NOT NULL DEFAULT 0,
    run_synced_at REAL
);
CREATE TABLE IF NOT EXISTS store_state (name TEXT PRIMARY KEY, value);
"""

_CHUNK_COLUMNS = ("key_id", "n", "seq_first", "seq_last", "step_min", "step_max", "ts_first", "ts_last",
                  "v_min", "v_max", "nonfinite", "data")
_INSERT_CHUNK = (f"INSERT INTO chunks ({', '.join(_CHUNK_COLUMNS)}) "
                 f"VALUES ({', '.join('?' for _ in _CHUNK_COLUMNS)})")


def dumps(obj: Any) -> str:
    return orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS,
                        default=repr).decode()


def loads(text: str | bytes | None) -> Any:
    return None if text is None else orjson.loads(text)


def connect(path: str, readonly: bool = False) -> sqlite3.Connection:
    """A connection to a run database. Read-only connections also work on a read-only mount,
    where SQLite cannot create the WAL index: then the file is opened ``immutable``."""
    if readonly:
        try:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout=10000")
            conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
            return conn
        except sqlite3.OperationalError:
            if not os.path.isfile(path) or os.access(os.path.dirname(path) or ".", os.W_OK):
                raise
            return sqlite3.connect(f"file:{path}?immutable=1", uri=True, check_same_thread=False)
    conn = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
    # Chunks are blobs of up to megabytes: 64 KiB pages make their overflow chains 16x shorter
    # (measured: writes 4x and reads 2x faster than with 4 KiB pages). Only a new file takes it.
    conn.execute("PRAGMA page_size=65536")
    conn.execute("PRAGMA journal_mode=WAL")
    # NORMAL keeps committed transactions across a process kill (not across power loss),
    # at a fraction of FULL's fsync cost.
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=10000")
    return conn


def has_table(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                        (name,)).fetchone() is not None


class Chunk(NamedTuple):
    """One key's new points, ready for a ``chunks`` row (and for the summary: no numpy needed)."""

    key: str
    n: int
    seq_first: int
    seq_last: int
    step_min: int
    step_max: int
    ts_first: float
    ts_last: float
    v_min: float | None
    v_max: float | None
    nonfinite: int
    data: bytes
    last: float
    last_step: int


def chunk_of(key: str, cols: Columns, packed: bool = True) -> Chunk:
    """The chunk of one key's columns (already in seq order); ``packed=False`` leaves ``data``
    empty for callers that want the aggregates only (rebuilding a summary)."""
    import numpy as np

    from seetrain.storage.chunks import pack

    value = cols.value
    finite = np.isfinite(value)
    n_finite = int(finite.sum())
    v_min: float | None
    v_max: float | None
    if n_finite == len(value):
        v_min, v_max = float(value.min()), float(value.max())
    elif n_finite:
        v_min, v_max = float(value[finite].min()), float(value[finite].max())
    else:
        v_min = v_max = None
    return Chunk(key, len(value), int(cols.seq[0]), int(cols.seq[-1]), int(cols.step.min()), int(cols.step.max()),
                 float(cols.ts[0]), float(cols.ts[-1]), v_min, v_max, len(value) - n_finite,
                 pack(cols.seq, cols.step, cols.ts, value) if packed else b"", float(value[-1]),
                 int(cols.step[-1]))


def chunks_of_group(keys: Sequence[str], seq: Any, step: Any, ts: Any, values: Any) -> list[Chunk]:
    """Chunks of ``k`` keys logged together (``values`` ``(n, k)``, ``seq`` ``(n, k)``, shared
    ``step``/``ts``), every aggregate computed across keys at once."""
    import numpy as np

    from seetrain.storage.chunks import pack_many

    n = values.shape[0]
    finite = np.isfinite(values)
    bad = (n - finite.sum(axis=0)).tolist()
    lo = np.where(finite, values, np.inf).min(axis=0).tolist()
    hi = np.where(finite, values, -np.inf).max(axis=0).tolist()
    blobs = pack_many(seq, step, ts, values)
    s_min, s_max, t0, t1 = int(step.min()), int(step.max()), float(ts[0]), float(ts[-1])
    firsts, lasts, last_vals = seq[0].tolist(), seq[-1].tolist(), values[-1].tolist()
    last_step = int(step[-1])
    return [Chunk(key, n, firsts[j], lasts[j], s_min, s_max, t0, t1,
                  None if bad[j] == n else lo[j], None if bad[j] == n else hi[j], bad[j], blobs[j],
                  last_vals[j], last_step)
            for j, key in enumerate(keys)]


def chunk_row(kid: int, cols: Columns) -> tuple[Any, ...]:
    """The ``chunks`` row (in ``_CHUNK_COLUMNS`` order) of one key's columns."""
    return (kid, *chunk_of("", cols)[1:12])


class RunStore:
    """Owned by one thread of the run's process (the writer, or a recovering reader): every
    write to a run's database goes through here."""

    def __init__(self, run_dir: str) -> None:
        self.run_dir = run_dir
        self.media_dir = os.path.join(run_dir, MEDIA_DIR)
        os.makedirs(self.media_dir, exist_ok=True)
        self.conn = connect(os.path.join(run_dir, DB_NAME))
        try:
            self._open()
        except BaseException:
            self.conn.close()
            raise

    def _open(self) -> None:
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            if has_table(conn, "scalars"):
                migrate_rows(conn)
            state = dict(conn.execute("SELECT name, value FROM store_state"))
            if "identity" not in state:
                # A store that already holds a run (written before identities) keeps the stand-in
                # its uploads used, so the server still knows it as the same store.
                row = conn.execute("SELECT created_at FROM run").fetchone()
                state["identity"] = secrets.token_hex(8) if row is None else legacy_identity(row[0])
                conn.execute("INSERT INTO store_state VALUES ('identity', ?)", (state["identity"],))
            conn.execute("UPDATE run SET schema_version = ? WHERE schema_version IS NOT ?",
                         (SCHEMA_VERSION, SCHEMA_VERSION))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        self.identity: str = state["identity"]
        top = conn.execute("SELECT MAX(seq_last) FROM chunks").fetchone()[0]
        self.next_seq = (top or 0) + 1
        self.journal_pos = (int(state.get("journal_segment") or 0), int(state.get("journal_offset") or 0))
        self._key_ids: dict[str, int] = {
            name: kid for kid, name in conn.execute("SELECT id, name FROM metric_keys")}
        # Per key id: how many small chunks follow its last large one, for merging.
        self.small: dict[int, int] = {}
        for kid, count in conn.execute(
                "SELECT key_id, COUNT(*) FROM chunks c WHERE n < ? AND seq_first > COALESCE("
                "(SELECT MAX(seq_last) FROM chunks l WHERE l.key_id = c.key_id AND l.n >= ?), 0) "
                "GROUP BY key_id", (LARGE_CHUNK, LARGE_CHUNK)):
            self.small[kid] = count

    # ---- the run row -------------------------------------------------------------------------
    def create_run(self, row: dict[str, Any]) -> None:
        row = {**row, "schema_version": SCHEMA_VERSION}
        exists = self.conn.execute("SELECT 1 FROM run").fetchone()
        if exists:
            self.update_run(**{k: v for k, v in row.items() if k != "id"})
            return
        cols = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        self.conn.execute(f"INSERT INTO run ({cols}) VALUES ({marks})", list(row.values()))

    def update_run(self, **fields: Any) -> None:
        if not fields:
            return
        sets = ", ".join(f"{k} = ?" for k in fields)
        self.conn.execute(f"UPDATE run SET {sets}", list(fields.values()))

    def run_row(self) -> dict[str, Any] | None:
        cur = self.conn.execute("SELECT * FROM run")
        found = cur.fetchone()
        return dict(zip([c[0] for c in cur.description], found)) if found else None

    # ---- points ------------------------------------------------------------------------------
    def key_id(self, name: str) -> int:
        """The id of ``name``, inserting it (call inside the write transaction)."""
        kid = self._key_ids.get(name)
        if kid is None:
            cur = self.conn.execute("INSERT OR IGNORE INTO metric_keys (name) VALUES (?)", (name,))
            kid = cur.lastrowid if cur.rowcount else None
            if kid is None:
                kid = int(self.conn.execute("SELECT id FROM metric_keys WHERE name = ?", (name,)).fetchone()[0])
        return kid

    def write(self, chunks: Sequence[Chunk], media: Sequence[tuple[Any, ...]], console: Sequence[tuple[Any, ...]],
              run_fields: dict[str, Any], journal_pos: tuple[int, int] | None, next_seq: int) -> None:
        """One transaction: the points, media rows, console lines, run fields and the journal
        position they came from. Either all of it is stored or none of it."""
        conn = self.conn
        new_keys: dict[str, int] = {}
        conn.execute("BEGIN IMMEDIATE")
        try:
            rows = []
            for chunk in chunks:
                kid = self._key_ids.get(chunk.key)
                if kid is None:
                    kid = new_keys.get(chunk.key) or self.key_id(chunk.key)
                    new_keys[chunk.key] = kid
                rows.append((kid, *chunk[1:12]))
            if rows:
                conn.executemany(_INSERT_CHUNK, rows)
            if media:
                conn.executemany(
                    "INSERT INTO media (key, step, ts, kind, path, caption, payload) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    media)
            if console:
                conn.executemany("INSERT INTO console (ts, stream, line) VALUES (?, ?, ?)", console)
            if run_fields:
                self.update_run(**run_fields)
            if journal_pos is not None:
                conn.executemany("INSERT OR REPLACE INTO store_state VALUES (?, ?)",
                                 [("journal_segment", journal_pos[0]), ("journal_offset", journal_pos[1])])
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        # Only now: a rolled-back transaction must leave no trace in memory (ids, counters).
        self._key_ids.update(new_keys)
        self.next_seq = max(self.next_seq, next_seq)
        if journal_pos is not None:
            self.journal_pos = journal_pos
        for row in rows:
            if row[1] < LARGE_CHUNK:
                self.small[row[0]] = self.small.get(row[0], 0) + 1

    def merge_small_chunks(self, limit: int = 8) -> int:
        """Merge the trailing small chunks of up to ``limit`` keys into one chunk each (derived
        work: the same points, fewer rows). Returns how many keys were merged."""
        from seetrain.storage.chunks import Columns, unpack

        due = [kid for kid, count in self.small.items() if count >= MERGE_COUNT][:limit]
        conn = self.conn
        for kid in due:
            conn.execute("BEGIN IMMEDIATE")
            try:
                rows = conn.execute(
                    "SELECT id, data FROM chunks WHERE key_id = ? AND n < ? AND seq_first > COALESCE("
                    "(SELECT MAX(seq_last) FROM chunks WHERE key_id = ? AND n >= ?), 0) ORDER BY seq_first",
                    (kid, LARGE_CHUNK, kid, LARGE_CHUNK)).fetchall()
                if len(rows) > 1:
                    cols = Columns.concat([unpack(data) for _, data in rows])
                    conn.executemany("DELETE FROM chunks WHERE id = ?", [(cid,) for cid, _ in rows])
                    conn.execute(_INSERT_CHUNK, chunk_row(kid, cols))
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            total = len(cols) if len(rows) > 1 else 0
            self.small[kid] = 0 if total >= LARGE_CHUNK else 1
        return len(due)

    def close(self) -> None:
        try:
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error:
            pass
        finally:
            self.conn.close()


def migrate_rows(conn: sqlite3.Connection) -> None:
    """Schema 1/2 -> 3 inside the caller's transaction: each key's ``scalars`` rows become
    chunks of at most ``LARGE_CHUNK * 16`` points (NULL + special -> the float itself), then the
    row tables go. The same transaction, so a failed migration leaves the old store intact."""

    from seetrain.storage.chunks import Columns

    batch = LARGE_CHUNK * 16
    for (kid,) in conn.execute("SELECT id FROM metric_keys").fetchall():
        cur = conn.execute("SELECT seq, step, ts, value, special FROM scalars WHERE key_id = ? ORDER BY seq",
                           (kid,))
        while rows := cur.fetchmany(batch):
            cols = columns_from_rows(rows)
            conn.execute(_INSERT_CHUNK, chunk_row(kid, Columns(*cols)))
    conn.execute("DROP TABLE scalars")
    conn.execute("DROP TABLE IF EXISTS scalar_blocks")


def columns_from_rows(rows: list[tuple[Any, ...]]) -> tuple[Any, ...]:
    """``(seq, step, ts, value, special)`` rows of a schema-1/2 store as four numpy columns."""
    import numpy as np

    seq, step, ts, value, sp = zip(*rows)
    vals = np.array(value, dtype=np.float64)  # NULL -> nan
    if sp.count(None) != len(sp):
        for i, kind in enumerate(sp):
            if kind is not None:
                vals[i] = NONFINITE[kind]
    return (np.array(seq, np.int64), np.array(step, np.int64), np.array(ts, np.float64), vals)


# ---- readers (any connection, read-only is enough) ---------------------------------------------
def key_names(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT name FROM metric_keys ORDER BY name")]


def load_columns(conn: sqlite3.Connection, key: str, after_seq: int = 0) -> Columns | None:
    """Every point of ``key`` with seq > ``after_seq``, in logging order; None if no such key."""

    from seetrain.storage.chunks import Columns, unpack

    row = conn.execute("SELECT id FROM metric_keys WHERE name = ?", (key,)).fetchone()
    if row is None:
        return None
    kid = row[0]
    if not has_table(conn, "chunks"):  # a schema-1/2 store not yet migrated
        rows = conn.execute("SELECT seq, step, ts, value, special FROM scalars WHERE key_id = ? AND seq > ? "
                            "ORDER BY seq", (kid, after_seq)).fetchall()
        if not rows:
            return Columns.empty()
        return Columns(*columns_from_rows(rows))
    blobs = conn.execute("SELECT data FROM chunks WHERE key_id = ? AND seq_last > ? ORDER BY seq_first",
                         (kid, after_seq)).fetchall()
    cols = Columns.concat([unpack(b) for (b,) in blobs])
    if len(cols) and cols.seq[0] <= after_seq:
        cols = cols.take(cols.seq > after_seq)
    return cols


def read_points(conn: sqlite3.Connection, after_seq: int, max_points: int) -> tuple[int, dict[str, Columns]]:
    """Points with seq in ``(after_seq, last]`` grouped by key, ``last`` chosen so that about
    ``max_points`` come back and no point at or below it is left out (seq is dense). Returns
    ``(last, {key: columns})``; ``last == after_seq`` when there is nothing new."""
    from seetrain.storage.chunks import Columns, unpack

    names = dict(conn.execute("SELECT id, name FROM metric_keys"))
    top = conn.execute("SELECT MAX(seq_last) FROM chunks").fetchone()[0] or 0
    if top <= after_seq:
        return after_seq, {}
    last = min(top, after_seq + max_points)
    parts: dict[str, list[Columns]] = {}
    for kid, blob in conn.execute("SELECT key_id, data FROM chunks WHERE seq_last > ? AND seq_first <= ? "
                                  "ORDER BY seq_first", (after_seq, last)):
        cols = unpack(blob)
        if cols.seq[0] <= after_seq or cols.seq[-1] > last:
            cols = cols.take((cols.seq > after_seq) & (cols.seq <= last))
        if len(cols):
            parts.setdefault(names[kid], []).append(cols)
    return last, {k: Columns.concat(v) for k, v in parts.items()}


def count_points(conn: sqlite3.Connection, after_seq: int = 0) -> int:
    if not has_table(conn, "chunks"):
        return int(conn.execute("SELECT COUNT(*) FROM scalars WHERE seq > ?", (after_seq,)).fetchone()[0])
    top: int = conn.execute("SELECT MAX(seq_last) FROM chunks").fetchone()[0] or 0
    return max(0, top - after_seq)


def max_step(conn: sqlite3.Connection) -> int | None:
    if not has_table(conn, "chunks"):
        step: int | None = conn.execute("SELECT MAX(step) FROM scalars").fetchone()[0]
        return step
    step = conn.execute("SELECT MAX(step_max) FROM chunks").fetchone()[0]
    return step


def legacy_identity(created_at: Any) -> str:
    """The identity of a store made before stores had one: from the run's creation time, which
    a resumed run keeps (host and pid change per process)."""
    import hashlib

    return "h" + hashlib.sha256(f"{created_at!r}".encode()).hexdigest()[:31]


def store_identity(conn: sqlite3.Connection) -> str | None:
    """The random identity of a store (set when it is first opened for writing)."""
    if not has_table(conn, "store_state"):
        return None
    row = conn.execute("SELECT value FROM store_state WHERE name = 'identity'").fetchone()
    return row[0] if row else None


def iter_run_dirs(logdir: str, project: str | None = None) -> Iterable[tuple[str, str]]:
    """Yield (project, run_dir) for every run database under ``logdir``."""
    if not os.path.isdir(logdir):
        return
    projects = [project] if project else sorted(os.listdir(logdir))
    for proj in projects:
        pdir = os.path.join(logdir, proj)
        if not os.path.isdir(pdir):
            continue
        for run_id in sorted(os.listdir(pdir)):
            rdir = os.path.join(pdir, run_id)
            if os.path.isfile(os.path.join(rdir, DB_NAME)):
                yield proj, rdir
