"""A :class:`~seetrain.server.datasource.DataSource` over a local logdir (one SQLite file per run).

Every read uses a read-only connection, so the dashboard is safe while runs keep writing.
Run rows are reused until the run's database files change. A metric is read from its chunks
(see :mod:`seetrain.storage.store`): the columns of every point, decoded with numpy, kept per metric
and grown by the chunks written since the last request (a merge of small chunks makes the next
request read the metric again). The cache is bounded in points, least recently used first.
Downsampling (min/max per x bucket) happens per request on the cached columns
(:func:`seetrain.server.datasource.series_payload`).
"""

from __future__ import annotations

import os
import pathlib
import threading
from collections import OrderedDict
from typing import Any

from seetrain._jsonsafe import json_safe
from seetrain.api import RunView, read_run
from seetrain.compare_report import build_report
from seetrain.server.datasource import Points, SourceBase, check_name, lru_get, resolve_media_file
from seetrain.storage.chunks import Columns, unpack
from seetrain.storage.store import DB_NAME, connect, has_table, iter_run_dirs, key_names, load_columns

_SERIES_CACHE_SIZE = 512
_SERIES_CACHE_POINTS = 8_000_000  # ~256 MB of columns
_REPORT_CACHE_SIZE = 16


def _file_sig(path: str) -> tuple[int, int]:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return (0, 0)
    return (st.st_mtime_ns, st.st_size)


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


class LocalSource(SourceBase[RunView]):
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

    def _runs(self, project: str | None) -> list[RunView]:
        views = [v for _, d in iter_run_dirs(self.logdir, project) if (v := self._view(d)) is not None]
        views.sort(key=lambda v: v.created_at)
        return views

    def _get(self, project: str, run_id: str) -> RunView | None:
        run_dir = self._run_dir(project, run_id)
        return self._view(run_dir) if os.path.isdir(run_dir) else None

    @staticmethod
    def _activity(view: RunView) -> tuple[str, float, str]:
        return view.project, view.finished_at or view.heartbeat_at or view.created_at, view.status

    @staticmethod
    def _brief(view: RunView) -> dict[str, Any]:
        return {
            "id": view.id, "project": view.project, "name": view.name, "description": view.description,
            "tags": view.tags, "group": view.group, "status": view.status, "created_at": view.created_at,
            "finished_at": view.finished_at, "heartbeat_at": view.heartbeat_at, "duration": view.duration,
            "framework": view.framework, "hostname": view.hostname,
            "summary": json_safe(view.summary),
        }

    @staticmethod
    def _config(view: RunView) -> dict[str, Any]:
        return view.config

    @staticmethod
    def _details(view: RunView) -> dict[str, Any]:
        return {"metadata": view.metadata, "stats": view.stats, "error": view.error}

    def _listed_row(self, view: RunView) -> dict[str, Any]:
        """The runs-list row of ``view``, made once per view (a view is replaced when its files
        change): every chart request checks the runs' rows, and making 100 summaries and configs
        JSON-safe again each time cost ~10 ms of it."""
        with self._lock:
            hit = self._listed.get(view.path)
        if hit is None or hit[0] is not view:
            hit = (view, super()._listed_row(view))
            with self._lock:
                self._listed[view.path] = hit
        return dict(hit[1])

    @staticmethod
    def _keys(view: RunView) -> tuple[list[str], list[tuple[str, str]]]:
        conn = connect(view.path, readonly=True)
        try:
            return key_names(conn), conn.execute("SELECT DISTINCT kind, key FROM media ORDER BY kind, key").fetchall()
        finally:
            conn.close()

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

    def _points(self, view: RunView, key: str) -> Points | None:
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
            cols = series.cols  # refresh replaces the columns, never changes them in place
        self._trim_series_cache()
        return Points(cols.step, cols.ts, cols.value, view.created_at)

    # -- media, console, events -----------------------------------------------------------
    @staticmethod
    def _media_rows(view: RunView, kinds: list[str], key: str | None) -> list[tuple]:
        where = f"kind IN ({', '.join('?' for _ in kinds)})"
        args: list[Any] = list(kinds)
        if key is not None:
            where += " AND key = ?"
            args.append(key)
        conn = connect(view.path, readonly=True)
        try:
            return conn.execute(
                f"SELECT seq, key, step, ts, kind, path, caption, payload FROM media WHERE {where} ORDER BY seq",
                args).fetchall()
        finally:
            conn.close()

    def media_file(self, project: str, run_id: str, relpath: str) -> pathlib.Path | None:
        try:
            run_dir = pathlib.Path(self._run_dir(project, run_id))
        except ValueError:
            return None
        return resolve_media_file(run_dir, relpath)

    @staticmethod
    def _console(view: RunView, after: int, limit: int) -> list[dict[str, Any]]:
        return view.console(after=after, limit=limit)

    # -- compare --------------------------------------------------------------------------
    def _build_report(self, views: list[RunView]) -> dict[str, Any]:
        sig = tuple((v.dir, _file_sig(v.path), _file_sig(v.path + "-wal")) for v in views)
        with self._lock:
            hit = self._reports.get(sig)
        if hit is None:
            hit = build_report(views)
            with self._lock:
                self._reports[sig] = hit
                while len(self._reports) > _REPORT_CACHE_SIZE:
                    self._reports.popitem(last=False)
        return hit
