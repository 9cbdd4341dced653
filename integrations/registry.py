"""The adapter table: a name maps to a mode and an import string, imported on first use.

A new adapter is one module plus one row here. Third-party packages can add rows through the
``seetrain.integrations`` entry-point group; the entry point must load an ``AdapterSpec``.
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import logging
import re
from dataclasses import dataclass
from typing import Any

from integrations.exceptions import FrameworkNotInstalledError, UnknownIntegrationError
from integrations.lazy import LazyModule

log = logging.getLogger("seetrain")
MODES = ("callback", "tracker", "visbackend", "autolog")
ENTRY_POINT_GROUP = "seetrain.integrations"


@dataclass(frozen=True)
class AdapterSpec:
    name: str
    mode: str
    target: str                     # "module:attribute" of the Integration class
    packages: tuple[str, ...]       # import names; the first one found is the framework
    extra: str                      # pip extra: pip install 'seetrain[extra]'
    min_version: str
    description: str = ""

    @property
    def adapter_module(self) -> LazyModule:
        """The adapter module as a ``LazyModule``: imported (with its framework) on first use."""
        return _adapter_module(self.target.partition(":")[0])


def _spec(name: str, mode: str, cls: str, min_version: str, description: str, packages: tuple[str, ...] = (),
          extra: str = "", module: str = "") -> AdapterSpec:
    """A built-in row: the adapter module, the framework's import name and the pip extra are all
    named for the adapter unless the row says otherwise."""
    return AdapterSpec(name, mode, f"integrations.{module or name}:{cls}", packages or (name,), extra or name,
                       min_version, description)


# name, mode, Integration class, minimum framework version, what the adapter hooks
_BUILTIN = [
    _spec("pytorch_lightning", "callback", "LightningIntegration", "2.0", "Lightning Logger",
          packages=("lightning", "pytorch_lightning"), extra="lightning", module="lightning"),
    _spec("keras", "callback", "KerasIntegration", "3.0", "keras.callbacks.Callback"),
    _spec("transformers", "callback", "TransformersIntegration", "4.36",
          "Trainer callback, report_to='seetrain'"),
    _spec("ultralytics", "callback", "UltralyticsIntegration", "8.1", "YOLO callbacks"),
    _spec("accelerate", "tracker", "AccelerateIntegration", "0.30", "Accelerate GeneralTracker"),
    _spec("ray_tune", "tracker", "RayTuneIntegration", "2.9", "Ray Tune LoggerCallback",
          packages=("ray",), extra="ray"),
    _spec("optuna", "tracker", "OptunaIntegration", "3.5", "Optuna study callback"),
    _spec("wandb", "tracker", "WandbIntegration", "0.16", "mirror of wandb.init/log/config/finish"),
    _spec("mmengine", "visbackend", "MMEngineIntegration", "0.10", "MMEngine VisBackend"),
    _spec("mmdetection", "visbackend", "MMDetectionIntegration", "0.10",
          "MMEngine VisBackend tagged mmdetection",
          packages=("mmengine",), module="mmengine"),
    _spec("tensorboard", "visbackend", "TensorBoardIntegration", "2.0", "mirror of SummaryWriter",
          packages=("tensorboardX", "torch")),
    _spec("mlflow", "visbackend", "MLflowIntegration", "2.10", "mirror of mlflow fluent logging"),
    _spec("openai", "autolog", "OpenAIAutolog", "1.30", "autolog of chat.completions"),
    _spec("zhipuai", "autolog", "ZhipuAIAutolog", "2.1", "autolog of chat.completions"),
    _spec("anthropic", "autolog", "AnthropicAutolog", "0.30", "autolog of messages.create/stream"),
    _spec("xgboost", "callback", "XGBoostIntegration", "2.0", "xgb.train TrainingCallback"),
    _spec("lightgbm", "callback", "LightGBMIntegration", "4.0", "lgb.train callback"),
    _spec("stable_baselines3", "callback", "StableBaselines3Integration", "2.0",
          "SB3 BaseCallback + logger writer",
          extra="sb3"),
    _spec("catboost", "callback", "CatBoostIntegration", "1.2", "CatBoost after_iteration callback"),
    _spec("sklearn", "tracker", "SklearnIntegration", "1.3", "fit/score recorder and model summary"),
    _spec("hydra", "tracker", "HydraIntegration", "2.1",
          "DictConfig / Hydra job config as the run config; Hydra callback",
          packages=("omegaconf",)),
    _spec("peft", "callback", "PeftIntegration", "0.10", "adapter config in the run config (HF callback)"),
    _spec("trl", "callback", "TRLIntegration", "0.12", "SFT/DPO/GRPO trainers through the HF callback"),
    _spec("sentence_transformers", "callback", "SentenceTransformersIntegration", "3.0",
          "SentenceTransformerTrainer through the HF callback",
          extra="sentence-transformers"),
    _spec("mistral", "autolog", "MistralAutolog", "1.0", "autolog of chat.complete/stream",
          packages=("mistralai",)),
    _spec("ollama", "autolog", "OllamaAutolog", "0.4", "autolog of Client.chat (streaming, tools)"),
    _spec("google_genai", "autolog", "GoogleGenAIAutolog", "1.0",
          "autolog of models.generate_content(_stream)",
          packages=("google.genai",), extra="google-genai"),
    _spec("cohere", "autolog", "CohereAutolog", "5.0", "autolog of ClientV2.chat/chat_stream"),
    _spec("dashscope", "autolog", "DashScopeAutolog", "1.20", "autolog of Generation.call"),
    _spec("torch", "autolog", "TorchIntegration", "2.0",
          "loss at every backward(), lr at every optimizer.step() (autolog_torch)",
          module="torch_autolog"),
    _spec("paddle", "callback", "PaddleIntegration", "2.5", "paddle.Model.fit callback"),
    _spec("visualdl", "visbackend", "VisualDLIntegration", "2.4", "mirror of visualdl.LogWriter"),
    _spec("fastai", "callback", "FastaiIntegration", "2.7",
          "Learner callback (vision lane: needs torchvision)"),
    _spec("timm", "tracker", "TimmIntegration", "0.9",
          "model config + timm train.py epoch summaries (vision lane)"),
]

_REGISTRY: dict[str, AdapterSpec] = {spec.name: spec for spec in _BUILTIN}
# Other names users reach for: the module is integrations/lightning.py and the extra is
# seetrain[lightning], so "lightning" finds the Lightning row as well.
ALIASES = {"lightning": "pytorch_lightning", "pl": "pytorch_lightning", "hf": "transformers",
           "huggingface": "transformers", "sb3": "stable_baselines3", "scikit-learn": "sklearn", "omegaconf": "hydra",
           "mistralai": "mistral", "gemini": "google_genai", "pytorch": "torch", "qwen": "dashscope",
           "google-genai": "google_genai", "tensorboardx": "tensorboard", "ray": "ray_tune"}
_entry_points_loaded = False


def register(spec: AdapterSpec) -> None:
    """Add or replace a row (third-party adapters, tests)."""
    if spec.mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {spec.mode!r}")
    _REGISTRY[spec.name] = spec


def unregister(name: str) -> AdapterSpec | None:
    """Remove a row added with :func:`register`; returns it (None when there was none)."""
    return _REGISTRY.pop(name, None)


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            spec = ep.load()
            register(spec)
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not break the hub
            log.warning("seetrain: could not load integration entry point %s: %s", ep.name, exc)


def names() -> list[str]:
    _load_entry_points()
    return sorted(_REGISTRY)


def builtin() -> list[AdapterSpec]:
    """The rows SeeTrain ships (not those added by :func:`register` or entry points), in table order."""
    return list(_BUILTIN)


def get_spec(name: str) -> AdapterSpec:
    _load_entry_points()
    spec = _REGISTRY.get(name) or _REGISTRY.get(ALIASES.get(str(name).lower(), ""))
    if spec is None:
        raise UnknownIntegrationError(name, list(_REGISTRY))
    return spec


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split(".")[:3]:
        match = re.match(r"\d+", piece)
        if not match:
            break
        parts.append(int(match.group()))
    return tuple(parts)


@functools.lru_cache(maxsize=1)
def _distributions() -> dict[str, list[str]]:
    return dict(importlib.metadata.packages_distributions())


def framework_version(package: str) -> str | None:
    """Installed version of an import name, from package metadata (no import)."""
    dist_names = _distributions().get(package, [package])
    for dist in dist_names:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def find_framework(spec: AdapterSpec) -> tuple[str, str]:
    """(import name, version) of the framework, or FrameworkNotInstalledError naming the install command."""
    found_old: tuple[str, str] | None = None
    for package in spec.packages:
        if importlib.util.find_spec(package) is None:
            continue
        version = framework_version(package) or "0"
        if _version_tuple(version) >= _version_tuple(spec.min_version) or package != spec.packages[0]:
            return package, version
        found_old = (package, version)
    raise FrameworkNotInstalledError(spec.name, spec.packages[0], spec.extra, spec.min_version,
                                     found=found_old[1] if found_old else None)


@functools.cache
def _adapter_module(module_name: str) -> LazyModule:
    return LazyModule(module_name)


def load(name: str) -> Any:
    """The Integration class for ``name``, imported now (checks the framework first)."""
    spec = get_spec(name)
    find_framework(spec)
    return getattr(spec.adapter_module, spec.target.partition(":")[2])
