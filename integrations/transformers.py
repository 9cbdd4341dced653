"""HF Transformers: ``Trainer(callbacks=[SeeTrainCallback(project="p")])``.

Importing this module also registers the callback as ``report_to="seetrain"``:
``TrainingArguments(report_to=["seetrain"])``. It is not part of ``report_to="all"``, which
Transformers computes from its own list of installed integrations.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from typing import Any

from transformers import TrainerCallback

from integrations._artifacts import CheckpointArtifacts, log_model_setting
from integrations._base import Integration
from integrations._binding import LazyIntegration, current_run_integration
from integrations._patching import Target
from seetrain import _settings

__all__ = ["SeeTrainCallback", "TransformersIntegration", "REPORT_TO_NAME"]

log = logging.getLogger("seetrain")
REPORT_TO_NAME = "seetrain"
# Logged once at the end of train(): kept as they are, not prefixed with "train/".
_FINAL_KEYS = ("train_runtime", "train_samples_per_second", "train_steps_per_second", "total_flos", "train_loss")


class TransformersIntegration(Integration):
    """Hub entry for Transformers: ``init_transformers(...).get_callback()`` is a SeeTrainCallback."""

    name = "transformers"
    mode = "callback"

    def get_callback(self) -> SeeTrainCallback:
        return SeeTrainCallback(integration=self)


class SeeTrainCallback(TrainerCallback):
    """A ``TrainerCallback`` writing to a SeeTrain run.

    Logs every ``on_log`` at ``state.global_step`` with W&B-style keys (``loss`` ->
    ``train/loss``, ``eval_loss`` -> ``eval/loss``, ``test_x`` -> ``test/x``); records the
    ``TrainingArguments``, the model config and the parameter count as config when training
    begins; records checkpoints; finishes the run at the end of training if it created it (a
    later ``trainer.evaluate()`` reopens and continues the same run).

    Args:
        project, experiment_name, description, config, tags, logdir, mode: as in ``seetrain.init``
            (default name: ``args.run_name``).
        log_all_ranks: log from every process as grouped runs instead of the main process only.
        log_model: store the model as versions of the artifact ``model-<run id>``: ``"checkpoint"``
            logs each ``checkpoint-<step>`` folder when the Trainer saves it, ``"end"`` logs the
            final model (``save_pretrained`` plus the processing class) when training ends; the
            best checkpoint (``load_best_model_at_end``) gets the ``best`` alias. Default: the
            ``SEETRAIN_LOG_MODEL`` environment variable, else off.
        integration: bind to an existing ``TransformersIntegration``.
    """

    def __init__(self, project: str | None = None, experiment_name: str | None = None,
                 description: str | None = None, config: Any = None, tags: list[str] | None = None,
                 logdir: str | os.PathLike[str] | None = None, mode: str | None = None,
                 log_all_ranks: bool = False, integration: TransformersIntegration | None = None,
                 log_model: bool | str | None = None, **init_kwargs: Any) -> None:
        kwargs = {"project": project, "experiment_name": experiment_name, "description": description,
                  "config": config, "tags": tags, "mode": mode, "log_all_ranks": log_all_ranks or None,
                  "logdir": os.fspath(logdir) if logdir is not None else None, **init_kwargs}
        self._lazy = LazyIntegration(TransformersIntegration, kwargs, integration)
        self._configured = False
        setting = log_model_setting(_settings.setting("SEETRAIN_LOG_MODEL") if log_model is None else log_model)
        self._log_model = "end" if setting is True else setting  # W&B's legacy "true" means "end"
        self._model_artifacts: CheckpointArtifacts | None = None

    @property
    def integration(self) -> Integration | None:
        """The run's Integration once training started (None before)."""
        return self._lazy.created

    def _session(self, args: Any, state: Any) -> Integration:
        run_name = getattr(args, "run_name", None)
        output_dir = getattr(args, "output_dir", None)
        if run_name and output_dir and run_name == output_dir:
            run_name = None  # older versions default run_name to output_dir: not a name
        integration = self._lazy.get(rank_zero=bool(getattr(state, "is_world_process_zero", True)),
                                     experiment_name=run_name)
        return integration

    # ---- Trainer events -------------------------------------------------------------------------
    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        integration = self._session(args, state)
        if integration.enabled and not self._configured:
            self._configured = True
            integration.guard(self._record_setup, integration, args, state, model)

    def _record_setup(self, integration: Integration, args: Any, state: Any, model: Any) -> None:
        integration.update_config(_training_args(args))
        if model is None:
            return
        model_config = getattr(model, "config", None)
        to_dict = getattr(model_config, "to_dict", None)
        values: dict[str, Any] = {}
        if callable(to_dict):
            values["model_config"] = to_dict()
        total, trainable = _parameter_counts(model)
        values["model_parameters"] = total
        if "peft" in sys.modules and hasattr(model, "peft_config"):
            # A PeftModel (LoRA ...): its adapter config belongs with the run's config.
            from integrations._peft_config import peft_summary

            values["peft"] = peft_summary(model)
        integration.update_config(values)
        integration.run.set_metadata(model={"class": type(model).__name__, "total_params": total,
                                            "trainable_params": trainable})

    def _log_at_global_step(self, args: Any, state: Any, values: Mapping[str, Any] | None) -> None:
        if not values:
            return
        integration = self._session(args, state)
        if integration.enabled:
            integration.log(rewrite_logs(values), step=int(state.global_step))

    def on_log(self, args: Any, state: Any, control: Any, logs: Mapping[str, Any] | None = None,
               **kwargs: Any) -> None:
        self._log_at_global_step(args, state, logs)

    def on_predict(self, args: Any, state: Any, control: Any, metrics: Mapping[str, Any] | None = None,
                   **kwargs: Any) -> None:
        # Trainer.predict() reports its metrics (test_* by default) only through this event.
        self._log_at_global_step(args, state, metrics)

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        integration = self._session(args, state)
        if not integration.enabled:
            return
        path = os.path.join(str(args.output_dir), f"checkpoint-{state.global_step}")
        integration.log_event("checkpoint", {
            "path": path, "global_step": int(state.global_step),
            "best_model_checkpoint": getattr(state, "best_model_checkpoint", None),
            "best_metric": getattr(state, "best_metric", None)}, step=int(state.global_step))
        if self._log_model == "checkpoint":
            integration.guard(self._log_checkpoint, integration, path, state)

    def _artifacts(self, integration: Integration) -> CheckpointArtifacts:
        if self._model_artifacts is None or self._model_artifacts.run is not integration.run:
            self._model_artifacts = CheckpointArtifacts(integration.run, guard=integration.guard)
        return self._model_artifacts

    def _log_checkpoint(self, integration: Integration, path: str, state: Any) -> None:
        artifacts = self._artifacts(integration)
        best = getattr(state, "best_model_checkpoint", None)
        aliases = [f"checkpoint-{state.global_step}", *(["best"] if best == path else [])]
        artifacts.log(path, aliases, _state_metadata(state))
        if best and best != path and os.path.normpath(best) in artifacts.versions and best != artifacts.best_path:
            artifacts.alias(os.path.normpath(best), ["best"])

    def _log_final_model(self, integration: Integration, args: Any, state: Any, model: Any,
                         processing_class: Any) -> None:
        import tempfile

        save = getattr(model, "save_pretrained", None)
        if not callable(save):
            return
        best = bool(getattr(args, "load_best_model_at_end", False) and getattr(state, "best_model_checkpoint", None))
        with tempfile.TemporaryDirectory(prefix="seetrain-model-") as tmp:
            save(tmp)
            if processing_class is not None and callable(getattr(processing_class, "save_pretrained", None)):
                processing_class.save_pretrained(tmp)
            self._artifacts(integration).log(tmp, ["end", *(["best"] if best else [])],
                                             {**_state_metadata(state), "model_class": type(model).__name__})

    def on_train_end(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        integration = self._lazy.created
        if integration is not None and integration.enabled and bool(getattr(state, "is_world_process_zero", True)):
            if self._log_model == "end":
                integration.guard(self._log_final_model, integration, args, state, model,
                                  kwargs.get("processing_class") or kwargs.get("tokenizer"))
            elif self._log_model == "checkpoint" and getattr(state, "best_model_checkpoint", None):
                self._artifacts(integration).alias(os.path.normpath(state.best_model_checkpoint), ["best"])
        self._lazy.finish("finished")
        self._configured = False


def _state_metadata(state: Any) -> dict[str, Any]:
    return {"global_step": int(getattr(state, "global_step", 0) or 0), "epoch": getattr(state, "epoch", None),
            "best_metric": getattr(state, "best_metric", None),
            "best_model_checkpoint": getattr(state, "best_model_checkpoint", None)}


def rewrite_logs(logs: Mapping[str, Any]) -> dict[str, float]:
    """HF log keys to grouped keys; drops the non-numeric entries HF sometimes logs."""
    out: dict[str, float] = {}
    for key, value in logs.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            if not hasattr(value, "item"):
                continue
            try:
                value = float(value.item())  # type: ignore[union-attr]  # not a bool: hasattr skipped those
            except (TypeError, ValueError):
                continue
        if key in _FINAL_KEYS:
            out[key] = value
        elif key.startswith("eval_"):
            out["eval/" + key[5:]] = value
        elif key.startswith("test_"):
            out["test/" + key[5:]] = value
        else:
            out["train/" + key] = value
    return out


def _training_args(args: Any) -> dict[str, Any]:
    for name in ("to_dict", "to_sanitized_dict"):
        method = getattr(args, name, None)
        if callable(method):
            return dict(method())
    return dict(vars(args))


def _parameter_counts(model: Any) -> tuple[int, int]:
    params = list(model.parameters())
    return sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad)


