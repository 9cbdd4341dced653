"""Faults against real server processes: kill -9 and restart mid-run, a server answering
500/429/slow/dropped, and a client SIGKILLed mid-upload followed by ``seetrain sync``.
Each ends with the same check: every record the local store holds is on the server once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import seetrain
from seetrain.cli import run as cli_run
from seetrain.server.db import Database
from tests.servers import ROOT, ScriptedServer, ServerProcess, chunk_points

pytestmark = pytest.mark.e2e
TOKEN = "fault-token"

FAST_TIMINGS = {"SEETRAIN_BREAKER_FAIL_MAX": "2", "SEETRAIN_BREAKER_RESET": "0.3", "SEETRAIN_RETRY_MAX": "1",
                "SEETRAIN_BACKOFF_BASE": "0.05", "SEETRAIN_BACKOFF_MAX": "0.2", "SEETRAIN_HTTP_TIMEOUT": "2",
                "SEETRAIN_REPLICATOR_INTERVAL": "0.05"}


@pytest.fixture
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in FAST_TIMINGS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("SEETRAIN_API_KEY", TOKEN)


@pytest.fixture
def server(tmp_path: Path):
    srv = ServerProcess(f"sqlite:///{tmp_path / 'srv' / 'srv.sqlite'}", tmp_path / "srv" / "media", token=TOKEN)
    (tmp_path / "srv").mkdir()
    srv.start()
    yield srv
    srv.stop()


def _wait_for(predicate, timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _assert_exactly_once(db_url: str, project: str, run: seetrain.api.RunView) -> None:
    db = Database(db_url, create=False)
    try:
        rows = db.scalar_rows(project, run.id)
    finally:
        db.dispose()
    local = sorted((seq, key, step, value) for key in run.keys()
                   for seq, step, value in zip(*(getattr(run.columns(key), f).tolist()
                                                 for f in ("seq", "step", "value"))))
    assert len(rows) == len(local), f"server has {len(rows)} points, local store {len(local)}"
    assert [(s, k, st, v) for s, k, st, v, _ in rows] == [tuple(r) for r in local]


def test_server_killed_and_restarted_mid_run(logdir: Path, server: ServerProcess, fast: None,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    run = seetrain.init(project="crash", logdir=str(logdir), mode="online", host=server.url, upload_timeout=30)
    slowest = 0.0
    for i in range(60):
        if i == 15:
            server.kill()
            _wait_for(lambda: run.stats["upload_connection_errors"] > 0, what="the replicator to notice")
        if i == 45:
            server.start()
        for j in range(100):
            t0 = time.perf_counter()
            seetrain.log({"loss": 1.0 / (i * 100 + j + 1), "i": i})
            slowest = max(slowest, time.perf_counter() - t0)
        time.sleep(0.02)
    seetrain.finish()
    line = capsys.readouterr().err
    assert "kept locally 0" in line and "dropped 0" in line
    stats = seetrain.Api(logdir).run(run.id).stats
    assert stats["upload_breaker_open"] >= 1 and stats["upload_breaker_closed"] >= 1
    _assert_exactly_once(server.db, "crash", seetrain.Api(logdir).run(run.id))
    print(f"slowest log() call while the server was down and back: {slowest * 1e6:.0f} us")


def test_breaker_opens_and_closes_on_a_faulty_server(logdir: Path, fast: None,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    with ScriptedServer() as srv:
        srv.push(("status", 500, {}), ("status", 503, {}), ("status", 429, {"Retry-After": "0"}),
                 ("drop",), ("slow", 3.0), ("status", 502, {}))
        run = seetrain.init(project="faulty", logdir=str(logdir), mode="online", host=srv.url, upload_timeout=30)
        for i in range(400):
            seetrain.log({"x": i})
        seetrain.finish()
        seqs = {r["seq"] for body in srv.posts() for r in chunk_points(body)}
    line = capsys.readouterr().err
    assert "kept locally 0" in line
    assert seqs == set(range(1, 401))
    stats = seetrain.Api(logdir).run(run.id).stats
    assert stats["upload_breaker_open"] >= 1 and stats["upload_breaker_closed"] >= 1
    assert stats["upload_http_500"] == 1 and stats["upload_http_429"] == 1
    assert stats["upload_connection_errors"] + stats["upload_timeouts"] >= 1


CLIENT = """
import sys, time
import seetrain
run = seetrain.init(project="killed", logdir=sys.argv[1], mode="online", host=sys.argv[2])
for i in range(60_000):
    seetrain.log({"a": i, "b": i * 0.5})
