"""Defaults that environment variables can override (SEETRAIN_MODE, SEETRAIN_LOGDIR, ...)."""

from __future__ import annotations

import os
from dataclasses import dataclass

MODES = ("local", "online", "offline", "disabled")
DEFAULT_LOGDIR = "./seetrain_logs"
DEFAULT_PROJECT = "default"


@dataclass(frozen=True)
class Settings:
    mode: str
    logdir: str
    project: str
    host: str | None
    api_key: str | None
    flush_interval: float
    finish_timeout: float = 30.0


def resolve(
    mode: str | None = None,
    logdir: str | os.PathLike[str] | None = None,
    project: str | None = None,
    host: str | None = None,
) -> Settings:
    """Explicit arguments first, then environment variables, then defaults (as in W&B)."""
    env = os.environ
    mode = (mode or env.get("SEETRAIN_MODE") or "local").lower()
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    return Settings(
        mode=mode,
        logdir=os.path.abspath(os.fspath(logdir or env.get("SEETRAIN_LOGDIR") or DEFAULT_LOGDIR)),
        project=project or env.get("SEETRAIN_PROJECT") or DEFAULT_PROJECT,
        host=host or env.get("SEETRAIN_HOST"),
        api_key=env.get("SEETRAIN_API_KEY"),
        flush_interval=float(env.get("SEETRAIN_FLUSH_INTERVAL", "0.2")),
        finish_timeout=float(env.get("SEETRAIN_FINISH_TIMEOUT", "30")),
    )
