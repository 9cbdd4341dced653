"""The replicator: the local store is the outbox, the cursor moves only on acknowledgement,
and replays (a crash, ``seetrain sync``) are stored once. Online mode against a real server."""

from __future__ import annotations

import math
import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest

import seetrain
from seetrain.cli import run as cli_run
from seetrain.storage.store import DB_NAME
from seetrain.sync.replicator import Replicator, RunUploader
from seetrain.sync.transport import MemoryTransport
from tests.servers import ServerProcess, free_port

TOKEN = "replicator-test-token"


def _local_run(logdir: Path, **kw):
    return seetrain.init(project="rep", logdir=str(logdir), mode="local", reinit="create_new", **kw)


def _attach(run, transport, **kw) -> Replicator:
    return run.start_upload(transport=transport, target="mem://server", interval=0.02, batch_size=64, **kw)


def _cursor(run_dir: str, target: str) -> tuple[int, int, int]:
    conn = sqlite3.connect(os.path.join(run_dir, DB_NAME))
    try:
        return conn.execute("SELECT scalars_seq, media_seq, console_seq FROM replication WHERE target = ?",
                            (target,)).fetchone()
    finally:
        conn.close()


def test_everything_arrives_once_in_order(logdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mem = MemoryTransport()
    run = _local_run(logdir, group="g")
    _attach(run, mem, upload_timeout=10)
    for i in range(500):
        run.log({"loss": 1.0 / (i + 1), "acc": math.nan if i == 3 else i})
    run.log({"txt": seetrain.Text("<b>bold</b>")})
    run.log_console("stdout", "hello")
    run.finish()
    scalars = mem.records[("rep", run.id, "scalars")]
    assert sorted(scalars) == list(range(1, 1001))
    assert scalars[8]["special"] == "nan"  # step 3's acc
    assert mem.records[("rep", run.id, "media")][1]["payload"] == {"text": "<b>bold</b>"}
    assert mem.records[("rep", run.id, "console")][1]["line"] == "hello"
    snapshot = mem.runs[("rep", run.id)]
    assert snapshot["status"] == "finished" and snapshot["group"] == "g"
    assert _cursor(run.dir, "mem://server") == (1000, 1, 1)
    line = capsys.readouterr().err
    assert "sent 1002 records" in line and "kept locally 0" in line and "dropped 0" in line
    stats = seetrain.Api(logdir).run(run.id).stats
    assert stats["upload_records_sent"] == 1002 and stats["upload_kept_locally"] == 0


def test_server_down_keeps_records_locally_then_sync_sends_them_once(
        logdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mem = MemoryTransport()
    mem.down = True
    run = _local_run(logdir)
    _attach(run, mem, upload_timeout=0.2)
    for i in range(200):
        run.log({"x": i})
    run.finish()
    line = capsys.readouterr().err
    assert "kept locally 200" in line and "seetrain sync" in line and f"--run {run.id}" in line
    assert run.get_stats()["upload_records_sent"] == 0
    assert not mem.records.get(("rep", run.id, "scalars"))
    mem.down = False
    up = RunUploader(run.dir, mem, "mem://server", batch_size=50)
    assert up.drain()
    up.close()
    assert sorted(mem.records[("rep", run.id, "scalars")]) == list(range(1, 201))
    assert mem.runs[("rep", run.id)]["status"] == "finished"
    # A second sync finds nothing to send.
    up = RunUploader(run.dir, mem, "mem://server")
    assert up.pending() == {"scalars": 0, "media": 0, "console": 0}
    before = mem.counts["stored_batches"]
    up.drain()
    up.close()
    assert mem.counts["stored_batches"] == before


def test_replay_after_lost_cursor_is_stored_once(logdir: Path) -> None:
    mem = MemoryTransport()
    run = _local_run(logdir)
    _attach(run, mem, upload_timeout=10)
    for i in range(300):
        run.log({"x": i})
    run.finish()
    # A crash between "server stored" and "cursor saved" looks like this: the cursor is behind.
    conn = sqlite3.connect(os.path.join(run.dir, DB_NAME))
    conn.execute("UPDATE replication SET scalars_seq = 100")
    conn.commit()
    conn.close()
    up = RunUploader(run.dir, mem, "mem://server", batch_size=64)
    assert up.drain()
    up.close()
    assert sorted(mem.records[("rep", run.id, "scalars")]) == list(range(1, 301))
    assert mem.counts["calls"] > 0


def test_a_refused_batch_stops_the_run_keeps_its_data_and_says_so(logdir: Path, capsys) -> None:
    """A permanent 4xx for a batch: no halving, nothing dropped, the cursor stays before it."""
    mem = MemoryTransport()
    mem.reject[37] = 422
    run = _local_run(logdir)
    rep = _attach(run, mem, upload_timeout=10)
    for i in range(100):
        run.log({"x": i})
    run.finish()
    stored = sorted(mem.records.get(("rep", run.id, "scalars"), {}))
    assert 37 not in stored and stored == list(range(1, len(stored) + 1))
    assert _cursor(run.dir, "mem://server")[0] == len(stored)
    line = capsys.readouterr().err
    assert f"kept locally {100 - len(stored)}" in line and "upload stopped" in line and "HTTP 422" in line
    assert "dropped 0" in line
    assert rep.state == "stopped"
    saved = seetrain.Api(str(logdir)).run(run.dir).stats
    assert "HTTP 422" in saved["upload_stopped"] and saved["upload_kept_locally"] == 100 - len(stored)
    # Once the server accepts the batch, sync sends exactly what is left.
    mem.reject.clear()
    up = RunUploader(run.dir, mem, "mem://server", batch_size=64)
    assert up.drain()
    up.close()
    assert sorted(mem.records[("rep", run.id, "scalars")]) == list(range(1, 101))


def test_a_batch_failing_with_5xx_is_retried_up_to_the_cap_then_reported(logdir: Path, capsys) -> None:
    mem = MemoryTransport()
    mem.down = True
    run = _local_run(logdir)
    rep = run.start_upload(30, transport=mem, target="mem://server", start=False, interval=0.0, batch_size=64,
                           max_batch_attempts=3)
    for i in range(10):
        run.log({"x": i})
    assert run.flush()
    rep.start()
    run.finish()
    line = capsys.readouterr().err
    assert rep.state == "stopped" and "3 times in a row" in line and "kept locally 10" in line
    assert mem.counts["calls"] == 3
    assert run.stats["upload_batch_attempts_max"] == 3


def test_log_is_never_blocked_by_the_network(logdir: Path, capsys) -> None:
    """With the server down and the breaker open, the training thread still only appends to
    the writer queue: every record lands in the local store."""
    mem = MemoryTransport()
    mem.down = True
    run = _local_run(logdir)
    _attach(run, mem, upload_timeout=0.1)
    for i in range(20_000):
        run.log({"a": i, "b": -i})
    run.finish()
    assert seetrain.Api(logdir).run(run.id).point_count() == 40_000
    assert "kept locally 40000" in capsys.readouterr().err


# ---- online mode against a real server process ----------------------------------------------
@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("server")
    srv = ServerProcess(f"sqlite:///{base / 'srv.sqlite'}", base / "media", token=TOKEN).start()
    yield srv
    srv.stop()


def test_online_mode_uploads_scalars_media_console(logdir: Path, live_server: ServerProcess,
                                                   monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setenv("SEETRAIN_API_KEY", TOKEN)
    run = seetrain.init(project="online", logdir=str(logdir), mode="online", host=live_server.url,
                        group="ddp", config={"lr": 0.01}, upload_timeout=15)
    for i in range(1000):
        seetrain.log({"loss": 1.0 / (i + 1)})
    seetrain.log({"img": seetrain.Image(np.full((4, 4, 3), 200, dtype=np.uint8), caption="c"),
                  "t": seetrain.Text("<script>x</script>")})
    run.log_event("llm_call", {"model": "m", "output_text": "ok"})
    seetrain.finish()
    assert "kept locally 0" in capsys.readouterr().err
    remote = live_server.get(f"/api/v1/runs/online/{run.id}").json()
    local = seetrain.Api(logdir).run(run.id)
    assert remote["status"] == "finished" and remote["group"] == "ddp" and remote["config"] == {"lr": 0.01}
    series = live_server.get(f"/api/v1/runs/online/{run.id}/metric",
                             params={"key": "loss", "max_points": 20000}).json()
    assert series["total"] == 1000
    assert series["value"] == [v for _, _, v in local.scalars("loss")]
    (img,) = live_server.get(f"/api/v1/runs/online/{run.id}/media", params={"kind": "image"}).json()
    with open(local.media("img")[0].path, "rb") as fh:
        assert live_server.get(f"/api/v1/runs/online/{run.id}/file/{img['file']}").content == fh.read()
    text = live_server.get(f"/api/v1/runs/online/{run.id}/media", params={"kind": "text"}).json()
    assert text[0]["payload"]["text"] == "<script>x</script>"
    assert live_server.get(f"/api/v1/runs/online/{run.id}/events", params={"kind": "llm_call"}).json()


def test_offline_run_then_sync_twice(logdir: Path, live_server: ServerProcess, capsys) -> None:
    run = seetrain.init(project="offline", logdir=str(logdir), mode="offline")
    for i in range(2500):
        seetrain.log({"x": float(i)})
    seetrain.finish()
    args = ["sync", str(logdir), "--host", live_server.url, "--api-key", TOKEN]
    cli_run(args)
    assert "offline/" + run.id + ": sent 2500 records" in capsys.readouterr().out
    cli_run(args)
    assert "sent 0 records" in capsys.readouterr().out
    series = live_server.get(f"/api/v1/runs/offline/{run.id}/metric", params={"key": "x"}).json()
    assert series["total"] == 2500


def test_wrong_key_keeps_everything_local(logdir: Path, live_server: ServerProcess,
                                          monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setenv("SEETRAIN_API_KEY", "not-the-token")
    run = seetrain.init(project="denied", logdir=str(logdir), mode="online", host=live_server.url,
                        upload_timeout=5)
    for i in range(50):
        seetrain.log({"x": i})
    seetrain.finish()
    line = capsys.readouterr().err
    assert "kept locally 50" in line and "refused the API key" in line
    assert live_server.get(f"/api/v1/runs/denied/{run.id}").status_code == 404


def test_unreachable_host_does_not_slow_finish_beyond_the_timeout(logdir: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("SEETRAIN_RETRY_MAX", "0")
    run = seetrain.init(project="nohost", logdir=str(logdir), mode="online",
                        host=f"http://127.0.0.1:{free_port()}", upload_timeout=0.3)
    for i in range(100):
        seetrain.log({"x": i})
    seetrain.finish()
    line = capsys.readouterr().err
    assert "kept locally 100" in line and f"seetrain sync {logdir}" in line
    assert seetrain.Api(logdir).run(run.id).point_count() == 100


def test_sync_of_a_store_from_before_chunks_sends_every_point(tmp_path: Path) -> None:
    import shutil

    src = Path(__file__).resolve().parents[1] / "fixtures" / "v1_store"
    shutil.copytree(src, tmp_path / "v1")
    mem = MemoryTransport()
    up = RunUploader(str(tmp_path / "v1" / "legacy" / "v1run"), mem, "mem://server", batch_size=1000)
    assert up.drain()
    up.close()
    got = mem.records[("legacy", "v1run", "scalars")]
    assert sorted(got) == list(range(1, len(got) + 1)) and len(got) == 6000
    assert mem.records[("legacy", "v1run", "media")] and mem.records[("legacy", "v1run", "console")]
