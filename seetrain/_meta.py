"""Run metadata gathered automatically. Frameworks are read from ``sys.modules`` only:
looking a framework up must never import it."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
from typing import Any

KNOWN_FRAMEWORKS = (
    "torch", "lightning", "pytorch_lightning", "transformers", "accelerate", "keras", "tensorflow",
    "jax", "mmengine", "mmdet", "ultralytics", "ray", "optuna", "wandb", "mlflow", "tensorboardX",
    "tensorboard", "openai", "anthropic", "zhipuai", "numpy", "sklearn", "xgboost", "lightgbm",
)


def framework_versions() -> dict[str, str]:
    found = {}
    for name in KNOWN_FRAMEWORKS:
        mod = sys.modules.get(name)
        if mod is not None:
            found[name] = str(getattr(mod, "__version__", "unknown"))
    return found


def static_metadata() -> dict[str, Any]:
    """Cheap facts, collected on the caller's thread at init."""
    return {
        "hostname": socket.gethostname(),
        "pid": os.getpid(),
        "python": sys.version.split()[0],
        "python_executable": sys.executable,
        "platform": platform.platform(),
        "command": [sys.argv[0] if sys.argv else "", *sys.argv[1:]],
        "cwd": os.getcwd(),
        "user": os.environ.get("USER") or os.environ.get("USERNAME"),
        "frameworks": framework_versions(),
    }


def git_metadata(cwd: str | None = None) -> dict[str, Any]:
    """Commit, branch and dirty flag when run inside a git work tree; {} otherwise.
    Called from the writer thread so a slow git never delays ``init``."""
    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=5)
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if not commit:
        return {}
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "branch": git("rev-parse", "--abbrev-ref", "HEAD"),
            "dirty": bool(status), "remote": git("config", "--get", "remote.origin.url")}
