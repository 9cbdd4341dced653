"""The tracking server on a real PostgreSQL: idempotent ingest, and two server processes
(as behind a load balancer) sharing one database without duplicating anything."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import seetrain
from seetrain.server.db import Database
from tests.servers import ROOT, ServerProcess, fresh_database, postgres_base_url

pytestmark = pytest.mark.e2e
TOKEN = "pg-token"


@pytest.fixture(scope="module")
def pg_base():
    with postgres_base_url() as url:
        yield url


@pytest.fixture
def pg_url(pg_base: str):
    with fresh_database(pg_base) as url:
        yield url


def test_database_layer_stores_replays_once(pg_url: str) -> None:
    db = Database(pg_url)
    try:
        rows = [{"seq": s, "key": "loss", "step": s, "ts": 1.0, "value": s / 10, "special": None}
                for s in range(1, 101)]
        for _ in range(2):
            with db.engine.begin() as conn:
                pk = db.upsert_run(conn, "p", "r", {"status": "running", "group_name": "g"}, 1.0)
                db.insert_records(conn, "scalars", [{**r, "run_pk": pk} for r in rows])
                db.mark_batch(conn, "p/r/scalars/1-100", pk, 100)
        with db.engine.begin() as conn:
            assert db.batch_seen(conn, pk, "p/r/scalars/1-100")
            db.upsert_run(conn, "p", "r", {"status": "finished"}, 2.0)
            db.upsert_run(conn, "p", "r", {"status": "running"}, 1.5)  # late, older snapshot
        assert db.count("scalars") == 100 and db.count("runs") == 1
        assert [r[0] for r in db.scalar_rows("p", "r")] == list(range(1, 101))
        from seetrain.server.db_source import DbSource

        src = DbSource(db, "/nonexistent")
        (run,) = src.runs("p")
        assert run["status"] == "finished" and run["group"] == "g"
        assert src.metric("p", "r", "loss", max_points=1000)["total"] == 100
    finally:
        db.dispose()


def test_two_servers_share_one_database(pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    media = tmp_path / "media"  # shared storage, as two servers behind one balancer would mount it
    media.mkdir()
    servers = [ServerProcess(pg_url, media, token=TOKEN, log_path=tmp_path / f"s{i}.log") for i in range(2)]
    for srv in servers:
        srv.start()
    try:
        monkeypatch.setenv("SEETRAIN_API_KEY", TOKEN)
        logdir = tmp_path / "logs"
        ids = []
        for rank, srv in enumerate(servers):  # rank 0 talks to server A, rank 1 to server B
            run = seetrain.init(project="ddp", logdir=str(logdir), mode="online", host=srv.url,
                                group="job-1", upload_timeout=30, reinit="create_new")
            for i in range(3000):
                run.log({"loss": 1.0 / (i + 1), "rank": rank})
            run.finish()
            ids.append(run.id)
        # Both servers replay the whole logdir at the same time: every run now reaches the
        # database through both processes, concurrently.
        env = {"PYTHONPATH": str(ROOT), "SEETRAIN_API_KEY": TOKEN}
        procs = [subprocess.Popen([sys.executable, "-m", "seetrain.cli", "sync", str(logdir), "--host",
                                   srv.url + "/"], env={**os.environ, **env},
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for srv in servers]
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, out + err
        db = Database(pg_url, create=False)
        try:
            assert db.count("runs", "ddp") == 2
            assert db.count("scalars", "ddp") == 2 * 3000 * 2
            for rid in ids:
                assert [r[0] for r in db.scalar_rows("ddp", rid)] == list(range(1, 6001))
        finally:
            db.dispose()
        # Either server shows both ranks, as one group.
        for srv in servers:
            runs = srv.get("/api/v1/projects/ddp/runs").json()
            assert sorted(r["id"] for r in runs) == sorted(ids)
            assert {r["group"] for r in runs} == {"job-1"} and {r["status"] for r in runs} == {"finished"}
    finally:
        for srv in servers:
            srv.stop()
