"""A :class:`~seetrain.server.datasource.DataSource` over the tracking server's database, so
``seetrain server`` shows the same dashboard as ``seetrain ui`` for everything uploaded."""

from __future__ import annotations

import os
import pathlib
import threading
from collections import OrderedDict
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement, select

from seetrain._jsonsafe import json_safe
from seetrain._liveness import live_status
from seetrain.compare_report import build_report
from seetrain.limits import project_problem, run_id_problem
from seetrain.server.datasource import Points, SourceBase, check_name, lru_get
from seetrain.server.db import Database, console, media, runs
from seetrain.server.media_store import LocalMediaStore, MediaStore
from seetrain.storage.store import loads

_SERIES_CACHE_SIZE = 128


class _Series:
    """One metric's points, refreshed incrementally; reloaded whole if rows arrived out of
    seq order (a replay or ``seetrain sync`` can fill a gap behind newer rows)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.last_seq = 0
        self.seq = np.empty(0, dtype=np.int64)
        self.step = np.empty(0, dtype=np.int64)
        self.ts = np.empty(0, dtype=np.float64)
        self.value = np.empty(0, dtype=np.float64)

    def refresh(self, db: Database, run_pk: int, key: str) -> bool:
        with db.engine.connect() as conn:
            total = db.series_count(conn, run_pk, key)
            if total == len(self.seq):
                return total > 0
            new = db.read_series(conn, run_pk, key, after_seq=self.last_seq)
            if len(self.seq) + len(new.seq) != total:
                self.__init__()  # type: ignore[misc]
                new = db.read_series(conn, run_pk, key)
        if len(new.seq):
            self.seq = np.concatenate([self.seq, new.seq])
            self.step = np.concatenate([self.step, new.step])
            self.ts = np.concatenate([self.ts, new.ts])
            self.value = np.concatenate([self.value, new.value])
            self.last_seq = int(new.seq[-1])
        return len(self.seq) > 0


class _ReportRun:
    """The part of :class:`seetrain.api.RunView` that :func:`~seetrain.compare_report.build_report`
    reads, over one run's rows in the server database."""

    def __init__(self, db: Database, row: dict[str, Any], brief: dict[str, Any]) -> None:
        self._db, self._pk = db, row["pk"]
        self.id, self.project, self.name = brief["id"], brief["project"], brief["name"]
        self.status, self.created_at = brief["status"], brief["created_at"]
        self.finished_at, self.duration = brief["finished_at"], brief["duration"]
        self.metadata: dict[str, Any] = loads(row["metadata"]) or {}

    def keys(self) -> list[str]:
        with self._db.engine.connect() as conn:
            return self._db.metric_keys(conn, self._pk)

    def scalars(self, key: str) -> list[tuple[int, float, float]]:
        with self._db.engine.connect() as conn:
            cols = self._db.read_series(conn, self._pk, key)
        return list(zip(cols.step.tolist(), cols.ts.tolist(), cols.value.tolist()))


