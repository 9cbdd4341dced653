"""SeeTrain: experiment tracking with a multi-framework integration hub.

``import seetrain`` stays light: no ML framework, no numpy, no web server is imported here.
"""

from __future__ import annotations

from typing import Any

from seetrain._current_run import (
    config,
    finish,
    get_run,
    init,
    log,
    log_artifact,
    log_audio,
    log_image,
    log_scalar,
    log_text,
    update_config,
    use_artifact,
)
from seetrain._disabled import DisabledRun
from seetrain._errors import (
    InvalidValueError,
    NotInitializedError,
    RunFinishedError,
    RunInUseError,
    SeeTrainError,
    SeeTrainWarning,
)
from seetrain._media import Audio, Histogram, Image, Text
from seetrain._run import Run

__version__ = "0.1.0"

__all__ = [
    "Api", "Audio", "DisabledRun", "Histogram", "Image", "InvalidValueError", "NotInitializedError",
    "Run", "RunFinishedError", "RunInUseError", "SeeTrainError", "SeeTrainWarning", "Text", "__version__", "config",
    "finish", "get_run", "init", "log", "log_audio", "log_image", "log_scalar", "log_text",
    "update_config", "watch", "unwatch", "watch_attention", "monitor", "autolog_torch",
    "timer", "timing_summary", "autolog", "log_graph", "log_artifact", "use_artifact",
]

# Heavier parts load on first use so that ``import seetrain`` stays in the tens of milliseconds.
_LAZY = {
    "Api": ("seetrain.api", "Api"),
    "watch": ("seetrain.insight.watch", "watch"),
    "unwatch": ("seetrain.insight.watch", "unwatch"),
    "watch_attention": ("seetrain.insight.attention", "watch_attention"),
    "monitor": ("seetrain.run_decorator", "monitor"),
    "autolog_torch": ("seetrain.autologging", "autolog_torch"),
    "timer": ("seetrain.insight.timing", "timer"),
    "timing_summary": ("seetrain.insight.timing", "timing_summary"),
    "autolog": ("seetrain.autologging", "autolog"),
    "log_graph": ("seetrain.insight.graph", "log_graph"),
}


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'seetrain' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(target[0]), target[1])
    globals()[name] = value
    return value
