"""Optuna: a study callback that records every trial into a SeeTrain run.

    from integrations.optuna import SeeTrainOptunaCallback

    with SeeTrainOptunaCallback(project="hpo", metric_name="val_loss") as callback:
        study.optimize(objective, n_trials=50, callbacks=[callback])

The study run gets, at step = trial number: the objective value, the best value so far, numeric
params as ``params/<name>``, cumulative ``trials/complete|pruned|fail`` counts and the trial's
duration; one ``optuna_trial`` event per trial with everything (categorical params, intermediate
values, user attrs); and a study summary (best params/value, directions, n_trials) kept current
in the config and written as a ``study_summary`` event at the end. ``one_run_per_trial=True``
adds one run per trial, grouped under the study name. ``log_best_artifact="checkpoint"`` stores
the file or folder a trial names in ``trial.set_user_attr("checkpoint", path)`` as a version of
the artifact ``<study name>-best`` each time that trial becomes the study's best (alias ``best``).
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import seetrain
from integrations._base import Integration, exit_status
from integrations._binding import LazyIntegration

if TYPE_CHECKING:
    import optuna

log = logging.getLogger("seetrain")

__all__ = ["OptunaIntegration", "SeeTrainOptunaCallback"]

_STATE_KEYS = {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "fail"}
# Status of a trial's own run: a pruned trial ended the way the pruner wanted, so it is finished.
_RUN_STATUS = {"COMPLETE": "finished", "PRUNED": "finished", "FAIL": "failed"}


class OptunaIntegration(Integration):
    """The hub side: ``init_optuna(project=...).get_tracker()`` is a study callback."""

    name = "optuna"
    mode = "tracker"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._callback: SeeTrainOptunaCallback | None = None

    def get_tracker(self, **callback_kwargs: Any) -> SeeTrainOptunaCallback:
        """A callback bound to this integration's run (created once; kwargs apply the first time)."""
        if self._callback is None:
            self._callback = SeeTrainOptunaCallback(integration=self, **callback_kwargs)
        return self._callback

    def get_callback(self, **callback_kwargs: Any) -> SeeTrainOptunaCallback:
        """The same object as :meth:`get_tracker`: Optuna calls it a callback
        (``study.optimize(..., callbacks=[integration.get_callback()])``)."""
        return self.get_tracker(**callback_kwargs)


