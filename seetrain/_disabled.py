"""A run that does nothing: used for mode="disabled" and on non-zero ranks, so callers never
need ``if run is not None`` checks."""

from __future__ import annotations

from typing import Any

from seetrain._config import Config


class DisabledRun:
    mode = "disabled"
    status = "disabled"
    id = "disabled"
    name = "disabled"
    project = "disabled"
    dir = None
    finished = False
    step = 0
    summary: dict[str, Any] = {}

    def __init__(self, config: Any = None, **_: Any) -> None:
        from seetrain._config import normalize_config

        self.config = Config(normalize_config(config))

    def _noop(self, *args: Any, **kwargs: Any) -> None:
        return None

    log = log_scalar = log_image = log_audio = log_text = log_event = log_console = log_side = _noop
    set_metadata = set_name = add_tags = on_finish = _noop
    log_artifact = use_artifact = _noop

    def update_config(self, values: Any = None, **kwargs: Any) -> None:
        self.config.update(values, **kwargs)

    def flush(self, timeout: float = 0.0) -> bool:
        return True

    def finish(self, *args: Any, **kwargs: Any) -> None:
        self.finished = True

    def get_stats(self) -> dict[str, Any]:
        return {}

    def __enter__(self) -> DisabledRun:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.finish()
