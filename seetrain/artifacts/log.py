"""Logging and using artifacts from a run: ``run.log_artifact(...)``, ``run.use_artifact(...)``.

Hashing (and copying new content into the store) happens synchronously in the caller's
thread, before ``log_artifact`` returns. That is a deliberate choice: the caller may delete,
overwrite or move its checkpoint right after the call (frameworks rotate ``last.ckpt``), so
the bytes must be captured before control returns; and the version number, digest and files
are known at once. The cost is one read of the file (sha256 at about 1-2 GB/s) plus a copy of
content the store does not already hold; an unchanged file costs only its hashing.

Logging never raises into training: any failure is a counted warning (``run.get_stats()
["warnings"]["artifact"]``) and ``log_artifact`` returns None.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from seetrain._settings import setting
from seetrain.artifacts.blobs import LINK_MODES
from seetrain.artifacts.errors import ArtifactError, ArtifactNotFoundError
from seetrain.artifacts.manifest import (
    ArtifactFile,
    artifacts_root,
    check_aliases,
    check_name,
    collect,
    name_from_path,
    parse_ref,
    safe_relpath,
)
from seetrain.artifacts.reader import ArtifactVersion
from seetrain.artifacts.registry import Registry


def _link_mode() -> str:
    mode = setting("SEETRAIN_ARTIFACT_LINK").strip()
    return mode if mode in LINK_MODES else "copy"


def _threads() -> int:
    return max(1, setting("SEETRAIN_ARTIFACT_THREADS") or min(4, os.cpu_count() or 1))


def _put_all(registry: Registry, paths: list[str], link: str) -> list[tuple[str, int, int]]:
    """Hash and store files, several at once for a folder (hashlib releases the GIL, so a folder
    of shards hashes on every core: ``SEETRAIN_ARTIFACT_THREADS``, default min(4, cores))."""
    workers = min(_threads(), len(paths))
    if workers <= 1:
        return [registry.blobs.put(p, link) for p in paths]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="seetrain-artifact-hash") as pool:
        return list(pool.map(lambda p: registry.blobs.put(p, link), paths))


def store_version(registry: Registry, project: str, path: str | os.PathLike[str], *, name: str,
                  type: str = "artifact", aliases: Sequence[str] | None = None,
                  metadata: Mapping[str, Any] | None = None, description: str | None = None,
                  created_by: str | None = None) -> tuple[ArtifactVersion, dict[str, int]]:
    """Hash and store ``path`` (a file or folder) and commit it as a version of ``name``.

    Raises on bad input; :func:`log_artifact` turns that into a warning.
    """
    check_name(name)
    alias_list = check_aliases(aliases)
    if not isinstance(type, str) or not type:
        raise ArtifactError(f"artifact type must be a non-empty string, got {type!r}")
    meta = dict(metadata) if metadata is not None else {}
    store = os.path.realpath(registry.root) + os.sep
    # Logging a folder that holds the logdir (".") must not swallow the artifact store itself.
    sources = [(rel, full) for rel, full in collect(os.fspath(path))
               if not os.path.realpath(full).startswith(store)]
    link = _link_mode()
    stats = {"files": 0, "bytes": 0, "bytes_stored": 0}
    files: list[ArtifactFile] = []
    by_digest: dict[str, str] = {}
    for rel, _ in sources:
        safe_relpath(rel)
    for (rel, full), (digest, size, stored) in zip(sources, _put_all(registry, [f for _, f in sources], link)):
        files.append(ArtifactFile(rel, size, digest))
        by_digest.setdefault(digest, full)
        stats["files"] += 1
        stats["bytes"] += size
        stats["bytes_stored"] += stored

    def restore(digests: list[str]) -> None:
        for digest in digests:
            registry.blobs.put(by_digest[digest], link)

    row, created = registry.commit(name, type, files, aliases=alias_list, metadata=meta,
                                   description=description or "", created_by=created_by, restore=restore)
    stats["created"] = int(created)
    return ArtifactVersion(registry, project, row), stats


def log_artifact(run: Any, path: str | os.PathLike[str], name: str | None = None, type: str = "artifact",
                 aliases: Sequence[str] | None = None, metadata: Mapping[str, Any] | None = None,
                 description: str | None = None) -> ArtifactVersion | None:
    """Store ``path`` as a new version of ``name`` in the run's project; see module doc."""
    label = name or "artifact"
    try:
        if getattr(run, "finished", False):
            _warn(run, label, f"run {run.id} is finished; log_artifact({os.fspath(path)!r}) ignored")
            return None
        label = name or name_from_path(os.fspath(path))
        registry = Registry(artifacts_root(run.settings.logdir, run.project))
        version, stats = store_version(registry, run.project, path, name=label, type=type, aliases=aliases,
                                       metadata=metadata, description=description, created_by=run.id)
    except Exception as exc:  # noqa: BLE001 - never raise into training
        _warn(run, label, f"log_artifact({_shown(path)}, name={label!r}) failed: {type_name(exc)}: {exc}")
        return None
    counter = getattr(run, "stats", None)
    if counter is not None:
        counter["artifact_versions"] += stats["created"]
        counter["artifact_files"] += stats["files"]
        counter["artifact_bytes_stored"] += stats["bytes_stored"]
    if getattr(run, "mode", None) == "online":
        try:
            from seetrain.artifacts.upload import schedule_online_upload

            schedule_online_upload(run)
        except Exception as exc:  # noqa: BLE001
            _warn(run, label, f"artifact upload not started: {type_name(exc)}: {exc}")
    return version


