"""The ingest API: auth, limits, validation, idempotency, and the dashboard reading it back."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from seetrain.commands.server import ServerConfig, build_app

TOKEN = "t0ken-for-tests"
AUTH = {"authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def server(tmp_path: Path):
    config = ServerConfig(db=f"sqlite:///{tmp_path / 'srv.sqlite'}", media_dir=str(tmp_path / "media"),
                          token=TOKEN, max_request_bytes=200_000, max_batch_records=500, max_media_bytes=1000)
    app = build_app(config)
    # The Host check answers only names of the bind address (127.0.0.1) and localhost.
    with TestClient(app, base_url="http://127.0.0.1") as client:
        client.db = app.state.db
        client.media_dir = tmp_path / "media"
        yield client
    app.state.db.dispose()


def _batch(lo: int = 1, n: int = 3, *, run: dict | None = None, batch_id: str | None = None, **extra) -> dict:
    body = {"batch_id": batch_id or f"p/r1/scalars/{lo}-{lo + n - 1}", "project": "p", "run_id": "r1",
            "scalars": [{"seq": lo + i, "key": "loss", "step": lo + i, "ts": 100.0 + lo + i, "value": 1.0 / (lo + i)}
                        for i in range(n)]}
    if run is not None:
        body["run"] = run
    body.update(extra)
    return body


def _snapshot(at: float, status: str = "running", **fields) -> dict:
    return {"snapshot_at": at, "name": "first", "status": status, "created_at": 99.0, "heartbeat_at": at,
            "group": "ddp-1", "config": {"lr": 0.1, "opt": {"name": "adam"}}, **fields}


def test_health_is_open_and_schema_documents_ingest(server: TestClient) -> None:
    assert server.get("/api/v1/health").json()["ok"] is True
    paths = server.get("/openapi.json").json()["paths"]
    assert "/api/v1/ingest/batch" in paths
    assert "/api/v1/ingest/file" in paths


@pytest.mark.parametrize("headers,status", [({}, 401), ({"authorization": "Bearer wrong"}, 403),
                                            ({"authorization": "Basic abc"}, 401)])
def test_writes_need_the_token(server: TestClient, headers: dict, status: int) -> None:
    r = server.post("/api/v1/ingest/batch", json=_batch(), headers=headers)
    assert r.status_code == status
    r = server.put("/api/v1/ingest/files/p/r1/media/img/1.png", content=b"x", headers=headers)
    assert r.status_code == status
    assert server.db.count("scalars") == 0


def test_batch_is_stored_once_on_replay(server: TestClient) -> None:
    first = server.post("/api/v1/ingest/batch", json=_batch(run=_snapshot(100.0)), headers=AUTH)
    assert first.status_code == 200 and first.json() == {"batch_id": "p/r1/scalars/1-3", "status": "stored",
                                                         "records": 3}
    again = server.post("/api/v1/ingest/batch", json=_batch(run=_snapshot(100.0)), headers=AUTH)
    assert again.json()["status"] == "duplicate"
    # The same records under another batch id (a sync with another batch size) still count once.
    server.post("/api/v1/ingest/batch", json=_batch(lo=2, n=4), headers=AUTH)
    assert server.db.count("scalars") == 5
    assert [row[0] for row in server.db.scalar_rows("p", "r1")] == [1, 2, 3, 4, 5]
    assert server.db.count("runs") == 1


def test_newer_snapshot_wins_and_a_late_replay_does_not_undo_it(server: TestClient) -> None:
    server.post("/api/v1/ingest/batch", json=_batch(run=_snapshot(100.0)), headers=AUTH)
    done = _snapshot(200.0, status="finished", finished_at=199.0, name="final")
    server.post("/api/v1/ingest/batch", json=_batch(lo=4, n=1, run=done), headers=AUTH)
    server.post("/api/v1/ingest/batch", json=_batch(run=_snapshot(100.0)), headers=AUTH)  # old replay
    run = server.get("/api/v1/runs/p/r1").json()
    assert run["status"] == "finished" and run["name"] == "final"
    assert run["group"] == "ddp-1" and run["config"]["opt"]["name"] == "adam"
    assert run["keys"] == ["loss"]


def test_nonfinite_values_round_trip(server: TestClient) -> None:
    body = _batch(n=0)
    body["scalars"] = [{"seq": 1, "key": "x", "step": 0, "ts": 1.0, "value": None, "special": "nan"},
                       {"seq": 2, "key": "x", "step": 1, "ts": 2.0, "value": None, "special": "inf"},
                       {"seq": 3, "key": "x", "step": 2, "ts": 3.0, "value": 2.5}]
    body["batch_id"] = "p/r1/scalars/1-3"
    assert server.post("/api/v1/ingest/batch", json=body, headers=AUTH).status_code == 200
    series = server.get("/api/v1/runs/p/r1/metric", params={"key": "x"}).json()
    assert series["value"] == [None, None, 2.5] and series["flag"] == ["nan", "inf", None]


def test_oversized_request_is_413(server: TestClient) -> None:
    body = _batch()
    body["scalars"][0]["key"] = "k"
    body["console"] = [{"seq": 1, "ts": 1.0, "stream": "stdout", "line": "x" * 250_000}]
    r = server.post("/api/v1/ingest/batch", json=body, headers=AUTH)
    assert r.status_code == 413
    assert server.db.count("console") == 0


def test_too_many_records_is_413(server: TestClient) -> None:
    r = server.post("/api/v1/ingest/batch", json=_batch(n=501), headers=AUTH)
    assert r.status_code == 413 and "limit is 500" in r.text


def test_key_too_long_is_rejected(server: TestClient) -> None:
    body = _batch(n=1)
    body["scalars"][0]["key"] = "k" * 257
    r = server.post("/api/v1/ingest/batch", json=body, headers=AUTH)
    assert r.status_code == 422 and "key" in r.text


@pytest.mark.parametrize("payload", [b"{not json", b"[]", b'{"batch_id": "x"}', b"\xff\xfe"])
def test_malformed_json_is_a_clear_4xx(server: TestClient, payload: bytes) -> None:
    r = server.post("/api/v1/ingest/batch", content=payload,
                    headers={**AUTH, "content-type": "application/json"})
    assert 400 <= r.status_code < 500
    assert r.json()  # a JSON answer saying what was wrong


def test_unknown_fields_and_bad_names_are_refused(server: TestClient) -> None:
    assert server.post("/api/v1/ingest/batch", json=_batch(extra_field=1), headers=AUTH).status_code == 422
    bad = _batch()
    bad["project"] = "../etc"
    assert server.post("/api/v1/ingest/batch", json=bad, headers=AUTH).status_code == 422


@pytest.mark.parametrize("path", ["media/../../../outside.png", "media/%2e%2e/%2e%2e/outside.png",
                                  "media/..%2f..%2foutside.png", "etc/passwd", "media/.hidden/x",
                                  "media/a\\..\\b.png"])
def test_path_traversal_in_media_names_is_refused(server: TestClient, tmp_path: Path, path: str) -> None:
    r = server.put(f"/api/v1/ingest/files/p/r1/{path}", content=b"evil", headers=AUTH)
    assert r.status_code in (400, 404, 422)
    written = [os.path.join(d, f) for d, _, files in os.walk(tmp_path) for f in files if f.endswith(".png")]
    assert written == []


def test_path_traversal_in_a_media_record_is_refused(server: TestClient) -> None:
    body = {"batch_id": "p/r1/media/1-1", "project": "p", "run_id": "r1", "media": [
        {"seq": 1, "key": "img", "step": 0, "ts": 1.0, "kind": "image", "path": "media/../../x.png"}]}
    assert server.post("/api/v1/ingest/batch", json=body, headers=AUTH).status_code == 422
    assert server.db.count("media") == 0


def test_media_file_upload_limit_and_read_back(server: TestClient) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 100
    r = server.put("/api/v1/ingest/files/p/r1/media/img/0-1.png", content=png, headers=AUTH)
    assert r.status_code == 201
    r = server.put("/api/v1/ingest/files/p/r1/media/img/0-2.png", content=b"0" * 1001, headers=AUTH)
    assert r.status_code == 413
    body = {"batch_id": "p/r1/media/1-1", "project": "p", "run_id": "r1", "media": [
        {"seq": 1, "key": "img", "step": 0, "ts": 1.0, "kind": "image", "path": "media/img/0-1.png",
         "payload": {"width": 1, "height": 1}}]}
    assert server.post("/api/v1/ingest/batch", json=body, headers=AUTH).status_code == 200
    (item,) = server.get("/api/v1/runs/p/r1/media", params={"kind": "image"}).json()
    served = server.get(f"/api/v1/runs/p/r1/file/{item['file']}")
    assert served.content == png and served.headers["content-type"] == "image/png"
    assert server.get("/api/v1/runs/p/r1/file/media/img/0-2.png").status_code == 404


def test_html_in_text_records_is_kept_as_text(server: TestClient) -> None:
    evil = "<script>alert('x')</script><img src=x onerror=alert(1)>"
    body = {"batch_id": "p/r1/media/1-2", "project": "p", "run_id": "r1", "media": [
        {"seq": 1, "key": "sample", "step": 0, "ts": 1.0, "kind": "text", "caption": evil,
         "payload": {"text": evil}},
        {"seq": 2, "key": "llm", "step": 0, "ts": 1.0, "kind": "llm_call", "payload": {"output_text": evil}}],
        "console": [{"seq": 1, "ts": 1.0, "stream": "stdout", "line": evil}]}
    assert server.post("/api/v1/ingest/batch", json=body, headers=AUTH).status_code == 200
    r = server.get("/api/v1/runs/p/r1/media", params={"kind": "text"})
    assert r.headers["content-type"].startswith("application/json")
    (item,) = r.json()
    assert item["payload"]["text"] == evil and item["caption"] == evil  # verbatim, never rewritten
    assert server.get("/api/v1/runs/p/r1/events", params={"kind": "llm_call"}).json()[0]["payload"] == {
        "output_text": evil}
    assert server.get("/api/v1/runs/p/r1/console").json()[0]["line"] == evil


def test_groups_projects_and_compare(server: TestClient) -> None:
    for rank in range(2):
        body = _batch(run=_snapshot(100.0 + rank, hostname=f"node{rank}"), batch_id=f"p/rank{rank}/scalars/1-3")
        body["run_id"] = f"rank{rank}"
        assert server.post("/api/v1/ingest/batch", json=body, headers=AUTH).status_code == 200
    runs = server.get("/api/v1/projects/p/runs").json()
    assert {r["id"]: r["group"] for r in runs} == {"rank0": "ddp-1", "rank1": "ddp-1"}
    assert {r["hostname"] for r in runs} == {"node0", "node1"}
    assert server.get("/api/v1/projects").json()[0]["runs"] == 2
    cmp = server.get("/api/v1/projects/p/compare", params={"runs": "rank0,rank1,nope"}).json()
    assert cmp["missing"] == ["nope"] and cmp["config"]["keys"] == ["lr", "opt.name"]


def test_read_token_protects_reads(tmp_path: Path) -> None:
    config = ServerConfig(db=f"sqlite:///{tmp_path / 's.sqlite'}", media_dir=str(tmp_path / "m"), token=TOKEN,
                          read_token="reader")
    app = build_app(config)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        assert client.get("/api/v1/projects").status_code == 401
        assert client.get("/api/v1/projects", headers={"authorization": "Bearer reader"}).status_code == 200
        assert client.get("/api/v1/health").status_code == 200
    app.state.db.dispose()
