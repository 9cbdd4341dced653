"""Artifact blobs of the tracking server on S3-compatible object storage (``--media-store s3://...``).

Objects are ``<prefix>/_artifacts/<project>/sha256/ab/cdef...``. The registry (names, versions,
aliases, lineage) stays in the server's local SQLite file under ``<media-dir>/artifacts``; the
local blob folder beside it is a cache that can be deleted at any time: a read fetches a missing
blob from the bucket again. A verified upload goes to the bucket with boto3's managed transfer
(multipart above 8 MB in 8 MB parts, two in flight: about 16 MB of buffers), then into the cache.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

from seetrain._settings import setting
from seetrain.artifacts.blobs import BlobStore
from seetrain.artifacts.registry import register_blob_backend

__all__ = ["S3BlobStore", "use_s3_for_artifacts"]


class S3BlobStore(BlobStore):
    """A :class:`BlobStore` whose source of truth is a bucket; ``root`` is the local cache."""

    def __init__(self, root: str, client: Any, bucket: str, prefix: str) -> None:
        from boto3.s3.transfer import TransferConfig

        super().__init__(root)
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        # Bounded memory per transfer (boto3's default is 10 parts in flight).
        self.transfer = TransferConfig(multipart_threshold=8 << 20, multipart_chunksize=8 << 20, max_concurrency=2)

    def key(self, digest: str) -> str:
        return f"{self.prefix}/{digest[:2]}/{digest[2:]}"

    def _head(self, digest: str) -> dict[str, Any] | None:
        from botocore.exceptions import ClientError

        try:
            return self.client.head_object(Bucket=self.bucket, Key=self.key(digest))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    def has(self, digest: str) -> bool:
        return self._head(digest) is not None

    def size(self, digest: str) -> int:
        head = self._head(digest)
        if head is None:
            raise FileNotFoundError(digest)
        return int(head["ContentLength"])

    def path(self, digest: str) -> str:
        """The cached copy, fetched from the bucket first when absent (a path that does not
        exist when the bucket has no such object either)."""
        local = super().path(digest)
        if os.path.isfile(local):
            return local
        from botocore.exceptions import ClientError

        os.makedirs(os.path.dirname(local), exist_ok=True)
        tmp = f"{local}.fetch-{secrets.token_hex(4)}"
        try:
            self.client.download_file(self.bucket, self.key(digest), tmp, Config=self.transfer)
            os.chmod(tmp, 0o444)
            os.replace(tmp, local)
        except ClientError:
            pass
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return local

    def adopt(self, src: str, digest: str) -> None:
        self.client.upload_file(src, self.bucket, self.key(digest), Config=self.transfer)
        super().adopt(src, digest)

    def put(self, src: str, link: str = "copy") -> tuple[str, int, int]:
        digest, size, stored = super().put(src, link)
        if not self.has(digest):
            self.client.upload_file(super().path(digest), self.bucket, self.key(digest), Config=self.transfer)
        return digest, size, stored

    def remove(self, digest: str) -> int:
        size = self.size(digest) if self.has(digest) else 0
        self.client.delete_object(Bucket=self.bucket, Key=self.key(digest))
        super().remove(digest)
        return size

    def iter_digests(self) -> Iterator[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix + "/")
        for page in pages:
            for obj in page.get("Contents", []):
                rest = obj["Key"][len(self.prefix) + 1:]
                fan, _, name = rest.partition("/")
                if len(fan) == 2 and name and "/" not in name:
                    yield fan + name


def use_s3_for_artifacts(logdir: str, url: str) -> None:
    """Registries under ``logdir`` keep their blobs in the bucket of ``url`` (``s3://bucket/prefix``).
    Endpoint and credentials as for the media store (``AWS_ENDPOINT_URL`` or
    ``SEETRAIN_S3_ENDPOINT_URL``, boto3's credential chain)."""
    import boto3

    parsed = urlparse(url)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ValueError(f"artifact store {url!r}: expected s3://bucket/prefix")
    endpoint = setting("SEETRAIN_S3_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT_URL") or None
    client = boto3.client("s3", endpoint_url=endpoint)
    bucket, base = parsed.netloc, parsed.path.strip("/")

    def factory(folder: str, project: str) -> BlobStore:
        prefix = "/".join(p for p in (base, "_artifacts", project, "sha256") if p)
        return S3BlobStore(folder, client, bucket, prefix)

    register_blob_backend(logdir, factory)
