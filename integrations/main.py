"""The unified interface of the hub.

    from integrations.main import init, log, finish, with_integration, init_pytorch_lightning
    integration = init_pytorch_lightning(project="p", experiment_name="e")
    trainer = Trainer(logger=integration.get_callback())

Every ``init_<name>`` is ``init(name, ...)``; module-level ``log`` reaches every active run
exactly once, however many integrations share it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from integrations import registry

if TYPE_CHECKING:
    from integrations._base import Integration

_active: list[Integration] = []
_lock = threading.Lock()


def _register(integration: Integration) -> None:
    with _lock:
        _active.append(integration)


def _unregister(integration: Integration) -> None:
    with _lock:
        if integration in _active:
            _active.remove(integration)


def active_integrations() -> list[Integration]:
    with _lock:
        return list(_active)


def init(name: str, **kwargs: Any) -> Integration:
    """Create the integration ``name`` (see ``integrations.registry.names()``): its framework is
    imported now, not before. Keyword arguments go to ``seetrain.init`` (project,
    experiment_name, description, config, tags, mode, logdir ...) and to the adapter."""
    cls = registry.load(name)
    return cls(**kwargs)


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


def enable_openai_autolog(**kwargs: Any) -> Integration:
    """Record every OpenAI chat completion (sync, async, streaming); ``.disable()`` undoes it."""
    return init("openai", **kwargs)


def enable_zhipuai_autolog(**kwargs: Any) -> Integration:
    """Record every ZhipuAI chat completion; ``.disable()`` undoes it."""
    return init("zhipuai", **kwargs)


def enable_anthropic_autolog(**kwargs: Any) -> Integration:
    """Record every Anthropic ``messages.create`` / ``messages.stream``; ``.disable()`` undoes it."""
    return init("anthropic", **kwargs)


__all__ = [
    "active_integrations", "enable_anthropic_autolog", "enable_openai_autolog", "enable_zhipuai_autolog",
    "finish", "init", "init_accelerate", "init_keras", "init_mlflow", "init_mmdetection", "init_mmengine",
    "init_optuna", "init_pytorch_lightning", "init_ray_tune", "init_tensorboard", "init_transformers",
    "init_ultralytics", "init_wandb", "log", "log_audio", "log_image", "log_scalar", "log_text",
    "update_config", "with_integration",
]
