"""Checkpoint files as artifact versions, shared by the adapters' ``log_model`` options.

An adapter hands over every checkpoint path its framework reports; a file is logged again only
when it was rewritten (size or mtime changed), so hooks that fire often cost a ``stat``. The
``best`` alias is moved without re-hashing when the framework's best checkpoint is one already
logged. Every call is guarded (by the integration's ``guard`` when given): a failure is
counted and logged once, never raised into training.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from seetrain import DisabledRun

log = logging.getLogger("seetrain")


def log_model_setting(value: Any) -> bool | str:
    """``log_model`` / ``SEETRAIN_LOG_MODEL`` values: False, True, ``"all"``, ``"checkpoint"``, ``"end"``."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("", "0", "false", "no", "off", "none"):
            return False
        if text in ("1", "true", "yes", "on"):
            return True
        return text
    return bool(value)


class CheckpointArtifacts:
    """Logs files as versions of one artifact (``model-<run id>`` unless named)."""

    def __init__(self, run: Any, name: str | None = None, type: str = "model",
                 guard: Callable[..., Any] | None = None) -> None:
        self.run = run
        self._guard = guard or _guard
        self.name = name or f"model-{run.id}"
        self.type = type
        self._signatures: dict[str, tuple[int, int]] = {}
        self.versions: dict[str, Any] = {}  # path -> ArtifactVersion
        self.best_path: str | None = None

    def log(self, path: str | os.PathLike[str] | None, aliases: Sequence[str] = (),
            metadata: Mapping[str, Any] | None = None) -> Any:
        """Log ``path`` (a file or folder) unless it is unchanged since it was last logged;
        returns its version (or None)."""
        if not path or isinstance(self.run, DisabledRun) or self.run.finished:
            return None
        return self._guard(self._log, os.fspath(path), list(aliases), dict(metadata or {}))

    def _log(self, path: str, aliases: list[str], metadata: dict[str, Any]) -> Any:
        if not os.path.exists(path):
            return None
        sig = _signature(path)
        if self._signatures.get(path) == sig and path in self.versions:
            if aliases:
                self.alias(path, aliases)
            return self.versions[path]
        version = self.run.log_artifact(path, name=self.name, type=self.type, aliases=aliases,
                                                    metadata=metadata)
        if version is not None:
            self._signatures[path] = sig
            self.versions[path] = version
            if "best" in aliases:
                self.best_path = path
        return version

    def alias(self, path: str, aliases: Sequence[str]) -> None:
        """Move ``aliases`` onto the version already logged for ``path``."""
        version = self.versions.get(os.fspath(path))
        if version is None:
            return
        from seetrain.artifacts.log import set_aliases

        if set_aliases(self.run, f"{version.project}/{version.name}:{version.version}", aliases):
            if "best" in aliases:
                self.best_path = os.fspath(path)


def _signature(path: str) -> tuple[int, int]:
    if os.path.isdir(path):
        newest, total = 0, 0
        for folder, _, files in os.walk(path):
            for name in files:
                st = os.stat(os.path.join(folder, name))
                newest, total = max(newest, st.st_mtime_ns), total + st.st_size
        return newest, total
    st = os.stat(path)
    return st.st_mtime_ns, st.st_size


_failed: set[str] = set()


def _guard(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    try:
        return func(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - never raise into training
        kind = type(exc).__name__
        if kind not in _failed:
            _failed.add(kind)
            log.warning("seetrain: logging a checkpoint failed: %s: %s (training continues)", kind, exc)
        return None
