"""A :class:`~seetrain.server.datasource.DataSource` over a local logdir (one SQLite file per run).

Every read uses a read-only connection, so the dashboard is safe while runs keep writing.
Two caches make it fast: run rows are reused until the run's database files change, and
each metric's points are kept as numpy arrays together with the last ``seq`` read, so the
next request reads only rows appended since (a running run) and then just buckets arrays.
"""

from __future__ import annotations

import json
import math
import os
import pathlib
import threading
from collections import OrderedDict
from typing import Any

import numpy as np

from seetrain._store import DB_NAME, connect, iter_run_dirs, loads
from seetrain.api import RunView, _json_safe, read_run
from seetrain.server.datasource import DEFAULT_CONSOLE_LIMIT, DEFAULT_MAX_POINTS, MAX_MAX_POINTS, X_AXES
from seetrain.server.downsample import select

MEDIA_KINDS = ("image", "audio", "text", "histogram")
_SERIES_CACHE_SIZE = 128


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


class _Series:
    """The points of one metric of one run, grown in place as the run writes more."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.key_id: int | None = None
        self.last_seq = 0
        self.step = np.empty(0, dtype=np.int64)
        self.ts = np.empty(0, dtype=np.float64)
        self.value = np.empty(0, dtype=np.float64)
        self._order: dict[str, tuple[int, np.ndarray | None]] = {}

    def refresh(self, db_path: str, key: str) -> bool:
        """Read rows appended since the last call; False if the key does not exist."""
        conn = connect(db_path, readonly=True)
        try:
            if self.key_id is None:
                row = conn.execute("SELECT id FROM metric_keys WHERE name = ?", (key,)).fetchone()
                if row is None:
                    return False
                self.key_id = row[0]
            # "+key_id" keeps SQLite on the rowid range: only the new rows are visited.
            rows = conn.execute(
                "SELECT seq, step, ts, value, special FROM scalars WHERE seq > ? AND +key_id = ? ORDER BY seq",
                (self.last_seq, self.key_id)).fetchall()
        finally:
            conn.close()
        if rows:
            seq, step, ts, value, special = zip(*rows)
            vals = np.array([np.nan if v is None else v for v in value], dtype=np.float64)
            for i, sp in enumerate(special):
                if sp is not None:
                    vals[i] = {"nan": np.nan, "inf": np.inf, "-inf": -np.inf}[sp]
            self.step = np.concatenate([self.step, np.array(step, dtype=np.int64)])
            self.ts = np.concatenate([self.ts, np.array(ts, dtype=np.float64)])
            self.value = np.concatenate([self.value, vals])
            self.last_seq = seq[-1]
        return True

    def x(self, axis: str, start: float) -> np.ndarray:
        if axis == "step":
            return self.step.astype(np.float64)
        if axis == "time":
            return self.ts
        return self.ts - start

    def order(self, axis: str, x: np.ndarray) -> np.ndarray | None:
        """Permutation sorting ``x`` (None when already sorted), cached per length."""
        n, perm = self._order.get(axis, (-1, None))
        if n != len(x):
            perm = None if len(x) < 2 or bool(np.all(x[1:] >= x[:-1])) else np.argsort(x, kind="stable")
            self._order[axis] = (len(x), perm)
        return perm


class LocalSource:
    """Serve the runs under ``logdir`` (``<logdir>/<project>/<run_id>/run.sqlite``)."""

    def __init__(self, logdir: str | os.PathLike[str]) -> None:
        self.logdir = os.path.abspath(os.fspath(logdir))
        self._lock = threading.Lock()
        self._rows: dict[str, tuple[tuple, RunView | None]] = {}
        self._series: OrderedDict[tuple[str, str], _Series] = OrderedDict()

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
            "summary": _json_safe(view.summary),
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
        return [{**self._brief(v), "config": _json_safe(flatten(v.config))} for v in self._views(project)]

    def _get(self, project: str, run_id: str) -> RunView | None:
        run_dir = self._run_dir(project, run_id)
        return self._view(run_dir) if os.path.isdir(run_dir) else None

    def run(self, project: str, run_id: str) -> dict[str, Any] | None:
        view = self._get(project, run_id)
        if view is None:
            return None
        conn = connect(view.path, readonly=True)
        try:
            keys = [r[0] for r in conn.execute("SELECT name FROM metric_keys ORDER BY name")]
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
        return {**self._brief(view), "config": _json_safe(view.config), "metadata": _json_safe(view.metadata),
                "stats": _json_safe(view.stats), "error": view.error, "keys": keys,
                "media_keys": media_keys, "event_kinds": event_kinds}

    # -- metrics --------------------------------------------------------------------------
    def _series_for(self, run_dir: str, key: str) -> _Series:
        with self._lock:
            series = self._series.get((run_dir, key))
            if series is None:
                series = self._series[(run_dir, key)] = _Series()
                while len(self._series) > _SERIES_CACHE_SIZE:
                    self._series.popitem(last=False)
            else:
                self._series.move_to_end((run_dir, key))
        return series

    def metric(self, project: str, run_id: str, key: str, x_min: float | None = None,
               x_max: float | None = None, max_points: int = DEFAULT_MAX_POINTS,
               after_step: int | None = None, x_axis: str = "step") -> dict[str, Any] | None:
        if x_axis not in X_AXES:
            raise ValueError(f"x_axis must be one of {', '.join(X_AXES)}")
        if not 2 <= max_points <= MAX_MAX_POINTS:
            raise ValueError(f"max_points must be between 2 and {MAX_MAX_POINTS}")
        for bound in (x_min, x_max):
            if bound is not None and not math.isfinite(bound):
                raise ValueError("x_min and x_max must be finite numbers")
        view = self._get(project, run_id)
        if view is None:
            return None
        series = self._series_for(view.dir, key)
        with series.lock:
            if not series.refresh(view.path, key):
                return None
            step, ts, value = series.step, series.ts, series.value
            if after_step is not None:
                keep = np.flatnonzero(step > after_step)
                step, ts, value = step[keep], ts[keep], value[keep]
                x = step.astype(np.float64) if x_axis == "step" else (ts if x_axis == "time" else ts - view.created_at)
                perm = None if len(x) < 2 or bool(np.all(x[1:] >= x[:-1])) else np.argsort(x, kind="stable")
            else:
                x = series.x(x_axis, view.created_at)
                perm = series.order(x_axis, x)
            if perm is not None:
                step, ts, value, x = step[perm], ts[perm], value[perm], x[perm]
            sel = select(x, value, max_points, x_min, x_max)
            total = len(series.step)
            last_step = int(series.step.max()) if total else None
        idx = sel.indices
        vals = value[idx]
        finite = np.isfinite(vals)
        out_values: list[float | None] = np.where(finite, vals, 0.0).tolist()
        flags: list[str | None] = [None] * len(idx)
        for i in np.flatnonzero(~finite).tolist():
            v = vals[i]
            out_values[i] = None
            flags[i] = "nan" if v != v else ("inf" if v > 0 else "-inf")
        return {"key": key, "x_axis": x_axis, "step": step[idx].tolist(), "time": ts[idx].tolist(),
                "value": out_values, "flag": flags, "total": total, "in_range": sel.in_range,
                "downsampled": sel.downsampled, "last_step": last_step, "start_time": view.created_at}

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
                 "payload": _json_safe(loads(pl) or {})}
                for seq, k, st, ts, kd, p, c, pl in self._media_rows(view, where, args)]

    def media_file(self, project: str, run_id: str, relpath: str) -> pathlib.Path | None:
        try:
            run_dir = pathlib.Path(self._run_dir(project, run_id)).resolve()
        except ValueError:
            return None
        if "\0" in relpath or os.path.isabs(relpath):
            return None
        target = (run_dir / relpath).resolve()
        media_root = run_dir / "media"
        # resolve() follows symlinks too, so a link pointing outside is refused as well.
        if not target.is_relative_to(media_root) or not target.is_file():
            return None
        return target

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
        return [{"seq": seq, "key": k, "step": st, "timestamp": ts, "payload": _json_safe(loads(pl) or {})}
                for seq, k, st, ts, _kd, _p, _c, pl in self._media_rows(view, "kind = ?", [kind])]

    # -- compare --------------------------------------------------------------------------
    def compare(self, project: str, run_ids: list[str]) -> dict[str, Any]:
        views, missing = [], []
        for rid in run_ids:
            view = self._get(project, rid)
            (views.append(view) if view is not None else missing.append(rid))
        configs = [flatten(v.config) for v in views]
        keys = sorted({k for c in configs for k in c})
        values = {k: [_json_safe(c.get(k)) for c in configs] for k in keys}
        differing = [k for k in keys if len({json.dumps(v, sort_keys=True, default=str) for v in values[k]}) > 1]
        summaries = [_json_safe(v.summary) for v in views]
        mkeys = sorted({k for s in summaries for k in s})
        svalues = {k: [({f: s[k].get(f) for f in ("last", "min", "max")} if k in s else None) for s in summaries]
                   for k in mkeys}
        return {"runs": [{f: self._brief(v)[f] for f in ("id", "name", "status", "framework", "tags",
                                                         "created_at", "duration")} for v in views],
                "config": {"keys": keys, "values": values, "differing": differing},
                "summary": {"keys": mkeys, "values": svalues}, "missing": missing}
