"""The Ultralytics callbacks driven by a real ``YOLO("yolov8n.yaml").train(...)`` on the CPU.

Ultralytics needs torchvision, which cannot sit beside the main venv's torch 2.13.0: these tests
run in their own lane (``scripts/test_ultralytics.sh``, ``make test-ultralytics``) and skip
elsewhere. The data set is a handful of generated images, so nothing is downloaded.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

pytest.importorskip("ultralytics")
np = pytest.importorskip("numpy")

from PIL import Image  # noqa: E402
from ultralytics import YOLO  # noqa: E402

import seetrain  # noqa: E402
from integrations import main  # noqa: E402
from integrations.ultralytics import add_seetrain_callback  # noqa: E402

pytestmark = pytest.mark.integration
SEETRAIN_KW = {"system_monitor": False, "capture_console": False}


def make_dataset(root: Path, images: int = 4, size: int = 64) -> Path:
    """A tiny one-class detection set: a bright box on a dark background, YOLO txt labels."""
    for split, seed in (("train", 0), ("val", 1)):
        rng = np.random.default_rng(seed)
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
        for i in range(images):
            x0, y0 = (int(v) for v in rng.integers(4, size // 2, 2))
            w, h = (int(v) for v in rng.integers(size // 5, size // 2 - 4, 2))
            img = np.full((size, size, 3), 40, np.uint8)
            img[y0:y0 + h, x0:x0 + w] = (220, 60, 60)
            Image.fromarray(img).save(root / "images" / split / f"{i}.png")
            (root / "labels" / split / f"{i}.txt").write_text(
                f"0 {(x0 + w / 2) / size:.5f} {(y0 + h / 2) / size:.5f} {w / size:.5f} {h / size:.5f}\n")
    data = root / "data.yaml"
    data.write_text(f"path: {root}\ntrain: images/train\nval: images/val\nnames:\n  0: box\n")
    return data


def train(model, data: Path, out: Path, epochs: int = 1) -> None:
    model.train(data=str(data), epochs=epochs, imgsz=64, batch=4, plots=True, amp=False, workers=0,
                device="cpu", project=str(out), name="run", exist_ok=True, verbose=False)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("yolo-data"))


@pytest.fixture(scope="module")
def trained(tmp_path_factory, dataset):
    """One 2-epoch training shared by the read-back tests."""
    base = tmp_path_factory.mktemp("yolo-train")
    model = YOLO("yolov8n.yaml")
    callbacks = add_seetrain_callback(model, project="yolo", experiment_name="tiny", logdir=base / "logs",
                                      **SEETRAIN_KW)
    train(model, dataset, base / "runs", epochs=2)
    (view,) = seetrain.Api(base / "logs").runs("yolo")
    return view, callbacks, base / "runs" / "run"


def test_epoch_metrics_match_results_csv(trained):
    view, callbacks, save_dir = trained
    assert view.status == "finished" and view.name == "tiny"
    with open(save_dir / "results.csv", newline="") as fh:
        rows = [{k.strip(): v for k, v in row.items()} for row in csv.DictReader(fh)]
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    keys = [k for k in rows[0] if k not in ("epoch", "time")]
    assert any(k.startswith("train/") for k in keys) and any(k.startswith("metrics/") for k in keys)
    assert any(k.startswith("lr/") for k in keys)
    for key in keys:
        got = view.scalars(key)
        # One point per epoch: the extra on_fit_epoch_end after training is not a duplicate.
        assert [s for s, _, _ in got] == [1, 2], key
        for (_, _, value), row in zip(got, rows):
            assert math.isclose(value, float(row[key]), rel_tol=1e-4, abs_tol=1e-5), key
    assert [v for _, _, v in view.scalars("epoch")] == [1.0, 2.0]
    assert callbacks.integration.get_stats()["degraded_calls"] == 0


def test_config_plots_checkpoints_and_final_validation(trained):
    view, _, save_dir = trained
    cfg = view.config
    assert cfg["framework"]["name"] == "ultralytics" and cfg["framework"]["version"]
    assert cfg["epochs"] == 2 and cfg["imgsz"] == 64 and cfg["model"] == "yolov8n.yaml"
    assert cfg["model_parameters"] == view.metadata["model"]["total_params"] > 0
    plots = {m.key for m in view.media(kind="image")}
    assert "plots/results" in plots and "plots/confusion_matrix" in plots
    assert all(Path(m.path).is_file() for m in view.media(kind="image"))
    checkpoints = view.media("checkpoint", kind="checkpoint")
    assert [c.step for c in checkpoints] == [1, 2]
    assert checkpoints[-1].payload["path"] == str(save_dir / "weights" / "last.pt")
    (final,) = view.media("final_validation", kind="final_validation")
    assert final.payload["model"] == str(save_dir / "weights" / "best.pt")
    assert "metrics/mAP50(B)" in final.payload["metrics"]


def test_hub_callback_dict(tmp_path, dataset):
    integration = main.init_ultralytics(project="yolo-hub", logdir=str(tmp_path / "logs"), **SEETRAIN_KW)
    model = YOLO("yolov8n.yaml")
    for event, func in integration.get_callback().items():
        model.add_callback(event, func)
    train(model, dataset, tmp_path / "runs")
    assert integration.get_stats()["records_sent"] > 0
    integration.finish()
    integration.finish()
    (view,) = seetrain.Api(tmp_path / "logs").runs("yolo-hub")
    assert view.status == "finished" and [s for s, _, _ in view.scalars("train/box_loss")] == [1]


def test_seetrain_failure_does_not_break_training(tmp_path, dataset, monkeypatch):
    def broken_log(self, *args, **kwargs):
        raise OSError("disk on fire")

    monkeypatch.setattr(seetrain.Run, "log", broken_log)
    model = YOLO("yolov8n.yaml")
    callbacks = add_seetrain_callback(model, project="yolo", logdir=tmp_path / "logs", **SEETRAIN_KW)
    train(model, dataset, tmp_path / "runs")
    assert (tmp_path / "runs" / "run" / "weights" / "best.pt").is_file()
    assert callbacks.integration.get_stats()["degraded_calls"] > 0


def test_non_zero_rank_writes_nothing(tmp_path, dataset, monkeypatch):
    monkeypatch.setenv("RANK", "1")
    model = YOLO("yolov8n.yaml")
    add_seetrain_callback(model, project="yolo", logdir=tmp_path / "logs", **SEETRAIN_KW)
    train(model, dataset, tmp_path / "runs")
    assert seetrain.Api(tmp_path / "logs").runs() == []
