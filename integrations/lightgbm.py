"""LightGBM: a callback for ``lgb.train`` (and the scikit-learn API's ``callbacks=``).

    import lightgbm as lgb
    from integrations.lightgbm import SeeTrainCallback

    with SeeTrainCallback(project="gbm") as callback:
        booster = lgb.train(params, train_set, valid_sets=[valid_set], valid_names=["valid"],
                            callbacks=[callback])
        callback.finish(booster)      # optional: best iteration and feature importance

Per iteration (step = iteration index, from 0): every eval result as ``<data name>/<metric>``
(e.g. ``valid/binary_logloss``). At the first iteration: the params given to ``lgb.train`` in the
config under ``lightgbm.params``. At the end: ``best_iteration`` / ``best_score`` and the
feature importance (``gain`` and ``split`` per feature) as a ``lightgbm_feature_importance``
event and ``importance/<feature>`` scalars (gain). See docs/integrations/lightgbm.md.
"""

from __future__ import annotations

from typing import Any

import lightgbm as lgb

from integrations._base import Integration
from integrations._binding import BoostingCallback, call_with_callback
from integrations._patching import Target

__all__ = ["LightGBMIntegration", "SeeTrainCallback", "autolog_targets"]


class LightGBMIntegration(Integration):
    """Hub entry: ``init_lightgbm(project=...).get_callback()`` is a ``SeeTrainCallback``."""

    name = "lightgbm"
    mode = "callback"

    def get_callback(self, **kwargs: Any) -> SeeTrainCallback:
        return SeeTrainCallback(integration=self, **kwargs)


_SIMPLE = (int, float, str, bool, type(None))


class SeeTrainCallback(BoostingCallback):
    """Records a LightGBM training into a SeeTrain run.

    A LightGBM callback is a callable taking the ``CallbackEnv``; ``order = 25`` runs it after
    LightGBM's own logging/recording callbacks and before early stopping (30), so the iteration
    early stopping ends on is recorded too. The run (when this callback created it) is finished
    by :meth:`finish`, by leaving the ``with`` block, after the last iteration, or at exit.
    ``seetrain.autolog()`` calls ``finish(booster)`` itself.
    """

    order = 25
    before_iteration = False
    integration_class = LightGBMIntegration
    _configured = False  # the params go to the config at the first iteration

    def __call__(self, env: Any) -> None:
        integration = self._lazy.get()
        if not self._configured:
            self._configured = True
            params = {k: v for k, v in (env.params or {}).items() if isinstance(v, _SIMPLE)}
            integration.update_config({"lightgbm": {"params": params}})
        values: dict[str, float] = {}
        for item in env.evaluation_result_list or ():
            # (data name, metric, value, higher is better[, stdv under lgb.cv])
            data_name, metric, value = item[0], item[1], item[2]
            values[f"{data_name}/{metric}"] = value
        step = int(env.iteration - env.begin_iteration)
        if values:
            integration.log(values, step=step)
        self._last_step = step
        if env.iteration + 1 >= env.end_iteration:
            self.finish(env.model)

    def finish(self, booster: Any = None, status: str = "finished") -> None:
        """Record the booster's best iteration and feature importance (if given), and finish the
        run if this callback created it. Idempotent."""
        self._finish_with(booster, status)

    def _log_end(self, integration: Integration, booster: Any) -> None:
        if not isinstance(booster, lgb.Booster):
            return  # lgb.cv's CVBooster: no single model to describe
        best: dict[str, Any] = {"best_iteration": int(booster.best_iteration),
                                "num_trees": int(booster.num_trees())}
        scores = {f"{d}/{m}": float(v) for d, metrics in (booster.best_score or {}).items()
                  for m, v in metrics.items()}
        if scores:
            best["best_score"] = scores
        integration.update_config({"lightgbm": {**integration.get_config().get("lightgbm", {}), **best}})
        if booster.best_iteration > 0:
            integration.log({"best/iteration": booster.best_iteration}, step=self._last_step)
        if self.log_feature_importance:
            names = booster.feature_name()
            importance = {kind: dict(zip(names, map(float, booster.feature_importance(kind))))
                          for kind in ("gain", "split")}
            integration.log_event("lightgbm_feature_importance", importance,
                                  key="lightgbm/feature_importance", step=self._last_step)
            integration.log({f"importance/{n}": v for n, v in importance["gain"].items()}, step=self._last_step)


# ---- seetrain.autolog() -------------------------------------------------------------------------
def _with_callback(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
    def call(callbacks: list[Any] | None) -> Any:
        if callbacks is not None:
            kwargs["callbacks"] = callbacks
        return wrapped(*args, **kwargs)

    return call_with_callback(call, kwargs.get("callbacks"), SeeTrainCallback, lambda booster: booster)


def autolog_targets() -> list[Target]:
    """``lgb.train`` (also what ``LGBMClassifier.fit`` & co. call) gets a ``SeeTrainCallback``."""
    import lightgbm.engine
    import lightgbm.sklearn

    why = "add a SeeTrainCallback to every training"
    return [Target(lgb, "train", _with_callback, why), Target(lightgbm.engine, "train", _with_callback, why),
            Target(lightgbm.sklearn, "train", _with_callback, why)]
