"""add_seetrain_callback(model, log_model=...): a real YOLO training's best.pt/last.pt as versions.

Runs in the Ultralytics lane (``make test-ultralytics``); skips where ultralytics is absent.
"""

from __future__ import annotations

import hashlib

import pytest

pytest.importorskip("ultralytics")

from ultralytics import YOLO  # noqa: E402

import seetrain  # noqa: E402
from integrations.ultralytics import add_seetrain_callback  # noqa: E402
from tests.integrations.ultralytics.test_ultralytics import SEETRAIN_KW, dataset, train  # noqa: E402, F401

pytestmark = pytest.mark.integration


def test_log_model_stores_best_and_last_at_the_end(tmp_path, dataset):  # noqa: F811
    model = YOLO("yolov8n.yaml")
    callbacks = add_seetrain_callback(model, project="yolo", logdir=tmp_path / "logs", log_model=True,
                                      **SEETRAIN_KW)
    train(model, dataset, tmp_path / "runs", epochs=2)
    run_id = callbacks.integration.run.id
    api = seetrain.Api(tmp_path / "logs")
    weights = tmp_path / "runs" / "run" / "weights"
    best = api.artifact(f"yolo/model-{run_id}:best")
    last = api.artifact(f"yolo/model-{run_id}:last")
    assert best.files[0].path == "best.pt" and last.files[0].path == "last.pt"
    # The stored bytes are the final (optimizer-stripped) files Ultralytics left on disk.
    assert best.files[0].sha256 == hashlib.sha256((weights / "best.pt").read_bytes()).hexdigest()
    assert last.files[0].sha256 == hashlib.sha256((weights / "last.pt").read_bytes()).hexdigest()
    reloaded = YOLO(str(tmp_path / "dl" / "best.pt")) if best.download(tmp_path / "dl") else None
    assert reloaded is not None


def test_log_model_all_logs_every_save(tmp_path, dataset):  # noqa: F811
    model = YOLO("yolov8n.yaml")
    callbacks = add_seetrain_callback(model, project="yolo", logdir=tmp_path / "logs", log_model="all",
                                      **SEETRAIN_KW)
    train(model, dataset, tmp_path / "runs", epochs=2)
    versions = seetrain.Api(tmp_path / "logs").artifact_versions(f"yolo/model-{callbacks.integration.run.id}")
    # last.pt after each of 2 epochs, plus the stripped files at the end.
    assert sum(v.files[0].path == "last.pt" for v in versions) >= 3
