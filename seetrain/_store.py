"""The local store: one SQLite database (WAL mode) per run, media files beside it.

Layout: ``<logdir>/<project>/<run_id>/run.sqlite`` and ``.../media/``. One database per run
means processes logging into one logdir never contend for a lock; readers (dashboard, Api,
replicator) open the same file read-only, which WAL allows while the writer keeps writing.
"""

from __future__ import annotations

import math
import os
import sqlite3
import time
from collections.abc import Iterable, Sequence
from typing import Any

import orjson

DB_NAME = "run.sqlite"
MEDIA_DIR = "media"
SCHEMA_VERSION = 1

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
CREATE INDEX IF NOT EXISTS scalars_by_key ON scalars (key_id, step);
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
    """Owned by the writer thread: every write to a run's database goes through here."""

    def __init__(self, run_dir: str) -> None:
        self.run_dir = run_dir
        self.media_dir = os.path.join(run_dir, MEDIA_DIR)
        os.makedirs(self.media_dir, exist_ok=True)
        self.conn = connect(os.path.join(run_dir, DB_NAME))
        self.conn.executescript(SCHEMA)
        self._key_ids: dict[str, int] = {
            name: kid for kid, name in self.conn.execute("SELECT id, name FROM metric_keys")
        }

    def create_run(self, row: dict[str, Any]) -> None:
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
                    console: Sequence[tuple], run_fields: dict[str, Any] | None = None) -> None:
        """One transaction per flush: a SIGKILL loses at most the batch being built."""
        conn = self.conn
        conn.execute("BEGIN")
        try:
            if scalars:
                conn.executemany(
                    "INSERT INTO scalars (key_id, step, ts, value, special) VALUES (?, ?, ?, ?, ?)", scalars)
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
