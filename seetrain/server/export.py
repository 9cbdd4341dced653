"""Every point of a metric, through the :class:`~seetrain.server.datasource.DataSource` interface.

A chart's own data is downsampled; its CSV export must not be. :meth:`DataSource.metric` returns
every point of an x range when the range holds fewer points than ``max_points``, so the whole
series is read window by window over the step axis: a window that comes back downsampled is
halved, a sparse one is widened. Steps are integers, so windows ``[lo, hi]``, ``[hi + 1, ...]``
partition the series and no point is sent twice.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from seetrain.server.datasource import MAX_MAX_POINTS, DataSource

CSV_COLUMNS = ("run_id", "run_name", "step", "wall_time", "relative_time", "value")
_WINDOW_POINTS = MAX_MAX_POINTS - 4  # room for the neighbour point sent beyond each edge


def iter_points(source: DataSource, project: str, run_id: str, key: str) -> Iterator[dict[str, Any]]:
    """Windows of the full series ``key`` of one run: dicts with ``step``, ``time``, ``value``,
    ``flag`` lists (the shape of :meth:`DataSource.metric`) and ``start_time``, in step order."""
    head = source.metric(project, run_id, key, max_points=2)
    if head is None or not head["step"]:
        return
    first, last = int(head["step"][0]), int(head["last_step"] if head["last_step"] is not None else head["step"][-1])
    total = max(1, int(head["total"]))
    width = max(1, int((last - first + 1) * _WINDOW_POINTS / total))
    lo = first
    while lo <= last:
        hi = min(last, lo + width - 1)
        part = source.metric(project, run_id, key, x_min=lo, x_max=hi, max_points=MAX_MAX_POINTS)
        if part is None:
            return
        if part["downsampled"] and hi > lo:
            width = max(1, (hi - lo + 1) // 2)  # too dense here: halve and ask again
            continue
        keep = [i for i, s in enumerate(part["step"]) if lo <= s <= hi]
        if keep:
            yield {"step": [part["step"][i] for i in keep], "time": [part["time"][i] for i in keep],
                   "value": [part["value"][i] for i in keep], "flag": [part["flag"][i] for i in keep],
                   "start_time": part["start_time"]}
        lo = hi + 1
        if part["in_range"] < _WINDOW_POINTS // 4:
            width *= 2


def iter_csv(source: DataSource, project: str, key: str, runs: list[dict[str, Any]]) -> Iterator[str]:
    """CSV text of every point of ``key`` for ``runs`` (``[{"id", "name"}]``), header first.

    Columns: run_id, run_name, step, wall_time (unix s), relative_time (s since the run
    started), value (a number, or ``nan``/``inf``/``-inf``)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for run in runs:
        for part in iter_points(source, project, run["id"], key):
            start = part["start_time"] or 0.0
            for step, ts, value, flag in zip(part["step"], part["time"], part["value"], part["flag"]):
                writer.writerow((run["id"], run["name"], step, repr(ts), repr(ts - start),
                                 flag if flag else repr(value)))
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()
