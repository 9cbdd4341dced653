"""Ray Tune logger callback: real tiny tuning jobs in one local Ray session, read back through Api."""

from __future__ import annotations

import os

import pytest

pytest.importorskip("ray.tune")

import seetrain  # noqa: E402
from integrations import main  # noqa: E402

pytestmark = pytest.mark.integration

QUIET = {"system_monitor": False, "capture_console": False}


@pytest.fixture(scope="module")
def ray_session(tmp_path_factory):
    """One Ray session for the module (starting Ray takes seconds); its files go to tmp."""
    import ray

    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RAY_USAGE_STATS_ENABLED", "0")
        mp.setenv("DO_NOT_TRACK", "true")
        mp.setenv("HOME", str(home))
        mp.setenv("RAY_AIR_NEW_OUTPUT", "0")
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False,
                 _temp_dir=str(tmp_path_factory.mktemp("ray")))
        try:
            yield
        finally:
            ray.shutdown()


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for var in ("SEETRAIN_LOGDIR", "SEETRAIN_PROJECT", "SEETRAIN_MODE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(var, raising=False)
    yield
    main.finish()


def trainable(config):
    from ray import tune

    if config["lr"] < 0:
        raise ValueError("negative learning rate")
    for i in range(3):
        tune.report({"loss": config["lr"] * (3 - i), "acc": i / 3, "nested": {"grad_norm": float(i)}})


def _fit(tmp_path, callback, lrs, name="sweep"):
    from ray import tune

    tuner = tune.Tuner(
        trainable,
        param_space={"lr": tune.grid_search(lrs), "layers": 2},
        tune_config=tune.TuneConfig(num_samples=1, max_concurrent_trials=2),
        run_config=tune.RunConfig(name=name, callbacks=[callback], storage_path=str(tmp_path / "ray_results"),
                                  verbose=0),
    )
    return tuner.fit()


def test_one_run_per_trial_grouped_under_the_experiment(ray_session, tmp_path):
    from integrations.ray_tune import SeeTrainLoggerCallback

    callback = SeeTrainLoggerCallback(project="tune", logdir=str(tmp_path / "st"), **QUIET)
    results = _fit(tmp_path, callback, [0.1, 0.2, -1.0])
    assert len(results.errors) == 1

    runs = seetrain.Api(tmp_path / "st").runs("tune")
    trials = [r for r in runs if "trial" in r.tags]
    (experiment,) = [r for r in runs if "experiment" in r.tags]
    assert len(trials) == 3
    assert {r.group for r in runs} == {"sweep"}
    assert experiment.name == "sweep" and experiment.status == "finished"
    by_lr = {r.config["lr"]: r for r in trials}
    ok = by_lr[0.1]
    assert ok.status == "finished" and ok.config["layers"] == 2
    assert ok.config["framework"]["name"] == "ray_tune"
    assert ok.config["trial"]["experiment"] == "sweep"
    # The step is the trial's training_iteration, not Tune's global loop counter.
    assert [(s, pytest.approx(v)) for s, _, v in ok.scalars("loss")] == [(1, 0.3), (2, 0.2), (3, 0.1)]
    assert [s for s, _, _ in ok.scalars("nested/grad_norm")] == [1, 2, 3]
    assert "time_this_iter_s" in ok.keys() and "trial_id" not in ok.keys() and "done" not in ok.keys()
    assert by_lr[0.2].scalars("loss")[-1][2] == pytest.approx(0.2)
    failed = by_lr[-1.0]
    assert failed.status == "failed" and failed.scalars("loss") == []
    assert "negative learning rate" in failed.metadata["ray_tune_error"]

    assert experiment.scalars("trials/finished")[-1][2] == 2
    assert experiment.scalars("trials/failed")[-1][2] == 1
    assert experiment.config["tune_result"]["n_trials"] == 3
    assert experiment.config["tune"]["total_num_samples"] == 3
    events = experiment.media("ray_tune/trials", kind="ray_trial")
    assert sorted(e.payload["status"] for e in events) == ["failed", "finished", "finished"]
    assert {e.payload["run_id"] for e in events} == {r.id for r in trials}


def test_hub_init_ray_tune_and_failing_seetrain(ray_session, tmp_path):
    integration = main.init_ray_tune(project="hub", experiment_name="hub-sweep", logdir=str(tmp_path / "st"),
                                     **QUIET)
    callback = integration.get_tracker()
    assert callback is integration.get_tracker()

    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    integration.run.log = boom  # the experiment run breaks; the tuning job must not notice
    results = _fit(tmp_path, callback, [0.1, 0.3], name="hub")
    assert not results.errors
    assert integration.get_stats()["degraded_calls"] >= 2
    integration.finish()
    integration.finish()  # twice is harmless

    runs = seetrain.Api(tmp_path / "st").runs("hub")
    trials = [r for r in runs if "trial" in r.tags]
    assert len(runs) == 3 and len(trials) == 2
    assert {r.group for r in trials} == {"hub-sweep"}
    assert all(r.status == "finished" and len(r.scalars("loss")) == 3 for r in runs if r in trials)


def test_non_zero_rank_writes_nothing(ray_session, tmp_path, monkeypatch):
    from integrations.ray_tune import SeeTrainLoggerCallback

    monkeypatch.setenv("RANK", "1")
    callback = SeeTrainLoggerCallback(project="ranked", logdir=str(tmp_path / "st"), **QUIET)
    _fit(tmp_path, callback, [0.1], name="ranked")
    assert not os.path.exists(tmp_path / "st") or seetrain.Api(tmp_path / "st").runs() == []


# ---- artifacts: the best trial's checkpoint (shares this module's Ray session) ----------------------
def checkpointing_trainable(config):
    import json
    import tempfile

    from ray import tune

    for i in range(2):
        with tempfile.TemporaryDirectory() as folder:
            with open(os.path.join(folder, "state.json"), "w") as f:
                json.dump({"lr": config["lr"], "iteration": i}, f)
            tune.report({"loss": config["lr"] * (2 - i)}, checkpoint=tune.Checkpoint.from_directory(folder))


def test_best_trial_checkpoint_is_an_artifact(ray_session, tmp_path):
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