class DbSource(SourceBase[dict[str, Any]]):
    """Serve runs stored by the ingest API (``db``), media files from ``media_dir``."""

    def __init__(self, db: Database, media: str | os.PathLike[str] | MediaStore) -> None:
        self.db = db
        self.media_store: MediaStore = (LocalMediaStore(media) if isinstance(media, (str, os.PathLike))
                                        else media)
        # The server's own folder (the local store's root, or the S3 store's cache): uploaded
        # artifacts live under it (seetrain.server.artifacts_upload).
        self.media_dir = str(getattr(self.media_store, "root", None) or getattr(self.media_store, "cache", ""))
        self._lock = threading.Lock()
        self._series: OrderedDict[tuple[int, str], _Series] = OrderedDict()

    # -- runs -----------------------------------------------------------------------------
    def _rows(self, *conditions: Any) -> list[dict[str, Any]]:
        stmt = select(runs).where(*conditions).order_by(runs.c.created_at, runs.c.pk)
        with self.db.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(stmt)]

    def _runs(self, project: str | None) -> list[dict[str, Any]]:
        return self._rows() if project is None else self._rows(runs.c.project == project)

    def _get(self, project: str, run_id: str) -> dict[str, Any] | None:
        check_name(project, "project")
        # Run ids are only compared in SQL here (never a path): any id the server accepts.
        if run_id_problem(run_id):
            raise ValueError(f"invalid run id: {run_id_problem(run_id)}")
        rows = self._rows(runs.c.project == project, runs.c.run_id == run_id)
        return rows[0] if rows else None

    @staticmethod
    def _status(row: dict[str, Any]) -> str:
        # hostname=None: the server cannot check a pid on the client's machine, only heartbeats.
        return live_status(row["status"], row["heartbeat_at"], None, None)

    def _activity(self, row: dict[str, Any]) -> tuple[str, float, str]:
        last = row["finished_at"] or row["heartbeat_at"] or row["created_at"] or 0.0
        return row["project"], last, self._status(row)

    def _brief(self, row: dict[str, Any]) -> dict[str, Any]:
        created = row["created_at"] or row["received_at"] or 0.0
        end = row["finished_at"] or row["heartbeat_at"] or created
        config = self._config(row)
        fw = config.get("framework") if isinstance(config, dict) else None
        summary = loads(row["summary"]) or {}
        return {
            "id": row["run_id"], "project": row["project"], "name": row["name"] or row["run_id"],
            "description": row["description"] or "", "tags": loads(row["tags"]) or [],
            "group": row["group_name"], "status": self._status(row), "created_at": created,
            "finished_at": row["finished_at"], "heartbeat_at": row["heartbeat_at"],
            "duration": max(0.0, end - created),
            "framework": fw.get("name") if isinstance(fw, dict) else fw,
            "hostname": row["hostname"], "summary": json_safe(summary),
        }

    @staticmethod
    def _config(row: dict[str, Any]) -> dict[str, Any]:
        return loads(row["config"]) or {}

    @staticmethod
    def _details(row: dict[str, Any]) -> dict[str, Any]:
        return {"metadata": loads(row["metadata"]) or {}, "stats": loads(row["stats"]) or {}, "error": row["error"]}

    def _keys(self, row: dict[str, Any]) -> tuple[list[str], list[tuple[str, str]]]:
        pk = row["pk"]
        with self.db.engine.connect() as conn:
            keys = self.db.metric_keys(conn, pk)
            pairs = conn.execute(select(media.c.kind, media.c.key).where(media.c.run_pk == pk).distinct()
                                 .order_by(media.c.kind, media.c.key)).all()
        return keys, [(kind, key) for kind, key in pairs]

    # -- metrics --------------------------------------------------------------------------
    def _series_for(self, pk: int, key: str) -> _Series:
        with self._lock:
            return lru_get(self._series, (pk, key), _Series, _SERIES_CACHE_SIZE)

    def _points(self, row: dict[str, Any], key: str) -> Points | None:
        series = self._series_for(row["pk"], key)
        with series.lock:
            if not series.refresh(self.db, row["pk"], key):
                return None
            # refresh replaces the arrays, never changes them in place: safe to use unlocked
            return Points(series.step, series.ts, series.value, row["created_at"] or 0.0)

    # -- media, console, events -----------------------------------------------------------
    def _media_rows(self, row: dict[str, Any], kinds: list[str], key: str | None) -> list[tuple]:
        conditions: list[ColumnElement[bool]] = [media.c.kind.in_(kinds)]
        if key is not None:
            conditions.append(media.c.key == key)
        stmt = (select(media.c.seq, media.c.key, media.c.step, media.c.ts, media.c.kind, media.c.path,
                       media.c.caption, media.c.payload)
                .where(media.c.run_pk == row["pk"], *conditions).order_by(media.c.seq))
        with self.db.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(stmt)]

    def media_file(self, project: str, run_id: str, relpath: str) -> pathlib.Path | None:
        if project_problem(project) or run_id_problem(run_id):
            return None
        return self.media_store.local_path(project, run_id, relpath)

    def _console(self, row: dict[str, Any], after: int, limit: int) -> list[dict[str, Any]]:
        stmt = (select(console.c.seq, console.c.ts, console.c.stream, console.c.line)
                .where(console.c.run_pk == row["pk"], console.c.seq > after).order_by(console.c.seq).limit(limit))
        with self.db.engine.connect() as conn:
            return [{"seq": s, "timestamp": t, "stream": st, "line": ln} for s, t, st, ln in conn.execute(stmt)]

    # -- compare --------------------------------------------------------------------------
    def _build_report(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        views = [_ReportRun(self.db, r, self._brief(r)) for r in rows]
        return build_report(views)  # type: ignore[arg-type]
