"""``seetrain ls``: projects, or the runs of one project with their status."""

from __future__ import annotations

import click

from seetrain.api import Api
from seetrain.commands._common import LOGDIR_OPTION, fmt_duration, fmt_time


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
        click.echo(f"{r.id:24s} {r.name[:24]:24s} {r.status:9s} {fmt_time(r.created_at)} "
                   f"{fmt_duration(r.duration):>9s}  {r.framework or ''}")
