"""Optuna callback: a real study with a pruner and a failing trial, read back through Api."""

from __future__ import annotations

import pytest

optuna = pytest.importorskip("optuna")

import seetrain  # noqa: E402
from integrations import main  # noqa: E402

pytestmark = pytest.mark.integration

QUIET = {"system_monitor": False, "capture_console": False}
N_TRIALS = 6


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for var in ("SEETRAIN_LOGDIR", "SEETRAIN_PROJECT", "SEETRAIN_MODE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(var, raising=False)
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    yield
    optuna.logging.set_verbosity(verbosity)
    main.finish()


def objective(trial: optuna.Trial) -> float:
    """Trial 2 reports bad intermediate values (pruned), trial 4 fails, the others complete."""
    x = trial.suggest_float("x", -2.0, 2.0)
    trial.suggest_categorical("opt", ["sgd", "adam"])
    depth = trial.suggest_int("depth", 1, 3)
    if trial.number == 4:
        raise ValueError("diverged")
    for step in range(3):
        # Equal intermediate values never lose to the median, so only trial 2 is pruned.
        value = 100.0 + step if trial.number == 2 else float(step)
        trial.report(value, step)
        if trial.should_prune():
            raise optuna.TrialPruned()
    return (x - 0.5) ** 2 + depth / 3


def _study(name: str = "hpo-study") -> optuna.Study:
    return optuna.create_study(study_name=name, direction="minimize",
                               sampler=optuna.samplers.RandomSampler(seed=0),
                               pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0))


def _optimize(study: optuna.Study, callback) -> None:
    study.optimize(objective, n_trials=N_TRIALS, callbacks=[callback], catch=(ValueError,))


def test_study_run_records_trials_states_and_summary(tmp_path):
    from integrations.optuna import SeeTrainOptunaCallback

    study = _study()
    with SeeTrainOptunaCallback(project="hpo", metric_name="loss", logdir=str(tmp_path), **QUIET) as callback:
        _optimize(study, callback)
    states = [t.state.name for t in study.trials]
    assert states[2] == "PRUNED" and states[4] == "FAIL" and states.count("COMPLETE") == 4

    (view,) = seetrain.Api(tmp_path).runs("hpo")
    assert view.name == "hpo-study" and view.status == "finished"
    assert view.config["framework"]["name"] == "optuna"
    complete = [t for t in study.trials if t.state.name == "COMPLETE"]
    assert [(s, pytest.approx(v)) for s, _, v in view.scalars("loss")] == [(t.number, t.value) for t in complete]
    best = view.scalars("best_loss")
    assert best[-1][2] == pytest.approx(study.best_value)
    assert all(b[2] >= best[-1][2] for b in best)  # best so far never gets worse
    assert [s for s, _, _ in view.scalars("params/x")] == list(range(N_TRIALS))
    assert [v for _, _, v in view.scalars("trials/pruned")] == [0, 0, 1, 1, 1, 1]
    assert [v for _, _, v in view.scalars("trials/fail")] == [0, 0, 0, 0, 1, 1]
    assert view.scalars("trials/complete")[-1][2] == 4
    assert "params/opt" not in view.keys()  # categorical: kept in the trial event instead

    events = view.media("optuna/trials", kind="optuna_trial")
    assert [e.payload["state"] for e in events] == states
    assert events[0].payload["params"]["opt"] in ("sgd", "adam")
    assert events[2].payload["intermediate_values"] == {"0": 100.0}

    summary = view.config["study"]
    assert summary["best_value"] == pytest.approx(study.best_value)
    assert summary["best_params"] == study.best_params
    assert summary["direction"] == "minimize" and summary["n_trials"] == N_TRIALS
    assert summary["states"] == {"complete": 4, "pruned": 1, "fail": 1}
    assert summary["sampler"] == "RandomSampler" and summary["pruner"] == "MedianPruner"
    (final,) = view.media("optuna/study", kind="study_summary")
    assert final.payload["best_trial"] == study.best_trial.number


def test_one_run_per_trial_grouped_under_the_study(tmp_path):
    from integrations.optuna import SeeTrainOptunaCallback

    study = _study("grouped")
    callback = SeeTrainOptunaCallback(project="hpo", one_run_per_trial=True, logdir=str(tmp_path), **QUIET)
    _optimize(study, callback)
    callback.finish()
    callback.finish()  # twice is harmless

    runs = seetrain.Api(tmp_path).runs("hpo")
    trial_runs = {r.name: r for r in runs if r.group == "grouped"}
    assert len(runs) == N_TRIALS + 1 and len(trial_runs) == N_TRIALS
    first = trial_runs["grouped-trial-0"]
    assert first.status == "finished" and first.config["x"] == study.trials[0].params["x"]
    assert first.config["framework"]["name"] == "optuna"
    assert [s for s, _, _ in first.scalars("intermediate/value")] == [0, 1, 2]
    assert first.scalars("value")[0][2] == pytest.approx(study.trials[0].value)
    assert trial_runs["grouped-trial-4"].status == "failed"
    assert "pruned" in trial_runs["grouped-trial-2"].tags


def test_hub_init_optuna_and_non_zero_rank(tmp_path, monkeypatch):
    integration = main.init_optuna(project="hub", experiment_name="hub-study", logdir=str(tmp_path), **QUIET)
    callback = integration.get_tracker()
    assert callback is integration.get_tracker()
    _optimize(_study(), callback)
    integration.finish()
    (view,) = seetrain.Api(tmp_path).runs("hub")
    assert view.name == "hub-study" and len(view.scalars("value")) == 4

    monkeypatch.setenv("RANK", "1")
    from integrations.optuna import SeeTrainOptunaCallback

    ranked = tmp_path / "ranked"
    callback = SeeTrainOptunaCallback(one_run_per_trial=True, logdir=str(ranked), **QUIET)
    _optimize(_study("ranked"), callback)
    callback.finish()
    assert seetrain.Api(ranked).runs() == []


def test_seetrain_failure_does_not_break_the_study(tmp_path):
    from integrations.optuna import SeeTrainOptunaCallback

    callback = SeeTrainOptunaCallback(project="broken", logdir=str(tmp_path), **QUIET)

    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    callback.integration.run.log = boom
    study = _study()
    _optimize(study, callback)
    assert len(study.trials) == N_TRIALS
    assert callback.integration.get_stats()["degraded_calls"] >= N_TRIALS
    callback.finish()
    (view,) = seetrain.Api(tmp_path).runs("broken")
    assert view.status == "finished"


def test_hub_get_callback_is_the_study_callback(tmp_path):
    integration = main.init_optuna(project="hub-optuna", logdir=str(tmp_path), **QUIET)
    callback = integration.get_callback(metric_name="loss")
    assert callback is integration.get_tracker()
    study = _study("via-callback")
    study.optimize(objective, n_trials=3, callbacks=[callback])
    callback.finish()  # says the study is over: the bound integration's run finishes too
    (view,) = seetrain.Api(tmp_path).runs("hub-optuna")
    assert view.status == "finished" and [s for s, _, _ in view.scalars("loss")] == [0, 1]
