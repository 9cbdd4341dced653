"""LightGBM callback on a real lgb.train / LGBMClassifier (tiny synthetic data), read back through Api."""

from __future__ import annotations

import pytest

lgb = pytest.importorskip("lightgbm")
np = pytest.importorskip("numpy")

import seetrain  # noqa: E402
from integrations import main  # noqa: E402
from integrations.lightgbm import SeeTrainCallback  # noqa: E402

pytestmark = pytest.mark.integration
QUIET = {"system_monitor": False, "capture_console": False}
PARAMS = {"objective": "binary", "num_leaves": 4, "learning_rate": 0.2, "verbose": -1,
          "metric": ["binary_logloss", "auc"], "min_data_in_leaf": 5}


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 4))
    y = (x[:, 0] - x[:, 1] + rng.normal(scale=0.5, size=300) > 0).astype(int)
    names = ["a", "b", "c", "d"]
    return (lgb.Dataset(x[:200], label=y[:200], feature_name=names),
            lgb.Dataset(x[200:], label=y[200:], feature_name=names), x, y)


def test_train_all_rounds(tmp_path):
    train, valid, _, _ = _data()
    record: dict = {}
    lgb.train(PARAMS, train, 8, valid_sets=[valid], valid_names=["valid"],
              callbacks=[lgb.record_evaluation(record),
                         SeeTrainCallback(project="lgb", experiment_name="full", logdir=str(tmp_path), **QUIET)])
    (view,) = seetrain.Api(tmp_path).runs("lgb")
    assert view.status == "finished"  # finished at the last iteration
    for metric in ("binary_logloss", "auc"):
        points = view.scalars(f"valid/{metric}")
        assert [s for s, _, _ in points] == list(range(8))
        assert [v for _, _, v in points] == pytest.approx(record["valid"][metric])
    assert view.config["lightgbm"]["params"]["num_leaves"] == 4
    assert view.config["framework"]["name"] == "lightgbm"
    (importance,) = view.media("lightgbm/feature_importance")
    assert set(importance.payload) == {"gain", "split"} and set(importance.payload["gain"]) == {"a", "b", "c", "d"}


def test_early_stopping_with_finish(tmp_path):
    train, valid, _, _ = _data()
    with SeeTrainCallback(project="lgb-es", logdir=str(tmp_path), **QUIET) as callback:
        booster = lgb.train(PARAMS, train, 200, valid_sets=[valid], valid_names=["valid"],
                            callbacks=[lgb.early_stopping(3, verbose=False), callback])
        callback.finish(booster)
    assert booster.best_iteration < 200
    (view,) = seetrain.Api(tmp_path).runs("lgb-es")
    assert view.status == "finished" and view.config["lightgbm"]["best_iteration"] == booster.best_iteration
    # Every iteration that ran was recorded, the one early stopping ended on included.
    assert len(view.scalars("valid/auc")) == booster.best_iteration + 3


def test_sklearn_api_through_the_hub(tmp_path):
    _, _, x, y = _data()
    integration = main.init_lightgbm(project="lgb-sk", logdir=str(tmp_path), **QUIET)
    model = lgb.LGBMClassifier(n_estimators=4, num_leaves=4, verbose=-1)
    model.fit(x[:200], y[:200], eval_X=(x[200:],), eval_y=(y[200:],), callbacks=[integration.get_callback()])
    integration.finish()
    (view,) = seetrain.Api(tmp_path).runs("lgb-sk")
    assert [s for s, _, _ in view.scalars("valid_0/binary_logloss")] == [0, 1, 2, 3]
