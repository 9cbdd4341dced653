"""PyTorch Lightning + SeeTrain: a tiny regression model trained for 2 epochs on the CPU.

    python examples/lightning_example.py [--logdir ./seetrain_logs]
    seetrain ls --logdir ./seetrain_logs
"""

from __future__ import annotations

import argparse

import lightning.pytorch as lp
import torch
from torch.utils.data import DataLoader, TensorDataset

from integrations.lightning import SeeTrainLogger


class Regressor(lp.LightningModule):
    def __init__(self, lr: float = 0.05, hidden: int = 16) -> None:
        super().__init__()
        self.save_hyperparameters()  # logged as the run config by SeeTrainLogger
        self.net = torch.nn.Sequential(torch.nn.Linear(4, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 1))

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.net(x), y)
        self.log("train/loss", loss)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val/loss", torch.nn.functional.mse_loss(self.net(x), y))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)


def loader(n: int, seed: int) -> DataLoader:
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=gen)
    return DataLoader(TensorDataset(x, x.sum(dim=1, keepdim=True)), batch_size=8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logdir", default="./seetrain_logs")
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()

    logger = SeeTrainLogger(project="lightning-example", experiment_name="regressor",
                            description="tiny MLP on synthetic data", logdir=args.logdir)
    trainer = lp.Trainer(max_epochs=args.epochs, logger=logger, accelerator="cpu", devices=1,
                         log_every_n_steps=1, enable_progress_bar=False)
    trainer.fit(Regressor(), loader(256, 0), loader(64, 1))
    print(f"run {logger.version} in {logger.log_dir}")


if __name__ == "__main__":
    main()
