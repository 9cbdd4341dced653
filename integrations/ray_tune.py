"""Ray Tune: a ``LoggerCallback`` that gives every trial its own SeeTrain run.

    from ray import tune
    from integrations.ray_tune import SeeTrainLoggerCallback

    tuner = tune.Tuner(trainable, param_space={...},
                       run_config=tune.RunConfig(name="sweep", callbacks=[SeeTrainLoggerCallback(project="hpo")]))
    tuner.fit()

Each trial run is named after the trial, grouped under the experiment name, holds the trial's
config and the metrics it reports at step ``result["training_iteration"]``, and ends
``finished`` or ``failed``. One more run in the same group (tag ``experiment``) records the
experiment: trial counts and each trial's final result. The callback runs in the Tune driver
process, so every run lives there too; the trial workers never import SeeTrain.
"""

from __future__ import annotations

import logging
import numbers
import os
from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ray.tune.logger import LoggerCallback

import seetrain
from integrations._base import Integration
from integrations._binding import LazyIntegration

if TYPE_CHECKING:
    from ray.tune.experiment import Trial

log = logging.getLogger("seetrain")

__all__ = ["RayTuneIntegration", "SeeTrainLoggerCallback"]

# Tune's bookkeeping in every result: identity, clocks and flags, not metrics of the trial.
_BOOKKEEPING = frozenset({
    "config", "trial_id", "experiment_id", "experiment_tag", "date", "timestamp", "hostname", "node_ip",
    "pid", "done", "training_iteration", "checkpoint_dir_name", "should_checkpoint", "trial_resources",
    "time_since_restore", "iterations_since_restore", "timesteps_since_restore",
})


class RayTuneIntegration(Integration):
    """The hub side: ``init_ray_tune(project=..., experiment_name=...).get_tracker()``. Its own run
    is the experiment run; trial runs are opened beside it by the callback."""

    name = "ray_tune"
    mode = "tracker"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._callback: SeeTrainLoggerCallback | None = None
        self.guard(self.run.add_tags, "experiment")

    def get_tracker(self, **callback_kwargs: Any) -> SeeTrainLoggerCallback:
        """A logger callback bound to this integration (created once; kwargs apply the first time)."""
        if self._callback is None:
            self._callback = SeeTrainLoggerCallback(integration=self, **callback_kwargs)
        return self._callback

    def get_callback(self, **callback_kwargs: Any) -> SeeTrainLoggerCallback:
        """The same object as :meth:`get_tracker` (``RunConfig(callbacks=[...])`` takes it)."""
        return self.get_tracker(**callback_kwargs)


