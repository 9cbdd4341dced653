"""The unified interface of the hub.

    from integrations.main import init, log, finish, with_integration, init_pytorch_lightning
    integration = init_pytorch_lightning(project="p", experiment_name="e")
    trainer = Trainer(logger=integration.get_callback())

Every ``init_<name>`` is ``init(name, ...)``; module-level ``log`` reaches every active run
exactly once, however many integrations share it. The user guide is docs/integrations/hub_api.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from integrations import _active, registry
from integrations.lazy import LazyModule

if TYPE_CHECKING:
    from integrations._base import Integration

active_integrations = _active.active_integrations


def init(name: str, **kwargs: Any) -> Integration:
    """Create the integration ``name`` (see ``integrations.registry.names()``) and its run.

    The registry first checks from package metadata, without importing anything, that the
    framework is installed and new enough (``UnknownIntegrationError`` / ``FrameworkNotInstalledError``
    otherwise). Then the adapter module is imported; adapters that subclass a framework class
    (Lightning's ``Logger``, Keras' ``Callback`` ...) import their framework with it, the mirrors
    and LLM autologs import it only when they patch it. Nothing is imported before this call.

    Keyword arguments go to ``seetrain.init`` (project, experiment_name, description, config,
    tags, mode, logdir ...) and to the adapter. If the run cannot be started (e.g. ``logdir`` is
    a path SeeTrain cannot create), nothing is raised: the integration comes back on a no-op run,
    the failure is counted once in its ``get_stats()`` and in ``get_integration_error_stats()``,
    and one warning is logged.
    """
    cls = registry.load(name)
    return cls.start(**kwargs)


@contextmanager
def with_integration(name: str, **kwargs: Any) -> Iterator[Integration]:
    """``with with_integration("keras", project="p") as integration: ...`` finishes on exit,
    marking the run failed if the block raised."""
    integration = init(name, **kwargs)
    with integration:
        yield integration


def _runs() -> list[Any]:
    seen: set[int] = set()
    runs = []
    for integration in active_integrations():
        run = integration.run
        if id(run) not in seen:
            seen.add(id(run))
            runs.append((integration, run))
    return runs


def log(data: dict[str, Any], step: int | None = None) -> None:
    """Log to every active integration's run, once per run."""
    for integration, _ in _runs():
        integration.log(data, step=step)


def log_scalar(key: str, value: float, step: int | None = None) -> None:
    log({key: value}, step=step)


def log_image(key: str, image: Any, caption: str | None = None, step: int | None = None) -> None:
    from seetrain import Image

    log({key: image if isinstance(image, Image) else Image(image, caption=caption)}, step=step)


def log_audio(key: str, audio: Any, sample_rate: int = 16000, caption: str | None = None,
              step: int | None = None) -> None:
    from seetrain import Audio

    log({key: audio if isinstance(audio, Audio) else Audio(audio, sample_rate=sample_rate, caption=caption)},
        step=step)


def log_text(key: str, text: Any, caption: str | None = None, step: int | None = None) -> None:
    from seetrain import Text

    log({key: text if isinstance(text, Text) else Text(text, caption=caption)}, step=step)


def update_config(values: Any = None, **kwargs: Any) -> None:
    for integration, _ in _runs():
        integration.update_config(values, **kwargs)


def get_config(integration: Integration | str | None = None) -> dict[str, Any]:
    """The run config of an active integration as a plain dict: the one given (an object or a
    registry name), else the most recently created one; ``{}`` when none is active."""
    active = active_integrations()
    if isinstance(integration, str):
        active = [i for i in active if i.name == integration]
    elif integration is not None:
        return integration.get_config()
    return active[-1].get_config() if active else {}


def get_stats() -> dict[str, dict[str, Any]]:
    """``{"<name>#<index>": integration.get_stats()}`` for every active integration (see
    docs/integrations/hub_api.md for the fields)."""
    return {label: integration.get_stats() for label, integration in _active.labelled().items()}


