"""A :class:`~seetrain.server.datasource.DataSource` over a local logdir (one SQLite file per run).

Every read uses a read-only connection, so the dashboard is safe while runs keep writing.
Run rows are reused until the run's database files change. A metric is served from its
level-of-detail blocks (``scalar_blocks``, one row per 1024 points, see :mod:`seetrain._store`):
the whole range of a million points is about a thousand block rows, each giving its min, max
and first non-finite point, plus the key's raw "tail" after its last block. A range holding
few enough points is answered from the raw rows of the blocks it touches, read by seq range
through the (key_id, seq) index, so zooming refines down to every point. Blocks and the tail
are cached per metric and grown incrementally; raw block reads share one bounded cache.
Schema-1 databases have no blocks: all their rows are tail, read once and then incrementally.
"""

from __future__ import annotations

import os
import pathlib
import sqlite3
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from seetrain._store import BLOCK_SIZE, DB_NAME, connect, iter_run_dirs, loads
from seetrain.api import RunView, _json_safe, read_run
from seetrain.compare_report import build_report
from seetrain.server.datasource import (
    DEFAULT_CONSOLE_LIMIT,
    DEFAULT_MAX_POINTS,
    check_metric_params,
    compare_payload,
    lru_get,
    resolve_media_file,
)
from seetrain.server.downsample import plan_blocks, select

MEDIA_KINDS = ("image", "audio", "text", "histogram")
_SERIES_CACHE_SIZE = 128
_REPORT_CACHE_SIZE = 16
# Raw points of whole blocks kept for zooming and panning (shared by all metrics): ~8 MB.
_RAW_CACHE_POINTS = 256 * BLOCK_SIZE
# At most this many blocks whose points straddle a range edge are read raw when the range
# itself is answered from block extremes (keeps the line exact where the chart is cut).
_EDGE_BLOCKS = 2
_SPECIAL = {"nan": np.nan, "inf": np.inf, "-inf": -np.inf}
_BLOCK_SELECT = (
    "SELECT seq_first, seq_last, n, step_min, step_max, ts_first, ts_last, v_min, step_at_min, ts_at_min, "
    "v_max, step_at_max, ts_at_max, nonfinite, nonfinite_step, nonfinite_ts, nonfinite_kind "
    "FROM scalar_blocks WHERE key_id = ? AND seq_last > ? ORDER BY seq_last")
_ROWS = "SELECT seq, step, ts, value, special FROM scalars"


def _floats(col: tuple) -> np.ndarray:
    return np.array(col, dtype=np.float64)  # NULL -> nan


def _ints(col: tuple) -> np.ndarray:
    return np.array(col, dtype=np.int64)


def raw_limit(max_points: int) -> int:
    """Most points a request reads raw from SQLite (about 1 us each) instead of block extremes."""
    return max(8 * max_points, 16 * BLOCK_SIZE)


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


@dataclass
class Points:
    """Columns of some points of one metric (seq order unless said otherwise)."""

    seq: np.ndarray
    step: np.ndarray
    ts: np.ndarray
    value: np.ndarray

    @classmethod
    def empty(cls) -> Points:
        return cls(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float64), np.empty(0, np.float64))

    @classmethod
    def from_rows(cls, rows: list[tuple]) -> Points:
        """From ``(seq, step, ts, value, special)`` rows (non-finite stored as NULL + special)."""
        if not rows:
            return cls.empty()
        seq, step, ts, value, special = zip(*rows)
        vals = np.array(value, dtype=np.float64)  # NULL -> nan
        if special.count(None) != len(special):
            for i, sp in enumerate(special):
                if sp is not None:
                    vals[i] = _SPECIAL[sp]
        return cls(np.array(seq, np.int64), np.array(step, np.int64), np.array(ts, np.float64), vals)

    @classmethod
    def concat(cls, parts: list[Points]) -> Points:
        parts = [p for p in parts if len(p.seq)]
        if not parts:
            return cls.empty()
        if len(parts) == 1:
            return parts[0]
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("seq", "step", "ts", "value")))

    def take(self, idx: np.ndarray) -> Points:
        return Points(self.seq[idx], self.step[idx], self.ts[idx], self.value[idx])

    def x(self, axis: str, start: float) -> np.ndarray:
        if axis == "step":
            return self.step.astype(np.float64)
        return self.ts if axis == "time" else self.ts - start

    def __len__(self) -> int:
        return len(self.seq)