def _metrics(result: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Numbers (and nested dicts of numbers) of a Tune result, without Tune's bookkeeping."""
    out: dict[str, Any] = {}
    for key, value in result.items():
        if not prefix and key in _BOOKKEEPING:
            continue
        name = f"{prefix}{key}"
        if isinstance(value, bool):
            out[name] = int(value)
        elif isinstance(value, numbers.Number):
            out[name] = value
        elif isinstance(value, Mapping):
            out.update(_metrics(value, prefix=f"{name}/"))
        elif getattr(value, "size", None) == 1 and hasattr(value, "item"):  # numpy / torch scalars
            out[name] = value
    return out


class SeeTrainLoggerCallback(LoggerCallback):
    """Ray Tune logger callback: one SeeTrain run per trial, grouped under the experiment.

    ``project``, ``experiment_name`` (default: Tune's experiment name, also the group),
    ``description``, ``config``, ``tags``, ``logdir``, ``mode`` ... go to ``seetrain.init``;
    ``integration=`` binds the callback to an experiment run made with ``init_ray_tune``.
    Trial runs skip the system monitor and console capture: the experiment run has them.

    ``best_checkpoint_metric="loss"`` (with ``best_checkpoint_mode="min"`` or ``"max"``): when the
    experiment ends, the latest checkpoint of the trial whose last result is best on that metric
    is stored in the experiment run as the artifact ``<experiment>-best`` (alias ``best``).
    """

    def __init__(self, project: str | None = None, experiment_name: str | None = None,
                 description: str | None = None, config: Any = None, tags: list[str] | None = None,
                 integration: Integration | None = None, best_checkpoint_metric: str | None = None,
                 best_checkpoint_mode: str = "min", **init_kwargs: Any) -> None:
        self._kwargs = {"project": project, "experiment_name": experiment_name, "description": description,
                        "config": config, "tags": tags, **init_kwargs}
        self._best = (best_checkpoint_metric, best_checkpoint_mode)
        self._bound = integration
        self._reset_state()

    def _reset_state(self) -> None:
        self._lazy = LazyIntegration(RayTuneIntegration, self._kwargs, self._bound)
        self._setup_info: dict[str, Any] = {}
        self._trial_runs: dict[str, Any] = {}       # trial_id -> open seetrain Run
        self._trial_run_ids: dict[str, str] = {}    # trial_id -> run id, to resume a restarted trial
        self._ended = 0
        self._states: Counter[str] = Counter()

    # Tune saves its run config (callbacks included) with the experiment state; open runs,
    # threads and locks must not go into that pickle, and a restored callback starts clean.
    def __getstate__(self) -> dict[str, Any]:
        return {"_kwargs": self._kwargs, "_best": self._best}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._kwargs = state["_kwargs"]
        self._best = state.get("_best", (None, "min"))
        self._bound = None
        self._reset_state()

    # ---- the experiment run --------------------------------------------------------------------
    @property
    def integration(self) -> Integration:
        """The experiment's Integration (created on first use)."""
        return self._lazy.get()

    def _experiment(self, trial: Trial | None = None) -> Integration:
        name = None
        if trial is not None:
            name = self._kwargs.get("experiment_name") or getattr(trial, "experiment_dir_name", None)
        if name:
            return self._lazy.get(experiment_name=name, group=name)
        return self._lazy.get()

    def _group(self, integration: Integration) -> str | None:
        run = integration.run
        return getattr(run, "group", None) or getattr(run, "name", None)

    def setup(self, *args: Any, **info: Any) -> None:
        """Tune passes the stopping criteria and sample counts here, before any trial starts."""
        self._setup_info = {k: v for k, v in info.items()
                            if isinstance(v, (int, float, str, bool, dict, type(None)))}

    # ---- trials --------------------------------------------------------------------------------
    def log_trial_start(self, trial: Trial) -> None:
        integration = self._experiment(trial)
        if self._setup_info:
            integration.update_config({"tune": self._setup_info})
            self._setup_info = {}
        integration.guard(self._open_trial_run, integration, trial)

    def _open_trial_run(self, integration: Integration, trial: Trial) -> None:
        if not integration.enabled or trial.trial_id in self._trial_runs:
            return
        parent = integration.run
        config = {**dict(trial.config or {}),
                  "trial": {"id": trial.trial_id, "name": str(trial), "experiment": self._group(integration)},
                  "framework": integration.get_config().get("framework")}
        resume = self._trial_run_ids.get(trial.trial_id)
        # integration.enabled: parent is a real Run, not a DisabledRun
        run = seetrain.init(project=parent.project, logdir=parent.settings.logdir, mode=parent.mode,  # type: ignore[union-attr]
                            experiment_name=str(trial), group=self._group(integration), config=config,
                            tags=[integration.name, "trial", *(self._kwargs.get("tags") or [])],
                            resume=resume, reinit="create_new", system_monitor=False, capture_console=False)
        run.set_metadata(ray_tune={"trial_id": trial.trial_id, "path": getattr(trial, "path", None)})
        self._trial_runs[trial.trial_id] = run
        self._trial_run_ids[trial.trial_id] = run.id

    def log_trial_restore(self, trial: Trial) -> None:
        self.log_trial_start(trial)

    def log_trial_result(self, iteration: int, trial: Trial, result: dict[str, Any]) -> None:
        """``iteration`` is Tune's loop counter; the trial's own step is ``training_iteration``."""
        integration = self._experiment(trial)
        if trial.trial_id not in self._trial_runs:
            integration.guard(self._open_trial_run, integration, trial)
        run = self._trial_runs.get(trial.trial_id)
        if run is None:
            return
        step = result.get("training_iteration")
        integration.guard(run.log, _metrics(result), step=step if isinstance(step, int) else None)
        integration.stats["records_sent"] += 1

    def log_trial_end(self, trial: Trial, failed: bool = False) -> None:
        integration = self._experiment(trial)
        run = self._trial_runs.pop(trial.trial_id, None)
        status = "failed" if failed else "finished"
        if run is not None:
            if failed:
                integration.guard(run.set_metadata, ray_tune_error=_error_text(trial))
            integration.guard(run.finish, status=status)
        self._states["failed" if failed else "finished"] += 1
        last = _metrics(getattr(trial, "last_result", None) or {})
        integration.log({**{f"trials/{k}": v for k, v in self._states.items()},
                         **{f"final/{k}": v for k, v in last.items()}}, step=self._ended)
        integration.log_event("ray_trial", {"trial_id": trial.trial_id, "name": str(trial), "status": status,
                                            "config": _plain(trial.config), "final": last,
                                            "run_id": self._trial_run_ids.get(trial.trial_id)},
                              key="ray_tune/trials", step=self._ended)
        self._ended += 1

    # ---- end of the experiment ---------------------------------------------------------------
    def on_experiment_end(self, trials: list[Trial], **info: Any) -> None:
        """Close trial runs Tune never ended, then the experiment run if this callback made it."""
        integration = self._lazy.created
        if integration is None:
            return
        for trial_id, run in list(self._trial_runs.items()):
            integration.guard(run.finish, status="aborted")
            self._trial_runs.pop(trial_id, None)
        statuses = Counter(str(getattr(t, "status", "unknown")).lower() for t in trials)
        integration.update_config({"tune_result": {"n_trials": len(trials), "statuses": dict(statuses)}})
        if self._best[0] and integration.enabled:
            integration.guard(self._log_best_checkpoint, integration, trials)
        self._lazy.finish("finished")

    def _log_best_checkpoint(self, integration: Integration, trials: list[Trial]) -> None:
        metric, mode = self._best
        scored = []
        for trial in trials:
            value = (getattr(trial, "last_result", None) or {}).get(metric)
            path = getattr(getattr(trial, "checkpoint", None), "path", None)
            if isinstance(value, numbers.Real) and path and os.path.isdir(path):
                scored.append((float(value), trial, path))
        if not scored:
            return
        value, trial, path = (max if mode == "max" else min)(scored, key=lambda item: item[0])
        from seetrain.artifacts.manifest import name_from_path

        integration.run.log_artifact(path, name=f"{name_from_path(self._group(integration) or 'tune')}-best",
                                     type="model", aliases=["best"],
                                     metadata={"trial_id": trial.trial_id, "trial": str(trial), metric: value,
                                               "mode": mode, "config": _plain(trial.config)})

    def finish(self, status: str = "finished") -> None:
        """Close every open run this callback made, and the bound hub integration's (for use
        outside ``Tuner.fit``)."""
        integration = self._lazy.created
        for run in self._trial_runs.values():
            if integration is not None:
                integration.guard(run.finish, status=status)
        self._trial_runs.clear()
        self._lazy.finish(status, bound="finish")


def _error_text(trial: Trial) -> str | None:
    """The trial's error trace: Tune writes it next to the trial in the driver first, and syncs
    it to storage only later, so the local copy is read before asking storage."""
    filename = getattr(getattr(trial, "run_metadata", None), "error_filename", None)
    local = getattr(trial, "local_path", None)
    if filename and local and os.path.isfile(os.path.join(local, filename)):
        with open(os.path.join(local, filename), encoding="utf-8", errors="replace") as fh:
            return fh.read()[-4000:]
    try:
        error = trial.get_error()
    except Exception as exc:  # noqa: BLE001 - remote storage may not have it yet
        log.debug("seetrain[ray_tune]: no error for trial %s: %s", trial.trial_id, exc)
        return None
    return None if error is None else f"{type(error).__name__}: {error}"[-4000:]


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value if isinstance(value, (bool, int, float, str, type(None))) else repr(value)