def use_artifact(run: Any, ref: str) -> ArtifactVersion:
    """Resolve ``ref`` (``name``, ``name:v3``, ``name:best``, ``project/name:latest``) and record
    that ``run`` used it. A missing artifact raises :class:`ArtifactNotFoundError`; failing to
    record the lineage only warns."""
    parsed = parse_ref(ref)
    project = parsed.project or run.project
    registry = Registry(artifacts_root(run.settings.logdir, project))
    version = ArtifactVersion(registry, project, registry.find(parsed))
    try:
        registry.record_use(version.id, run.id)
        version._users = registry.details(version.id)[2]
        if getattr(run, "mode", None) == "online" and project == run.project:
            from seetrain.artifacts.upload import schedule_online_upload

            schedule_online_upload(run)  # the lineage record travels with the next upload
    except Exception as exc:  # noqa: BLE001
        _warn(run, ref, f"use_artifact({ref!r}): lineage not recorded: {type_name(exc)}: {exc}")
    return version


def set_aliases(run: Any, ref: str, aliases: Sequence[str]) -> bool:
    """Move ``aliases`` onto the version ``ref`` (``name:v3``) of the run's project; never raises
    (a failure is a counted warning and returns False)."""
    try:
        parsed = parse_ref(ref)
        registry = Registry(artifacts_root(run.settings.logdir, parsed.project or run.project))
        row = registry.find(parsed)
        registry.set_aliases(row.name, row.version, check_aliases(aliases))
        return True
    except Exception as exc:  # noqa: BLE001
        _warn(run, ref, f"could not set aliases {list(aliases)} on {ref!r}: {type_name(exc)}: {exc}")
        return False


def type_name(exc: BaseException) -> str:
    return type(exc).__name__


def _shown(path: Any) -> str:
    try:
        return repr(os.fspath(path))
    except TypeError:
        return repr(path)


def _warn(run: Any, key: str, message: str) -> None:
    warn = getattr(run, "_warn", None)
    if warn is not None:
        warn("artifact", key, message)
        return
    import warnings

    from seetrain._errors import SeeTrainWarning

    warnings.warn(f"seetrain: {message}", SeeTrainWarning, stacklevel=3)


__all__ = ["ArtifactNotFoundError", "log_artifact", "set_aliases", "store_version", "use_artifact"]
