"""Read API of the artifact store, for the dashboard's Artifacts pages (``/api/v1``).

Served from the data source's local ``logdir`` (``seetrain ui``), or for the tracking server
(a source with a ``media_dir``) from the artifacts uploaded to it
(:mod:`seetrain.server.artifacts_upload`). Any other source answers with empty lists.
"""

from __future__ import annotations

import os
from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

from seetrain.artifacts.errors import ArtifactError, ArtifactNotFoundError
from seetrain.artifacts.manifest import ARTIFACTS_DIR
from seetrain.artifacts.reader import (
    ArtifactVersion,
    get_artifact,
    list_artifacts,
    list_versions,
    registry_for,
)


def _summary(v: ArtifactVersion) -> dict[str, Any]:
    out = v.to_dict()
    out.pop("files")
    return out


def artifacts_router(source: Any) -> APIRouter:
    """Routes over ``source.logdir`` (mounted under ``/api/v1`` by ``create_app``)."""
    router = APIRouter(tags=["artifacts"])
    logdir: str | None = getattr(source, "logdir", None)
    if logdir is None and getattr(source, "media_dir", None) is not None:
        from seetrain.server.artifacts_upload import server_artifacts_logdir

        logdir = server_artifacts_logdir(source.media_dir)  # the tracking server's uploaded artifacts

    def registry_exists(project: str) -> bool:
        if project in (".", "..") or "\\" in project or "\0" in project:
            raise HTTPException(400, f"invalid project {project!r}")
        return logdir is not None and bool(logdir) and os.path.isfile(os.path.join(logdir, project, ARTIFACTS_DIR, "registry.sqlite"))

    def version(project: str, name: str, ref: str) -> ArtifactVersion:
        if not logdir:
            raise HTTPException(404, "this server holds no artifacts")
        try:
            return get_artifact(logdir, f"{project}/{name}:{ref}", project)
        except ArtifactNotFoundError as exc:
            raise HTTPException(404, str(exc)) from None
        except ArtifactError as exc:
            raise HTTPException(400, str(exc)) from None

    @router.get("/projects/{project}/artifacts", summary="Artifacts of a project: versions, aliases, sizes")
    def artifacts(project: str) -> list[dict[str, Any]]:
        if not registry_exists(project):
            return []
        try:
            return [c.to_dict() for c in list_artifacts(logdir, project)]  # type: ignore[arg-type]
        except ArtifactError as exc:
            raise HTTPException(400, str(exc)) from None

    @router.get("/projects/{project}/artifacts/{name}/versions", summary="Every version of one artifact")
    def versions(project: str, name: str) -> list[dict[str, Any]]:
        if not registry_exists(project):
            raise HTTPException(404, f"no artifact {name!r} in project {project!r}")
        try:
            found = list_versions(logdir, f"{project}/{name}", project)  # type: ignore[arg-type]
        except ArtifactError as exc:
            raise HTTPException(400, str(exc)) from None
        if not found:
            raise HTTPException(404, f"no artifact {name!r} in project {project!r}")
        return [_summary(v) for v in found]

    @router.get("/projects/{project}/artifacts/{name}/{ref}",
                summary="One version (vN or an alias) with its files and lineage")
    def one(project: str, name: str, ref: str) -> dict[str, Any]:
        return version(project, name, ref).to_dict()

    @router.get("/projects/{project}/artifacts/{name}/{ref}/file/{relpath:path}",
                summary="One stored file of a version, as an attachment", response_class=FileResponse)
    def file(project: str, name: str, ref: str, relpath: str) -> FileResponse:
        v = version(project, name, ref)
        try:
            blob = v.blob_path(relpath)
        except KeyError:
            raise HTTPException(404, f"{v.qualified_name} has no file {relpath!r}") from None
        if not os.path.isfile(blob):
            raise HTTPException(410, f"the stored file of {relpath!r} is missing")
        return FileResponse(blob, media_type="application/octet-stream", filename=os.path.basename(relpath),
                            headers={"X-Content-Type-Options": "nosniff"})

    @router.get("/runs/{project}/{run_id}/artifacts", summary="Versions a run created and used")
    def run_artifacts(project: str, run_id: str) -> dict[str, list[dict[str, Any]]]:
        if not registry_exists(project):
            return {"created": [], "used": []}
        registry = registry_for(logdir, project)  # type: ignore[arg-type]
        made, used = registry.versions_by_run(run_id)
        return {"created": [_summary(ArtifactVersion(registry, project, r)) for r in made],
                "used": [_summary(ArtifactVersion(registry, project, r)) for r in used]}

    return router


__all__ = ["artifacts_router"]
