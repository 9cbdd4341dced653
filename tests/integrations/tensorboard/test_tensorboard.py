"""TensorBoard mirror with the real torch and tensorboardX SummaryWriters: event files still
written, SeeTrain gets the same records, unsync restores the original methods exactly."""

from __future__ import annotations

import glob
import math
import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("tensorboard")
pytest.importorskip("tensorboardX")

import tensorboardX  # noqa: E402
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402
from torch.utils.tensorboard import SummaryWriter as TorchWriter  # noqa: E402

import seetrain  # noqa: E402
from integrations import main  # noqa: E402
from integrations import tensorboard as tb  # noqa: E402

pytestmark = pytest.mark.integration

QUIET = dict(system_monitor=False, capture_console=False)
WRITERS = [pytest.param(TorchWriter, id="torch"), pytest.param(tensorboardX.SummaryWriter, id="tensorboardX")]


@pytest.fixture(autouse=True)
def _clean(monkeypatch):
    for var in ("RANK", "LOCAL_RANK", "SEETRAIN_LOGDIR", "SEETRAIN_PROJECT", "SEETRAIN_MODE"):
        monkeypatch.delenv(var, raising=False)
    originals = {cls: {m: vars(cls)[m] for m in tb.METHODS} for cls in (TorchWriter, tensorboardX.SummaryWriter)}
    yield originals
    tb.unsync_tensorboard()
    main.finish()
    for cls, methods in originals.items():
        for name, original in methods.items():
            assert vars(cls)[name] is original, f"{cls.__module__}.{name} not restored"


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _event_tags(directory) -> dict[str, list[str]]:
    tags: dict[str, list[str]] = {}
    for path in sorted(glob.glob(os.path.join(directory, "**", "events.out.tfevents*"), recursive=True)):
        acc = EventAccumulator(path)
        acc.Reload()
        for kind, names in acc.Tags().items():
            if isinstance(names, list):
                tags.setdefault(kind, []).extend(names)
    return tags


@pytest.mark.parametrize("writer_cls", WRITERS)
def test_every_method_is_mirrored_and_event_files_still_written(tmp_path, writer_cls, _clean):
    logdir, tbdir = tmp_path / "logs", tmp_path / "tb"
    writer = writer_cls(str(tbdir))  # created before sync: class-level patches still apply
    integration = tb.sync_tensorboard(project="tb", experiment_name="mirror", logdir=str(logdir), **QUIET)
    assert tb.sync_tensorboard() is integration  # applied once
    assert vars(writer_cls)["add_scalar"] is not _clean[writer_cls]["add_scalar"]

    for step in (1, 2):
        writer.add_scalar("loss", 1.0 / step, step)
    writer.add_scalars("lr", {"a": 0.1, "b": 0.2}, 2)
    writer.add_image("img", torch.ones(3, 4, 5) * 0.5, 2)  # CHW float in [0, 1]
    writer.add_image("img_hwc", np.zeros((6, 7, 3), dtype=np.uint8), 2, dataformats="HWC")
    writer.add_images("batch", torch.zeros(2, 3, 4, 4), 2)
    writer.add_text("note", "hello tensorboard", 2)
    writer.add_histogram("weights", torch.arange(100, dtype=torch.float32), 2)
    t = torch.linspace(0, 1, 800)
    # tensorboardX encodes audio with soundfile, an optional dependency of its own
    with_audio = writer_cls is TorchWriter or _has("soundfile")
    if with_audio:
        writer.add_audio("tone", torch.sin(2 * math.pi * 440 * t), 2, sample_rate=8000)
    writer.add_hparams({"lr": 0.1, "batch": 4}, {"hparam/acc": 0.9})
    writer.close()
    assert integration.get_stats()["degraded_calls"] == 0
    tb.unsync_tensorboard()
    tb.unsync()  # twice is harmless
    for name, original in _clean[writer_cls].items():
        assert vars(writer_cls)[name] is original

    tags = _event_tags(tbdir)
    assert "loss" in tags["scalars"] and "hparam/acc" in tags["scalars"]
    assert {"img", "img_hwc", "batch"} <= set(tags["images"])
    assert "weights" in tags["histograms"]
    assert ("tone" in tags["audio"]) == with_audio

    (view,) = seetrain.Api(logdir).runs("tb")
    assert view.status == "finished" and view.name == "mirror"
    assert view.config["framework"]["name"] == "tensorboard"
    assert view.config["framework"]["mode"] == "visbackend"
    assert view.config["tensorboard"]["log_dirs"] == [str(tbdir)]
    assert "tensorboard" in view.tags
    assert [(s, v) for s, _, v in view.scalars("loss")] == [(1, 1.0), (2, 0.5)]
    assert [(s, v) for s, _, v in view.scalars("lr/b")] == [(2, pytest.approx(0.2))]
    (img,) = view.media("img", kind="image")
    assert (img.step, img.payload["width"], img.payload["height"]) == (2, 5, 4)
    (hwc,) = view.media("img_hwc", kind="image")
    assert (hwc.payload["width"], hwc.payload["height"]) == (7, 6)
    assert len(view.media("batch", kind="image")) == 2
    assert view.media("note", kind="text")[0].payload["text"] == "hello tensorboard"
    hist = view.media("weights", kind="histogram")[0].payload
    assert hist["count"] == 100 and hist["max"] == 99.0
    if with_audio:
        audio = view.media("tone", kind="audio")[0]
        assert audio.payload["sample_rate"] == 8000 and audio.payload["duration"] == pytest.approx(0.1)
    assert view.config["hparams"] == {"lr": 0.1, "batch": 4}
    # add_hparams writes its metric through a second writer's add_scalar: recorded once
    assert [v for _, _, v in view.scalars("hparam/acc")] == [pytest.approx(0.9)]


