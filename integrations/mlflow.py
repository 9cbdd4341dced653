"""MLflow mirror: an unchanged script that logs with MLflow's fluent API also records into SeeTrain.

    from integrations.mlflow import sync_mlflow, unsync_mlflow
    sync_mlflow(project="p")                       # or integrations.main.init_mlflow(project="p")
    with mlflow.start_run(run_name="baseline"):    # one MLflow run = one SeeTrain run
        mlflow.log_params({"lr": 0.1})             # -> run config
        mlflow.log_metric("loss", 0.5, step=1)     # -> scalar at step 1
    unsync_mlflow()                                # originals back

Wrapped: ``start_run``, ``end_run``, ``log_param(s)``, ``log_metric(s)``, ``log_image``,
``log_text``, ``set_tag(s)`` on both ``mlflow`` and ``mlflow.tracking.fluent`` (MLflow itself
calls the fluent module's ``start_run``/``end_run``, e.g. from ``with mlflow.start_run():``).
A name imported with ``from mlflow import log_metric`` BEFORE ``sync_mlflow()`` still points at
the original function and is not mirrored.
"""

from __future__ import annotations

import logging
from typing import Any

import mlflow
from mlflow.tracking import fluent

from integrations._base import Integration
from integrations._mirror import MirrorStack, PatchSet, RunPool, Target
from seetrain import DisabledRun, Image, Run, Text

__all__ = ["MLflowIntegration", "MLflowMirror", "sync_mlflow", "unsync", "unsync_mlflow"]

log = logging.getLogger("seetrain")

# MLflow's RunStatus names -> SeeTrain's final statuses.
STATUS = {"FINISHED": "finished", "FAILED": "failed", "KILLED": "aborted"}

_patches = PatchSet("mlflow")
_mirrors = MirrorStack("mlflow", _patches)


def current_integration() -> MLflowIntegration | None:
    """The MLflow mirror that records now (the latest one switched on)."""
    return _mirrors.current()


def _argument(args: tuple, kwargs: dict, index: int, name: str, default: Any = None) -> Any:
    if name in kwargs:
        return kwargs[name]
    return args[index] if len(args) > index else default


class MLflowMirror:
    """Maps MLflow runs to SeeTrain runs; ``MLflowIntegration.get_backend()``."""

    def __init__(self, integration: MLflowIntegration, pool: RunPool, rename: bool) -> None:
        self.integration = integration
        self._pool = pool
        self._rename = rename

    def run_for(self, run_id: str | None = None) -> Run | DisabledRun | None:
        """The SeeTrain run of an MLflow run (``run_id``, else the active one), opened if needed."""
        active = fluent.active_run()
        if run_id is None:
            if active is None:
                return None
            run_id = active.info.run_id
        existing = self._pool.get(run_id)
        if existing is not None and not existing.finished:
            return existing
        is_active = active is not None and active.info.run_id == run_id
        return self._open(active if is_active else mlflow.tracking.MlflowClient().get_run(run_id))

    def _open(self, ml_run: Any) -> Run | DisabledRun:
        info, tags = ml_run.info, ml_run.data.tags
        experiment = mlflow.tracking.MlflowClient().get_experiment(info.experiment_id)
        meta = {"run_id": info.run_id, "run_name": info.run_name, "experiment_id": info.experiment_id,
                "experiment_name": getattr(experiment, "name", None), "tracking_uri": mlflow.get_tracking_uri()}
        group = None
        parent = self._pool.get(tags.get("mlflow.parentRunId"))
        if parent is not None:
            group = parent.name
            meta["parent_run_id"] = tags["mlflow.parentRunId"]
        own = self.integration.run
        claims_own = not self._pool.keys() and not isinstance(own, DisabledRun) and not own.finished
        run = self._pool.open(info.run_id, name=info.run_name, config={"mlflow": meta}, group=group)
        if claims_own and run is own and self._rename and info.run_name:
            self._set_name(run, info.run_name)
        return run

    @staticmethod
    def _set_name(run: Run | DisabledRun, name: str) -> None:
        # The integration's run was created at sync time, before MLflow named its run.
        run.set_name(name)

    def finish(self, run_id: str, status: str) -> None:
        self._pool.finish(run_id, status=STATUS.get(str(status).upper(), "finished"))

    def finish_runs(self) -> None:
        self._pool.finish_all()

    # ---- what each wrapped function records (called after MLflow accepted the call) ----------
    def on_start_run(self, args: tuple, kwargs: dict, result: Any) -> None:
        run = self.run_for(result.info.run_id if result is not None else None)
        tags = _argument(args, kwargs, 5, "tags")
        if run is not None and tags:
            self._merge_tags(run, tags)

    def on_log_param(self, args: tuple, kwargs: dict, result: Any) -> None:
        self._config(None, {_argument(args, kwargs, 0, "key"): _argument(args, kwargs, 1, "value")})

    def on_log_params(self, args: tuple, kwargs: dict, result: Any) -> None:
        self._config(_argument(args, kwargs, 2, "run_id"), dict(_argument(args, kwargs, 0, "params")))

    def on_log_metric(self, args: tuple, kwargs: dict, result: Any) -> None:
        data = {_argument(args, kwargs, 0, "key"): _argument(args, kwargs, 1, "value")}
        self._log(_argument(args, kwargs, 5, "run_id"), data,
                  _argument(args, kwargs, 2, "step"))

    def on_log_metrics(self, args: tuple, kwargs: dict, result: Any) -> None:
        self._log(_argument(args, kwargs, 3, "run_id"),
                  dict(_argument(args, kwargs, 0, "metrics")), _argument(args, kwargs, 1, "step"))

    def on_log_image(self, args: tuple, kwargs: dict, result: Any) -> None:
        image = _argument(args, kwargs, 0, "image")
        key = _argument(args, kwargs, 2, "key") or _argument(args, kwargs, 1, "artifact_file") or "image"
        if hasattr(image, "to_pil"):  # mlflow.Image
            image = image.to_pil()
        self._log(None, {key: Image(image)}, _argument(args, kwargs, 3, "step"))

    def on_log_text(self, args: tuple, kwargs: dict, result: Any) -> None:
        key = _argument(args, kwargs, 1, "artifact_file") or "text"
        self._log(_argument(args, kwargs, 2, "run_id"), {key: Text(_argument(args, kwargs, 0, "text"))}, None)

    def on_set_tag(self, args: tuple, kwargs: dict, result: Any) -> None:
        run = self.run_for()
        if run is not None:
            self._merge_tags(run, {_argument(args, kwargs, 0, "key"): _argument(args, kwargs, 1, "value")})

    def on_set_tags(self, args: tuple, kwargs: dict, result: Any) -> None:
        run = self.run_for()
        if run is not None:
            self._merge_tags(run, dict(_argument(args, kwargs, 0, "tags")))

    def _config(self, run_id: str | None, values: dict[str, Any]) -> None:
        run = self.run_for(run_id)
        if run is not None:
            values.pop("framework", None)  # the framework tag of the run must survive
            run.update_config(values)

    def _log(self, run_id: str | None, data: dict[str, Any], step: Any) -> None:
        run = self.run_for(run_id)
        if run is not None:
            run.log(data, step=step)
            self.integration.stats["records_sent"] += 1

    @staticmethod
    def _merge_tags(run: Run | DisabledRun, tags: dict[str, Any]) -> None:
        run.update_config({"mlflow_tags": {**(run.config.get("mlflow_tags") or {}),
                                           **{str(k): str(v) for k, v in tags.items()}}})


