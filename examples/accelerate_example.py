"""HF Accelerate + SeeTrain: a tiny regression model trained for a few steps on the CPU.

    python examples/accelerate_example.py [--logdir ./seetrain_logs]
"""

from __future__ import annotations

import argparse

import torch
from accelerate import Accelerator

from integrations.accelerate import SeeTrainTracker


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logdir", default="./seetrain_logs")
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()

    torch.manual_seed(0)
    x = torch.randn(256, 8)
    y = x[:, :4].sum(dim=1, keepdim=True) + 0.1 * torch.randn(256, 1)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=32, shuffle=True)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)

    tracker = SeeTrainTracker(run_name="regression", logdir=args.logdir)
    accelerator = Accelerator(cpu=True, log_with=tracker)
    # The project name given here becomes the SeeTrain project.
    accelerator.init_trackers("accelerate-example", config={"lr": 1e-2, "batch_size": 32, "epochs": args.epochs})
    model, optimizer, loader = accelerator.prepare(model, optimizer, loader)

    step = 0
    for epoch in range(args.epochs):
        for xb, yb in loader:
            loss = torch.nn.functional.mse_loss(model(xb), yb)
            accelerator.backward(loss)
            optimizer.step()
            optimizer.zero_grad()
            accelerator.log({"train/loss": loss.item(), "epoch": epoch}, step=step)
            step += 1
    run = accelerator.get_tracker("seetrain", unwrap=True)
    accelerator.end_training()  # finishes the SeeTrain run
    print(f"run {run.id} in {run.dir}")


if __name__ == "__main__":
    main()
