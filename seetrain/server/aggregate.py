"""Many runs of one metric as a few group bands (mean with min-max and std), server-side.

A 100-run sweep is unreadable as 100 lines and heavy as 100 series: the runs are grouped by
a config key, a tag, their ``group`` or their job type, every run's series (downsampled by
:meth:`~seetrain.server.datasource.DataSource.metric`) is put on one shared grid of x bins,
and each group sends, per bin, the mean, min, max and standard deviation across its runs plus
how many runs have a value there. A run contributes to a bin the mean of its points in it;
bins between two of its points take the straight line between them (no value is invented
before a run's first point or after its last). Non-finite points are left out of the bands.

Results are cached until one of the runs logs more points of the key or changes status.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import numpy as np

from seetrain.server.datasource import DataSource, check_metric_params

GROUP_FIELDS = ("config", "tag", "group", "job_type")
_CACHE_SIZE = 64
NO_VALUE = "(none)"


def group_of(run: dict[str, Any], group_by: str) -> list[str]:
    """The group names of ``run`` (a ``DataSource.runs`` item) for ``group_by``: ``config:KEY``
    (the flattened config key's value), ``tag`` (one group per tag), ``group``, ``job_type``
    (config ``job_type``, else the run's ``group``)."""
    kind, _, key = group_by.partition(":")
    if kind == "config":
        if not key:
            raise ValueError("group_by config needs a key: config:KEY")
        value = run.get("config", {}).get(key)
        return [NO_VALUE if value is None else str(value)]
    if kind == "tag":
        return list(run.get("tags") or []) or [NO_VALUE]
    if kind == "group":
        return [run.get("group") or NO_VALUE]
    if kind == "job_type":
        value = run.get("config", {}).get("job_type") or run.get("job_type") or run.get("group")
        return [str(value) if value else NO_VALUE]
    raise ValueError(f"group_by must be one of config:KEY, {', '.join(GROUP_FIELDS[1:])}")


def _on_grid(x: np.ndarray, y: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """One value per bin of ``edges``: the mean of the points in it, else the straight line
    between the neighbouring points; NaN outside [x[0], x[-1]]."""
    bins = len(edges) - 1
    out = np.full(bins, np.nan)
    ok = np.isfinite(y)
    x, y = x[ok], y[ok]
    if not len(x):
        return out
    idx = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, bins - 1)
    sums = np.bincount(idx, weights=y, minlength=bins)
    counts = np.bincount(idx, minlength=bins)
    has = counts > 0
    out[has] = sums[has] / counts[has]
    centers = (edges[:-1] + edges[1:]) / 2
    inside = ~has & (centers >= x[0]) & (centers <= x[-1])
    if inside.any():
        out[inside] = np.interp(centers[inside], x, y)
    return out


def _stats(stack: np.ndarray) -> dict[str, list[float | None]]:
    """Mean, min, max, std and count across runs (rows) per bin (columns), None where no run."""
    count = np.sum(np.isfinite(stack), axis=0)
    safe = np.where(np.isfinite(stack), stack, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = safe.sum(axis=0) / count
        var = (np.where(np.isfinite(stack), (stack - mean) ** 2, 0.0)).sum(axis=0) / count
    lo = np.where(np.isfinite(stack), stack, np.inf).min(axis=0)
    hi = np.where(np.isfinite(stack), stack, -np.inf).max(axis=0)
    empty = count == 0

    def clean(a: np.ndarray) -> list[float | None]:
        return [None if e else float(v) for v, e in zip(a.tolist(), empty.tolist())]

    return {"mean": clean(mean), "min": clean(lo), "max": clean(hi), "std": clean(np.sqrt(var)),
            "count": count.astype(int).tolist()}


class Aggregator:
    """Group bands over any :class:`DataSource` (``source.runs`` and ``source.metric`` only)."""

    def __init__(self, source: DataSource) -> None:
        self.source = source
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple, dict[str, Any]] = OrderedDict()

    def bands(self, project: str, key: str, run_ids: list[str] | None, group_by: str,
              x_axis: str = "step", bins: int = 200, x_min: float | None = None,
              x_max: float | None = None) -> dict[str, Any]:
        """``{"key", "x_axis", "group_by", "x": [bin centre], "groups": [{"name", "runs": [id],
        "mean", "min", "max", "std": [float|None per bin], "count": [int per bin]}],
        "runs_without_key": [id]}``; groups in name order. ``run_ids`` None: every run."""
        check_metric_params(x_axis, max(2, bins * 2), x_min, x_max)
        if not 2 <= bins <= 2000:
            raise ValueError("bins must be between 2 and 2000")
        rows = self.source.runs(project)
        if run_ids is not None:
            wanted = set(run_ids)
            rows = [r for r in rows if r["id"] in wanted]
        names = {r["id"]: group_of(r, group_by) for r in rows}  # raises on a bad group_by
        # The cache key changes when any run logs more of this key or changes status.
        sig = tuple((r["id"], r["status"], (r.get("summary", {}).get(key) or {}).get("count"),
                     (r.get("summary", {}).get(key) or {}).get("step")) for r in rows)
        cache_key = (project, key, group_by, x_axis, bins, x_min, x_max, sig)
        return self._cached(cache_key, lambda: self._build(project, key, rows, names, group_by, x_axis, bins,
                                                           x_min, x_max))

    def _cached(self, cache_key: tuple, make: Any) -> dict[str, Any]:
        with self._lock:
            hit = self._cache.get(cache_key)
            if hit is not None:
                self._cache.move_to_end(cache_key)
                return hit
        value = make()  # outside the lock: other requests go on meanwhile
        with self._lock:
            self._cache[cache_key] = value
            while len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return value

    def _build(self, project: str, key: str, rows: list[dict[str, Any]], names: dict[str, list[str]],
               group_by: str, x_axis: str, bins: int, x_min: float | None, x_max: float | None) -> dict[str, Any]:
        series: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        missing: list[str] = []
        for r in rows:
            s = self.source.metric(project, r["id"], key, x_min=x_min, x_max=x_max, max_points=max(2, 4 * bins),
                                   x_axis=x_axis)
            if s is None or not s["step"]:
                missing.append(r["id"])
                continue
            if x_axis == "step":
                x = np.asarray(s["step"], dtype=np.float64)
            else:
                x = np.asarray(s["time"], dtype=np.float64) - (s["start_time"] if x_axis == "relative" else 0.0)
            y = np.array([np.nan if v is None else v for v in s["value"]], dtype=np.float64)
            series[r["id"]] = (x, y)
        out: dict[str, Any] = {"key": key, "x_axis": x_axis, "group_by": group_by, "x": [], "groups": [],
                               "runs_without_key": missing}
        if not series:
            return out
        lo = x_min if x_min is not None else min(float(x[0]) for x, _ in series.values())
        hi = x_max if x_max is not None else max(float(x[-1]) for x, _ in series.values())
        if hi <= lo:
            hi = lo + 1.0
        edges = np.linspace(lo, hi, bins + 1)
        grid = {rid: _on_grid(x, y, edges) for rid, (x, y) in series.items()}
        members: dict[str, list[str]] = {}
        for rid in grid:
            for name in names[rid]:
                members.setdefault(name, []).append(rid)
        out["x"] = ((edges[:-1] + edges[1:]) / 2).tolist()
        for name in sorted(members):
            stack = np.vstack([grid[rid] for rid in members[name]])
            out["groups"].append({"name": name, "runs": members[name], **_stats(stack)})
        return out
