"""Ray Tune + SeeTrain: a 3-trial grid search in local mode; one SeeTrain run per trial.

    python examples/ray_tune_example.py [--logdir ./seetrain_logs]

Ray itself takes a few seconds to start. Its own files go to a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import tempfile

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

import ray  # noqa: E402
from ray import tune  # noqa: E402

from integrations.ray_tune import SeeTrainLoggerCallback  # noqa: E402


def trainable(config: dict) -> None:
    loss = 1.0
    for _ in range(5):
        loss *= 1.0 - config["lr"]
        tune.report({"loss": loss, "lr": config["lr"]})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logdir", default="./seetrain_logs")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="ray-") as scratch:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _temp_dir=os.path.join(scratch, "ray"))
        try:
            callback = SeeTrainLoggerCallback(project="ray-tune-example", logdir=os.path.abspath(args.logdir))
            tuner = tune.Tuner(
                trainable,
                param_space={"lr": tune.grid_search([0.05, 0.1, 0.2])},
                run_config=tune.RunConfig(name="lr-sweep", callbacks=[callback], verbose=0,
                                          storage_path=os.path.join(scratch, "results")),
            )
            results = tuner.fit()
            best = results.get_best_result(metric="loss", mode="min")
            print(f"best lr {best.config['lr']} loss {best.metrics['loss']:.4f}; "
                  f"runs in project 'ray-tune-example', group 'lr-sweep'")
        finally:
            ray.shutdown()


if __name__ == "__main__":
    main()
