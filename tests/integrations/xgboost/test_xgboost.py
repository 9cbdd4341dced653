"""XGBoost callback on a real xgb.train / XGBClassifier (tiny synthetic data), read back through Api."""

from __future__ import annotations

import pytest

xgb = pytest.importorskip("xgboost")
np = pytest.importorskip("numpy")

import seetrain  # noqa: E402
from integrations import main  # noqa: E402
from integrations.xgboost import SeeTrainCallback  # noqa: E402

pytestmark = pytest.mark.integration
QUIET = {"system_monitor": False, "capture_console": False}
FEATURES = ["a", "b", "c", "d"]


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4))
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    return (xgb.DMatrix(x[:150], label=y[:150], feature_names=FEATURES),
            xgb.DMatrix(x[150:], label=y[150:], feature_names=FEATURES), x, y)


def test_train_with_early_stopping(tmp_path):
    dtrain, dvalid, _, _ = _data()
    evals_result: dict = {}
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 2, "eval_metric": ["logloss", "error"]},
                        dtrain, 30, evals=[(dtrain, "train"), (dvalid, "valid")], early_stopping_rounds=3,
                        verbose_eval=False, evals_result=evals_result,
                        callbacks=[SeeTrainCallback(project="xgb", experiment_name="es", logdir=str(tmp_path),
                                                    **QUIET)])
    (view,) = seetrain.Api(tmp_path).runs("xgb")
    assert view.status == "finished" and view.name == "es"
    rounds = booster.num_boosted_rounds()
    for data in ("train", "valid"):
        for metric in ("logloss", "error"):
            points = view.scalars(f"{data}/{metric}")
            assert [s for s, _, _ in points] == list(range(rounds))
            assert [v for _, _, v in points] == pytest.approx(evals_result[data][metric])
    cfg = view.config["xgboost"]
    assert cfg["params"]["max_depth"] == 2 and cfg["params"]["objective"] == "binary:logistic"
    assert cfg["num_features"] == 4 and cfg["best_iteration"] == booster.best_iteration
    assert cfg["best_score"] == pytest.approx(booster.best_score)
    assert view.summary["best/iteration"]["last"] == booster.best_iteration
    (importance,) = view.media("xgboost/feature_importance")
    assert importance.payload["gain"] == pytest.approx(booster.get_score(importance_type="gain"))
    assert set(importance.payload) == {"gain", "weight", "cover"}
    assert view.config["framework"]["name"] == "xgboost"


def test_sklearn_api_through_the_hub(tmp_path):
    _, _, x, y = _data()
    integration = main.init_xgboost(project="xgb-sk", logdir=str(tmp_path), **QUIET)
    model = xgb.XGBClassifier(n_estimators=5, max_depth=2, callbacks=[integration.get_callback()])
    model.fit(x[:150], y[:150], eval_set=[(x[150:], y[150:])], verbose=False)
    integration.finish()
    (view,) = seetrain.Api(tmp_path).runs("xgb-sk")
    assert [s for s, _, _ in view.scalars("validation_0/logloss")] == [0, 1, 2, 3, 4]
    assert view.status == "finished"


def test_broken_seetrain_does_not_stop_training(tmp_path, monkeypatch):
    dtrain, dvalid, _, _ = _data()
    callback = SeeTrainCallback(project="xgb-bad", logdir=str(tmp_path), **QUIET)
    integration = callback.integration
    monkeypatch.setattr(integration.run, "log", lambda *a, **k: (_ for _ in ()).throw(OSError("disk full")))
    booster = xgb.train({"max_depth": 2}, dtrain, 3, evals=[(dvalid, "valid")], verbose_eval=False,
                        callbacks=[callback])
    assert booster.num_boosted_rounds() == 3
    assert integration.get_stats()["errors"].get("OSError", 0) >= 3


def test_with_block_finishes_the_run_when_training_raised(tmp_path):
    dtrain, _, _, _ = _data()

    class Boom(xgb.callback.TrainingCallback):
        def after_iteration(self, model, epoch, evals_log):
            if epoch == 2:
                raise RuntimeError("user callback failed")
            return False

    with pytest.raises(RuntimeError, match="user callback failed"):
        with SeeTrainCallback(project="xgb-with", logdir=str(tmp_path), **QUIET) as callback:
            xgb.train({"max_depth": 2}, dtrain, 10, evals=[(dtrain, "train")], verbose_eval=False,
                      callbacks=[callback, Boom()])
    (view,) = seetrain.Api(tmp_path).runs("xgb-with")
    assert view.status == "failed"
    assert [s for s, _, _ in view.scalars("train/rmse")] == [0, 1, 2]
