"""Artifact upload API of the tracking server: content-addressed, chunked, resumable.

The server keeps artifacts with the same layout as a local logdir, under
``<media_dir>/artifacts/<project>/_artifacts/`` (a SQLite registry plus one file per sha256),
so the dashboard's read API (:mod:`seetrain.server.artifacts_routes`) serves them unchanged.

Protocol (all under ``/api/v1/artifacts/{project}``, write token as for ingest):

1. ``POST /blobs/missing`` ``{"sha256": [...]}`` -> ``{"missing": [...]}``: what to upload.
2. Per missing blob: ``GET /blobs/{sha256}/upload`` -> ``{"offset": n, "complete": bool}`` (bytes
   already received; a killed upload resumes there), then ``PUT /blobs/{sha256}/upload?offset=n``
   with the next bytes as the raw body (at most ``max_chunk_bytes``; any offset other than the
   received size answers 409 with the right one), then ``POST /blobs/{sha256}/complete``: the
   server re-hashes the received file and moves it into place (422 and a restart when the hash
   differs).
3. ``POST /versions`` ``{name, type, files: [{path, size, sha256}], aliases, metadata,
   description, created_by}`` commits the version (409 lists blobs still missing). Committing the
   same files again returns the same version: a replay is harmless.
4. ``POST /usage`` ``{name, digest, run_id}`` records lineage.

Memory stays bounded: a chunk is streamed from the request into the partial file in pieces of
at most 1 MiB, and hashing reads the file back in 1 MiB pieces. One upload of a blob at a time:
a second writer of the same partial file gets 409 (a file lock, so it also holds across
uvicorn workers).
"""

from __future__ import annotations

import fcntl
import os
import re
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from seetrain.artifacts.blobs import hash_file
from seetrain.artifacts.errors import ArtifactError, ArtifactNotFoundError
from seetrain.artifacts.manifest import ArtifactFile, artifacts_root, check_aliases, check_name, safe_relpath
from seetrain.artifacts.registry import Registry
from seetrain.server.ingest import make_token_check

__all__ = ["make_artifact_upload_router", "server_artifacts_logdir"]

DEFAULT_MAX_CHUNK = 16 * 1024 * 1024
_SHA = re.compile(r"^[0-9a-f]{64}$")
_PROJECT = re.compile(r"^[A-Za-z0-9_\-][A-Za-z0-9_.\-]{0,127}$")
_WRITE_PIECE = 1 << 20


def server_artifacts_logdir(media_dir: str | os.PathLike[str]) -> str:
    """The folder that plays the role of a logdir for the server's artifacts."""
    return os.path.join(os.fspath(media_dir), "artifacts")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MissingRequest(_Strict):
    sha256: list[str] = Field(max_length=100_000)


class FileEntry(_Strict):
    path: str = Field(min_length=1, max_length=4096)
    size: int = Field(ge=0)
    sha256: str = Field(pattern=_SHA.pattern)


class VersionRequest(_Strict):
    name: str
    type: str = Field("artifact", min_length=1, max_length=200)
    files: list[FileEntry] = Field(max_length=1_000_000)
    aliases: list[str] = Field(default_factory=list, max_length=100)
    metadata: dict[str, Any] = Field(default_factory=dict)
    description: str = Field("", max_length=100_000)
    created_by: str | None = Field(None, max_length=256)


class UsageRequest(_Strict):
    name: str
    digest: str = Field(pattern=_SHA.pattern)
    run_id: str = Field(min_length=1, max_length=256)


