"""scikit-learn + SeeTrain: three classifiers fitted and scored in one run (one step each).

    python examples/sklearn_example.py [--logdir ./seetrain_logs]
"""

from __future__ import annotations

import argparse

import numpy as np
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from integrations.sklearn import SeeTrainSklearn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logdir", default="./seetrain_logs")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 6))
    y = (x[:, 0] * x[:, 1] + x[:, 2] > 0).astype(int)
    with SeeTrainSklearn(project="sklearn-example", experiment_name="three-models", logdir=args.logdir) as tracker:
        for model in (LogisticRegression(), RandomForestClassifier(n_estimators=50, random_state=0),
                      GradientBoostingClassifier(n_estimators=50, random_state=0)):
            tracker.fit(model, x[:400], y[:400], eval_set=[(x[400:], y[400:])], eval_names=["test"])
            print(type(model).__name__, model.score(x[400:], y[400:]))


if __name__ == "__main__":
    main()
