"""scikit-learn tracker on real estimators (a classifier, a regressor, a pipeline)."""

from __future__ import annotations

import pytest

pytest.importorskip("sklearn")
np = pytest.importorskip("numpy")

from sklearn.ensemble import RandomForestClassifier  # noqa: E402
from sklearn.linear_model import Ridge  # noqa: E402
from sklearn.metrics import accuracy_score, log_loss, mean_squared_error  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import seetrain  # noqa: E402
from integrations import main  # noqa: E402
from integrations.sklearn import SeeTrainSklearn  # noqa: E402

pytestmark = pytest.mark.integration
QUIET = {"system_monitor": False, "capture_console": False}


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4))
    return x, (x[:, 0] + x[:, 1] > 0).astype(int), x @ np.array([1.0, -2.0, 0.5, 0.0])


def test_classifier_and_regressor_in_one_run(tmp_path):
    x, labels, target = _data()
    with SeeTrainSklearn(project="sk", experiment_name="two", logdir=str(tmp_path), **QUIET) as tracker:
        forest = tracker.fit(RandomForestClassifier(n_estimators=5, max_depth=3, random_state=0), x[:150],
                             labels[:150], eval_set=[(x[150:], labels[150:])], eval_names=["test"])
        ridge = tracker.fit(Ridge(alpha=0.5), x[:150], target[:150], eval_set=[(x[150:], target[150:])])
    (view,) = seetrain.Api(tmp_path).runs("sk")
    assert view.status == "finished"
    assert view.scalars("test/accuracy")[0][2] == pytest.approx(accuracy_score(labels[150:], forest.predict(x[150:])))
    assert view.scalars("test/log_loss")[0][2] == pytest.approx(log_loss(labels[150:], forest.predict_proba(x[150:])))
    assert view.scalars("train/fit_time_s")[0][0] == 0 and view.scalars("train/fit_time_s")[1][0] == 1
    assert view.scalars("eval_0/mse")[0][2] == pytest.approx(mean_squared_error(target[150:], ridge.predict(x[150:])))
    assert view.scalars("eval_0/r2")[0][0] == 1
    assert view.config["sklearn"]["estimator"] == "Ridge" and view.config["sklearn"]["params"]["alpha"] == 0.5
    forest_summary, ridge_summary = [m.payload for m in view.media("sklearn/model")]
    assert forest_summary["class"] == "RandomForestClassifier" and forest_summary["classes"] == [0, 1]
    assert forest_summary["feature_importances"]["x0"] == pytest.approx(forest.feature_importances_[0])
    assert ridge_summary["coefficients"]["x1"] == pytest.approx(ridge.coef_[1])
    assert ridge_summary["kind"] == "regressor" and ridge_summary["n_features_in"] == 4


def test_pipeline_through_the_hub(tmp_path):
    x, labels, _ = _data()
    integration = main.init_sklearn(project="sk-pipe", logdir=str(tmp_path), **QUIET)
    pipe = make_pipeline(StandardScaler(), RandomForestClassifier(n_estimators=3, random_state=0))
    integration.get_tracker().fit(pipe, x, labels)
    integration.finish()
    (view,) = seetrain.Api(tmp_path).runs("sk-pipe")
    (summary,) = [m.payload for m in view.media("sklearn/model")]
    assert [s["class"] for s in summary["steps"]] == ["StandardScaler", "RandomForestClassifier"]
    assert "feature_importances" in summary and "train/accuracy" in view.keys()
    assert view.config["sklearn"]["params"]["randomforestclassifier__n_estimators"] == 3
