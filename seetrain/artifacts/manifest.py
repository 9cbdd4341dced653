"""Names, references (``project/name:alias``) and the file list of a version.

A version's manifest is the sorted list of ``(path, size, sha256)`` of its files; its digest
is the sha256 of that list, so two versions with the same files have the same digest.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass

from seetrain.artifacts.errors import ArtifactError

ARTIFACTS_DIR = "_artifacts"  # run folders never start with "_" (see seetrain._run._safe_name)
LATEST = "latest"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")
_VERSION = re.compile(r"^v(\d+)$")
_ALIAS = re.compile(r"^[A-Za-z0-9_.\-]{1,128}$")


@dataclass(frozen=True)
class ArtifactFile:
    """One file of a version: its path inside the artifact, size in bytes and sha256."""

    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Ref:
    project: str | None
    name: str
    alias: str  # "latest", a user alias, or "v<N>"

    @property
    def version_number(self) -> int | None:
        match = _VERSION.match(self.alias)
        return int(match.group(1)) if match else None


def check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ArtifactError(f"invalid artifact name {name!r}: use letters, digits, '_', '-', '.' "
                            f"(at most 128, starting with a letter or digit)")
    return name


def name_from_path(path: str) -> str:
    base = os.path.basename(os.path.normpath(path))
    name = re.sub(r"[^A-Za-z0-9_.\-]+", "_", base).lstrip("._-")
    return name[:128] or "artifact"


def check_aliases(aliases: str | Iterable[object] | None) -> list[str]:
    if aliases is None:
        return []
    if isinstance(aliases, str):
        aliases = [aliases]
    out: list[str] = []
    for alias in aliases:
        if not isinstance(alias, str) or not _ALIAS.match(alias) or _VERSION.match(alias):
            raise ArtifactError(f"invalid alias {alias!r}: letters, digits, '_', '-', '.'; "
                                f"'v<number>' is reserved for versions")
        if alias not in out:
            out.append(alias)
    return out


def check_project(project: str) -> str:
    if not project or project in (".", "..") or any(c in project for c in "/\\\0"):
        raise ArtifactError(f"invalid project {project!r}")
    return project


def parse_ref(ref: str) -> Ref:
    """``name``, ``name:v3``, ``name:best``, ``project/name:latest`` (no alias means latest)."""
    if not isinstance(ref, str) or not ref:
        raise ArtifactError(f"invalid artifact reference {ref!r}")
    project, _, rest = ref.rpartition("/")
    name, _, alias = rest.partition(":")
    alias = alias or LATEST
    if not (_ALIAS.match(alias)):
        raise ArtifactError(f"invalid alias or version {alias!r} in {ref!r}")
    return Ref(check_project(project) if project else None, check_name(name), alias)


def collect(path: str) -> list[tuple[str, str]]:
    """``(path inside the artifact, file on disk)`` for a file or every file under a folder.

    Folder symlinks are not followed (no loops); file symlinks store their target's content.
    """
    path = os.fspath(path)
    if os.path.isfile(path):
        return [(os.path.basename(path), path)]
    if not os.path.isdir(path):
        raise FileNotFoundError(f"no such file or folder: {path!r}")
    found: list[tuple[str, str]] = []
    for folder, dirs, files in os.walk(path):
        dirs.sort()
        for fname in sorted(files):
            full = os.path.join(folder, fname)
            if not os.path.isfile(full):
                continue  # broken symlink, socket, fifo
            rel = os.path.relpath(full, path).replace(os.sep, "/")
            found.append((rel, full))
    return found


def safe_relpath(rel: str) -> str:
    """A stored path must stay inside the download folder."""
    parts = rel.split("/")
    if not rel or rel.startswith("/") or any(p in ("", ".", "..") for p in parts) or "\\" in rel or "\0" in rel:
        raise ArtifactError(f"unsafe path in artifact: {rel!r}")
    return rel


def digest_of(files: list[ArtifactFile]) -> str:
    digest = hashlib.sha256()
    for f in sorted(files, key=lambda f: f.path):
        digest.update(f"{f.path}\0{f.size}\0{f.sha256}\n".encode())
    return digest.hexdigest()


def artifacts_root(logdir: str, project: str) -> str:
    return os.path.join(logdir, check_project(project), ARTIFACTS_DIR)
