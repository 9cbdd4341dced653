"""CatBoost + SeeTrain: a classifier with an eval set; per-iteration metrics, params and
feature importance.

    python examples/catboost_example.py [--logdir ./seetrain_logs]
"""

from __future__ import annotations

import argparse

import numpy as np
from catboost import CatBoostClassifier

from integrations.catboost import SeeTrainCallback


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logdir", default="./seetrain_logs")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, 5))
    y = (x[:, 0] - x[:, 1] + rng.normal(scale=0.5, size=600) > 0).astype(int)
    model = CatBoostClassifier(iterations=100, depth=4, eval_metric="AUC", verbose=False, random_seed=0,
                               allow_writing_files=False)
    with SeeTrainCallback(project="catboost-example", experiment_name="clf", logdir=args.logdir) as callback:
        model.fit(x[:450], y[:450], eval_set=(x[450:], y[450:]), callbacks=[callback])
        callback.finish(model)
    print(f"best iteration {model.get_best_iteration()}")


if __name__ == "__main__":
    main()
