"""Errors raised on purpose by the artifact store (logging never raises: it warns instead)."""

from __future__ import annotations

from seetrain._errors import SeeTrainError


class ArtifactError(SeeTrainError):
    """An artifact operation that cannot be done as asked (bad name, type mismatch, aliased version)."""


class ArtifactNotFoundError(ArtifactError, KeyError):
    """No artifact, version or alias matches the reference."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "artifact not found"


class ArtifactCorruptedError(ArtifactError):
    """A stored file no longer has the sha256 recorded when its version was committed."""

    def __init__(self, path: str, expected: str, actual: str | None, blob: str) -> None:
        self.path, self.expected, self.actual, self.blob = path, expected, actual, blob
        found = "missing" if actual is None else f"sha256 {actual}"
        super().__init__(f"artifact file {path!r} is corrupted: expected sha256 {expected}, "
                         f"stored blob {blob} is {found}")
