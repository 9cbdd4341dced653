"""seetrain.autolog(): one call, and an unchanged XGBoost + PyTorch Lightning script logs into the
current run (frameworks are patched when they are imported; nothing else changes).

    python examples/autolog_example.py [--logdir ./seetrain_logs]
"""

from __future__ import annotations

import argparse

import seetrain


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logdir", default="./seetrain_logs")
    args = parser.parse_args()

    print(seetrain.autolog())          # before the frameworks are imported: "waiting for import"
    import numpy as np
    import xgboost as xgb  # patched now, on import

    seetrain.init(project="autolog-example", experiment_name="xgboost", logdir=args.logdir)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 4))
    dtrain = xgb.DMatrix(x, label=(x[:, 0] - x[:, 1] > 0).astype(int))
    xgb.train({"objective": "binary:logistic", "max_depth": 2}, dtrain, 20, evals=[(dtrain, "train")],
              verbose_eval=False)      # an unchanged call: its metrics land in the run
    seetrain.finish()
    seetrain.autolog(disable=True)     # every patched function is the original again


if __name__ == "__main__":
    main()
