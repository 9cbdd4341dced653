"""Where the tracking server keeps uploaded media files: a local folder or S3-compatible
object storage (``--media-store s3://bucket/prefix``).

Uploads are streamed: the body goes to a temporary file chunk by chunk (never whole in
memory), then is moved into place (local) or sent with a multipart upload (S3), so six
concurrent 60 MB uploads cost a few MB of RAM each. Run folders are named from the project
and the percent-encoded run id, so any valid run id (``"my exp 1"``, ``"bert/large"``) maps
to exactly one folder inside the store and none can leave it.
"""

from __future__ import annotations

import os
import pathlib
import tempfile
import threading
from collections.abc import AsyncIterator
from typing import Any, Protocol
from urllib.parse import quote, urlparse

from seetrain._settings import setting
from seetrain.server.datasource import resolve_media_file

__all__ = ["MediaStore", "LocalMediaStore", "S3MediaStore", "TooLarge", "open_media_store", "run_prefix"]


class TooLarge(Exception):
    """The upload went past the size limit (the partial file is discarded)."""


def run_prefix(project: str, run_id: str) -> str:
    """``project/<run id percent-encoded>``: one path segment per part whatever the id holds.
    Ids made of ``A-Za-z0-9_.-~`` map to themselves (older servers used them verbatim)."""
    return f"{quote(project, safe='')}/{quote(run_id, safe='')}"


class MediaStore(Protocol):
    description: str

    async def save(self, project: str, run_id: str, relpath: str, body: AsyncIterator[bytes],
                   limit: int) -> int: ...

    def local_path(self, project: str, run_id: str, relpath: str) -> pathlib.Path | None: ...


async def _spool(body: AsyncIterator[bytes], directory: str, limit: int) -> tuple[str, int]:
    """Write the body to a temp file in ``directory``; (path, size). TooLarge past ``limit``."""
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".upload-")
    size = 0
    try:
        with os.fdopen(fd, "wb") as fh:
            async for chunk in body:
                size += len(chunk)
                if size > limit:
                    raise TooLarge(f"media file exceeds the limit of {limit} bytes")
                fh.write(chunk)
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp, size


class LocalMediaStore:
    """Files under ``root/<project>/<run id>/media/...``."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = pathlib.Path(root).resolve()
        self.description = str(self.root)

    def _run_root(self, project: str, run_id: str) -> pathlib.Path:
        return self.root.joinpath(*run_prefix(project, run_id).split("/"))

    async def save(self, project: str, run_id: str, relpath: str, body: AsyncIterator[bytes], limit: int) -> int:
        target = self._run_root(project, run_id).joinpath(*relpath.split("/"))
        tmp, size = await _spool(body, str(target.parent), limit)
        os.replace(tmp, target)  # atomic: a reader sees the old file or the new one
        return size

    def local_path(self, project: str, run_id: str, relpath: str) -> pathlib.Path | None:
        return resolve_media_file(self._run_root(project, run_id), relpath)


class S3MediaStore:
    """Objects ``<prefix>/<project>/<run id>/media/...`` in an S3 bucket (AWS, MinIO, moto...).

    The endpoint comes from ``AWS_ENDPOINT_URL`` (or ``SEETRAIN_S3_ENDPOINT_URL``) and the
    credentials from boto3's usual chain (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` ...).
    Reads download an object once into a local cache folder, which any replica can rebuild.
    """

    def __init__(self, url: str, cache_dir: str | os.PathLike[str]) -> None:
        import boto3

        parsed = urlparse(url)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise ValueError(f"media store {url!r}: expected s3://bucket/prefix")
        self.bucket = parsed.netloc
        self.prefix = parsed.path.strip("/")
        endpoint = setting("SEETRAIN_S3_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT_URL") or None
        self.client: Any = boto3.client("s3", endpoint_url=endpoint)
        from botocore.exceptions import BotoCoreError, ClientError

        try:  # fail at start, with the reason, rather than on the first upload
            self.client.head_bucket(Bucket=self.bucket)
        except (BotoCoreError, ClientError) as exc:
            raise ValueError(f"media store {url}: cannot reach the bucket ({exc})") from None
        self.cache = pathlib.Path(cache_dir).resolve()
        self.spool = self.cache / ".spool"
        self.description = url
        self._lock = threading.Lock()

    def _key(self, project: str, run_id: str, relpath: str) -> str:
        parts = [p for p in (self.prefix, run_prefix(project, run_id), relpath) if p]
        return "/".join(parts)

    async def save(self, project: str, run_id: str, relpath: str, body: AsyncIterator[bytes], limit: int) -> int:
        from botocore.exceptions import BotoCoreError, ClientError
        from starlette.concurrency import run_in_threadpool

        tmp, size = await _spool(body, str(self.spool), limit)
        try:
            await run_in_threadpool(self.client.upload_file, tmp, self.bucket,
                                    self._key(project, run_id, relpath))
        except (BotoCoreError, ClientError) as exc:
            raise OSError(f"object storage refused the upload: {exc}") from exc  # a 503: try later
        finally:
            os.unlink(tmp)
        cached = self.cache.joinpath(*run_prefix(project, run_id).split("/"), *relpath.split("/"))
        if cached.is_file():
            cached.unlink()  # a replay may change the bytes: fetch again on the next read
        return size

    def local_path(self, project: str, run_id: str, relpath: str) -> pathlib.Path | None:
        run_root = self.cache.joinpath(*run_prefix(project, run_id).split("/"))
        found = resolve_media_file(run_root, relpath)
        if found is not None:
            return found
        # Same checks as for a local file before anything is fetched: inside media/, no '..'.
        if "\0" in relpath or os.path.isabs(relpath) or ".." in relpath.split("/"):
            return None
        target = run_root.joinpath(*relpath.split("/"))
        if not target.resolve().is_relative_to((run_root / "media").resolve()):
            return None
        from botocore.exceptions import BotoCoreError, ClientError

        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".fetch-")
        os.close(fd)
        try:
            self.client.download_file(self.bucket, self._key(project, run_id, relpath), tmp)
            os.replace(tmp, target)
        except (BotoCoreError, ClientError):
            os.unlink(tmp)
            return None
        return resolve_media_file(run_root, relpath)


def open_media_store(spec: str, cache_dir: str | None = None) -> MediaStore:
    """``s3://bucket/prefix`` or a local folder."""
    if spec.startswith("s3://"):
        cache = cache_dir or os.path.join(tempfile.gettempdir(), "seetrain-media-cache")
        return S3MediaStore(spec, cache)
    return LocalMediaStore(spec)
