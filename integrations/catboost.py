"""CatBoost: a callback for ``model.fit(..., callbacks=[...])``.

    from catboost import CatBoostClassifier
    from integrations.catboost import SeeTrainCallback

    model = CatBoostClassifier(iterations=200, eval_metric="AUC", verbose=False)
    with SeeTrainCallback(project="gbm") as callback:
        model.fit(X, y, eval_set=(X_val, y_val), callbacks=[callback])
        callback.finish(model)        # params, best iteration, feature importance

Per iteration (step = iteration index from 0; CatBoost counts from 1): every metric CatBoost
computes, as ``<dataset>/<metric>`` (``learn/Logloss``, ``validation/AUC`` ...). At
``finish(model)``: the model's parameters, ``best_iteration``, ``best_score`` and
``tree_count`` in the config under ``catboost``, and the feature importance as a
``catboost_feature_importance`` event and ``importance/<feature>`` scalars.
See docs/integrations/catboost.md.
"""

from __future__ import annotations

import inspect
from typing import Any

import catboost

from integrations._base import Integration
from integrations._binding import BoostingCallback, call_with_callback
from integrations._patching import Target

__all__ = ["CatBoostIntegration", "SeeTrainCallback", "autolog_targets"]

_SIMPLE = (int, float, str, bool)


class CatBoostIntegration(Integration):
    """Hub entry: ``init_catboost(project=...).get_callback()`` is a ``SeeTrainCallback``."""

    name = "catboost"
    mode = "callback"

    def get_callback(self, **kwargs: Any) -> SeeTrainCallback:
        return SeeTrainCallback(integration=self, **kwargs)


class SeeTrainCallback(BoostingCallback):
    """Records a CatBoost training into a SeeTrain run (``after_iteration`` is CatBoost's callback
    interface; it always lets training continue). CatBoost has no "training ended" callback: the
    run (when this callback created it) is finished by :meth:`finish`, the end of the ``with``
    block, or at exit; ``seetrain.autolog()`` calls ``finish(model)`` itself."""

    integration_class = CatBoostIntegration

    def after_iteration(self, info: Any) -> bool:
        integration = self._lazy.get()
        values: dict[str, float] = {}
        for dataset, metrics in (info.metrics or {}).items():
            for metric, history in metrics.items():
                if history:
                    values[f"{dataset}/{metric}"] = history[-1]
        step = int(info.iteration) - 1
        if values:
            integration.log(values, step=step)
        self._last_step = step
        return True

    def finish(self, model: Any = None, status: str = "finished") -> None:
        """Record the fitted model's parameters, best iteration and feature importance (if given),
        and finish the run if this callback created it. Idempotent."""
        self._finish_with(model, status)

    def _log_end(self, integration: Integration, model: Any) -> None:
        params = {k: v for k, v in model.get_all_params().items() if isinstance(v, _SIMPLE)}
        info: dict[str, Any] = {"params": params, "tree_count": int(model.tree_count_)}
        best_iteration = model.get_best_iteration()
        if best_iteration is not None:
            info["best_iteration"] = int(best_iteration)
        best = model.get_best_score()
        if best:
            info["best_score"] = {f"{d}/{m}": float(v) for d, metrics in best.items() for m, v in metrics.items()}
        integration.update_config({"catboost": info})
        if self.log_feature_importance:
            names = list(model.feature_names_ or [])
            values = [float(v) for v in model.get_feature_importance()]
            importance = dict(zip(names or [str(i) for i in range(len(values))], values))
            integration.log_event("catboost_feature_importance", {"importance": importance},
                                  key="catboost/feature_importance", step=self._last_step)
            integration.log({f"importance/{n}": v for n, v in importance.items()}, step=self._last_step)


# ---- seetrain.autolog() -------------------------------------------------------------------------
def _with_callback(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
    # CatBoostClassifier.fit & co. call _fit with some thirty positional arguments.
    bound = inspect.signature(wrapped).bind(*args, **kwargs)

    def call(callbacks: list[Any] | None) -> Any:
        if callbacks is not None:
            bound.arguments["callbacks"] = callbacks
        return wrapped(*bound.args, **bound.kwargs)

    return call_with_callback(call, bound.arguments.get("callbacks"), SeeTrainCallback, lambda _: instance)


def autolog_targets() -> list[Target]:
    """``CatBoost._fit``, which ``fit`` of every CatBoost model class calls."""
    return [Target(catboost.CatBoost, "_fit", _with_callback, "add a SeeTrainCallback to every fit")]
