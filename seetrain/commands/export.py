"""``seetrain export RUN``: a run's history as CSV or JSON."""

from __future__ import annotations

import csv
import json
import sys

import click

from seetrain.api import Api
from seetrain.commands._common import LOGDIR_OPTION


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
