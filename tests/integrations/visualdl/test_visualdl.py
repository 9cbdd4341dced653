"""The VisualDL mirror on a real ``visualdl.LogWriter``: the VisualDL record files are still
written (read back with VisualDL's own ``LogReader``) and every call also reaches SeeTrain (read
back with ``seetrain.Api``). Also Paddle's own ``paddle.callbacks.VisualDL`` inside a real
``paddle.Model.fit``, and ``add_graph`` of a Paddle layer."""

from __future__ import annotations

import glob
import os

import pytest

visualdl = pytest.importorskip("visualdl")
np = pytest.importorskip("numpy")

from visualdl import LogReader, LogWriter  # noqa: E402

import seetrain  # noqa: E402
from integrations import main  # noqa: E402
from integrations import visualdl as vdl  # noqa: E402

pytestmark = pytest.mark.integration
QUIET = dict(system_monitor=False, capture_console=False)


@pytest.fixture(autouse=True)
def _clean(monkeypatch):
    for var in ("RANK", "LOCAL_RANK", "SEETRAIN_LOGDIR", "SEETRAIN_PROJECT", "SEETRAIN_MODE"):
        monkeypatch.delenv(var, raising=False)
    originals = {m: vars(LogWriter)[m] for m in vdl.METHODS}
    yield originals
    vdl.unsync_visualdl()
    main.finish()
    for name, original in originals.items():
        assert vars(LogWriter)[name] is original, f"LogWriter.{name} not restored"


def _vdl_tags(directory) -> dict[str, list[str]]:
    tags: dict[str, list[str]] = {}
    for path in sorted(glob.glob(os.path.join(directory, "**", "vdlrecords.*.log"), recursive=True)):
        for kind, names in LogReader(file_path=path).get_tags().items():
            tags.setdefault(kind, []).extend(names)
    return tags


def _vdl_scalars(directory, tag) -> list[tuple[int, float]]:
    (path,) = glob.glob(os.path.join(directory, "vdlrecords.*.log"))
    return [(r.id, r.value) for r in LogReader(file_path=path).get_data("scalar", tag)]


def test_every_method_is_mirrored_and_visualdl_files_still_written(tmp_path, _clean):
    logdir, vdldir = tmp_path / "logs", tmp_path / "vdl"
    integration = vdl.sync_visualdl(project="vdl", experiment_name="mirror", logdir=str(logdir), **QUIET)
    assert vdl.sync_visualdl() is integration  # applied once
    assert vars(LogWriter)["add_scalar"] is not _clean["add_scalar"]
    rng = np.random.default_rng(0)
    with LogWriter(logdir=str(vdldir)) as writer:
        writer.add_scalar("train/loss", 1.0, step=1)
        writer.add_scalar(tag="train/loss", value=0.5, step=2)
        writer.add_scalars("lr", {"a": 0.1, "b": 0.2}, 2)
        writer.add_image("hwc", rng.integers(0, 255, (6, 7, 3)).astype("uint8"), 2)
        writer.add_image("chw", rng.random((3, 4, 5)).astype("float32"), 3, dataformats="CHW")
        writer.add_histogram("weights", np.arange(100, dtype="float32"), 2, buckets=5)
        writer.add_text("note", "hello visualdl", 2)
        writer.add_audio("tone", np.sin(np.linspace(0, 50, 800)).astype("float32"), 2, sample_rate=8000)
        writer.add_hparams({"lr": 0.1, "batch": 4}, ["train/loss"])
    assert integration.get_stats()["degraded_calls"] == 0
    integration.finish()

    tags = _vdl_tags(vdldir)  # VisualDL's own files are complete
    assert tags["scalar"] == ["train/loss"] and tags["scalars"] == ["lr"] and tags["hyper_parameters"] == ["hparam"]
    assert {"hwc", "chw"} <= set(tags["image"]) and tags["histogram"] == ["weights"]
    assert tags["text"] == ["note"] and tags["audio"] == ["tone"]
    assert [v for _, v in _vdl_scalars(vdldir, "train/loss")] == [1.0, 0.5]

    (view,) = seetrain.Api(logdir).runs("vdl")
    assert view.status == "finished" and view.name == "mirror"
    assert view.config["framework"]["name"] == "visualdl" and view.config["framework"]["mode"] == "visbackend"
    assert view.config["visualdl"]["logdirs"] == [str(vdldir)]
    assert [(s, v) for s, _, v in view.scalars("train/loss")] == [(1, 1.0), (2, 0.5)]
    assert [(s, v) for s, _, v in view.scalars("lr/b")] == [(2, pytest.approx(0.2))]
    (hwc,) = view.media("hwc", kind="image")
    assert (hwc.step, hwc.payload["width"], hwc.payload["height"]) == (2, 7, 6)
    (chw,) = view.media("chw", kind="image")
    assert (chw.payload["width"], chw.payload["height"]) == (5, 4)
    hist = view.media("weights", kind="histogram")[0].payload
    assert hist["count"] == 100 and hist["max"] == 99.0
    assert view.media("note", kind="text")[0].payload["text"] == "hello visualdl"
    audio = view.media("tone", kind="audio")[0]
    assert audio.payload["sample_rate"] == 8000 and audio.payload["duration"] == pytest.approx(0.1)
    assert view.config["hparams"] == {"lr": 0.1, "batch": 4}
    assert view.config["hparams_metrics"] == ["train/loss"]


