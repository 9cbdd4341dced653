"""A :class:`~seetrain.server.datasource.DataSource` over a local logdir (one SQLite file per run).

Every read uses a read-only connection, so the dashboard is safe while runs keep writing.
Run rows are reused until the run's database files change. A metric is read from its chunks
(see :mod:`seetrain.storage.store`): the columns of every point, decoded with numpy, kept per metric
and grown by the chunks written since the last request (a merge of small chunks makes the next
request read the metric again). The cache is bounded in points, least recently used first.
Downsampling (min/max per x bucket) happens per request on the cached columns.
"""

from __future__ import annotations

import os
import pathlib
import threading
from collections import OrderedDict
from typing import Any

import numpy as np

from seetrain._jsonsafe import json_safe, value_flags
from seetrain.api import RunView, read_run
from seetrain.compare_report import build_report
from seetrain.server.datasource import (
    DEFAULT_CONSOLE_LIMIT,
    DEFAULT_MAX_POINTS,
    check_metric_params,
    compare_payload,
    lru_get,
    resolve_media_file,
)
from seetrain.server.downsample import select
from seetrain.storage.chunks import Columns, unpack
from seetrain.storage.store import DB_NAME, connect, has_table, iter_run_dirs, key_names, load_columns, loads

MEDIA_KINDS = ("image", "audio", "text", "histogram")
_SERIES_CACHE_SIZE = 512
_SERIES_CACHE_POINTS = 8_000_000  # ~256 MB of columns
_REPORT_CACHE_SIZE = 16


def check_name(value: str, what: str) -> str:
    """Project and run ids become folder names: refuse anything that could leave the logdir."""
    if not value or value in (".", "..") or any(c in value for c in "/\\\0"):
        raise ValueError(f"invalid {what}: {value!r}")
    return value


def flatten(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"opt": {"lr": 1}}`` -> ``{"opt.lr": 1}`` (lists stay values)."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def _file_sig(path: str) -> tuple[int, int]:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return (0, 0)
    return (st.st_mtime_ns, st.st_size)


def x_values(cols: Columns, axis: str, start: float) -> np.ndarray:
    if axis == "step":
        return cols.step.astype(np.float64)
    return cols.ts if axis == "time" else cols.ts - start


