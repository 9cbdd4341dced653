"""MLflow mirror: an unchanged MLflow script also records into SeeTrain.

    python examples/mlflow_mirror_example.py [--logdir ./seetrain_logs] [--tracking-uri sqlite:///mlflow.db]

Each MLflow run becomes a SeeTrain run: params -> config, tags -> config["mlflow_tags"],
metrics with their steps, images and text artifacts as media, end status -> run status.
"""

from __future__ import annotations

import argparse
import os
import tempfile

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

import mlflow  # noqa: E402
import numpy as np  # noqa: E402

import seetrain  # noqa: E402
from integrations.mlflow import sync_mlflow, unsync_mlflow  # noqa: E402


def train(lr: float) -> None:
    """Plain MLflow code: nothing here knows about SeeTrain."""
    with mlflow.start_run(run_name=f"lr={lr}", tags={"example": "mirror"}):
        mlflow.log_params({"lr": lr, "epochs": 20})
        loss = 1.0
        for epoch in range(20):
            loss *= 1.0 - lr
            mlflow.log_metrics({"loss": loss, "acc": 1.0 - loss}, step=epoch)
        mlflow.set_tag("best", f"{1.0 - loss:.3f}")
        mlflow.log_image(np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8),
                         key="samples", step=19)
        mlflow.log_text(f"final loss {loss:.4f}", "summary.txt")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logdir", default="./seetrain_logs")
    parser.add_argument("--tracking-uri", default=None, help="default: a SQLite store in a temp folder")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        mlflow.set_tracking_uri(args.tracking_uri or f"sqlite:///{tmp}/mlflow.db")
        sync_mlflow(project="mlflow-example", logdir=args.logdir)
        try:
            for lr in (0.05, 0.2):
                train(lr)
        finally:
            unsync_mlflow()
            mlflow.set_tracking_uri(None)
    for run in seetrain.Api(args.logdir).runs("mlflow-example")[-2:]:
        print(f"run {run.name}: status={run.status} lr={run.config.get('lr')} "
              f"loss={run.summary['loss']['last']:.4f}")


if __name__ == "__main__":
    main()
