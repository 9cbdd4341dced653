"""No run's data misfiled or dropped: regression tests against real ``seetrain server``
processes on SQLite and on PostgreSQL, with real clients and injected faults (poison fields,
rollback mid-batch, id reuse, borrowed batch ids, resume ids from two stores, NUL on
PostgreSQL, foreign Host headers, failed tokens)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import seetrain
from seetrain.cli import run as cli_run
from seetrain.server.db import Database
from tests.servers import ROOT, ServerProcess, free_port, serve_both

pytestmark = pytest.mark.e2e
TOKEN = "integrity-token"
AUTH = {"authorization": f"Bearer {TOKEN}", "content-type": "application/json"}
FAST = {"SEETRAIN_BREAKER_FAIL_MAX": "3", "SEETRAIN_BREAKER_RESET": "0.3", "SEETRAIN_RETRY_MAX": "1",
        "SEETRAIN_BACKOFF_BASE": "0.05", "SEETRAIN_BACKOFF_MAX": "0.2", "SEETRAIN_REPLICATOR_INTERVAL": "0.05"}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def srv(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    yield from serve_both(request.param, tmp_path_factory.mktemp(request.param), TOKEN)


@pytest.fixture
def client_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in FAST.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("SEETRAIN_API_KEY", TOKEN)


def _post(server: ServerProcess, body: dict[str, Any] | str) -> httpx.Response:
    content = body if isinstance(body, str) else json.dumps(body)
    return httpx.post(server.url + "/api/v1/ingest/batch", content=content, headers=AUTH, timeout=30)


def _scalars(lo: int, n: int, key: str = "loss", ts0: float = 1000.0) -> list[dict[str, Any]]:
    return [{"seq": s, "key": key, "step": s, "ts": ts0 + s, "value": s / 8} for s in range(lo, lo + n)]


def _rows(server: ServerProcess, project: str, run_id: str) -> list[tuple]:
    db = Database(server.db, create=False)
    try:
        return db.scalar_rows(project, run_id)
    finally:
        db.dispose()


def _remote_run(server: ServerProcess, project: str, run_id: str) -> dict[str, Any] | None:
    from sqlalchemy import select

    from seetrain.server.db import runs

    db = Database(server.db, create=False)
    try:
        with db.engine.connect() as conn:
            row = conn.execute(select(runs).where(runs.c.project == project, runs.c.run_id == run_id)).first()
            return dict(row._mapping) if row else None
    finally:
        db.dispose()


# ---- server side: keys, batch ids, content -----------------------------------------------------
def test_a_rolled_back_batch_never_files_data_under_another_run(srv: ServerProcess) -> None:
    """A new run's first batch fails (poison field, or a conflict found mid-transaction):
    its key must not stay cached, and the next new run must not take it over."""
    project = "rollback"
    # 1. Poison: NaN timestamps (JSON allows the literal). Today: 500 after the run row was
    #    made and cached, then rolled back.
    poison = json.dumps({"batch_id": "a/1", "project": project, "run_id": "run-a",
                         "console": [{"seq": 1, "ts": 1.0, "stream": "stdout", "line": "ok"}]})
    poison = poison.replace('"ts": 1.0', '"ts": NaN')
    r = _post(srv, poison)
    assert r.status_code == 422, r.text
    # 2. A conflict found inside the transaction, after run-a's row was inserted: rolled back.
    ok = _post(srv, {"batch_id": "z/1", "project": project, "run_id": "run-z", "scalars": _scalars(1, 2)})
    assert ok.status_code == 200
    clash = _post(srv, {"batch_id": "a/2", "project": project, "run_id": "run-a",
                        "scalars": [*_scalars(1, 2), {**_scalars(1, 1)[0], "value": 99.0}]})
    assert clash.status_code == 409, clash.text
    # 3. A new run, then run-a's real data.
    assert _post(srv, {"batch_id": "b/1", "project": project, "run_id": "run-b",
                       "scalars": _scalars(1, 5, key="b")}).status_code == 200
    assert _post(srv, {"batch_id": "a/3", "project": project, "run_id": "run-a",
                       "scalars": _scalars(1, 7, key="a")}).status_code == 200
    assert [(s, k) for s, k, *_ in _rows(srv, project, "run-a")] == [(s, "a") for s in range(1, 8)]
    assert [(s, k) for s, k, *_ in _rows(srv, project, "run-b")] == [(s, "b") for s in range(1, 6)]
    assert _remote_run(srv, project, "run-a")["pk"] != _remote_run(srv, project, "run-b")["pk"]


def test_a_batch_id_borrowed_by_another_run_never_hides_the_real_batch(srv: ServerProcess) -> None:
    project = "borrowed"
    # Someone (or a confused script) with the token sends a batch under the victim's batch id.
    intruder = {"batch_id": f"{project}/victim/scalars/1-3", "project": project, "run_id": "intruder",
                "scalars": _scalars(1, 3)}
    assert _post(srv, intruder).status_code == 200
    real = {"batch_id": f"{project}/victim/scalars/1-3", "project": project, "run_id": "victim",
            "scalars": _scalars(1, 3)}
    answer = _post(srv, real)
    assert answer.status_code == 200 and answer.json()["status"] == "stored", answer.text
    assert len(_rows(srv, project, "victim")) == 3
    # A client-made id (with its store) must name the run it is sent for.
    wrong = {"batch_id": f"s1/{project}/victim/scalars/4-4", "store": "s1", "project": project,
             "run_id": "intruder", "scalars": _scalars(4, 1)}
    assert _post(srv, wrong).status_code == 409
    assert len(_rows(srv, project, "intruder")) == 3


def test_the_same_seq_with_other_content_is_a_conflict(srv: ServerProcess) -> None:
    project = "content"
    assert _post(srv, {"batch_id": "c/1", "project": project, "run_id": "r", "scalars": _scalars(1, 4)}
                 ).status_code == 200
    same = _post(srv, {"batch_id": "c/2", "project": project, "run_id": "r", "scalars": _scalars(3, 4)})
    assert same.status_code == 200  # overlap with equal content: a replay with other boundaries
    changed = _scalars(5, 3)
    changed[1]["value"] = -1.0
    r = _post(srv, {"batch_id": "c/3", "project": project, "run_id": "r", "scalars": changed})
    assert r.status_code == 409 and "seq 6" in r.json()["error"]
    assert [row[3] for row in _rows(srv, project, "r")] == [s / 8 for s in range(1, 7)]


POISON = {
    "config nested 300 deep": lambda b: b.update(run={"snapshot_at": 1.0, "config": _deep(300)}),
    "step 2**63": lambda b: b["scalars"][0].update(step=2**63),
    "seq 2**63": lambda b: b["scalars"][0].update(seq=2**63),
    "pid 2**70": lambda b: b.update(run={"snapshot_at": 1.0, "pid": 2**70}),
    "NUL in a console line": lambda b: b.update(console=[{"seq": 1, "ts": 1.0, "stream": "stdout",
                                                           "line": "a\x00b"}]),
    "NUL in the name": lambda b: b.update(run={"snapshot_at": 1.0, "name": "x\x00"}),
    "NUL in a key": lambda b: b["scalars"][0].update(key="lo\x00ss"),
    "run id with a newline": lambda b: b.update(run_id="a\nb"),
}


def _deep(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {}
    for _ in range(depth):
        node = {"k": node}
    return node


@pytest.mark.parametrize("what", sorted(POISON))
def test_poison_fields_are_a_4xx_with_a_message_never_a_500(srv: ServerProcess, what: str) -> None:
    body = {"batch_id": "p/1", "project": "poison", "run_id": "r", "scalars": _scalars(1, 2)}
    POISON[what](body)
    r = _post(srv, body)
    assert r.status_code == 422, (what, r.status_code, r.text)
    assert r.json().get("detail") or r.json().get("error")


def test_odd_but_valid_json_is_stored(srv: ServerProcess) -> None:
    """A config integer beyond 64 bits and NaN inside a summary are data, not errors."""
    text = json.dumps({"batch_id": "odd/1", "project": "poison", "run_id": "odd",
                       "run": {"snapshot_at": 1.0, "config": {"seed": 2**70, "x": [1, {"y": 2}]},
                               "summary": {"loss": 0.5}}})
    text = text.replace('"loss": 0.5', '"loss": NaN')
    r = _post(srv, text)
    assert r.status_code == 200, r.text
    remote = _remote_run(srv, "poison", "odd")
    assert json.loads(remote["config"])["x"] == [1, {"y": 2}] and json.loads(remote["config"])["seed"] == 2**70
    assert json.loads(remote["summary"]) == {"loss": None}


@pytest.mark.parametrize("field", ["ts", "snapshot_at"])
def test_nan_timestamps_are_422(srv: ServerProcess, field: str) -> None:
    body = {"batch_id": "n/1", "project": "poison", "run_id": "nan-ts",
            "run": {"snapshot_at": 1.0}, "scalars": _scalars(1, 1)}
    text = json.dumps(body).replace(f'"{field}": 1.0' if field == "snapshot_at" else '"ts": 1001.0',
                                    f'"{field}": NaN')
    assert "NaN" in text
    assert _post(srv, text).status_code == 422


# ---- real clients --------------------------------------------------------------------------
def test_a_resume_id_used_from_two_stores_is_a_conflict_with_a_way_out(
        srv: ServerProcess, tmp_path: Path, client_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    first, second = tmp_path / "one", tmp_path / "two"
    for logdir in (first, second):
        seetrain.init(project="twostores", logdir=str(logdir), mode="online", host=srv.url,
                      resume="shared-id", upload_timeout=30)
        for i in range(3000):
            seetrain.log({"x": float(i) if logdir == first else -float(i)})
        seetrain.finish()
    out = capsys.readouterr().err.strip().splitlines()
    first_line, second_line = (line for line in out if "upload to" in line)
    assert "kept locally 0" in first_line
    assert "kept locally 3000" in second_line and "another local store" in second_line, second_line
    assert "--as NEW_ID" in second_line
    status = subprocess.run([sys.executable, "-m", "seetrain.cli", "status", "--all", "--logdir", str(second)],
                            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert "upload stopped (3000 records kept locally)" in status.stdout and "another local store" in status.stdout
    assert [r[3] for r in _rows(srv, "twostores", "shared-id")] == [float(i) for i in range(3000)]
    # The documented way out: upload the second copy under a new id.
    cli_run(["sync", str(second), "--host", srv.url, "--api-key", TOKEN, "--run", "shared-id", "--as", "shared-id-2"])
    assert [r[3] for r in _rows(srv, "twostores", "shared-id-2")] == [-float(i) for i in range(3000)]
    assert len(_rows(srv, "twostores", "shared-id")) == 3000


@pytest.mark.parametrize("run_id", ["my exp 1", "bert/large"])
def test_resume_ids_with_spaces_and_slashes_upload_everything(
        srv: ServerProcess, logdir: Path, client_env: None, run_id: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    import numpy as np

    seetrain.init(project="ids", logdir=str(logdir), mode="online", host=srv.url, resume=run_id, upload_timeout=30)
    for i in range(2000):
        seetrain.log({"loss": 1.0 / (i + 1)})
    seetrain.log_image("sample", np.zeros((4, 4, 3), dtype=np.uint8))
    seetrain.finish()
    line = capsys.readouterr().err
    assert "kept locally 0" in line and "dropped 0" in line, line
    assert len(_rows(srv, "ids", run_id)) == 2000
    from seetrain.server.db_source import DbSource

    db = Database(srv.db, create=False)
    try:
        source = DbSource(db, srv.media_dir)
        (image,) = source.media("ids", run_id, kind="image")
        assert source.media_file("ids", run_id, image["file"]).read_bytes()[:4] == b"\x89PNG"
    finally:
        db.dispose()


def test_a_long_name_and_600_tags_reach_the_server(srv: ServerProcess, logdir: Path, client_env: None,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    name = "n" * 1500
    tags = [f"tag-{i}" for i in range(600)]
    run = seetrain.init(project="meta", logdir=str(logdir), mode="online", host=srv.url, name=name, tags=tags,
                        config={"lr": 0.1}, upload_timeout=30)
    seetrain.log({"x": 1.0})
    seetrain.finish()
    assert "kept locally 0" in capsys.readouterr().err
    remote = _remote_run(srv, "meta", run.id)
    assert remote["name"] == name and json.loads(remote["tags"]) == tags
    assert remote["status"] == "finished" and json.loads(remote["config"]) == {"lr": 0.1}


def test_a_nul_in_a_console_line_reaches_the_server(srv: ServerProcess, logdir: Path, client_env: None,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """PostgreSQL cannot store NUL: the uploader shows it as U+FFFD instead of the server
    answering 500 forever (and the local store keeps the original line)."""
    run = seetrain.init(project="nul", logdir=str(logdir), mode="online", host=srv.url, upload_timeout=30)
    run.log_console("stdout", "before\x00after")
    seetrain.log({"x": 1.0})
    seetrain.finish()
    assert "kept locally 0" in capsys.readouterr().err
    lines = srv.get(f"/api/v1/runs/nul/{run.id}/console").json()
    assert [line["line"] for line in lines] == ["before\ufffdafter"]


def test_a_config_nested_150_deep_does_not_block_the_run(srv: ServerProcess, logdir: Path, client_env: None,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    run = seetrain.init(project="deep", logdir=str(logdir), mode="online", host=srv.url, upload_timeout=30,
                        config={"lr": 0.1, "deep": _deep(150)})
    for i in range(500):
        seetrain.log({"x": float(i)})
    seetrain.finish()
    assert "kept locally 0" in capsys.readouterr().err
    assert len(_rows(srv, "deep", run.id)) == 500
    remote = json.loads(_remote_run(srv, "deep", run.id)["config"])
    assert remote["lr"] == 0.1 and "nested deeper" in json.dumps(remote["deep"])
    assert seetrain.Api(str(logdir)).run(run.dir).config["deep"] == _deep(150)  # kept whole locally


def test_init_refuses_a_run_id_the_server_would_refuse(logdir: Path) -> None:
    for bad in ("a\nb", "x" * 129, " padded", ".."):
        with pytest.raises(ValueError, match="run id"):
            seetrain.init(project="ids", logdir=str(logdir), mode="offline", resume=bad)
    with pytest.raises(ValueError, match="tags"):
        seetrain.init(project="ids", logdir=str(logdir), mode="offline", tags=[str(i) for i in range(1001)])


# ---- security ------------------------------------------------------------------------------
def test_foreign_host_headers_are_refused_by_server_and_ui(srv: ServerProcess, tmp_path: Path) -> None:
    url = srv.url + "/api/v1/projects"
    auth = {"authorization": f"Bearer {TOKEN}"}
    assert httpx.get(url, headers={**auth, "host": "evil.example"}, timeout=10).status_code == 400
    assert httpx.get(url, headers={**auth, "host": f"localhost:{srv.port}"}, timeout=10).status_code == 200
    assert httpx.get(url, headers=auth, timeout=10).status_code == 200  # Host: 127.0.0.1:port
    port = free_port()
    ui = subprocess.Popen([sys.executable, "-m", "seetrain.cli", "ui", "--logdir", str(tmp_path), "--port", str(port),
                           "--allowed-host", "tracker.lan"], env={**os.environ, "PYTHONPATH": str(ROOT)},
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}/api/v1/projects"
        deadline = time.monotonic() + 30
        while True:
            try:
                ok = httpx.get(base, timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "seetrain ui did not start"
                time.sleep(0.1)
        assert ok.status_code == 200
        assert httpx.get(base, headers={"host": "attacker.example"}, timeout=5).status_code == 400
        assert httpx.get(base, headers={"host": "tracker.lan"}, timeout=5).status_code == 200
    finally:
        ui.terminate()
        ui.wait(10)


def test_failed_tokens_are_rate_limited(tmp_path: Path) -> None:
    # Its own server: the limit then covers 127.0.0.1 for a minute.
    srv = ServerProcess(f"sqlite:///{tmp_path / 's.sqlite'}", tmp_path / "media", token=TOKEN,
                        log_path=tmp_path / "server.log").start()
    try:
        _guess_tokens(srv)
    finally:
        srv.stop()


def _guess_tokens(srv: ServerProcess) -> None:
    body = json.dumps({"batch_id": "t/1", "project": "tokens", "run_id": "r", "scalars": _scalars(1, 1)})
    codes = [httpx.post(srv.url + "/api/v1/ingest/batch", content=body, timeout=10,
                        headers={"authorization": f"Bearer guess-{i}", "content-type": "application/json"}
                        ).status_code for i in range(25)]
    assert codes[:20] == [403] * 20 and set(codes[20:]) == {429}, codes
    limited = httpx.post(srv.url + "/api/v1/ingest/batch", content=body, timeout=10,
                         headers={"authorization": "Bearer guess-x", "content-type": "application/json"})
    assert int(limited.headers["retry-after"]) >= 1
