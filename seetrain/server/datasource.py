"""The contract between the dashboard's HTTP API and the store behind it.

The web app (:mod:`seetrain.server.app`) only talks to a :class:`DataSource`. The local
dashboard uses :class:`seetrain.server.local_source.LocalSource` (per-run SQLite files);
the tracking server plugs in its own database-backed source. Every method returns plain
JSON-safe values (dicts, lists, str, int, float, bool, None): non-finite floats are never
returned as floats, they are ``None`` plus a flag (see :meth:`DataSource.metric`) or the
strings ``"nan"``, ``"inf"``, ``"-inf"`` in summaries.

Errors: a missing project or run gives ``None`` from :meth:`run` and an empty list from
the list methods; a bad argument raises :class:`ValueError` (the app answers 400).

:class:`SourceBase` holds what every source does the same way (argument checks, splitting
media keys from event kinds, encoding values, the compare loop, downsampling a series); a
source supplies only the reads of its own store through the ``_`` hooks.
"""

from __future__ import annotations

import json
import math
import os
import pathlib
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any, Generic, NamedTuple, Protocol, TypeVar, runtime_checkable

import numpy as np

from seetrain._jsonsafe import json_safe, value_flags
from seetrain.server.downsample import select
from seetrain.storage.store import loads

DEFAULT_MAX_POINTS = 1000
MAX_MAX_POINTS = 20_000
DEFAULT_CONSOLE_LIMIT = 2000
X_AXES = ("step", "time", "relative")
MEDIA_KINDS = ("image", "audio", "text", "histogram")


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


def check_metric_params(x_axis: str, max_points: int, x_min: float | None, x_max: float | None) -> None:
    """The argument checks every ``DataSource.metric`` applies (a ValueError becomes a 400)."""
    if x_axis not in X_AXES:
        raise ValueError(f"x_axis must be one of {', '.join(X_AXES)}")
    if not 2 <= max_points <= MAX_MAX_POINTS:
        raise ValueError(f"max_points must be between 2 and {MAX_MAX_POINTS}")
    for bound in (x_min, x_max):
        if bound is not None and not math.isfinite(bound):
            raise ValueError("x_min and x_max must be finite numbers")
    if x_min is not None and x_max is not None and x_min > x_max:
        raise ValueError("x_min must not be greater than x_max")


def compare_payload(briefs: list[dict[str, Any]], configs: list[dict[str, Any]],
                    summaries: list[dict[str, Any]], missing: list[str]) -> dict[str, Any]:
    """The ``DataSource.compare`` answer from each found run's brief row, flattened config and
    JSON-safe summary (same order), so every source diffs configs the same way."""
    keys = sorted({k for c in configs for k in c})
    values = {k: [c.get(k) for c in configs] for k in keys}
    differing = [k for k in keys if len({json.dumps(v, sort_keys=True, default=str) for v in values[k]}) > 1]
    mkeys = sorted({k for s in summaries for k in s})
    svalues = {k: [({f: s[k].get(f) for f in ("last", "min", "max")} if k in s else None) for s in summaries]
               for k in mkeys}
    return {"runs": [{f: b[f] for f in ("id", "name", "status", "framework", "tags", "created_at", "duration")}
                     for b in briefs],
            "config": {"keys": keys, "values": values, "differing": differing},
            "summary": {"keys": mkeys, "values": svalues}, "missing": missing}


def resolve_media_file(run_root: pathlib.Path, relpath: str) -> pathlib.Path | None:
    """The file ``relpath`` names inside ``run_root/media``, or None. ``resolve()`` follows
    ``..`` and symlinks, so nothing outside the run's media folder is ever served."""
    if "\0" in relpath or os.path.isabs(relpath):
        return None
    run_root = run_root.resolve()
    target = (run_root / relpath).resolve()
    if not target.is_relative_to(run_root / "media") or not target.is_file():
        return None
    return target


def lru_get(cache: OrderedDict[Any, Any], key: Any, make: Callable[[], Any], size: int) -> Any:
    """``cache[key]``, made with ``make()`` when missing; the least recently used entries beyond
    ``size`` are dropped. The caller holds the lock that guards ``cache``."""
    value = cache.get(key)
    if value is None:
        value = cache[key] = make()
        while len(cache) > size:
            cache.popitem(last=False)
    else:
        cache.move_to_end(key)
    return value


