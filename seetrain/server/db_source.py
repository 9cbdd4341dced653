"""A :class:`~seetrain.server.datasource.DataSource` over the tracking server's database, so
``seetrain server`` shows the same dashboard as ``seetrain ui`` for everything uploaded."""

from __future__ import annotations

import os
import pathlib
import threading
from collections import OrderedDict
from typing import Any

import numpy as np
from sqlalchemy import select

from seetrain._jsonsafe import json_safe, value_flags
from seetrain.api import live_status
from seetrain.compare_report import build_report
from seetrain.limits import project_problem, run_id_problem
from seetrain.server.datasource import (
    DEFAULT_CONSOLE_LIMIT,
    DEFAULT_MAX_POINTS,
    check_metric_params,
    compare_payload,
    lru_get,
)
from seetrain.server.db import Database, console, media, runs
from seetrain.server.downsample import select as downsample
from seetrain.server.local_source import MEDIA_KINDS, check_name, flatten
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


class DbSource:
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

    def _brief(self, row: dict[str, Any]) -> dict[str, Any]:
        created = row["created_at"] or row["received_at"] or 0.0
        end = row["finished_at"] or row["heartbeat_at"] or created
        config = loads(row["config"]) or {}
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

    def projects(self) -> list[dict[str, Any]]:
        by_project: dict[str, list[dict[str, Any]]] = {}
        for row in self._rows():
            by_project.setdefault(row["project"], []).append(row)
        out = []
        for name in sorted(by_project):
            rows = by_project[name]
            last = max((r["finished_at"] or r["heartbeat_at"] or r["created_at"] or 0.0) for r in rows)
            out.append({"name": name, "runs": len(rows),
                        "running": sum(self._status(r) == "running" for r in rows), "last_activity": last})
        return out

    def runs(self, project: str) -> list[dict[str, Any]]:
        check_name(project, "project")
        return [{**self._brief(r), "config": json_safe(flatten(loads(r["config"]) or {}))}
                for r in self._rows(runs.c.project == project)]

    def groups(self, project: str) -> dict[str, list[str]]:
        """Run ids per ``group`` (distributed ranks/nodes logged as one group)."""
        out: dict[str, list[str]] = {}
        for r in self._rows(runs.c.project == project, runs.c.group_name.is_not(None)):
            out.setdefault(r["group_name"], []).append(r["run_id"])
        return out

    def run(self, project: str, run_id: str) -> dict[str, Any] | None:
        row = self._get(project, run_id)
        if row is None:
            return None
        pk = row["pk"]
        with self.db.engine.connect() as conn:
            keys = self.db.metric_keys(conn, pk)
            pairs = conn.execute(select(media.c.kind, media.c.key).where(media.c.run_pk == pk).distinct()
                                 .order_by(media.c.kind, media.c.key)).all()
        media_keys: dict[str, list[str]] = {}
        event_kinds: list[str] = []
        for kind, key in pairs:
            if kind in MEDIA_KINDS:
                media_keys.setdefault(kind, []).append(key)
            elif kind not in event_kinds:
                event_kinds.append(kind)
        return {**self._brief(row), "config": json_safe(loads(row["config"]) or {}),
                "metadata": json_safe(loads(row["metadata"]) or {}), "stats": json_safe(loads(row["stats"]) or {}),
                "error": row["error"], "keys": keys, "media_keys": media_keys, "event_kinds": event_kinds}

    # -- metrics --------------------------------------------------------------------------
    def _series_for(self, pk: int, key: str) -> _Series:
        with self._lock:
            return lru_get(self._series, (pk, key), _Series, _SERIES_CACHE_SIZE)

    def metric(self, project: str, run_id: str, key: str, x_min: float | None = None,
               x_max: float | None = None, max_points: int = DEFAULT_MAX_POINTS,
               after_step: int | None = None, x_axis: str = "step") -> dict[str, Any] | None:
        check_metric_params(x_axis, max_points, x_min, x_max)
        row = self._get(project, run_id)
        if row is None:
            return None
        start = row["created_at"] or 0.0
        series = self._series_for(row["pk"], key)
        with series.lock:
            if not series.refresh(self.db, row["pk"], key):
                return None
            step, ts, value = series.step, series.ts, series.value
            total = len(step)
            last_step = int(step.max())
        if after_step is not None:
            keep = np.flatnonzero(step > after_step)
            step, ts, value = step[keep], ts[keep], value[keep]
        x = step.astype(np.float64) if x_axis == "step" else (ts if x_axis == "time" else ts - start)
        if len(x) > 1 and not bool(np.all(x[1:] >= x[:-1])):
            perm = np.argsort(x, kind="stable")
            step, ts, value, x = step[perm], ts[perm], value[perm], x[perm]
        sel = downsample(x, value, max_points, x_min, x_max)
        idx = sel.indices
        vals = value[idx]
        out_values, flags = value_flags(vals)
        return {"key": key, "x_axis": x_axis, "step": step[idx].tolist(), "time": ts[idx].tolist(),
                "value": out_values, "flag": flags, "total": total, "in_range": sel.in_range,
                "downsampled": sel.downsampled, "last_step": last_step, "start_time": start}

    # -- media, console, events -----------------------------------------------------------
    def _media_rows(self, pk: int, *conditions: Any) -> list[Any]:
        stmt = (select(media.c.seq, media.c.key, media.c.step, media.c.ts, media.c.kind, media.c.path,
                       media.c.caption, media.c.payload)
                .where(media.c.run_pk == pk, *conditions).order_by(media.c.seq))
        with self.db.engine.connect() as conn:
            return conn.execute(stmt).all()

    def media(self, project: str, run_id: str, kind: str | None = None,
              key: str | None = None) -> list[dict[str, Any]]:
        if kind is not None and kind not in MEDIA_KINDS:
            raise ValueError(f"kind must be one of {', '.join(MEDIA_KINDS)}")
        row = self._get(project, run_id)
        if row is None:
            return []
        conditions = [media.c.kind.in_([kind] if kind else list(MEDIA_KINDS))]
        if key is not None:
            conditions.append(media.c.key == key)
        return [{"seq": seq, "key": k, "step": st, "timestamp": ts, "kind": kd, "file": p, "caption": c,
                 "payload": json_safe(loads(pl) or {})}
                for seq, k, st, ts, kd, p, c, pl in self._media_rows(row["pk"], *conditions)]

    def media_file(self, project: str, run_id: str, relpath: str) -> pathlib.Path | None:
        if project_problem(project) or run_id_problem(run_id):
            return None
        return self.media_store.local_path(project, run_id, relpath)

    def console(self, project: str, run_id: str, after: int = 0,
                limit: int = DEFAULT_CONSOLE_LIMIT) -> list[dict[str, Any]]:
        if after < 0 or limit < 1:
            raise ValueError("after must be >= 0 and limit >= 1")
        row = self._get(project, run_id)
        if row is None:
            return []
        stmt = (select(console.c.seq, console.c.ts, console.c.stream, console.c.line)
                .where(console.c.run_pk == row["pk"], console.c.seq > after).order_by(console.c.seq).limit(limit))
        with self.db.engine.connect() as conn:
            return [{"seq": s, "timestamp": t, "stream": st, "line": ln} for s, t, st, ln in conn.execute(stmt)]

    def events(self, project: str, run_id: str, kind: str) -> list[dict[str, Any]]:
        if kind in MEDIA_KINDS:
            raise ValueError(f"{kind!r} is a media kind, not an event kind")
        row = self._get(project, run_id)
        if row is None:
            return []
        return [{"seq": seq, "key": k, "step": st, "timestamp": ts, "payload": json_safe(loads(pl) or {})}
                for seq, k, st, ts, _kd, _p, _c, pl in self._media_rows(row["pk"], media.c.kind == kind)]

    # -- compare --------------------------------------------------------------------------
    def compare(self, project: str, run_ids: list[str]) -> dict[str, Any]:
        found, missing = [], []
        for rid in run_ids:
            row = self._get(project, rid)
            (found.append(row) if row is not None else missing.append(rid))
        briefs = [self._brief(r) for r in found]
        configs = [json_safe(flatten(loads(r["config"]) or {})) for r in found]
        return compare_payload(briefs, configs, [b["summary"] for b in briefs], missing)

    def report(self, project: str, run_ids: list[str]) -> dict[str, Any] | None:
        found, missing = [], []
        for rid in run_ids:
            row = self._get(project, rid)
            (found.append(row) if row is not None else missing.append(rid))
        if not found:
            return None
        views = [_ReportRun(self.db, r, self._brief(r)) for r in found]
        return {**build_report(views), "missing": missing}  # type: ignore[arg-type]
