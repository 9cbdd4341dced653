"""SeeTrainLoggerCallback(best_checkpoint_metric=...): the best trial's checkpoint as an artifact."""

from __future__ import annotations

import os

import pytest

pytest.importorskip("ray.tune")

import seetrain  # noqa: E402
from tests.integrations.ray_tune.test_ray_tune import QUIET, clean_env, ray_session  # noqa: E402, F401

pytestmark = pytest.mark.integration


def checkpointing_trainable(config):
    import json
    import tempfile

    from ray import tune

    for i in range(2):
        with tempfile.TemporaryDirectory() as folder:
            with open(os.path.join(folder, "state.json"), "w") as f:
                json.dump({"lr": config["lr"], "iteration": i}, f)
            tune.report({"loss": config["lr"] * (2 - i)}, checkpoint=tune.Checkpoint.from_directory(folder))


def test_best_trial_checkpoint_is_an_artifact(ray_session, tmp_path):  # noqa: F811
    from ray import tune

    from integrations.ray_tune import SeeTrainLoggerCallback

    callback = SeeTrainLoggerCallback(project="tune", logdir=str(tmp_path / "st"), best_checkpoint_metric="loss",
                                      best_checkpoint_mode="min", **QUIET)
    tuner = tune.Tuner(checkpointing_trainable, param_space={"lr": tune.grid_search([0.3, 0.1, 0.2])},
                       tune_config=tune.TuneConfig(num_samples=1, max_concurrent_trials=2),
                       run_config=tune.RunConfig(name="ckpt-sweep", callbacks=[callback],
                                                 storage_path=str(tmp_path / "ray_results"), verbose=0))
    results = tuner.fit()
    assert not results.errors
    api = seetrain.Api(tmp_path / "st")
    best = api.artifact("tune/ckpt-sweep-best:best")
    (experiment,) = [r for r in api.runs("tune") if "experiment" in r.tags]
    assert best.created_by == experiment.id and best.metadata["loss"] == pytest.approx(0.1)
    assert best.metadata["config"]["lr"] == 0.1
    out = best.download(tmp_path / "dl")
    with open(os.path.join(out, "state.json")) as f:
        assert f.read() == '{"lr": 0.1, "iteration": 1}'
