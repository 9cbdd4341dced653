"""The local store: one SQLite database (WAL mode) per run, media files beside it.

Layout: ``<logdir>/<project>/<run_id>/run.sqlite`` and ``.../media/``. One database per run
means processes logging into one logdir never contend for a lock; readers (dashboard, Api,
replicator) open the same file read-only, which WAL allows while the writer keeps writing.

Level-of-detail blocks (schema 2): every ``BLOCK_SIZE`` points of a metric, the writer adds one
``scalar_blocks`` row with the aggregates of those points (step and time range, min and max with
where they happened, first/last value, the first non-finite point), in the same transaction as
the points. A chart of a million points then reads ~1,000 block rows instead of every point.
A key's points after its last block (at most ``BLOCK_SIZE - 1``) are its "tail": readers take
them raw. Schema-1 databases (no blocks) stay readable: everything is tail there.
"""

from __future__ import annotations

import math
import operator
import os
import sqlite3
import time
from collections.abc import Iterable, Sequence
from typing import Any

import orjson

DB_NAME = "run.sqlite"
MEDIA_DIR = "media"
SCHEMA_VERSION = 2
BLOCK_SIZE = 1024

SCHEMA = """
CREATE TABLE IF NOT EXISTS run (
    id TEXT PRIMARY KEY, project TEXT NOT NULL, name TEXT, description TEXT, tags TEXT,
    group_name TEXT, status TEXT NOT NULL, created_at REAL NOT NULL, finished_at REAL,
    heartbeat_at REAL, pid INTEGER, hostname TEXT, config TEXT, metadata TEXT, summary TEXT,
    stats TEXT, error TEXT, schema_version INTEGER
);
CREATE TABLE IF NOT EXISTS metric_keys (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS scalars (
    seq INTEGER PRIMARY KEY, key_id INTEGER NOT NULL, step INTEGER NOT NULL, ts REAL NOT NULL,
    value REAL, special TEXT
);
CREATE INDEX IF NOT EXISTS scalars_by_key_seq ON scalars (key_id, seq);
CREATE TABLE IF NOT EXISTS scalar_blocks (
    key_id INTEGER NOT NULL, seq_first INTEGER NOT NULL, seq_last INTEGER NOT NULL, n INTEGER NOT NULL,
    step_min INTEGER NOT NULL, step_max INTEGER NOT NULL, ts_first REAL NOT NULL, ts_last REAL NOT NULL,
    v_min REAL, step_at_min INTEGER, ts_at_min REAL, v_max REAL, step_at_max INTEGER, ts_at_max REAL,
    v_first REAL, v_last REAL, nonfinite INTEGER NOT NULL, nonfinite_step INTEGER, nonfinite_ts REAL,
    nonfinite_kind TEXT,
    PRIMARY KEY (key_id, seq_last)
) WITHOUT ROWID;
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
"""

# SQLite stores NaN as NULL, so non-finite values keep their identity in a side column.
_SPECIAL_OF = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def encode_scalar(value: float) -> tuple[float | None, str | None]:
    if value != value:
        return None, "nan"
    if value in (math.inf, -math.inf):
        return None, "inf" if value > 0 else "-inf"
    return value, None


def decode_scalar(value: float | None, special: str | None) -> float:
    if special is not None:
        return _SPECIAL_OF[special]
    return math.nan if value is None else value


BLOCK_COLUMNS = (
    "key_id", "seq_first", "seq_last", "n", "step_min", "step_max", "ts_first", "ts_last",
    "v_min", "step_at_min", "ts_at_min", "v_max", "step_at_max", "ts_at_max", "v_first", "v_last",
    "nonfinite", "nonfinite_step", "nonfinite_ts", "nonfinite_kind",
)
_INSERT_BLOCK = (f"INSERT OR REPLACE INTO scalar_blocks ({', '.join(BLOCK_COLUMNS)}) "
                 f"VALUES ({', '.join('?' for _ in BLOCK_COLUMNS)})")
