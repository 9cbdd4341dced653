"""``seetrain demo``: run a small real training that logs scalars and media."""

from __future__ import annotations

import click


@click.command()
@click.option("--logdir", default=None, help="Where to store the runs (default ./seetrain_logs).")
@click.option("--project", default="demo", show_default=True)
@click.option("--runs", default=3, show_default=True, help="How many runs (different learning rates).")
@click.option("--epochs", default=300, show_default=True)
def demo(logdir: str | None, project: str, runs: int, epochs: int) -> None:
    """Train a tiny numpy network on a spiral and log it (a few seconds on a CPU)."""
    from seetrain.demo import run_demo

    for i, lr in enumerate([0.5, 0.1, 1.0, 0.05, 2.0][: max(1, runs)]):
        run = run_demo(project=project, logdir=logdir, epochs=epochs, lr=lr, seed=i)
        best = run.summary.get("val/acc", {}).get("max")
        click.echo(f"run {run.id} ({run.name}): best val/acc {best:.3f}  -> {run.dir}")
