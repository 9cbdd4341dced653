"""``seetrain status``: progress of running runs (``--watch`` refreshes).

Reading a run recovers it when its process was killed (see seetrain.storage.recovery)."""

from __future__ import annotations

import time

import click

from seetrain.api import Api, RunView
from seetrain.commands._common import LOGDIR_OPTION, fmt_duration


def _progress_line(run: RunView) -> str:
    summary = run.summary
    step = max((e.get("step", 0) for e in summary.values()), default=0)
    shown = ", ".join(f"{k}={e['last']:.4g}" for k, e in list(summary.items())[:4]
                      if isinstance(e.get("last"), (int, float)))
    line = f"{run.project}/{run.name:20s} {run.status:9s} step {step:>7d}  {fmt_duration(run.duration):>8s}  {shown}"
    stopped = (run.stats or {}).get("upload_stopped")
    if stopped:
        kept = (run.stats or {}).get("upload_kept_locally")
        line += f"\n  upload stopped ({kept if kept is not None else 'all unsent'} records kept locally): {stopped}"
    return line


@click.command()
@click.option("--project", default=None)
@click.option("--all", "show_all", is_flag=True, help="Include finished runs.")
@click.option("--watch", is_flag=True, help="Refresh until interrupted.")
@click.option("--interval", default=2.0, show_default=True, type=float)
@LOGDIR_OPTION
def status(project: str | None, show_all: bool, watch: bool, interval: float, logdir: str | None) -> None:
    """Progress of running runs (like tail)."""
    api = Api(logdir)
    while True:
        runs = [r for r in api.runs(project) if show_all or r.status == "running"]
        if not runs:
            click.echo("no running runs" if not show_all else "no runs")
        for r in runs:
            click.echo(_progress_line(r))
        if not watch:
            return
        time.sleep(max(0.2, interval))
        click.echo("")