def make_artifact_upload_router(media_dir: str | os.PathLike[str], token: str | None = None,
                                max_chunk_bytes: int = DEFAULT_MAX_CHUNK, media_store: str | None = None) -> APIRouter:
    """The upload routes; with ``media_store="s3://bucket/prefix"`` the blobs go to that bucket
    (:mod:`seetrain.server.artifacts_s3`) and ``media_dir`` keeps the registry and a cache."""
    logdir = server_artifacts_logdir(media_dir)
    if media_store and media_store.startswith("s3://"):
        from seetrain.server.artifacts_s3 import use_s3_for_artifacts

        use_s3_for_artifacts(logdir, media_store)
    router = APIRouter(prefix="/api/v1/artifacts", tags=["artifact upload"],
                       dependencies=[Depends(make_token_check(token))])

    def registry(project: str) -> Registry:
        if not _PROJECT.match(project):
            raise HTTPException(400, f"invalid project {project!r}")
        return Registry(artifacts_root(logdir, project))

    def sha(value: str) -> str:
        if not _SHA.match(value):
            raise HTTPException(400, "sha256 must be 64 lowercase hex digits")
        return value

    def partial_path(reg: Registry, digest: str) -> str:
        folder = os.path.join(reg.root, "uploads")
        os.makedirs(folder, exist_ok=True)
        return os.path.join(folder, f"{digest}.part")

    @router.post("/{project}/blobs/missing", summary="Which of these blobs the server lacks")
    def missing(project: str, body: MissingRequest) -> dict[str, list[str]]:
        reg = registry(project)
        wanted = list(dict.fromkeys(sha(d) for d in body.sha256))
        return {"missing": [d for d in wanted if not reg.blobs.has(d)]}

    @router.get("/{project}/blobs/{digest}/upload", summary="Bytes of a blob received so far")
    def upload_status(project: str, digest: str) -> dict[str, Any]:
        reg = registry(project)
        sha(digest)
        if reg.blobs.has(digest):
            return {"offset": reg.blobs.size(digest), "complete": True}
        path = partial_path(reg, digest)
        return {"offset": os.path.getsize(path) if os.path.exists(path) else 0, "complete": False}

    @router.put("/{project}/blobs/{digest}/upload", summary="Append the next bytes of a blob")
    async def upload_chunk(project: str, digest: str, request: Request,
                           offset: int = Query(..., ge=0)) -> dict[str, Any]:
        reg = registry(project)
        sha(digest)
        if reg.blobs.has(digest):
            return {"offset": reg.blobs.size(digest), "complete": True}
        declared = request.headers.get("content-length", "0")
        if not declared.isdigit():
            raise HTTPException(400, "bad Content-Length")
        if int(declared) > max_chunk_bytes:
            raise HTTPException(413, f"a chunk holds at most {max_chunk_bytes} bytes")
        path = partial_path(reg, digest)
        f = await run_in_threadpool(open, path, "ab")
        try:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise HTTPException(409, "another upload of this blob is in progress") from None
            have = os.fstat(f.fileno()).st_size
            if have != offset:
                raise HTTPException(409, detail={"message": "offset mismatch", "offset": have})
            received = 0
            pending = bytearray()
            async for piece in request.stream():
                received += len(piece)
                if received > max_chunk_bytes:
                    raise HTTPException(413, f"a chunk holds at most {max_chunk_bytes} bytes")
                pending += piece
                if len(pending) >= _WRITE_PIECE:
                    await run_in_threadpool(f.write, bytes(pending))
                    pending.clear()
            if pending:
                await run_in_threadpool(f.write, bytes(pending))
            await run_in_threadpool(f.flush)
            return {"offset": have + received, "complete": False}
        finally:
            f.close()  # also releases the lock

    @router.post("/{project}/blobs/{digest}/complete", summary="Verify a received blob and store it")
    def complete(project: str, digest: str) -> dict[str, Any]:
        reg = registry(project)
        sha(digest)
        if reg.blobs.has(digest):
            return {"complete": True, "size": reg.blobs.size(digest)}
        path = partial_path(reg, digest)
        if not os.path.exists(path):
            raise HTTPException(404, "nothing received for this blob")
        with open(path, "rb") as lock:
            try:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise HTTPException(409, "an upload of this blob is in progress") from None
            actual, size = hash_file(path)
            if actual != digest:
                os.unlink(path)
                raise HTTPException(422, f"received bytes hash to {actual}, not {digest}; upload again")
            reg.blobs.adopt(path, digest)  # a local move, or an upload to S3 (multipart when large)
        return {"complete": True, "size": size}

    @router.post("/{project}/versions", summary="Commit a version whose blobs are all uploaded")
    def commit(project: str, body: VersionRequest) -> dict[str, Any]:
        reg = registry(project)
        try:
            check_name(body.name)
            aliases = check_aliases(body.aliases)
            files = [ArtifactFile(safe_relpath(f.path), f.size, f.sha256) for f in body.files]
        except ArtifactError as exc:
            raise HTTPException(400, str(exc)) from None
        lacking = sorted({f.sha256 for f in files if not reg.blobs.has(f.sha256)})
        if lacking:
            raise HTTPException(409, detail={"message": "blobs missing", "missing": lacking})
        try:
            row, created = reg.commit(body.name, body.type, files, aliases=aliases, metadata=body.metadata,
                                      description=body.description, created_by=body.created_by)
        except ArtifactError as exc:
            raise HTTPException(409, str(exc)) from None
        return {"name": row.name, "version": f"v{row.version}", "digest": row.digest, "created": created}

    @router.post("/{project}/usage", summary="Record that a run used a version")
    def usage(project: str, body: UsageRequest) -> dict[str, Any]:
        reg = registry(project)
        try:
            row = reg.find_by_digest(check_name(body.name), body.digest)
        except ArtifactNotFoundError as exc:
            raise HTTPException(404, str(exc)) from None
        except ArtifactError as exc:
            raise HTTPException(400, str(exc)) from None
        reg.record_use(row.id, body.run_id)
        return {"name": row.name, "version": f"v{row.version}"}

    return router
