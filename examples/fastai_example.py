"""fastai + SeeTrain: a small classifier trained with ``fit_one_cycle`` (batch loss, the one-cycle
lr/momentum schedule, per-epoch train/valid loss and accuracy, model config) in one run.
Needs torchvision: run it in the vision lane's venv (``make test-vision`` builds .venv-vision).

    python examples/fastai_example.py [--logdir ./seetrain_logs]
"""

from __future__ import annotations

import argparse

import fastai.callback.schedule  # noqa: F401  (adds Learner.fit_one_cycle)
import torch
from fastai.data.core import DataLoaders
from fastai.learner import Learner
from fastai.metrics import accuracy
from torch.utils.data import TensorDataset

from integrations.fastai import SeeTrainCallback


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logdir", default="./seetrain_logs")
    args = parser.parse_args()

    torch.manual_seed(0)
    y = torch.randint(0, 2, (320,))
    x = torch.randn(320, 8) + 1.5 * y[:, None]
    dls = DataLoaders.from_dsets(TensorDataset(x[:256], y[:256]), TensorDataset(x[256:], y[256:]), bs=32,
                                 device="cpu")
    net = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
    learn = Learner(dls, net, loss_func=torch.nn.CrossEntropyLoss(), metrics=accuracy,
                    cbs=[SeeTrainCallback(project="fastai-example", experiment_name="one-cycle",
                                          logdir=args.logdir)])
    with learn.no_bar():
        learn.fit_one_cycle(4, 1e-2)
    print(f"valid accuracy {learn.recorder.values[-1][2]:.3f}")


if __name__ == "__main__":
    main()
