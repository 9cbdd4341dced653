"""The timm adapter on real timm: ``timm.create_model`` of a tiny model, a two-epoch loop built
the way timm's ``train.py`` is (``create_optimizer_v2``, ``create_scheduler_v2``, ``AverageMeter``,
``accuracy``, ``utils.update_summary`` writing ``summary.csv``), CPU, synthetic data. The CSV timm
writes is the expected value of what SeeTrain recorded.

timm needs torchvision, which cannot sit beside the main venv's torch 2.13.0: these tests run in
the vision lane (``scripts/test_vision.sh``, ``make test-vision``) and skip elsewhere.
"""

from __future__ import annotations

import csv

import pytest

pytest.importorskip("timm", reason="timm runs in the vision lane: make test-vision")
torch = pytest.importorskip("torch")

import timm  # noqa: E402
import timm.models._factory  # noqa: E402
import timm.utils  # noqa: E402
import timm.utils.summary  # noqa: E402
from timm.optim import create_optimizer_v2  # noqa: E402
from timm.scheduler import create_scheduler_v2  # noqa: E402

import seetrain  # noqa: E402
from integrations import main  # noqa: E402
from integrations import timm as st_timm  # noqa: E402

pytestmark = pytest.mark.integration
QUIET = {"system_monitor": False, "capture_console": False}
ORIGINALS = [(timm, "create_model"), (timm.models, "create_model"), (timm.models._factory, "create_model"),
             (timm.utils, "update_summary"), (timm.utils.summary, "update_summary")]


@pytest.fixture(autouse=True)
def _clean():
    originals = {(mod, attr): vars(mod)[attr] for mod, attr in ORIGINALS}
    yield
    st_timm.unsync_timm()
    main.finish()
    for (mod, attr), original in originals.items():
        assert vars(mod)[attr] is original, f"{mod.__name__}.{attr} not restored"


def _train(model, out, epochs=2):
    """A miniature of timm's train.py loop; returns nothing, writes out/summary.csv."""
    torch.manual_seed(0)
    x, y = torch.randn(16, 3, 32, 32), torch.randint(0, 2, (16,))
    optimizer = create_optimizer_v2(model, opt="adamw", lr=1e-2, weight_decay=0.01)
    scheduler, _ = create_scheduler_v2(optimizer, sched="cosine", num_epochs=epochs, warmup_epochs=0)
    loss_fn = torch.nn.CrossEntropyLoss()
    for epoch in range(epochs):
        model.train()
        train_loss = timm.utils.AverageMeter()
        for i in range(0, 16, 8):
            loss = loss_fn(model(x[i:i + 8]), y[i:i + 8])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            train_loss.update(loss.item(), 8)
        model.eval()
        with torch.no_grad():
            out_logits = model(x)
            top1, = timm.utils.accuracy(out_logits, y, topk=(1,))
        eval_metrics = {"loss": loss_fn(out_logits, y).item(), "top1": top1.item()}
        lrs = [g["lr"] for g in optimizer.param_groups]
        timm.utils.update_summary(epoch, {"loss": train_loss.avg}, eval_metrics, out / "summary.csv",
                                  lr=sum(lrs) / len(lrs), write_header=epoch == 0)
        scheduler.step(epoch + 1)


def test_create_model_and_update_summary_are_mirrored(tmp_path):
    integration = st_timm.sync_timm(project="timm", experiment_name="tiny", logdir=tmp_path / "logs", **QUIET)
    assert st_timm.sync_timm() is integration
    model = timm.create_model("test_resnet", num_classes=2)
    _train(model, tmp_path)
    st_timm.unsync_timm()

    with open(tmp_path / "summary.csv") as f:  # timm's own file, written as before
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [0, 1]
    (view,) = seetrain.Api(tmp_path / "logs").runs("timm")
    assert view.status == "finished" and view.name == "tiny"
    for key, column in (("train/loss", "train_loss"), ("eval/loss", "eval_loss"), ("eval/top1", "eval_top1"),
                        ("lr", "lr")):
        points = view.scalars(key)
        assert [s for s, _, _ in points] == [0, 1], key
        assert [v for _, _, v in points] == pytest.approx([float(r[column]) for r in rows]), key
    cfg = view.config["timm"]
    assert cfg["summary_csv"] == str(tmp_path / "summary.csv") and cfg["models_created"] == ["test_resnet"]
    m = cfg["model"]
    assert m["architecture"] == "test_resnet" and m["class"] == "ResNet" and m["num_classes"] == 2
    assert m["total_params"] == sum(p.numel() for p in model.parameters()) == m["trainable_params"]
    assert m["num_features"] == model.num_features
    assert m["pretrained_cfg"]["input_size"] == list(model.pretrained_cfg["input_size"])
    assert m["data_config"]["mean"] == pytest.approx(list(model.pretrained_cfg["mean"]))
    assert view.config["framework"]["name"] == "timm" and view.config["framework"]["mode"] == "tracker"


def test_log_timm_model_without_the_mirror(tmp_path):
    model = timm.create_model("test_vit", num_classes=3)
    assert st_timm.log_timm_model(model) is None  # no run: nothing recorded, nothing raised
    with seetrain.init(project="timm-plain", logdir=str(tmp_path), **QUIET):
        values = st_timm.log_timm_model(model)
    (view,) = seetrain.Api(tmp_path).runs("timm-plain")
    assert view.config["timm"]["model"] == values
    assert values["architecture"] == "test_vit" and values["num_classes"] == 3
    assert values["data_config"]["input_size"] == list(model.pretrained_cfg["input_size"])


def test_seetrain_failure_never_breaks_timm(tmp_path, monkeypatch):
    integration = main.init_timm(project="timm", logdir=tmp_path / "logs", **QUIET)

    def broken(self, data, step=None):
        raise RuntimeError("store is gone")

    monkeypatch.setattr(seetrain.Run, "log", broken)
    model = timm.create_model("test_resnet", num_classes=2)
    _train(model, tmp_path, epochs=1)
    assert integration.get_stats()["degraded_calls"] >= 1
    assert (tmp_path / "summary.csv").read_text().count("\n") == 2  # header + one epoch
