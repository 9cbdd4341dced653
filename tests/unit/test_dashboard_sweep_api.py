"""Issue 13 at the API: a 60-run sweep served whole, gzip, ETag polling, full-resolution CSV,
unfinished runs never ranked, group bands, sweep importance, saved views, run edits."""

from __future__ import annotations

import csv
import gzip
import io
import math
import os
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import seetrain
from seetrain.server.app import create_app
from seetrain.server.local_source import LocalSource
from tests.sdk_env import local_sdk_env
from tests.sweep_data import make_sweep

N_RUNS = 60


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> dict:
    logdir = tmp_path_factory.mktemp("sweep") / "logs"
    with local_sdk_env():
        ids = make_sweep(logdir, runs=N_RUNS, metrics=2, steps=60)
    return {"logdir": logdir, "ids": ids, "client": TestClient(create_app(LocalSource(logdir)))}


def test_more_than_50_runs_in_one_chart_and_compare(sweep: dict) -> None:
    c, ids = sweep["client"], sweep["ids"]
    res = c.get("/api/v1/projects/sweep/metric", params={"key": "train/loss", "runs": ",".join(ids)})
    assert res.status_code == 200, res.text
    body = res.json()
    assert set(body["runs"]) == set(ids) and all(len(s["step"]) == 60 for s in body["runs"].values())
    cmp = c.get("/api/v1/projects/sweep/compare", params={"runs": ",".join(ids)})
    assert cmp.status_code == 200 and len(cmp.json()["runs"]) == N_RUNS


def test_chart_responses_are_gzipped_and_digits_round(sweep: dict) -> None:
    c, ids = sweep["client"], sweep["ids"]
    params = {"key": "train/loss", "runs": ",".join(ids), "digits": 6}
    res = c.get("/api/v1/projects/sweep/metric", params=params, headers={"Accept-Encoding": "gzip"})
    assert res.headers["content-encoding"] == "gzip"
    raw = c.get("/api/v1/projects/sweep/metric", params={"key": "train/loss", "runs": ",".join(ids)},
                headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in raw.headers
    assert res.num_bytes_downloaded < len(raw.content) / 4  # on the wire
    assert len(gzip.decompress(gzip.compress(res.content))) == len(res.content)
    full = raw.json()["runs"][ids[0]]["value"]
    short = res.json()["runs"][ids[0]]["value"]
    assert short == [float(f"{v:.6g}") for v in full]


def test_fields_leave_point_columns_out_and_cached_answers_stay_separate(sweep: dict) -> None:
    c, ids = sweep["client"], sweep["ids"]
    params = {"key": "train/loss", "runs": ",".join(ids)}
    full = c.get("/api/v1/projects/sweep/metric", params=params).json()
    slim = c.get("/api/v1/projects/sweep/metric", params={**params, "fields": "step,value,flag"}).json()
    again = c.get("/api/v1/projects/sweep/metric", params=params).json()
    assert again == full  # the slim answer is cached under its own key
    for rid, s in slim["runs"].items():
        assert "time" not in s and s["step"] == full["runs"][rid]["step"] and s["value"] == full["runs"][rid]["value"]
        assert set(full["runs"][rid]) - set(s) == {"time"}
    bad = c.get("/api/v1/projects/sweep/metric", params={**params, "fields": "step,color"})
    assert bad.status_code == 422 and "fields must name" in bad.json()["error"]


def test_many_runs_lower_each_runs_points_to_the_budget(sweep: dict) -> None:
    from seetrain.server.app import POINT_BUDGET

    ids = sweep["ids"]
    res = sweep["client"].get("/api/v1/projects/sweep/metric",
                              params={"key": "train/loss", "runs": ",".join(ids), "max_points": 20000})
    assert res.json()["max_points"] == POINT_BUDGET // len(ids)


def test_runs_list_has_an_etag_and_answers_304_when_unchanged(sweep: dict, tmp_path: Path) -> None:
    logdir = tmp_path / "logs"
    c = TestClient(create_app(LocalSource(logdir)))
    first = seetrain.init(project="live", experiment_name="one", logdir=str(logdir), reinit="create_new")
    first.finish()
    res = c.get("/api/v1/projects/live/runs")
    tag = res.headers["etag"]
    assert res.headers["cache-control"] == "no-cache"
    assert c.get("/api/v1/projects/live/runs", headers={"If-None-Match": tag}).status_code == 304
    second = seetrain.init(project="live", experiment_name="two", logdir=str(logdir), reinit="create_new")
    second.finish()
    again = c.get("/api/v1/projects/live/runs", headers={"If-None-Match": tag})
    assert again.status_code == 200 and [r["name"] for r in again.json()] == ["one", "two"]
    projects = c.get("/api/v1/projects")
    assert c.get("/api/v1/projects", headers={"If-None-Match": projects.headers["etag"]}).status_code == 304
    seetrain.init(project="newer", experiment_name="x", logdir=str(logdir), reinit="create_new").finish()
    assert c.get("/api/v1/projects", headers={"If-None-Match": projects.headers["etag"]}).status_code == 200


def test_csv_export_has_every_point_and_a_correct_header(tmp_path: Path) -> None:
    run = seetrain.init(project="big", experiment_name="long", logdir=str(tmp_path), reinit="create_new")
    n = 45_000
    for step in range(n):
        run.log({"loss": math.nan if step == 12_345 else step * 0.5}, step=step)
    run.finish()
    c = TestClient(create_app(LocalSource(tmp_path)))
    chart = c.get(f"/api/v1/runs/big/{run.id}/metric", params={"key": "loss"}).json()
    assert chart["downsampled"]  # the chart is downsampled...
    res = c.get("/api/v1/projects/big/metric.csv", params={"key": "loss", "runs": run.id})
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(res.text)))
    assert rows[0] == ["run_id", "run_name", "step", "wall_time", "relative_time", "value"]
    assert len(rows) == n + 1  # ...its CSV is not
    assert [int(r[2]) for r in rows[1:]] == list(range(n))
    assert rows[1 + 12_345][5] == "nan" and float(rows[1 + 999][5]) == 499.5
    assert {r[0] for r in rows[1:]} == {run.id} and {r[1] for r in rows[1:]} == {"long"}


