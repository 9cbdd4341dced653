"""The versioned ingest API: ``/api/v1/ingest/...``.

Clients (the replicator of an ``online`` run, ``seetrain sync``) send batches of records
read from their local store. Every batch and every record carries a client-made id (the
batch id is derived from the local store's identity, run, table and seq range; the record
id is its seq in the run's table), so a replayed batch is stored once. Media files go first,
by ``PUT /api/v1/ingest/file?project=..&run_id=..&path=media/...``, then the batch that
references them.

What the server promises (each checked by a test):

- every field is validated (int64 steps and seqs, finite timestamps, no NUL, JSON nesting
  depth, sizes; :mod:`seetrain.limits` is the one definition shared with the client) and a
  bad field is a 422 with a message, never a 500; a database DataError/IntegrityError is a 422;
- a batch id already committed for another run, a run whose data came from another local
  store, or a seq stored before with different content is a 409: nothing is overwritten,
  nothing is filed under the wrong run;
- a run's primary key is cached only after the transaction that found it has committed;
- writes need the server token (``Authorization: Bearer <token>``) when one is set; repeated
  failed tokens from one address are answered 429 for a while.
"""

from __future__ import annotations

import collections
import hmac
import math
import re
import threading
import time
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints
from sqlalchemy.exc import DataError, IntegrityError, OperationalError

from seetrain import limits as L
from seetrain._jsonsafe import NONFINITE
from seetrain.server.db import Database
from seetrain.server.media_store import LocalMediaStore, MediaStore, TooLarge

__all__ = ["IngestBatch", "IngestLimits", "make_ingest_router", "safe_media_path", "API_PREFIX",
           "FailedTokenLimiter", "make_token_check"]

API_PREFIX = "/api/v1"
NAME_PATTERN = L.PROJECT_PATTERN
MAX_BATCH_ID = 380  # stored with the run's key in front, in a 400-character column
_SEGMENT = re.compile(r"^[A-Za-z0-9_\-][A-Za-z0-9_.\-]{0,199}$")


@dataclass(frozen=True)
class IngestLimits:
    """Caps on what one request may carry; each breach is a clear 4xx, never a 500."""

    max_request_bytes: int = 32 * 1024 * 1024
    max_batch_records: int = 20_000
    max_media_bytes: int = 64 * 1024 * 1024


class Conflict(Exception):
    """The batch contradicts what the server holds (409): retrying the same bytes cannot help."""


# ---- field types: every rule comes from seetrain.limits -------------------------------------
def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("text must not contain a NUL character (\\x00)")
    return value


def _run_id(value: str) -> str:
    problem = L.run_id_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _key(value: str) -> str:
    problem = L.key_problem(value)
    if problem:
        raise ValueError(f"metric key {problem}")
    return value


def _shallow(value: Any) -> Any:
    if value is not None and L.json_depth(value) > L.MAX_JSON_DEPTH:
        raise ValueError(f"nested deeper than {L.MAX_JSON_DEPTH} levels")
    return value


