"""CatBoost callback on a real CatBoostClassifier (tiny synthetic data), read back through Api."""

from __future__ import annotations

import pytest

catboost = pytest.importorskip("catboost")
np = pytest.importorskip("numpy")

import seetrain  # noqa: E402
from integrations import main  # noqa: E402
from integrations.catboost import SeeTrainCallback  # noqa: E402

pytestmark = pytest.mark.integration
QUIET = {"system_monitor": False, "capture_console": False}


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    return x[:150], y[:150], x[150:], y[150:]


def test_fit_with_eval_set(tmp_path):
    x, y, xv, yv = _data()
    model = catboost.CatBoostClassifier(iterations=10, depth=2, eval_metric="AUC", verbose=False,
                                        random_seed=0, train_dir=str(tmp_path / "cb"), allow_writing_files=False)
    with SeeTrainCallback(project="cb", experiment_name="clf", logdir=str(tmp_path), **QUIET) as callback:
        model.fit(x, y, eval_set=(xv, yv), callbacks=[callback])
        callback.finish(model)
    (view,) = seetrain.Api(tmp_path).runs("cb")
    assert view.status == "finished"
    evals = model.get_evals_result()
    points = view.scalars("validation/AUC")
    assert [s for s, _, _ in points] == list(range(10))
    assert [v for _, _, v in points] == pytest.approx(evals["validation"]["AUC"])
    assert [v for _, _, v in view.scalars("learn/Logloss")] == pytest.approx(evals["learn"]["Logloss"])
    cfg = view.config["catboost"]
    assert cfg["params"]["depth"] == 2 and cfg["tree_count"] == model.tree_count_
    assert cfg["best_iteration"] == model.get_best_iteration()
    (importance,) = view.media("catboost/feature_importance")
    assert list(importance.payload["importance"].values()) == pytest.approx(list(model.get_feature_importance()))


def test_hub_and_autolog(tmp_path):
    x, y, xv, yv = _data()
    integration = main.init_catboost(project="cb-hub", logdir=str(tmp_path), **QUIET)
    model = catboost.CatBoostRegressor(iterations=4, depth=2, verbose=False, allow_writing_files=False)
    model.fit(x, y.astype(float), callbacks=[integration.get_callback()])
    integration.finish()
    (view,) = seetrain.Api(tmp_path).runs("cb-hub")
    assert [s for s, _, _ in view.scalars("learn/RMSE")] == [0, 1, 2, 3]

    seetrain.autolog()
    try:
        seetrain.init(project="cb-auto", logdir=str(tmp_path), **QUIET)
        catboost.CatBoostClassifier(iterations=3, depth=2, verbose=False, allow_writing_files=False).fit(x, y)
        seetrain.finish()
    finally:
        seetrain.autolog(disable=True)
    import wrapt

    assert not isinstance(vars(catboost.CatBoost)["_fit"], wrapt.FunctionWrapper)  # restored
    (auto,) = seetrain.Api(tmp_path).runs("cb-auto")
    assert [s for s, _, _ in auto.scalars("learn/Logloss")] == [0, 1, 2]
    assert auto.config["catboost"]["tree_count"] == 3
