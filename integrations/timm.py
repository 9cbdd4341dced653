"""timm (PyTorch Image Models): a model's config in the run, and timm's training-script summaries.

    import timm
    from integrations.timm import log_timm_model, sync_timm, unsync_timm

    sync_timm(project="p")                         # or integrations.main.init_timm(project="p")
    model = timm.create_model("resnet18", num_classes=10)   # its config goes to the run
    ...
    timm.utils.update_summary(epoch, train_metrics, eval_metrics, "summary.csv", lr=lr)  # mirrored
    unsync_timm()                                  # originals back, run finished

``log_timm_model(model)`` (no mirror needed) writes config ``timm.model``: architecture, tag,
class, ``num_classes``, ``num_features``, parameter counts, the pretrained config (input size,
mean/std, interpolation, crop, hub id) and the data config timm resolves for it. With the mirror
on, every ``timm.create_model`` does that, and every ``timm.utils.update_summary`` (what timm's
``train.py`` calls once per epoch, writing ``summary.csv``) also logs ``train/<metric>``,
``eval/<metric>`` and ``lr`` at step = epoch; the CSV is written as before. See
docs/integrations/timm.md.
"""

from __future__ import annotations

import importlib
import logging
import numbers
import sys
from collections.abc import Callable, Mapping
from typing import Any

from integrations._base import Integration
from integrations._mirror import MirrorStack, PatchSet, Target
from integrations._numbers import real_number
from integrations._patching import when_imported

__all__ = ["TimmIntegration", "log_timm_model", "sync_timm", "timm_model_config", "unsync", "unsync_timm"]

log = logging.getLogger("seetrain")

_patches = PatchSet("timm")
_mirrors = MirrorStack("timm", _patches)

# The pretrained-config fields a user compares runs by (urls, licenses, paper ids left out).
PRETRAINED_FIELDS = ("architecture", "tag", "hf_hub_id", "input_size", "test_input_size", "interpolation",
                     "crop_pct", "crop_mode", "mean", "std", "num_classes", "pool_size", "first_conv",
                     "classifier")