@runtime_checkable
class DataSource(Protocol):
    """Read-only access to projects, runs, metrics, media, console output and events."""

    def projects(self) -> list[dict[str, Any]]:
        """All projects, sorted by name.

        ``[{"name": str, "runs": int, "running": int, "last_activity": float | None}]``
        (``last_activity`` is a unix time: the newest run's heartbeat/finish/creation).
        """
        ...

    def runs(self, project: str) -> list[dict[str, Any]]:
        """The runs of one project, oldest first; ``[]`` for an unknown project.

        Each item: ``{"id", "project", "name", "description", "tags": [str], "group",
        "status": "running"|"finished"|"failed"|"crashed", "created_at": float,
        "finished_at": float|None, "heartbeat_at": float|None, "duration": float (s),
        "framework": str|None, "config": {flattened "a.b": value},
        "summary": {key: {"last", "min", "max", "count", "step", "nonfinite"}},
        "hostname": str|None}``. Summary values are floats or the strings "nan"/"inf"/"-inf".
        """
        ...

    def run(self, project: str, run_id: str) -> dict[str, Any] | None:
        """One run in full, or ``None`` if it does not exist.

        Everything :meth:`runs` gives for a run (config not flattened here: nested as
        logged), plus ``"metadata": dict`` (command, git, host, python, frameworks...),
        ``"stats": dict``, ``"error": str|None``, ``"keys": [metric keys, sorted]``,
        ``"media_keys": {kind: [keys]}`` (kinds "image", "audio", "text", "histogram"),
        ``"event_kinds": [str]`` (e.g. "llm_call", "model_summary").
        """
        ...

    def metric(self, project: str, run_id: str, key: str, x_min: float | None = None,
               x_max: float | None = None, max_points: int = DEFAULT_MAX_POINTS,
               after_step: int | None = None, x_axis: str = "step") -> dict[str, Any] | None:
        """One metric series, downsampled; ``None`` if the run or key does not exist.

        ``x_axis`` picks the x used by ``x_min``/``x_max``: "step", "time" (unix seconds)
        or "relative" (seconds since the run started). ``after_step`` returns only the points
        with step > after_step (live polling), not downsampled past ``max_points`` buckets.

        Returns ``{"key", "x_axis", "step": [int], "time": [float], "value": [float|None],
        "flag": [None|"nan"|"inf"|"-inf"], "total": int (points in the whole series),
        "in_range": int (points in the requested range), "downsampled": bool,
        "last_step": int|None (last step of the whole series), "start_time": float}``.
        Points are in x order; each bucket contributes its min and max point, non-finite
        points are always kept (value ``None``, ``flag`` says which).
        """
        ...

    def media(self, project: str, run_id: str, kind: str | None = None,
              key: str | None = None) -> list[dict[str, Any]]:
        """Media records in logging order (``[]`` for an unknown run).

        ``[{"seq": int, "key": str, "step": int, "timestamp": float, "kind": str,
        "file": str|None (path relative to the run folder, for :meth:`media_file`),
        "caption": str|None, "payload": dict}]``. For text, ``payload["text"]`` is the text;
        for histograms ``payload`` has ``counts`` and ``edges``. Events are not included.
        """
        ...

    def media_file(self, project: str, run_id: str, relpath: str) -> pathlib.Path | None:
        """The file of a media record, or ``None`` if missing or outside the run folder."""
        ...

    def console(self, project: str, run_id: str, after: int = 0,
                limit: int = DEFAULT_CONSOLE_LIMIT) -> list[dict[str, Any]]:
        """Console lines with seq > ``after``: ``[{"seq", "timestamp", "stream", "line"}]``."""
        ...

    def events(self, project: str, run_id: str, kind: str) -> list[dict[str, Any]]:
        """Structured records logged with ``run.log_event(kind, payload)``, in order.

        ``[{"seq": int, "key": str, "step": int, "timestamp": float, "payload": dict}]``.
        kind "llm_call": payload has provider, model, input_messages, output_text,
        prompt_tokens, completion_tokens, total_tokens, latency_s, ttft_s, finish_reason,
        error. kind "model_summary": payload ``{"rows": [{"name", "type", "params",
        "input_shape", "output_shape"}], "total_params": int}``.
        """
        ...

    def compare(self, project: str, run_ids: list[str]) -> dict[str, Any]:
        """Several runs side by side.

        ``{"runs": [{"id", "name", "status", "framework", "tags", "created_at",
        "duration"}], "config": {"keys": [flattened key], "values": {key: [value per run]},
        "differing": [keys whose values differ]}, "summary": {"keys": [metric],
        "values": {metric: [{"last","min","max"} | None per run]}}, "missing": [ids]}``.
        """
        ...

    def report(self, project: str, run_ids: list[str]) -> dict[str, Any] | None:
        """The comparison report of ``seetrain compare`` for the runs that exist, first = baseline.

        The dict :func:`seetrain.compare_report.build_report` returns (``baseline``, ``runs``
        with ``total_time_s``/``steps``/``hardware``, ``metrics`` per key and run with
        ``initial``/``final``/``min``/``max``/``mean``/``count``/``nonfinite``, ``batch_time``,
        ``resources`` from the ``sys/`` metrics, ``vs_baseline``), plus ``"missing": [ids]``;
        ``None`` when none of the runs exist. It reads every point of every metric, so the
        dashboard asks for it separately from :meth:`compare`. A source that cannot build it
        may leave the method out: the API then answers 501 and the compare view hides the part.
        """
        ...


