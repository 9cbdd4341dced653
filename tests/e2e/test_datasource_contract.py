"""One contract over both dashboard sources: the same runs, written once with the real client
into a logdir (``LocalSource``) and uploaded with ``seetrain sync`` to a real ``seetrain server``
on SQLite and on PostgreSQL (``DbSource`` over that server's database), answer every
:class:`~seetrain.server.datasource.DataSource` method the same way.

The runs hold what tends to break a source: NaN and the infinities, a Chinese metric key, steps
that go backwards, a crashed run (SIGKILLed mid-run, recovered), a failed run, media of every
kind, an LLM-call event, console lines and a group (group bands over each source included). Where the sources legitimately differ the
test says so: the run ids each accepts (a run id is a folder name for ``LocalSource``, while
the server takes any id :mod:`seetrain.limits` allows, so ``"../x"`` is a ValueError for one and
an unknown run for the other), and where ``media_file`` finds the same bytes (the run folder,
the server's media store).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import seetrain
from seetrain.cli import run as cli_run
from seetrain.server.aggregate import Aggregator
from seetrain.server.datasource import MEDIA_KINDS, DataSource
from seetrain.server.db import Database
from seetrain.server.local_source import LocalSource
from tests.helpers import run_python
from tests.sdk_env import local_sdk_env
from tests.servers import serve_both

pytestmark = pytest.mark.e2e
TOKEN = "contract-token"
PROJECT = "contract"
CN_KEY = "损失/训练"
BACKWARDS = [(0, 1.0), (10, 2.0), (5, 3.0), (5, 4.0), (20, 5.0), (15, 6.0)]  # (step, value) as logged
LOSS = [0.9, math.nan, 0.7, math.inf, 0.5, -math.inf, 0.3, 0.2]


def _write_runs(logdir: Path) -> dict[str, str]:
    """The runs both sources serve; returns their ids by role."""
    import numpy as np

    ids: dict[str, str] = {}
    base = seetrain.init(project=PROJECT, name="base", logdir=str(logdir), reinit="create_new", group="ddp",
                         config={"lr": 0.1, "opt": {"name": "adam", "betas": [0.9, 0.99]}, "seed": 1},
                         tags=["baseline", "中文"])
    for step, loss in enumerate(LOSS):
        base.log({"loss": loss, CN_KEY: 1.0 / (step + 1)}, step=step)
    for step, value in BACKWARDS:
        base.log({"lr_sched": value}, step=step)
    base.log({"sample": seetrain.Image(np.arange(48, dtype=np.uint8).reshape(4, 4, 3), caption="tiny")}, step=7)
    base.log({"notes": seetrain.Text("<b>步骤</b> seven")}, step=7)
    base.log({"weights": seetrain.Histogram(np.linspace(-1.0, 1.0, 50))}, step=7)
    base.log_event("llm_call", {"provider": "openai", "model": "gpt-4o-mini", "output_text": "loss went NaN",
                                "prompt_tokens": 12, "completion_tokens": 4, "total_tokens": 16,
                                "latency_s": 0.25, "ttft_s": math.nan, "finish_reason": "stop"})
    base.log_console("stdout", "epoch 1 done")
    base.log_console("stderr", "warning: 警告")
    base.finish()
    ids["base"] = base.id

    other = seetrain.init(project=PROJECT, name="other", logdir=str(logdir), reinit="create_new", group="ddp",
                          config={"lr": 0.01, "opt": {"name": "sgd", "betas": [0.9, 0.99]}, "seed": 1})
    for step in range(300):  # enough points to be downsampled at max_points=20
        other.log({"loss": 1.0 / (step + 1), CN_KEY: math.sin(step / 10)}, step=step)
    other.finish(status="failed", error="ValueError: diverged")
    ids["other"] = other.id

    crashed = run_python(f"""
        import os, signal, seetrain
        run = seetrain.init(project={PROJECT!r}, name="crashed", logdir={str(logdir)!r}, config={{"lr": 1.0}})
        for step in range(5):
            run.log({{"loss": 2.0 - step / 10}}, step=step)
        run.log({{"loss": float("nan")}}, step=5)
        print(run.id, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """, env={"SEETRAIN_SYSTEM_MONITOR": "0", "SEETRAIN_CAPTURE_CONSOLE": "0"})
    assert crashed.returncode == -9, crashed.stderr
    ids["crashed"] = crashed.stdout.split()[0]
    return ids


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    logdir = tmp_path_factory.mktemp("contract") / "logs"
    with local_sdk_env():
        ids = _write_runs(logdir)
    return {"logdir": logdir, "ids": ids}


@pytest.fixture(scope="module")
def local(written: dict[str, Any]) -> LocalSource:
    return LocalSource(written["logdir"])


@pytest.fixture(scope="module", params=["local", "sqlite", "postgresql"])
def source(request: pytest.FixtureRequest, written: dict[str, Any], local: LocalSource,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[DataSource]:
    """LocalSource over the logdir, or DbSource over a server the logdir was synced to."""
    if request.param == "local":
        yield local
        return
    from seetrain.server.db_source import DbSource

    for server in serve_both(request.param, tmp_path_factory.mktemp(request.param), TOKEN):
        cli_run(["sync", str(written["logdir"]), "--host", server.url, "--api-key", TOKEN, "--timeout", "60"])
        db = Database(server.db, create=False)
        try:
            yield DbSource(db, server.media_dir)
        finally:
            db.dispose()


def _is_local(source: DataSource) -> bool:
    return isinstance(source, LocalSource)


# -- what every source answers (checked against what was logged) ---------------------------------
def test_projects_and_runs(source: DataSource, written: dict[str, Any]) -> None:
    ids = written["ids"]
    (project,) = source.projects()
    assert (project["name"], project["runs"], project["running"]) == (PROJECT, 3, 0)
    runs = {r["id"]: r for r in source.runs(PROJECT)}
    assert set(runs) == set(ids.values())
    assert [r["id"] for r in source.runs(PROJECT)] == sorted(runs, key=lambda i: runs[i]["created_at"])
    assert {role: runs[i]["status"] for role, i in ids.items()} == {
        "base": "finished", "other": "failed", "crashed": "crashed"}
    base = runs[ids["base"]]
    assert base["config"] == {"lr": 0.1, "opt.name": "adam", "opt.betas": [0.9, 0.99], "seed": 1}
    assert base["tags"] == ["baseline", "中文"] and base["group"] == "ddp" and base["name"] == "base"
    assert base["summary"]["loss"]["nonfinite"] == 3 and base["summary"]["loss"]["last"] == 0.2
    assert base["summary"]["loss"]["min"] == 0.2 and base["summary"]["loss"]["max"] == 0.9
    assert runs[ids["crashed"]]["summary"]["loss"]["last"] == "nan"
    assert source.runs("no-such-project") == []
    assert source.groups(PROJECT) == {"ddp": [ids["base"], ids["other"]]}  # type: ignore[attr-defined]
    bands = Aggregator(source).bands(PROJECT, "loss", None, "config:opt.name", bins=10)
    assert [(g["name"], g["runs"]) for g in bands["groups"]] == [  # the crashed run has no opt.name
        ("(none)", [ids["crashed"]]), ("adam", [ids["base"]]), ("sgd", [ids["other"]])]


def test_run_detail(source: DataSource, written: dict[str, Any]) -> None:
    ids = written["ids"]
    run = source.run(PROJECT, ids["base"])
    assert run is not None
    assert run["config"] == {"lr": 0.1, "opt": {"name": "adam", "betas": [0.9, 0.99]}, "seed": 1}
    assert run["keys"] == sorted(["loss", CN_KEY, "lr_sched"])
    assert run["media_keys"] == {"histogram": ["weights"], "image": ["sample"], "text": ["notes"]}
    assert run["event_kinds"] == ["llm_call"] and run["error"] is None
    failed = source.run(PROJECT, ids["other"])
    assert failed is not None and failed["error"] == "ValueError: diverged"
    assert source.run(PROJECT, "no-such-run") is None


def test_metric_columns_flags_and_order(source: DataSource, written: dict[str, Any]) -> None:
    ids = written["ids"]
    loss = source.metric(PROJECT, ids["base"], "loss")
    assert loss is not None
    assert loss["step"] == list(range(len(LOSS)))
    assert loss["flag"] == [None, "nan", None, "inf", None, "-inf", None, None]
    assert loss["value"] == [None if not math.isfinite(v) else v for v in LOSS]
    assert (loss["total"], loss["in_range"], loss["downsampled"], loss["last_step"]) == (8, 8, False, 7)
    # Steps that went backwards come back in step order; equal steps keep logging order.
    back = source.metric(PROJECT, ids["base"], "lr_sched")
    assert back is not None
    assert list(zip(back["step"], back["value"])) == sorted(BACKWARDS, key=lambda p: p[0])
    assert back["last_step"] == 20 and back["total"] == len(BACKWARDS)
    cn = source.metric(PROJECT, ids["base"], CN_KEY, x_axis="relative")
    assert cn is not None and cn["key"] == CN_KEY and len(cn["value"]) == len(LOSS)
    assert all(t >= 0 for t in cn["time"]) and cn["x_axis"] == "relative"
    # Downsampled: min and max per bucket, the first and last points kept, polling after a step.
    big = source.metric(PROJECT, ids["other"], "loss", max_points=20)
    assert big is not None and big["downsampled"] and big["total"] == 300 and len(big["step"]) <= 40
    assert big["step"][0] == 0 and big["step"][-1] == 299
    window = source.metric(PROJECT, ids["other"], "loss", x_min=100, x_max=149)
    # A zoom window: its 50 points plus one neighbour each side, so the line runs to the edges.
    assert window is not None and window["in_range"] == 50 and window["step"] == list(range(99, 151))
    tail = source.metric(PROJECT, ids["other"], "loss", after_step=297)
    assert tail is not None and tail["step"] == [298, 299] and tail["total"] == 300
    crashed = source.metric(PROJECT, ids["crashed"], "loss")
    assert crashed is not None and crashed["flag"][-1] == "nan" and crashed["last_step"] == 5
    assert source.metric(PROJECT, ids["base"], "no-such-key") is None
    assert source.metric(PROJECT, "no-such-run", "loss") is None


def test_media_events_console(source: DataSource, written: dict[str, Any]) -> None:
    rid = written["ids"]["base"]
    media = source.media(PROJECT, rid)
    assert [(m["kind"], m["key"], m["step"]) for m in media] == [
        ("image", "sample", 7), ("text", "notes", 7), ("histogram", "weights", 7)]
    image, text, hist = media
    assert image["caption"] == "tiny" and image["file"]
    assert text["payload"]["text"] == "<b>步骤</b> seven"
    assert len(hist["payload"]["counts"]) + 1 == len(hist["payload"]["edges"])
    assert source.media(PROJECT, rid, kind="text") == [text]
    assert source.media(PROJECT, rid, key="weights") == [hist]
    path = source.media_file(PROJECT, rid, image["file"])
    assert path is not None and path.read_bytes()[:4] == b"\x89PNG"
    assert source.media_file(PROJECT, rid, "../../" + image["file"]) is None
    (call,) = source.events(PROJECT, rid, "llm_call")
    # An event payload is JSON from the moment it is logged: a NaN in it is stored as null.
    assert call["payload"]["model"] == "gpt-4o-mini" and call["payload"]["ttft_s"] is None
    assert source.events(PROJECT, rid, "model_summary") == []
    lines = source.console(PROJECT, rid)
    assert [(c["stream"], c["line"]) for c in lines] == [("stdout", "epoch 1 done"), ("stderr", "warning: 警告")]
    assert source.console(PROJECT, rid, after=lines[0]["seq"]) == lines[1:]
    assert source.console(PROJECT, rid, limit=1) == lines[:1]
    assert source.media(PROJECT, "no-such-run") == [] and source.console(PROJECT, "no-such-run") == []


def test_compare_and_report(source: DataSource, written: dict[str, Any]) -> None:
    ids = written["ids"]
    cmp = source.compare(PROJECT, [ids["base"], ids["other"], "gone"])
    assert [r["id"] for r in cmp["runs"]] == [ids["base"], ids["other"]] and cmp["missing"] == ["gone"]
    assert cmp["config"]["differing"] == ["lr", "opt.name"]
    assert cmp["config"]["values"]["opt.betas"] == [[0.9, 0.99], [0.9, 0.99]]
    assert cmp["summary"]["values"]["lr_sched"][1] is None
    report = source.report(PROJECT, [ids["base"], ids["crashed"], "gone"])  # type: ignore[attr-defined]
    assert report["missing"] == ["gone"] and report["baseline"] == ids["base"]
    assert report["metrics"]["loss"][ids["base"]]["nonfinite"] == 3
    assert source.report(PROJECT, ["gone"]) is None  # type: ignore[attr-defined]


def test_bad_arguments_are_value_errors(source: DataSource, written: dict[str, Any]) -> None:
    rid = written["ids"]["base"]
    bad: list[Any] = [
        lambda: source.metric(PROJECT, rid, "loss", x_axis="epoch"),
        lambda: source.metric(PROJECT, rid, "loss", max_points=1),
        lambda: source.metric(PROJECT, rid, "loss", x_min=math.nan),
        lambda: source.metric(PROJECT, rid, "loss", x_min=5, x_max=1),
        lambda: source.media(PROJECT, rid, kind="video"),
        lambda: source.events(PROJECT, rid, "image"),
        lambda: source.console(PROJECT, rid, after=-1),
        lambda: source.console(PROJECT, rid, limit=0),
        lambda: source.runs(".."),
        lambda: source.run("a/b", rid),
        lambda: source.run(PROJECT, ".."),
    ]
    for call in bad:
        with pytest.raises(ValueError):
            call()
    # A documented difference: run ids are folder names for LocalSource (no "/" or "\\"), while
    # the server accepts any id seetrain.limits allows and only compares it in SQL.
    if _is_local(source):
        with pytest.raises(ValueError):
            source.run(PROJECT, "../x")
    else:
        assert source.run(PROJECT, "../x") is None
    assert set(MEDIA_KINDS) == {"image", "audio", "text", "histogram"}


# -- the two sources side by side ------------------------------------------------------------------
def _answers(source: DataSource, ids: dict[str, str]) -> dict[str, Any]:
    """Every DataSource method's answer for the contract's runs, as one comparable dict."""
    out: dict[str, Any] = {"projects": source.projects(), "runs": source.runs(PROJECT),
                           "groups": source.groups(PROJECT)}  # type: ignore[attr-defined]
    for role, rid in ids.items():
        out[f"run/{role}"] = source.run(PROJECT, rid)
        for key in (source.run(PROJECT, rid) or {}).get("keys", []):
            for axis in ("step", "time", "relative"):
                out[f"metric/{role}/{key}/{axis}"] = source.metric(PROJECT, rid, key, x_axis=axis, max_points=20)
            out[f"metric/{role}/{key}/after"] = source.metric(PROJECT, rid, key, after_step=3)
        out[f"media/{role}"] = source.media(PROJECT, rid)
        out[f"events/{role}"] = source.events(PROJECT, rid, "llm_call")
        out[f"console/{role}"] = source.console(PROJECT, rid)
        out[f"files/{role}"] = [(m["file"], (p := source.media_file(PROJECT, rid, m["file"])) and p.read_bytes())
                                for m in out[f"media/{role}"] if m["file"]]
    order = [ids["base"], ids["other"], ids["crashed"], "gone"]
    out["compare"] = source.compare(PROJECT, order)
    bands = Aggregator(source)  # group bands are built over runs() and metric() of any source
    for group_by in ("group", "config:opt.name"):
        for axis in ("step", "relative"):
            out[f"bands/{group_by}/{axis}"] = bands.bands(PROJECT, "loss", None, group_by, x_axis=axis, bins=10)
    out["report"] = source.report(PROJECT, order)  # type: ignore[attr-defined]
    return out


def test_both_sources_answer_alike(source: DataSource, local: LocalSource, written: dict[str, Any]) -> None:
    """DbSource against LocalSource; LocalSource (its caches warm from the tests above) against a
    fresh LocalSource that reads everything from disk."""
    ids = written["ids"]
    reference = LocalSource(written["logdir"]) if source is local else local
    mine, ref = _answers(source, ids), _answers(reference, ids)
    assert sorted(mine) == sorted(ref)
    for name in sorted(ref):  # one by one, so a failure names the method and run
        assert mine[name] == ref[name], name
    # Not vacuous: the uploaded runs carry what the client recorded about itself.
    assert mine["run/base"]["metadata"]["python"] and mine["run/base"]["stats"]