def _json(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        return [_json(v) for v in value]
    if isinstance(value, (str, bool)) or value is None:
        return value
    if isinstance(value, numbers.Real):
        return value
    return str(value)


def timm_model_config(model: Any) -> dict[str, Any]:
    """What ``log_timm_model`` records for ``model`` (a timm model, or any ``torch.nn.Module``)."""
    total = sum(int(p.numel()) for p in model.parameters())
    trainable = sum(int(p.numel()) for p in model.parameters() if p.requires_grad)
    cfg = dict(getattr(model, "pretrained_cfg", None) or getattr(model, "default_cfg", None) or {})
    out: dict[str, Any] = {"class": type(model).__name__, "architecture": cfg.get("architecture"),
                           "tag": cfg.get("tag"), "num_classes": getattr(model, "num_classes", None),
                           "num_features": getattr(model, "num_features", None),
                           "total_params": total, "trainable_params": trainable,
                           "pretrained_cfg": {k: _json(cfg[k]) for k in PRETRAINED_FIELDS if k in cfg}}
    if cfg:
        from timm.data import resolve_data_config

        out["data_config"] = {k: _json(v) for k, v in resolve_data_config({}, model=model).items()}
    return out


def log_timm_model(model: Any, run: Any = None) -> dict[str, Any] | None:
    """Record ``model``'s config as config ``timm.model`` of ``run`` (default: the current run).
    Returns what was recorded, or None without a run. Never raises into the script."""
    if run is None:
        import seetrain

        run = seetrain.get_run()
    if run is None or getattr(run, "finished", False):
        return None
    try:
        values = timm_model_config(model)
        run.update_config({"timm": {**(run.config.get("timm") or {}), "model": values}})
        run.set_metadata(model={"class": values["class"], "architecture": values["architecture"],
                                "total_params": values["total_params"],
                                "trainable_params": values["trainable_params"]})
        return values
    except Exception as exc:  # noqa: BLE001 - a model SeeTrain cannot describe is not the user's error
        log.warning("seetrain[timm]: could not record the model config (%s: %s)", type(exc).__name__, exc)
        return None


# ---- the patches ---------------------------------------------------------------------------------
def _summary_wrapper(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
    integration = current_integration()
    result = wrapped(*args, **kwargs)  # the CSV first: SeeTrain records what timm wrote
    if integration is not None and integration.enabled:
        integration.guard(integration.record_summary, *args, **kwargs)
    return result


def _create_wrapper(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
    model = wrapped(*args, **kwargs)
    integration = current_integration()
    if integration is not None and integration.enabled and integration.record_models:
        integration.guard(integration.record_model, model)
    return model


# (module, attribute, wrapper, why): timm re-exports both functions; each name is wrapped.
TARGETS: tuple[tuple[str, str, Callable[..., Any], str], ...] = (
    ("timm.utils.summary", "update_summary", _summary_wrapper, "timm train.py's per-epoch summary row"),
    ("timm.utils", "update_summary", _summary_wrapper, "what train.py calls (utils.update_summary)"),
    ("timm.models._factory", "create_model", _create_wrapper, "each created model's config"),
    ("timm.models", "create_model", _create_wrapper, "from timm.models import create_model"),
    ("timm", "create_model", _create_wrapper, "timm.create_model"),
)


def _patch(module: Any) -> None:
    with _mirrors.lock:
        if not _mirrors:
            return
        for name in ("timm.utils.summary", "timm.utils", "timm.models._factory", "timm.models"):
            importlib.import_module(name)  # submodules of the timm the script imported
        _patches.apply([Target(mod, attr, wrapper, why) for mod, attr, wrapper, why in TARGETS])


def _install() -> None:
    """Patch timm now if it is imported, else when (if ever) the script imports it."""
    module = sys.modules.get("timm")
    if module is not None:
        _patch(module)
    else:
        when_imported("timm", _patch)
    _patches.active = True


def current_integration() -> TimmIntegration | None:
    """The timm mirror that records now (the latest one switched on)."""
    return _mirrors.current()


class TimmIntegration(Integration):
    """Hub entry: ``init_timm(...)`` switches the mirror on; ``finish()`` switches it off.

    Args (besides ``seetrain.init``'s): ``record_models=True`` (record each ``create_model``).
    ``get_tracker()`` returns the integration itself: ``.record_model(model)`` and
    ``.record_summary(epoch, train_metrics, eval_metrics, ...)`` are what the patches call.
    """

    name = "timm"
    mode = "tracker"

    def __init__(self, *args: Any, record_models: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.record_models = record_models
        self.models_created: list[str] = []
        _mirrors.push(self, _install)

    def get_tracker(self) -> TimmIntegration:
        return self

    def record_model(self, model: Any) -> None:
        values = log_timm_model(model, run=self.run)
        if values is not None:
            self.models_created.append(values.get("architecture") or values["class"])
            self.update_config({"timm": {**self.get_config().get("timm", {}),
                                         "models_created": list(self.models_created)}})

    def record_summary(self, epoch: int, train_metrics: Mapping[str, Any] | None,
                       eval_metrics: Mapping[str, Any] | None, filename: Any = None, lr: Any = None,
                       write_header: Any = None, log_wandb: bool = False) -> None:
        values: dict[str, float] = {"epoch": float(epoch)}
        for prefix, metrics in (("train/", train_metrics), ("eval/", eval_metrics)):
            for key, raw in (metrics or {}).items():
                value = real_number(raw)
                if value is not None:
                    values[prefix + key] = value
        lr_value = real_number(lr)
        if lr_value is not None:
            values["lr"] = lr_value
        if filename is not None and "summary_csv" not in self.get_config().get("timm", {}):
            self.update_config({"timm": {**self.get_config().get("timm", {}), "summary_csv": str(filename)}})
        self.log(values, step=int(epoch))

    def _teardown(self) -> None:
        _mirrors.remove(self)


def sync_timm(**seetrain_kwargs: Any) -> TimmIntegration:
    """Record ``timm.create_model`` configs and ``timm.utils.update_summary`` rows until
    ``unsync_timm()``. Calling it again while a mirror is on returns that mirror."""
    from integrations import main

    return _mirrors.sync(main.init_timm, **seetrain_kwargs)


def unsync_timm(status: str = "finished") -> None:
    """Switch the timm mirror off: original functions restored, run finished."""
    _mirrors.unsync_all(status)


unsync = unsync_timm
