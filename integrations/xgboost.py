"""XGBoost: a ``TrainingCallback`` for ``xgb.train`` (and the scikit-learn API's ``callbacks=``).

    import xgboost as xgb
    from integrations.xgboost import SeeTrainCallback

    booster = xgb.train(params, dtrain, num_boost_round=50, evals=[(dvalid, "valid")],
                        callbacks=[SeeTrainCallback(project="gbm")])

Per boosting round (step = round index, from 0): every eval metric as ``<eval name>/<metric>``
(e.g. ``valid/logloss``). When training starts: the booster's parameters in the config under
``xgboost`` (``params`` as given to the booster, ``num_features``). When it ends:
``best_iteration`` / ``best_score`` (early stopping) in the config and the summary metrics
``best/iteration``, ``best/score``, and the feature importance (``gain``, ``weight``, ``cover``
per feature) as an ``xgboost_feature_importance`` event and as ``importance/<feature>`` scalars
(gain) at the last step. See docs/integrations/xgboost.md.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import xgboost as xgb

from integrations._base import Integration
from integrations._binding import BoostingCallback, current_run_integration
from integrations._patching import Target

__all__ = ["SeeTrainCallback", "XGBoostIntegration", "autolog_targets"]


class XGBoostIntegration(Integration):
    """Hub entry: ``init_xgboost(project=...).get_callback()`` is a ``SeeTrainCallback``."""

    name = "xgboost"
    mode = "callback"

    def get_callback(self, **kwargs: Any) -> SeeTrainCallback:
        return SeeTrainCallback(integration=self, **kwargs)


def _last(value: Any) -> float | None:
    # evals_log values are lists of floats, or of (mean, std) pairs under xgb.cv.
    if not value:
        return None
    last = value[-1]
    if isinstance(last, (tuple, list)):
        last = last[0]
    try:
        return float(last)
    except (TypeError, ValueError):
        return None


def _typed(value: Any) -> Any:
    """save_config() writes every parameter as a string: numbers back to numbers."""
    if not isinstance(value, str):
        return value
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            continue
    return value


class SeeTrainCallback(BoostingCallback, xgb.callback.TrainingCallback):
    """Records an XGBoost training into a SeeTrain run.

    ``project``, ``experiment_name``, ``description``, ``config``, ``tags``, ``logdir``, ``mode``
    ... go to ``seetrain.init``; ``integration=`` binds to a hub integration.
    ``log_feature_importance=False`` skips the importance at the end. The run is created when
    training starts and finished when it ends (if this callback created it).
    """

    integration_class = XGBoostIntegration

    def before_training(self, model: Any) -> Any:
        integration = self._lazy.get()
        integration.guard(self._log_params, integration, model)
        return model

    def _log_params(self, integration: Integration, model: Any) -> None:
        config = json.loads(model.save_config())
        learner = config.get("learner", {})
        params: dict[str, Any] = {}
        for section in ("learner_train_param", "generic_param"):
            params.update(learner.get(section, {}))
        params.update(learner.get("gradient_booster", {}).get("tree_train_param", {}))
        objective = learner.get("objective", {}).get("name")
        if objective:
            params["objective"] = objective
        integration.update_config({"xgboost": {"params": {k: _typed(v) for k, v in params.items()},
                                               "num_features": model.num_features()}})

    def after_iteration(self, model: Any, epoch: int, evals_log: Mapping[str, Mapping[str, Any]]) -> bool:
        integration = self._lazy.get()
        values: dict[str, float] = {}
        for data_name, metrics in evals_log.items():
            for metric, history in metrics.items():
                value = _last(history)
                if value is not None:
                    values[f"{data_name}/{metric}"] = value
        if values:
            integration.log(values, step=int(epoch))
        self._last_step = int(epoch)
        return False  # never stops training

    def after_training(self, model: Any) -> Any:
        integration = self._lazy.get()
        integration.guard(self._log_end, integration, model)
        self._lazy.finish("finished")
        return model

    def finish(self, status: str = "finished") -> None:
        """Finish the run now if this callback created it (the end of training, or of a ``with``
        block, does it too)."""
        self._lazy.finish(status)

    def _log_end(self, integration: Integration, model: Any) -> None:
        attributes = model.attributes()
        best: dict[str, Any] = {}
        if "best_iteration" in attributes:
            best["best_iteration"] = int(attributes["best_iteration"])
        if "best_score" in attributes:
            best["best_score"] = float(attributes["best_score"])
        best["num_boosted_rounds"] = int(model.num_boosted_rounds())
        integration.update_config({"xgboost": {**integration.get_config().get("xgboost", {}), **best}})
        if "best_iteration" in best:
            summary = {"best/iteration": best["best_iteration"]}
            if "best_score" in best:
                summary["best/score"] = best["best_score"]
            integration.log(summary, step=self._last_step)
        if self.log_feature_importance:
            importance = {kind: model.get_score(importance_type=kind) for kind in ("gain", "weight", "cover")}
            if importance["gain"]:
                integration.log_event("xgboost_feature_importance", importance, key="xgboost/feature_importance",
                                      step=self._last_step)
                integration.log({f"importance/{name}": float(v) for name, v in importance["gain"].items()},
                                step=self._last_step)


# ---- seetrain.autolog() -------------------------------------------------------------------------
def _with_callback(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
    callbacks = list(kwargs.get("callbacks") or [])
    if not any(isinstance(cb, SeeTrainCallback) for cb in callbacks):
        callbacks.append(SeeTrainCallback(integration=current_run_integration(XGBoostIntegration)))
        kwargs["callbacks"] = callbacks
    return wrapped(*args, **kwargs)


def autolog_targets() -> list[Target]:
    """``xgb.train`` (also what ``XGBClassifier.fit`` & co. call) gets a ``SeeTrainCallback``."""
    import xgboost.sklearn
    import xgboost.training

    why = "add a SeeTrainCallback to every training"
    return [Target(xgb, "train", _with_callback, why), Target(xgboost.training, "train", _with_callback, why),
            Target(xgboost.sklearn, "train", _with_callback, why)]