def _end_run_wrapper(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
    integration = current_integration()
    if integration is None or not integration.enabled:
        return wrapped(*args, **kwargs)
    active = fluent.active_run()
    result = wrapped(*args, **kwargs)
    if active is not None:
        status = _argument(args, kwargs, 0, "status", "FINISHED")
        integration.guard(integration.mirror.finish, active.info.run_id, status)
    return result


def _after(handler: str) -> Any:
    def wrapper(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
        integration = current_integration()
        if integration is None or not integration.enabled:
            return wrapped(*args, **kwargs)
        result = wrapped(*args, **kwargs)  # MLflow first: a call it refuses is not mirrored
        integration.guard(getattr(integration.mirror, handler), args, kwargs, result)
        return result

    return wrapper


# function -> (wrapper, why the patch exists)
FUNCTIONS: dict[str, tuple[Any, str]] = {
    "start_run": (_after("on_start_run"), "an MLflow run opens its SeeTrain run (named after it)"),
    "end_run": (_end_run_wrapper, "the SeeTrain run ends with the MLflow status"),
    "log_param": (_after("on_log_param"), "a param goes to the run config"),
    "log_params": (_after("on_log_params"), "params go to the run config"),
    "log_metric": (_after("on_log_metric"), "a metric at its step"),
    "log_metrics": (_after("on_log_metrics"), "metrics at their step"),
    "log_image": (_after("on_log_image"), "an image (by key/step or artifact file)"),
    "log_text": (_after("on_log_text"), "a text artifact as a text record"),
    "set_tag": (_after("on_set_tag"), "a tag goes to config['mlflow_tags']"),
    "set_tags": (_after("on_set_tags"), "tags go to config['mlflow_tags']"),
}


def _targets() -> list[Target]:
    # Both owners: user code calls mlflow.X, MLflow calls its own fluent.X (ActiveRun.__exit__
    # -> end_run, auto-started runs -> start_run).
    return [Target(owner, name, wrapper, why) for owner in (mlflow, fluent)
            for name, (wrapper, why) in FUNCTIONS.items()]


class MLflowIntegration(Integration):
    """Hub entry: ``init_mlflow(...)`` switches the mirror on; ``finish()`` switches it off
    (restoring the original functions once no mirror is left) and finishes the runs.

    The first MLflow run claims this integration's run (and gives it its name unless
    ``experiment_name`` was passed); later MLflow runs get runs of their own in the same project.
    """

    name = "mlflow"
    mode = "visbackend"

    def __init__(self, project: str | None = None, experiment_name: str | None = None,
                 description: str | None = None, config: Any = None, tags: list[str] | None = None,
                 log_all_ranks: bool = False, run: Run | DisabledRun | None = None,
                 **init_kwargs: Any) -> None:
        super().__init__(project=project, experiment_name=experiment_name, description=description,
                         config=config, tags=tags, log_all_ranks=log_all_ranks, run=run, **init_kwargs)
        pool = RunPool(self, {"description": description, "config": config, "tags": tags, **init_kwargs})
        self.mirror = MLflowMirror(self, pool, rename=experiment_name is None)
        _mirrors.push(self, lambda: _patches.apply(_targets()))

    def get_backend(self) -> MLflowMirror:
        return self.mirror

    def _teardown(self) -> None:
        _mirrors.remove(self)
        self.mirror.finish_runs()


def sync_mlflow(**seetrain_kwargs: Any) -> MLflowIntegration:
    """Mirror MLflow's fluent logging into SeeTrain until ``unsync_mlflow()``. Calling it again
    while a mirror is on returns that mirror."""
    from integrations import main

    return _mirrors.sync(main.init_mlflow, **seetrain_kwargs)


def unsync_mlflow(status: str = "finished") -> None:
    """Switch every MLflow mirror off: original functions restored, open runs finished."""
    _mirrors.unsync_all(status)


unsync = unsync_mlflow
