"""scikit-learn: record an estimator's fit (params, fit time, scores, metrics, a model summary).

scikit-learn has no callback system, so the native object is a small tracker that fits (or
describes an already fitted estimator) for you:

    from sklearn.ensemble import RandomForestClassifier
    from integrations.sklearn import SeeTrainSklearn

    with SeeTrainSklearn(project="sk") as tracker:
        model = tracker.fit(RandomForestClassifier(n_estimators=50), X_train, y_train,
                            eval_set=[(X_test, y_test)])

Recorded (see docs/integrations/sklearn.md): the estimator's parameters (``get_params()``,
plain values) in the config under ``sklearn.params``; ``train/fit_time_s``; per data set
(``train``, ``eval_0`` ... or the names given) ``<name>/score`` (the estimator's own ``score``)
and the metrics of its kind (classifier: ``accuracy``, ``f1_macro``, ``log_loss`` if it has
``predict_proba``; regressor: ``r2``, ``mse``, ``mae``); a ``sklearn_model`` event with the
model summary (class, module, kind, ``n_features_in_``, classes, pipeline steps, parameter
arrays' shapes, feature importances/coefficients per feature when available).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from integrations._base import Integration
from integrations._binding import NativeRunHolder
from integrations.lazy import LazyModule

__all__ = ["SeeTrainSklearn", "SklearnIntegration", "model_summary"]

# Imported on first use: an estimator that is never scored never imports sklearn.metrics.
metrics = LazyModule("sklearn.metrics")
_SIMPLE = (int, float, str, bool, type(None))
_MAX_FEATURES = 200  # per-feature importances beyond this are left out of the summary


class SklearnIntegration(Integration):
    """Hub entry: ``init_sklearn(project=...).get_tracker()`` is a ``SeeTrainSklearn``."""

    name = "sklearn"
    mode = "tracker"

    def get_tracker(self, **kwargs: Any) -> SeeTrainSklearn:
        return SeeTrainSklearn(integration=self, **kwargs)

    def get_callback(self, **kwargs: Any) -> SeeTrainSklearn:
        return self.get_tracker(**kwargs)


def _kind(estimator: Any) -> str:
    from sklearn.base import is_classifier, is_regressor

    if is_classifier(estimator):
        return "classifier"
    if is_regressor(estimator):
        return "regressor"
    return getattr(estimator, "_estimator_type", None) or "other"


def _params(estimator: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in estimator.get_params(deep=True).items():
        if isinstance(value, _SIMPLE):
            out[key] = value
        elif isinstance(value, (list, tuple)) and all(isinstance(v, _SIMPLE) for v in value):
            out[key] = list(value)
        elif hasattr(value, "get_params"):
            out[key] = type(value).__name__
    return out


def _per_feature(values: Any, names: list[str]) -> dict[str, float] | None:
    try:
        flat = [float(v) for v in values]
    except (TypeError, ValueError):
        return None
    if len(flat) != len(names) or len(flat) > _MAX_FEATURES:
        return None
    return dict(zip(names, flat))


def model_summary(estimator: Any) -> dict[str, Any]:
    """A JSON-safe description of a fitted estimator (what the ``sklearn_model`` event holds)."""
    summary: dict[str, Any] = {"class": type(estimator).__name__, "module": type(estimator).__module__,
                               "kind": _kind(estimator)}
    n_features = getattr(estimator, "n_features_in_", None)
    if n_features is not None:
        summary["n_features_in"] = int(n_features)
    names = getattr(estimator, "feature_names_in_", None)
    names = [str(n) for n in names] if names is not None else \
        [f"x{i}" for i in range(int(n_features or 0))]
    classes = getattr(estimator, "classes_", None)
    if classes is not None:
        summary["classes"] = [c.item() if hasattr(c, "item") else c for c in classes]
    steps = getattr(estimator, "steps", None)
    if steps:
        summary["steps"] = [{"name": name, "class": type(step).__name__} for name, step in steps]
    arrays = {}
    for attr, value in vars(estimator).items():
        if attr.endswith("_") and not attr.startswith("_") and hasattr(value, "shape"):
            arrays[attr] = list(getattr(value, "shape", ()))
    if arrays:
        summary["fitted_arrays"] = arrays
    final = steps[-1][1] if steps else estimator
    importances = getattr(final, "feature_importances_", None)
    if importances is not None:
        summary["feature_importances"] = _per_feature(importances, names)
    coef = getattr(final, "coef_", None)
    if coef is not None and getattr(coef, "ndim", 0) == 1:
        summary["coefficients"] = _per_feature(coef, names)
    return summary


def _metrics(estimator: Any, kind: str, x: Any, y: Any) -> dict[str, float]:
    out: dict[str, float] = {}
    if y is None:
        return out
    out["score"] = float(estimator.score(x, y))
    if kind == "classifier":
        predicted = estimator.predict(x)
        out["accuracy"] = float(metrics.accuracy_score(y, predicted))
        out["f1_macro"] = float(metrics.f1_score(y, predicted, average="macro"))
        if hasattr(estimator, "predict_proba"):
            try:
                out["log_loss"] = float(metrics.log_loss(y, estimator.predict_proba(x),
                                                         labels=getattr(estimator, "classes_", None)))
            except (ValueError, AttributeError):
                pass  # e.g. SVC(probability=False) exposes predict_proba but cannot use it
    elif kind == "regressor":
        predicted = estimator.predict(x)
        out["r2"] = float(metrics.r2_score(y, predicted))
        out["mse"] = float(metrics.mean_squared_error(y, predicted))
        out["mae"] = float(metrics.mean_absolute_error(y, predicted))
    return out


class SeeTrainSklearn(NativeRunHolder):
    """Fits and records scikit-learn estimators into one SeeTrain run (one ``fit`` per step:
    the first recorded fit is step 0, the next step 1 ...).

    ``project``, ``experiment_name``, ``description``, ``config``, ``tags``, ``logdir``, ``mode``
    ... go to ``seetrain.init``; ``integration=`` binds to a hub integration. ``finish()`` (or the
    end of the ``with`` block) finishes the run if this tracker created it.
    """

    integration_class = SklearnIntegration

    def __init__(self, project: str | None = None, experiment_name: str | None = None,
                 description: str | None = None, config: Any = None, tags: list[str] | None = None,
                 integration: Integration | None = None, **init_kwargs: Any) -> None:
        self._hold(integration, project=project, experiment_name=experiment_name, description=description,
                   config=config, tags=tags, **init_kwargs)
        self._step = 0

    def fit(self, estimator: Any, x: Any, y: Any = None, eval_set: Sequence[tuple[Any, Any]] = (),
            eval_names: Sequence[str] | None = None, **fit_params: Any) -> Any:
        """``estimator.fit(x, y, **fit_params)``, timed, then :meth:`log_estimator`. Returns the
        fitted estimator. An exception from ``fit`` propagates unchanged (nothing is recorded)."""
        start = time.perf_counter()
        estimator.fit(x, y, **fit_params) if y is not None else estimator.fit(x, **fit_params)
        fit_time = time.perf_counter() - start
        self.log_estimator(estimator, x, y, eval_set=eval_set, eval_names=eval_names, fit_time=fit_time)
        return estimator

    def log_estimator(self, estimator: Any, x: Any = None, y: Any = None,
                      eval_set: Sequence[tuple[Any, Any]] = (), eval_names: Sequence[str] | None = None,
                      fit_time: float | None = None) -> None:
        """Record an already fitted estimator: params, model summary, and the metrics on
        ``(x, y)`` (named ``train``) and on each ``eval_set`` pair. Never raises."""
        integration = self._lazy.get()
        integration.guard(self._record, integration, estimator, x, y, list(eval_set), eval_names, fit_time)

    def _record(self, integration: Integration, estimator: Any, x: Any, y: Any,
                eval_set: list[tuple[Any, Any]], eval_names: Sequence[str] | None,
                fit_time: float | None) -> None:
        step = self._step
        self._step += 1
        kind = _kind(estimator)
        integration.update_config({"sklearn": {"estimator": type(estimator).__name__, "kind": kind,
                                               "params": _params(estimator)}})
        values: dict[str, float] = {}
        if fit_time is not None:
            values["train/fit_time_s"] = fit_time
        names = list(eval_names or [f"eval_{i}" for i in range(len(eval_set))])
        for name, (data_x, data_y) in [("train", (x, y)), *zip(names, eval_set)]:
            if data_x is None:
                continue
            for metric, value in _metrics(estimator, kind, data_x, data_y).items():
                values[f"{name}/{metric}"] = value
        if values:
            integration.log(values, step=step)
        integration.log_event("sklearn_model", model_summary(estimator), key="sklearn/model", step=step)

    def finish(self, status: str = "finished") -> None:
        self._lazy.finish(status)
