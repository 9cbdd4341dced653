"""LightGBM + SeeTrain: binary classification with early stopping; per-iteration metrics, params,
best iteration and feature importance.

    python examples/lightgbm_example.py [--logdir ./seetrain_logs]
"""

from __future__ import annotations

import argparse

import lightgbm as lgb
import numpy as np

from integrations.lightgbm import SeeTrainCallback


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logdir", default="./seetrain_logs")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    x = rng.normal(size=(800, 5))
    y = (x[:, 0] - x[:, 1] + 0.5 * x[:, 2] + rng.normal(scale=0.5, size=800) > 0).astype(int)
    names = [f"f{i}" for i in range(5)]
    train = lgb.Dataset(x[:600], label=y[:600], feature_name=names)
    valid = lgb.Dataset(x[600:], label=y[600:], feature_name=names)
    params = {"objective": "binary", "num_leaves": 8, "learning_rate": 0.1, "verbose": -1,
              "metric": ["binary_logloss", "auc"]}
    with SeeTrainCallback(project="lightgbm-example", experiment_name="early-stopping",
                          logdir=args.logdir) as callback:
        booster = lgb.train(params, train, 300, valid_sets=[train, valid], valid_names=["train", "valid"],
                            callbacks=[lgb.early_stopping(10, verbose=False), callback])
        callback.finish(booster)
    print(f"best iteration {booster.best_iteration}")


if __name__ == "__main__":
    main()
