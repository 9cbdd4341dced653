"""Artifacts pushed to a `seetrain server` whose media store is an S3 bucket (moto's S3 server on
127.0.0.1): blobs land in the bucket, reads come back through a deletable local cache."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import httpx
import pytest

import seetrain
from seetrain.artifacts.upload import ArtifactUploader
from tests.e2e.test_scale_out import moto_s3
from tests.servers import LiveServer

pytestmark = pytest.mark.e2e
TOKEN = "s3-token"
BUCKET = "seetrain-artifacts"


def test_push_to_an_s3_backed_server(tmp_path: Path, logdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    boto3 = pytest.importorskip("boto3")
    from seetrain.artifacts import registry as registry_module
    from seetrain.commands.server import ServerConfig, build_app

    payload = os.urandom(12 * 1024 * 1024 + 5)  # > 8 MB: boto3 sends it as a multipart upload
    src = tmp_path / "model"
    src.mkdir()
    (src / "weights.bin").write_bytes(payload)
    (src / "config.json").write_text('{"layers": 2}')
    run = seetrain.init(project="p", logdir=str(logdir))
    run.log_artifact(src, name="net", type="model", aliases=["best"])
    run.finish()
    with moto_s3(tmp_path) as s3_url:
        for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                           "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": s3_url}.items():
            monkeypatch.setenv(key, value)
        s3 = boto3.client("s3", endpoint_url=s3_url)
        s3.create_bucket(Bucket=BUCKET)
        media = tmp_path / "media"
        config = ServerConfig(db=f"sqlite:///{tmp_path / 'srv.sqlite'}", media_dir=str(media), token=TOKEN,
                              media_store=f"s3://{BUCKET}/srv")
        server = LiveServer(build_app(config)).start()
        try:
            uploader = ArtifactUploader(server.url, TOKEN, chunk_bytes=4 * 1024 * 1024)
            uploader.push_project(str(logdir), "p")
            uploader.close()
            assert uploader.stats.versions == 1 and uploader.stats.blobs == 2
            digest = hashlib.sha256(payload).hexdigest()
            key = f"srv/_artifacts/p/sha256/{digest[:2]}/{digest[2:]}"
            assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == payload
            # Drop the server's local cache: reads fetch from the bucket again.
            shutil.rmtree(media / "artifacts" / "p" / "_artifacts" / "objects")
            resp = httpx.get(f"{server.url}/api/v1/projects/p/artifacts/net/best/file/weights.bin")
            assert resp.status_code == 200 and resp.content == payload
            again = ArtifactUploader(server.url, TOKEN)
            again.push_project(str(logdir), "p")  # nothing new: the bucket already holds it
            again.close()
            assert again.stats.bytes_sent == 0 and again.stats.skipped_versions == 1
            remote = seetrain.Api(media / "artifacts").artifact("p/net:best")
            assert remote.verify() == []
        finally:
            server.stop()
            registry_module._BLOB_BACKENDS.pop(os.path.abspath(media / "artifacts"), None)