class Points(NamedTuple):
    """A run's whole series of one metric, in logging order, as a source's ``_points`` gives it."""

    step: np.ndarray  # int64
    ts: np.ndarray  # float64, unix seconds
    value: np.ndarray  # float64, non-finite values as they were logged
    start: float  # the run's start: x = 0 on the "relative" axis


def series_payload(key: str, x_axis: str, pts: Points, x_min: float | None, x_max: float | None,
                   max_points: int, after_step: int | None) -> dict[str, Any]:
    """The :meth:`DataSource.metric` answer for a whole series: the points past ``after_step``,
    in x order (equal x keep logging order), downsampled to min/max per bucket, encoded as
    chart columns (non-finite values ``None`` plus a flag)."""
    step, ts, value = pts.step, pts.ts, pts.value
    total = len(step)
    last_step = int(step.max()) if total else None
    if after_step is not None:
        keep = np.flatnonzero(step > after_step)
        step, ts, value = step[keep], ts[keep], value[keep]
    x = step.astype(np.float64) if x_axis == "step" else (ts if x_axis == "time" else ts - pts.start)
    if len(x) > 1 and not bool(np.all(x[1:] >= x[:-1])):
        order = np.argsort(x, kind="stable")
        step, ts, value, x = step[order], ts[order], value[order], x[order]
    sel = select(x, value, max_points, x_min, x_max)
    idx = sel.indices
    out_values, flags = value_flags(value[idx])
    return {"key": key, "x_axis": x_axis, "step": step[idx].tolist(), "time": ts[idx].tolist(),
            "value": out_values, "flag": flags, "total": total, "in_range": sel.in_range,
            "downsampled": sel.downsampled, "last_step": last_step, "start_time": pts.start}


def split_media_kinds(pairs: Sequence[tuple[str, str]]) -> tuple[dict[str, list[str]], list[str]]:
    """Distinct ``(kind, key)`` pairs of a run's media table, sorted, as the :meth:`DataSource.run`
    fields ``media_keys`` ({media kind: [keys]}) and ``event_kinds`` (every other kind, once)."""
    media_keys: dict[str, list[str]] = {}
    event_kinds: list[str] = []
    for kind, key in pairs:
        if kind in MEDIA_KINDS:
            media_keys.setdefault(kind, []).append(key)
        elif kind not in event_kinds:
            event_kinds.append(kind)
    return media_keys, event_kinds


R = TypeVar("R")  # a source's handle on one run (a RunView, a database row ...)


