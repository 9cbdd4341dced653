"""Reading artifacts back: ``seetrain.Api().artifact("project/name:alias")`` and listings."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from typing import Any

from seetrain.artifacts.blobs import hash_file, materialize
from seetrain.artifacts.errors import ArtifactCorruptedError
from seetrain.artifacts.manifest import ArtifactFile, artifacts_root, check_project, parse_ref, safe_relpath
from seetrain.artifacts.registry import Registry, VersionRow

__all__ = ["ArtifactCollection", "ArtifactFile", "ArtifactVersion", "ArtifactsApi", "get_artifact",
           "list_artifacts", "list_versions"]


class ArtifactVersion:
    """One committed, immutable version of an artifact.

    Attributes: ``project``, ``name``, ``version`` (``"v3"``), ``number`` (3), ``type``,
    ``aliases``, ``metadata``, ``description``, ``digest``, ``size``, ``files``
    (``ArtifactFile(path, size, sha256)``), ``created_by`` (run id), ``created_at``,
    ``used_by`` (run ids that called ``use_artifact`` on it).
    """

    def __init__(self, registry: Registry, project: str, row: VersionRow) -> None:
        self._registry = registry
        self.project = project
        self.id = row.id
        self.name = row.name
        self.number = row.version
        self.version = f"v{row.version}"
        self.type = row.type
        self.digest = row.digest
        self.size = row.size
        self.file_count = row.file_count
        self.metadata = row.metadata
        self.description = row.description
        self.created_by = row.created_by
        self.created_at = row.created_at
        self.aliases, self.files, self._users = registry.details(row.id)

    @property
    def qualified_name(self) -> str:
        return f"{self.project}/{self.name}:{self.version}"

    @property
    def used_by(self) -> list[str]:
        return [u["run_id"] for u in self._users]

    def blob_path(self, path: str) -> str:
        """The stored (read-only) file behind ``path``: read it, never write to it."""
        for f in self.files:
            if f.path == path:
                return self._registry.blobs.path(f.sha256)
        raise KeyError(f"{self.qualified_name} has no file {path!r}")

    def download(self, root: str | os.PathLike[str] | None = None, verify: bool = True) -> str:
        """Copy the files into ``root`` (default ``./artifacts/<name>-v<N>``) and return it.

        Each file's sha256 is checked while it is copied; a blob that changed or vanished
        since its version was committed raises :class:`ArtifactCorruptedError` (the bad file
        is not left behind). Files already in ``root`` are overwritten.
        """
        root = os.path.abspath(os.fspath(root) if root is not None else os.path.join("artifacts", f"{self.name}-{self.version}"))
        os.makedirs(root, exist_ok=True)
        for f in self.files:
            target = os.path.join(root, *safe_relpath(f.path).split("/"))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            blob = self._registry.blobs.path(f.sha256)
            tmp = f"{target}.seetrain-{secrets.token_hex(4)}"
            try:
                # A kernel copy (or reflink), then the hash of what landed in ``root``: this checks
                # the bytes the caller will read, at about the cost of sha256 + copyfile.
                materialize(blob, tmp)
                actual = hash_file(tmp)[0] if verify else f.sha256
            except FileNotFoundError:
                _unlink(tmp)
                raise ArtifactCorruptedError(f.path, f.sha256, None, blob) from None
            os.chmod(tmp, 0o644)  # the blob is read-only; the user's copy is theirs to change
            if verify and actual != f.sha256:
                _unlink(tmp)
                raise ArtifactCorruptedError(f.path, f.sha256, actual, blob)
            os.replace(tmp, target)
        return root

    def verify(self) -> list[ArtifactCorruptedError]:
        """Re-hash every stored file of this version; returns the problems (empty when intact)."""
        problems = []
        for f in self.files:
            blob = self._registry.blobs.path(f.sha256)
            try:
                actual: str | None = hash_file(blob)[0]
            except FileNotFoundError:
                actual = None
            if actual != f.sha256:
                problems.append(ArtifactCorruptedError(f.path, f.sha256, actual, blob))
        return problems

    def to_dict(self) -> dict[str, Any]:
        return {"project": self.project, "name": self.name, "version": self.version, "number": self.number,
                "type": self.type, "aliases": self.aliases, "metadata": self.metadata,
                "description": self.description, "digest": self.digest, "size": self.size,
                "file_count": self.file_count, "created_by": self.created_by, "created_at": self.created_at,
                "used_by": self._users,
                "files": [{"path": f.path, "size": f.size, "sha256": f.sha256} for f in self.files]}

    def __repr__(self) -> str:
        return f"<ArtifactVersion {self.qualified_name} type={self.type} aliases={self.aliases}>"


@dataclass
class ArtifactCollection:
    """An artifact name with its versions, as listed by ``Api().artifacts(project)``."""

    project: str
    name: str
    type: str
    versions: list[str] = field(default_factory=list)
    aliases: dict[str, str] = field(default_factory=dict)  # alias -> "vN"
    size: int = 0  # sum over versions (shared files counted in each)
    created_at: float = 0.0
    updated_at: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"project": self.project, "name": self.name, "type": self.type, "versions": self.versions,
                "aliases": self.aliases, "size": self.size, "created_at": self.created_at,
                "updated_at": self.updated_at}


def registry_for(logdir: str, project: str) -> Registry:
    return Registry(artifacts_root(logdir, project))


def projects_with_artifacts(logdir: str) -> list[str]:
    if not os.path.isdir(logdir):
        return []
    return sorted(p for p in os.listdir(logdir) if os.path.isfile(
        os.path.join(logdir, p, "_artifacts", "registry.sqlite")))


def get_artifact(logdir: str, ref: str, default_project: str) -> ArtifactVersion:
    parsed = parse_ref(ref)
    project = parsed.project or default_project
    registry = registry_for(logdir, project)
    return ArtifactVersion(registry, project, registry.find(parsed))


def list_versions(logdir: str, ref: str, default_project: str) -> list[ArtifactVersion]:
    parsed = parse_ref(ref)
    project = parsed.project or default_project
    registry = registry_for(logdir, project)
    return [ArtifactVersion(registry, project, row) for row in registry.versions(parsed.name)]


def list_artifacts(logdir: str, project: str | None = None) -> list[ArtifactCollection]:
    out: list[ArtifactCollection] = []
    for proj in [check_project(project)] if project else projects_with_artifacts(logdir):
        registry = registry_for(logdir, proj)
        aliases = registry.aliases()
        by_name: dict[str, ArtifactCollection] = {}
        for row in registry.versions():
            coll = by_name.get(row.name)
            if coll is None:
                coll = by_name[row.name] = ArtifactCollection(proj, row.name, row.type, created_at=row.created_at)
            coll.versions.append(f"v{row.version}")
            coll.size += row.size
            coll.updated_at = max(coll.updated_at, row.created_at)
            for alias in aliases.get(row.id, []):
                coll.aliases[alias] = f"v{row.version}"
        out.extend(by_name.values())
    return out


class ArtifactsApi:
    """Mixed into :class:`seetrain.Api`: artifact reads over its ``logdir``."""

    logdir: str

    def artifact(self, ref: str) -> ArtifactVersion:
        """One version: ``"project/name:alias"``, ``"project/name:v3"``, ``"name"`` (latest,
        in ``$SEETRAIN_PROJECT`` or ``default``). Raises ``ArtifactNotFoundError``."""
        return get_artifact(self.logdir, ref, _default_project())

    def artifacts(self, project: str | None = None) -> list[ArtifactCollection]:
        """Every artifact name of ``project`` (all projects when None) with versions and aliases."""
        return list_artifacts(self.logdir, project)

    def artifact_versions(self, ref: str) -> list[ArtifactVersion]:
        """Every version of ``"project/name"``, oldest first."""
        return list_versions(self.logdir, ref, _default_project())


def _default_project() -> str:
    from seetrain._settings import resolve

    return resolve().project


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
