"""The dashboard's JSON API over a LocalSource, on runs written by the real SDK."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

import seetrain
from seetrain.server.app import create_app
from seetrain.server.local_source import LocalSource

HTML = "<script>alert('x')</script><b>bold</b>"


@pytest.fixture
def store(tmp_path: Path) -> dict:
    logdir = tmp_path / "logs"
    a = seetrain.init(project="proj", experiment_name="alpha", config={"lr": 0.1, "opt": {"name": "adam"}},
                      tags=["base"], logdir=str(logdir), reinit="create_new")
    for step in range(50):
        a.log({"train/loss": 1.0 / (step + 1), "val/acc": step / 50}, step=step)
    a.log({"train/loss": math.nan}, step=50)
    a.log({"train/loss": math.inf}, step=51)
    a.log({"img": seetrain.Image(np.zeros((8, 8, 3), dtype=np.uint8), caption="zeros"),
           "notes": seetrain.Text(HTML), "hist": seetrain.Histogram(np.arange(100.0)),
           "snd": seetrain.Audio(np.zeros(800), sample_rate=8000)}, step=51)
    a.log_event("llm_call", {"provider": "openai", "model": "gpt-x", "input_messages": [{"role": "user", "content": "hi"}],
                             "output_text": "hello", "total_tokens": 7, "latency_s": 0.5})
    a.log_event("model_summary", {"rows": [{"name": "fc", "type": "Linear", "params": 10,
                                            "input_shape": [1, 2], "output_shape": [1, 5]}], "total_params": 10})
    a.log_console("stdout", "epoch 1 <done>")
    a.finish()
    b = seetrain.init(project="proj", experiment_name="beta", config={"lr": 0.2, "opt": {"name": "adam"}},
                      logdir=str(logdir), reinit="create_new")
    b.log({"train/loss": 0.5}, step=0)
    b.finish()
    client = TestClient(create_app(LocalSource(logdir)))
    return {"client": client, "a": a.id, "b": b.id, "logdir": logdir}


def test_projects_and_runs(store: dict) -> None:
    c = store["client"]
    assert c.get("/api/v1/projects").json() == [
        {"name": "proj", "runs": 2, "running": 0, "last_activity": pytest.approx(
            seetrain.Api(store["logdir"]).runs("proj")[-1].finished_at)}]
    runs = c.get("/api/v1/projects/proj/runs").json()
    assert [r["name"] for r in runs] == ["alpha", "beta"]
    alpha = runs[0]
    assert alpha["status"] == "finished" and alpha["tags"] == ["base"]
    assert alpha["config"]["opt.name"] == "adam"  # flattened for table columns
    assert alpha["summary"]["train/loss"]["min"] == pytest.approx(1 / 50)
    assert c.get("/api/v1/projects/nope/runs").status_code == 404


def test_run_detail(store: dict) -> None:
    run = store["client"].get(f"/api/v1/runs/proj/{store['a']}").json()
    view = seetrain.Api(store["logdir"]).run(f"proj/{store['a']}")
    assert run["config"] == view.config
    assert run["keys"] == ["train/loss", "val/acc"]
    assert run["media_keys"] == {"audio": ["snd"], "histogram": ["hist"], "image": ["img"], "text": ["notes"]}
    assert sorted(run["event_kinds"]) == ["llm_call", "model_summary"]
    assert run["metadata"]["hostname"] == view.hostname
    assert store["client"].get("/api/v1/runs/proj/missing").status_code == 404


def test_metric_series_flags_nonfinite(store: dict) -> None:
    res = store["client"].get(f"/api/v1/runs/proj/{store['a']}/metric", params={"key": "train/loss"}).json()
    assert res["total"] == 52 and res["step"] == list(range(52))
    assert res["value"][-2:] == [None, None] and res["flag"][-2:] == ["nan", "inf"]
    stored = [v for _, _, v in seetrain.Api(store["logdir"]).run(f"proj/{store['a']}").scalars("train/loss")]
    assert res["value"][:50] == pytest.approx(stored[:50])


def test_metric_range_downsampling_and_after_step(store: dict) -> None:
    c, a = store["client"], store["a"]
    small = c.get(f"/api/v1/runs/proj/{a}/metric", params={"key": "val/acc", "max_points": 10}).json()
    assert small["downsampled"] and len(small["step"]) <= 12 and small["step"][0] == 0 and small["step"][-1] == 49
    zoom = c.get(f"/api/v1/runs/proj/{a}/metric", params={"key": "val/acc", "x_min": 10, "x_max": 20}).json()
    assert zoom["in_range"] == 11 and zoom["step"] == list(range(9, 22))  # one neighbour each side
    live = c.get(f"/api/v1/runs/proj/{a}/metric", params={"key": "train/loss", "after_step": 48}).json()
    assert live["step"] == [49, 50, 51]
    rel = c.get(f"/api/v1/runs/proj/{a}/metric", params={"key": "val/acc", "x_axis": "relative"}).json()
    assert rel["x_axis"] == "relative" and rel["time"][0] >= rel["start_time"]
    multi = c.get("/api/v1/projects/proj/metric", params={"key": "train/loss", "runs": f"{a},{store['b']},ghost"}).json()
    assert set(multi["runs"]) == {a, store["b"]} and multi["runs"][store["b"]]["value"] == [0.5]


@pytest.mark.parametrize("params", [
    {"key": "train/loss", "x_axis": "epoch"}, {"key": "train/loss", "max_points": 1},
    {"key": "train/loss", "max_points": 10**9}, {"key": "train/loss", "x_min": "abc"},
    {"key": "train/loss", "x_min": 5, "x_max": 1}, {"key": "train/loss", "after_step": "x"},
    {"key": "train/loss", "x_min": "nan"}, {},
])
def test_metric_bad_parameters_are_400(store: dict, params: dict) -> None:
    res = store["client"].get(f"/api/v1/runs/proj/{store['a']}/metric", params=params)
    assert res.status_code == 400, res.text
    assert "error" in res.json()


def test_metric_unknown_key_or_run_is_404(store: dict) -> None:
    c = store["client"]
    assert c.get(f"/api/v1/runs/proj/{store['a']}/metric", params={"key": "nope"}).status_code == 404
    assert c.get("/api/v1/runs/proj/ghost/metric", params={"key": "train/loss"}).status_code == 404


def test_media_and_files(store: dict) -> None:
    c, a = store["client"], store["a"]
    media = c.get(f"/api/v1/runs/proj/{a}/media").json()
    assert {m["kind"] for m in media} == {"image", "audio", "text", "histogram"}
    image = c.get(f"/api/v1/runs/proj/{a}/media", params={"kind": "image"}).json()[0]
    assert image["caption"] == "zeros" and image["file"].startswith("media/")
    png = c.get(f"/api/v1/runs/proj/{a}/file/{image['file']}")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png" and png.content[:4] == b"\x89PNG"
    assert png.headers["x-content-type-options"] == "nosniff"
    hist = c.get(f"/api/v1/runs/proj/{a}/media", params={"kind": "histogram"}).json()[0]
    assert sum(hist["payload"]["counts"]) == 100
    assert c.get(f"/api/v1/runs/proj/{a}/media", params={"kind": "video"}).status_code == 400


def test_text_records_come_back_as_plain_text(store: dict) -> None:
    res = store["client"].get(f"/api/v1/runs/proj/{store['a']}/media", params={"kind": "text"})
    assert res.headers["content-type"] == "application/json"
    assert res.json()[0]["payload"]["text"] == HTML  # verbatim: the front end renders it with textContent


@pytest.mark.parametrize("relpath", ["../run.sqlite", "media/../run.sqlite", "..%2Frun.sqlite",
                                     "media/../../../etc/passwd", "%2Fetc%2Fpasswd", "media/img/none.png"])
def test_media_paths_cannot_escape_the_run(store: dict, relpath: str) -> None:
    res = store["client"].get(f"/api/v1/runs/proj/{store['a']}/file/{relpath}")
    assert res.status_code in (400, 404)
    assert b"SQLite" not in res.content and b"root:" not in res.content


def test_path_traversal_in_names_is_refused(store: dict) -> None:
    source = LocalSource(store["logdir"])
    assert source.media_file("..", "proj", "x") is None
    with pytest.raises(ValueError):
        source.run("..", store["a"])
    assert store["client"].get("/api/v1/runs/proj/..").status_code in (400, 404)


def test_console_events_and_compare(store: dict) -> None:
    c, a, b = store["client"], store["a"], store["b"]
    lines = c.get(f"/api/v1/runs/proj/{a}/console").json()
    assert [ln["line"] for ln in lines] == ["epoch 1 <done>"]
    assert c.get(f"/api/v1/runs/proj/{a}/console", params={"after": lines[-1]["seq"]}).json() == []
    assert c.get(f"/api/v1/runs/proj/{a}/console", params={"after": -1}).status_code == 400
    calls = c.get(f"/api/v1/runs/proj/{a}/events", params={"kind": "llm_call"}).json()
    assert calls[0]["payload"]["model"] == "gpt-x" and calls[0]["payload"]["total_tokens"] == 7
    summary = c.get(f"/api/v1/runs/proj/{a}/events", params={"kind": "model_summary"}).json()
    assert summary[0]["payload"]["total_params"] == 10
    assert c.get(f"/api/v1/runs/proj/{a}/events", params={"kind": "../x"}).status_code == 400
    assert c.get(f"/api/v1/runs/proj/{a}/events").status_code == 400
    cmp = c.get("/api/v1/projects/proj/compare", params={"runs": f"{a},{b}"}).json()
    assert cmp["config"]["differing"] == ["lr"] and cmp["config"]["values"]["lr"] == [0.1, 0.2]
    assert cmp["summary"]["values"]["train/loss"][1]["last"] == 0.5
    assert c.get("/api/v1/projects/proj/compare", params={"runs": ","}).status_code == 400
    assert c.get("/api/v1/projects/proj/compare", params={"runs": "ghost"}).status_code == 404


def test_front_end_openapi_and_token(store: dict) -> None:
    c = store["client"]
    index = c.get("/")
    assert index.status_code == 200 and "/static/js/main.js" in index.text
    assert c.get("/static/vendor/uplot/uPlot.esm.js").status_code == 200
    paths = c.get("/openapi.json").json()["paths"]
    assert "/api/v1/runs/{project}/{run_id}/metric" in paths
    assert c.get("/api/v1/nothing").status_code == 404
    locked = TestClient(create_app(LocalSource(store["logdir"]), read_token="s3cret"))
    assert locked.get("/api/v1/projects").status_code == 401
    assert locked.get("/api/v1/projects", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert locked.get("/api/v1/projects", params={"token": "s3cret"}).status_code == 200


def test_running_run_is_read_incrementally(tmp_path: Path) -> None:
    run = seetrain.init(project="live", experiment_name="r", logdir=str(tmp_path), reinit="create_new")
    try:
        source = LocalSource(tmp_path)
        run.log({"x": 1.0}, step=0)
        run.flush()
        first = source.metric("live", run.id, "x")
        assert first["step"] == [0] and source.run("live", run.id)["status"] == "running"
        for step in range(1, 5):
            run.log({"x": float(step)}, step=step)
        run.flush()
        assert source.metric("live", run.id, "x", after_step=0)["step"] == [1, 2, 3, 4]
        assert source.metric("live", run.id, "x")["total"] == 5
    finally:
        run.finish()
    assert seetrain.Api(tmp_path).run(f"live/{run.id}").scalars("x")[-1][2] == 4.0


def test_metric_over_several_blocks_matches_the_stored_points(tmp_path: Path) -> None:
    from seetrain._store import BLOCK_SIZE

    n = 3 * BLOCK_SIZE + 10
    run = seetrain.init(project="blk", logdir=str(tmp_path), reinit="create_new")
    for i in range(n):
        run.log({"loss": 25.0 if i == 2000 else math.cos(i / 100)}, step=i)
    run.finish()
    stored = seetrain.Api(tmp_path).run(f"blk/{run.id}").scalars("loss")
    c = TestClient(create_app(LocalSource(tmp_path)))
    url = f"/api/v1/runs/blk/{run.id}/metric"
    every = c.get(url, params={"key": "loss", "max_points": 20_000}).json()
    assert not every["downsampled"] and every["total"] == every["in_range"] == n
    assert list(zip(every["step"], every["time"], every["value"])) == stored
    small = c.get(url, params={"key": "loss", "max_points": 10}).json()
    assert small["downsampled"] and len(small["step"]) <= 14 and 25.0 in small["value"]
    live = c.get(url, params={"key": "loss", "after_step": 2 * BLOCK_SIZE - 3, "max_points": 4000}).json()
    assert live["step"] == list(range(2 * BLOCK_SIZE - 2, n))  # across a block edge
    multi = c.get("/api/v1/projects/blk/metric", params={"key": "loss", "runs": run.id, "x_min": 1990,
                                                         "x_max": 2010}).json()
    assert multi["runs"][run.id]["step"] == list(range(1989, 2012)) and 25.0 in multi["runs"][run.id]["value"]
