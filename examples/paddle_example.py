"""PaddlePaddle + SeeTrain: a small classifier trained with ``paddle.Model.fit`` (batch and epoch
metrics, eval metrics, the learning-rate schedule, optimizer/model config) then evaluated, in one run.

    python examples/paddle_example.py [--logdir ./seetrain_logs]
"""

from __future__ import annotations

import argparse

import numpy as np
import paddle

from integrations.paddle import SeeTrainCallback


class Blobs(paddle.io.Dataset):
    """Two noisy Gaussian blobs in 8 dimensions."""

    def __init__(self, n: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.y = rng.integers(0, 2, n).astype("int64").reshape(-1, 1)
        self.x = (rng.normal(size=(n, 8)) + 1.5 * self.y).astype("float32")

    def __getitem__(self, i: int):
        return self.x[i], self.y[i]

    def __len__(self) -> int:
        return len(self.x)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logdir", default="./seetrain_logs")
    args = parser.parse_args()

    paddle.seed(0)
    net = paddle.nn.Sequential(paddle.nn.Linear(8, 16), paddle.nn.ReLU(), paddle.nn.Linear(16, 2))
    model = paddle.Model(net)
    schedule = paddle.optimizer.lr.CosineAnnealingDecay(learning_rate=0.05, T_max=40)
    model.prepare(paddle.optimizer.Adam(learning_rate=schedule, parameters=net.parameters()),
                  paddle.nn.CrossEntropyLoss(), paddle.metric.Accuracy())
    callback = SeeTrainCallback(project="paddle-example", experiment_name="blobs-mlp", logdir=args.logdir,
                                config={"hidden": 16})
    model.fit(Blobs(256, 0), Blobs(64, 1), batch_size=32, epochs=5, verbose=0, callbacks=[callback])
    result = model.evaluate(Blobs(64, 2), batch_size=32, verbose=0, callbacks=[callback])
    print(f"held-out accuracy {float(result['acc']):.3f}")


if __name__ == "__main__":
    main()
