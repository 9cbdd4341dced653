"""The tracking server's database: SQLAlchemy 2 tables and engine setup.

SQLite is the default (one file, fine for one server process or a few workers); PostgreSQL
(``postgresql://...``, driven by psycopg 3) is for shared use, where several stateless server
processes sit behind one load balancer. Every record table is keyed by ``(run_pk, seq)``,
the client's own sequence number, and every insert is ``ON CONFLICT DO NOTHING``: a replayed
batch, an overlapping ``seetrain sync`` or two servers racing on the same batch store each
record once. No SQL is built from strings; everything goes through SQLAlchemy Core.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.pool import NullPool

__all__ = ["Database", "metadata", "normalize_url", "runs", "scalars", "scalar_chunks", "media", "console",
           "batches"]

from seetrain._jsonsafe import NONFINITE, float_text
from seetrain.limits import MAX_KEY_LENGTH, MAX_PROJECT_LENGTH, MAX_RUN_ID_LENGTH

metadata = MetaData()
# 64-bit keys on PostgreSQL; SQLite needs exactly INTEGER for an AUTOINCREMENT key (it is 64-bit).
PK = BigInteger().with_variant(Integer, "sqlite")

runs = Table(
    "runs", metadata,
    # AUTOINCREMENT on SQLite: a primary key is never handed out twice, not even after the
    # insert that first took it was rolled back (a plain rowid would be reused).
    Column("pk", PK, primary_key=True, autoincrement=True),
    Column("project", String(MAX_PROJECT_LENGTH), nullable=False),
    Column("run_id", String(MAX_RUN_ID_LENGTH), nullable=False),
    Column("name", Text),
    Column("description", Text),
    Column("tags", Text),
    Column("group_name", Text),
    Column("status", String(32), nullable=False, default="running"),
    Column("created_at", Float),
    Column("finished_at", Float),
    Column("heartbeat_at", Float),
    Column("hostname", Text),
    Column("pid", BigInteger),
    Column("config", Text),
    Column("metadata", Text),
    Column("summary", Text),
    Column("stats", Text),
    Column("error", Text),
    # The client's snapshot time: an older snapshot replayed late never overwrites a newer one.
    Column("snapshot_at", Float, nullable=False, default=0.0),
    Column("received_at", Float),
    # The identity of the local store the run's data comes from: a batch from another store
    # under the same run id is a conflict (409), never mixed into this run.
    Column("store_id", String(64)),
    UniqueConstraint("project", "run_id", name="runs_project_run_id"),
    sqlite_autoincrement=True,
)
Index("runs_by_group", runs.c.project, runs.c.group_name)


def _record_columns() -> list[Column[Any]]:
    """The columns a table of logged records starts with: the run, the client's seq (the two
    make the key, so a replay stores a record once), the key, step and time it was logged at."""
    return [Column("run_pk", PK, ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True),
            Column("seq", BigInteger, primary_key=True, autoincrement=False),
            Column("key", String(MAX_KEY_LENGTH), nullable=False),
            Column("step", BigInteger, nullable=False),
            Column("ts", Float, nullable=False)]


scalars = Table(
    "scalars", metadata, *_record_columns(),
    Column("value", Float),
    Column("special", String(8)),
)
Index("scalars_by_key", scalars.c.run_pk, scalars.c.key, scalars.c.step)

# Metric points as packed chunks (the codec of seetrain.storage.chunks, shared with the local store):
# one row per (run, key, first seq) holding that key's seq/step/ts/value arrays (they travel
# compressed and are stored plain, so reading a series back is a frombuffer per column).
# Ingest writes a handful of rows per batch instead of one per point, and a chart reads a
# series back as a few blobs. ``scalars`` above holds the rows of servers before chunks;
# readers merge both (Database.read_series).
scalar_chunks = Table(
    "scalar_chunks", metadata,
    Column("run_pk", PK, ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True),
    Column("key", String(MAX_KEY_LENGTH), primary_key=True),
    Column("seq_lo", BigInteger, primary_key=True, autoincrement=False),
    Column("seq_hi", BigInteger, nullable=False),
    Column("n", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
)
Index("scalar_chunks_by_seq", scalar_chunks.c.run_pk, scalar_chunks.c.seq_hi)

media = Table(
    "media", metadata, *_record_columns(),
    Column("kind", String(64), nullable=False),
    Column("path", Text),
    Column("caption", Text),
    Column("payload", Text),
)
Index("media_by_key", media.c.run_pk, media.c.kind, media.c.key)

console = Table(
    "console", metadata,
    Column("run_pk", PK, ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True),
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("ts", Float, nullable=False),
    Column("stream", String(16), nullable=False),
    Column("line", Text, nullable=False),
)

# A batch id already here means the whole batch was committed: the replay is answered at once.
batches = Table(
    "batches", metadata,
    Column("batch_id", String(400), primary_key=True),
    Column("run_pk", PK, ForeignKey("runs.pk", ondelete="CASCADE"), nullable=False),
    Column("records", BigInteger, nullable=False),
    Column("received_at", Float, nullable=False),
)

# What the dashboard saves on the server (seetrain.server.db_views): saved views and the custom
# panel layout per project, and run edits (rename, notes, tags, archived) per run.
project_views = Table(
    "project_views", metadata,
    Column("project", String(MAX_PROJECT_LENGTH), primary_key=True),
    Column("name", String(200), primary_key=True),  # "" holds the panel layout
    Column("state", Text, nullable=False),
    Column("saved_at", Float, nullable=False),
)

run_edits = Table(
    "run_edits", metadata,
    Column("project", String(MAX_PROJECT_LENGTH), primary_key=True),
    Column("run_id", String(MAX_RUN_ID_LENGTH), primary_key=True),
    Column("edits", Text, nullable=False),
)

RECORD_TABLES = {"scalars": scalars, "media": media, "console": console}
RUN_FIELDS = ("name", "description", "tags", "group_name", "status", "created_at", "finished_at",
              "heartbeat_at", "hostname", "pid", "config", "metadata", "summary", "stats", "error")


def normalize_url(url: str | None) -> str:
    """``sqlite:///path`` / ``postgresql://...`` to a SQLAlchemy URL; psycopg 3 is the PG driver."""
    if not url:
        url = "sqlite:///" + os.path.abspath("seetrain_server.sqlite")
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _sqlite_immediate(dbapi_conn: Any, record: Any) -> None:
    _sqlite_pragmas(dbapi_conn, record)
    dbapi_conn.isolation_level = None  # the "begin" listener emits BEGIN IMMEDIATE itself


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets the dashboard read while ingest writes; busy_timeout lets several uvicorn
    # workers share the file instead of failing with "database is locked".
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