def test_records_sent_counts_each_call_the_run_accepted(tmp_path, monkeypatch):
    # The rule of integrations._mirror.LogdirMirror.capture (the same as TensorBoard's).
    integration = vdl.sync_visualdl(project="vdl", logdir=str(tmp_path / "logs"), **QUIET)
    with LogWriter(logdir=str(tmp_path / "vdl")) as writer:
        writer.add_scalar("loss", 1.0, step=0)
        writer.add_scalars("empty", {}, 0)  # carries nothing: nothing sent
        writer.add_hparams({"lr": 0.1}, ["loss"])  # config only: sent
        assert integration.get_stats()["records_sent"] == 2

        def broken(self, data, step=None):
            raise RuntimeError("store is gone")

        monkeypatch.setattr(seetrain.Run, "log", broken)
        writer.add_scalar("loss", 2.0, step=1)  # refused by the run: not counted
    stats = integration.get_stats()
    assert stats["records_sent"] == 2 and stats["degraded_calls"] == 1


def test_writer_made_before_sync_and_import_hook(tmp_path):
    early = LogWriter(logdir=str(tmp_path / "early"))
    vdl.sync_visualdl(project="vdl", logdir=str(tmp_path / "logs"), root_logdir=str(tmp_path), **QUIET)
    early.add_scalar("loss", 3.0, 0)
    late = LogWriter(logdir=str(tmp_path / "late"))
    late.add_scalar("loss", 4.0, 0)
    early.close()
    late.close()
    vdl.unsync_visualdl()
    (view,) = seetrain.Api(tmp_path / "logs").runs("vdl")
    assert view.scalars("early/loss")[0][2] == 3.0 and view.scalars("late/loss")[0][2] == 4.0


def test_run_per_logdir_maps_each_writer_to_its_run(tmp_path):
    logs = tmp_path / "logs"
    main.init_visualdl(project="vdl", experiment_name="train", logdir=str(logs), run_per_logdir=True,
                       root_logdir=str(tmp_path), **QUIET)
    for name, first in (("train", 1.0), ("val", 2.0)):
        with LogWriter(logdir=str(tmp_path / name)) as writer:
            for step in range(3):
                writer.add_scalar("loss", first + step, step)
    vdl.unsync_visualdl()
    runs = {r.name: r for r in seetrain.Api(logs).runs("vdl")}
    assert set(runs) == {"train", "val"}  # the first logdir claims the integration's own run
    assert runs["val"].config["visualdl"]["logdir"] == str(tmp_path / "val")
    for first, view in ((1.0, runs["train"]), (2.0, runs["val"])):
        assert view.status == "finished" and "visualdl" in view.tags
        assert [(s, v) for s, _, v in view.scalars("loss")] == [(0, first), (1, first + 1), (2, first + 2)]


