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


_BUILTIN = [
    AdapterSpec("pytorch_lightning", "callback", "integrations.lightning:LightningIntegration",
                ("lightning", "pytorch_lightning"), "lightning", "2.0", "Lightning Logger"),
    AdapterSpec("keras", "callback", "integrations.keras:KerasIntegration", ("keras",), "keras", "3.0",
                "keras.callbacks.Callback"),
    AdapterSpec("transformers", "callback", "integrations.transformers:TransformersIntegration",
                ("transformers",), "transformers", "4.36", "Trainer callback, report_to='seetrain'"),
    AdapterSpec("ultralytics", "callback", "integrations.ultralytics:UltralyticsIntegration",
                ("ultralytics",), "ultralytics", "8.1", "YOLO callbacks"),
    AdapterSpec("accelerate", "tracker", "integrations.accelerate:AccelerateIntegration",
                ("accelerate",), "accelerate", "0.30", "Accelerate GeneralTracker"),
    AdapterSpec("ray_tune", "tracker", "integrations.ray_tune:RayTuneIntegration", ("ray",), "ray", "2.9",
                "Ray Tune LoggerCallback"),
    AdapterSpec("optuna", "tracker", "integrations.optuna:OptunaIntegration", ("optuna",), "optuna", "3.5",
                "Optuna study callback"),
    AdapterSpec("wandb", "tracker", "integrations.wandb:WandbIntegration", ("wandb",), "wandb", "0.16",
                "mirror of wandb.init/log/config/finish"),
    AdapterSpec("mmengine", "visbackend", "integrations.mmengine:MMEngineIntegration", ("mmengine",),
                "mmengine", "0.10", "MMEngine VisBackend"),
    AdapterSpec("mmdetection", "visbackend", "integrations.mmengine:MMDetectionIntegration", ("mmengine",),
                "mmdetection", "0.10", "MMEngine VisBackend tagged mmdetection"),
    AdapterSpec("tensorboard", "visbackend", "integrations.tensorboard:TensorBoardIntegration",
                ("tensorboardX", "torch"), "tensorboard", "2.0", "mirror of SummaryWriter"),
    AdapterSpec("mlflow", "visbackend", "integrations.mlflow:MLflowIntegration", ("mlflow",), "mlflow", "2.10",
                "mirror of mlflow fluent logging"),
    AdapterSpec("openai", "autolog", "integrations.openai:OpenAIAutolog", ("openai",), "openai", "1.30",
                "autolog of chat.completions"),
    AdapterSpec("zhipuai", "autolog", "integrations.zhipuai:ZhipuAIAutolog", ("zhipuai",), "zhipuai", "2.1",
                "autolog of chat.completions"),
    AdapterSpec("anthropic", "autolog", "integrations.anthropic:AnthropicAutolog", ("anthropic",), "anthropic",
                "0.30", "autolog of messages.create/stream"),
    AdapterSpec("xgboost", "callback", "integrations.xgboost:XGBoostIntegration", ("xgboost",), "xgboost", "2.0",
                "xgb.train TrainingCallback"),
    AdapterSpec("lightgbm", "callback", "integrations.lightgbm:LightGBMIntegration", ("lightgbm",), "lightgbm",
                "4.0", "lgb.train callback"),
    AdapterSpec("stable_baselines3", "callback", "integrations.stable_baselines3:StableBaselines3Integration",
                ("stable_baselines3",), "sb3", "2.0", "SB3 BaseCallback + logger writer"),
    AdapterSpec("catboost", "callback", "integrations.catboost:CatBoostIntegration", ("catboost",), "catboost",
                "1.2", "CatBoost after_iteration callback"),
    AdapterSpec("sklearn", "tracker", "integrations.sklearn:SklearnIntegration", ("sklearn",), "sklearn", "1.3",
                "fit/score recorder and model summary"),
    AdapterSpec("hydra", "tracker", "integrations.hydra:HydraIntegration", ("omegaconf",), "hydra", "2.1",
                "DictConfig / Hydra job config as the run config; Hydra callback"),
    AdapterSpec("peft", "callback", "integrations.peft:PeftIntegration", ("peft",), "peft", "0.10",
                "adapter config in the run config (HF callback)"),
    AdapterSpec("trl", "callback", "integrations.trl:TRLIntegration", ("trl",), "trl", "0.12",
                "SFT/DPO/GRPO trainers through the HF callback"),
    AdapterSpec("sentence_transformers", "callback",
                "integrations.sentence_transformers:SentenceTransformersIntegration", ("sentence_transformers",),
                "sentence-transformers", "3.0", "SentenceTransformerTrainer through the HF callback"),
    AdapterSpec("mistral", "autolog", "integrations.mistral:MistralAutolog", ("mistralai",), "mistral", "1.0",
                "autolog of chat.complete/stream"),
    AdapterSpec("ollama", "autolog", "integrations.ollama:OllamaAutolog", ("ollama",), "ollama", "0.4",
                "autolog of Client.chat (streaming, tools)"),
    AdapterSpec("google_genai", "autolog", "integrations.google_genai:GoogleGenAIAutolog", ("google.genai",),
                "google-genai", "1.0", "autolog of models.generate_content(_stream)"),
    AdapterSpec("cohere", "autolog", "integrations.cohere:CohereAutolog", ("cohere",), "cohere", "5.0",
                "autolog of ClientV2.chat/chat_stream"),
    AdapterSpec("dashscope", "autolog", "integrations.dashscope:DashScopeAutolog", ("dashscope",), "dashscope",
                "1.20", "autolog of Generation.call"),
    AdapterSpec("torch", "autolog", "integrations.torch_autolog:TorchIntegration", ("torch",), "torch", "2.0",
                "loss at every backward(), lr at every optimizer.step() (autolog_torch)"),
    AdapterSpec("paddle", "callback", "integrations.paddle:PaddleIntegration", ("paddle",), "paddle", "2.5",
                "paddle.Model.fit callback"),
    AdapterSpec("visualdl", "visbackend", "integrations.visualdl:VisualDLIntegration", ("visualdl",), "visualdl",
                "2.4", "mirror of visualdl.LogWriter"),
    AdapterSpec("fastai", "callback", "integrations.fastai:FastaiIntegration", ("fastai",), "fastai", "2.7",
                "Learner callback (vision lane: needs torchvision)"),
    AdapterSpec("timm", "tracker", "integrations.timm:TimmIntegration", ("timm",), "timm", "0.9",
                "model config + timm train.py epoch summaries (vision lane)"),
]

_REGISTRY: dict[str, AdapterSpec] = {spec.name: spec for spec in _BUILTIN}
# Other names users reach for: the module is integrations/lightning.py and the extra is
# seetrain[lightning], so "lightning" finds the Lightning row as well.
ALIASES = {"lightning": "pytorch_lightning", "pl": "pytorch_lightning", "hf": "transformers",
           "huggingface": "transformers", "sb3": "stable_baselines3", "scikit-learn": "sklearn", "omegaconf": "hydra", "mistralai": "mistral", "gemini": "google_genai", "pytorch": "torch", "qwen": "dashscope", "google-genai": "google_genai", "tensorboardx": "tensorboard", "ray": "ray_tune"}
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
