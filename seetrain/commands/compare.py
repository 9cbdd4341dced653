"""``seetrain compare RUN_A RUN_B [...] --out report/``: a JSON summary and overlay plots."""

from __future__ import annotations

import click

from seetrain.commands._common import LOGDIR_OPTION


@click.command()
@click.argument("run_refs", nargs=-1, required=True)
@click.option("--out", "out_dir", default="seetrain_report", show_default=True,
              type=click.Path(file_okay=False), help="Folder for summary.json, report.md and plots/.")
@click.option("--metric", "metrics", multiple=True, help="Only these metrics (repeatable; default all).")
@click.option("--no-plots", is_flag=True, help="Write the JSON and Markdown summary only.")
@LOGDIR_OPTION
def compare(run_refs: tuple[str, ...], out_dir: str, metrics: tuple[str, ...], no_plots: bool,
            logdir: str | None) -> None:
    """Compare runs (id, project/id or name; the first is the baseline)."""
    from seetrain.api import Api
    from seetrain.compare_report import write_report

    api = Api(logdir)
    runs = []
    for ref in run_refs:
        try:
            runs.append(api.run(ref))
        except KeyError as exc:
            raise click.ClickException(str(exc.args[0])) from None
    report = write_report(runs, out_dir, metrics or None, plots=not no_plots)
    for entry in report["runs"]:
        bt = report["batch_time"].get(entry["id"]) or {}
        median = bt.get("median")
        click.echo(f"{entry['name'][:30]:30s} {entry['status']:9s} {entry['total_time_s'] or 0:9.2f}s  "
                   f"steps {entry['steps']:>7d}  batch {'-' if median is None else f'{median * 1000:.2f} ms'}")
    for rid, cmp in report["vs_baseline"].items():
        if cmp.get("speedup"):
            click.echo(f"{rid}: speedup x{cmp['speedup']:.2f} against the baseline")
    click.echo(f"wrote {len(report['files'])} files to {out_dir}")