class _RawBlocks:
    """LRU of the raw points of whole blocks, keyed (db path, key id, seq_last), bounded in points.
    Blocks never change once written, so an entry is valid for as long as the file lives."""

    def __init__(self, max_points: int = _RAW_CACHE_POINTS) -> None:
        self.max_points = max_points
        self._lock = threading.Lock()
        self._data: OrderedDict[tuple[str, int, int], Points] = OrderedDict()
        self._points = 0

    def get(self, key: tuple[str, int, int]) -> Points | None:
        with self._lock:
            hit = self._data.get(key)
            if hit is not None:
                self._data.move_to_end(key)
            return hit

    def put(self, key: tuple[str, int, int], pts: Points) -> None:
        with self._lock:
            if key in self._data:
                return
            self._data[key] = pts
            self._points += len(pts)
            while self._points > self.max_points and len(self._data) > 1:
                _, old = self._data.popitem(last=False)
                self._points -= len(old)


class _Series:
    """One metric of one run: its blocks and its tail, grown in place as the run writes more."""

    def __init__(self, db_path: str) -> None:
        self.lock = threading.Lock()
        self.db_path = db_path
        self.key_id: int | None = None
        self.has_blocks = False
        self.has_seq_index = False
        self.blocks_upto = 0  # seq_last of the newest block read
        z_i, z_f = np.empty(0, np.int64), np.empty(0, np.float64)
        # Per block, in seq order.
        self.b_seq_first, self.b_seq_last, self.b_n = z_i, z_i, z_i
        self.b_step_min, self.b_step_max, self.b_ts_lo, self.b_ts_hi = z_i, z_i, z_f, z_f
        # Each block's min, max and first non-finite point; ext_block says whose.
        self.ext = Points.empty()
        self.ext_block = z_i
        self.first: Points = Points.empty()  # the series' first point (first block's first row)
        self.last_block_end: Points = Points.empty()  # the newest block's last row
        self.tail = Points.empty()

    # -- reading from SQLite --------------------------------------------------------------
    def refresh(self, conn: sqlite3.Connection, key: str) -> bool:
        """Read blocks and tail rows written since the last call; False if the key does not exist."""
        if self.key_id is None:
            row = conn.execute("SELECT id FROM metric_keys WHERE name = ?", (key,)).fetchone()
            if row is None:
                return False
            self.key_id = row[0]
        kid = self.key_id
        if not self.has_blocks:
            self.has_blocks = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'scalar_blocks'").fetchone() is not None
        if not self.has_seq_index:
            self.has_seq_index = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'scalars_by_key_seq'").fetchone() is not None
        if self.has_blocks:
            rows = conn.execute(_BLOCK_SELECT, (kid, self.blocks_upto)).fetchall()
            if rows:
                self._add_blocks(conn, rows)
        after = max(self.blocks_upto, int(self.tail.seq[-1]) if len(self.tail) else 0)
        if self.has_seq_index:
            new = conn.execute(f"{_ROWS} WHERE key_id = ? AND seq > ? ORDER BY seq", (kid, after)).fetchall()
        else:
            # Schema 1 indexes (key_id, step): "+key_id" keeps SQLite on the rowid range so only
            # rows appended since the last read are visited.
            new = conn.execute(f"{_ROWS} WHERE seq > ? AND +key_id = ? ORDER BY seq", (after, kid)).fetchall()
        if new:
            self.tail = Points.concat([self.tail, Points.from_rows(new)])
        return True

    def _add_blocks(self, conn: sqlite3.Connection, rows: list[tuple]) -> None:
        cols = list(zip(*rows))
        (seq_first, seq_last, n, step_min, step_max, ts_first, ts_last, v_min, step_at_min, ts_at_min,
         v_max, step_at_max, ts_at_max, nonfinite, nf_step, nf_ts, nf_kind) = cols
        f, i = _floats, _ints
        base = len(self.b_n)
        t_first, t_last = f(ts_first), f(ts_last)
        # A block's time range also covers its extreme points, in case the clock stepped back.
        ts_lo = np.fmin(np.fmin(np.minimum(t_first, t_last), f(ts_at_min)), np.fmin(f(ts_at_max), f(nf_ts)))
        ts_hi = np.fmax(np.fmax(np.maximum(t_first, t_last), f(ts_at_min)), np.fmax(f(ts_at_max), f(nf_ts)))
        self.b_seq_first = np.concatenate([self.b_seq_first, i(seq_first)])
        self.b_seq_last = np.concatenate([self.b_seq_last, i(seq_last)])
        self.b_n = np.concatenate([self.b_n, i(n)])
        self.b_step_min = np.concatenate([self.b_step_min, i(step_min)])
        self.b_step_max = np.concatenate([self.b_step_max, i(step_max)])
        self.b_ts_lo = np.concatenate([self.b_ts_lo, ts_lo])
        self.b_ts_hi = np.concatenate([self.b_ts_hi, ts_hi])
        # Extreme points: the seq of a block's first row stands in for theirs (only used to
        # keep a stable order among points with equal x).
        idx = np.arange(base, base + len(rows))
        has_min = np.array([v is not None for v in v_min])
        has_bad = np.array(nonfinite) > 0
        bad_vals = np.array([_SPECIAL[k] if k else np.nan for k in nf_kind], dtype=np.float64)
        parts = [
            Points(i(seq_first)[has_min], i([s or 0 for s in step_at_min])[has_min], f(ts_at_min)[has_min],
                   f(v_min)[has_min]),
            Points(i(seq_first)[has_min], i([s or 0 for s in step_at_max])[has_min], f(ts_at_max)[has_min],
                   f(v_max)[has_min]),
            Points(i(seq_first)[has_bad], i([s or 0 for s in nf_step])[has_bad], f(nf_ts)[has_bad],
                   bad_vals[has_bad]),
        ]
        self.ext = Points.concat([self.ext, *parts])
        self.ext_block = np.concatenate([self.ext_block, idx[has_min], idx[has_min], idx[has_bad]])
        if base == 0:
            self.first = self._rows_by_seq(conn, seq_first[0], seq_first[0])
        self.blocks_upto = seq_last[-1]
        self.last_block_end = self._rows_by_seq(conn, seq_last[-1], seq_last[-1])
        if len(self.tail):
            self.tail = self.tail.take(np.flatnonzero(self.tail.seq > self.blocks_upto))

    def _rows_by_seq(self, conn: sqlite3.Connection, first: int, last: int) -> Points:
        return Points.from_rows(conn.execute(
            f"{_ROWS} WHERE key_id = ? AND seq BETWEEN ? AND ? ORDER BY seq", (self.key_id, first, last)).fetchall())

    def raw_blocks(self, conn: sqlite3.Connection, which: np.ndarray, cache: _RawBlocks) -> list[Points]:
        """The raw points of the blocks ``which`` (sorted block indices), cached ones first from
        memory; contiguous runs of missing blocks come back in one indexed seq-range query."""
        out: list[Points] = []
        missing: list[int] = []
        for b in which.tolist():
            hit = cache.get((self.db_path, self.key_id, int(self.b_seq_last[b])))
            (out.append(hit) if hit is not None else missing.append(b))
        start = 0
        while start < len(missing):
            end = start
            while end + 1 < len(missing) and missing[end + 1] == missing[end] + 1:
                end += 1
            lo, hi = missing[start], missing[end]
            pts = self._rows_by_seq(conn, int(self.b_seq_first[lo]), int(self.b_seq_last[hi]))
            cuts = np.searchsorted(pts.seq, self.b_seq_last[lo:hi + 1], side="right")
            prev = 0
            for b, cut in zip(range(lo, hi + 1), cuts.tolist()):
                part = pts.take(np.arange(prev, cut))
                cache.put((self.db_path, self.key_id, int(self.b_seq_last[b])), part)
                out.append(part)
                prev = cut
            start = end + 1
        return out

    # -- answering a request --------------------------------------------------------------
    @property
    def total(self) -> int:
        return int(self.b_n.sum()) + len(self.tail)

    @property
    def last_step(self) -> int | None:
        steps = [int(self.b_step_max.max())] if len(self.b_n) else []
        if len(self.tail):
            steps.append(int(self.tail.step.max()))
        return max(steps) if steps else None

    def gather(self, conn: sqlite3.Connection, cache: _RawBlocks, axis: str, start: float,
               x_min: float | None, x_max: float | None, after_step: int | None,
               max_points: int) -> tuple[Points, Points | None, int]:
        """The candidate points for a request; for a block answer also the raw points among
        them and how many real points the blocks not read raw hold in range (None and 0 when
        every candidate is a raw point, so counting the candidates in range is exact).

        :func:`~seetrain.server.downsample.plan_blocks` picks the blocks read raw; in a block
        answer every other block gives its min, max and first non-finite point, and the series'
        first and last points are added so the line spans the whole range. The tail is always
        raw.
        """
        tail = self.tail
        if not len(self.b_n):
            return tail, None, 0
        if axis == "step":
            lo_x, hi_x = self.b_step_min.astype(np.float64), self.b_step_max.astype(np.float64)
        else:
            shift = 0.0 if axis == "time" else start
            lo_x, hi_x = self.b_ts_lo - shift, self.b_ts_hi - shift
        plan = plan_blocks(lo_x, hi_x, self.b_n, x_min, x_max, raw_limit(max_points), self.b_step_min,
                           self.b_step_max, after_step, _EDGE_BLOCKS)
        parts = self.raw_blocks(conn, plan.raw, cache) if len(plan.raw) else []
        if not plan.extremes:
            return Points.concat([*parts, tail]), None, 0
        use_ext = ~np.isin(self.ext_block, plan.raw)
        if after_step is not None:
            use_ext &= plan.touched[self.ext_block]
        known = plan.unread_in_range
        raw_pts = Points.concat([*parts, tail])
        pts = Points.concat([self.first, self.ext.take(np.flatnonzero(use_ext)), self.last_block_end, raw_pts])
        return pts, raw_pts, known
