"""Sending local artifacts to a tracking server (``seetrain sync``, online mode).

For each version the server has not acknowledged yet (remembered per server in the local
registry's ``remote_sync`` table): ask which blobs the server lacks, upload each in chunks
(resuming at the server's offset, so a killed upload continues where it stopped and no byte
already received is sent again), verify, then commit the version; lineage records follow. A
version whose blobs the server already holds (from another version, run or client) costs one
small request. Client memory is one chunk (``SEETRAIN_ARTIFACT_CHUNK_MB``, default 8 MiB).

HTTP calls are retried with tenacity (connection errors, timeouts, 5xx, 429) with exponential
backoff; a 401/403 or another 4xx stops the sync with :class:`UploadError`.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from seetrain._settings import default, setting
from seetrain.artifacts.manifest import artifacts_root
from seetrain.artifacts.registry import Registry, VersionRow

log = logging.getLogger("seetrain")
DEFAULT_CHUNK = int(default("SEETRAIN_ARTIFACT_CHUNK_MB") * 1024 * 1024)


class UploadError(Exception):
    """The server refused the upload (auth, validation): retrying will not help."""


@dataclass
class UploadStats:
    versions: int = 0
    blobs: int = 0
    bytes_sent: int = 0
    usage: int = 0
    skipped_versions: int = 0
    errors: list[str] = field(default_factory=list)


def _chunk_bytes() -> int:
    return max(1, int(setting("SEETRAIN_ARTIFACT_CHUNK_MB") * 1024 * 1024))


class _Retryable(Exception):
    pass


class ArtifactUploader:
    """One HTTP client to one server (``host``, e.g. ``http://127.0.0.1:5092``)."""

    def __init__(self, host: str, api_key: str | None = None, chunk_bytes: int | None = None,
                 timeout: float = 60.0, attempts: int = 5, backoff_max: float = 10.0) -> None:
        import httpx

        host = host.strip().rstrip("/")
        self.target = host if "://" in host else "http://" + host
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(base_url=self.target, headers=headers, timeout=timeout)
        self.chunk_bytes = chunk_bytes or _chunk_bytes()
        self.attempts = attempts
        self.backoff_max = backoff_max
        self.stats = UploadStats()

    def close(self) -> None:
        self._client.close()

    # ---- HTTP with retries -------------------------------------------------------------------
    def _call(self, method: str, url: str, *, ok: Iterable[int] = (200,),
              body: Callable[[], Iterator[bytes]] | None = None, **kwargs: Any) -> Any:
        import httpx
        from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

        allowed = set(ok)
        for attempt in Retrying(stop=stop_after_attempt(self.attempts), reraise=True,
                                wait=wait_exponential(multiplier=0.2, max=self.backoff_max),
                                retry=retry_if_exception_type((_Retryable, httpx.TransportError))):
            with attempt:
                if body is not None:
                    kwargs["content"] = body()  # a fresh iterator for each attempt
                resp = self._client.request(method, url, **kwargs)
                if resp.status_code in allowed:
                    return resp
                if resp.status_code >= 500 or resp.status_code == 429:
                    raise _Retryable(f"{method} {url}: {resp.status_code}")
                raise UploadError(f"{method} {url}: {resp.status_code} {resp.text[:300]}")
        raise AssertionError("unreachable")

    # ---- one blob ------------------------------------------------------------------------------
    def upload_blob(self, project: str, digest: str, path: str) -> int:
        """Send the bytes the server lacks; returns how many were sent now."""
        base = f"/api/v1/artifacts/{project}/blobs/{digest}"
        status = self._call("GET", f"{base}/upload").json()
        if status["complete"]:
            return 0
        offset = int(status["offset"])
        size = os.path.getsize(path)
        sent = 0
        busy_waits = 0
        with open(path, "rb") as f:
            while offset < size:
                length = min(self.chunk_bytes, size - offset)
                resp = self._call("PUT", f"{base}/upload", params={"offset": offset}, ok=(200, 409),
                                  body=functools.partial(_pieces, f, offset, length),
                                  headers={"Content-Type": "application/octet-stream",
                                           "Content-Length": str(length)})
                body = resp.json()
                if resp.status_code == 409:
                    detail = body.get("error")
                    if isinstance(detail, dict) and "offset" in detail:
                        offset = int(detail["offset"])  # the server has more (or less) than we thought
                        continue
                    # Another client is sending this blob right now: wait, then continue from its offset.
                    busy_waits += 1
                    if busy_waits > 60:
                        raise UploadError(f"blob {digest} stays busy on the server: {detail}")
                    time.sleep(min(0.1 * busy_waits, 2.0))
                    status = self._call("GET", f"{base}/upload").json()
                    if status["complete"]:
                        return sent
                    offset = int(status["offset"])
                    continue
                if body.get("complete"):
                    return sent
                sent += length
                self.stats.bytes_sent += length
                offset = int(body["offset"])
        resp = self._call("POST", f"{base}/complete", ok=(200, 422))
        if resp.status_code == 422:  # the received bytes were wrong (the server dropped them): once more
            return sent + self.upload_blob(project, digest, path)
        self.stats.blobs += 1
        return sent

    # ---- versions ---------------------------------------------------------------------------
    def push_version(self, registry: Registry, project: str, row: VersionRow) -> str:
        _, files, _ = registry.details(row.id)
        digests = sorted({f.sha256 for f in files})
        missing: list[str] = []
        for i in range(0, len(digests), 10_000):
            missing += self._call("POST", f"/api/v1/artifacts/{project}/blobs/missing",
                                  json={"sha256": digests[i:i + 10_000]}).json()["missing"]
        for digest in missing:
            self.upload_blob(project, digest, registry.blobs.path(digest))
        aliases = [a for a in registry.details(row.id)[0] if a != "latest"]
        body = {"name": row.name, "type": row.type, "aliases": aliases, "metadata": row.metadata,
                "description": row.description, "created_by": row.created_by,
                "files": [{"path": f.path, "size": f.size, "sha256": f.sha256} for f in files]}
        result = self._call("POST", f"/api/v1/artifacts/{project}/versions", json=body).json()
        self.stats.versions += 1
        return str(result["version"])

    def push_project(self, logdir: str, project: str, run_ids: Iterable[str] | None = None,
                     on_version: Callable[[str], None] | None = None) -> UploadStats:
        """Send every version of ``project`` (made by ``run_ids`` when given) not sent before,
        then the lineage records."""
        registry = Registry(artifacts_root(logdir, project))
        if not registry.exists:
            return self.stats
        wanted = set(run_ids) if run_ids else None
        done = registry.synced(self.target, "version")
        for row in registry.versions():
            if wanted is not None and row.created_by not in wanted:
                continue
            if str(row.id) in done:
                self.stats.skipped_versions += 1
                continue
            remote = self.push_version(registry, project, row)
            registry.mark_synced(self.target, "version", str(row.id), remote)
            if on_version is not None:
                on_version(f"{project}/{row.name}:v{row.version} -> {remote}")
        sent_usage = registry.synced(self.target, "usage")
        sent_versions = registry.synced(self.target, "version")
        for row in registry.versions():
            if str(row.id) not in sent_versions:
                continue
            for use in registry.details(row.id)[2]:
                key = f"{row.id}:{use['run_id']}"
                if key in sent_usage or (wanted is not None and use["run_id"] not in wanted):
                    continue
                self._call("POST", f"/api/v1/artifacts/{project}/usage",
                           json={"name": row.name, "digest": row.digest, "run_id": use["run_id"]})
                registry.mark_synced(self.target, "usage", key)
                self.stats.usage += 1
        return self.stats


_PIECE = 256 * 1024


def _pieces(f: Any, offset: int, length: int) -> Iterator[bytes]:
    """The request body of one chunk, read in 256 KiB pieces: memory stays at one piece, however
    large the chunk (whole 8 MiB bytes objects per request made glibc's heap grow with the file)."""
    f.seek(offset)
    left = length
    while left > 0:
        piece = f.read(min(_PIECE, left))
        if not piece:
            raise OSError("the stored file is shorter than recorded")
        left -= len(piece)
        yield piece


def projects_in(logdir: str, project: str | None = None) -> list[str]:
    from seetrain.artifacts.reader import projects_with_artifacts

    found = projects_with_artifacts(logdir)
    return [p for p in found if project is None or p == project]


# ---- online mode: a background sender per process ------------------------------------------------
class BackgroundSender:
    """Sends a run's new versions from a daemon thread, so ``log_artifact`` returns after hashing
    and storing locally; ``run.finish()`` waits for it (up to ``SEETRAIN_ARTIFACT_UPLOAD_TIMEOUT``
    seconds, default 600). What is not sent then stays for ``seetrain sync``."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._queue: list[tuple[str, str, str, str | None]] = []
        self._busy = False
        self._thread: threading.Thread | None = None
        self._failures: set[str] = set()

    def submit(self, logdir: str, project: str, host: str, api_key: str | None) -> None:
        with self._cond:
            item = (logdir, project, host, api_key)
            if item not in self._queue:
                self._queue.append(item)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="seetrain-artifact-upload", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._queue:
                    self._cond.wait()
                logdir, project, host, api_key = self._queue.pop(0)
                self._busy = True
            try:
                uploader = ArtifactUploader(host, api_key)
                try:
                    uploader.push_project(logdir, project)
                finally:
                    uploader.close()
            except Exception as exc:  # noqa: BLE001 - the local copy is safe; sync sends it later
                kind = f"{host}:{type(exc).__name__}"
                if kind not in self._failures:
                    self._failures.add(kind)
                    log.warning("seetrain: artifact upload to %s failed (%s: %s); the versions stay local, "
                                "`seetrain sync` sends them later", host, type(exc).__name__, exc)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def flush(self, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and not self._busy, timeout=timeout)


_sender = BackgroundSender()
_flush_registered: set[int] = set()


def schedule_online_upload(run: Any) -> None:
    """After ``run.log_artifact`` in online mode: send in the background, wait at finish."""
    host = getattr(run.settings, "host", None)
    if getattr(run, "mode", None) != "online" or not host:
        return
    _sender.submit(run.settings.logdir, run.project, host, getattr(run.settings, "api_key", None))
    if id(run) not in _flush_registered:
        _flush_registered.add(id(run))
        timeout = setting("SEETRAIN_ARTIFACT_UPLOAD_TIMEOUT")
        on_finish = getattr(run, "on_finish", None)
        if on_finish is not None:
            on_finish(lambda _run: _sender.flush(timeout))


def push_all(logdir: str, host: str, api_key: str | None = None, project: str | None = None,
             run_ids: Iterable[str] | None = None, echo: Callable[[str], None] = print) -> bool:
    """``seetrain sync`` / ``seetrain artifact push``: send every project's unsent versions.
    Returns False when something could not be sent (it stays local for the next sync)."""
    ok = True
    uploader = ArtifactUploader(host, api_key)
    try:
        for proj in projects_in(logdir, project):
            before = (uploader.stats.versions, uploader.stats.blobs, uploader.stats.bytes_sent)
            try:
                uploader.push_project(logdir, proj, run_ids or None)
            except Exception as exc:  # noqa: BLE001 - report, keep the rest going
                ok = False
                echo(f"artifacts of {proj}: not all sent ({type(exc).__name__}: {exc})")
                if isinstance(exc, UploadError) and (" 401 " in str(exc) or " 403 " in str(exc)):
                    break
                continue
            versions, blobs, sent = (now - then for now, then in
                                     zip((uploader.stats.versions, uploader.stats.blobs, uploader.stats.bytes_sent),
                                         before))
            if versions:
                echo(f"artifacts of {proj}: sent {versions} versions, {blobs} files, {sent} bytes")
    finally:
        uploader.close()
    return ok
