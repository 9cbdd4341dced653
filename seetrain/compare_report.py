"""Compare runs: a JSON summary and PNG plots overlaying them (``seetrain compare``).

The first run is the baseline. The summary holds, per run: total time, per metric
initial/final/min/max/mean, batch-time statistics and resource usage from the ``sys/`` metrics;
and, per later run, ratios against the baseline. :func:`build_report` returns the same dict the
dashboard's compare view can serve; :func:`write_report` also writes the files.

Batch time comes from a metric named like ``batch_time`` / ``step_time`` / ``iter_time`` when
one was logged (seconds per step); otherwise it is estimated from the timestamps of consecutive
logged steps, which includes whatever the script did between two ``log`` calls.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Sequence
from typing import Any

from seetrain._jsonsafe import json_safe
from seetrain.api import RunView

SYS_PREFIX = "sys/"
BATCH_TIME = re.compile(r"(^|/)(batch|step|iter|iteration)[_ ]?(time|duration)(_s|_sec|_seconds)?$", re.I)
MAX_PLOT_POINTS = 5000
# Per-parameter and per-head insight keys are in the JSON but get no plot of their own unless
# asked for with --metric: a model has hundreds of them.
DETAIL_KEY = re.compile(r"^(gradients|parameters)/(norm/(?!total$)|hist/)|^attention/.*/head\d+/")
RESOURCE_KEYS = ("sys/cpu_percent", "sys/memory_percent", "sys/proc/memory_rss_mb", "sys/proc/cpu_percent")


def _finite(values: Sequence[float]) -> list[float]:
    return [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]


def _percentile(sorted_vals: list[float], q: float) -> float:
    if len(sorted_vals) == 1:
        return sorted_vals[0]
    pos = (len(sorted_vals) - 1) * q
    lo = int(math.floor(pos))
    hi = min(lo + 1, len(sorted_vals) - 1)
    return sorted_vals[lo] + (sorted_vals[hi] - sorted_vals[lo]) * (pos - lo)


def series_stats(values: Sequence[float]) -> dict[str, Any]:
    """initial/final (as logged, NaN kept as None), and min/max/mean over the finite values."""
    finite = _finite(values)
    out: dict[str, Any] = {"count": len(values), "initial": _clean(values[0]) if values else None,
                           "final": _clean(values[-1]) if values else None,
                           "nonfinite": len(values) - len(finite)}
    if finite:
        out.update(min=min(finite), max=max(finite), mean=sum(finite) / len(finite))
    else:
        out.update(min=None, max=None, mean=None)
    return out


def distribution(values: Sequence[float]) -> dict[str, Any] | None:
    finite = sorted(_finite(values))
    if not finite:
        return None
    mean = sum(finite) / len(finite)
    var = sum((v - mean) ** 2 for v in finite) / len(finite)
    return {"count": len(finite), "mean": mean, "std": math.sqrt(var), "min": finite[0],
            "median": _percentile(finite, 0.5), "p90": _percentile(finite, 0.9),
            "p99": _percentile(finite, 0.99), "max": finite[-1]}


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class _RunData:
    """All scalar points of one run, read once."""

    def __init__(self, run: RunView) -> None:
        self.run = run
        self.series: dict[str, list[tuple[int, float, float]]] = {k: run.scalars(k) for k in run.keys()}

    def batch_times(self) -> tuple[list[float], str | None]:
        for key in sorted(self.series):
            if not key.startswith(SYS_PREFIX) and BATCH_TIME.search(key):
                return [v for _, _, v in self.series[key]], key
        first_ts: dict[int, float] = {}
        for key, points in self.series.items():
            if key.startswith(SYS_PREFIX):
                continue
            for step, ts, _ in points:
                if step not in first_ts or ts < first_ts[step]:
                    first_ts[step] = ts
        steps = sorted(first_ts)
        times = []
        for a, b in zip(steps, steps[1:]):
            dt = first_ts[b] - first_ts[a]
            if dt >= 0 and b > a:
                times.append(dt / (b - a))
        return times, ("timestamps" if times else None)


def build_report(runs: Sequence[RunView], metrics: Sequence[str] | None = None) -> dict[str, Any]:
    """The comparison as a JSON-ready dict (NaN and inf become None)."""
    if not runs:
        raise ValueError("compare needs at least one run")
    return _build([_RunData(r) for r in runs], metrics)


def _build(data: list[_RunData], metrics: Sequence[str] | None) -> dict[str, Any]:
    runs = [d.run for d in data]
    all_keys = sorted({k for d in data for k in d.series})
    wanted = [k for k in all_keys if not k.startswith(SYS_PREFIX)]
    if metrics:
        wanted = [k for k in wanted if k in set(metrics)]
    report: dict[str, Any] = {"baseline": runs[0].id, "runs": [], "metrics": {}, "batch_time": {},
                              "resources": {}, "timing": {}, "vs_baseline": {}}
    for d in data:
        r = d.run
        stamps = [ts for k, pts in d.series.items() if not k.startswith(SYS_PREFIX) for _, ts, _ in pts]
        report["runs"].append({
            "id": r.id, "project": r.project, "name": r.name, "status": r.status,
            # A crashed, failed or still running run's total time is no training time: it is
            # flagged and never ranked (no speedup against it or for it).
            "unfinished": r.status != "finished",
            "created_at": r.created_at, "finished_at": r.finished_at, "total_time_s": r.duration,
            "logging_span_s": (max(stamps) - min(stamps)) if stamps else None,
            "steps": len({s for k, pts in d.series.items() if not k.startswith(SYS_PREFIX) for s, _, _ in pts}),
            "hardware": r.metadata.get("hardware"),
        })
        times, source = d.batch_times()
        dist = distribution(times)
        if dist is not None:
            dist["source"] = source
            dist["steps_per_s"] = 1.0 / dist["median"] if dist["median"] > 0 else None
        report["batch_time"][r.id] = dist
        # seetrain.timer sections: the per-name summary the run keeps in its metadata.
        report["timing"][r.id] = dict(r.metadata.get("timing") or {})
        report["resources"][r.id] = {
            k: {**series_stats([v for _, _, v in pts]), "samples": len(pts)}
            for k, pts in sorted(d.series.items()) if k.startswith(SYS_PREFIX)}
    for key in wanted:
        report["metrics"][key] = {d.run.id: series_stats([v for _, _, v in d.series[key]])
                                  for d in data if key in d.series}
    base = report["runs"][0]
    base_bt = report["batch_time"][base["id"]]
    for entry in report["runs"][1:]:
        rid = entry["id"]
        bt = report["batch_time"][rid]
        timed = not entry["unfinished"] and not base["unfinished"]
        cmp: dict[str, Any] = {
            "total_time_ratio": _ratio(entry["total_time_s"], base["total_time_s"]) if timed else None,
            "speedup": _ratio(base["total_time_s"], entry["total_time_s"]) if timed else None,
            "batch_time_median_ratio": _ratio(bt and bt["median"], base_bt and base_bt["median"]),
            "final": {}}
        for key, per_run in report["metrics"].items():
            if rid in per_run and base["id"] in per_run:
                a, b = per_run[rid]["final"], per_run[base["id"]]["final"]
                if a is not None and b is not None:
                    cmp["final"][key] = {"delta": a - b, "ratio": _ratio(a, b)}
        report["vs_baseline"][rid] = cmp
    ready: dict[str, Any] = json_safe(report, nonfinite_as_none=True)
    return ready


def _ratio(a: Any, b: Any) -> float | None:
    if not isinstance(a, (int, float)) or not isinstance(b, (int, float)) or b == 0:
        return None
    return a / b


# ---- plots -------------------------------------------------------------------------------------
def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "metric"


def _thin(points: list[tuple[int, float, float]]) -> list[tuple[int, float, float]]:
    if len(points) <= MAX_PLOT_POINTS:
        return points
    stride = math.ceil(len(points) / MAX_PLOT_POINTS)
    return points[::stride]


def _figure(width: float = 7.0, height: float = 4.0) -> Any:
    # The object API with the Agg canvas: no pyplot, no global backend switch in the caller.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _label(run: RunView, index: int) -> str:
    return f"{run.name} (baseline)" if index == 0 else run.name


def write_plots(runs: Sequence[RunView], out_dir: str, metrics: Sequence[str] | None = None,
                max_metrics: int = 40) -> list[str]:
    """PNG files overlaying the runs; returns their paths."""
    return _plots([_RunData(r) for r in runs], out_dir, metrics, max_metrics)


def _plots(data: list[_RunData], out_dir: str, metrics: Sequence[str] | None,
           max_metrics: int = 40) -> list[str]:
    plot_dir = os.path.join(out_dir, "plots")
    os.makedirs(plot_dir, exist_ok=True)
    written: list[str] = []
    keys = sorted({k for d in data for k in d.series if not k.startswith(SYS_PREFIX)})
    if metrics:
        keys = [k for k in keys if k in set(metrics)]
    else:
        keys = [k for k in keys if not DETAIL_KEY.search(k)]
    for key in keys[:max_metrics]:
        fig = _figure()
        ax = fig.add_subplot(1, 1, 1)
        for i, d in enumerate(data):
            pts = _thin(d.series.get(key, []))
            if pts:
                ax.plot([p[0] for p in pts], [p[2] for p in pts], label=_label(d.run, i), linewidth=1.2,
                        marker="o" if len(pts) < 20 else None)
        ax.set_title(key)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        path = os.path.join(plot_dir, f"metric_{_safe(key)}.png")
        fig.savefig(path, bbox_inches="tight")
        written.append(path)
    written += _resource_plot(data, plot_dir)
    written += _batch_time_plot(data, plot_dir)
    return written


def _resource_plot(data: list[_RunData], plot_dir: str) -> list[str]:
    keys = [k for k in RESOURCE_KEYS if any(k in d.series for d in data)]
    keys += sorted({k for d in data for k in d.series
                    if k.startswith("sys/gpu/") and k.endswith(("/utilization", "/memory_percent"))})
    if not keys:
        return []
    fig = _figure(7.0, 2.6 * len(keys))
    for row, key in enumerate(keys, start=1):
        ax = fig.add_subplot(len(keys), 1, row)
        for i, d in enumerate(data):
            pts = _thin(d.series.get(key, []))
            if pts:
                start = d.run.created_at
                ax.plot([p[1] - start for p in pts], [p[2] for p in pts], label=_label(d.run, i),
                        marker="o" if len(pts) < 20 else None)
        ax.set_title(key, fontsize=9)
        ax.grid(alpha=0.3)
        if row == 1:
            ax.legend(fontsize=8)
    fig.axes[-1].set_xlabel("seconds since start")
    path = os.path.join(plot_dir, "resources.png")
    fig.savefig(path, bbox_inches="tight")
    return [path]


def _batch_time_plot(data: list[_RunData], plot_dir: str) -> list[str]:
    series = [(i, d, d.batch_times()[0]) for i, d in enumerate(data)]
    series = [(i, d, _finite(t)) for i, d, t in series if _finite(t)]
    if not series:
        return []
    fig = _figure()
    ax = fig.add_subplot(1, 1, 1)
    ax.boxplot([t for _, _, t in series], showfliers=False)
    ax.set_xticks(range(1, len(series) + 1), [_label(d.run, i) for i, d, _ in series], fontsize=8)
    ax.set_ylabel("seconds per step")
    ax.set_title("batch time")
    ax.grid(alpha=0.3)
    path = os.path.join(plot_dir, "batch_time.png")
    fig.savefig(path, bbox_inches="tight")
    return [path]


# ---- files ---------------------------------------------------------------------------------------
def _markdown(report: dict[str, Any]) -> str:
    def fmt(v: Any) -> str:
        return "-" if v is None else (f"{v:.4g}" if isinstance(v, float) else str(v))

    lines = ["# Run comparison", "", "| run | status | total time (s) | steps | batch time median (s) |",
             "|---|---|---|---|---|"]
    for r in report["runs"]:
        bt = report["batch_time"].get(r["id"]) or {}
        lines.append(f"| {r['name']} ({r['id']}) | {r['status']} | {fmt(r['total_time_s'])} | "
                     f"{r['steps']} | {fmt(bt.get('median'))} |")
    lines += ["", "| metric | " + " | ".join(r["name"] for r in report["runs"]) + " |",
              "|---|" + "---|" * len(report["runs"])]
    for key, per_run in report["metrics"].items():
        cells = [fmt((per_run.get(r["id"]) or {}).get("final")) for r in report["runs"]]
        lines.append(f"| {key} (final) | " + " | ".join(cells) + " |")
    sections = sorted({name for timing in report.get("timing", {}).values() for name in timing})
    if sections:
        lines += ["", "Timing (seetrain.timer; seconds: mean / p50 / p95, count)", "",
                  "| section | " + " | ".join(r["name"] for r in report["runs"]) + " |",
                  "|---|" + "---|" * len(report["runs"])]
        for name in sections:
            cells = []
            for r in report["runs"]:
                t = report["timing"].get(r["id"], {}).get(name)
                cells.append("-" if not t else
                             f"{fmt(t.get('mean'))} / {fmt(t.get('p50'))} / {fmt(t.get('p95'))} ({t.get('count')})")
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_report(runs: Sequence[RunView], out_dir: str, metrics: Sequence[str] | None = None,
                 plots: bool = True) -> dict[str, Any]:
    """Write ``summary.json``, ``report.md`` and ``plots/*.png`` into ``out_dir``; return the summary
    with the written file paths under ``"files"``."""
    if not runs:
        raise ValueError("compare needs at least one run")
    os.makedirs(out_dir, exist_ok=True)
    data = [_RunData(r) for r in runs]
    report = _build(data, metrics)
    files = [os.path.join(out_dir, "summary.json"), os.path.join(out_dir, "report.md")]
    if plots:
        files += _plots(data, out_dir, metrics)
    report["files"] = [os.path.relpath(f, out_dir) for f in files]
    with open(files[0], "w", encoding="utf-8") as fh:
        json.dump(report, fh, indent=1, allow_nan=False)
        fh.write("\n")
    with open(files[1], "w", encoding="utf-8") as fh:
        fh.write(_markdown(report))
    return report
