"""The dashboard's artifact API over a real logdir (FastAPI TestClient)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import seetrain
from seetrain.server.app import create_app
from seetrain.server.local_source import LocalSource


@pytest.fixture
def store(tmp_path: Path) -> dict:
    logdir = tmp_path / "logs"
    model = tmp_path / "model"
    model.mkdir()
    (model / "weights.bin").write_bytes(b"\x00\x01" * 4096)
    (model / "<b>config<i>.json").write_text('{"a": 1}')
    maker = seetrain.init(project="proj", experiment_name="maker", logdir=str(logdir))
    maker.log({"loss": 1.0})
    maker.log_artifact(model, name="net", type="model", aliases=["best"], metadata={"acc": 0.9})
    (model / "weights.bin").write_bytes(b"\x02" * 100)
    maker.log_artifact(model, name="net", type="model")
    maker.finish()
    user = seetrain.init(project="proj", experiment_name="user", logdir=str(logdir))
    user.use_artifact("net:best")
    user.finish()
    return {"logdir": logdir, "maker": maker.id, "user": user.id}


def test_artifact_endpoints(store: dict, tmp_path: Path) -> None:
    client = TestClient(create_app(LocalSource(store["logdir"])))
    listing = client.get("/api/v1/projects/proj/artifacts").json()
    assert [(a["name"], a["type"], a["versions"]) for a in listing] == [("net", "model", ["v0", "v1"])]
    assert listing[0]["aliases"] == {"best": "v0", "latest": "v1"}
    versions = client.get("/api/v1/projects/proj/artifacts/net/versions").json()
    assert [v["version"] for v in versions] == ["v0", "v1"] and "files" not in versions[0]
    best = client.get("/api/v1/projects/proj/artifacts/net/best").json()
    assert best["version"] == "v0" and best["created_by"] == store["maker"]
    assert [u["run_id"] for u in best["used_by"]] == [store["user"]]
    assert {f["path"] for f in best["files"]} == {"weights.bin", "<b>config<i>.json"}
    resp = client.get("/api/v1/projects/proj/artifacts/net/v0/file/weights.bin")
    assert resp.status_code == 200 and resp.content == b"\x00\x01" * 4096
    assert hashlib.sha256(resp.content).hexdigest() == next(f["sha256"] for f in best["files"]
                                                            if f["path"] == "weights.bin")
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert client.get("/api/v1/projects/proj/artifacts/net/v0/file/nope").status_code == 404
    assert client.get("/api/v1/projects/proj/artifacts/net/v7").status_code == 404
    assert client.get("/api/v1/projects/proj/artifacts/nope/versions").status_code == 404
    assert client.get("/api/v1/projects/empty/artifacts").json() == []
    assert client.get("/api/v1/projects/proj/artifacts/bad:name/v0").status_code in (400, 404)
    made = client.get(f"/api/v1/runs/proj/{store['maker']}/artifacts").json()
    assert [v["version"] for v in made["created"]] == ["v0", "v1"] and made["used"] == []
    used = client.get(f"/api/v1/runs/proj/{store['user']}/artifacts").json()
    assert used["created"] == [] and [v["version"] for v in used["used"]] == ["v0"]
    # The artifact store is not a run.
    assert {r["name"] for r in client.get("/api/v1/projects/proj/runs").json()} == {"maker", "user"}


def test_artifact_endpoints_need_the_read_token(store: dict) -> None:
    client = TestClient(create_app(LocalSource(store["logdir"]), read_token="secret"))
    assert client.get("/api/v1/projects/proj/artifacts").status_code == 401
    ok = client.get("/api/v1/projects/proj/artifacts", headers={"Authorization": "Bearer secret"})
    assert ok.status_code == 200 and ok.json()[0]["name"] == "net"