def _register_report_to() -> None:
    """``report_to=["seetrain"]``: Transformers looks report_to names up in this dict and builds
    the callback with no arguments."""
    try:
        from transformers.integrations import integration_utils
    except ImportError as exc:
        log.debug("seetrain: transformers has no integration table (%s); use callbacks=[...]", exc)
        return
    table = getattr(integration_utils, "INTEGRATION_TO_CALLBACK", None)
    if isinstance(table, dict):
        table.setdefault(REPORT_TO_NAME, SeeTrainCallback)
    else:
        log.debug("seetrain: transformers has no INTEGRATION_TO_CALLBACK; use callbacks=[...]")


_register_report_to()


# ---- seetrain.autolog() -------------------------------------------------------------------------
def _with_callback(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
    try:
        handler = instance.callback_handler
        if not any(isinstance(cb, SeeTrainCallback) for cb in handler.callbacks):
            instance.add_callback(SeeTrainCallback(integration=current_run_integration(TransformersIntegration)))
    except Exception as exc:  # noqa: BLE001 - autolog never stops training
        logging.getLogger("seetrain").warning("seetrain: autolog could not add its HF callback: %s", exc)
    return wrapped(*args, **kwargs)


def autolog_targets() -> list[Target]:
    """``transformers.Trainer.train`` (and so every subclass: TRL's, Sentence Transformers')
    gets a ``SeeTrainCallback`` unless one is there (``report_to=["seetrain"]`` or ``callbacks=``)."""
    import transformers.trainer

    return [Target(transformers.trainer.Trainer, "train", _with_callback, "Trainer.train logs into the current run")]