class _Series:
    """One metric of one run: all its points, grown in place as the run writes more."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.chunks: list[tuple[int, int]] = []  # (chunk id, seq_first) read so far, seq order
        self.cols = Columns.empty()
        self.sig: tuple = ()  # the database files' (mtime, size) when last read

    def refresh(self, conn: Any, key: str) -> bool:
        """Read the chunks written since the last call; False if the key does not exist."""
        if not has_table(conn, "chunks"):  # a schema-1/2 store not yet migrated: read it whole
            cols = load_columns(conn, key)
            if cols is None:
                return False
            self.cols = cols
            return True
        row = conn.execute("SELECT id FROM metric_keys WHERE name = ?", (key,)).fetchone()
        if row is None:
            return False
        meta = conn.execute("SELECT id, seq_first FROM chunks WHERE key_id = ? ORDER BY seq_first",
                            (row[0],)).fetchall()
        known = len(self.chunks)
        if meta[:known] != self.chunks:  # small chunks were merged: read the metric again
            known, self.cols, self.chunks = 0, Columns.empty(), []
        new = meta[known:]
        if new:
            blobs = conn.execute(f"SELECT data FROM chunks WHERE id IN ({', '.join('?' for _ in new)}) "
                                 "ORDER BY seq_first", [cid for cid, _ in new]).fetchall()
            self.cols = Columns.concat([self.cols, *(unpack(b) for (b,) in blobs)])
            self.chunks = meta
        return True

    @property
    def total(self) -> int:
        return len(self.cols)

    @property
    def last_step(self) -> int | None:
        return int(self.cols.step.max()) if len(self.cols) else None


class LocalSource:
    """Serve the runs under ``logdir`` (``<logdir>/<project>/<run_id>/run.sqlite``)."""

    def __init__(self, logdir: str | os.PathLike[str]) -> None:
        self.logdir = os.path.abspath(os.fspath(logdir))
        self._lock = threading.Lock()
        self._rows: dict[str, tuple[tuple, RunView | None]] = {}
        self._listed: dict[str, tuple[RunView, dict[str, Any]]] = {}  # run dir -> (view, its runs-list row)
        self._series: OrderedDict[tuple[str, str], _Series] = OrderedDict()
        # Comparison reports read every point: kept until one of their runs' files changes.
        self._reports: OrderedDict[tuple, dict[str, Any]] = OrderedDict()

    # -- runs -----------------------------------------------------------------------------
    def _run_dir(self, project: str, run_id: str) -> str:
        return os.path.join(self.logdir, check_name(project, "project"), check_name(run_id, "run id"))

    def _view(self, run_dir: str) -> RunView | None:
        db = os.path.join(run_dir, DB_NAME)
        sig = (_file_sig(db), _file_sig(db + "-wal"))
        with self._lock:
            hit = self._rows.get(run_dir)
        if hit is not None and hit[0] == sig:
            return hit[1]
        view = read_run(run_dir) if os.path.isfile(db) else None
        with self._lock:
            self._rows[run_dir] = (sig, view)
        return view

    def _views(self, project: str | None = None) -> list[RunView]:
        views = [v for _, d in iter_run_dirs(self.logdir, project) if (v := self._view(d)) is not None]
        views.sort(key=lambda v: v.created_at)
        return views

    @staticmethod
    def _brief(view: RunView) -> dict[str, Any]:
        return {
            "id": view.id, "project": view.project, "name": view.name, "description": view.description,
            "tags": view.tags, "group": view.group, "status": view.status, "created_at": view.created_at,
            "finished_at": view.finished_at, "heartbeat_at": view.heartbeat_at, "duration": view.duration,
            "framework": view.framework, "hostname": view.hostname,
            "summary": json_safe(view.summary),
        }

    def projects(self) -> list[dict[str, Any]]:
        by_project: dict[str, list[RunView]] = {}
        for view in self._views():
            by_project.setdefault(view.project, []).append(view)
        out = []
        for name in sorted(by_project):
            views = by_project[name]
            last = max((v.finished_at or v.heartbeat_at or v.created_at) for v in views)
            out.append({"name": name, "runs": len(views),
                        "running": sum(v.status == "running" for v in views), "last_activity": last})
        return out

    def runs(self, project: str) -> list[dict[str, Any]]:
        check_name(project, "project")
        return [self._listed_row(v) for v in self._views(project)]

    def _listed_row(self, view: RunView) -> dict[str, Any]:
        """The runs-list row of ``view``, made once per view (a view is replaced when its files
        change): every chart request checks the runs' rows, and making 100 summaries and configs
        JSON-safe again each time cost ~10 ms of it."""
        with self._lock:
            hit = self._listed.get(view.path)
        if hit is None or hit[0] is not view:
            hit = (view, {**self._brief(view), "config": json_safe(flatten(view.config))})
            with self._lock:
                self._listed[view.path] = hit
        return dict(hit[1])

    def _get(self, project: str, run_id: str) -> RunView | None:
        run_dir = self._run_dir(project, run_id)
        return self._view(run_dir) if os.path.isdir(run_dir) else None

    def run(self, project: str, run_id: str) -> dict[str, Any] | None:
        view = self._get(project, run_id)
        if view is None:
            return None
        conn = connect(view.path, readonly=True)
        try:
            keys = key_names(conn)
            pairs = conn.execute("SELECT DISTINCT kind, key FROM media ORDER BY kind, key").fetchall()
        finally:
            conn.close()
        media_keys: dict[str, list[str]] = {}
        event_kinds: list[str] = []
        for kind, key in pairs:
            if kind in MEDIA_KINDS:
                media_keys.setdefault(kind, []).append(key)
            elif kind not in event_kinds:
                event_kinds.append(kind)
        return {**self._brief(view), "config": json_safe(view.config), "metadata": json_safe(view.metadata),
                "stats": json_safe(view.stats), "error": view.error, "keys": keys,
                "media_keys": media_keys, "event_kinds": event_kinds}

    # -- metrics --------------------------------------------------------------------------
    def _series_for(self, run_dir: str, key: str) -> _Series:
        with self._lock:
            return lru_get(self._series, (run_dir, key), _Series, _SERIES_CACHE_SIZE)

    def _trim_series_cache(self) -> None:
        with self._lock:
            total = sum(s.total for s in self._series.values())
            while total > _SERIES_CACHE_POINTS and len(self._series) > 1:
                _, old = self._series.popitem(last=False)
                total -= old.total

    def metric(self, project: str, run_id: str, key: str, x_min: float | None = None,
               x_max: float | None = None, max_points: int = DEFAULT_MAX_POINTS,
               after_step: int | None = None, x_axis: str = "step") -> dict[str, Any] | None:
        check_metric_params(x_axis, max_points, x_min, x_max)
        view = self._get(project, run_id)
        if view is None:
            return None
        start = view.created_at
        series = self._series_for(view.dir, key)
        with series.lock:
            # Unchanged database files: nothing new to read (a finished run of a sweep is then
            # served from memory without opening its file).
            sig = (_file_sig(view.path), _file_sig(view.path + "-wal"))
            if sig != series.sig or not series.chunks:
                conn = connect(view.path, readonly=True)
                try:
                    if not series.refresh(conn, key):
                        return None
                finally:
                    conn.close()
                series.sig = sig
            pts = series.cols
            total = series.total
            last_step = series.last_step
        self._trim_series_cache()
        if after_step is not None:
            pts = pts.take(np.flatnonzero(pts.step > after_step))
        x = x_values(pts, x_axis, start)
        if len(x) > 1 and not bool(np.all(x[1:] >= x[:-1])):
            # x order; equal x keep logging order (the points are in logging order already).
            order = np.argsort(x, kind="stable")
            pts, x = pts.take(order), x[order]
        sel = select(x, pts.value, max_points, x_min, x_max)
        idx = sel.indices
        vals = pts.value[idx]
        out_values, flags = value_flags(vals)
        return {"key": key, "x_axis": x_axis, "step": pts.step[idx].tolist(), "time": pts.ts[idx].tolist(),
                "value": out_values, "flag": flags, "total": total, "in_range": sel.in_range,
                "downsampled": sel.downsampled, "last_step": last_step, "start_time": start}

    # -- media, console, events -----------------------------------------------------------
    def _media_rows(self, view: RunView, where: str, args: list[Any]) -> list[tuple]:
        conn = connect(view.path, readonly=True)
        try:
            return conn.execute(
                f"SELECT seq, key, step, ts, kind, path, caption, payload FROM media WHERE {where} ORDER BY seq",
                args).fetchall()
        finally:
            conn.close()

    def media(self, project: str, run_id: str, kind: str | None = None,
              key: str | None = None) -> list[dict[str, Any]]:
        if kind is not None and kind not in MEDIA_KINDS:
            raise ValueError(f"kind must be one of {', '.join(MEDIA_KINDS)}")
        view = self._get(project, run_id)
        if view is None:
            return []
        kinds = [kind] if kind else list(MEDIA_KINDS)
        where = f"kind IN ({', '.join('?' for _ in kinds)})"
        args: list[Any] = list(kinds)
        if key is not None:
            where += " AND key = ?"
            args.append(key)
        return [{"seq": seq, "key": k, "step": st, "timestamp": ts, "kind": kd, "file": p, "caption": c,
                 "payload": json_safe(loads(pl) or {})}
                for seq, k, st, ts, kd, p, c, pl in self._media_rows(view, where, args)]

    def media_file(self, project: str, run_id: str, relpath: str) -> pathlib.Path | None:
        try:
            run_dir = pathlib.Path(self._run_dir(project, run_id))
        except ValueError:
            return None
        return resolve_media_file(run_dir, relpath)

    def console(self, project: str, run_id: str, after: int = 0,
                limit: int = DEFAULT_CONSOLE_LIMIT) -> list[dict[str, Any]]:
        if after < 0 or limit < 1:
            raise ValueError("after must be >= 0 and limit >= 1")
        view = self._get(project, run_id)
        return [] if view is None else view.console(after=after, limit=limit)

    def events(self, project: str, run_id: str, kind: str) -> list[dict[str, Any]]:
        if kind in MEDIA_KINDS:
            raise ValueError(f"{kind!r} is a media kind, not an event kind")
        view = self._get(project, run_id)
        if view is None:
            return []
        return [{"seq": seq, "key": k, "step": st, "timestamp": ts, "payload": json_safe(loads(pl) or {})}
                for seq, k, st, ts, _kd, _p, _c, pl in self._media_rows(view, "kind = ?", [kind])]

    # -- compare --------------------------------------------------------------------------
    def compare(self, project: str, run_ids: list[str]) -> dict[str, Any]:
        views, missing = [], []
        for rid in run_ids:
            view = self._get(project, rid)
            (views.append(view) if view is not None else missing.append(rid))
        return compare_payload([self._brief(v) for v in views], [json_safe(flatten(v.config)) for v in views],
                               [json_safe(v.summary) for v in views], missing)

    def report(self, project: str, run_ids: list[str]) -> dict[str, Any] | None:
        views, missing = [], []
        for rid in run_ids:
            view = self._get(project, rid)
            (views.append(view) if view is not None else missing.append(rid))
        if not views:
            return None
        sig = tuple((v.dir, _file_sig(v.path), _file_sig(v.path + "-wal")) for v in views)
        with self._lock:
            hit = self._reports.get(sig)
        if hit is None:
            hit = build_report(views)
            with self._lock:
                self._reports[sig] = hit
                while len(self._reports) > _REPORT_CACHE_SIZE:
                    self._reports.popitem(last=False)
        return {**hit, "missing": missing}