def test_run_per_logdir_maps_each_writer_to_its_run(tmp_path):
    logdir, root = tmp_path / "logs", tmp_path / "tb"
    integration = main.init_tensorboard(project="tb", experiment_name="exp", logdir=str(logdir),
                                        run_per_logdir=True, root_logdir=str(root), **QUIET)
    train, val = TorchWriter(str(root / "train")), tensorboardX.SummaryWriter(str(root / "val"))
    for step in range(3):
        train.add_scalar("loss", 1.0 - step / 10, step)
        val.add_scalar("loss", 2.0 - step / 10, step)
    train.close()
    val.close()
    integration.finish()
    integration.finish()

    runs = {v.name: v for v in seetrain.Api(logdir).runs("tb")}
    assert set(runs) == {"exp", "val"}  # the first log_dir claims the integration's own run
    assert runs["exp"].config["tensorboard"]["log_dir"] == str(root / "train")
    assert runs["val"].config["tensorboard"]["log_dir"] == str(root / "val")
    assert runs["val"].group == "exp"
    for name, first in (("exp", 1.0), ("val", 2.0)):
        view = runs[name]
        assert view.status == "finished"
        assert view.config["framework"]["name"] == "tensorboard" and "tensorboard" in view.tags
        assert [s for s, _, _ in view.scalars("loss")] == [0, 1, 2]
        assert view.scalars("loss")[0][2] == first


def test_shared_run_prefixes_keys_by_logdir(tmp_path):
    logdir, root = tmp_path / "logs", tmp_path / "tb"
    tb.sync_tensorboard(project="tb", logdir=str(logdir), root_logdir=str(root), **QUIET)
    train, val = TorchWriter(str(root / "train")), TorchWriter(str(root / "val"))
    train.add_scalar("loss", 1.0, 0)
    val.add_scalar("loss", 2.0, 0)
    train.close()
    val.close()
    tb.unsync_tensorboard()
    (view,) = seetrain.Api(logdir).runs("tb")
    assert view.scalars("train/loss")[0][2] == 1.0 and view.scalars("val/loss")[0][2] == 2.0


