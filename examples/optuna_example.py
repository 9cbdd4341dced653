"""Optuna + SeeTrain: a 12-trial study with a pruner; one study run plus one run per trial.

    python examples/optuna_example.py [--logdir ./seetrain_logs]
"""

from __future__ import annotations

import argparse
import math

import optuna

from integrations.optuna import SeeTrainOptunaCallback


def objective(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", -4.0, 4.0)
    lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
    trial.suggest_categorical("optimizer", ["sgd", "adam"])
    value = float("inf")
    for step in range(5):  # a pretend training curve the pruner can judge
        value = (x - 1.0) ** 2 + 1.0 / (1.0 + step * lr * 100) + math.exp(-step)
        trial.report(value, step)
        if trial.should_prune():
            raise optuna.TrialPruned()
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logdir", default="./seetrain_logs")
    parser.add_argument("--trials", type=int, default=12)
    args = parser.parse_args()

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name="quadratic", direction="minimize",
                                sampler=optuna.samplers.TPESampler(seed=0),
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=3))
    with SeeTrainOptunaCallback(project="optuna-example", metric_name="loss", one_run_per_trial=True,
                                logdir=args.logdir) as callback:
        study.optimize(objective, n_trials=args.trials, callbacks=[callback])
    print(f"best loss {study.best_value:.4f} with {study.best_params}")
    print(f"study run {callback.integration.run.id} in {callback.integration.run.dir}")


if __name__ == "__main__":
    main()