def test_failure_inside_seetrain_does_not_break_the_writer(tmp_path, monkeypatch):
    def broken(self, data, step=None):
        raise RuntimeError("store is gone")

    integration = vdl.sync_visualdl(project="vdl", logdir=str(tmp_path / "logs"), **QUIET)
    monkeypatch.setattr(seetrain.Run, "log", broken)
    with LogWriter(logdir=str(tmp_path / "vdl")) as writer:
        for step in range(3):
            writer.add_scalar("loss", float(step), step)
    assert integration.get_stats()["degraded_calls"] >= 3
    vdl.unsync_visualdl()
    assert [v for _, v in _vdl_scalars(tmp_path / "vdl", "loss")] == [0.0, 1.0, 2.0]


def test_user_error_is_raised_untouched(tmp_path):
    vdl.sync_visualdl(project="vdl", logdir=str(tmp_path / "logs"), **QUIET)
    with LogWriter(logdir=str(tmp_path / "vdl")) as writer, pytest.raises(TypeError):
        writer.add_scalar("loss")  # missing value and step: VisualDL's own error


def test_paddle_visualdl_callback_and_add_graph_are_mirrored(tmp_path):
    paddle = pytest.importorskip("paddle")
    logs, vdldir = tmp_path / "logs", tmp_path / "vdl"
    vdl.sync_visualdl(project="vdl-paddle", logdir=str(logs), **QUIET)
    paddle.seed(0)
    net = paddle.nn.Sequential(paddle.nn.Linear(4, 8), paddle.nn.ReLU(), paddle.nn.Linear(8, 2))
    model = paddle.Model(net)
    model.prepare(paddle.optimizer.SGD(learning_rate=0.1, parameters=net.parameters()),
                  paddle.nn.CrossEntropyLoss(), paddle.metric.Accuracy())
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 4)).astype("float32")
    data = paddle.io.TensorDataset([paddle.to_tensor(x), paddle.to_tensor((x[:, :1] > 0).astype("int64"))])
    model.fit(data, batch_size=8, epochs=2, verbose=0, callbacks=[paddle.callbacks.VisualDL(str(vdldir))])
    with LogWriter(logdir=str(tmp_path / "graph")) as writer:
        try:
            writer.add_graph(net, [paddle.static.InputSpec([None, 4], "float32", "x")])
        except FileNotFoundError:
            pass  # VisualDL 2.5.3's own export fails on Paddle 3.x (no temp.pdmodel); not SeeTrain's
    vdl.unsync_visualdl()

    (view,) = seetrain.Api(logs).runs("vdl-paddle")
    assert view.status == "finished"
    assert [s for s, _, _ in view.scalars("train/loss")] == [1, 2, 3, 4]  # Paddle's callback steps
    assert set(_vdl_tags(vdldir)["scalar"]) >= {"train/loss", "train/acc"}
    assert len(view.scalars("train/acc")) == 4
    (graph,) = view.media(kind="graph")
    payload = graph.payload
    assert payload["format"] == "seetrain.graph/1" and payload["method"] == "modules"
    assert payload["total_params"] == 58 and payload["model"] == "Sequential"
    assert [c["type"] for c in payload["modules"]["children"]] == ["Linear", "ReLU", "Linear"]
    assert payload["inputs"] == [{"shape": ["?", 4], "dtype": "float32"}]


def test_rank_nonzero_writes_nothing_but_visualdl_files(tmp_path, monkeypatch):
    monkeypatch.setenv("RANK", "1")
    vdl.sync_visualdl(project="vdl", logdir=str(tmp_path / "logs"), **QUIET)
    with LogWriter(logdir=str(tmp_path / "vdl")) as writer:
        writer.add_scalar("loss", 1.0, 0)
    vdl.unsync_visualdl()
    assert seetrain.Api(tmp_path / "logs").runs() == []
    assert _vdl_scalars(tmp_path / "vdl", "loss") == [(0, 1.0)]
