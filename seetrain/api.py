"""Reading runs back from a local store: ``seetrain.Api(logdir=...)``.

Readers open each run database read-only, so reading is safe while runs are still writing.
"""

from __future__ import annotations

import math
import os
import socket
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from seetrain._settings import resolve
from seetrain._store import DB_NAME, connect, decode_scalar, iter_run_dirs, loads
from seetrain.artifacts.reader import ArtifactsApi

# A running run whose heartbeat is older than this is shown as crashed.
HEARTBEAT_TIMEOUT = 30.0
_HOST = socket.gethostname()


@dataclass
class MediaRecord:
    key: str
    step: int
    timestamp: float
    kind: str
    path: str | None
    caption: str | None
    payload: dict[str, Any] = field(default_factory=dict)
    seq: int = 0


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def live_status(status: str, heartbeat_at: float | None, pid: int | None, hostname: str | None,
                now: float | None = None) -> str:
    """``running`` stays running only while the process is alive and its heartbeat is fresh."""
    if status != "running":
        return status
    if hostname == _HOST and pid and not _pid_alive(pid):
        return "crashed"
    if heartbeat_at is not None and (now or time.time()) - heartbeat_at > HEARTBEAT_TIMEOUT:
        return "crashed"
    return status


class RunView:
    """A run read from disk. Cheap to create: data is read when asked for."""

    def __init__(self, run_dir: str, row: dict[str, Any]) -> None:
        self.dir = run_dir
        self.path = os.path.join(run_dir, DB_NAME)
        self._row = row
        self.id: str = row["id"]
        self.project: str = row["project"]
        self.name: str = row["name"] or row["id"]
        self.description: str = row["description"] or ""
        self.tags: list[str] = loads(row["tags"]) or []
        self.group: str | None = row["group_name"]
        self.created_at: float = row["created_at"]
        self.finished_at: float | None = row["finished_at"]
        self.heartbeat_at: float | None = row["heartbeat_at"]
        self.hostname: str | None = row["hostname"]
        self.pid: int | None = row["pid"]
        self.raw_status: str = row["status"]
        self.error: str | None = row["error"]

    @property
    def status(self) -> str:
        return live_status(self.raw_status, self.heartbeat_at, self.pid, self.hostname)

    @property
    def duration(self) -> float:
        end = self.finished_at or self.heartbeat_at or self.created_at
        return max(0.0, end - self.created_at)

    @property
    def config(self) -> dict[str, Any]:
        return loads(self._row["config"]) or {}

    @property
    def metadata(self) -> dict[str, Any]:
        return loads(self._row["metadata"]) or {}

    @property
    def stats(self) -> dict[str, Any]:
        return loads(self._row["stats"]) or {}

    @property
    def framework(self) -> str | None:
        fw = self.config.get("framework")
        if isinstance(fw, dict):
            return fw.get("name")
        return fw

    @property
    def summary(self) -> dict[str, dict[str, Any]]:
        """Per metric: last, min, max, count, step of the last value, non-finite count."""
        out = loads(self._row["summary"]) or {}
        for entry in out.values():
            if isinstance(entry.get("last"), str):
                entry["last"] = float(entry["last"])
        return out

    @contextmanager
    def _conn(self) -> Iterator[Any]:
        conn = connect(self.path, readonly=True)
        try:
            yield conn
        finally:
            conn.close()

    def keys(self) -> list[str]:
        with self._conn() as conn:
            return [r[0] for r in conn.execute("SELECT name FROM metric_keys ORDER BY name")]

    def scalars(self, key: str) -> list[tuple[int, float, float]]:
        """Every point of one metric as (step, timestamp, value), in logging order."""
        with self._conn() as conn:
            kid = conn.execute("SELECT id FROM metric_keys WHERE name = ?", (key,)).fetchone()
            if kid is None:
                return []
            # The (key_id, seq) index gives these rows already in order; a schema-1 database
            # has a (key_id, step) index instead and SQLite sorts, with the same answer.
            rows = conn.execute("SELECT step, ts, value, special FROM scalars WHERE key_id = ? ORDER BY seq",
                                kid).fetchall()
        return [(step, ts, decode_scalar(v, sp)) for step, ts, v, sp in rows]

    def history(self, keys: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """Rows merged by step: ``{"_step": s, "_timestamp": t, key: value, ...}``."""
        wanted = None if keys is None else set(keys)
        rows: dict[int, dict[str, Any]] = {}
        with self._conn() as conn:
            names = dict(conn.execute("SELECT id, name FROM metric_keys"))
            cur = conn.execute("SELECT key_id, step, ts, value, special FROM scalars ORDER BY seq")
            for kid, step, ts, v, sp in cur:
                name = names[kid]
                if wanted is not None and name not in wanted:
                    continue
                row = rows.get(step)
                if row is None:
                    row = rows[step] = {"_step": step, "_timestamp": ts}
                row[name] = decode_scalar(v, sp)
        return [rows[s] for s in sorted(rows)]

    def history_df(self, keys: Iterable[str] | None = None) -> Any:
        """The history as a pandas DataFrame (needs pandas)."""
        import pandas as pd

        return pd.DataFrame(self.history(keys))

    def media(self, key: str | None = None, kind: str | None = None) -> list[MediaRecord]:
        sql = "SELECT seq, key, step, ts, kind, path, caption, payload FROM media"
        cond, args = [], []
        if key is not None:
            cond.append("key = ?")
            args.append(key)
        if kind is not None:
            cond.append("kind = ?")
            args.append(kind)
        if cond:
            sql += " WHERE " + " AND ".join(cond)
        sql += " ORDER BY seq"
        with self._conn() as conn:
            rows = conn.execute(sql, args).fetchall()
        return [MediaRecord(key=k, step=st, timestamp=ts, kind=kd,
                            path=os.path.join(self.dir, p) if p else None, caption=c,
                            payload=loads(pl) or {}, seq=seq)
                for seq, k, st, ts, kd, p, c, pl in rows]

    def console(self, after: int = 0, limit: int = 10_000) -> list[dict[str, Any]]:
        with self._conn() as conn:
            rows = conn.execute("SELECT seq, ts, stream, line FROM console WHERE seq > ? ORDER BY seq LIMIT ?",
                                (after, limit)).fetchall()
        return [{"seq": s, "timestamp": t, "stream": st, "line": ln} for s, t, st, ln in rows]

    def point_count(self) -> int:
        with self._conn() as conn:
            return conn.execute("SELECT COUNT(*) FROM scalars").fetchone()[0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "project": self.project, "name": self.name, "description": self.description,
            "tags": self.tags, "group": self.group, "status": self.status, "created_at": self.created_at,
            "finished_at": self.finished_at, "duration": self.duration, "framework": self.framework,
            "config": self.config, "summary": _json_safe(self.summary), "metadata": self.metadata,
            "stats": self.stats, "error": self.error,
        }

    def __repr__(self) -> str:
        return f"<RunView {self.project}/{self.id} name={self.name!r} status={self.status}>"


def _json_safe(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_json_safe(v) for v in obj]
    return obj


def read_run(run_dir: str) -> RunView | None:
    path = os.path.join(run_dir, DB_NAME)
    try:
        conn = connect(path, readonly=True)
        try:
            cur = conn.execute("SELECT * FROM run")
            cols = [c[0] for c in cur.description]
            row = cur.fetchone()
        finally:
            conn.close()
    except Exception:  # noqa: BLE001 - a half-created run folder is simply not listed yet
        return None
    if row is None:
        return None
    return RunView(run_dir, dict(zip(cols, row)))


class Api(ArtifactsApi):
    """Read projects, runs, config, summaries, history and media from a logdir."""

    def __init__(self, logdir: str | os.PathLike[str] | None = None) -> None:
        self.logdir = resolve(logdir=logdir).logdir if logdir is None else os.path.abspath(os.fspath(logdir))

    def projects(self) -> list[str]:
        return sorted({proj for proj, _ in iter_run_dirs(self.logdir)})

    def runs(self, project: str | None = None, status: str | None = None) -> list[RunView]:
        out = []
        for _, rdir in iter_run_dirs(self.logdir, project):
            view = read_run(rdir)
            if view is not None and (status is None or view.status == status):
                out.append(view)
        out.sort(key=lambda r: r.created_at)
        return out

    def run(self, ref: str) -> RunView:
        """A run by id, ``project/id``, name (latest with that name) or folder path."""
        if os.path.isfile(os.path.join(ref, DB_NAME)):
            view = read_run(ref)
            if view is not None:
                return view
        project, _, run_id = ref.rpartition("/")
        candidates = self.runs(project or None)
        for view in candidates:
            if view.id == run_id:
                return view
        named = [v for v in candidates if v.name == run_id]
        if named:
            return named[-1]
        raise KeyError(f"no run {ref!r} in {self.logdir}")
