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


def test_metric_over_several_chunks_matches_the_stored_points(tmp_path: Path) -> None:
    BLOCK_SIZE = 1024
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


def test_console_pages_with_after_and_limit(tmp_path: Path) -> None:
    run = seetrain.init(project="con", logdir=str(tmp_path), reinit="create_new", capture_console=False,
                        system_monitor=False)
    for i in range(25):
        run.log_console("stderr" if i % 5 == 0 else "stdout", f"line {i}", None)
    run.finish()
    c = TestClient(create_app(LocalSource(tmp_path)))
    url = f"/api/v1/runs/con/{run.id}/console"
    pages, after = [], 0
    while page := c.get(url, params={"after": after, "limit": 10}).json():
        pages.append(page)
        after = page[-1]["seq"]
    assert [len(p) for p in pages] == [10, 10, 5]
    lines = [ln for p in pages for ln in p]
    assert lines == seetrain.Api(tmp_path).run(f"con/{run.id}").console()
    assert [ln["line"] for ln in lines] == [f"line {i}" for i in range(25)]
    assert [ln["stream"] for ln in lines[:2]] == ["stderr", "stdout"]
    assert all(isinstance(ln["timestamp"], float) for ln in lines)
    assert c.get(url, params={"limit": 0}).status_code == 400
    assert c.get(url, params={"limit": 10**6}).status_code == 400
    assert c.get("/api/v1/runs/con/ghost/console").status_code == 404


def _report_runs(logdir: Path) -> list[str]:
    ids = []
    for name, sleep_steps in (("base", 3), ("fast", 1)):
        run = seetrain.init(project="rep", experiment_name=name, logdir=str(logdir), reinit="create_new",
                            system_monitor=False, capture_console=False, config={"name": name})
        for step in range(20):
            run.log({"loss": 1.0 / (step + 1) + sleep_steps, "batch_time": 0.01 * sleep_steps}, step=step)
        for sample in range(4):  # what the system monitor writes: its own sample index as the step
            run.log_side({"sys/cpu_percent": 10.0 * (sample + 1) * sleep_steps, "sys/proc/memory_rss_mb": 300.0},
                         step=sample)
        run.finish()
        ids.append(run.id)
    return ids


def test_compare_report_matches_seetrain_compare(tmp_path: Path) -> None:
    from seetrain.compare_report import build_report

    base, fast = _report_runs(tmp_path)
    c = TestClient(create_app(LocalSource(tmp_path)))
    res = c.get("/api/v1/projects/rep/compare/report", params={"runs": f"{base},{fast},ghost"})
    assert res.status_code == 200, res.text
    report = res.json()
    api = seetrain.Api(tmp_path)
    expected = build_report([api.run(f"rep/{base}"), api.run(f"rep/{fast}")])
    assert report == {**expected, "missing": ["ghost"]}
    assert report["baseline"] == base and [r["id"] for r in report["runs"]] == [base, fast]
    loss = report["metrics"]["loss"][fast]
    assert loss["initial"] == pytest.approx(2.0) and loss["final"] == pytest.approx(1.05)
    assert loss["min"] == pytest.approx(1.05) and loss["max"] == pytest.approx(2.0) and loss["count"] == 20
    assert "sys/cpu_percent" not in report["metrics"]
    cpu = report["resources"][fast]["sys/cpu_percent"]
    assert (cpu["min"], cpu["max"], cpu["mean"], cpu["samples"]) == (10.0, 40.0, 25.0, 4)
    assert report["batch_time"][base]["source"] == "batch_time"
    assert report["batch_time"][base]["median"] == pytest.approx(0.03)
    assert report["vs_baseline"][fast]["batch_time_median_ratio"] == pytest.approx(1 / 3)
    assert report["vs_baseline"][fast]["final"]["loss"]["delta"] == pytest.approx(-2.0)
    # Served again from the cache: same answer.
    assert c.get("/api/v1/projects/rep/compare/report", params={"runs": f"{base},{fast}"}).json()["runs"] == \
        report["runs"]
    assert c.get("/api/v1/projects/rep/compare/report", params={"runs": "ghost"}).status_code == 404
    assert c.get("/api/v1/projects/rep/compare/report", params={"runs": ""}).status_code == 400
    assert c.get("/api/v1/projects/rep/compare/report").status_code == 400
    assert c.get("/api/v1/projects/../compare/report", params={"runs": base}).status_code in (400, 404)


def test_compare_report_is_501_for_a_source_without_it(tmp_path: Path) -> None:
    base, fast = _report_runs(tmp_path)

    class Plain:  # a DataSource written before reports existed
        def __init__(self) -> None:
            self.inner = LocalSource(tmp_path)

        def __getattr__(self, name: str):
            if name == "report":
                raise AttributeError(name)
            return getattr(self.inner, name)

    c = TestClient(create_app(Plain()))
    assert c.get("/api/v1/projects/rep/compare", params={"runs": f"{base},{fast}"}).status_code == 200
    res = c.get("/api/v1/projects/rep/compare/report", params={"runs": f"{base},{fast}"})
    assert res.status_code == 501 and "error" in res.json()


def test_tracking_server_builds_the_same_report(tmp_path: Path) -> None:
    """DbSource computes the report from the rows uploaded to the server database."""
    from seetrain.commands.server import ServerConfig, build_app
    from seetrain.compare_report import build_report

    logdir = tmp_path / "logs"
    base, fast = _report_runs(logdir)
    api = seetrain.Api(logdir)
    config = ServerConfig(db=f"sqlite:///{tmp_path / 'srv.sqlite'}", media_dir=str(tmp_path / "media"),
                          token="tok")
    app = build_app(config)
    try:
        with TestClient(app, base_url="http://127.0.0.1") as c:
            for rid in (base, fast):
                view = api.run(f"rep/{rid}")
                rows = []
                seq = 0
                for key in view.keys():
                    for step, ts, value in view.scalars(key):
                        seq += 1
                        rows.append({"seq": seq, "key": key, "step": step, "ts": ts, "value": value})
                snap = {"snapshot_at": view.finished_at, "name": view.name, "status": "finished",
                        "created_at": view.created_at, "finished_at": view.finished_at, "config": view.config}
                res = c.post("/api/v1/ingest/batch", headers={"authorization": "Bearer tok"},
                             json={"batch_id": f"rep/{rid}/scalars/1-{seq}", "project": "rep", "run_id": rid,
                                   "run": snap, "scalars": rows})
                assert res.status_code == 200, res.text
            report = c.get("/api/v1/projects/rep/compare/report", params={"runs": f"{base},{fast}"},
                           headers={"authorization": "Bearer tok"}).json()
    finally:
        app.state.db.dispose()
    local = build_report([api.run(f"rep/{base}"), api.run(f"rep/{fast}")])
    assert report["missing"] == []
    assert report["metrics"] == local["metrics"] and report["resources"] == local["resources"]
    assert report["batch_time"] == local["batch_time"]
    assert [r["total_time_s"] for r in report["runs"]] == pytest.approx([r["total_time_s"] for r in local["runs"]])