def test_kept_reference_after_unsync_records_nothing(tmp_path):
    logdir = tmp_path / "logs"
    tb.sync_tensorboard(project="tb", logdir=str(logdir), **QUIET)
    patched = TorchWriter.add_scalar
    writer = TorchWriter(str(tmp_path / "tb"))
    patched(writer, "before", 1.0, 0)
    tb.unsync_tensorboard()
    patched(writer, "after", 1.0, 0)  # a stale wrapper only calls the original
    writer.close()
    (view,) = seetrain.Api(logdir).runs("tb")
    assert view.keys() == ["before"]
    assert "after" in _event_tags(tmp_path / "tb")["scalars"]


def test_rank_nonzero_writes_nothing_but_events(tmp_path, monkeypatch):
    monkeypatch.setenv("RANK", "1")
    logdir = tmp_path / "logs"
    tb.sync_tensorboard(project="tb", logdir=str(logdir), **QUIET)
    writer = TorchWriter(str(tmp_path / "tb"))
    writer.add_scalar("loss", 1.0, 0)
    writer.close()
    tb.unsync_tensorboard()
    assert seetrain.Api(logdir).runs() == []
    assert "loss" in _event_tags(tmp_path / "tb")["scalars"]


def test_failure_inside_seetrain_does_not_break_the_writer(tmp_path, monkeypatch):
    def broken(self, data, step=None):
        raise RuntimeError("store is gone")

    integration = tb.sync_tensorboard(project="tb", logdir=str(tmp_path / "logs"), **QUIET)
    monkeypatch.setattr(seetrain.Run, "log", broken)
    writer = tensorboardX.SummaryWriter(str(tmp_path / "tb"))
    for step in range(3):
        writer.add_scalar("loss", float(step), step)
    writer.close()
    assert integration.get_stats()["degraded_calls"] >= 3
    tb.unsync_tensorboard()
    assert "loss" in _event_tags(tmp_path / "tb")["scalars"]


def test_user_error_is_raised_untouched(tmp_path):
    tb.sync_tensorboard(project="tb", logdir=str(tmp_path / "logs"), **QUIET)
    writer = TorchWriter(str(tmp_path / "tb"))
    with pytest.raises(TypeError, match="dictionary"):
        writer.add_hparams("not a dict", {})
    writer.close()


def test_records_sent_counts_each_call_the_run_accepted(tmp_path, monkeypatch):
    # The rule of integrations._mirror.LogdirMirror.capture: one writer call that handed metrics,
    # config or a graph to the run, and whose hand-over returned, is one record sent.
    integration = tb.sync_tensorboard(project="tb", logdir=str(tmp_path / "logs"), **QUIET)
    writer = TorchWriter(str(tmp_path / "tb"))
    writer.add_scalar("loss", 1.0, 0)
    writer.add_scalars("empty", {}, 0)  # carries nothing: nothing sent
    writer.add_graph(torch.nn.Linear(2, 1), torch.randn(1, 2))
    assert integration.get_stats()["records_sent"] == 2

    def broken(self, data, step=None):
        raise RuntimeError("store is gone")

    monkeypatch.setattr(seetrain.Run, "log", broken)
    writer.add_scalar("loss", 2.0, 1)  # refused by the run: not counted
    writer.close()
    stats = integration.get_stats()
    assert stats["records_sent"] == 2 and stats["degraded_calls"] == 1


@pytest.mark.parametrize("writer_cls", WRITERS)
def test_add_graph_becomes_a_graph_record(tmp_path, writer_cls):
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    tb.sync_tensorboard(project="tb-graph", logdir=str(tmp_path / "logs"), **QUIET)
    writer = writer_cls(str(tmp_path / "tb"))
    writer.add_graph(model, torch.randn(5, 4))
    writer.close()
    tb.unsync_tensorboard()
    (view,) = seetrain.Api(tmp_path / "logs").runs("tb-graph")
    (graph,) = view.media(kind="graph")
    payload = graph.payload
    assert payload["format"] == "seetrain.graph/1" and payload["method"] == "torch.fx"
    assert payload["op_counts"] == {"Linear": 2, "ReLU": 1} and payload["total_params"] == 58
    assert [n["output"]["shape"] for n in payload["nodes"] if n["op"] == "call_module"] == [[5, 8], [5, 8], [5, 2]]