class Database:
    """Engine plus the few queries ingest needs; the dashboard's queries live in db_source."""

    def __init__(self, url: str | None = None, *, create: bool = True, pool_size: int = 5) -> None:
        self.url = normalize_url(url)
        sa_url = make_url(self.url)
        self.dialect = sa_url.get_backend_name()
        if self.dialect == "sqlite":
            if sa_url.database and sa_url.database != ":memory:":
                os.makedirs(os.path.dirname(os.path.abspath(sa_url.database)), exist_ok=True)
            # NullPool: a fresh connection per request is cheap for SQLite and avoids sharing
            # a connection across threads.
            self.engine: Engine = create_engine(self.url, poolclass=NullPool,
                                                connect_args={"check_same_thread": False, "timeout": 30})
            event.listen(self.engine, "connect", _sqlite_pragmas)
            # Ingest reads what a run holds, then writes: BEGIN IMMEDIATE takes SQLite's write
            # lock first, so two workers cannot both decide a seq range is new.
            # Pooled (kept open): closing the last connection to a WAL database checkpoints
            # the whole WAL, which cost ~15 ms per ingest request with a fresh connection each.
            self.write_engine: Engine = create_engine(self.url, pool_size=2, max_overflow=6,
                                                      connect_args={"check_same_thread": False, "timeout": 30})
            event.listen(self.write_engine, "connect", _sqlite_immediate)
            event.listen(self.write_engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
            self._insert: Callable[..., Any] = sqlite.insert
        elif self.dialect == "postgresql":
            self.engine = create_engine(self.url, pool_size=pool_size, max_overflow=pool_size,
                                        pool_pre_ping=True)
            self.write_engine = self.engine
            self._insert = postgresql.insert
        else:
            raise ValueError(f"unsupported database {self.dialect!r}: use sqlite:/// or postgresql://")
        self._run_pks: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        if create:
            self.create_schema()

    def create_schema(self) -> None:
        # Two servers starting together against one empty PostgreSQL may race on CREATE TABLE;
        # the loser retries once, when the tables exist and checkfirst skips them.
        for attempt in range(3):
            try:
                metadata.create_all(self.engine, checkfirst=True)
                self._upgrade()
                return
            except Exception:  # noqa: BLE001 - re-raised on the last attempt
                if attempt == 2:
                    raise
                time.sleep(0.2 * (attempt + 1))

    def _upgrade(self) -> None:
        """Bring a database made by an older server up to date (new columns, 64-bit ints)."""
        from sqlalchemy import inspect, text

        have = {c["name"]: c for c in inspect(self.engine).get_columns("runs")}
        with self.engine.begin() as conn:
            if "store_id" not in have:
                # Fixed DDL, no user input.
                conn.execute(text("ALTER TABLE runs ADD COLUMN store_id VARCHAR(64)"))
            if self.dialect == "postgresql":
                for table, column in (("scalars", "seq"), ("scalars", "step"), ("media", "seq"),
                                      ("media", "step"), ("console", "seq"), ("runs", "pid")):
                    cols = {c["name"]: c for c in inspect(conn).get_columns(table)}
                    if type(cols[column]["type"]).__name__ == "INTEGER":
                        conn.execute(text(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE BIGINT"))

    def dispose(self) -> None:
        self.engine.dispose()
        self.write_engine.dispose()

    @contextlib.contextmanager
    def writer(self) -> Iterator[Connection]:
        """A write transaction (``with db.writer() as conn``) that holds the run's write lock
        from the start: BEGIN IMMEDIATE on SQLite; on PostgreSQL see :meth:`lock_run`.

        On SQLite the threads of one process also queue on a lock first: SQLite's own busy
        handler sleeps in steps of up to 100 ms while it waits, which made the latency tail of
        concurrent ingest requests; a thread waiting on the lock wakes the moment it is free."""
        if self.dialect != "sqlite":
            with self.write_engine.begin() as conn:
                yield conn
            return
        with self._write_lock, self.write_engine.begin() as conn:
            yield conn

    def lock_run(self, conn: Connection, run_pk: int) -> None:
        """Serialise writers of one run on PostgreSQL (an advisory lock until commit)."""
        if self.dialect == "postgresql":
            from sqlalchemy import text

            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": int(run_pk)})

    # ---- metric chunks -----------------------------------------------------------------------
    def stored_points(self, conn: Connection, run_pk: int, lo: int, hi: int) -> dict[int, tuple[Any, ...]]:
        """Points of the run with seq in [lo, hi], from chunks and older rows:
        seq -> (key, step, ts, value) with non-finite values as floats."""
        from seetrain.storage import chunks as _chunks

        out: dict[int, tuple[Any, ...]] = {}
        c = scalar_chunks.c
        for key, data in conn.execute(select(c.key, c.data).where(c.run_pk == run_pk, c.seq_hi >= lo,
                                                                   c.seq_lo <= hi)):
            cols = _chunks.unpack(data)
            inside = (cols.seq >= lo) & (cols.seq <= hi)
            for q, st, t, v in zip(cols.seq[inside].tolist(), cols.step[inside].tolist(),
                                   cols.ts[inside].tolist(), cols.value[inside].tolist()):
                out[q] = (key, st, t, v)
        s = scalars.c
        for q, key, st, t, v, sp in conn.execute(select(s.seq, s.key, s.step, s.ts, s.value, s.special).where(
                s.run_pk == run_pk, s.seq >= lo, s.seq <= hi)):
            out[q] = (key, st, t, NONFINITE[sp] if sp else (math.nan if v is None else v))
        return out

    def insert_chunks(self, conn: Connection, run_pk: int, chunks: Sequence[tuple[str, Any]]) -> None:
        """Store (key, Columns) pairs as compressed chunk rows."""
        from seetrain.storage import chunks as _chunks

        rows = [{"run_pk": run_pk, "key": key, "seq_lo": int(cols.seq[0]), "seq_hi": int(cols.seq[-1]),
                 "n": len(cols.seq),
                 # Stored uncompressed: a chart reads a series back with one frombuffer per column
                 # (zlib decompression was 80% of a cold 8 x 200k-point overlay read).
                 "data": _chunks.pack(cols.seq, cols.step, cols.ts, cols.value)}
                for key, cols in chunks if len(cols.seq)]
        if rows:
            stmt = self._insert(scalar_chunks).on_conflict_do_nothing(index_elements=["run_pk", "key", "seq_lo"])
            conn.execute(stmt, rows)

    def read_series(self, conn: Connection, run_pk: int, key: str, after_seq: int = 0) -> Any:
        """One metric's points with seq > ``after_seq`` in seq order, as numpy arrays
        (seq, step, ts, value; NaN/inf as floats), from chunks and older rows together."""
        import numpy as np

        from seetrain.storage import chunks as _chunks

        c = scalar_chunks.c
        parts = [_chunks.unpack(data) for (data,) in conn.execute(
            select(c.data).where(c.run_pk == run_pk, c.key == key, c.seq_hi > after_seq).order_by(c.seq_lo))]
        s = scalars.c
        legacy = conn.execute(select(s.seq, s.step, s.ts, s.value, s.special).where(
            s.run_pk == run_pk, s.key == key, s.seq > after_seq).order_by(s.seq)).all()
        if legacy:
            seq, step, ts, value, special = zip(*legacy)
            vals = np.array([(NONFINITE[sp] if sp else (math.nan if v is None else v))
                             for v, sp in zip(value, special)], dtype=np.float64)
            parts.append(_chunks.Columns(np.array(seq, np.int64), np.array(step, np.int64),
                                         np.array(ts, np.float64), vals))
        if not parts:
            empty_i, empty_f = np.empty(0, np.int64), np.empty(0, np.float64)
            return _chunks.Columns(empty_i, empty_i, empty_f, empty_f)
        seqs = np.concatenate([p.seq for p in parts])
        cols = [np.concatenate([getattr(p, f) for p in parts]) for f in ("step", "ts", "value")]
        keep = seqs > after_seq
        if bool(keep.all()) and (len(seqs) < 2 or bool((seqs[1:] > seqs[:-1]).all())):
            return _chunks.Columns(seqs, *cols)  # the usual case: chunks in order, no overlap
        # Sorted by seq, each seq once (two servers racing on one replay may both store it).
        seq_k = seqs[keep]
        _, first = np.unique(seq_k, return_index=True)
        return _chunks.Columns(seq_k[first], *(col[keep][first] for col in cols))

    def series_count(self, conn: Connection, run_pk: int, key: str) -> int:
        from sqlalchemy import func

        c, s = scalar_chunks.c, scalars.c
        chunked_n = conn.execute(select(func.coalesce(func.sum(c.n), 0)).where(c.run_pk == run_pk,
                                                                               c.key == key)).scalar_one()
        rows_n = conn.execute(select(func.count()).select_from(scalars).where(s.run_pk == run_pk,
                                                                               s.key == key)).scalar_one()
        return int(chunked_n) + int(rows_n)

    def metric_keys(self, conn: Connection, run_pk: int) -> list[str]:
        c, s = scalar_chunks.c, scalars.c
        keys = set(conn.execute(select(c.key).where(c.run_pk == run_pk).distinct()).scalars())
        keys.update(conn.execute(select(s.key).where(s.run_pk == run_pk).distinct()).scalars())
        return sorted(keys)

    # ---- ingest ------------------------------------------------------------------------------
    def run_pk(self, conn: Connection, project: str, run_id: str, fresh: dict[tuple[str, str], int] | None = None
               ) -> int:
        """The run's primary key, creating a placeholder row if the run is not known yet.

        A key found or made inside a transaction goes to ``fresh``, not to the shared cache:
        the caller moves it there with :meth:`remember` only after the commit, so a batch
        that rolls back never leaves a key behind that the database does not hold.
        """
        cache_key = (project, run_id)
        pk = self._run_pks.get(cache_key)
        if pk is not None:
            return pk
        stmt = self._insert(runs).values(project=project, run_id=run_id, status="running",
                                          snapshot_at=0.0, received_at=time.time())
        conn.execute(stmt.on_conflict_do_nothing(index_elements=["project", "run_id"]))
        pk = conn.execute(select(runs.c.pk).where(runs.c.project == project,
                                                  runs.c.run_id == run_id)).scalar_one()
        if fresh is not None:
            fresh[cache_key] = pk
        return pk

    def remember(self, fresh: dict[tuple[str, str], int]) -> None:
        """Cache run keys of a committed transaction (keys are never reused, runs never renamed)."""
        if fresh:
            with self._lock:
                self._run_pks.update(fresh)

    def upsert_run(self, conn: Connection, project: str, run_id: str, fields: dict[str, Any],
                   snapshot_at: float, fresh: dict[tuple[str, str], int] | None = None) -> int:
        values = {k: fields.get(k) for k in RUN_FIELDS if k in fields}
        values.update(project=project, run_id=run_id, snapshot_at=snapshot_at, received_at=time.time())
        values.setdefault("status", "running")
        stmt = self._insert(runs).values(**values)
        update = {k: stmt.excluded[k] for k in (*values.keys(),) if k not in ("project", "run_id")}
        stmt = stmt.on_conflict_do_update(
            index_elements=["project", "run_id"], set_=update,
            where=runs.c.snapshot_at < stmt.excluded.snapshot_at)
        conn.execute(stmt)
        return self.run_pk(conn, project, run_id, fresh)

    def claim_store(self, conn: Connection, run_pk: int, store_id: str) -> str:
        """Tie the run to the local store ``store_id`` if no store has claimed it yet; return
        the store the run belongs to (equal to ``store_id`` unless another store has it)."""
        from sqlalchemy import update

        conn.execute(update(runs).where(runs.c.pk == run_pk, runs.c.store_id.is_(None)).values(store_id=store_id))
        return conn.execute(select(runs.c.store_id).where(runs.c.pk == run_pk)).scalar_one()

    def batch_seen(self, conn: Connection, run_pk: int, batch_id: str) -> bool:
        """True when this run committed ``batch_id`` before. Batch ids are kept per run, so a
        batch id sent under another run (by mistake or on purpose) never hides this run's batch."""
        key = _batch_key(run_pk, batch_id)
        return conn.execute(select(batches.c.batch_id).where(batches.c.batch_id == key)).first() is not None

    def existing(self, conn: Connection, table: str, run_pk: int, lo: int, hi: int,
                 columns: Sequence[str]) -> dict[int, tuple[Any, ...]]:
        """Rows already stored for ``run_pk`` with seq in [lo, hi]: seq -> ``columns`` values."""
        target = RECORD_TABLES[table]
        stmt = select(target.c.seq, *(target.c[c] for c in columns)).where(
            target.c.run_pk == run_pk, target.c.seq >= lo, target.c.seq <= hi)
        return {row[0]: tuple(row[1:]) for row in conn.execute(stmt)}

    def insert_records(self, conn: Connection, table: str, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        target = RECORD_TABLES[table]
        stmt = self._insert(target).on_conflict_do_nothing(index_elements=["run_pk", "seq"])
        conn.execute(stmt, list(rows))

    def mark_batch(self, conn: Connection, batch_id: str, run_pk: int, records: int) -> bool:
        """Record the batch id; False if another request committed it first."""
        stmt = self._insert(batches).values(batch_id=_batch_key(run_pk, batch_id), run_pk=run_pk,
                                            records=records, received_at=time.time())
        result = conn.execute(stmt.on_conflict_do_nothing(index_elements=["batch_id"]))
        return bool(result.rowcount)

    # ---- tests and tools ---------------------------------------------------------------------
    def count(self, table: str, project: str | None = None, run_id: str | None = None) -> int:
        """Rows of ``table`` (``scalars`` counts metric points, chunked or not)."""
        from sqlalchemy import func

        def one(target: Table, what: Any) -> int:
            stmt = select(what).select_from(target)
            if project is not None and target is not runs:
                stmt = stmt.join(runs, runs.c.pk == target.c.run_pk).where(runs.c.project == project)
                if run_id is not None:
                    stmt = stmt.where(runs.c.run_id == run_id)
            elif project is not None:
                stmt = stmt.where(runs.c.project == project)
            with self.engine.connect() as conn:
                return int(conn.execute(stmt).scalar_one() or 0)

        if table == "scalars":
            return one(scalars, func.count()) + one(scalar_chunks, func.sum(scalar_chunks.c.n))
        return one({**RECORD_TABLES, "runs": runs, "batches": batches}[table], func.count())

    def scalar_rows(self, project: str, run_id: str) -> list[tuple[int, str, int, float | None, str | None]]:
        """(seq, key, step, value, special) of one run in seq order (value None when special)."""
        with self.engine.connect() as conn:
            pk = conn.execute(select(runs.c.pk).where(runs.c.project == project, runs.c.run_id == run_id)).scalar()
            if pk is None:
                return []
            out = []
            for key in self.metric_keys(conn, pk):
                cols = self.read_series(conn, pk, key)
                for q, st, v in zip(cols.seq.tolist(), cols.step.tolist(), cols.value.tolist()):
                    special = float_text(v)
                    out.append((q, key, st, v if special is None else None, special))
        out.sort()
        return out


def _batch_key(run_pk: int, batch_id: str) -> str:
    return f"{run_pk}:{batch_id}"


def chunked(rows: Iterable[Any], size: int) -> Iterable[list[Any]]:
    chunk: list[Any] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
