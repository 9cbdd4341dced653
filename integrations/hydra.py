"""Hydra / OmegaConf: a ``DictConfig`` (and Hydra's composed config and overrides) becomes the run
config.

Two ways in:

- ``log_config(cfg)`` from any code holding a ``DictConfig`` (``@hydra.main``, ``compose``,
  ``OmegaConf.load``): the resolved config goes into the current run's config (or ``run=``), and,
  inside a Hydra job, the job's name, overrides, output dir and config name under ``hydra``.
- ``SeeTrainHydraCallback``: a Hydra callback (``hydra.callbacks`` in the config) that starts one
  run per Hydra job before the task function runs, with the composed config as its config, and
  finishes it with the job's status; ``seetrain.log`` inside the task logs into it. In a multirun
  the jobs' runs are grouped under the sweep directory.

See docs/integrations/hydra.md.
"""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig, OmegaConf

import seetrain
from integrations._base import Integration

__all__ = ["HydraIntegration", "SeeTrainHydraCallback", "config_to_dict", "hydra_info", "log_config"]

try:
    from hydra.experimental.callback import Callback as _HydraCallback
except ImportError:  # OmegaConf alone (no Hydra): log_config still works
    _HydraCallback = object  # type: ignore[assignment,misc]


class HydraIntegration(Integration):
    """Hub entry: ``init_hydra(project=...)`` then ``integration.log_config(cfg)``."""

    name = "hydra"
    mode = "tracker"

    def log_config(self, cfg: Any) -> dict[str, Any]:
        """The resolved ``cfg`` (and Hydra's job info) into this integration's run config."""
        values = _values(cfg)
        self.update_config(values)
        return values

    def get_tracker(self) -> Any:
        return self.log_config


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """A plain dict of a ``DictConfig`` with interpolations resolved (left as written where they
    cannot be resolved), ``???`` (missing) values as None, without Hydra's own ``hydra`` node."""
    if not isinstance(cfg, DictConfig):
        return dict(cfg)
    try:
        data = OmegaConf.to_container(cfg, resolve=True, throw_on_missing=False)
    except Exception:  # noqa: BLE001 - an interpolation that cannot resolve: keep it as written
        data = OmegaConf.to_container(cfg, resolve=False, throw_on_missing=False)
    data = dict(data)  # type: ignore[arg-type]
    data.pop("hydra", None)
    return _missing_to_none(data)


def _missing_to_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _missing_to_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_missing_to_none(v) for v in value]
    return None if value == "???" else value


def hydra_info() -> dict[str, Any] | None:
    """The running Hydra job: name, overrides (task and hydra), output dir, cwd, config name,
    choices of config groups, and the sweep dir / job number in a multirun; None outside Hydra."""
    try:
        from hydra.core.hydra_config import HydraConfig
    except ImportError:
        return None
    if not HydraConfig.initialized():
        return None
    hc = HydraConfig.get()
    info: dict[str, Any] = {
        "job_name": hc.job.name,
        "overrides": list(hc.overrides.task),
        "hydra_overrides": list(hc.overrides.hydra),
        "output_dir": hc.runtime.output_dir,
        "cwd": hc.runtime.cwd,
        "config_name": hc.job.config_name,
        "choices": {str(k): v for k, v in dict(hc.runtime.choices).items() if not str(k).startswith("hydra/")},
        "mode": str(hc.mode.name) if hc.mode is not None else None,
    }
    if info["mode"] == "MULTIRUN":
        info["sweep_dir"] = hc.sweep.dir
        info["job_num"] = hc.job.num
    return info


def _values(cfg: Any) -> dict[str, Any]:
    values = config_to_dict(cfg)
    info = hydra_info()
    if info is not None:
        values["hydra"] = info
    return values


def log_config(cfg: Any, run: Any = None) -> dict[str, Any]:
    """Put the resolved ``cfg`` (and the Hydra job's info) into ``run``'s config (default: the
    current run). Returns what was written. Raises ``seetrain.NotInitializedError`` without a run."""
    values = _values(cfg)
    target = run if run is not None else seetrain.get_run()
    if target is None:
        raise seetrain.NotInitializedError("call seetrain.init() before log_config(), or pass run=")
    target.update_config(values)
    return values


class SeeTrainHydraCallback(_HydraCallback):  # type: ignore[misc,valid-type]
    """A Hydra callback: one SeeTrain run per Hydra job. In the app's config::

        hydra:
          callbacks:
            seetrain:
              _target_: integrations.hydra.SeeTrainHydraCallback
              project: my-project

    Keyword arguments go to ``seetrain.init`` (project, logdir, mode, tags ...); the run is named
    after the job (``<job name>`` or ``<job name>-<job num>`` in a multirun) unless
    ``experiment_name`` is given.
    """

    def __init__(self, **init_kwargs: Any) -> None:
        self.init_kwargs = dict(init_kwargs)
        self.integration: HydraIntegration | None = None

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        info = hydra_info() or {}
        options = dict(self.init_kwargs)
        name = info.get("job_name") or "hydra"
        if info.get("mode") == "MULTIRUN":
            name = f"{name}-{info.get('job_num')}"
            options.setdefault("group", info.get("sweep_dir"))
        options.setdefault("experiment_name", name)
        integration = self.integration = HydraIntegration.start(**options)
        # seetrain.init makes the new run the current one: seetrain.log() in the task logs into it.
        integration.guard(integration.log_config, config)

    def on_job_end(self, config: DictConfig, job_return: Any, **kwargs: Any) -> None:
        integration = self.integration
        if integration is None:
            return
        status = getattr(getattr(job_return, "status", None), "name", "COMPLETED")
        if status == "FAILED":
            error = getattr(job_return, "_return_value", None)
            integration.guard(integration.run.set_metadata, error=repr(error)[:4000])
        integration.finish("finished" if status == "COMPLETED" else "failed")
        self.integration = None
