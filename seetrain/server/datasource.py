"""The contract between the dashboard's HTTP API and the store behind it.

The web app (:mod:`seetrain.server.app`) only talks to a :class:`DataSource`. The local
dashboard uses :class:`seetrain.server.local_source.LocalSource` (per-run SQLite files);
the tracking server plugs in its own database-backed source. Every method returns plain
JSON-safe values (dicts, lists, str, int, float, bool, None): non-finite floats are never
returned as floats, they are ``None`` plus a flag (see :meth:`DataSource.metric`) or the
strings ``"nan"``, ``"inf"``, ``"-inf"`` in summaries.

Errors: a missing project or run gives ``None`` from :meth:`run` and an empty list from
the list methods; a bad argument raises :class:`ValueError` (the app answers 400).
"""

from __future__ import annotations

import json
import math
import os
import pathlib
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

DEFAULT_MAX_POINTS = 1000
MAX_MAX_POINTS = 20_000
DEFAULT_CONSOLE_LIMIT = 2000
X_AXES = ("step", "time", "relative")


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
