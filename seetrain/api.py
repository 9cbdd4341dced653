"""Reading runs back from a local store: ``seetrain.Api(logdir=...)``.

Readers open each run database read-only, so reading is safe while runs are still writing.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from seetrain._jsonsafe import json_safe, revive
from seetrain._liveness import HEARTBEAT_TIMEOUT as HEARTBEAT_TIMEOUT  # re-exported (public here before)
from seetrain._liveness import HOST as _HOST
from seetrain._liveness import live_status
from seetrain._run_edits import read_edits
from seetrain._settings import resolve
from seetrain.artifacts.reader import ArtifactsApi
from seetrain.storage.recovery import needs_recovery, recover
from seetrain.storage.store import (
    DB_NAME,
    connect,
    count_points,
    iter_run_dirs,
    key_names,
    load_columns,
    loads,
)


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


class RunView:
    """A run read from disk. Cheap to create: data is read when asked for."""

    def __init__(self, run_dir: str, row: dict[str, Any]) -> None:
        self.dir = run_dir
        self.path = os.path.join(run_dir, DB_NAME)
        self._row = row
        self.id: str = row["id"]
        self.project: str = row["project"]
        # Renames, notes, tags and archiving done in the dashboard (edits.json): the edit wins.
        edits = read_edits(run_dir)
        self.name: str = edits.get("name") or row["name"] or row["id"]
        self.description: str = row["description"] or ""
        self.tags: list[str] = edits["tags"] if "tags" in edits else (loads(row["tags"]) or [])
        self.notes: str = edits.get("notes", "")
        self.archived: bool = edits.get("archived", False)
        self.edited_at: float | None = edits.get("edited_at")
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
            for name in ("last", "min", "max"):
                if name in entry:
                    entry[name] = revive(entry[name])
        return out

    @contextmanager
    def _conn(self) -> Iterator[Any]:
        conn = connect(self.path, readonly=True)
        try:
            yield conn
        finally:
            conn.close()

    def keys(self) -> list[str]:
        """The names of the run's scalar metrics, sorted."""
        with self._conn() as conn:
            return key_names(conn)

    def columns(self, key: str) -> Any:
        """Every point of one metric as numpy columns ``seq, step, ts, value`` (logging order);
        None if the run has no such metric. The fastest way to read a long metric."""
        with self._conn() as conn:
            return load_columns(conn, key)

    def scalars(self, key: str) -> list[tuple[int, float, float]]:
        """Every point of one metric as (step, timestamp, value), in logging order."""
        cols = self.columns(key)
        if cols is None:
            return []
        return list(zip(cols.step.tolist(), cols.ts.tolist(), cols.value.tolist()))

    def _long(self, keys: Iterable[str] | None) -> tuple[list[str], Any]:
        """Every point of ``keys`` (default: all) in logging order as numpy columns plus a
        key index: ``(names, (key_index, step, ts, value))``."""
        import numpy as np

        with self._conn() as conn:
            names = key_names(conn) if keys is None else list(dict.fromkeys(keys))
            found = [(name, c) for name in names if (c := load_columns(conn, name)) is not None and len(c)]
        names = [name for name, _ in found]
        if not found:
            empty = np.empty(0)
            return names, (empty.astype(np.int64), empty.astype(np.int64), empty, empty)
        seq = np.concatenate([c.seq for _, c in found])
        order = np.argsort(seq, kind="stable")
        kidx = np.concatenate([np.full(len(c), i, np.int64) for i, (_, c) in enumerate(found)])[order]
        step = np.concatenate([c.step for _, c in found])[order]
        ts = np.concatenate([c.ts for _, c in found])[order]
        value = np.concatenate([c.value for _, c in found])[order]
        return names, (kidx, step, ts, value)

    def history(self, keys: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """Rows merged by step: ``{"_step": s, "_timestamp": t, key: value, ...}``, sorted by
        step. ``_timestamp`` is the time of the step's first point; a key logged twice at one
        step keeps its later value here (:meth:`scalars` has every point)."""
        names, (kidx, step, ts, value) = self._long(keys)
        rows: dict[int, dict[str, Any]] = {}
        for k, st, t, v in zip(kidx.tolist(), step.tolist(), ts.tolist(), value.tolist()):
            row = rows.get(st)
            if row is None:
                row = rows[st] = {"_step": st, "_timestamp": t}
            row[names[k]] = v
        return [rows[s] for s in sorted(rows)]

    def history_df(self, keys: Iterable[str] | None = None) -> Any:
        """:meth:`history` as a pandas DataFrame (needs pandas), built column-wise with numpy."""
        import numpy as np
        import pandas as pd

        names, (kidx, step, ts, value) = self._long(keys)
        if not len(step):
            return pd.DataFrame(columns=["_step", "_timestamp", *names])
        steps, first = np.unique(step, return_index=True)  # first point of each step, logging order
        out = {"_step": steps, "_timestamp": ts[first]}
        pos = np.searchsorted(steps, step)
        for i, name in enumerate(names):
            col = np.full(len(steps), np.nan)
            mine = kidx == i
            col[pos[mine]] = value[mine]  # later points overwrite earlier ones at the same step
            out[name] = col
        return pd.DataFrame(out)

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
        """How many scalar points the run holds (every key)."""
        with self._conn() as conn:
            return count_points(conn)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "project": self.project, "name": self.name, "description": self.description,
            "tags": self.tags, "group": self.group, "status": self.status, "created_at": self.created_at,
            "finished_at": self.finished_at, "duration": self.duration, "framework": self.framework,
            "config": self.config, "summary": json_safe(self.summary), "metadata": self.metadata,
            "stats": self.stats, "error": self.error, "notes": self.notes, "archived": self.archived,
        }

    def __repr__(self) -> str:
        return f"<RunView {self.project}/{self.id} name={self.name!r} status={self.status}>"


def read_run(run_dir: str, recover_dead: bool = True) -> RunView | None:
    """The run in ``run_dir``; a run whose process is gone is recovered first (its journal tail
    moved into the store, its summary rebuilt, status ``crashed``), unless ``recover_dead`` is
    False or the folder is read-only."""
    view = _read_row(run_dir)
    if recover_dead and needs_recovery(run_dir, None if view is None else view.raw_status):
        if view is None or view.hostname in (None, _HOST):
            if recover(run_dir) is not None:
                view = _read_row(run_dir)
    return view


def _read_row(run_dir: str) -> RunView | None:
    path = os.path.join(run_dir, DB_NAME)
    if not os.path.isfile(path):
        return None
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
