"""W&B mirror: an unchanged W&B script also records into SeeTrain (W&B runs offline here).

    python examples/wandb_mirror_example.py [--logdir ./seetrain_logs]
"""

from __future__ import annotations

import argparse
import os
import tempfile

import numpy as np

from integrations.wandb import sync_wandb, unsync_wandb


def wandb_script() -> None:
    """Plain W&B code, nothing SeeTrain-specific."""
    import wandb

    wandb.init(project="wandb-mirror-example", name="sine", config={"lr": 0.01, "epochs": 20},
               tags=["demo"], notes="mirrored into SeeTrain")
    for epoch in range(wandb.config.epochs):
        wandb.log({"train/loss": float(np.exp(-epoch / 5)), "train/sin": float(np.sin(epoch / 3))})
    wandb.log({"weights": wandb.Histogram(np.random.default_rng(0).normal(size=500))})
    wandb.config.update({"finished_epochs": wandb.config.epochs})
    wandb.finish()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logdir", default="./seetrain_logs")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="wandb-") as scratch:
        os.environ.setdefault("WANDB_MODE", "offline")  # no account needed for the example
        os.environ.setdefault("WANDB_SILENT", "true")
        os.environ.setdefault("WANDB_DIR", scratch)
        integration = sync_wandb(logdir=args.logdir)
        try:
            wandb_script()
        finally:
            unsync_wandb()  # W&B gets its original functions back
        run = integration.run
        print(f"run {run.id} in {run.dir}")


if __name__ == "__main__":
    main()
