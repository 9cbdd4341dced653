"""Checkpoint files as artifact versions, shared by the adapters' ``log_model`` options.

An adapter hands over every checkpoint path its framework reports; a file is logged again only
when it was rewritten (size or mtime changed), so hooks that fire often cost a ``stat``. The
``best`` alias is moved without re-hashing when the framework's best checkpoint is one already
logged. Every call is guarded by the integration: a failure is counted, never raised.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from integrations._base import Integration


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

    def __init__(self, integration: Integration, name: str | None = None, type: str = "model") -> None:
        self.integration = integration
        self.name = name or f"model-{integration.run.id}"
        self.type = type
        self._signatures: dict[str, tuple[int, int]] = {}
        self.versions: dict[str, Any] = {}  # path -> ArtifactVersion
        self.best_path: str | None = None

    def log(self, path: str | os.PathLike[str] | None, aliases: Sequence[str] = (),
            metadata: Mapping[str, Any] | None = None) -> Any:
        """Log ``path`` (a file or folder) unless it is unchanged since it was last logged;
        returns its version (or None)."""
        if not path or not self.integration.enabled:
            return None
        return self.integration.guard(self._log, os.fspath(path), list(aliases), dict(metadata or {}))

    def _log(self, path: str, aliases: list[str], metadata: dict[str, Any]) -> Any:
        if not os.path.exists(path):
            return None
        sig = _signature(path)
        if self._signatures.get(path) == sig and path in self.versions:
            if aliases:
                self.alias(path, aliases)
            return self.versions[path]
        version = self.integration.run.log_artifact(path, name=self.name, type=self.type, aliases=aliases,
                                                    metadata=metadata)
        if version is not None:
            self._signatures[path] = sig
            self.versions[path] = version
            self.integration.stats["artifact_versions"] += 1
            if "best" in aliases:
                self.best_path = path
        return version

    def alias(self, path: str, aliases: Sequence[str]) -> None:
        """Move ``aliases`` onto the version already logged for ``path``."""
        version = self.versions.get(os.fspath(path))
        if version is None:
            return
        from seetrain.artifacts.log import set_aliases

        if set_aliases(self.integration.run, f"{version.project}/{version.name}:{version.version}", aliases):
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
