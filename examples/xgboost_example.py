"""XGBoost + SeeTrain: a binary classifier with early stopping; eval metrics per round, params,
best iteration and feature importance in one run.

    python examples/xgboost_example.py [--logdir ./seetrain_logs]
"""

from __future__ import annotations

import argparse

import numpy as np
import xgboost as xgb

from integrations.xgboost import SeeTrainCallback


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logdir", default="./seetrain_logs")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, 6))
    y = (x[:, 0] + 0.5 * x[:, 1] - x[:, 2] + rng.normal(scale=0.3, size=600) > 0).astype(int)
    names = [f"f{i}" for i in range(6)]
    dtrain = xgb.DMatrix(x[:450], label=y[:450], feature_names=names)
    dvalid = xgb.DMatrix(x[450:], label=y[450:], feature_names=names)
    params = {"objective": "binary:logistic", "max_depth": 3, "eta": 0.2, "eval_metric": ["logloss", "auc"]}
    booster = xgb.train(params, dtrain, num_boost_round=60, evals=[(dtrain, "train"), (dvalid, "valid")],
                        early_stopping_rounds=5, verbose_eval=False,
                        callbacks=[SeeTrainCallback(project="xgboost-example", experiment_name="early-stopping",
                                                    logdir=args.logdir)])
    print(f"best iteration {booster.best_iteration}, valid logloss {booster.best_score:.4f}")


if __name__ == "__main__":
    main()