_STEP = operator.itemgetter(2)
_VALUE = operator.itemgetter(4)
_INSERT_SCALAR = "INSERT INTO scalars (seq, key_id, step, ts, value, special) VALUES (?, ?, ?, ?, ?, ?)"


def block_row(rows: Sequence[tuple]) -> tuple:
    """The ``scalar_blocks`` row (in ``BLOCK_COLUMNS`` order) summarising ``rows``.

    ``rows`` are one key's ``(seq, key_id, step, ts, value, special)`` tuples in seq order,
    as inserted into ``scalars`` (non-finite values are ``None`` plus ``special``). Min and
    max are over the finite values; on ties the first point wins. Only builtins over two
    columns, so a block of 1024 points costs well under 0.1 us a point in the writer thread.
    """
    steps = list(map(_STEP, rows))
    vals = list(map(_VALUE, rows))
    first, last = rows[0], rows[-1]
    try:
        lo, hi = min(vals), max(vals)
        bad: tuple = (0, None, None, None)
    except TypeError:  # None among the floats: the block holds NaN or inf
        i = vals.index(None)
        bad = (vals.count(None), steps[i], rows[i][3], rows[i][5])
        finite = [v for v in vals if v is not None]
        lo, hi = (min(finite), max(finite)) if finite else (None, None)
    if lo is None:
        extremes: tuple = (None, None, None, None, None, None)
    else:
        i_lo, i_hi = vals.index(lo), vals.index(hi)
        extremes = (lo, steps[i_lo], rows[i_lo][3], hi, steps[i_hi], rows[i_hi][3])
    return (first[1], first[0], last[0], len(rows), min(steps), max(steps), first[3], last[3],
            *extremes, first[4], last[4], *bad)


def cut_blocks(rows: list[tuple], size: int = BLOCK_SIZE) -> tuple[list[tuple], list[tuple]]:
    """Split one key's open rows into full-block rows and the rest (the new open block)."""
    full = len(rows) - len(rows) % size
    if not full:
        return [], rows
    return [block_row(rows[i:i + size]) for i in range(0, full, size)], rows[full:]


def dumps(obj: Any) -> str:
    return orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS,
                        default=repr).decode()


def loads(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)


def connect(path: str, readonly: bool = False) -> sqlite3.Connection:
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10, check_same_thread=False)
    else:
        conn = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL keeps committed transactions across a process kill (not across power loss),
        # at a fraction of FULL's fsync cost.
        conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=10000")
    return conn