def _text(max_length: int, min_length: int = 0) -> Any:
    return Annotated[str, StringConstraints(min_length=min_length, max_length=max_length), AfterValidator(_no_nul)]


Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
RunId = Annotated[str, AfterValidator(_run_id)]
Key = Annotated[str, StringConstraints(min_length=1, max_length=L.MAX_KEY_LENGTH), AfterValidator(_key)]
Int64 = Annotated[int, Field(ge=L.INT64_MIN, le=L.INT64_MAX)]
Seq = Annotated[int, Field(ge=1, le=L.INT64_MAX)]
Finite = Annotated[float, Field(allow_inf_nan=False)]
JsonObject = Annotated[dict[str, Any] | None, BeforeValidator(_shallow)]
Special = Literal["nan", "inf", "-inf"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RunSnapshot(_Strict):
    """The run row as the client's store holds it at ``snapshot_at`` (newest snapshot wins)."""

    snapshot_at: Finite
    name: _text(L.MAX_NAME_LENGTH) | None = None  # type: ignore[valid-type]
    description: _text(L.MAX_DESCRIPTION_LENGTH) | None = None  # type: ignore[valid-type]
    tags: list[_text(L.MAX_TAG_LENGTH)] = Field(default_factory=list, max_length=L.MAX_TAGS)  # type: ignore[valid-type]
    group: _text(L.MAX_GROUP_LENGTH) | None = None  # type: ignore[valid-type]
    status: Literal["running", "finished", "failed", "aborted", "crashed"] = "running"
    created_at: Finite | None = None
    finished_at: Finite | None = None
    heartbeat_at: Finite | None = None
    hostname: _text(L.MAX_HOSTNAME_LENGTH) | None = None  # type: ignore[valid-type]
    pid: Int64 | None = None
    config: JsonObject = None
    metadata: JsonObject = None
    summary: JsonObject = None
    stats: JsonObject = None
    error: _text(L.MAX_ERROR_LENGTH) | None = None  # type: ignore[valid-type]


class ScalarIn(_Strict):
    seq: Seq
    key: Key  # type: ignore[valid-type]
    step: Int64
    ts: Finite
    value: float | None = None
    special: Special | None = None


class MediaIn(_Strict):
    seq: Seq
    key: Key  # type: ignore[valid-type]
    step: Int64
    ts: Finite
    kind: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_\-]{1,64}$")]
    path: _text(1000) | None = None  # type: ignore[valid-type]
    caption: _text(L.MAX_CAPTION_LENGTH) | None = None  # type: ignore[valid-type]
    payload: JsonObject = Field(default_factory=dict)


class ConsoleIn(_Strict):
    seq: Seq
    ts: Finite
    stream: Literal["stdout", "stderr"]
    line: _text(L.MAX_LINE_LENGTH)  # type: ignore[valid-type]


class ChunkIn(_Strict):
    """One metric's points packed by :mod:`seetrain.storage.chunks` (base64 of the packed bytes)."""

    key: Key  # type: ignore[valid-type]
    data: Annotated[str, StringConstraints(min_length=1, max_length=64 * 1024 * 1024)]


class IngestBatch(_Strict):
    """One batch: an optional run snapshot plus records of one run.

    ``store`` is the random identity of the client's local store: the first store to send
    data for a run owns it; another store sending under the same run id gets a 409.
    """

    batch_id: Annotated[str, StringConstraints(min_length=1, max_length=MAX_BATCH_ID), AfterValidator(_no_nul)]
    project: Name
    run_id: RunId
    store: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_\-]{1,64}$")] | None = None
    run: RunSnapshot | None = None
    scalars: list[ScalarIn] = Field(default_factory=list)
    chunks: list[ChunkIn] = Field(default_factory=list)
    media: list[MediaIn] = Field(default_factory=list)
    console: list[ConsoleIn] = Field(default_factory=list)

    def record_count(self) -> int:
        return len(self.scalars) + len(self.media) + len(self.console)


    def check_batch_id(self) -> None:
        """A batch id made by a SeeTrain client names its store, project and run: one naming
        another run is refused (409), so a batch can only ever be filed under its own run."""
        if self.store is not None and not self.batch_id.startswith(f"{self.store}/{self.project}/{self.run_id}/"):
            raise Conflict(f"batch id {self.batch_id[:120]!r} does not belong to run {self.run_id!r} "
                           f"of project {self.project!r} from store {self.store!r}")


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


