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

import logging
import math
import operator
import os
import sqlite3
import time
from collections.abc import Iterable, Sequence
from typing import Any

import orjson

log = logging.getLogger("seetrain")

DB_NAME = "run.sqlite"
MEDIA_DIR = "media"
SCHEMA_VERSION = 2
BLOCK_SIZE = 1024

# scalars_by_key_seq is the (key_id, seq) index: seq is the rowid, and every SQLite index entry
# ends with the rowid, so an index on (key_id) is ordered by (key_id, seq) and SQLite searches
# it as "key_id=? AND rowid>?". Naming seq as a column too would store it twice per entry:
# measured, 37% more index pages and 10-15% slower inserts for nothing.
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
CREATE INDEX IF NOT EXISTS scalars_by_key_seq ON scalars (key_id);
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


class OpenBlock:
    """Running aggregates of one key's points since its last block: the block being filled.

    Points arrive as slices of ``(seq, key_id, step, ts, value, special)`` rows in seq order
    (non-finite values are ``None`` plus ``special``, as stored). The writer keeps only these
    twenty numbers per key, not the points, so a run with thousands of keys costs no memory
    to speak of. Min and max are over finite values; on ties the earlier point wins.
    """

    __slots__ = ("kid", "n", "seq_first", "seq_last", "step_min", "step_max", "ts_first", "ts_last",
                 "v_min", "step_at_min", "ts_at_min", "v_max", "step_at_max", "ts_at_max", "v_first",
                 "v_last", "nonfinite", "nonfinite_step", "nonfinite_ts", "nonfinite_kind")

    def __init__(self, kid: int) -> None:
        self.kid = kid
        self.n = self.nonfinite = 0
        self.seq_first = self.seq_last = self.step_min = self.step_max = None
        self.ts_first = self.ts_last = self.v_first = self.v_last = None
        self.v_min = self.step_at_min = self.ts_at_min = self.v_max = self.step_at_max = self.ts_at_max = None
        self.nonfinite_step = self.nonfinite_ts = self.nonfinite_kind = None

    def add(self, rows: Sequence[tuple]) -> None:
        """Fold rows in, with a few builtin calls over two columns (well under 0.1 us a point)."""
        steps = list(map(_STEP, rows))
        vals = list(map(_VALUE, rows))
        first, last = rows[0], rows[-1]
        lo_step, hi_step = min(steps), max(steps)
        if self.n:
            self.step_min = min(self.step_min, lo_step)
            self.step_max = max(self.step_max, hi_step)
        else:
            self.seq_first, self.ts_first, self.v_first = first[0], first[3], first[4]
            self.step_min, self.step_max = lo_step, hi_step
        self.n += len(rows)
        self.seq_last, self.ts_last, self.v_last = last[0], last[3], last[4]
        try:
            lo, hi = min(vals), max(vals)
        except TypeError:  # None among the floats: NaN or inf
            i = vals.index(None)
            if not self.nonfinite:
                self.nonfinite_step, self.nonfinite_ts, self.nonfinite_kind = steps[i], rows[i][3], rows[i][5]
            self.nonfinite += vals.count(None)
            vals_f = [v for v in vals if v is not None]
            if not vals_f:
                return
            lo, hi = min(vals_f), max(vals_f)
        if self.v_min is None or lo < self.v_min:
            i = vals.index(lo)
            self.v_min, self.step_at_min, self.ts_at_min = lo, steps[i], rows[i][3]
        if self.v_max is None or hi > self.v_max:
            i = vals.index(hi)
            self.v_max, self.step_at_max, self.ts_at_max = hi, steps[i], rows[i][3]

    def row(self) -> tuple:
        """The ``scalar_blocks`` row, in ``BLOCK_COLUMNS`` order."""
        return (self.kid, self.seq_first, self.seq_last, self.n, self.step_min, self.step_max, self.ts_first,
                self.ts_last, self.v_min, self.step_at_min, self.ts_at_min, self.v_max, self.step_at_max,
                self.ts_at_max, self.v_first, self.v_last, self.nonfinite, self.nonfinite_step,
                self.nonfinite_ts, self.nonfinite_kind)


def fill_blocks(acc: OpenBlock, rows: Sequence[tuple], done: list[tuple], size: int = BLOCK_SIZE) -> OpenBlock:
    """Fold one key's rows into its open block; each block filled to ``size`` is appended to
    ``done`` as a row and replaced by a fresh one. Returns the open block to keep."""
    i, n = 0, len(rows)
    while i < n:
        take = min(size - acc.n, n - i)
        acc.add(rows[i:i + take] if take < n else rows)
        i += take
        if acc.n >= size:
            done.append(acc.row())
            acc = OpenBlock(acc.kid)
    return acc


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
        self._open: dict[int, OpenBlock] = {}
        self._stale = False
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
        """Rebuild ``next_seq`` and every key's open block from disk (a resumed run, or after
        a failed write).

        The open block is every row after the key's last block. Where those fill whole blocks
        (a schema-1 database, or rows inserted by something else) the blocks are written now,
        so no row is ever left between two blocks of its key."""
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            last = dict(conn.execute("SELECT key_id, MAX(seq_last) FROM scalar_blocks GROUP BY key_id"))
            opened: dict[int, OpenBlock] = {}
            for kid in self._key_ids.values():
                cur = conn.execute("SELECT seq, key_id, step, ts, value, special FROM scalars "
                                   "WHERE key_id = ? AND seq > ? ORDER BY seq", (kid, last.get(kid, 0)))
                acc = OpenBlock(kid)
                while rows := cur.fetchmany(16 * BLOCK_SIZE):
                    done: list[tuple] = []
                    acc = fill_blocks(acc, rows, done)
                    if done:
                        conn.executemany(_INSERT_BLOCK, done)
                if acc.n:
                    opened[kid] = acc
            top = conn.execute("SELECT MAX(seq) FROM scalars").fetchone()[0]
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        self._open = opened
        self.next_seq = (top or 0) + 1
        self._stale = False

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
        rows go into the same transaction. If the transaction fails, the open blocks are
        rebuilt from disk, so they always describe exactly the rows after each key's last block.
        """
        conn = self.conn
        if self._stale:
            self._load_open_blocks()
        blocks: list[tuple] = []
        try:
            if scalars:
                if by_key is None:
                    by_key = {}
                    for row in scalars:
                        by_key.setdefault(row[1], []).append(row)
                self._stale = True  # until COMMIT: the open blocks hold uncommitted rows
                opened = self._open
                for kid, rows in by_key.items():
                    acc = opened.get(kid) or OpenBlock(kid)
                    opened[kid] = fill_blocks(acc, rows, blocks)
            conn.execute("BEGIN")
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
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if self._stale:
                self._reload_after_failure()
            raise
        if scalars:
            self._stale = False
            self.next_seq = max(self.next_seq, scalars[-1][0] + 1)

    def _reload_after_failure(self) -> None:
        try:
            self._load_open_blocks()
        except Exception:  # noqa: BLE001 - the write error is what the caller reports
            log.warning("seetrain: could not reload open blocks after a failed write; will retry",
                        exc_info=True)

    @property
    def open_counts(self) -> dict[int, int]:
        """Per key id, how many points wait in its open block (not yet in ``scalar_blocks``)."""
        return {kid: acc.n for kid, acc in self._open.items() if acc.n}

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