class RunWriter:
    """Owned by the writer thread: every write to a run's database goes through here.

    The writer thread is the only writer of ``scalars`` and ``scalar_blocks``, so it numbers
    points itself (``next_seq``, the rowid) and keeps each key's open block in memory: the
    rows logged since the key's last block, turned into a ``scalar_blocks`` row once
    ``BLOCK_SIZE`` of them exist.
    """

    def __init__(self, run_dir: str) -> None:
        self.run_dir = run_dir
        self.media_dir = os.path.join(run_dir, MEDIA_DIR)
        os.makedirs(self.media_dir, exist_ok=True)
        self.conn = connect(os.path.join(run_dir, DB_NAME))
        self._upgrade_schema()
        self._key_ids: dict[str, int] = {
            name: kid for kid, name in self.conn.execute("SELECT id, name FROM metric_keys")
        }
        self.next_seq = 1
        self._open: dict[int, list[tuple]] = {}
        self._load_open_blocks()

    def _upgrade_schema(self) -> None:
        # One transaction: a schema-1 database (resumed run) gets the (key_id, seq) index and
        # the blocks table, and loses the (key_id, step) index so inserts keep paying for a
        # single secondary index. Readers see the old schema or the new one, never a mix.
        try:
            self.conn.executescript(
                "BEGIN IMMEDIATE;" + SCHEMA + "DROP INDEX IF EXISTS scalars_by_key;"
                f"UPDATE run SET schema_version = {SCHEMA_VERSION} WHERE schema_version IS NOT {SCHEMA_VERSION};"
                "COMMIT;")
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise

    def _load_open_blocks(self) -> None:
        """Rebuild ``next_seq`` and every key's open block from disk (a resumed run).

        The open block is every row after the key's last block. Where those fill whole blocks
        (a schema-1 database, or rows inserted by something else) the blocks are written now,
        so no row is ever left between two blocks of its key."""
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            last = dict(conn.execute("SELECT key_id, MAX(seq_last) FROM scalar_blocks GROUP BY key_id"))
            blocks: list[tuple] = []
            opened: dict[int, list[tuple]] = {}
            for kid in self._key_ids.values():
                rows = conn.execute(
                    "SELECT seq, key_id, step, ts, value, special FROM scalars "
                    "WHERE key_id = ? AND seq > ? ORDER BY seq", (kid, last.get(kid, 0))).fetchall()
                done, rest = cut_blocks(rows)
                blocks += done
                if rest:
                    opened[kid] = rest
            if blocks:
                conn.executemany(_INSERT_BLOCK, blocks)
            top = conn.execute("SELECT MAX(seq) FROM scalars").fetchone()[0]
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        self._open = opened
        self.next_seq = (top or 0) + 1

    def create_run(self, row: dict[str, Any]) -> None:
        row = {**row, "schema_version": SCHEMA_VERSION}
        cols = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        self.conn.execute(f"INSERT OR REPLACE INTO run ({cols}) VALUES ({marks})", list(row.values()))

    def update_run(self, **fields: Any) -> None:
        sets = ", ".join(f"{k} = ?" for k in fields)
        self.conn.execute(f"UPDATE run SET {sets}", list(fields.values()))

    def key_id(self, name: str) -> int:
        kid = self._key_ids.get(name)
        if kid is None:
            cur = self.conn.execute("INSERT OR IGNORE INTO metric_keys (name) VALUES (?)", (name,))
            kid = cur.lastrowid if cur.rowcount else self.conn.execute(
                "SELECT id FROM metric_keys WHERE name = ?", (name,)).fetchone()[0]
            self._key_ids[name] = kid
        return kid

    def write_batch(self, scalars: Sequence[tuple], media: Sequence[tuple],
                    console: Sequence[tuple], run_fields: dict[str, Any] | None = None,
                    by_key: dict[int, list[tuple]] | None = None) -> None:
        """One transaction per flush: a SIGKILL loses at most the batch being built.

        ``scalars`` are ``(seq, key_id, step, ts, value, special)`` rows numbered from
        ``next_seq`` up, in seq order; ``by_key`` is the same rows grouped by key id (the writer
        thread has it for free; it is rebuilt here when not given). Blocks completed by these
        rows go into the same transaction; the in-memory open blocks change only after COMMIT,
        so a failed write leaves them matching the disk.
        """
        conn = self.conn
        blocks: list[tuple] = []
        opened: dict[int, list[tuple]] = {}
        if scalars:
            if by_key is None:
                by_key = {}
                for row in scalars:
                    by_key.setdefault(row[1], []).append(row)
            old = self._open
            for kid, rows in by_key.items():
                acc = old.get(kid)
                acc = acc + rows if acc else rows
                if len(acc) >= BLOCK_SIZE:
                    done, acc = cut_blocks(acc)
                    blocks += done
                opened[kid] = acc
        conn.execute("BEGIN")
        try:
            if scalars:
                conn.executemany(_INSERT_SCALAR, scalars)
            if blocks:
                conn.executemany(_INSERT_BLOCK, blocks)
            if media:
                conn.executemany(
                    "INSERT INTO media (key, step, ts, kind, path, caption, payload) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    media)
            if console:
                conn.executemany("INSERT INTO console (ts, stream, line) VALUES (?, ?, ?)", console)
            if run_fields:
                self.update_run(**run_fields)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        if scalars:
            self._open.update(opened)
            self.next_seq = max(self.next_seq, scalars[-1][0] + 1)

    @property
    def open_counts(self) -> dict[int, int]:
        """Per key id, how many points wait in its open block (not yet in ``scalar_blocks``)."""
        return {kid: len(rows) for kid, rows in self._open.items()}

    def close(self) -> None:
        try:
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            self.conn.close()


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


def now() -> float:
    return time.time()