def _crashed_run(logdir: Path) -> str:
    code = ("import os, seetrain\n"
            f"r = seetrain.init(project='rep', experiment_name='crashed', logdir={str(logdir)!r}, "
            "system_monitor=False, capture_console=False)\n"
            "[r.log({'loss': 1.0 / (s + 1)}, step=s) for s in range(5)]\n"
            "r.flush() if hasattr(r, 'flush') else None\n"
            "import time; time.sleep(0.5)\n"
            "print(r.id, flush=True)\n"
            "os._exit(0)\n")
    env = {**os.environ, "SEETRAIN_SYSTEM_MONITOR": "0", "SEETRAIN_CAPTURE_CONSOLE": "0"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    return out.stdout.split()[-1]


def test_crashed_run_is_flagged_and_never_ranked(tmp_path: Path) -> None:
    base = seetrain.init(project="rep", experiment_name="base", logdir=str(tmp_path), reinit="create_new",
                         system_monitor=False, capture_console=False)
    for s in range(20):
        base.log({"loss": 1.0 / (s + 1)}, step=s)
        time.sleep(0.005)
    base.finish()
    crashed = _crashed_run(tmp_path)
    c = TestClient(create_app(LocalSource(tmp_path)))
    runs = {r["id"]: r for r in c.get("/api/v1/projects/rep/runs").json()}
    assert runs[crashed]["status"] == "crashed"
    cmp = c.get("/api/v1/projects/rep/compare", params={"runs": f"{base.id},{crashed}"}).json()
    assert [r["unfinished"] for r in cmp["runs"]] == [False, True]
    report = c.get("/api/v1/projects/rep/compare/report", params={"runs": f"{base.id},{crashed}"}).json()
    assert [r["unfinished"] for r in report["runs"]] == [False, True]
    assert report["vs_baseline"][crashed]["speedup"] is None
    assert report["vs_baseline"][crashed]["total_time_ratio"] is None
    # Built off the request path: a job id at once, the same report when done.
    job = c.post("/api/v1/projects/rep/compare/report/jobs", params={"runs": f"{base.id},{crashed}"})
    assert job.status_code == 202
    for _ in range(500):
        state = c.get(f"/api/v1/projects/rep/compare/report/jobs/{job.json()['job']}").json()
        if state["status"] != "building":
            break
        time.sleep(0.02)
    assert state["status"] == "done" and state["report"]["runs"] == report["runs"]


def test_group_bands_mean_min_max_std(sweep: dict) -> None:
    c = sweep["client"]
    res = c.get("/api/v1/projects/sweep/bands", params={"key": "train/loss", "group_by": "config:optimizer",
                                                        "bins": 30})
    assert res.status_code == 200, res.text
    body = res.json()
    assert [g["name"] for g in body["groups"]] == sorted(["adam", "sgd", "adamw", "lion", "rmsprop"])
    assert len(body["x"]) == 30 and body["x"][0] < body["x"][-1]
    runs = {r["id"]: r for r in c.get("/api/v1/projects/sweep/runs").json()}
    for g in body["groups"]:
        assert len(g["runs"]) == N_RUNS // 5
        assert {runs[r]["config"]["optimizer"] for r in g["runs"]} == {g["name"]}
        for lo, mean, hi, std, n in zip(g["min"], g["mean"], g["max"], g["std"], g["count"]):
            assert lo <= mean <= hi and std >= 0 and n == N_RUNS // 5
        # The last bin's max is the largest final loss of the group (the runs end inside it).
        finals = [runs[r]["summary"]["train/loss"]["last"] for r in g["runs"]]
        assert min(finals) - 0.05 <= g["min"][-1] <= g["max"][-1] <= max(finals) + 0.05
    tags = c.get("/api/v1/projects/sweep/bands", params={"key": "val/acc", "group_by": "tag"}).json()
    assert {g["name"] for g in tags["groups"]} == {"adam", "sgd", "adamw", "lion", "rmsprop", "sweep"}
    grp = c.get("/api/v1/projects/sweep/bands", params={"key": "val/acc", "group_by": "group"}).json()
    assert [g["name"] for g in grp["groups"]] == ["bs128", "bs32", "bs64", "bs96"]
    assert c.get("/api/v1/projects/sweep/bands", params={"key": "val/acc", "group_by": "colour"}).status_code == 400


def test_sweep_table_and_parameter_importance(sweep: dict) -> None:
    body = sweep["client"].get("/api/v1/projects/sweep/sweep", params={"metric": "train/loss"}).json()
    assert set(body["params"]) == {"lr", "optimizer", "batch_size", "seed"}
    assert len(body["runs"]) == N_RUNS and all(isinstance(r["metric"], float) for r in body["runs"])
    imp = {d["param"]: d for d in body["importance"]}
    # lr drives the loss, the optimizer adds an offset, seed and batch size only ride along.
    assert body["importance"][0]["param"] == "lr"
    assert imp["lr"]["importance"] > imp["seed"]["importance"]
    assert imp["optimizer"]["importance"] > imp["batch_size"]["importance"]
    assert imp["optimizer"]["categorical"] and imp["optimizer"]["correlation"] > 0
    assert abs(sum(d["importance"] for d in body["importance"]) - 1.0) < 1e-9


def test_saved_views_and_layout_live_in_the_project_folder(sweep: dict) -> None:
    c = sweep["client"]
    state = {"q": "lr>=1e-3 and optimizer=adam", "group": "config:optimizer", "smoothing": 0.5}
    assert c.put("/api/v1/projects/sweep/views/adam%20runs", json=state).status_code == 200
    listed = c.get("/api/v1/projects/sweep/views").json()
    assert [v["name"] for v in listed] == ["adam runs"] and listed[0]["state"] == state
    assert (sweep["logdir"] / "sweep" / "_views.json").is_file()
    layout = {"panels": [{"id": "p1", "metrics": ["train/loss", "val/acc"], "x": "step"}]}
    assert c.put("/api/v1/projects/sweep/layout", json=layout).json() == {"layout": layout}
    assert TestClient(create_app(LocalSource(sweep["logdir"]))).get(
        "/api/v1/projects/sweep/layout").json() == {"layout": layout}
    assert c.delete("/api/v1/projects/sweep/views/adam%20runs").status_code == 200
    assert c.get("/api/v1/projects/sweep/views").json() == []
    assert c.delete("/api/v1/projects/sweep/views/adam%20runs").status_code == 404
    assert c.get("/api/v1/projects/nope/views").status_code == 404
    assert c.put("/api/v1/projects/sweep/views/x", json=[1, 2]).status_code == 422


def test_run_edits_win_and_delete_moves_to_trash(tmp_path: Path) -> None:
    run = seetrain.init(project="m", experiment_name="orig", tags=["a"], logdir=str(tmp_path), reinit="create_new")
    run.log({"loss": 1.0}, step=0)
    c = TestClient(create_app(LocalSource(tmp_path)))
    assert c.delete(f"/api/v1/runs/m/{run.id}", params={"confirm": run.id}).status_code == 409  # running
    run.finish()
    res = c.patch(f"/api/v1/runs/m/{run.id}", json={"name": "renamed", "notes": "lr too high", "tags": ["b", "b", "c"],
                                                    "archived": True})
    assert res.status_code == 200, res.text
    listed = c.get("/api/v1/projects/m/runs").json()[0]
    assert (listed["name"], listed["notes"], listed["tags"], listed["archived"]) == ("renamed", "lr too high",
                                                                                     ["b", "c"], True)
    assert c.get(f"/api/v1/runs/m/{run.id}").json()["name"] == "renamed"
    again = c.patch(f"/api/v1/runs/m/{run.id}", json={"notes": "second edit"})  # merged over the first
    assert (again.json()["name"], again.json()["notes"], again.json()["tags"]) == ("renamed", "second edit", ["b", "c"])
    # seetrain.Api reads the edits too (the edit wins); the store's own row is untouched
    view = seetrain.Api(tmp_path).run(f"m/{run.id}")
    assert (view.name, view.notes, view.tags, view.archived) == ("renamed", "second edit", ["b", "c"], True)
    assert view.to_dict()["notes"] == "second edit" and view.edited_at is not None
    with closing(sqlite3.connect(Path(view.path))) as db:
        assert db.execute("SELECT name, tags FROM run").fetchone() == ("orig", '["a"]')
    assert c.patch(f"/api/v1/runs/m/{run.id}", json={"status": "finished"}).status_code == 400
    assert c.patch(f"/api/v1/runs/m/{run.id}", json={"name": ""}).status_code == 400
    assert c.delete(f"/api/v1/runs/m/{run.id}", params={"confirm": "nope"}).status_code == 400
    gone = c.delete(f"/api/v1/runs/m/{run.id}", params={"confirm": run.id})
    assert gone.status_code == 200 and Path(gone.json()["moved_to"]).is_dir()
    assert c.get("/api/v1/projects/m/runs").status_code == 404
    assert c.get(f"/api/v1/runs/m/{run.id}").status_code == 404


def test_writes_need_the_token_when_one_is_set(tmp_path: Path) -> None:
    seetrain.init(project="t", experiment_name="x", logdir=str(tmp_path), reinit="create_new").finish()
    c = TestClient(create_app(LocalSource(tmp_path), read_token="r", write_token="w"))
    read = {"Authorization": "Bearer r"}
    assert c.get("/api/v1/projects/t/views", headers=read).status_code == 200
    assert c.put("/api/v1/projects/t/views/v", json={}, headers=read).status_code == 401
    assert c.get("/api/v1/projects/t/views").status_code == 401
    ok = c.put("/api/v1/projects/t/views/v", json={}, headers={"Authorization": "Bearer w"})
    assert ok.status_code == 200
    assert c.get("/api/v1/projects/t/views", headers={"Authorization": "Bearer w"}).status_code == 200


def test_chart_answers_are_cached_only_while_every_run_has_stopped(tmp_path: Path) -> None:
    done = seetrain.init(project="c", experiment_name="done", logdir=str(tmp_path), reinit="create_new")
    done.log({"loss": 1.0}, step=0)
    done.finish()
    live = seetrain.init(project="c", experiment_name="live", logdir=str(tmp_path), reinit="create_new")
    live.log({"loss": 2.0}, step=0)
    live.flush()
    c = TestClient(create_app(LocalSource(tmp_path)))
    params = {"key": "loss", "runs": f"{done.id},{live.id}"}
    assert c.get("/api/v1/projects/c/metric", params=params).json()["runs"][live.id]["step"] == [0]
    live.log({"loss": 1.5}, step=1)
    live.flush()
    assert c.get("/api/v1/projects/c/metric", params=params).json()["runs"][live.id]["step"] == [0, 1]
    live.finish()
    first = c.get("/api/v1/projects/c/metric", params=params).json()
    assert first["runs"][live.id]["step"] == [0, 1]
    assert c.get("/api/v1/projects/c/metric", params=params).json() == first  # served from the cache


def test_a_damaged_edits_file_costs_only_its_bad_fields(tmp_path: Path) -> None:
    """edits.json is a plain file beside the run: a hand-edited or truncated one must not hide the
    run or its other edits from the reader or the dashboard."""
    run = seetrain.init(project="e", experiment_name="orig", tags=["a"], logdir=str(tmp_path), reinit="create_new")
    run.log({"loss": 1.0}, step=0)
    run.finish()
    edits = Path(run.dir) / "edits.json"
    edits.write_text('{"name": 42, "tags": ["ok", 7], "notes": "kept", "archived": "yes"}')
    view = seetrain.Api(tmp_path).run(f"e/{run.id}")
    assert (view.name, view.tags, view.notes, view.archived) == ("orig", ["a"], "kept", False)
    edits.write_text('{"name": "half')  # truncated
    view = seetrain.Api(tmp_path).run(f"e/{run.id}")
    assert (view.name, view.tags, view.notes) == ("orig", ["a"], "")
    listed = TestClient(create_app(LocalSource(tmp_path))).get("/api/v1/projects/e/runs")
    assert listed.status_code == 200 and listed.json()[0]["name"] == "orig"
