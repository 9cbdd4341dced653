"""``seetrain ls``, ``export`` and ``status``: read the local store from the terminal."""

from __future__ import annotations

import csv
import json
import sys
import time

import click

from seetrain.api import Api, RunView

LOGDIR_OPTION = click.option("--logdir", default=None, help="Store to read (default ./seetrain_logs or $SEETRAIN_LOGDIR).")


def _fmt_duration(seconds: float) -> str:
    seconds = int(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _fmt_time(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


@click.command()
@click.argument("project", required=False)
@LOGDIR_OPTION
def ls(project: str | None, logdir: str | None) -> None:
    """List projects, or the runs of PROJECT, with their status."""
    api = Api(logdir)
    if project is None:
        projects = api.projects()
        if not projects:
            click.echo(f"no runs in {api.logdir}")
            return
        for name in projects:
            runs = api.runs(name)
            running = sum(r.status == "running" for r in runs)
            click.echo(f"{name:30s} {len(runs):5d} runs  {running} running")
        return
    runs = api.runs(project)
    if not runs:
        click.echo(f"no runs in project {project!r}")
        return
    click.echo(f"{'ID':24s} {'NAME':24s} {'STATUS':9s} {'STARTED':19s} {'DURATION':>9s}  FRAMEWORK")
    for r in runs:
        click.echo(f"{r.id:24s} {r.name[:24]:24s} {r.status:9s} {_fmt_time(r.created_at)} "
                   f"{_fmt_duration(r.duration):>9s}  {r.framework or ''}")


@click.command()
@click.argument("run_ref")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None, help="File to write (default stdout).")
@LOGDIR_OPTION
def export(run_ref: str, fmt: str, output: str | None, logdir: str | None) -> None:
    """Export a run's scalar history (RUN_REF: id, project/id or name)."""
    api = Api(logdir)
    try:
        run = api.run(run_ref)
    except KeyError as exc:
        raise click.ClickException(str(exc.args[0])) from None
    rows = run.history()
    out = open(output, "w", newline="", encoding="utf-8") if output else sys.stdout
    try:
        if fmt == "json":
            doc = {"run": run.to_dict(), "history": rows}
            json.dump(doc, out, default=str, indent=1, allow_nan=True)
            out.write("\n")
        else:
            columns = ["_step", "_timestamp", *sorted({k for r in rows for k in r} - {"_step", "_timestamp"})]
            writer = csv.DictWriter(out, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)
    finally:
        if output:
            out.close()


def _progress_line(run: RunView) -> str:
    summary = run.summary
    step = max((e.get("step", 0) for e in summary.values()), default=0)
    shown = ", ".join(f"{k}={e['last']:.4g}" for k, e in list(summary.items())[:4]
                      if isinstance(e.get("last"), (int, float)))
    line = f"{run.project}/{run.name:20s} {run.status:9s} step {step:>7d}  {_fmt_duration(run.duration):>8s}  {shown}"
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
