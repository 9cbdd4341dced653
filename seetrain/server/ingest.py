"""The versioned ingest API: ``/api/v1/ingest/...``.

Clients (the replicator of an ``online`` run, ``seetrain sync``) send batches of records
read from their local store. Every batch and every record carries a client-made id (the
batch id is derived from run, table and seq range; the record id is its seq in the run's
table), so a replayed batch is stored once. Media files go first, by ``PUT`` to
``/api/v1/ingest/files/{project}/{run_id}/media/...``, then the batch that references them.

Writes need the server token (``Authorization: Bearer <token>``) when one is set. Every body
is validated by pydantic; sizes are capped (413), malformed JSON and bad fields give 422,
bad paths 400, missing/wrong tokens 401/403. Nothing here builds SQL from strings.
"""

from __future__ import annotations

import hmac
import os
import re
import tempfile
import time
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from starlette.concurrency import run_in_threadpool

from seetrain.server.db import MAX_KEY_LENGTH, Database

__all__ = ["IngestBatch", "IngestLimits", "make_ingest_router", "safe_media_path", "API_PREFIX"]

API_PREFIX = "/api/v1"
NAME_PATTERN = r"^[A-Za-z0-9_\-][A-Za-z0-9_.\-]{0,127}$"
_SEGMENT = re.compile(r"^[A-Za-z0-9_\-][A-Za-z0-9_.\-]{0,199}$")


@dataclass(frozen=True)
class IngestLimits:
    """Caps on what one request may carry; each breach is a clear 4xx, never a 500."""

    max_request_bytes: int = 32 * 1024 * 1024
    max_batch_records: int = 20_000
    max_media_bytes: int = 64 * 1024 * 1024


Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
Key = Annotated[str, StringConstraints(min_length=1, max_length=MAX_KEY_LENGTH)]
Special = Literal["nan", "inf", "-inf"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RunSnapshot(_Strict):
    """The run row as the client's store holds it at ``snapshot_at`` (newest snapshot wins)."""

    snapshot_at: float
    name: str | None = Field(None, max_length=1000)
    description: str | None = Field(None, max_length=100_000)
    tags: list[Annotated[str, StringConstraints(max_length=200)]] = Field(default_factory=list, max_length=500)
    group: str | None = Field(None, max_length=MAX_KEY_LENGTH)
    status: Literal["running", "finished", "failed", "aborted", "crashed"] = "running"
    created_at: float | None = None
    finished_at: float | None = None
    heartbeat_at: float | None = None
    hostname: str | None = Field(None, max_length=255)
    pid: int | None = None
    config: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    summary: dict[str, Any] | None = None
    stats: dict[str, Any] | None = None
    error: str | None = Field(None, max_length=1_000_000)


class ScalarIn(_Strict):
    seq: int = Field(ge=1)
    key: Key
    step: int
    ts: float
    value: float | None = None
    special: Special | None = None


class MediaIn(_Strict):
    seq: int = Field(ge=1)
    key: Key
    step: int
    ts: float
    kind: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_\-]{1,64}$")]
    path: str | None = Field(None, max_length=1000)
    caption: str | None = Field(None, max_length=100_000)
    payload: dict[str, Any] = Field(default_factory=dict)


class ConsoleIn(_Strict):
    seq: int = Field(ge=1)
    ts: float
    stream: Literal["stdout", "stderr"]
    line: str = Field(max_length=1_000_000)


class IngestBatch(_Strict):
    """One batch: an optional run snapshot plus records of one run."""

    batch_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:/\-]{1,400}$")]
    project: Name
    run_id: Name
    run: RunSnapshot | None = None
    scalars: list[ScalarIn] = Field(default_factory=list)
    media: list[MediaIn] = Field(default_factory=list)
    console: list[ConsoleIn] = Field(default_factory=list)

    def record_count(self) -> int:
        return len(self.scalars) + len(self.media) + len(self.console)


class IngestResult(BaseModel):
    batch_id: str
    status: Literal["stored", "duplicate"]
    records: int


def safe_media_path(relpath: str) -> str:
    """Validate a media file path relative to a run folder (``media/<key>/<file>``).

    Raises ValueError for anything that could leave the run folder: ``..``, absolute paths,
    backslashes, empty or hidden segments, or characters outside a small safe set.
    """
    if not relpath or "\\" in relpath or "\x00" in relpath or relpath.startswith("/"):
        raise ValueError("media path must be relative, like media/<key>/<file>")
    parts = relpath.split("/")
    if len(parts) < 2 or parts[0] != "media" or len(parts) > 8:
        raise ValueError("media path must look like media/<key>/<file>")
    for part in parts:
        if part in ("", ".", "..") or not _SEGMENT.match(part):
            raise ValueError(f"bad media path segment {part[:40]!r}")
    return "/".join(parts)


def run_media_root(media_dir: str, project: str, run_id: str) -> str:
    return os.path.join(media_dir, project, run_id)


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get("x-seetrain-token")


