"""Artifacts sent to a real tracking server (uvicorn on 127.0.0.1): sync, resume, dedup, online mode."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

import seetrain
from seetrain.artifacts.upload import ArtifactUploader, push_all
from seetrain.cli import main
from tests.helpers import run_python
from tests.servers import LiveServer

TOKEN = "write-token"


@pytest.fixture
def server(tmp_path: Path):
    from seetrain.commands.server import ServerConfig, build_app

    media = tmp_path / "media"
    config = ServerConfig(db=f"sqlite:///{tmp_path / 'srv.sqlite'}", media_dir=str(media), token=TOKEN)
    live = LiveServer(build_app(config)).start()
    live.media = media
    yield live
    live.stop()


def _server_api(server) -> seetrain.Api:
    return seetrain.Api(server.media / "artifacts")


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _log_two_versions(logdir: Path, tmp_path: Path) -> tuple[str, str]:
    src = tmp_path / "model"
    _write(src / "shared.bin", os.urandom(300_000))
    _write(src / "head.bin", b"0")
    maker = seetrain.init(project="p", logdir=str(logdir), reinit="create_new")
    maker.log_artifact(src, name="net", type="model", aliases=["best"], metadata={"acc": 0.5})
    _write(src / "head.bin", b"1")
    maker.log_artifact(src, name="net", type="model")
    maker.finish()
    user = seetrain.init(project="p", logdir=str(logdir), reinit="create_new")
    user.use_artifact("net:best")
    user.finish()
    return maker.id, user.id


def test_sync_sends_versions_files_and_lineage_once(server, logdir, tmp_path):
    maker, user = _log_two_versions(logdir, tmp_path)
    out = CliRunner().invoke(main, ["sync", str(logdir), "--host", server.url, "--api-key", TOKEN])
    assert out.exit_code == 0, out.output
    assert "artifacts of p: sent 2 versions, 3 files" in out.output
    remote = _server_api(server)
    [coll] = remote.artifacts("p")
    assert coll.versions == ["v0", "v1"] and coll.aliases == {"best": "v0", "latest": "v1"}
    v0 = remote.artifact("p/net:best")
    assert v0.created_by == maker and v0.used_by == [user] and v0.metadata == {"acc": 0.5}
    local = seetrain.Api(logdir).artifact("p/net:v0")
    assert [(f.path, f.sha256) for f in v0.files] == [(f.path, f.sha256) for f in local.files]
    assert v0.verify() == [] and remote.artifact("p/net:v1").verify() == []
    # The server's dashboard lists them too.
    listing = httpx.get(f"{server.url}/api/v1/projects/p/artifacts").json()
    assert listing[0]["name"] == "net" and listing[0]["versions"] == ["v0", "v1"]
    # Nothing is sent twice: a second sync, and another client holding the same files.
    again = ArtifactUploader(server.url, TOKEN)
    again.push_project(str(logdir), "p")
    assert (again.stats.bytes_sent, again.stats.versions, again.stats.skipped_versions) == (0, 0, 2)
    again.close()
    other = tmp_path / "other-logs"
    run = seetrain.init(project="p", logdir=str(other), reinit="create_new")
    run.log_artifact(tmp_path / "model", name="copy", type="model")
    run.finish()
    third = ArtifactUploader(server.url, TOKEN)
    third.push_project(str(other), "p")
    assert third.stats.versions == 1 and third.stats.bytes_sent == 0
    third.close()


def test_a_killed_upload_resumes_where_it_stopped(server, logdir, tmp_path):
    payload = os.urandom(6 * 1024 * 1024 + 123)
    run = seetrain.init(project="p", logdir=str(logdir))
    run.log_artifact(_write(tmp_path / "big.ckpt", payload), name="big", type="model")
    run.finish()
    # A real process SIGKILLed by itself after its third chunk reached the server.
    code = f"""
        import os, signal
        from seetrain.artifacts import upload
        original = upload.ArtifactUploader._call
        puts = []
        def call(self, method, url, **kw):
            resp = original(self, method, url, **kw)
            if method == "PUT":
                puts.append(1)
                if len(puts) == 3:
                    os.kill(os.getpid(), signal.SIGKILL)
            return resp
        upload.ArtifactUploader._call = call
        upload.push_all({str(logdir)!r}, {server.url!r}, {TOKEN!r})
    """
    proc = run_python(code, env={"SEETRAIN_ARTIFACT_CHUNK_MB": "1"})
    assert proc.returncode == -9, proc.stderr
    digest = hashlib.sha256(payload).hexdigest()
    status = httpx.get(f"{server.url}/api/v1/artifacts/p/blobs/{digest}/upload",
                       headers={"Authorization": f"Bearer {TOKEN}"}).json()
    assert status == {"offset": 3 * 1024 * 1024, "complete": False}
    resumed = ArtifactUploader(server.url, TOKEN, chunk_bytes=1024 * 1024)
    resumed.push_project(str(logdir), "p")
    assert resumed.stats.bytes_sent == len(payload) - 3 * 1024 * 1024  # only what was missing
    resumed.close()
    remote = _server_api(server).artifact("p/big:latest")
    out = remote.download(tmp_path / "dl")
    assert (Path(out) / "big.ckpt").read_bytes() == payload


def test_upload_protocol_refuses_bad_input(server):
    auth = {"Authorization": f"Bearer {TOKEN}"}
    data = b"hello artifact"
    digest = hashlib.sha256(data).hexdigest()
    base = f"{server.url}/api/v1/artifacts/p/blobs/{digest}"
    assert httpx.get(f"{base}/upload").status_code == 401
    assert httpx.get(f"{base}/upload", headers={"Authorization": "Bearer nope"}).status_code == 403
    assert httpx.get(f"{server.url}/api/v1/artifacts/p/blobs/xyz/upload", headers=auth).status_code == 400
    wrong = httpx.put(f"{base}/upload", params={"offset": 5}, content=data, headers=auth)
    assert wrong.status_code == 409 and wrong.json()["error"]["offset"] == 0
    assert httpx.put(f"{base}/upload", params={"offset": 0}, content=b"not it", headers=auth).status_code == 200
    bad = httpx.post(f"{base}/complete", headers=auth)
    assert bad.status_code == 422  # the bytes do not hash to the name: dropped
    assert httpx.get(f"{base}/upload", headers=auth).json() == {"offset": 0, "complete": False}
    version = {"name": "x", "type": "model", "files": [{"path": "a.bin", "size": len(data), "sha256": digest}]}
    missing = httpx.post(f"{server.url}/api/v1/artifacts/p/versions", json=version, headers=auth)
    assert missing.status_code == 409 and missing.json()["error"]["missing"] == [digest]
    assert httpx.put(f"{base}/upload", params={"offset": 0}, content=data, headers=auth).json()["offset"] == len(data)
    assert httpx.post(f"{base}/complete", headers=auth).json() == {"complete": True, "size": len(data)}
    unsafe = dict(version, files=[{"path": "../a.bin", "size": len(data), "sha256": digest}])
    assert httpx.post(f"{server.url}/api/v1/artifacts/p/versions", json=unsafe, headers=auth).status_code == 400
    ok = httpx.post(f"{server.url}/api/v1/artifacts/p/versions", json=version, headers=auth).json()
    assert ok == {"name": "x", "version": "v0", "digest": ok["digest"], "created": True}
    replay = httpx.post(f"{server.url}/api/v1/artifacts/p/versions", json=version, headers=auth).json()
    assert replay["version"] == "v0" and replay["created"] is False


def test_online_mode_uploads_in_the_background(server, logdir, tmp_path, monkeypatch):
    monkeypatch.setenv("SEETRAIN_API_KEY", TOKEN)
    run = seetrain.init(project="p", logdir=str(logdir), mode="online", host=server.url)
    version = run.log_artifact(_write(tmp_path / "w.bin", b"weights" * 1000), name="w", type="model")
    assert version is not None
    run.finish()  # waits for the background upload
    remote = _server_api(server).artifact("p/w:latest")
    assert remote.created_by == run.id and remote.verify() == []
    assert push_all(str(logdir), server.url, TOKEN) is True  # nothing left to send


def test_push_reports_a_refused_token(server, logdir, tmp_path):
    _log_two_versions(logdir, tmp_path)
    out = CliRunner().invoke(main, ["artifact", "push", "--host", server.url, "--api-key", "bad",
                                    "--logdir", str(logdir)])
    assert out.exit_code == 1 and "403" in out.output