# ---- tokens -----------------------------------------------------------------------------------
class FailedTokenLimiter:
    """At most ``max_failures`` wrong/missing tokens per client address per ``window``
    seconds; past that the address gets 429 (with Retry-After) until the window has moved on.
    Per process: with N replicas a guesser gets N times the budget, still far from brute force."""

    def __init__(self, max_failures: int = 20, window: float = 60.0) -> None:
        self.max_failures = max_failures
        self.window = window
        self._failures: dict[str, collections.deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> collections.deque[float]:
        q = self._failures.setdefault(client, collections.deque())
        while q and q[0] <= now - self.window:
            q.popleft()
        return q

    def check(self, client: str) -> None:
        now = time.monotonic()
        with self._lock:
            q = self._recent(client, now)
            if len(q) >= self.max_failures:
                wait = max(1, math.ceil(q[0] + self.window - now))
                raise HTTPException(429, f"too many failed token attempts from {client}; retry in {wait}s",
                                    headers={"Retry-After": str(wait)})

    def failed(self, client: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._recent(client, now).append(now)
            if len(self._failures) > 10_000:  # forget idle addresses
                for addr in [a for a, q in self._failures.items() if not q]:
                    del self._failures[addr]


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get("x-seetrain-token")


def make_token_check(token: str | None, what: str = "write", limiter: FailedTokenLimiter | None = None) -> Any:
    """A dependency that answers 401 (no token) or 403 (wrong token) when ``token`` is set,
    and 429 to an address that failed too often (``limiter``)."""

    def check(request: Request) -> None:
        if token is None:
            return
        client = client_address(request)
        if limiter is not None:
            limiter.check(client)
        given = _bearer(request)
        if given is None:
            if limiter is not None:
                limiter.failed(client)
            raise HTTPException(401, f"{what} access needs a token: send 'Authorization: Bearer <token>' "
                                     "(SEETRAIN_API_KEY on the client)",
                                headers={"WWW-Authenticate": "Bearer"})
        if not hmac.compare_digest(given.encode(), token.encode()):
            if limiter is not None:
                limiter.failed(client)
            raise HTTPException(403, "the token is not valid for this server")

    return check


def _dump(obj: Any) -> str | None:
    if obj is None:
        return None
    try:
        return orjson.dumps(obj).decode()
    except orjson.JSONEncodeError:
        # Integers beyond 64 bits (a seed of 2**70 in a config): the standard library writes
        # them (read back as floats); non-finite floats become null as orjson writes them.
        import json

        return json.dumps(_finite(obj))


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite(v) for v in obj]
    return obj


def make_ingest_router(db: Database, media: str | MediaStore, token: str | None = None,
                       limits: IngestLimits | None = None, limiter: FailedTokenLimiter | None = None
                       ) -> APIRouter:
    """The ``/api/v1`` router: health (open) and ingest (token-protected when a token is set)."""
    limits = limits or IngestLimits()
    store: MediaStore = LocalMediaStore(media) if isinstance(media, str) else media
    need_token = Depends(make_token_check(token, limiter=limiter or FailedTokenLimiter()))
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
                    raise HTTPException(422, f"media record {rec.seq}: {exc}") from None
        columns = _decode_chunks(batch, limits.max_batch_records - n)
        try:
            batch.check_batch_id()
            return _store_batch(db, batch, columns)
        except Conflict as exc:
            raise HTTPException(409, str(exc)) from None
        except (DataError, IntegrityError) as exc:
            # Data the database cannot hold: retrying cannot help, so it is a 4xx.
            raise HTTPException(422, f"the database refused the batch: {_db_reason(exc)}") from None
        except OperationalError as exc:
            # Disk full, lock timeout, connection lost: the batch was rolled back whole; try later.
            raise HTTPException(503, f"the database is unavailable: {_db_reason(exc)}",
                                headers={"Retry-After": "1"}) from None

    async def save_file(project: str, run_id: str, relpath: str, request: Request) -> dict[str, Any]:
        if L.project_problem(project) or L.run_id_problem(run_id):
            raise HTTPException(422, f"bad project or run id: {L.project_problem(project) or L.run_id_problem(run_id)}")
        try:
            rel = safe_media_path(relpath)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limits.max_media_bytes:
            raise HTTPException(413, f"media file is {declared} bytes; the limit is {limits.max_media_bytes}")
        try:
            size = await store.save(project, run_id, rel, request.stream(), limits.max_media_bytes)
        except TooLarge as exc:
            raise HTTPException(413, str(exc)) from None
        except OSError as exc:
            raise HTTPException(503, f"cannot store the file now: {type(exc).__name__}: {str(exc)[:200]}",
                                headers={"Retry-After": "1"}) from None
        return {"path": rel, "bytes": size}

    @router.put("/ingest/file", dependencies=[need_token], status_code=201)
    async def ingest_file_q(request: Request, project: str = Query(...), run_id: str = Query(...),
                            path: str = Query(...)) -> dict[str, Any]:
        """Store one media file (raw body, streamed). Replays overwrite it with the same bytes.
        Run ids may hold ``/`` and spaces, so they travel as a query parameter."""
        return await save_file(project, run_id, path, request)

    @router.put("/ingest/files/{project}/{run_id}/{relpath:path}", dependencies=[need_token],
                status_code=201, include_in_schema=False)
    async def ingest_file(project: str, run_id: str, relpath: str, request: Request) -> dict[str, Any]:
        """The older form of ``/ingest/file`` (run ids without ``/``)."""
        return await save_file(project, run_id, relpath, request)

    return router


def _db_reason(exc: Exception) -> str:
    orig = getattr(exc, "orig", None)
    return (str(orig) if orig is not None else str(exc)).splitlines()[0][:300]


def _decode_chunks(batch: IngestBatch, room: int) -> list[tuple[str, Any]]:
    """Unpack and validate the packed metric chunks of a batch (vectorised, no per-point object)."""
    if not batch.chunks:
        return []
    from seetrain.server.columnar import decode_chunk

    out = []
    total = 0
    for i, chunk in enumerate(batch.chunks):
        try:
            cols = decode_chunk(chunk.data)
        except ValueError as exc:
            raise HTTPException(422, f"chunks[{i}] ({chunk.key[:60]!r}): {exc}") from None
        total += len(cols.seq)
        if total > room:
            raise HTTPException(413, f"batch has more than {room} points; the limit is {room}")
        out.append((chunk.key, cols))
    return out


def _check_same(table: str, incoming: dict[int, tuple[Any, ...]], stored: dict[int, tuple[Any, ...]]) -> None:
    for seq, old in stored.items():
        new = incoming.get(seq)
        if new is not None and not _same(new, old):
            raise Conflict(f"{table} seq {seq} is already stored with different content "
                           f"(stored {_short(old)}, sent {_short(new)}): the data stays on the client")


def _same(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if isinstance(x, float) and isinstance(y, float):
            if not (x == y or (x != x and y != y)):
                return False
        elif isinstance(x, (int, float)) and isinstance(y, (int, float)):
            if float(x) != float(y):
                return False
        elif x != y:
            return False
    return True


def _short(row: tuple[Any, ...]) -> str:
    return str(row)[:120]


def _store_batch(db: Database, batch: IngestBatch, columns: list[tuple[str, Any]]) -> IngestResult:
    n = batch.record_count() + sum(len(c.seq) for _, c in columns)
    fresh: dict[tuple[str, str], int] = {}
    with db.writer() as conn:
        status = _store_in(db, conn, batch, columns, n, fresh)
    db.remember(fresh)  # only now: the transaction that found these keys has committed
    return IngestResult(batch_id=batch.batch_id, status=status, records=n)


def _store_in(db: Database, conn: Any, batch: IngestBatch, columns: list[tuple[str, Any]], n: int,
              fresh: dict[tuple[str, str], int]) -> Literal["stored", "duplicate"]:
    if batch.run is not None:
        snap = batch.run
        fields = snap.model_dump(exclude={"snapshot_at", "group", "tags", "config", "metadata",
                                          "summary", "stats"})
        fields.update(group_name=snap.group, tags=_dump(snap.tags), config=_dump(snap.config),
                      metadata=_dump(snap.metadata), summary=_dump(snap.summary), stats=_dump(snap.stats))
        run_pk = db.upsert_run(conn, batch.project, batch.run_id, fields, snap.snapshot_at, fresh)
    else:
        run_pk = db.run_pk(conn, batch.project, batch.run_id, fresh)
    if batch.store is not None:
        owner = db.claim_store(conn, run_pk, batch.store)
        if owner != batch.store:
            raise Conflict(
                f"run {batch.run_id!r} of project {batch.project!r} on this server holds data from another "
                f"local store (a resume id used from two logdirs or machines): nothing was stored; "
                f"the client keeps the data and `seetrain sync --as NEW_ID` uploads it under a new id")
    if db.batch_seen(conn, run_pk, batch.batch_id):
        return "duplicate"
    if n == 0:
        return "stored"
    points = _points_by_key(batch.scalars, columns)
    if points:
        _store_points(db, conn, run_pk, points)
    media_rows: list[dict[str, Any]] = [{"run_pk": run_pk, "seq": r.seq, "key": r.key, "step": r.step, "ts": r.ts, "kind": r.kind,
                   "path": r.path, "caption": r.caption, "payload": _dump(r.payload)} for r in batch.media]
    console_rows: list[dict[str, Any]] = [{"run_pk": run_pk, "seq": r.seq, "ts": r.ts, "stream": r.stream, "line": r.line}
                    for r in batch.console]
    for table, rows, fields_ in (("media", media_rows, ("key", "step", "ts", "kind", "path", "caption")),
                                 ("console", console_rows, ("ts", "stream", "line"))):
        if not rows:
            continue
        seqs = [r["seq"] for r in rows]
        if len(set(seqs)) != len(seqs):
            raise Conflict(f"{table}: the batch holds one seq twice")
        stored = db.existing(conn, table, run_pk, min(seqs), max(seqs), fields_)
        if stored:
            _check_same(table, {r["seq"]: tuple(r[f] for f in fields_) for r in rows}, stored)
            rows = [r for r in rows if r["seq"] not in stored]
        db.insert_records(conn, table, rows)
    return "stored" if db.mark_batch(conn, batch.batch_id, run_pk, n) else "duplicate"


def _points_by_key(records: list[ScalarIn], columns: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """JSON scalar records and decoded chunks as one (key, Columns) list, each in seq order."""
    if not records:
        return columns
    from seetrain.server.columnar import columns_from_records

    grouped: dict[str, list[tuple[int, int, float, float]]] = {}
    for r in records:
        value = NONFINITE[r.special] if r.special else (math.nan if r.value is None else r.value)
        grouped.setdefault(r.key, []).append((r.seq, r.step, r.ts, value))
    return [*columns, *((key, columns_from_records(rows)) for key, rows in grouped.items())]


def _store_points(db: Database, conn: Any, run_pk: int, points: list[tuple[str, Any]]) -> None:
    """Store metric points as chunks: a seq the run already holds is skipped when equal
    (a replay with other batch boundaries) and a 409 when different."""
    import numpy as np

    from seetrain.storage.chunks import Columns

    db.lock_run(conn, run_pk)
    all_seq = np.sort(np.concatenate([cols.seq for _, cols in points]))
    if len(all_seq) > 1 and not bool((all_seq[1:] > all_seq[:-1]).all()):
        raise Conflict("scalars: the batch holds one seq twice")
    stored = db.stored_points(conn, run_pk, int(all_seq[0]), int(all_seq[-1]))
    if stored:
        known = np.fromiter(stored, dtype=np.int64, count=len(stored))
        fresh_points = []
        for key, cols in points:
            seen = np.isin(cols.seq, known)
            for i in np.flatnonzero(seen).tolist():
                new = (key, int(cols.step[i]), float(cols.ts[i]), float(cols.value[i]))
                if not _same(new, stored[int(cols.seq[i])]):
                    raise Conflict(f"scalars seq {int(cols.seq[i])} is already stored with different content "
                                   f"(stored {_short(stored[int(cols.seq[i])])}, sent {_short(new)}): "
                                   "the data stays on the client")
            if not seen.all():
                keep = ~seen
                fresh_points.append((key, Columns(*(np.ascontiguousarray(a[keep])
                                                    for a in (cols.seq, cols.step, cols.ts, cols.value)))))
        points = fresh_points
    db.insert_chunks(conn, run_pk, points)