class LocalSource:
    """Serve the runs under ``logdir`` (``<logdir>/<project>/<run_id>/run.sqlite``)."""

    def __init__(self, logdir: str | os.PathLike[str]) -> None:
        self.logdir = os.path.abspath(os.fspath(logdir))
        self._lock = threading.Lock()
        self._rows: dict[str, tuple[tuple, RunView | None]] = {}
        self._series: OrderedDict[tuple[str, str], _Series] = OrderedDict()
        self._raw = _RawBlocks()
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
    def _series_for(self, run_dir: str, db_path: str, key: str) -> _Series:
        with self._lock:
            return lru_get(self._series, (run_dir, key), lambda: _Series(db_path), _SERIES_CACHE_SIZE)

    def metric(self, project: str, run_id: str, key: str, x_min: float | None = None,
               x_max: float | None = None, max_points: int = DEFAULT_MAX_POINTS,
               after_step: int | None = None, x_axis: str = "step") -> dict[str, Any] | None:
        check_metric_params(x_axis, max_points, x_min, x_max)
        view = self._get(project, run_id)
        if view is None:
            return None
        start = view.created_at
        series = self._series_for(view.dir, view.path, key)
        with series.lock:
            conn = connect(view.path, readonly=True)
            try:
                if not series.refresh(conn, key):
                    return None
                pts, raw_pts, known = series.gather(conn, self._raw, x_axis, start, x_min, x_max,
                                                    after_step, max_points)
            finally:
                conn.close()
            total = series.total
            last_step = series.last_step
        if after_step is not None:
            pts = pts.take(np.flatnonzero(pts.step > after_step))
            if raw_pts is not None:
                raw_pts = raw_pts.take(np.flatnonzero(raw_pts.step > after_step))
        x = pts.x(x_axis, start)
        # x order; equal x keep logging order (the seq of block extremes is their block's).
        order = np.lexsort((pts.seq, x))
        pts, x = pts.take(order), x[order]
        if raw_pts is not None and len(pts) > 1:
            # A block answer can hold one point twice (a block's min is also the series' first
            # point, a constant block's min is its max): keep one.
            v = pts.value
            same = ((pts.step[1:] == pts.step[:-1]) & (pts.ts[1:] == pts.ts[:-1])
                    & ((v[1:] == v[:-1]) | (np.isnan(v[1:]) & np.isnan(v[:-1]))))
            if same.any():
                keep = np.concatenate([[True], ~same])
                pts, x = pts.take(keep), x[keep]
        sel = select(x, pts.value, max_points, x_min, x_max)
        if raw_pts is None:
            in_range, downsampled = sel.in_range, sel.downsampled
        else:
            rx = raw_pts.x(x_axis, start)
            ok = np.ones(len(rx), dtype=bool)
            if x_min is not None:
                ok &= rx >= x_min
            if x_max is not None:
                ok &= rx <= x_max
            in_range, downsampled = known + int(ok.sum()), True
        idx = sel.indices
        vals = pts.value[idx]
        finite = np.isfinite(vals)
        out_values: list[float | None] = np.where(finite, vals, 0.0).tolist()
        flags: list[str | None] = [None] * len(idx)
        for i in np.flatnonzero(~finite).tolist():
            v = vals[i]
            out_values[i] = None
            flags[i] = "nan" if v != v else ("inf" if v > 0 else "-inf")
        return {"key": key, "x_axis": x_axis, "step": pts.step[idx].tolist(), "time": pts.ts[idx].tolist(),
                "value": out_values, "flag": flags, "total": total, "in_range": in_range,
                "downsampled": downsampled, "last_step": last_step, "start_time": start}

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
        return [{"seq": seq, "key": k, "step": st, "timestamp": ts, "payload": _json_safe(loads(pl) or {})}
                for seq, k, st, ts, _kd, _p, _c, pl in self._media_rows(view, "kind = ?", [kind])]

    # -- compare --------------------------------------------------------------------------
    def compare(self, project: str, run_ids: list[str]) -> dict[str, Any]:
        views, missing = [], []
        for rid in run_ids:
            view = self._get(project, rid)
            (views.append(view) if view is not None else missing.append(rid))
        return compare_payload([self._brief(v) for v in views], [_json_safe(flatten(v.config)) for v in views],
                               [_json_safe(v.summary) for v in views], missing)

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