run.flush()
print(run.id, flush=True)
time.sleep(600)
"""


def test_client_sigkilled_mid_upload_then_sync(logdir: Path, server: ServerProcess) -> None:
    env = {**os.environ, **FAST_TIMINGS, "PYTHONPATH": str(ROOT), "SEETRAIN_API_KEY": TOKEN,
           "SEETRAIN_UPLOAD_BATCH": "500", "SEETRAIN_SYSTEM_MONITOR": "0", "SEETRAIN_CAPTURE_CONSOLE": "0"}
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(CLIENT), str(logdir), server.url],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    try:
        run_id = proc.stdout.readline().strip()
        assert run_id, proc.stderr.read()

        def some_uploaded() -> bool:
            r = server.get(f"/api/v1/runs/killed/{run_id}/metric", params={"key": "a", "max_points": 2})
            return r.status_code == 200 and r.json()["total"] > 0

        _wait_for(some_uploaded, what="the first uploaded batch")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        proc.stdout.close()
        proc.stderr.close()
    run = seetrain.Api(logdir).run(run_id)
    assert run.point_count() == 120_000
    cli_run(["sync", str(logdir), "--host", server.url, "--api-key", TOKEN])
    _assert_exactly_once(server.db, "killed", run)
    cli_run(["sync", str(logdir), "--host", server.url, "--api-key", TOKEN])  # twice changes nothing
    _assert_exactly_once(server.db, "killed", run)


def test_six_concurrent_60mb_uploads_keep_server_memory_bounded(tmp_path: Path) -> None:
    """Bodies are streamed to storage: 6 x 60 MB at once stays under 300 MB RSS (whole
    bodies buffered took the server to ~750 MB)."""
    import threading

    import httpx
    import psutil

    (tmp_path / "srv").mkdir()
    srv = ServerProcess(f"sqlite:///{tmp_path / 'srv' / 'srv.sqlite'}", tmp_path / "srv" / "media",
                        token=TOKEN).start()
    size, piece = 60 * 1024 * 1024, b"\x5a" * (1024 * 1024)
    peak = [0]
    done = threading.Event()
    proc = psutil.Process(srv.proc.pid)

    def watch() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], proc.memory_info().rss)
            time.sleep(0.01)

    def upload(i: int, answers: list[int]) -> None:
        def body():
            for _ in range(size // len(piece)):
                yield piece
        r = httpx.put(f"{srv.url}/api/v1/ingest/files/big/r/media/blob/{i}.bin", content=body(), headers={"authorization": f"Bearer {TOKEN}",
                                               "content-length": str(size)}, timeout=120)
        answers.append(r.status_code)

    try:
        watcher = threading.Thread(target=watch)
        watcher.start()
        answers: list[int] = []
        threads = [threading.Thread(target=upload, args=(i, answers)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        done.set()
        watcher.join()
    finally:
        done.set()
        srv.stop()
    assert answers == [201] * 6
    for i in range(6):
        assert (tmp_path / "srv" / "media" / "big" / "r" / "media" / "blob" / f"{i}.bin").stat().st_size == size
    assert peak[0] < 300 * 1024 * 1024, f"server peaked at {peak[0] / 2**20:.0f} MB"
    print(f"server RSS peak during 6 x 60 MB uploads: {peak[0] / 2**20:.0f} MB")


def test_server_disk_full_mid_batch_never_misfiles_the_retry(tmp_path: Path) -> None:
    """The server's disk fills up during a new run's first batch (RLIMIT_FSIZE on the server
    process: every write past 32 KB fails as on a full disk). That batch is answered 503 and
    rolled back whole; once space is back, another new run and then the retry are each filed
    under their own run: the failed batch left no cached key behind and no key is reused."""
    import json
    import resource
    import sqlite3

    import httpx

    (tmp_path / "srv").mkdir()
    db_path = tmp_path / "srv" / "srv.sqlite"
    srv = ServerProcess(f"sqlite:///{db_path}", tmp_path / "srv" / "media", token=TOKEN).start()
    headers = {"authorization": f"Bearer {TOKEN}", "content-type": "application/json"}

    def post(run_id: str, key: str, n: int) -> httpx.Response:
        rows = [{"seq": s, "key": key, "step": s, "ts": 1000.0 + s, "value": s * 0.5} for s in range(1, n + 1)]
        body = {"batch_id": f"{run_id}/1-{n}", "project": "full", "run_id": run_id, "scalars": rows}
        return httpx.post(srv.url + "/api/v1/ingest/batch", content=json.dumps(body), headers=headers, timeout=30)

    try:
        assert post("filler", "f", 500).status_code == 200
        conn = sqlite3.connect(db_path)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        resource.prlimit(srv.proc.pid, resource.RLIMIT_FSIZE, (32 * 1024, resource.RLIM_INFINITY))
        full = post("run-a", "a", 5000)
        resource.prlimit(srv.proc.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        assert post("run-b", "b", 300).status_code == 200
        retry = post("run-a", "a", 5000)
        assert retry.status_code == 200 and retry.json()["status"] == "stored"
    finally:
        srv.stop()
    db = Database(f"sqlite:///{db_path}", create=False)
    try:
        assert {k for _, k, *_ in db.scalar_rows("full", "run-a")} == {"a"}
        assert len(db.scalar_rows("full", "run-a")) == 5000
        assert [(s, k) for s, k, *_ in db.scalar_rows("full", "run-b")] == [(s, "b") for s in range(1, 301)]
    finally:
        db.dispose()
    # Temporary, with the reason: the client keeps the batch and retries it.
    assert full.status_code == 503 and ("full" in full.text or "disk" in full.text), full.text
