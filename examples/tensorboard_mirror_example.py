"""TensorBoard mirror: an unchanged SummaryWriter script also records into SeeTrain.

    python examples/tensorboard_mirror_example.py [--logdir ./seetrain_logs] [--tb-dir ./runs]

One SeeTrain run per writer log_dir (``run_per_logdir=True``): the train and val writers become
two runs in the same group, as TensorBoard shows two runs.
"""

from __future__ import annotations

import argparse
import math
import os

import torch
from torch.utils.tensorboard import SummaryWriter

import seetrain
from integrations.tensorboard import sync_tensorboard, unsync_tensorboard


def train(tb_dir: str) -> None:
    """Plain TensorBoard code: nothing here knows about SeeTrain."""
    model = torch.nn.Linear(8, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    x, y = torch.randn(256, 8), torch.randn(256, 1)
    train_writer = SummaryWriter(os.path.join(tb_dir, "train"))
    val_writer = SummaryWriter(os.path.join(tb_dir, "val"))
    for step in range(50):
        loss = torch.nn.functional.mse_loss(model(x[:200]), y[:200])
        opt.zero_grad()
        loss.backward()
        opt.step()
        train_writer.add_scalar("loss", loss.item(), step)
        if step % 10 == 0:
            with torch.no_grad():
                val_writer.add_scalar("loss", torch.nn.functional.mse_loss(model(x[200:]), y[200:]).item(), step)
            train_writer.add_histogram("weights", model.weight, step)
    train_writer.add_image("input", torch.rand(3, 32, 32), 49)
    train_writer.add_text("notes", "linear regression on random data", 49)
    t = torch.linspace(0, 1, 8000)
    train_writer.add_audio("tone", torch.sin(2 * math.pi * 440 * t), 49, sample_rate=8000)
    train_writer.add_hparams({"lr": 0.05, "features": 8}, {"hparam/final_loss": loss.item()})
    train_writer.close()
    val_writer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logdir", default="./seetrain_logs")
    parser.add_argument("--tb-dir", default="./runs/tensorboard-example")
    args = parser.parse_args()

    sync_tensorboard(project="tensorboard-example", experiment_name="regression", logdir=args.logdir,
                     run_per_logdir=True, root_logdir=args.tb_dir)
    try:
        train(args.tb_dir)
    finally:
        unsync_tensorboard()
    for run in seetrain.Api(args.logdir).runs("tensorboard-example")[-2:]:
        print(f"run {run.name}: status={run.status} keys={[k for k in run.keys() if not k.startswith('sys/')]} event files in {args.tb_dir}")


if __name__ == "__main__":
    main()
