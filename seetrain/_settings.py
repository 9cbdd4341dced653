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
    max_queue: int


def resolve(
    mode: str | None = None,
    logdir: str | os.PathLike[str] | None = None,
    project: str | None = None,
    host: str | None = None,
) -> Settings:
    """Environment variables win over defaults; explicit arguments are overridden by the env
    variables for mode/logdir/project as the issue asks, so a launcher can redirect any script."""
    env = os.environ
    mode = (env.get("SEETRAIN_MODE") or mode or "local").lower()
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    return Settings(
        mode=mode,
        logdir=os.path.abspath(os.fspath(env.get("SEETRAIN_LOGDIR") or logdir or DEFAULT_LOGDIR)),
        project=env.get("SEETRAIN_PROJECT") or project or DEFAULT_PROJECT,
        host=host or env.get("SEETRAIN_HOST"),
        api_key=env.get("SEETRAIN_API_KEY"),
        flush_interval=float(env.get("SEETRAIN_FLUSH_INTERVAL", "0.2")),
        max_queue=int(env.get("SEETRAIN_MAX_QUEUE", "100000")),
    )