class SourceBase(Generic[R]):
    """The :class:`DataSource` methods over a handful of reads a source implements.

    Hooks: ``_get`` (one run or None; raises ValueError for a bad project/run id), ``_runs``
    (a project's runs, or all, oldest first), ``_activity`` (project, last activity, status:
    what :meth:`projects` counts, without reading the summary), ``_brief`` (the row :meth:`DataSource.runs` lists,
    without ``config``), ``_config`` (the run's config as logged), ``_details`` (``metadata``,
    ``stats``, ``error``), ``_keys`` (metric keys and distinct media ``(kind, key)`` pairs),
    ``_listed_row`` (optional: a cached :meth:`runs` item),
    ``_points`` (a whole metric series), ``_media_rows`` (media table rows), ``_console`` and
    ``_build_report``. ``media_file`` is each source's own (files live in different places).
    """

    # -- hooks ----------------------------------------------------------------------------
    def _get(self, project: str, run_id: str) -> R | None:
        raise NotImplementedError

    def _runs(self, project: str | None) -> list[R]:
        raise NotImplementedError

    def _activity(self, run: R) -> tuple[str, float, str]:
        raise NotImplementedError

    def _brief(self, run: R) -> dict[str, Any]:
        raise NotImplementedError

    def _config(self, run: R) -> dict[str, Any]:
        raise NotImplementedError

    def _details(self, run: R) -> dict[str, Any]:
        raise NotImplementedError

    def _keys(self, run: R) -> tuple[list[str], list[tuple[str, str]]]:
        raise NotImplementedError

    def _points(self, run: R, key: str) -> Points | None:
        raise NotImplementedError

    def _media_rows(self, run: R, kinds: list[str], key: str | None) -> list[tuple]:
        """``(seq, key, step, ts, kind, path, caption, payload)`` rows of these kinds, in seq order."""
        raise NotImplementedError

    def _console(self, run: R, after: int, limit: int) -> list[dict[str, Any]]:
        raise NotImplementedError

    def _build_report(self, runs: list[R]) -> dict[str, Any]:
        raise NotImplementedError

    # -- shared ---------------------------------------------------------------------------
    def _found(self, project: str, run_ids: list[str]) -> tuple[list[R], list[str]]:
        found: list[R] = []
        missing: list[str] = []
        for rid in run_ids:
            run = self._get(project, rid)
            (found.append(run) if run is not None else missing.append(rid))
        return found, missing

    def projects(self) -> list[dict[str, Any]]:
        by_project: dict[str, list[tuple[float, str]]] = {}
        for run in self._runs(None):
            project, last, status = self._activity(run)
            by_project.setdefault(project, []).append((last, status))
        return [{"name": name, "runs": len(rows), "running": sum(st == "running" for _, st in rows),
                 "last_activity": max(last for last, _ in rows)}
                for name, rows in sorted(by_project.items())]

    def runs(self, project: str) -> list[dict[str, Any]]:
        check_name(project, "project")
        return [self._listed_row(r) for r in self._runs(project)]

    def _listed_row(self, run: R) -> dict[str, Any]:
        """One :meth:`runs` item (a source may cache it while the run is unchanged)."""
        return {**self._brief(run), "config": json_safe(flatten(self._config(run)))}

    def groups(self, project: str) -> dict[str, list[str]]:
        """Run ids per ``group`` (distributed ranks/nodes logged as one group), oldest run first."""
        check_name(project, "project")
        out: dict[str, list[str]] = {}
        for run in self._runs(project):
            b = self._brief(run)
            if b["group"] is not None:
                out.setdefault(b["group"], []).append(b["id"])
        return out

    def run(self, project: str, run_id: str) -> dict[str, Any] | None:
        run = self._get(project, run_id)
        if run is None:
            return None
        keys, pairs = self._keys(run)
        media_keys, event_kinds = split_media_kinds(pairs)
        details = self._details(run)
        return {**self._brief(run), "config": json_safe(self._config(run)),
                "metadata": json_safe(details["metadata"]), "stats": json_safe(details["stats"]),
                "error": details["error"], "keys": keys, "media_keys": media_keys, "event_kinds": event_kinds}

    def metric(self, project: str, run_id: str, key: str, x_min: float | None = None,
               x_max: float | None = None, max_points: int = DEFAULT_MAX_POINTS,
               after_step: int | None = None, x_axis: str = "step") -> dict[str, Any] | None:
        check_metric_params(x_axis, max_points, x_min, x_max)
        run = self._get(project, run_id)
        if run is None:
            return None
        pts = self._points(run, key)
        if pts is None:
            return None
        return series_payload(key, x_axis, pts, x_min, x_max, max_points, after_step)

    def media(self, project: str, run_id: str, kind: str | None = None,
              key: str | None = None) -> list[dict[str, Any]]:
        if kind is not None and kind not in MEDIA_KINDS:
            raise ValueError(f"kind must be one of {', '.join(MEDIA_KINDS)}")
        run = self._get(project, run_id)
        if run is None:
            return []
        return [{"seq": seq, "key": k, "step": st, "timestamp": ts, "kind": kd, "file": p, "caption": c,
                 "payload": json_safe(loads(pl) or {})}
                for seq, k, st, ts, kd, p, c, pl in self._media_rows(run, [kind] if kind else list(MEDIA_KINDS),
                                                                     key)]

    def console(self, project: str, run_id: str, after: int = 0,
                limit: int = DEFAULT_CONSOLE_LIMIT) -> list[dict[str, Any]]:
        if after < 0 or limit < 1:
            raise ValueError("after must be >= 0 and limit >= 1")
        run = self._get(project, run_id)
        return [] if run is None else self._console(run, after, limit)

    def events(self, project: str, run_id: str, kind: str) -> list[dict[str, Any]]:
        if kind in MEDIA_KINDS:
            raise ValueError(f"{kind!r} is a media kind, not an event kind")
        run = self._get(project, run_id)
        if run is None:
            return []
        return [{"seq": seq, "key": k, "step": st, "timestamp": ts, "payload": json_safe(loads(pl) or {})}
                for seq, k, st, ts, _kd, _p, _c, pl in self._media_rows(run, [kind], None)]

    def compare(self, project: str, run_ids: list[str]) -> dict[str, Any]:
        found, missing = self._found(project, run_ids)
        briefs = [self._brief(r) for r in found]
        return compare_payload(briefs, [json_safe(flatten(self._config(r))) for r in found],
                               [b["summary"] for b in briefs], missing)

    def report(self, project: str, run_ids: list[str]) -> dict[str, Any] | None:
        found, missing = self._found(project, run_ids)
        if not found:
            return None
        return {**self._build_report(found), "missing": missing}