def make_token_check(token: str | None, what: str = "write") -> Any:
    """A dependency that answers 401 (no token) or 403 (wrong token) when ``token`` is set."""

    def check(request: Request) -> None:
        if token is None:
            return
        given = _bearer(request)
        if given is None:
            raise HTTPException(401, f"{what} access needs a token: send 'Authorization: Bearer <token>' "
                                     "(SEETRAIN_API_KEY on the client)",
                                headers={"WWW-Authenticate": "Bearer"})
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise HTTPException(403, "the token is not valid for this server")

    return check


def _dump(obj: Any) -> str | None:
    return None if obj is None else orjson.dumps(obj).decode()


def make_ingest_router(db: Database, media_dir: str, token: str | None = None,
                       limits: IngestLimits | None = None) -> APIRouter:
    """The ``/api/v1`` router: health (open) and ingest (token-protected when a token is set)."""
    limits = limits or IngestLimits()
    need_token = Depends(make_token_check(token))
    router = APIRouter(prefix=API_PREFIX, tags=["ingest"])

    @router.get("/health")
    def health() -> dict[str, Any]:
        """Liveness for load balancers and clients; no token needed."""
        return {"ok": True, "api": "v1", "database": db.dialect, "time": time.time()}

    @router.post("/ingest/batch", response_model=IngestResult, dependencies=[need_token],
                 max_body_size=limits.max_request_bytes)
    def ingest_batch(batch: IngestBatch) -> IngestResult:
        """Store one batch of records (idempotent by batch id and by record seq)."""
        n = batch.record_count()
        if n > limits.max_batch_records:
            raise HTTPException(413, f"batch has {n} records; the limit is {limits.max_batch_records}")
        for rec in batch.media:
            if rec.path is not None:
                try:
                    safe_media_path(rec.path)
                except ValueError as exc:
                    raise HTTPException(400, f"media record {rec.seq}: {exc}") from None
        return _store_batch(db, batch, n)

    @router.put("/ingest/files/{project}/{run_id}/{relpath:path}", dependencies=[need_token],
                status_code=201)
    async def ingest_file(project: str, run_id: str, relpath: str, request: Request) -> dict[str, Any]:
        """Store one media file (raw body). Replays overwrite the same file with the same bytes."""
        if not re.match(NAME_PATTERN, project) or not re.match(NAME_PATTERN, run_id):
            raise HTTPException(400, "bad project or run id")
        try:
            rel = safe_media_path(relpath)
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limits.max_media_bytes:
            raise HTTPException(413, f"media file is {declared} bytes; the limit is {limits.max_media_bytes}")
        root = os.path.realpath(run_media_root(media_dir, project, run_id))
        target = os.path.realpath(os.path.join(root, *rel.split("/")))
        if os.path.commonpath([root, target]) != root:
            raise HTTPException(400, "media path leaves the run folder")
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limits.max_media_bytes:
                raise HTTPException(413, f"media file exceeds the limit of {limits.max_media_bytes} bytes")
            chunks.append(chunk)
        await run_in_threadpool(_write_atomic, target, b"".join(chunks))
        return {"path": rel, "bytes": size}

    return router


def _write_atomic(path: str, data: bytes) -> None:
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _store_batch(db: Database, batch: IngestBatch, n: int) -> IngestResult:
    with db.engine.begin() as conn:
        if batch.run is not None:
            snap = batch.run
            fields = snap.model_dump(exclude={"snapshot_at", "group", "tags", "config", "metadata",
                                              "summary", "stats"})
            fields.update(group_name=snap.group, tags=_dump(snap.tags), config=_dump(snap.config),
                          metadata=_dump(snap.metadata), summary=_dump(snap.summary), stats=_dump(snap.stats))
            run_pk = db.upsert_run(conn, batch.project, batch.run_id, fields, snap.snapshot_at)
        else:
            run_pk = db.run_pk(conn, batch.project, batch.run_id)
        if n == 0:
            return IngestResult(batch_id=batch.batch_id, status="stored", records=0)
        if db.batch_seen(conn, batch.batch_id):
            return IngestResult(batch_id=batch.batch_id, status="duplicate", records=n)
        db.insert_records(conn, "scalars", [
            {"run_pk": run_pk, "seq": r.seq, "key": r.key, "step": r.step, "ts": r.ts,
             "value": r.value, "special": r.special} for r in batch.scalars])
        db.insert_records(conn, "media", [
            {"run_pk": run_pk, "seq": r.seq, "key": r.key, "step": r.step, "ts": r.ts, "kind": r.kind,
             "path": r.path, "caption": r.caption, "payload": _dump(r.payload)} for r in batch.media])
        db.insert_records(conn, "console", [
            {"run_pk": run_pk, "seq": r.seq, "ts": r.ts, "stream": r.stream, "line": r.line}
            for r in batch.console])
        stored = db.mark_batch(conn, batch.batch_id, run_pk, n)
    return IngestResult(batch_id=batch.batch_id, status="stored" if stored else "duplicate", records=n)