class SeeTrainOptunaCallback:
    """``study.optimize(..., callbacks=[SeeTrainOptunaCallback(...)])``.

    ``metric_name`` names the objective (a list of names for a multi-objective study).
    ``project``, ``experiment_name`` (default: the study name), ``description``, ``config``,
    ``tags``, ``logdir``, ``mode`` ... go to ``seetrain.init``; ``integration=`` binds the
    callback to a run made with ``init_optuna``. Call ``finish()`` (or use the callback as a
    context manager) after ``optimize`` to write the study summary and close the run.
    """

    def __init__(self, metric_name: str | Sequence[str] = "value", one_run_per_trial: bool = False,
                 project: str | None = None, experiment_name: str | None = None,
                 description: str | None = None, config: Any = None, tags: list[str] | None = None,
                 integration: Integration | None = None, log_best_artifact: str | None = None,
                 **init_kwargs: Any) -> None:
        self.metric_name = metric_name
        self.log_best_artifact = log_best_artifact
        self._artifacts: Any = None
        self.one_run_per_trial = one_run_per_trial
        kwargs = {"project": project, "experiment_name": experiment_name, "description": description,
                  "config": config, "tags": tags, **init_kwargs}
        self._lazy = LazyIntegration(OptunaIntegration, kwargs, integration)
        self._study: optuna.Study | None = None
        self._trial_runs: list[Any] = []

    # ---- the callback ------------------------------------------------------------------------
    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        """Optuna calls this after each trial ends (complete, pruned, or a failure it caught)."""
        integration = self._lazy.get(experiment_name=study.study_name)
        if self._study is None:
            self._study = study
            integration.update_config({"study": {"name": study.study_name,
                                                 "sampler": type(study.sampler).__name__,
                                                 "pruner": type(study.pruner).__name__}})
        integration.guard(self._record, integration, study, trial)

    def _metric_names(self, count: int) -> list[str]:
        names = [self.metric_name] if isinstance(self.metric_name, str) else list(self.metric_name)
        if len(names) < count:
            names += [f"{names[0] if names else 'value'}_{i}" for i in range(len(names), count)]
        return names[:count]

    def _record(self, integration: Integration, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        state = trial.state.name
        values = list(trial.values) if trial.values is not None else []
        names = self._metric_names(max(len(values), len(study.directions)))
        # Only a complete trial has an objective value in Optuna's sense; a pruned trial carries
        # its last intermediate value, which would distort the chart (it stays in the event).
        metrics: dict[str, Any] = dict(zip(names, values)) if state == "COMPLETE" else {}
        best = _best(study)
        if best is not None:
            metrics.update({f"best_{name}": value for name, value in zip(names, best["values"])})
        metrics.update({f"params/{key}": _number(value) for key, value in trial.params.items()
                        if _number(value) is not None})
        counts = Counter(t.state.name for t in study.get_trials(deepcopy=False))
        metrics.update({f"trials/{label}": counts.get(name, 0) for name, label in _STATE_KEYS.items()})
        if trial.duration is not None:
            metrics["trial/duration_s"] = trial.duration.total_seconds()
        integration.log(metrics, step=trial.number)
        integration.log_event("optuna_trial", _trial_record(trial, names), key="optuna/trials",
                              step=trial.number)
        integration.update_config({"study": {**integration.get_config().get("study", {}),
                                             **_summary(study, names)}})
        if self.one_run_per_trial and integration.enabled:
            self._trial_run(integration, study, trial, names, values)
        if self.log_best_artifact and integration.enabled and state == "COMPLETE" and len(study.directions) == 1:
            integration.guard(self._log_best, integration, study, trial, names)

    def _log_best(self, integration: Integration, study: optuna.Study, trial: optuna.trial.FrozenTrial,
                  names: list[str]) -> None:
        """Store the new best trial's file (its user attr ``log_best_artifact``) as a version."""
        path = trial.user_attrs.get(self.log_best_artifact or "")
        if not path or study.best_trial.number != trial.number:
            return
        from integrations._artifacts import CheckpointArtifacts
        from seetrain.artifacts.manifest import name_from_path

        if self._artifacts is None or self._artifacts.run is not integration.run:
            self._artifacts = CheckpointArtifacts(integration.run, name=f"{name_from_path(study.study_name)}-best",
                                                  guard=integration.guard)
        metadata = {"trial": trial.number, "params": _trial_record(trial, names)["params"],
                    **{name: value for name, value in zip(names, trial.values or [])}}
        self._artifacts.log(str(path), ["best", f"trial-{trial.number}"], metadata)

    def _trial_run(self, integration: Integration, study: optuna.Study, trial: optuna.trial.FrozenTrial,
                   names: list[str], values: list[float]) -> None:
        parent = integration.run
        config = {**trial.params, "trial": {"number": trial.number, "state": trial.state.name,
                                            "study": study.study_name},
                  "framework": integration.get_config().get("framework")}
        # integration.enabled: parent is a real Run, not a DisabledRun
        run = seetrain.init(project=parent.project, logdir=parent.settings.logdir, mode=parent.mode,  # type: ignore[union-attr]
                            experiment_name=f"{study.study_name}-trial-{trial.number}", group=study.study_name,
                            config=config, tags=[integration.name, trial.state.name.lower()],
                            reinit="create_new", system_monitor=False, capture_console=False)
        try:
            for step, value in sorted(trial.intermediate_values.items()):
                run.log({f"intermediate/{names[0]}": value}, step=step)
            if values and trial.state.name == "COMPLETE":
                run.log(dict(zip(names, values)), step=trial.number)
        finally:
            run.finish(status=_RUN_STATUS.get(trial.state.name, "finished"))
        self._trial_runs.append(run.id)

    # ---- end of the study ----------------------------------------------------------------------
    @property
    def integration(self) -> Integration:
        """The hub Integration behind this callback (created on first use)."""
        return self._lazy.get()

    def finish(self, status: str = "finished") -> None:
        """Write the study summary and finish the run (also a run of the hub integration this
        callback is bound to: calling ``finish`` says the study is over)."""
        current = self._lazy.created
        if current is not None and self._study is not None and not current._finished:
            names = self._metric_names(len(self._study.directions))
            summary = current.guard(_summary, self._study, names)
            if summary is not None:
                current.update_config({"study": {**current.get_config().get("study", {}), **summary}})
                current.log_event("study_summary", summary, key="optuna/study")
        self._lazy.finish(status, bound="finish")

    def __enter__(self) -> SeeTrainOptunaCallback:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.finish(exit_status(exc_type))


def _number(value: Any) -> float | int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return value
    return None


def _best(study: optuna.Study) -> dict[str, Any] | None:
    """Best trial so far (single objective), or None before the first complete trial."""
    if len(study.directions) != 1:
        return None
    try:
        best = study.best_trial
    except ValueError:  # no complete trial yet
        return None
    return {"number": best.number, "values": list(best.values or []), "params": dict(best.params)}


def _summary(study: optuna.Study, names: list[str]) -> dict[str, Any]:
    counts = Counter(t.state.name for t in study.get_trials(deepcopy=False))
    summary: dict[str, Any] = {
        "name": study.study_name,
        "direction": [d.name.lower() for d in study.directions] if len(study.directions) > 1
        else study.direction.name.lower(),
        "n_trials": sum(counts.values()),
        "states": {label: counts.get(name, 0) for name, label in _STATE_KEYS.items()},
    }
    best = _best(study)
    if best is not None:
        summary["best_trial"] = best["number"]
        summary["best_params"] = best["params"]
        summary["best_value"] = best["values"][0] if len(best["values"]) == 1 else best["values"]
    elif len(study.directions) > 1:
        summary["pareto_front"] = [t.number for t in study.best_trials]
    summary["metric_names"] = names
    return summary


def _trial_record(trial: optuna.trial.FrozenTrial, names: list[str]) -> dict[str, Any]:
    def _json(value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            return str(value)
        return value if isinstance(value, (bool, int, float, str, type(None))) else repr(value)

    return {
        "number": trial.number,
        "state": trial.state.name,
        "params": {k: _json(v) for k, v in trial.params.items()},
        "values": dict(zip(names, [_json(v) for v in trial.values])) if trial.values else None,
        "intermediate_values": {str(k): _json(v) for k, v in trial.intermediate_values.items()},
        "user_attrs": {k: _json(v) for k, v in trial.user_attrs.items()},
        "datetime_start": trial.datetime_start.isoformat() if trial.datetime_start else None,
        "datetime_complete": trial.datetime_complete.isoformat() if trial.datetime_complete else None,
        "duration_s": trial.duration.total_seconds() if trial.duration else None,
    }