def autolog(exclude: Any = None, disable: bool = False) -> dict[str, Any]:
    """``seetrain.autolog()``: see :func:`integrations.autolog.autolog`."""
    from integrations.autolog import autolog as hub_autolog

    return hub_autolog(exclude=exclude, disable=disable)


def finish(status: str = "finished") -> None:
    """Finish every active integration (each run once)."""
    for integration in active_integrations():
        integration.finish(status=status)


def _named(name: str) -> Any:
    def factory(**kwargs: Any) -> Integration:
        return init(name, **kwargs)

    factory.__name__ = f"init_{name}"
    factory.__qualname__ = factory.__name__
    factory.__doc__ = f"``init({name!r}, **kwargs)``: see :func:`init`."
    return factory


init_pytorch_lightning = _named("pytorch_lightning")
init_keras = _named("keras")
init_transformers = _named("transformers")
init_ultralytics = _named("ultralytics")
init_accelerate = _named("accelerate")
init_ray_tune = _named("ray_tune")
init_optuna = _named("optuna")
init_wandb = _named("wandb")
init_mmengine = _named("mmengine")
init_mmdetection = _named("mmdetection")
init_tensorboard = _named("tensorboard")
init_mlflow = _named("mlflow")
init_xgboost = _named("xgboost")
init_lightgbm = _named("lightgbm")
init_catboost = _named("catboost")
init_sklearn = _named("sklearn")
init_hydra = _named("hydra")
init_peft = _named("peft")
init_trl = _named("trl")
init_sentence_transformers = _named("sentence_transformers")
init_torch = _named("torch")
init_stable_baselines3 = _named("stable_baselines3")
init_paddle = _named("paddle")
init_visualdl = _named("visualdl")
init_fastai = _named("fastai")
init_timm = _named("timm")


def _autolog_enabler(name: str, what: str) -> Any:
    factory = _named(name)
    factory.__name__ = factory.__qualname__ = f"enable_{name}_autolog"
    factory.__doc__ = f"Record every {what}; ``.disable()`` undoes it (``init({name!r}, **kwargs)``)."
    return factory


enable_openai_autolog = _autolog_enabler("openai", "OpenAI chat completion (sync, async, streaming)")
enable_zhipuai_autolog = _autolog_enabler("zhipuai", "ZhipuAI chat completion")
enable_mistral_autolog = _autolog_enabler("mistral", "Mistral ``chat.complete`` / ``chat.stream`` (sync, async)")
enable_ollama_autolog = _autolog_enabler("ollama", "Ollama ``chat`` (sync, async, streaming)")
enable_google_genai_autolog = _autolog_enabler("google_genai", "Google GenAI ``generate_content(_stream)`` (sync, async)")
enable_cohere_autolog = _autolog_enabler("cohere", "Cohere v2 ``chat`` / ``chat_stream`` (sync, async)")
enable_dashscope_autolog = _autolog_enabler("dashscope", "DashScope ``Generation.call`` (streamed or not, async too)")
enable_anthropic_autolog = _autolog_enabler("anthropic", "Anthropic ``messages.create`` / ``messages.stream``")


__all__ = [
    "LazyModule", "active_integrations", "autolog", "get_config", "get_stats", "enable_anthropic_autolog", "enable_mistral_autolog", "enable_ollama_autolog", "enable_google_genai_autolog", "enable_cohere_autolog", "enable_dashscope_autolog", "enable_openai_autolog", "enable_zhipuai_autolog",
    "finish", "init", "init_accelerate", "init_catboost", "init_hydra", "init_keras", "init_lightgbm", "init_mlflow", "init_mmdetection", "init_mmengine",
    "init_optuna", "init_peft", "init_sentence_transformers", "init_torch", "init_trl", "init_pytorch_lightning", "init_ray_tune", "init_sklearn", "init_stable_baselines3", "init_tensorboard", "init_transformers",
    "init_ultralytics", "init_wandb", "init_xgboost", "init_paddle", "init_visualdl", "init_fastai", "init_timm",
    "log", "log_audio", "log_image", "log_scalar", "log_text",
    "update_config", "with_integration",
]
